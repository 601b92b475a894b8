import { describe, expect, it } from 'vitest';
import { fresh, group, single, text } from '../helpers/messages.js';
import type { TestServer } from '../helpers/server.js';
import { cursorsOf, isNonDecreasing, type Frame, type WsClient } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';

/**
 * A live `update` or `recall` must show each receiver what replay would: a user who hid the message
 * (clear_by_user, conversation delete, delete for some receivers) gets the frame without `message`;
 * everyone else gets the new content. Groups above inlineFanoutMax (2 here) are shared audiences.
 */

/** update/recall frames about `uid`, as `type[:payloadType:content]`. */
function changes(d: WsClient, uid: number, from = 0): string[] {
  return d.frames
    .slice(from)
    .filter((f) => (f.type === 'update' || f.type === 'recall') && f['messageUid'] === uid)
    .map((f) => describe1(f));
}

function describe1(f: Frame): string {
  const m = f['message'] as { payload: { type: number; searchableContent: string } } | undefined;
  return m ? `${f.type}:${m.payload.type}:${m.payload.searchableContent}` : `${f.type}:bare`;
}

/** The live frames between `from` and the marker must equal what a replay from the same cursor gives. */
async function expectLiveMatchesReplay(t: TestServer, d: WsClient, userId: string, from: number, untilUid: number): Promise<void> {
  const end = d.frames.findIndex((f) => f.type === 'message' && f['message']?.messageId === untilUid);
  const live = d.frames.slice(from, end + 1);
  const cursor = d.frames[from - 1]!.cursor!;
  const r = await t.device(userId, `${userId}-replay-${from}`, { cursor });
  const replay = r.frames.slice(1, r.frames.findIndex((f) => f.type === 'synced'));
  expect(live).toEqual(replay);
}

describe('live update/recall for users who hid the message', () => {
  const t = useServer({ messaging: { inlineFanoutMax: 2 } });

  it('clear_by_user: the clearer’s devices get update and recall without content; the other side with it', async () => {
    const [a, b] = await t.users('a', 'b');
    const m1 = await t.admin.send(a, single(b), text('to update'));
    const m2 = await t.admin.send(a, single(b), text('to recall'));
    const db = await t.device(b);
    const db2 = await t.device(b, 'b-second');
    const da = await t.device(a);
    await t.admin.ok('/message/clear_by_user', { userId: b, conversation: single(a) });
    await db.waitType('clear');
    await db2.waitType('clear');
    const from = db.mark;

    await t.admin.ok('/message/update', { messageUid: m1.messageUid, payload: text('updated'), distribute: 1 });
    await t.admin.ok('/message/recall', { operator: a, messageUid: m2.messageUid });
    const marker = await t.admin.send(a, single(b), text('marker'));
    for (const d of [db, db2]) {
      await d.waitMessage(marker.messageUid);
      expect(changes(d, m1.messageUid)).toEqual(['update:bare']);
      expect(changes(d, m2.messageUid)).toEqual(['recall:bare']);
      // The store was read without announcing a sync: still one synced frame, cursors in order.
      expect(d.frames.filter((f) => f.type === 'synced')).toHaveLength(1);
      expect(isNonDecreasing(cursorsOf(d.frames))).toBe(true);
    }
    const markerA = await da.waitMessage(marker.messageUid);
    expect(markerA).toBeDefined();
    expect(changes(da, m1.messageUid)).toEqual(['update:1:updated']);
    expect(changes(da, m2.messageUid)).toEqual(['recall:80:']);
    await expectLiveMatchesReplay(t, db, b, from, marker.messageUid);

    // A message sent after the clear is visible again, and its update carries content live.
    const m3 = await t.admin.send(a, single(b), text('after the clear'));
    await db.waitMessage(m3.messageUid);
    const mark = db.mark;
    await t.admin.ok('/message/update', { messageUid: m3.messageUid, payload: text('after the clear, edited'), distribute: 1 });
    const upd = await db.waitType('update', (f) => f['messageUid'] === m3.messageUid, { from: mark });
    expect(describe1(upd)).toBe('update:1:after the clear, edited');
  });

  it('conversation delete in a shared-audience group: that member gets bare frames, the others content', async () => {
    const [owner, b, c] = await t.users('o', 'b', 'c');
    const g = fresh('g');
    await t.admin.createGroup(g, owner, [b, c]);
    const gm = await t.admin.send(owner, group(g), text('group message'));
    const db = await t.device(b);
    const dc = await t.device(c);
    await t.admin.ok('/conversation/delete', { userId: b, conversation: group(g) });
    await db.waitType('conversation_delete');
    const from = db.mark;

    await t.admin.ok('/message/update', { messageUid: gm.messageUid, payload: text('group, edited'), distribute: 1 });
    await t.admin.ok('/message/recall', { operator: owner, messageUid: gm.messageUid });
    const marker = await t.admin.send(owner, single(b), text('marker'));
    await db.waitMessage(marker.messageUid);
    expect(changes(db, gm.messageUid)).toEqual(['update:bare', 'recall:bare']);
    await dc.waitType('recall');
    expect(changes(dc, gm.messageUid)).toEqual(['update:1:group, edited', 'recall:80:']);
    await expectLiveMatchesReplay(t, db, b, from, marker.messageUid);
  });

  it('delete for some receivers (multicast): the receiver it was deleted for gets a bare update', async () => {
    const [s, t1, t2] = await t.users('s', 't', 't');
    const r = await t.admin.ok<{ messageUid: number }>('/message/multicast', { sender: s, targets: [t1, t2], payload: text('to both') });
    const d1 = await t.device(t1);
    const d2 = await t.device(t2);
    await t.admin.ok('/message/delete_multicast', { messageUid: r.messageUid, receivers: [t2] });
    await d2.waitType('delete');
    const from = d2.mark;

    await t.admin.ok('/message/update', { messageUid: r.messageUid, payload: text('to both, edited'), distribute: 1 });
    const marker = await t.admin.ok<{ messageUid: number }>('/message/multicast', { sender: s, targets: [t1, t2], payload: text('marker') });
    await d2.waitMessage(marker.messageUid);
    await d1.waitMessage(marker.messageUid);
    expect(changes(d1, r.messageUid)).toEqual(['update:1:to both, edited']);
    expect(changes(d2, r.messageUid)).toEqual(['update:bare']);
    await expectLiveMatchesReplay(t, d2, t2, from, marker.messageUid);
  });

  it('a device that hid nothing gets update and recall with content, in order with the rest', async () => {
    const [a, b] = await t.users('a', 'b');
    const db = await t.device(b);
    const m = await t.admin.send(a, single(b), text('plain'));
    await db.waitMessage(m.messageUid);
    const from = db.mark;
    await t.admin.ok('/message/update', { messageUid: m.messageUid, payload: text('plain, edited'), distribute: 1 });
    const next = await t.admin.send(a, single(b), text('next'));
    await t.admin.ok('/message/recall', { operator: a, messageUid: m.messageUid });
    const marker = await t.admin.send(a, single(b), text('marker'));
    await db.waitMessage(marker.messageUid);
    expect(db.frames.slice(from).map((f) => (f.type === 'message' ? `message:${f['message'].payload.searchableContent}` : describe1(f)))).toEqual([
      'update:1:plain, edited',
      'message:next',
      'recall:80:',
      'message:marker',
    ]);
    expect(db.frames.filter((f) => f.type === 'synced')).toHaveLength(1);
    expect(isNonDecreasing(cursorsOf(db.frames))).toBe(true);
  });
});
