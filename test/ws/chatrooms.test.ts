import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { convList, createUsers, fresh, getOne, single } from '../helpers/messages.js';
import type { TestServer } from '../helpers/server.js';
import { closeAllClients, device, eventually, type Frame, type WsClient, startWsServer } from '../helpers/ws-client.js';

/**
 * Chatrooms over /ws (docs/client-protocol.md, "Chatrooms"): devices join and leave with frames,
 * messages of conversation type 2 reach the devices in the room at that moment (and nobody else),
 * are not kept in anyone's sync log, and removals the device did not ask for are told to it.
 * Absence is proven with a later marker message in the same room.
 */

const text = (s: string, extra: Record<string, unknown> = {}) => ({ type: 1, searchableContent: s, persistFlag: 3, ...extra });
const room = (target: string) => ({ type: 2, target, line: 0 });

let t: TestServer;
/** A user the admin API sends as (a back end's system account). */
const SYS = fresh('sys');
beforeAll(async () => {
  t = await startWsServer();
  await createUsers(t.admin, SYS);
});
afterEach(closeAllClients);
afterAll(async () => {
  await t.close();
});

async function createRoom(id = fresh('room'), extra: Record<string, unknown> = {}): Promise<string> {
  await t.admin.ok('/chatroom/create', { chatroomId: id, title: `title of ${id}`, ...extra });
  return id;
}

let frameId = 0;
/** Send a frame with a fresh id and wait for the reply carrying that id. */
async function ask(c: WsClient, frame: Record<string, unknown>): Promise<Frame> {
  const id = `q${++frameId}`;
  c.send({ ...frame, id });
  return c.waitFor((f) => f['id'] === id, { label: `the reply to ${String(frame['type'])} ${id}` });
}

async function join(c: WsClient, chatroomId: string): Promise<Frame> {
  const reply = await ask(c, { type: 'chatroom_join', chatroomId });
  expect(reply.type, JSON.stringify(reply)).toBe('chatroom_joined');
  return reply;
}

/** A device of `userId` that has joined `chatroomId`. */
async function member(userId: string, chatroomId: string, clientId = `${userId}-dev`): Promise<WsClient> {
  const c = await device(t.url, t.admin, userId, clientId);
  await join(c, chatroomId);
  return c;
}

const chatroomMessages = (c: WsClient, from = 0): Frame[] => c.frames.slice(from).filter((f) => f.type === 'chatroom_message');
const texts = (c: WsClient, from = 0): string[] => chatroomMessages(c, from).map((f) => f['message'].payload.searchableContent as string);

/** Wait for the chatroom message `s` on `c`. */
const waitText = (c: WsClient, s: string): Promise<Frame> =>
  c.waitFor((f) => f.type === 'chatroom_message' && f['message']?.payload?.searchableContent === s, { label: `chatroom message "${s}"` });

