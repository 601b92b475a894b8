import { beforeAll, describe, expect, it } from 'vitest';
import {
  b64,
  convEntry,
  convList,
  createUsers,
  expectBareOk,
  expectCode,
  fresh,
  fullPayload,
  getOne,
  group,
  single,
  type SendResult,
  text,
} from '../helpers/messages.js';
import { useServer } from '../helpers/use-server.js';

/**
 * Seed 001, changing side: recall, update, delete, their broadcast/multicast variants, clear_by_user,
 * conversation/delete, conv_read and delivery, all over real signed HTTP.
 */

describe('message/recall', () => {
  const t = useServer();

  it('recalls in place: the result is the original as a JSON string, get_one shows the type-80 notification', async () => {
    const [a, b, op] = await t.users('a', 'b', 'op');
    const sent = await t.admin.send(a, single(b), {
      type: 1,
      searchableContent: 'hello',
      pushContent: 'push',
      content: 'body',
      extra: 'x-extra',
      persistFlag: 1,
    });
    const r = await t.admin.post<string>('/message/recall', { operator: op, messageUid: sent.messageUid });
    expect(r.status).toBe(200);
    expect(r.body.code).toBe(0);
    expect(r.body.msg).toBe('success');
    expect(typeof r.body.result).toBe('string');
    const original = JSON.parse(r.body.result!) as Record<string, unknown>;
    expect(original).toEqual({ s: a, ts: sent.timestamp, t: 1, sc: 'hello', c: 'body', e: 'x-extra' });

    const m = await getOne(t.admin, sent.messageUid);
    expect(m.messageId).toBe(sent.messageUid);
    expect(m.sender).toBe(a);
    expect(m.conv).toEqual(single(b));
    expect(m.timestamp).toBe(sent.timestamp);
    expect(m.payload.type).toBe(80);
    expect(m.payload.content).toBe(op);
    expect(m.payload.base64edData).toBe(b64(String(sent.messageUid)));
    expect(JSON.parse(m.payload.pushData as string)).toEqual({ messageUid: sent.messageUid });
    expect(m.payload.pushData).toBe(JSON.stringify({ messageUid: sent.messageUid }));
    expect(m.payload.extra).toBe(r.body.result);
    expect(m.payload.searchableContent).toBe('');
    expect(m.payload.pushContent).toBe('');
  });

  it('includes b, mt and mu in the original only when they were set', async () => {
    const [a, b] = await t.users('a', 'b');
    const sent = await t.admin.send(a, single(b), {
      type: 3,
      base64edData: 'AAECAw==',
      mediaType: 1,
      remoteMediaUrl: 'https://example.test/p.jpg',
      persistFlag: 1,
    });
    const res = await t.admin.ok<string>('/message/recall', { operator: a, messageUid: sent.messageUid });
    const o = JSON.parse(res) as Record<string, unknown>;
    expect(Object.keys(o).sort()).toEqual(['b', 'c', 'e', 'mt', 'mu', 's', 'sc', 't', 'ts']);
    expect(o).toMatchObject({ s: a, ts: sent.timestamp, t: 3, sc: '', c: '', e: '', mt: 1, mu: 'https://example.test/p.jpg' });
    expect(o['b']).toBe('AAECAw==');
  });

  it('recalling again answers 0 and changes nothing', async () => {
    const [a, b, op1, op2] = await t.users('a', 'b', 'op', 'op');
    const sent = await t.admin.send(a, single(b), { type: 1, searchableContent: 'once', persistFlag: 1 });
    await t.admin.ok('/message/recall', { operator: op1, messageUid: sent.messageUid });
    const first = await getOne(t.admin, sent.messageUid);
    const again = await t.admin.post('/message/recall', { operator: op2, messageUid: sent.messageUid });
    expect(again.status).toBe(200);
    expect(again.body.code).toBe(0);
    expect(await getOne(t.admin, sent.messageUid)).toEqual(first);
    expect(first.payload.content).toBe(op1);
  });

  it('accepts messageUid as a decimal string (recall and get_one)', async () => {
    const [a, b] = await t.users('a', 'b');
    const sent = await t.admin.send(a, single(b), { type: 1, searchableContent: 's', persistFlag: 1 });
    expect((await getOne(t.admin, String(sent.messageUid))).messageId).toBe(sent.messageUid);
    const res = await t.admin.ok<string>('/message/recall', { operator: a, messageUid: String(sent.messageUid) });
    expect(JSON.parse(res)).toMatchObject({ s: a, sc: 's' });
    expect((await getOne(t.admin, sent.messageUid)).payload.type).toBe(80);
  });

  it('answers 253 for an unknown uid and 251 for a missing operator or a bad messageUid', async () => {
    const [a, b] = await t.users('a', 'b');
    const sent = await t.admin.send(a, single(b), { type: 1, persistFlag: 1 });
    await expectCode(t.admin, '/message/recall', { operator: a, messageUid: sent.messageUid + 100_000 }, 253);
    await expectCode(t.admin, '/message/recall', { operator: a, messageUid: 1 }, 253);
    await expectCode(t.admin, '/message/recall', { messageUid: sent.messageUid }, 251);
    await expectCode(t.admin, '/message/recall', { operator: '', messageUid: sent.messageUid }, 251);
    for (const messageUid of ['abc', '12a', '', 0, -5, 1.5, null, true]) {
      await expectCode(t.admin, '/message/recall', { operator: a, messageUid }, 251);
    }
    await expectCode(t.admin, '/message/recall', { operator: a }, 251);
    await expectCode(t.admin, '/message/get_one', { messageUid: 'abc' }, 251);
    await expectCode(t.admin, '/message/get_one', {}, 251);
    await expectCode(t.admin, '/message/get_one', { messageUid: sent.messageUid + 100_000 }, 253);
    // None of the refusals touched the message.
    expect((await getOne(t.admin, sent.messageUid)).payload).toEqual(fullPayload(1, { persistFlag: 1 }));
  });
});

