import { describe, expect, it } from 'vitest';
import { channel, createUsers, fresh, getOne, group, single, type MessageData, text } from '../helpers/messages.js';
import type { Frame, WsClient } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';

/**
 * Live delivery over /ws: every conversation kind reaches the online devices of its receivers (and
 * the sender's own devices) as {"type":"message","cursor":N,"message":<get_one>}; nobody else gets it.
 * Absence is proven with a later marker: once the marker arrived, anything earlier would have too.
 */

/** The exact frame of a live message. */
function expectMessageFrame(f: Frame, m: MessageData): void {
  expect(Object.keys(f).sort()).toEqual(['cursor', 'message', 'type']);
  expect(f.type).toBe('message');
  expect(Number.isSafeInteger(f.cursor)).toBe(true);
  expect(f['message']).toEqual(m);
}

/** `c` received no frame about `uid` before the marker message `markerUid` arrived. */
async function expectNothingAbout(c: WsClient, uid: number, markerUid: number): Promise<void> {
  const marker = await c.waitMessage(markerUid);
  const before = c.frames.slice(0, c.frames.indexOf(marker));
  expect(before.filter((f) => f['message']?.messageId === uid || f['messageUid'] === uid)).toEqual([]);
}

describe('live delivery (server with default fan-out)', () => {
  const t = useServer();

  it('single chat: the receiver and every connected device of the sender get the get_one message', async () => {
    const [a, b, x] = await t.users('a', 'b', 'x');
    const b1 = await t.device(b, 'b-phone');
    const a1 = await t.device(a, 'a-phone');
    const a2 = t.sdk({ token: await t.token(a, 'a-desk', 3) });
    await a2.client.connect();
    const xd = await t.device(x);

    const r = await t.admin.send(a, single(b), text('hello bob'));
    const m = await getOne(t.admin, r.messageUid);
    expect(m.conv).toEqual(single(b));
    const fb = await b1.waitMessage(r.messageUid);
    const fa = await a1.waitMessage(r.messageUid);
    expectMessageFrame(fb, m);
    expectMessageFrame(fa, m);
    expect((await a2.waitMessage(r.messageUid)).message).toEqual(m);
    // The hello/synced frames came first, and the message's cursor is past the synced one.
    expect(b1.frames[0]).toEqual({ type: 'hello', userId: b, clientId: 'b-phone' });
    expect(b1.frames[1]).toMatchObject({ type: 'synced' });
    expect(fb.cursor).toBeGreaterThan(b1.frames[1]!.cursor!);

    // A bystander learned nothing: its first message frame is the marker sent afterwards.
    const marker = await t.admin.send(a, single(x), text('marker'));
    await expectNothingAbout(xd, r.messageUid, marker.messageUid);
    expect(xd.messageUids()).toEqual([marker.messageUid]);
  });

  it('small group (per-user rows): every online member gets it, the sender too; an outsider does not', async () => {
    const [o, m1, m2, out] = await t.users('o', 'm', 'm', 'out');
    const g = fresh('g');
    await t.admin.createGroup(g, o, [m1, m2]);
    const devs = await Promise.all([o, m1, m2].map((u) => t.device(u)));
    const od = await t.device(out);

    const r = await t.admin.send(m1, group(g), text('hi group'));
    const m = await getOne(t.admin, r.messageUid);
    for (const d of devs) expectMessageFrame(await d.waitMessage(r.messageUid), m);

    const marker = await t.admin.send(o, single(out), text('marker'));
    await expectNothingAbout(od, r.messageUid, marker.messageUid);
  });

  it('toUsers restricts a group message to the listed members (and the sender)', async () => {
    const [o, m1, m2] = await t.users('o', 'm', 'm');
    const g = fresh('g');
    await t.admin.createGroup(g, o, [m1, m2]);
    const [od, d1, d2] = await Promise.all([o, m1, m2].map((u) => t.device(u)));
    const r = await t.admin.send(o, group(g), text('only m1'), [m1]);
    const m = await getOne(t.admin, r.messageUid);
    expectMessageFrame(await d1.waitMessage(r.messageUid), m);
    expectMessageFrame(await od.waitMessage(r.messageUid), m);
    const marker = await t.admin.send(o, group(g), text('everyone'));
    await expectNothingAbout(d2, r.messageUid, marker.messageUid);
  });

  it('channel: the owner reaches every subscriber; a subscriber reaches only the owner', async () => {
    const [owner, s1, s2, x] = await t.users('own', 'sub', 'sub', 'x');
    const ch = fresh('ch');
    await t.admin.ok('/channel/create', { owner, name: 'news', targetId: ch });
    for (const s of [s1, s2]) await t.admin.ok('/channel/subscribe', { channelId: ch, userId: s, subscribe: 1 });
    const [od, d1, d2, xd] = await Promise.all([owner, s1, s2, x].map((u) => t.device(u)));

    const r = await t.admin.send(owner, channel(ch), text('news'));
    const m = await getOne(t.admin, r.messageUid);
    for (const d of [od, d1, d2]) expectMessageFrame(await d.waitMessage(r.messageUid), m);

    const back = await t.admin.send(s1, channel(ch), text('feedback'));
    const mb = await getOne(t.admin, back.messageUid);
    expectMessageFrame(await od.waitMessage(back.messageUid), mb);
    expectMessageFrame(await d1.waitMessage(back.messageUid), mb);

    const marker = await t.admin.send(owner, channel(ch), text('marker'));
    await expectNothingAbout(d2, back.messageUid, marker.messageUid);
    const xMarker = await t.admin.send(owner, single(x), text('x marker'));
    await expectNothingAbout(xd, r.messageUid, xMarker.messageUid);
    expect(xd.messageUids()).toEqual([xMarker.messageUid]);
  });

  it('multicast: each target (and the sender) gets the one uid; a non-target does not', async () => {
    const [s, t1, t2, x] = await t.users('s', 't', 't', 'x');
    const [sd, d1, d2, xd] = await Promise.all([s, t1, t2, x].map((u) => t.device(u)));
    const r = await t.admin.ok<{ messageUid: number }>('/message/multicast', { sender: s, targets: [t1, t2], line: 0, payload: text('to some') });
    const m = await getOne(t.admin, r.messageUid);
    for (const d of [d1, d2, sd]) expectMessageFrame(await d.waitMessage(r.messageUid), m);
    const marker = await t.admin.send(s, single(x), text('marker'));
    await expectNothingAbout(xd, r.messageUid, marker.messageUid);
  });

  it('recall, update and delete reach both sides live with the documented frames; update distribute 0 does not', async () => {
    const [a, b] = await t.users('a', 'b');
    const bd = await t.device(b);
    const ad = await t.device(a);
    const m1 = await t.admin.send(a, single(b), text('one'));
    const m2 = await t.admin.send(a, single(b), text('two'));
    const m3 = await t.admin.send(a, single(b), text('three'));
    await t.admin.ok('/message/update', { messageUid: m1.messageUid, payload: text('one, silently'), distribute: 0 });
    await t.admin.ok('/message/update', { messageUid: m2.messageUid, payload: text('two, edited'), distribute: 1 });
    const original = await t.admin.ok<string>('/message/recall', { operator: a, messageUid: m3.messageUid });
    const recalled = await getOne(t.admin, m3.messageUid);
    expect(recalled.payload).toMatchObject({ type: 80, content: a, extra: original });
    const edited = await getOne(t.admin, m2.messageUid);
    for (const d of [bd, ad]) {
      const u = await d.waitType('update');
      expect(Object.keys(u).sort()).toEqual(['cursor', 'message', 'messageUid', 'type']);
      expect(u).toMatchObject({ type: 'update', messageUid: m2.messageUid, message: edited });
      const r = await d.waitType('recall');
      expect(Object.keys(r).sort()).toEqual(['cursor', 'message', 'messageUid', 'type']);
      expect(r).toMatchObject({ type: 'recall', messageUid: m3.messageUid, message: recalled });
    }
    await t.admin.ok('/message/delete', { messageUid: m1.messageUid });
    for (const d of [bd, ad]) {
      const del = await d.waitType('delete');
      expect(del).toEqual({ type: 'delete', cursor: del.cursor, messageUid: m1.messageUid });
      // Exactly: 3 messages, one update (m2 only), one recall, one delete.
      expect(d.frames.slice(2).map((f) => f.type)).toEqual(['message', 'message', 'message', 'update', 'recall', 'delete']);
    }
  });

  it('recall_multicast / delete_multicast reach only the chosen receivers', async () => {
    const [s, t1, t2] = await t.users('s', 't', 't');
    const [d1, d2] = await Promise.all([t1, t2].map((u) => t.device(u)));
    const r = await t.admin.ok<{ messageUid: number }>('/message/multicast', { sender: s, targets: [t1, t2], payload: text('to both') });
    const r2 = await t.admin.ok<{ messageUid: number }>('/message/multicast', { sender: s, targets: [t1, t2], payload: text('to both, again') });
    await t.admin.ok('/message/recall_multicast', { operator: s, messageUid: r.messageUid, receivers: [t1] });
    await t.admin.ok('/message/delete_multicast', { messageUid: r2.messageUid, receivers: [t2] });
    const rec = await d1.waitType('recall');
    expect(rec).toMatchObject({ messageUid: r.messageUid, message: { messageId: r.messageUid, payload: { type: 80 } } });
    const del = await d2.waitType('delete');
    expect(del).toMatchObject({ messageUid: r2.messageUid });
    const marker = await t.admin.ok<{ messageUid: number }>('/message/multicast', { sender: s, targets: [t1, t2], payload: text('marker') });
    await d1.waitMessage(marker.messageUid);
    await d2.waitMessage(marker.messageUid);
    expect(d1.frames.filter((f) => f.type === 'delete' || f.type === 'recall').map((f) => f.type)).toEqual(['recall']);
    expect(d2.frames.filter((f) => f.type === 'delete' || f.type === 'recall').map((f) => f.type)).toEqual(['delete']);
    // Replay from scratch shows each receiver its own view.
    const v1 = await t.device(t1, 'v1', { cursor: 0 });
    const v2 = await t.device(t2, 'v2', { cursor: 0 });
    expect(v1.frames.find((f) => f['message']?.messageId === r.messageUid && f.type === 'message')!['message'].payload.type).toBe(80);
    expect(v2.frames.find((f) => f['message']?.messageId === r.messageUid && f.type === 'message')!['message'].payload.type).toBe(1);
    expect(v2.messageUids()).not.toContain(r2.messageUid);
    expect(v1.messageUids()).toContain(r2.messageUid);
  });

  it('broadcast: every online user gets it, including one created just now', async () => {
    const [s, u1, u2] = await t.users('s', 'u', 'u');
    const devs = await Promise.all([s, u1, u2].map((u) => t.device(u)));
    const [late] = await t.users('late');
    const ld = await t.device(late);
    const r = await t.admin.ok<{ messageUid: number; count: number }>('/message/broadcast', { sender: s, line: 0, payload: text('to all') });
    const m = await getOne(t.admin, r.messageUid);
    for (const d of [...devs, ld]) expectMessageFrame(await d.waitMessage(r.messageUid), m);
  });
});