describe('joining and leaving', () => {
  it('join answers chatroom_joined with the room (title, state, memberCount…); leave answers chatroom_left "left"', async () => {
    const [a, b] = [fresh('a'), fresh('b')];
    await createUsers(t.admin, a, b);
    const id = await createRoom(undefined, { desc: 'd', portrait: 'https://p/x.png', extra: '{"x":1}' });
    const da = await device(t.url, t.admin, a);
    const r1 = await join(da, id);
    expect(Object.keys(r1).sort()).toEqual(['chatroom', 'id', 'type']);
    expect(r1['chatroom']).toMatchObject({ chatroomId: id, title: `title of ${id}`, desc: 'd', portrait: 'https://p/x.png', extra: '{"x":1}', state: 0, memberCount: 1 });
    expect(Number.isSafeInteger(r1['chatroom'].createDt) && Number.isSafeInteger(r1['chatroom'].updateDt)).toBe(true);
    const db = await device(t.url, t.admin, b);
    expect((await join(db, id))['chatroom'].memberCount).toBe(2);

    expect((await t.admin.ok<{ list: string[] }>('/chatroom/members', { chatroomId: id })).list).toEqual([a, b]);
    expect(await t.admin.ok('/chatroom/user_chatroom', { userId: b })).toEqual({ userId: b, chatroomId: id, clientId: `${b}-dev`, platform: 1 });

    const left = await ask(db, { type: 'chatroom_leave', chatroomId: id });
    expect(left).toEqual({ type: 'chatroom_left', id: left['id'], chatroomId: id, reason: 'left' });
    expect((await t.admin.ok<{ list: string[] }>('/chatroom/members', { chatroomId: id })).list).toEqual([a]);
    expect(await t.admin.code('/chatroom/user_chatroom', { userId: b })).toBe(253);
    // Leaving again (or a room it is not in) is answered the same way.
    expect((await ask(db, { type: 'chatroom_leave', chatroomId: id })).type).toBe('chatroom_left');
    expect((await ask(db, { type: 'chatroom_leave', chatroomId: fresh('nowhere') })).type).toBe('chatroom_left');
  });

  it('refusals: unknown or ended room 253, a bad chatroomId 251, banned (blacklist 2) 246; the connection stays', async () => {
    const a = fresh('a');
    await createUsers(t.admin, a);
    const da = await device(t.url, t.admin, a);
    expect(await ask(da, { type: 'chatroom_join', chatroomId: fresh('ghost') })).toMatchObject({ type: 'error', code: 253 });
    for (const bad of [undefined, '', 5, ['x'], 'x'.repeat(129)]) {
      expect(await ask(da, { type: 'chatroom_join', chatroomId: bad }), JSON.stringify(bad)).toMatchObject({ type: 'error', code: 251 });
      expect(await ask(da, { type: 'chatroom_leave', chatroomId: bad }), JSON.stringify(bad)).toMatchObject({ type: 'error', code: 251 });
    }
    const ended = await createRoom();
    await t.admin.ok('/chatroom/del', { chatroomId: ended });
    expect(await ask(da, { type: 'chatroom_join', chatroomId: ended })).toMatchObject({ type: 'error', code: 253 });
    const banned = await createRoom();
    await t.admin.ok('/chatroom/set_black_status', { chatroomId: banned, userId: a, status: 2, expiredTime: 0 });
    expect(await ask(da, { type: 'chatroom_join', chatroomId: banned })).toMatchObject({ type: 'error', code: 246, msg: 'user in black list' });
    // Banned until a time already past: no longer in force.
    await t.admin.ok('/chatroom/set_black_status', { chatroomId: banned, userId: a, status: 2, expiredTime: Date.now() - 1000 });
    await join(da, banned);
    // A room that has not started yet (state 1) can be joined.
    const later = await createRoom(undefined, { state: 1 });
    expect((await join(da, later))['chatroom'].state).toBe(1);
  });

  it('a user is in one room with one device: joining elsewhere (another room, or from another device) removes the earlier entry, whose device is told "replaced"', async () => {
    const a = fresh('a');
    await createUsers(t.admin, a);
    const [r1, r2] = [await createRoom(), await createRoom()];
    const phone = await member(a, r1, 'phone');
    // The same device moves to another room: told it left the first.
    const mark = phone.mark;
    await join(phone, r2);
    expect(await phone.waitType('chatroom_left', (f) => f['chatroomId'] === r1, { from: mark })).toEqual({ type: 'chatroom_left', chatroomId: r1, reason: 'replaced' });
    expect(await t.admin.code('/chatroom/members', { chatroomId: r1 })).toBe(253);
    // Another device of the user joins: the phone is out.
    const desk = await device(t.url, t.admin, a, 'desk');
    await join(desk, r2);
    expect(await phone.waitType('chatroom_left', (f) => f['chatroomId'] === r2)).toEqual({ type: 'chatroom_left', chatroomId: r2, reason: 'replaced' });
    expect(await t.admin.ok('/chatroom/user_chatroom', { userId: a })).toMatchObject({ chatroomId: r2, clientId: 'desk' });
    // Only the desk receives the room's messages now.
    await t.admin.send(SYS, room(r2), text('after the move'));
    await waitText(desk, 'after the move');
    const marker = await t.admin.send(SYS, single(a), text('marker'));
    await phone.waitMessage(marker.messageUid);
    expect(texts(phone)).toEqual([]);
  });

  it('a connection that ends leaves its room; a connection of the same client that joined since is not affected', async () => {
    const a = fresh('a');
    await createUsers(t.admin, a);
    const id = await createRoom();
    const first = await member(a, id, 'phone');
    await first.close();
    await eventually(async () => (await t.admin.code('/chatroom/members', { chatroomId: id })) === 253, 'the member list to be empty');
    // Same client id again: joins, then an older connection of it ends — the new one stays in.
    const old = await device(t.url, t.admin, a, 'phone');
    const fresh1 = await member(a, id, 'phone');
    await old.close();
    await t.admin.send(SYS, room(id), text('still here'));
    await waitText(fresh1, 'still here');
    expect((await t.admin.ok<{ list: string[] }>('/chatroom/members', { chatroomId: id })).list).toEqual([a]);
  });
});