describe('message/update and message/delete', () => {
  const t = useServer();

  it('update replaces the payload, with distribute 1 and with distribute 0', async () => {
    const [a, b] = await t.users('a', 'b');
    const sent = await t.admin.send(a, single(b), { type: 1, searchableContent: 'hello', persistFlag: 1 });
    await expectBareOk(t.admin, '/message/update', { messageUid: sent.messageUid, distribute: 1, payload: { type: 1, searchableContent: 'world' } });
    let m = await getOne(t.admin, sent.messageUid);
    expect(m.payload).toEqual(fullPayload(1, { searchableContent: 'world' }));
    expect(m.messageId).toBe(sent.messageUid);
    expect(m.sender).toBe(a);
    expect(m.conv).toEqual(single(b));

    await expectBareOk(t.admin, '/message/update', {
      operator: a,
      messageUid: sent.messageUid,
      distribute: 0,
      updateTimestamp: 0,
      payload: { type: 1000, content: 'custom', extra: 'v2', persistFlag: 1 },
    });
    m = await getOne(t.admin, sent.messageUid);
    expect(m.payload).toEqual(fullPayload(1000, { content: 'custom', extra: 'v2', persistFlag: 1 }));
  });

  it('update answers 253 for an unknown uid, 251 for missing distribute or bad payload, 248 on a recalled message', async () => {
    const [a, b] = await t.users('a', 'b');
    const sent = await t.admin.send(a, single(b), { type: 1, searchableContent: 'v1', persistFlag: 1 });
    await expectCode(t.admin, '/message/update', { messageUid: sent.messageUid + 100_000, distribute: 1, payload: { type: 1 } }, 253);
    await expectCode(t.admin, '/message/update', { messageUid: sent.messageUid, payload: { type: 1 } }, 251);
    await expectCode(t.admin, '/message/update', { messageUid: sent.messageUid, distribute: 2, payload: { type: 1 } }, 251);
    await expectCode(t.admin, '/message/update', { messageUid: sent.messageUid, distribute: '1', payload: { type: 1 } }, 251);
    await expectCode(t.admin, '/message/update', { messageUid: sent.messageUid, distribute: 1 }, 251);
    await expectCode(t.admin, '/message/update', { messageUid: sent.messageUid, distribute: 1, payload: { content: 'x' } }, 251);
    await expectCode(t.admin, '/message/update', { messageUid: 'abc', distribute: 1, payload: { type: 1 } }, 251);
    // A stored message cannot become transparent (never stored).
    await expectCode(t.admin, '/message/update', { messageUid: sent.messageUid, distribute: 1, payload: { type: 1, persistFlag: 4 } }, 251);
    expect((await getOne(t.admin, sent.messageUid)).payload.searchableContent).toBe('v1');

    await t.admin.ok('/message/recall', { operator: a, messageUid: sent.messageUid });
    const recalled = await getOne(t.admin, sent.messageUid);
    await expectCode(t.admin, '/message/update', { messageUid: sent.messageUid, distribute: 1, payload: { type: 1, searchableContent: 'v2' } }, 248);
    expect(await getOne(t.admin, sent.messageUid)).toEqual(recalled);
  });

  it('delete: get_one then answers 253, and so do a second delete, recall and update', async () => {
    const [a, b] = await t.users('a', 'b');
    const sent = await t.admin.send(a, single(b), { type: 1, searchableContent: 'bye', persistFlag: 1 });
    const other = await t.admin.send(a, single(b), { type: 1, persistFlag: 1 });
    await expectBareOk(t.admin, '/message/delete', { messageUid: sent.messageUid });
    await expectCode(t.admin, '/message/get_one', { messageUid: sent.messageUid }, 253);
    await expectCode(t.admin, '/message/delete', { messageUid: sent.messageUid }, 253);
    await expectCode(t.admin, '/message/recall', { operator: a, messageUid: sent.messageUid }, 253);
    await expectCode(t.admin, '/message/update', { messageUid: sent.messageUid, distribute: 1, payload: { type: 1 } }, 253);
    // Only that message is gone.
    expect((await getOne(t.admin, other.messageUid)).messageId).toBe(other.messageUid);
  });

  it('delete answers 253 for an unknown uid and 251 for a missing or non-numeric uid; a string uid works', async () => {
    const [a, b] = await t.users('a', 'b');
    await expectCode(t.admin, '/message/delete', { messageUid: 7 }, 253);
    await expectCode(t.admin, '/message/delete', {}, 251);
    await expectCode(t.admin, '/message/delete', { messageUid: 'abc' }, 251);
    const sent = await t.admin.send(a, single(b), { type: 1, persistFlag: 1 });
    await expectBareOk(t.admin, '/message/delete', { messageUid: String(sent.messageUid) });
    await expectCode(t.admin, '/message/get_one', { messageUid: sent.messageUid }, 253);
  });

  it('a recalled message can still be deleted', async () => {
    const [a, b] = await t.users('a', 'b');
    const sent = await t.admin.send(a, single(b), { type: 1, persistFlag: 1 });
    await t.admin.ok('/message/recall', { operator: a, messageUid: sent.messageUid });
    await expectBareOk(t.admin, '/message/delete', { messageUid: sent.messageUid });
    await expectCode(t.admin, '/message/get_one', { messageUid: sent.messageUid }, 253);
  });
});

