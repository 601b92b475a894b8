import { describe, expect, it } from 'vitest';
import { channel, convEntry, createUsers, expectCode, fresh, fullPayload, getOne, group, single, type SendResult, text } from '../helpers/messages.js';
import { useServer } from '../helpers/use-server.js';

/**
 * Seed 001, sending side: /admin/message/send, multicast and broadcast, get_one, persistFlag,
 * toUsers and the permission rules, all over real signed HTTP.
 */

const MAX_SAFE = 2 ** 53;

const MESSAGE_ENDPOINTS = [
  '/message/send',
  '/message/update',
  '/message/recall',
  '/message/multicast',
  '/message/broadcast',
  '/message/delete',
  '/message/clear_by_user',
  '/conversation/delete',
  '/message/get_one',
  '/message/recall_broadcast',
  '/message/recall_multicast',
  '/message/delete_broadcast',
  '/message/delete_multicast',
  '/message/conv_read',
  '/message/delivery',
];

describe('the 15 message endpoints', () => {
  const t = useServer();

  it('answer an empty, a malformed and a non-object body with HTTP 200, code 251 and a Content-Length', async () => {
    expect(MESSAGE_ENDPOINTS).toHaveLength(15);
    for (const path of MESSAGE_ENDPOINTS) {
      for (const raw of ['', '{}', '{"messageUid":', '[]']) {
        const r = await t.admin.post(path, undefined, { rawBody: raw });
        expect(r.status, `${path} ${raw}`).toBe(200);
        expect(r.headers['content-type']).toBe('application/json;charset=utf-8');
        expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.raw));
        expect(r.body, `${path} ${raw}`).toEqual({ code: 251, msg: 'Invalid parameter' });
      }
    }
  });
});

