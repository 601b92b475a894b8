import { describe, expect, it } from 'vitest';
import { textOf, useReceiver, useCallbackServer } from '../helpers/callbacks.js';
import { convEntry, expectBareOk, fresh, group, single, text, type Conv, type SendResult } from '../helpers/messages.js';

/**
 * Unread counts end to end (issue 9, item 3): what /admin/conversation/list shows and what the
 * callbacks' UnreadMsgNum carries after every kind of change — delete, recall, per-receiver recall and
 * delete, update of the persist flag, clear_by_user, conversation delete and a device's read report.
 * Devices see no unread number of their own (docs/client-protocol.md): they report reads.
 */

/** The messages here count as unread (persistFlag 3) unless they say otherwise. */
const counted = text;

/** Until the clock has passed `ts` (a condition, not a sleep): the next message is stamped later. */
async function clockPast(ts: number): Promise<void> {
  while (Date.now() <= ts) await new Promise<void>((r) => setImmediate(r));
}

describe('unread counts through the admin API, callbacks and a device', () => {
  const r = useReceiver();
  const t = useCallbackServer(r);

  const unread = async (userId: string, conv: Conv): Promise<number> => (await convEntry(t.admin, userId, conv))?.unread ?? 0;
  const send = async (sender: string, conv: Conv, payload: Record<string, unknown>): Promise<SendResult> => {
    const s = await t.admin.send(sender, conv, payload);
    await clockPast(s.timestamp);
    return s;
  };
  /** Run an admin call whose server-side time is "now", then let the clock pass it. */
  const thenLater = async (p: Promise<void>): Promise<void> => {
    await p;
    await clockPast(Date.now());
  };

  it('single chats and multicasts: delete, recall, per-receiver recall and delete, update, read, delete after read', async () => {
    const [a, b, c] = await t.users('a', 'b', 'c');
    const m1 = await send(a, single(b), counted('m1'));
    const m2 = await send(a, single(b), counted('m2'));
    const m3 = await send(a, single(b), counted('m3'));
    await send(a, single(b), counted('p', { persistFlag: 1 }));
    const mc = await t.admin.ok<SendResult>('/message/multicast', { sender: a, targets: [b, c], payload: counted('mc') });
    await clockPast(mc.timestamp);
    expect(await unread(b, single(a))).toBe(4);
    expect(await unread(c, single(a))).toBe(1);

    await expectBareOk(t.admin, '/message/delete', { messageUid: m2.messageUid });
    expect(await unread(b, single(a)), 'after delete').toBe(3);
    await expectBareOk(t.admin, '/message/recall_multicast', { operator: a, messageUid: mc.messageUid, receivers: [b] });
    expect(await unread(b, single(a)), 'after recall for b').toBe(2);
    expect(await unread(c, single(a)), 'c keeps it').toBe(1);
    await expectBareOk(t.admin, '/message/delete_multicast', { messageUid: mc.messageUid, receivers: [c] });
    expect(await unread(c, single(a)), 'after delete for c').toBe(0);
    await t.admin.ok('/message/recall', { operator: a, messageUid: m3.messageUid });
    expect(await unread(b, single(a)), 'after recall').toBe(1);

    // b reads m1 on a device: nothing left; a later message counts; deleting m1 (read) changes nothing.
    const dev = await t.device(b, 'b-phone');
    dev.send({ type: 'read', id: 'rd1', conv: single(a), timestamp: m1.timestamp });
    await dev.waitType('read_ok', (f) => f['id'] === 'rd1');
    expect(await unread(b, single(a)), 'after read').toBe(0);
    const m4 = await send(a, single(b), counted('m4'));
    expect(await unread(b, single(a))).toBe(1);
    await expectBareOk(t.admin, '/message/delete', { messageUid: m1.messageUid });
    expect(await unread(b, single(a)), 'deleting a read message').toBe(1);

    // An update that changes the persist flag moves the count.
    await expectBareOk(t.admin, '/message/update', { messageUid: m4.messageUid, payload: counted('m4 edited', { persistFlag: 1 }), distribute: 1 });
    expect(await unread(b, single(a)), '3 → 1').toBe(0);
    await expectBareOk(t.admin, '/message/update', { messageUid: m4.messageUid, payload: counted('m4 counted again'), distribute: 0 });
    expect(await unread(b, single(a)), '1 → 3').toBe(1);
    expect(await unread(a, single(b)), 'the sender never counts its own').toBe(0);
  });

  it('groups: every member but the sender; clear_by_user and conversation delete act for one member only', async () => {
    const [o, m1, m2] = await t.users('o', 'm', 'm');
    const g = fresh('g');
    await t.admin.createGroup(g, o, [m1, m2]);
    const g1 = await send(o, group(g), counted('g1'));
    await send(m1, group(g), counted('g2'));
    await send(o, group(g), counted('g3'));
    const counts = async () => ({ o: await unread(o, group(g)), m1: await unread(m1, group(g)), m2: await unread(m2, group(g)) });
    expect(await counts()).toEqual({ o: 1, m1: 2, m2: 3 });
    await expectBareOk(t.admin, '/message/delete', { messageUid: g1.messageUid });
    expect(await counts(), 'g1 deleted').toEqual({ o: 1, m1: 1, m2: 2 });
    await thenLater(expectBareOk(t.admin, '/message/clear_by_user', { userId: m2, conversation: group(g) }));
    expect(await counts(), 'cleared for m2').toEqual({ o: 1, m1: 1, m2: 0 });
    await thenLater(expectBareOk(t.admin, '/conversation/delete', { userId: m1, conversation: group(g) }));
    expect(await convEntry(t.admin, m1, group(g)), 'gone from m1’s list').toBeUndefined();
    expect(await counts(), 'deleted for m1').toEqual({ o: 1, m1: 0, m2: 0 });
    await send(o, group(g), counted('g4'));
    expect(await counts(), 'a later message').toEqual({ o: 1, m1: 1, m2: 1 });
  });

  it("callbacks carry the count the change committed: a recall after a delete reports what is really left", async () => {
    const [a, b] = await t.users('a', 'b');
    const ms: SendResult[] = [];
    for (let i = 0; i < 3; i++) ms.push(await send(a, single(b), counted(`${b}-m${i}`)));
    await expectBareOk(t.admin, '/message/delete', { messageUid: ms[0]!.messageUid });
    await t.admin.ok('/message/recall', { operator: a, messageUid: ms[1]!.messageUid });
    const recall = await r.waitDelivered('C2C.CallbackAfterMsgWithDraw', (x) => x.To_Account === b);
    expect(recall.json.UnreadMsgNum, 'm0 deleted, m1 recalled: only m2 is unread').toBe(1);
    await send(a, single(b), counted(`${b}-m3`));
    const after = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => textOf(x) === `${b}-m3`);
    expect(after.json.UnreadMsgNum).toBe(2);
    expect(await unread(b, single(a))).toBe(2);
  });
});