describe('multicast and broadcast recall/delete', () => {
  const t = useServer();
  let a: string, b: string, c: string, d: string;
  beforeAll(async () => {
    [a, b, c, d] = [fresh('a'), fresh('b'), fresh('c'), fresh('d')];
    await createUsers(t.admin, a, b, c, d);
  });

  const multicast = (payload: Record<string, unknown> = { type: 1, searchableContent: 'mc', persistFlag: 1 }) =>
    t.admin.ok<SendResult>('/message/multicast', { sender: a, targets: [b, c, d], payload });
  const broadcast = () => t.admin.ok<{ messageUid: number; count: number }>('/message/broadcast', { sender: a, payload: { type: 1, searchableContent: 'bc', persistFlag: 1 } });

  it('recall_multicast for some receivers leaves the message itself retrievable and unrecalled', async () => {
    const mc = await multicast();
    await expectBareOk(t.admin, '/message/recall_multicast', { operator: a, messageUid: mc.messageUid, receivers: [b] });
    const m = await getOne(t.admin, mc.messageUid);
    expect(m.payload).toEqual(fullPayload(1, { searchableContent: 'mc', persistFlag: 1 }));
    expect(m.sender).toBe(a);
    // Receivers not named keep their conversation with the message last.
    expect((await convEntry(t.admin, c, single(a)))?.lastMessageUid).toBe(mc.messageUid);
    // A full recall still sees the untouched original.
    const original = JSON.parse(await t.admin.ok<string>('/message/recall', { operator: a, messageUid: mc.messageUid })) as Record<string, unknown>;
    expect(original).toMatchObject({ s: a, t: 1, sc: 'mc' });
  });

  it('delete_multicast for some receivers leaves the message retrievable for the others', async () => {
    const mc = await multicast();
    await expectBareOk(t.admin, '/message/delete_multicast', { operator: a, messageUid: mc.messageUid, receivers: [b, c] });
    const m = await getOne(t.admin, mc.messageUid);
    expect(m.messageId).toBe(mc.messageUid);
    expect(m.payload).toEqual(fullPayload(1, { searchableContent: 'mc', persistFlag: 1 }));
    // The message as a whole can still be deleted afterwards.
    await expectBareOk(t.admin, '/message/delete', { messageUid: mc.messageUid });
    await expectCode(t.admin, '/message/get_one', { messageUid: mc.messageUid }, 253);
  });

  it('recall_multicast / delete_multicast answer 253 for a non-multicast or unknown uid, 251 for bad input', async () => {
    const normal = await t.admin.send(a, single(b), { type: 1, persistFlag: 1 });
    const bc = await broadcast();
    const mc = await multicast();
    for (const path of ['/message/recall_multicast', '/message/delete_multicast']) {
      await expectCode(t.admin, path, { operator: a, messageUid: normal.messageUid, receivers: [b] }, 253);
      await expectCode(t.admin, path, { operator: a, messageUid: bc.messageUid, receivers: [b] }, 253);
      await expectCode(t.admin, path, { operator: a, messageUid: mc.messageUid + 100_000, receivers: [b] }, 253);
      await expectCode(t.admin, path, { operator: a, messageUid: mc.messageUid }, 251);
      await expectCode(t.admin, path, { operator: a, messageUid: mc.messageUid, receivers: [] }, 251);
      await expectCode(t.admin, path, { operator: a, messageUid: mc.messageUid, receivers: b }, 251);
      await expectCode(t.admin, path, { operator: a, messageUid: 'abc', receivers: [b] }, 251);
    }
    await expectCode(t.admin, '/message/recall_multicast', { messageUid: mc.messageUid, receivers: [b] }, 251);
    // The refused calls changed nothing.
    expect((await getOne(t.admin, normal.messageUid)).payload.type).toBe(1);
    expect((await getOne(t.admin, mc.messageUid)).payload.type).toBe(1);
  });

  it('recall_broadcast recalls a broadcast in place', async () => {
    const bc = await broadcast();
    expect(bc.count).toBeGreaterThanOrEqual(3);
    await expectBareOk(t.admin, '/message/recall_broadcast', { operator: a, messageUid: bc.messageUid });
    const m = await getOne(t.admin, bc.messageUid);
    expect(m.payload.type).toBe(80);
    expect(m.payload.content).toBe(a);
    expect(m.payload.base64edData).toBe(b64(String(bc.messageUid)));
    expect(JSON.parse(m.payload.extra as string)).toMatchObject({ s: a, t: 1, sc: 'bc' });
    // Again: 0, nothing changes.
    await expectBareOk(t.admin, '/message/recall_broadcast', { operator: b, messageUid: bc.messageUid });
    expect(await getOne(t.admin, bc.messageUid)).toEqual(m);
  });

  it('delete_broadcast deletes a broadcast (get_one then 253)', async () => {
    const bc = await broadcast();
    await expectBareOk(t.admin, '/message/delete_broadcast', { operator: a, messageUid: bc.messageUid });
    await expectCode(t.admin, '/message/get_one', { messageUid: bc.messageUid }, 253);
    await expectCode(t.admin, '/message/delete_broadcast', { operator: a, messageUid: bc.messageUid }, 253);
  });

  it('recall_broadcast / delete_broadcast answer 253 for a non-broadcast or unknown uid and leave it alone', async () => {
    const normal = await t.admin.send(a, single(b), { type: 1, searchableContent: 'keep', persistFlag: 1 });
    const mc = await multicast();
    for (const path of ['/message/recall_broadcast', '/message/delete_broadcast']) {
      await expectCode(t.admin, path, { operator: a, messageUid: normal.messageUid }, 253);
      await expectCode(t.admin, path, { operator: a, messageUid: mc.messageUid }, 253);
      await expectCode(t.admin, path, { operator: a, messageUid: normal.messageUid + 100_000 }, 253);
      await expectCode(t.admin, path, { operator: a, messageUid: 'abc' }, 251);
    }
    await expectCode(t.admin, '/message/recall_broadcast', { messageUid: normal.messageUid }, 251);
    expect((await getOne(t.admin, normal.messageUid)).payload).toEqual(fullPayload(1, { searchableContent: 'keep', persistFlag: 1 }));
    expect((await getOne(t.admin, mc.messageUid)).payload.type).toBe(1);
  });
});