describe('messages', () => {
  it('reach exactly the devices in the room, live, as chatroom_message frames without a cursor; toUsers narrows them', async () => {
    const [a, b, c, x] = [fresh('a'), fresh('b'), fresh('c'), fresh('x')];
    await createUsers(t.admin, a, b, c, x);
    const id = await createRoom();
    const [da, db, dc] = [await member(a, id), await member(b, id), await member(c, id)];
    const dx = await device(t.url, t.admin, x);
    // Another device of a member, not in the room.
    const a2 = await device(t.url, t.admin, a, 'a-other');

    const sent = await ask(da, { type: 'send', conv: room(id), payload: text('hello room'), clientMsgId: 'cm-1' });
    expect(sent).toMatchObject({ type: 'sent' });
    const m = await getOne(t.admin, sent['messageUid'] as number);
    expect(m).toMatchObject({ sender: a, conv: room(id) });
    for (const d of [da, db, dc]) {
      const f = await waitText(d, 'hello room');
      expect(f).toEqual({ type: 'chatroom_message', chatroomId: id, message: m });
    }
    // From the admin API (no membership needed), to two of them.
    await t.admin.send(SYS, room(id), text('to b and c'), [b, c]);
    await waitText(db, 'to b and c');
    await waitText(dc, 'to b and c');
    // Transparent messages go the same way.
    await t.admin.send(SYS, room(id), text('typing', { persistFlag: 4 }));
    await waitText(da, 'typing');

    const marker = await t.admin.send(SYS, single(x), text('marker'));
    await dx.waitMessage(marker.messageUid);
    const marker2 = await t.admin.send(SYS, single(a), text('marker'));
    await a2.waitMessage(marker2.messageUid);
    await da.waitMessage(marker2.messageUid);
    expect(texts(dx)).toEqual([]);
    expect(texts(a2)).toEqual([]);
    expect(texts(da)).toEqual(['hello room', 'typing']);
  });

  it('are kept in nobody’s sync log: no replay, no conversation entry, no unread; a joining device gets no earlier message', async () => {
    const [a, b] = [fresh('a'), fresh('b')];
    await createUsers(t.admin, a, b);
    const id = await createRoom();
    const da = await member(a, id);
    const before = await t.admin.send(a, room(id), text('before b joined'));
    await waitText(da, 'before b joined');
    const db = await member(b, id);
    const m = await t.admin.send(a, room(id), text('while b is in'));
    await waitText(db, 'while b is in');
    expect(texts(db)).toEqual(['while b is in']);
    // Stored (get_one finds it), but in no one's list or unread count.
    expect((await getOne(t.admin, m.messageUid)).payload['searchableContent']).toBe('while b is in');
    for (const u of [a, b]) expect((await convList(t.admin, u)).filter((e) => e.conversation.type === 2)).toEqual([]);
    // A reconnect replaying everything (cursor 0) brings no chatroom message back.
    const replay = await device(t.url, t.admin, b, 'replayer', { cursor: 0 });
    const marker = await t.admin.send(a, single(b), text('marker'));
    await replay.waitMessage(marker.messageUid);
    expect(replay.messageUids()).not.toContain(m.messageUid);
    expect(replay.messageUids()).not.toContain(before.messageUid);
    expect(chatroomMessages(replay)).toEqual([]);
  });

  it('device sends: not in the room 20; blacklisted (1 or 2) 246; muted room 241 except for managers; the admin API is not checked', async () => {
    const [a, b, mgr, out] = [fresh('a'), fresh('b'), fresh('mgr'), fresh('out')];
    await createUsers(t.admin, a, b, mgr, out);
    const id = await createRoom();
    const [da, db, dm] = [await member(a, id), await member(b, id), await member(mgr, id)];
    const dout = await device(t.url, t.admin, out);
    const send = (d: WsClient, s: string) => ask(d, { type: 'send', conv: room(id), payload: text(s) });

    expect(await send(dout, 'outsider')).toMatchObject({ type: 'error', code: 20, msg: 'not in chatroom' });
    // In another room than the one sent to.
    const other = await createRoom();
    expect(await ask(dout, { type: 'send', conv: room(other), payload: text('x') })).toMatchObject({ code: 20 });

    await t.admin.ok('/chatroom/set_black_status', { chatroomId: id, userId: a, status: 1, expiredTime: 0 });
    expect(await send(da, 'muted a')).toMatchObject({ type: 'error', code: 246 });
    await t.admin.ok('/chatroom/set_black_status', { chatroomId: id, userId: a, status: 0 });
    expect(await send(da, 'a again')).toMatchObject({ type: 'sent' });

    await t.admin.ok('/chatroom/set_manager', { chatroomId: id, userId: mgr, status: 1 });
    await t.admin.ok('/chatroom/mute_all', { chatroomId: id, status: 1 });
    expect(await send(db, 'b in a muted room')).toMatchObject({ type: 'error', code: 241 });
    expect(await send(dm, 'manager speaks')).toMatchObject({ type: 'sent' });
    // The admin API sends whatever the rules (as Wildfire's does), for any sender.
    await t.admin.send(out, room(id), text('admin speaks'));
    await waitText(db, 'admin speaks');
    await t.admin.ok('/chatroom/mute_all', { chatroomId: id, status: 0 });
    expect(await send(db, 'b speaks')).toMatchObject({ type: 'sent' });
    await waitText(da, 'b speaks');
    expect(texts(da).filter((s) => s.includes('muted') || s === 'outsider')).toEqual([]);
  });
});