describe('message/send and get_one', () => {
  const t = useServer({ admin: { strictSend: true } }); // the send rules through admin sends (trusted by default: trusted-send.test.ts)

  it('sends to a single chat: {messageUid, timestamp}, and get_one gives every payload field with defaults', async () => {
    const [a, b] = await t.users('a', 'b');
    const before = Date.now();
    const r = await t.admin.post<SendResult>('/message/send', { sender: a, conv: { type: 0, target: b, line: 0 }, payload: { type: 1 } });
    const after = Date.now();
    expect(r.status).toBe(200);
    expect(r.body.code).toBe(0);
    expect(r.body.msg).toBe('success');
    const res = r.body.result!;
    expect(Object.keys(res).sort()).toEqual(['messageUid', 'timestamp']);
    expect(Number.isSafeInteger(res.messageUid)).toBe(true);
    expect(res.messageUid).toBeGreaterThan(0);
    expect(res.messageUid).toBeLessThan(MAX_SAFE);
    expect(res.timestamp).toBeGreaterThanOrEqual(before - 5);
    expect(res.timestamp).toBeLessThanOrEqual(after + 5);

    const m = await getOne(t.admin, res.messageUid);
    expect(m).toEqual({
      messageId: res.messageUid,
      sender: a,
      conv: { type: 0, target: b, line: 0 },
      payload: fullPayload(1),
      toUsers: [],
      timestamp: res.timestamp,
    });
  });

  it('round-trips every payload field exactly, and defaults a missing conv.line to 0', async () => {
    const [a, b] = await t.users('a', 'b');
    const payload = {
      type: 3,
      searchableContent: 'photo of a cat',
      pushContent: 'You have a photo',
      pushData: '{"k":"v"}',
      content: 'c-1',
      base64edData: 'AAECAw==',
      mediaType: 1,
      remoteMediaUrl: 'https://example.test/cat.jpg',
      persistFlag: 1,
      expireDuration: 0,
      mentionedType: 1,
      mentionedTarget: [b],
      extra: '{"x":1}',
    };
    const r = await t.admin.ok<SendResult>('/message/send', { sender: a, conv: { type: 0, target: b }, payload });
    const m = await getOne(t.admin, r.messageUid);
    expect(m.payload).toEqual(payload);
    expect(m.conv).toEqual({ type: 0, target: b, line: 0 });
  });

  it('issues uids below 2^53 that strictly increase across sends (and are unique under concurrency)', async () => {
    const [a, b, c] = await t.users('a', 'b', 'c');
    const g = fresh('g');
    await t.admin.createGroup(g, a, [b, c]);
    let prev = 0;
    for (let i = 0; i < 25; i++) {
      const r = i % 2 === 0 ? await t.admin.send(a, single(b), { type: 1 }) : await t.admin.send(b, group(g), { type: 1 });
      expect(Number.isSafeInteger(r.messageUid)).toBe(true);
      expect(r.messageUid).toBeLessThan(MAX_SAFE);
      expect(r.messageUid).toBeGreaterThan(prev);
      prev = r.messageUid;
    }
    const parallel = await Promise.all(Array.from({ length: 30 }, () => t.admin.send(a, single(c), { type: 1 })));
    const uids = parallel.map((p) => p.messageUid);
    expect(new Set(uids).size).toBe(30);
    for (const u of uids) expect(u).toBeGreaterThan(prev);
  });

  it('sends to a group; get_one shows the group conversation', async () => {
    const [o, m1, m2] = await t.users('o', 'm', 'm');
    const g = fresh('g');
    await t.admin.createGroup(g, o, [m1, m2]);
    const r = await t.admin.send(m1, group(g), { type: 1, searchableContent: 'hi all', persistFlag: 1 });
    const m = await getOne(t.admin, r.messageUid);
    expect(m.sender).toBe(m1);
    expect(m.conv).toEqual({ type: 1, target: g, line: 0 });
    expect(m.payload).toEqual(fullPayload(1, { searchableContent: 'hi all', persistFlag: 1 }));
    expect(m.toUsers).toEqual([]);
    // Every member (the sender too) has the group conversation with this message last.
    for (const u of [o, m1, m2]) expect((await convEntry(t.admin, u, group(g)))?.lastMessageUid).toBe(r.messageUid);
  });

  it('sends to a channel (owner to subscribers); 253 unknown channel, 21 a stranger', async () => {
    const [owner, sub, stranger] = await t.users('own', 'sub', 'str');
    const ch = fresh('ch');
    const created = await t.admin.ok<{ targetId: string }>('/channel/create', { owner, name: 'news', targetId: ch });
    expect(created.targetId).toBe(ch);
    await t.admin.ok('/channel/subscribe', { channelId: ch, userId: sub, subscribe: 1 });
    const r = await t.admin.send(owner, channel(ch), { type: 1, searchableContent: 'news', persistFlag: 1 });
    const m = await getOne(t.admin, r.messageUid);
    expect(m.conv).toEqual({ type: 3, target: ch, line: 0 });
    expect(m.sender).toBe(owner);
    expect((await convEntry(t.admin, sub, channel(ch)))?.lastMessageUid).toBe(r.messageUid);
    expect(await convEntry(t.admin, stranger, channel(ch))).toBeUndefined();

    await expectCode(t.admin, '/message/send', { sender: owner, conv: channel(fresh('nochan')), payload: { type: 1 } }, 253);
    await expectCode(t.admin, '/message/send', { sender: stranger, conv: channel(ch), payload: { type: 1 } }, 21);
  });

  it('answers 253 for an unknown sender, an unknown target user and an unknown group', async () => {
    const [a] = await t.users('a');
    await expectCode(t.admin, '/message/send', { sender: fresh('ghost'), conv: single(a), payload: { type: 1 } }, 253);
    await expectCode(t.admin, '/message/send', { sender: a, conv: single(fresh('ghost')), payload: { type: 1 } }, 253);
    await expectCode(t.admin, '/message/send', { sender: a, conv: group(fresh('nogroup')), payload: { type: 1 } }, 253);
  });

  it('answers 9 when the sender is not in the group', async () => {
    const [o, m, out] = await t.users('o', 'm', 'out');
    const g = fresh('g');
    await t.admin.createGroup(g, o, [m]);
    await expectCode(t.admin, '/message/send', { sender: out, conv: group(g), payload: { type: 1 } }, 9);
    // A member removed from the group is refused the same way.
    await t.admin.ok('/group/member/del', { operator: o, group_id: g, members: [m] });
    await expectCode(t.admin, '/message/send', { sender: m, conv: group(g), payload: { type: 1 } }, 9);
  });

  it('answers 241 in a muted group for a normal member while the owner can still send; unmuting lifts it', async () => {
    const [o, m] = await t.users('o', 'm');
    const g = fresh('g');
    await t.admin.createGroup(g, o, [m]);
    await t.admin.send(m, group(g), { type: 1 });
    await t.admin.ok('/group/modify', { operator: o, group_id: g, type: 3, value: '1' });
    await expectCode(t.admin, '/message/send', { sender: m, conv: group(g), payload: { type: 1 } }, 241);
    const own = await t.admin.send(o, group(g), { type: 1, searchableContent: 'owner speaks' });
    expect((await getOne(t.admin, own.messageUid)).sender).toBe(o);
    await t.admin.ok('/group/modify', { operator: o, group_id: g, type: 3, value: '0' });
    expect((await t.admin.send(m, group(g), { type: 1 })).messageUid).toBeGreaterThan(own.messageUid);
  });

  it('answers 245 for a blocked (status 2) or muted (status 1) sender; status 0 restores sending', async () => {
    const [a, b] = await t.users('a', 'b');
    const g = fresh('g');
    await t.admin.createGroup(g, b, [a]);
    for (const status of [2, 1]) {
      await t.admin.ok('/user/update_block_status', { userId: a, status });
      await expectCode(t.admin, '/message/send', { sender: a, conv: single(b), payload: { type: 1 } }, 245);
      await expectCode(t.admin, '/message/send', { sender: a, conv: group(g), payload: { type: 1 } }, 245);
      await expectCode(t.admin, '/message/multicast', { sender: a, targets: [b], payload: { type: 1 } }, 245);
    }
    await t.admin.ok('/user/update_block_status', { userId: a, status: 0 });
    expect((await t.admin.send(a, single(b), { type: 1 })).messageUid).toBeGreaterThan(0);
  });

  it('answers 251 for missing or mistyped fields and malformed bodies', async () => {
    const [a, b] = await t.users('a', 'b');
    const ok = { sender: a, conv: single(b), payload: { type: 1 } };
    const bad: Array<[string, unknown]> = [
      ['missing sender', { conv: ok.conv, payload: ok.payload }],
      ['empty sender', { ...ok, sender: '' }],
      ['sender not a string', { ...ok, sender: 5 }],
      ['missing conv', { sender: a, payload: ok.payload }],
      ['conv null', { ...ok, conv: null }],
      ['missing payload', { sender: a, conv: ok.conv }],
      ['payload null', { ...ok, payload: null }],
      ['payload without type', { ...ok, payload: { searchableContent: 'x' } }],
      ['payload.type a string', { ...ok, payload: { type: '1' } }],
      ['payload.type negative', { ...ok, payload: { type: -1 } }],
      ['payload.type fractional', { ...ok, payload: { type: 1.5 } }],
      ['conv.type a string', { ...ok, conv: { type: '0', target: b, line: 0 } }],
      ['conv.type out of range', { ...ok, conv: { type: 9, target: b, line: 0 } }],
      ['conv.target missing', { ...ok, conv: { type: 0, line: 0 } }],
      ['conv.target empty', { ...ok, conv: { type: 0, target: '', line: 0 } }],
      ['conv.line a string', { ...ok, conv: { type: 0, target: b, line: '0' } }],
      ['toUsers not an array', { ...ok, toUsers: b }],
      ['toUsers of numbers', { ...ok, toUsers: [1, 2] }],
      ['persistFlag 2', { ...ok, payload: { type: 1, persistFlag: 2 } }],
      ['persistFlag a string', { ...ok, payload: { type: 1, persistFlag: '1' } }],
      ['searchableContent a number', { ...ok, payload: { type: 1, searchableContent: 5 } }],
      ['mentionedTarget not an array', { ...ok, payload: { type: 1, mentionedTarget: b } }],
      ['expireDuration a string', { ...ok, payload: { type: 1, expireDuration: '1' } }],
    ];
    for (const [, body] of bad) await expectCode(t.admin, '/message/send', body, 251);
    for (const raw of ['{"sender":', '{sender: "a"}', '[1,2]', '"text"', 'null']) {
      await expectCode(t.admin, '/message/send', undefined, 251, raw);
    }
    // Nothing above was stored: the conversation of b is still untouched.
    expect(await convEntry(t.admin, b, single(a))).toBeUndefined();
  });

  it('restricts group receivers to toUsers: a member outside gets no conversation entry, one inside does', async () => {
    const [o, inside, outside] = await t.users('o', 'in', 'out');
    const g = fresh('g');
    await t.admin.createGroup(g, o, [inside, outside]);
    const r = await t.admin.send(o, group(g), text('psst'), [inside]);
    expect((await getOne(t.admin, r.messageUid)).toUsers).toEqual([inside]);

    const inEntry = await convEntry(t.admin, inside, group(g));
    expect(inEntry?.lastMessageUid).toBe(r.messageUid);
    expect(inEntry?.unread).toBe(1);
    expect(await convEntry(t.admin, outside, group(g))).toBeUndefined();

    // Without toUsers every member receives it.
    const all = await t.admin.send(o, group(g), { type: 1, persistFlag: 3 });
    expect((await convEntry(t.admin, outside, group(g)))?.lastMessageUid).toBe(all.messageUid);
    expect((await convEntry(t.admin, outside, group(g)))?.unread).toBe(1);
    expect((await convEntry(t.admin, inside, group(g)))?.unread).toBe(2);
  });

  it('keeps each line a separate conversation', async () => {
    const [a, b] = await t.users('a', 'b');
    const l0 = await t.admin.send(a, single(b, 0), { type: 1, persistFlag: 1 });
    const l2 = await t.admin.send(a, single(b, 2), { type: 1, persistFlag: 1 });
    expect((await getOne(t.admin, l2.messageUid)).conv).toEqual({ type: 0, target: b, line: 2 });
    expect((await convEntry(t.admin, b, single(a, 0)))?.lastMessageUid).toBe(l0.messageUid);
    expect((await convEntry(t.admin, b, single(a, 2)))?.lastMessageUid).toBe(l2.messageUid);
  });
});