describe('clear_by_user and conversation/delete', () => {
  const t = useServer();

  it('clear_by_user without a range clears the whole conversation for that user only', async () => {
    const [a, b] = await t.users('a', 'b');
    const m1 = await t.admin.send(a, single(b), { type: 1, persistFlag: 3 });
    const m2 = await t.admin.send(a, single(b), { type: 1, persistFlag: 3 });
    expect((await convEntry(t.admin, b, single(a)))?.unread).toBe(2);
    const senderView = await convList(t.admin, a);

    await expectBareOk(t.admin, '/message/clear_by_user', { userId: b, conversation: single(a) });
    expect((await convEntry(t.admin, b, single(a)))?.unread ?? 0).toBe(0);
    // The other party sees no change, and the messages still exist for everyone else.
    expect(await convList(t.admin, a)).toEqual(senderView);
    expect((await getOne(t.admin, m1.messageUid)).messageId).toBe(m1.messageUid);
    expect((await getOne(t.admin, m2.messageUid)).messageId).toBe(m2.messageUid);
  });

  it('clear_by_user with a range covering every unread message clears unread for that user only', async () => {
    const [a, b] = await t.users('a', 'b');
    const m1 = await t.admin.send(a, single(b), { type: 1, persistFlag: 3 });
    const m2 = await t.admin.send(a, single(b), { type: 1, persistFlag: 3 });
    const senderView = await convList(t.admin, a);

    // A range entirely in the past hides nothing.
    await expectBareOk(t.admin, '/message/clear_by_user', { userId: b, conversation: single(a), startTime: 1, endTime: 1000 });
    expect((await convEntry(t.admin, b, single(a)))?.unread).toBe(2);

    await expectBareOk(t.admin, '/message/clear_by_user', {
      userId: b,
      conversation: single(a),
      startTime: m1.timestamp - 1,
      endTime: m2.timestamp + 1,
    });
    expect((await convEntry(t.admin, b, single(a)))?.unread ?? 0).toBe(0);
    expect(await convList(t.admin, a)).toEqual(senderView);
    expect((await getOne(t.admin, m2.messageUid)).messageId).toBe(m2.messageUid);
  });

  it('clear_by_user answers 253 for an unknown user and 251 for start > end or bad input', async () => {
    const [a, b] = await t.users('a', 'b');
    await t.admin.send(a, single(b), { type: 1, persistFlag: 3 });
    await expectCode(t.admin, '/message/clear_by_user', { userId: fresh('ghost'), conversation: single(a) }, 253);
    await expectCode(t.admin, '/message/clear_by_user', { userId: b, conversation: single(a), startTime: 2000, endTime: 1000 }, 251);
    await expectCode(t.admin, '/message/clear_by_user', { userId: b }, 251);
    await expectCode(t.admin, '/message/clear_by_user', { conversation: single(a) }, 251);
    await expectCode(t.admin, '/message/clear_by_user', { userId: b, conversation: { type: '0', target: a } }, 251);
    await expectCode(t.admin, '/message/clear_by_user', { userId: b, conversation: single(a), startTime: 'yesterday' }, 251);
    // The refusals hid nothing.
    expect((await convEntry(t.admin, b, single(a)))?.unread).toBe(1);
  });

  it("conversation/delete removes the conversation from that user's list only; a new message brings it back", async () => {
    const [a, b] = await t.users('a', 'b');
    const m1 = await t.admin.send(a, single(b), { type: 1, persistFlag: 3 });
    expect((await convEntry(t.admin, b, single(a)))?.lastMessageUid).toBe(m1.messageUid);
    const senderView = await convList(t.admin, a);
    expect(senderView.some((c) => c.conversation.target === b)).toBe(true);

    await expectBareOk(t.admin, '/conversation/delete', { userId: b, conversation: single(a) });
    expect(await convEntry(t.admin, b, single(a))).toBeUndefined();
    expect(await convList(t.admin, a)).toEqual(senderView);
    expect((await getOne(t.admin, m1.messageUid)).messageId).toBe(m1.messageUid);

    const m2 = await t.admin.send(a, single(b), { type: 1, persistFlag: 3 });
    const back = await convEntry(t.admin, b, single(a));
    expect(back?.lastMessageUid).toBe(m2.messageUid);
    expect(back?.unread).toBe(1);
  });

  it('conversation/delete of a group conversation affects only that member', async () => {
    const [o, m1, m2] = await t.users('o', 'm', 'm');
    const g = fresh('g');
    await t.admin.createGroup(g, o, [m1, m2]);
    const sent = await t.admin.send(o, group(g), { type: 1, persistFlag: 1 });
    await expectBareOk(t.admin, '/conversation/delete', { userId: m1, conversation: group(g) });
    expect(await convEntry(t.admin, m1, group(g))).toBeUndefined();
    expect((await convEntry(t.admin, m2, group(g)))?.lastMessageUid).toBe(sent.messageUid);
    expect((await convEntry(t.admin, o, group(g)))?.lastMessageUid).toBe(sent.messageUid);
  });

  it('conversation/delete answers 253 for an unknown user and 251 for bad input', async () => {
    const [a] = await t.users('a');
    await expectCode(t.admin, '/conversation/delete', { userId: fresh('ghost'), conversation: single(a) }, 253);
    await expectCode(t.admin, '/conversation/delete', { userId: a }, 251);
    await expectCode(t.admin, '/conversation/delete', { conversation: single(a) }, 251);
    await expectCode(t.admin, '/conversation/delete', { userId: a, conversation: { type: 0 } }, 251);
    await expectCode(t.admin, '/conversation/list', { userId: fresh('ghost') }, 253);
  });

  it('conversation/list pages: at most `limit`, most recent first, `next` continues to the end; bad paging answers 251', async () => {
    const [b, ...senders] = await t.users('b', 's1', 's2', 's3', 's4', 's5');
    for (const s of senders) await t.admin.send(s!, single(b!), { type: 1, searchableContent: s, persistFlag: 3 });
    type Entry = { conversation: { type: number; target: string; line: number }; lastTimestamp: number };
    type Page = { conversations: Entry[]; next: { lastTimestamp: number; conversation: Entry['conversation'] } | null };
    const all = await t.admin.ok<Page>('/conversation/list', { userId: b });
    expect(all.conversations.map((c) => c.conversation.target).sort()).toEqual(senders);
    // Most recent first; a tie (two sends within one ms) by target.
    const order = [...all.conversations].sort((x, y) => y.lastTimestamp - x.lastTimestamp || x.conversation.target.localeCompare(y.conversation.target));
    expect(all.conversations).toEqual(order);
    expect(all.next).toBeNull();
    const seen: string[] = [];
    let after: Page['next'] = null;
    for (let guard = 0; guard < 10; guard++) {
      const page: Page = await t.admin.ok<Page>('/conversation/list', { userId: b, limit: 2, after });
      expect(page.conversations.length).toBeLessThanOrEqual(2);
      seen.push(...page.conversations.map((c) => c.conversation.target));
      if (!page.next) break;
      const last = page.conversations.at(-1)!;
      expect(page.next).toEqual({ lastTimestamp: last.lastTimestamp, conversation: last.conversation });
      after = page.next;
    }
    expect(seen).toEqual(all.conversations.map((c) => c.conversation.target));
    for (const body of [{ limit: 0 }, { limit: 1001 }, { limit: 'x' }, { after: { lastTimestamp: -1, conversation: single(b!) } }, { after: { lastTimestamp: 1 } }, { after: { lastTimestamp: 1, conversation: { type: 0 } } }]) {
      await expectCode(t.admin, '/conversation/list', { userId: b, ...body }, 251);
    }
  });
});

