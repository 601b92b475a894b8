import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createUsers, expectBareOk, fresh } from '../helpers/messages.js';
import type { TestServer } from '../helpers/server.js';
import { closeAllClients, device, startWsServer, type WsClient } from '../helpers/ws-client.js';

/**
 * Wildfire's ChatroomAdmin over signed HTTP, as its Java SDK calls it: the open-source routes
 * (create, del, info, members, user_chatroom) and the professional edition's (set/get_black_status,
 * set_manager, get_manager_list, mute_all), each with its result shape and its failure codes.
 */

let t: TestServer;
beforeAll(async () => {
  t = await startWsServer();
});
afterEach(closeAllClients);
afterAll(async () => {
  await t.close();
});

const INVALID = { code: 251, msg: 'Invalid parameter' };
const NOT_EXIST = { code: 253, msg: 'not exist' };

async function envelope(path: string, body: unknown): Promise<unknown> {
  const r = await t.admin.post(path, body);
  expect(r.status).toBe(200);
  return r.body;
}

async function joined(userId: string, chatroomId: string, clientId = `${userId}-dev`, platform = 2): Promise<WsClient> {
  const c = await device(t.url, t.admin, userId, clientId, { platform });
  c.send({ type: 'chatroom_join', id: 'j', chatroomId });
  await c.waitType('chatroom_joined');
  return c;
}

describe('chatroom/create, info, del', () => {
  it('create answers {chatroomId}; info gives every field; an empty id gets a generated one', async () => {
    const id = fresh('room');
    const t0 = Date.now();
    const r = await t.admin.post('/chatroom/create', { chatroomId: id, title: 'Lobby', desc: 'the lobby', portrait: 'https://img/p.png', extra: '{"k":1}', state: 0 });
    expect(r.body).toEqual({ code: 0, msg: 'success', result: { chatroomId: id } });
    const info = await t.admin.ok<Record<string, unknown>>('/chatroom/info', { chatroomId: id });
    expect(Object.keys(info).sort()).toEqual(['chatroomId', 'createDt', 'desc', 'extra', 'memberCount', 'portrait', 'state', 'title', 'updateDt']);
    expect(info).toMatchObject({ chatroomId: id, title: 'Lobby', desc: 'the lobby', portrait: 'https://img/p.png', extra: '{"k":1}', state: 0, memberCount: 0 });
    expect(info['createDt']).toBeGreaterThanOrEqual(t0);
    expect(info['updateDt']).toBe(info['createDt']);

    for (const body of [{ title: 'no id' }, { chatroomId: '', title: 'empty id' }, { chatroomId: null, title: 'null id' }]) {
      const gen = await t.admin.ok<{ chatroomId: string }>('/chatroom/create', body);
      expect(gen.chatroomId).toMatch(/^[A-Za-z0-9_-]{6,}$/);
      expect(await t.admin.ok('/chatroom/info', { chatroomId: gen.chatroomId })).toMatchObject({ title: body.title, state: 0 });
    }
  });

  it('create of an existing room updates it: non-empty fields overwrite, the state always does (null or 0 → 0, 1 → 1, anything else → 2)', async () => {
    const id = fresh('room');
    await t.admin.ok('/chatroom/create', { chatroomId: id, title: 'First', desc: 'd1', extra: 'e1', state: 1 });
    const first = await t.admin.ok<{ createDt: number; updateDt: number; state: number }>('/chatroom/info', { chatroomId: id });
    expect(first.state).toBe(1);
    await t.admin.ok('/chatroom/create', { chatroomId: id, title: 'Second', desc: '', portrait: 'https://p' });
    const second = await t.admin.ok<Record<string, unknown>>('/chatroom/info', { chatroomId: id });
    expect(second).toMatchObject({ title: 'Second', desc: 'd1', extra: 'e1', portrait: 'https://p', state: 0, createDt: first.createDt });
    expect(second['updateDt'] as number).toBeGreaterThanOrEqual(first.updateDt);
    for (const [state, want] of [
      [1, 1],
      [2, 2],
      [7, 2],
      [-3, 2],
      [0, 0],
    ] as const) {
      await t.admin.ok('/chatroom/create', { chatroomId: id, title: 'T', state });
      expect((await t.admin.ok<{ state: number }>('/chatroom/info', { chatroomId: id })).state, `state ${state}`).toBe(want);
    }
  });

  it('failures: 251 for an empty or missing title, a bad type, a too long id; info 253 for an unknown room', async () => {
    for (const body of [{}, { chatroomId: 'x' }, { chatroomId: 'x', title: '' }, { chatroomId: 'x', title: 5 }, { chatroomId: 'x'.repeat(129), title: 't' }, { title: 't', state: 'on' }, { title: 't', state: 2 ** 31 }]) {
      expect(await envelope('/chatroom/create', body), JSON.stringify(body)).toEqual(INVALID);
    }
    for (const path of ['/chatroom/info', '/chatroom/del', '/chatroom/members', '/chatroom/get_black_status', '/chatroom/get_manager_list']) {
      expect(await envelope(path, {}), path).toEqual(INVALID);
      expect(await envelope(path, { chatroomId: '' }), path).toEqual(INVALID);
    }
    expect(await envelope('/chatroom/info', { chatroomId: fresh('ghost') })).toEqual(NOT_EXIST);
  });

  it('del: the room ends (state 2, fresh updateDt) and stays; its members are gone; an unknown id answers 0; create revives it', async () => {
    const [a] = [fresh('a')];
    await createUsers(t.admin, a);
    const id = fresh('room');
    await t.admin.ok('/chatroom/create', { chatroomId: id, title: 'Doomed' });
    const da = await joined(a, id);
    expect((await t.admin.ok<{ memberCount: number }>('/chatroom/info', { chatroomId: id })).memberCount).toBe(1);
    const before = await t.admin.ok<{ updateDt: number }>('/chatroom/info', { chatroomId: id });
    await expectBareOk(t.admin, '/chatroom/del', { chatroomId: id });
    await da.waitType('chatroom_left');
    const after = await t.admin.ok<Record<string, unknown>>('/chatroom/info', { chatroomId: id });
    expect(after).toMatchObject({ state: 2, memberCount: 0, title: 'Doomed' });
    expect(after['updateDt'] as number).toBeGreaterThanOrEqual(before.updateDt);
    await expectBareOk(t.admin, '/chatroom/del', { chatroomId: fresh('never') });
    await t.admin.ok('/chatroom/create', { chatroomId: id, title: 'Back' });
    expect(await t.admin.ok('/chatroom/info', { chatroomId: id })).toMatchObject({ state: 0, title: 'Back' });
  });
});