describe('removals', () => {
  it('chatroom/del ends the room: every device in it gets chatroom_left "destroyed", later messages reach nobody, info still answers (state 2)', async () => {
    const [a, b] = [fresh('a'), fresh('b')];
    await createUsers(t.admin, a, b);
    const id = await createRoom();
    const [da, db] = [await member(a, id), await member(b, id)];
    await t.admin.ok('/chatroom/del', { chatroomId: id });
    for (const d of [da, db]) expect(await d.waitType('chatroom_left')).toEqual({ type: 'chatroom_left', chatroomId: id, reason: 'destroyed' });
    expect(await t.admin.code('/chatroom/members', { chatroomId: id })).toBe(253);
    expect(await t.admin.ok('/chatroom/info', { chatroomId: id })).toMatchObject({ chatroomId: id, state: 2, memberCount: 0 });
    expect(await ask(da, { type: 'send', conv: room(id), payload: text('too late') })).toMatchObject({ code: 20 });
    await t.admin.send(SYS, room(id), text('into the void'));
    const marker = await t.admin.send(SYS, single(a), text('marker'));
    await da.waitMessage(marker.messageUid);
    expect(texts(da)).toEqual([]);
    // The connections stay open.
    expect(da.closeInfo).toBeUndefined();
  });

  it('a ban (blacklist 2) removes the user now: its device gets chatroom_left "kicked"', async () => {
    const [a, b] = [fresh('a'), fresh('b')];
    await createUsers(t.admin, a, b);
    const id = await createRoom();
    const [da, db] = [await member(a, id), await member(b, id)];
    await t.admin.ok('/chatroom/set_black_status', { chatroomId: id, userId: a, status: 2 });
    expect(await da.waitType('chatroom_left')).toEqual({ type: 'chatroom_left', chatroomId: id, reason: 'kicked' });
    expect((await t.admin.ok<{ list: string[] }>('/chatroom/members', { chatroomId: id })).list).toEqual([b]);
    await t.admin.send(SYS, room(id), text('without a'));
    await waitText(db, 'without a');
    expect(db.frames.filter((f) => f.type === 'chatroom_left')).toEqual([]);
  });
});