describe('conv_read and delivery', () => {
  const t = useServer();

  it('conv_read accepts type or conversationType and answers {timestamp: 0} when never read', async () => {
    const [u, v] = await t.users('u', 'v');
    await t.admin.send(v, single(u), { type: 1, persistFlag: 3 });
    const r = await t.admin.post('/message/conv_read', { userId: u, type: 0, target: v, line: 0 });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ code: 0, msg: 'success', result: { timestamp: 0 } });
    expect(await t.admin.ok('/message/conv_read', { userId: u, conversationType: 0, target: v, line: 0 })).toEqual({ timestamp: 0 });
    // A conversation that never existed reads 0 too.
    expect(await t.admin.ok('/message/conv_read', { userId: u, type: 1, target: fresh('g'), line: 0 })).toEqual({ timestamp: 0 });
  });

  it('conv_read answers 251 without a type, 253 for an unknown user', async () => {
    const [u, v] = await t.users('u', 'v');
    await expectCode(t.admin, '/message/conv_read', { userId: u, target: v, line: 0 }, 251);
    await expectCode(t.admin, '/message/conv_read', { userId: u, type: '0', target: v, line: 0 }, 251);
    await expectCode(t.admin, '/message/conv_read', { userId: u, type: 0, line: 0 }, 251);
    await expectCode(t.admin, '/message/conv_read', { type: 0, target: v, line: 0 }, 251);
    await expectCode(t.admin, '/message/conv_read', { userId: fresh('ghost'), type: 0, target: v, line: 0 }, 253);
    await expectCode(t.admin, '/message/conv_read', { userId: fresh('ghost'), conversationType: 0, target: v, line: 0 }, 253);
  });

  it('delivery answers {timestamp: 0} initially, 253 for an unknown user, 251 without userId', async () => {
    const [u, v] = await t.users('u', 'v');
    await t.admin.send(v, single(u), { type: 1, persistFlag: 3 });
    const r = await t.admin.post('/message/delivery', { userId: u });
    expect(r.body).toEqual({ code: 0, msg: 'success', result: { timestamp: 0 } });
    await expectCode(t.admin, '/message/delivery', { userId: fresh('ghost') }, 253);
    await expectCode(t.admin, '/message/delivery', {}, 251);
    await expectCode(t.admin, '/message/delivery', { userId: 5 }, 251);
  });
});