describe('chatroom/members and user_chatroom', () => {
  it('members lists the users in the room, first joined first ({list}); 253 for an empty or unknown room', async () => {
    const [a, b] = [fresh('a'), fresh('b')];
    await createUsers(t.admin, a, b);
    const id = fresh('room');
    await t.admin.ok('/chatroom/create', { chatroomId: id, title: 'R' });
    expect(await envelope('/chatroom/members', { chatroomId: id })).toEqual(NOT_EXIST);
    expect(await envelope('/chatroom/members', { chatroomId: fresh('ghost') })).toEqual(NOT_EXIST);
    await joined(b, id);
    await joined(a, id);
    expect(await envelope('/chatroom/members', { chatroomId: id })).toEqual({ code: 0, msg: 'success', result: { list: [b, a] } });
  });

  it('user_chatroom: {userId, chatroomId, clientId, platform} of the joined device; 253 when in none; 251 without userId', async () => {
    const a = fresh('a');
    await createUsers(t.admin, a);
    const id = fresh('room');
    await t.admin.ok('/chatroom/create', { chatroomId: id, title: 'R' });
    expect(await envelope('/chatroom/user_chatroom', { userId: a })).toEqual(NOT_EXIST);
    await joined(a, id, 'a-android', 2);
    expect(await envelope('/chatroom/user_chatroom', { userId: a })).toEqual({ code: 0, msg: 'success', result: { userId: a, chatroomId: id, clientId: 'a-android', platform: 2 } });
    expect(await envelope('/chatroom/user_chatroom', {})).toEqual(INVALID);
    expect(await envelope('/chatroom/user_chatroom', { userId: '' })).toEqual(INVALID);
  });
});