describe('persistFlag', () => {
  const t = useServer();

  it('3 counts unread for the receiver (never the sender); 1 does not', async () => {
    const [a, b] = await t.users('a', 'b');
    const m1 = await t.admin.send(a, single(b), { type: 1, persistFlag: 1 });
    let e = await convEntry(t.admin, b, single(a));
    expect(e?.unread).toBe(0);
    expect(e?.lastMessageUid).toBe(m1.messageUid);
    expect(e?.lastTimestamp).toBe(m1.timestamp);

    const m2 = await t.admin.send(a, single(b), { type: 1, persistFlag: 3 });
    e = await convEntry(t.admin, b, single(a));
    expect(e?.unread).toBe(1);
    expect(e?.lastMessageUid).toBe(m2.messageUid);

    await t.admin.send(a, single(b), { type: 1, persistFlag: 3 });
    expect((await convEntry(t.admin, b, single(a)))?.unread).toBe(2);
    const m4 = await t.admin.send(a, single(b), { type: 1, persistFlag: 1 });
    e = await convEntry(t.admin, b, single(a));
    expect(e?.unread).toBe(2);
    expect(e?.lastMessageUid).toBe(m4.messageUid);

    const mine = await convEntry(t.admin, a, single(b));
    expect(mine?.unread).toBe(0);
    expect(mine?.lastMessageUid).toBe(m4.messageUid);
  });

  it('3 in a group counts for every other member', async () => {
    const [o, m1, m2] = await t.users('o', 'm', 'm');
    const g = fresh('g');
    await t.admin.createGroup(g, o, [m1, m2]);
    await t.admin.send(m1, group(g), { type: 1, persistFlag: 3 });
    expect((await convEntry(t.admin, o, group(g)))?.unread).toBe(1);
    expect((await convEntry(t.admin, m2, group(g)))?.unread).toBe(1);
    expect((await convEntry(t.admin, m1, group(g)))?.unread).toBe(0);
  });

  it('4 (transparent) returns a uid but is never stored: get_one and recall answer 253, no conversation changes', async () => {
    const [a, b] = await t.users('a', 'b');
    const before = await t.admin.send(a, single(b), { type: 1, persistFlag: 3 });
    const r = await t.admin.ok<SendResult>('/message/send', { sender: a, conv: single(b), payload: { type: 91, persistFlag: 4 } });
    expect(Number.isSafeInteger(r.messageUid)).toBe(true);
    expect(r.messageUid).toBeGreaterThan(before.messageUid);
    expect(r.messageUid).toBeLessThan(MAX_SAFE);
    expect(r.timestamp).toBeGreaterThan(0);
    await expectCode(t.admin, '/message/get_one', { messageUid: r.messageUid }, 253);
    await expectCode(t.admin, '/message/recall', { operator: a, messageUid: r.messageUid }, 253);
    const e = await convEntry(t.admin, b, single(a));
    expect(e?.lastMessageUid).toBe(before.messageUid);
    expect(e?.unread).toBe(1);
    // A transparent message to a fresh pair creates no conversation at all.
    const [c] = await t.users('c');
    await t.admin.send(a, single(c), { type: 91, persistFlag: 4 });
    expect(await convEntry(t.admin, c, single(a))).toBeUndefined();
  });

  it('0 is stored server-side (get_one finds it) but never counted as unread', async () => {
    const [a, b] = await t.users('a', 'b');
    await t.admin.send(a, single(b), { type: 1, persistFlag: 3 });
    const r = await t.admin.send(a, single(b), { type: 1, searchableContent: 'ephemeral', persistFlag: 0 });
    const m = await getOne(t.admin, r.messageUid);
    expect(m.payload).toEqual(fullPayload(1, { searchableContent: 'ephemeral', persistFlag: 0 }));
    expect((await convEntry(t.admin, b, single(a)))?.unread).toBe(1);
  });

  it('a message with expireDuration is retrievable right away (expiry itself is covered elsewhere)', async () => {
    const [a, b] = await t.users('a', 'b');
    const r = await t.admin.send(a, single(b), { type: 1, searchableContent: 'burn', persistFlag: 1, expireDuration: 1 });
    const m = await getOne(t.admin, r.messageUid);
    expect(m.payload).toEqual(fullPayload(1, { searchableContent: 'burn', persistFlag: 1, expireDuration: 1 }));
    expect(m.messageId).toBe(r.messageUid);
  });
});