describe('a group above the inline fan-out limit', () => {
  const t = useServer({ messaging: { inlineFanoutMax: 2 }, admin: { strictSend: true } });
  const [o, m1, m2, m3, m4, out] = ['big-o', 'big-m1', 'big-m2', 'big-m3', 'big-m4', 'big-out'];
  const g = 'big-group';
  beforeAll(async () => {
    await createUsers(t.admin, o, m1, m2, m3, m4, out);
    await t.admin.createGroup(g, o, [m1, m2, m3, m4]);
    const members = await t.admin.ok<{ members: Array<{ member_id: string }> }>('/group/member/list', { groupId: g });
    expect(members.members.map((m) => m.member_id).sort()).toEqual([m1, m2, m3, m4, o].sort());
  });

  it('accepts sends from the owner and members, with and without toUsers; refuses outsiders (9)', async () => {
    const r1 = await t.admin.send(o, group(g), text('big 1'));
    const r2 = await t.admin.send(m3, group(g), { type: 1, searchableContent: 'big 2', persistFlag: 1 });
    const r3 = await t.admin.send(o, group(g), { type: 1, persistFlag: 1 }, [m1, m2]);
    expect(r2.messageUid).toBeGreaterThan(r1.messageUid);
    expect(r3.messageUid).toBeGreaterThan(r2.messageUid);
    const m = await getOne(t.admin, r2.messageUid);
    expect(m).toEqual({
      messageId: r2.messageUid,
      sender: m3,
      conv: group(g),
      payload: fullPayload(1, { searchableContent: 'big 2', persistFlag: 1 }),
      toUsers: [],
      timestamp: r2.timestamp,
    });
    expect((await getOne(t.admin, r3.messageUid)).toUsers).toEqual([m1, m2]);
    await expectCode(t.admin, '/message/send', { sender: out, conv: group(g), payload: { type: 1 } }, 9);
  });

  it('recalls, updates and deletes its messages', async () => {
    const rc = await t.admin.send(m1, group(g), { type: 1, searchableContent: 'to recall', persistFlag: 1 });
    const original = JSON.parse(await t.admin.ok<string>('/message/recall', { operator: o, messageUid: rc.messageUid })) as Record<string, unknown>;
    expect(original).toEqual({ s: m1, ts: rc.timestamp, t: 1, sc: 'to recall', c: '', e: '' });
    const recalled = await getOne(t.admin, rc.messageUid);
    expect(recalled.payload.type).toBe(80);
    expect(recalled.payload.content).toBe(o);
    expect(recalled.payload.base64edData).toBe(b64(String(rc.messageUid)));

    const up = await t.admin.send(m2, group(g), { type: 1, searchableContent: 'before', persistFlag: 1 });
    await expectBareOk(t.admin, '/message/update', { messageUid: up.messageUid, distribute: 1, payload: { type: 1, searchableContent: 'after' } });
    expect((await getOne(t.admin, up.messageUid)).payload).toEqual(fullPayload(1, { searchableContent: 'after' }));
    await expectBareOk(t.admin, '/message/update', { messageUid: up.messageUid, distribute: 0, payload: { type: 1, searchableContent: 'quiet' } });
    expect((await getOne(t.admin, up.messageUid)).payload.searchableContent).toBe('quiet');

    const del = await t.admin.send(m4, group(g), { type: 1, persistFlag: 1 });
    await expectBareOk(t.admin, '/message/delete', { messageUid: del.messageUid });
    await expectCode(t.admin, '/message/get_one', { messageUid: del.messageUid }, 253);
  });

  it('still enforces the group mute (241) for members, not for the owner', async () => {
    await t.admin.ok('/group/modify', { operator: o, group_id: g, type: 3, value: '1' });
    try {
      await expectCode(t.admin, '/message/send', { sender: m2, conv: group(g), payload: { type: 1 } }, 241);
      expect((await t.admin.send(o, group(g), { type: 1 })).messageUid).toBeGreaterThan(0);
    } finally {
      await t.admin.ok('/group/modify', { operator: o, group_id: g, type: 3, value: '0' });
    }
  });
});