describe('professional-edition routes: blacklist, managers, mute', () => {
  it('set_black_status / get_black_status: {infos:[{userId, state, expiredTime}]} of the entries in force; status 0 lifts', async () => {
    const id = fresh('room');
    await t.admin.ok('/chatroom/create', { chatroomId: id, title: 'R' });
    const [u1, u2, u3] = [fresh('u'), fresh('u'), fresh('u')];
    const future = Date.now() + 3_600_000;
    await expectBareOk(t.admin, '/chatroom/set_black_status', { chatroomId: id, userId: u1, status: 1, expiredTime: 0 });
    await expectBareOk(t.admin, '/chatroom/set_black_status', { chatroomId: id, userId: u2, status: 2, expiredTime: future });
    // Already expired: stored, but not in force.
    await expectBareOk(t.admin, '/chatroom/set_black_status', { chatroomId: id, userId: u3, status: 2, expiredTime: Date.now() - 1 });
    const r = await t.admin.ok<{ infos: Array<{ userId: string; state: number; expiredTime: number }> }>('/chatroom/get_black_status', { chatroomId: id });
    expect(r.infos.sort((x, y) => x.userId.localeCompare(y.userId))).toEqual(
      [
        { userId: u1, state: 1, expiredTime: 0 },
        { userId: u2, state: 2, expiredTime: future },
      ].sort((x, y) => x.userId.localeCompare(y.userId)),
    );
    await expectBareOk(t.admin, '/chatroom/set_black_status', { chatroomId: id, userId: u1, status: 0 });
    expect((await t.admin.ok<{ infos: unknown[] }>('/chatroom/get_black_status', { chatroomId: id })).infos).toEqual([{ userId: u2, state: 2, expiredTime: future }]);
    // Failures.
    expect(await envelope('/chatroom/set_black_status', { chatroomId: fresh('ghost'), userId: u1, status: 1 })).toEqual(NOT_EXIST);
    expect(await envelope('/chatroom/get_black_status', { chatroomId: fresh('ghost') })).toEqual(NOT_EXIST);
    for (const body of [
      { chatroomId: id, userId: u1 },
      { chatroomId: id, userId: u1, status: 3 },
      { chatroomId: id, userId: u1, status: -1 },
      { chatroomId: id, userId: '', status: 1 },
      { chatroomId: id, userId: u1, status: 1, expiredTime: -5 },
      { chatroomId: id, userId: u1, status: 1, expiredTime: 2 ** 53 },
    ]) {
      expect(await envelope('/chatroom/set_black_status', body), JSON.stringify(body)).toEqual(INVALID);
    }
  });

  it('set_manager / get_manager_list: {list}; status 0 removes; 251 for another status; 253 for an unknown room', async () => {
    const id = fresh('room');
    await t.admin.ok('/chatroom/create', { chatroomId: id, title: 'R' });
    expect(await envelope('/chatroom/get_manager_list', { chatroomId: id })).toEqual({ code: 0, msg: 'success', result: { list: [] } });
    const [m1, m2] = [fresh('m'), fresh('m')];
    await expectBareOk(t.admin, '/chatroom/set_manager', { chatroomId: id, userId: m1, status: 1 });
    await expectBareOk(t.admin, '/chatroom/set_manager', { chatroomId: id, userId: m2, status: 1 });
    await expectBareOk(t.admin, '/chatroom/set_manager', { chatroomId: id, userId: m2, status: 1 });
    expect((await t.admin.ok<{ list: string[] }>('/chatroom/get_manager_list', { chatroomId: id })).list.sort()).toEqual([m1, m2].sort());
    await expectBareOk(t.admin, '/chatroom/set_manager', { chatroomId: id, userId: m1, status: 0 });
    expect((await t.admin.ok<{ list: string[] }>('/chatroom/get_manager_list', { chatroomId: id })).list).toEqual([m2]);
    expect(await envelope('/chatroom/set_manager', { chatroomId: id, userId: m1, status: 2 })).toEqual(INVALID);
    expect(await envelope('/chatroom/set_manager', { chatroomId: fresh('ghost'), userId: m1, status: 1 })).toEqual(NOT_EXIST);
    expect(await envelope('/chatroom/get_manager_list', { chatroomId: fresh('ghost') })).toEqual(NOT_EXIST);
  });

  it('mute_all: status 1 / 0; 251 for another status; 253 for an unknown room', async () => {
    const id = fresh('room');
    await t.admin.ok('/chatroom/create', { chatroomId: id, title: 'R' });
    await expectBareOk(t.admin, '/chatroom/mute_all', { chatroomId: id, status: 1 });
    await expectBareOk(t.admin, '/chatroom/mute_all', { chatroomId: id, status: 0 });
    expect(await envelope('/chatroom/mute_all', { chatroomId: id, status: 5 })).toEqual(INVALID);
    expect(await envelope('/chatroom/mute_all', { chatroomId: id })).toEqual(INVALID);
    expect(await envelope('/chatroom/mute_all', { chatroomId: fresh('ghost'), status: 1 })).toEqual(NOT_EXIST);
  });
});