describe('message/multicast', () => {
  const t = useServer({ admin: { strictSend: true } }); // the send rules through admin sends (trusted by default: trusted-send.test.ts)

  it('sends one uid to many targets, each of whom gets a conversation with the sender', async () => {
    const [a, b, c, d] = await t.users('a', 'b', 'c', 'd');
    const r = await t.admin.post<SendResult>('/message/multicast', {
      sender: a,
      targets: [b, c],
      line: 0,
      payload: text('to some'),
    });
    expect(r.body.code).toBe(0);
    const res = r.body.result!;
    expect(Object.keys(res).sort()).toEqual(['messageUid', 'timestamp']);
    expect(res.messageUid).toBeLessThan(MAX_SAFE);

    const m = await getOne(t.admin, res.messageUid);
    expect(m.messageId).toBe(res.messageUid);
    expect(m.sender).toBe(a);
    expect(m.timestamp).toBe(res.timestamp);
    expect(m.payload).toEqual(fullPayload(1, { searchableContent: 'to some', persistFlag: 3 }));

    for (const u of [b, c]) {
      const e = await convEntry(t.admin, u, single(a));
      expect(e?.lastMessageUid).toBe(res.messageUid);
      expect(e?.unread).toBe(1);
    }
    expect(await convEntry(t.admin, d, single(a))).toBeUndefined();
  });

  it('uses the given line', async () => {
    const [a, b] = await t.users('a', 'b');
    const r = await t.admin.ok<SendResult>('/message/multicast', { sender: a, targets: [b], line: 1, payload: { type: 1, persistFlag: 1 } });
    expect((await convEntry(t.admin, b, single(a, 1)))?.lastMessageUid).toBe(r.messageUid);
    expect(await convEntry(t.admin, b, single(a, 0))).toBeUndefined();
  });

  it('answers 253 for an unknown target or sender, 251 for empty or missing targets and bad input', async () => {
    const [a, b] = await t.users('a', 'b');
    await expectCode(t.admin, '/message/multicast', { sender: a, targets: [b, fresh('ghost')], payload: { type: 1, persistFlag: 1 } }, 253);
    // Nothing was delivered to the known target either.
    expect(await convEntry(t.admin, b, single(a))).toBeUndefined();
    await expectCode(t.admin, '/message/multicast', { sender: fresh('ghost'), targets: [b], payload: { type: 1 } }, 253);
    await expectCode(t.admin, '/message/multicast', { sender: a, targets: [], payload: { type: 1 } }, 251);
    await expectCode(t.admin, '/message/multicast', { sender: a, payload: { type: 1 } }, 251);
    await expectCode(t.admin, '/message/multicast', { sender: a, targets: b, payload: { type: 1 } }, 251);
    await expectCode(t.admin, '/message/multicast', { targets: [b], payload: { type: 1 } }, 251);
    await expectCode(t.admin, '/message/multicast', { sender: a, targets: [b] }, 251);
    await expectCode(t.admin, '/message/multicast', { sender: a, targets: [b], payload: { type: 1, persistFlag: 2 } }, 251);
  });
});