describe('live delivery through shared timelines (inlineFanoutMax 2)', () => {
  const t = useServer({ messaging: { inlineFanoutMax: 2 } });

  it('large group: all 5 online members get it once; an outsider does not', async () => {
    const users = [fresh('o'), fresh('m'), fresh('m'), fresh('m'), fresh('m')];
    const out = fresh('out');
    await createUsers(t.admin, ...users, out);
    const g = fresh('big');
    await t.admin.createGroup(g, users[0]!, users.slice(1));
    const devs = await Promise.all(users.map((u) => t.device(u)));
    const od = await t.device(out);

    const r = await t.admin.send(users[2]!, group(g), text('hi big group'));
    const m = await getOne(t.admin, r.messageUid);
    for (const d of devs) expectMessageFrame(await d.waitMessage(r.messageUid), m);

    // A second message, after the member cache is warm, also reaches everyone exactly once.
    const r2 = await t.admin.send(users[0]!, group(g), text('second'));
    for (const d of devs) {
      await d.waitMessage(r2.messageUid);
      expect(d.messageUids()).toEqual([r.messageUid, r2.messageUid]);
    }
    const marker = await t.admin.send(users[0]!, single(out), text('marker'));
    await expectNothingAbout(od, r.messageUid, marker.messageUid);
    expect(od.messageUids()).toEqual([marker.messageUid]);
  });

  it('large group: a member added later receives new messages, a removed one no longer does', async () => {
    const users = [fresh('o'), fresh('m'), fresh('m'), fresh('m')];
    const [joiner, leaver] = [fresh('join'), users[3]!];
    await createUsers(t.admin, ...users, joiner);
    const g = fresh('big');
    await t.admin.createGroup(g, users[0]!, users.slice(1));
    const [od, , , ld] = await Promise.all(users.map((u) => t.device(u)));
    const jd = await t.device(joiner);
    // Warm the member cache, then change membership: the cache must follow.
    const first = await t.admin.send(users[0]!, group(g), text('first'));
    await ld!.waitMessage(first.messageUid);
    await t.admin.ok('/group/member/add', { operator: users[0], group_id: g, members: [{ member_id: joiner }] });
    await t.admin.ok('/group/member/del', { operator: users[0], group_id: g, members: [leaver] });
    const r = await t.admin.send(users[0]!, group(g), text('after changes'));
    await jd.waitMessage(r.messageUid);
    await od!.waitMessage(r.messageUid);
    const marker = await t.admin.send(users[0]!, single(leaver), text('marker'));
    await expectNothingAbout(ld!, r.messageUid, marker.messageUid);
  });

  it('large channel (shared audience): every subscriber and the owner get it; a non-subscriber does not', async () => {
    const [owner, x] = [fresh('own'), fresh('x')];
    const subs = [fresh('sub'), fresh('sub'), fresh('sub')];
    await createUsers(t.admin, owner, x, ...subs);
    const ch = fresh('ch');
    await t.admin.ok('/channel/create', { owner, name: 'big news', targetId: ch });
    for (const s of subs) await t.admin.ok('/channel/subscribe', { channelId: ch, userId: s, subscribe: 1 });
    const devs = await Promise.all([owner, ...subs].map((u) => t.device(u)));
    const xd = await t.device(x);
    const r = await t.admin.send(owner, channel(ch), text('big news'));
    const m = await getOne(t.admin, r.messageUid);
    for (const d of devs) expectMessageFrame(await d.waitMessage(r.messageUid), m);
    const marker = await t.admin.send(owner, single(x), text('marker'));
    await expectNothingAbout(xd, r.messageUid, marker.messageUid);
  });

  it('large group transparent message: online members get it, an outsider does not, and it is never stored', async () => {
    const users = [fresh('o'), fresh('m'), fresh('m'), fresh('m')];
    const out = fresh('out');
    await createUsers(t.admin, ...users, out);
    const g = fresh('big');
    await t.admin.createGroup(g, users[0]!, users.slice(1));
    const devs = await Promise.all(users.map((u) => t.device(u)));
    const od = await t.device(out);
    const r = await t.admin.send(users[1]!, group(g), { type: 1, searchableContent: 'typing', persistFlag: 4 });
    for (const d of devs) {
      const f = await d.waitMessage(r.messageUid);
      expect(f).toMatchObject({ type: 'message', transparent: true, message: { messageId: r.messageUid, sender: users[1], conv: group(g) } });
    }
    expect(await t.admin.code('/message/get_one', { messageUid: r.messageUid })).toBe(253);
    const marker = await t.admin.send(users[0]!, single(out), text('marker'));
    await expectNothingAbout(od, r.messageUid, marker.messageUid);
  });

  it('broadcast: one shared event reaches every online user once', async () => {
    const users = [fresh('s'), fresh('u'), fresh('u'), fresh('u')];
    await createUsers(t.admin, ...users);
    const devs = await Promise.all(users.map((u) => t.device(u)));
    const r = await t.admin.ok<{ messageUid: number }>('/message/broadcast', { sender: users[0], line: 0, payload: text('all hands') });
    const m = await getOne(t.admin, r.messageUid);
    for (const d of devs) expectMessageFrame(await d.waitMessage(r.messageUid), m);
    const r2 = await t.admin.ok<{ messageUid: number }>('/message/broadcast', { sender: users[0], line: 0, payload: text('again') });
    for (const d of devs) {
      await d.waitMessage(r2.messageUid);
      expect(d.messageUids()).toEqual([r.messageUid, r2.messageUid]);
    }
  });
});