describe('message/broadcast', () => {
  const t = useServer({ admin: { strictSend: true } }); // the send rules through admin sends (trusted by default: trusted-send.test.ts)

  it('counts every other user as a recipient, and get_one finds the message', async () => {
    const users = ['bc-a', 'bc-b', 'bc-c', 'bc-d'];
    await createUsers(t.admin, ...users);
    const r = await t.admin.post<{ messageUid: number; count: number }>('/message/broadcast', {
      sender: 'bc-a',
      line: 0,
      payload: { type: 1, searchableContent: 'to all', persistFlag: 1 },
    });
    expect(r.body.code).toBe(0);
    expect(Object.keys(r.body.result!).sort()).toEqual(['count', 'messageUid']);
    expect(r.body.result!.count).toBe(3);
    expect(r.body.result!.messageUid).toBeLessThan(MAX_SAFE);
    const m = await getOne(t.admin, r.body.result!.messageUid);
    expect(m.sender).toBe('bc-a');
    expect(m.payload).toEqual(fullPayload(1, { searchableContent: 'to all', persistFlag: 1 }));

    await createUsers(t.admin, 'bc-e');
    const again = await t.admin.ok<{ messageUid: number; count: number }>('/message/broadcast', { sender: 'bc-b', payload: { type: 1 } });
    expect(again.count).toBe(4);
    expect(again.messageUid).toBeGreaterThan(r.body.result!.messageUid);
  });

  it('answers 253 for an unknown sender and 251 for missing sender or payload', async () => {
    const [a] = await t.users('a');
    await expectCode(t.admin, '/message/broadcast', { sender: fresh('ghost'), payload: { type: 1 } }, 253);
    await expectCode(t.admin, '/message/broadcast', { payload: { type: 1 } }, 251);
    await expectCode(t.admin, '/message/broadcast', { sender: a }, 251);
    await expectCode(t.admin, '/message/broadcast', { sender: a, payload: { type: '1' } }, 251);
  });
});
