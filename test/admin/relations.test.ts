import { describe, expect, it } from 'vitest';
import { fresh } from '../helpers/messages.js';
import { useServer } from '../helpers/use-server.js';

/**
 * Wildfire's RelationAdmin, SensitiveAdmin and user settings over signed HTTP, as its Java SDK calls
 * them: friend/*, blacklist/*, relation/get, sensitive/*, user/put_setting, user/get_setting,
 * user/session_list — each result shape and each failure code. Behaviour on devices:
 * test/ws/relations.test.ts.
 */

const t = useServer();
const OK = { code: 0, msg: 'success' };
const INVALID = { code: 251, msg: 'Invalid parameter' };

async function envelope(path: string, body: unknown): Promise<unknown> {
  const r = await t.admin.post(path, body);
  expect(r.status).toBe(200);
  return r.body;
}

describe('friend/status and friend/list', () => {
  it('status 0 makes both users friends, 1 undoes it both ways; list answers {list} oldest first', async () => {
    const [a, b, c] = await t.users('a', 'b', 'c');
    expect(await envelope('/friend/status', { userId: a, friendUid: b, status: 0, extra: 'x' })).toEqual(OK);
    await t.admin.ok('/friend/status', { userId: a, friendUid: c, status: 0 });
    expect(await envelope('/friend/list', { userId: a })).toEqual({ ...OK, result: { list: [b, c] } });
    expect(await t.admin.ok('/friend/list', { userId: b })).toEqual({ list: [a] });
    await t.admin.ok('/friend/status', { userId: b, friendUid: a, status: 1 });
    expect(await t.admin.ok('/friend/list', { userId: a })).toEqual({ list: [c] });
    expect(await t.admin.ok('/friend/list', { userId: b })).toEqual({ list: [] });
  });

  it('users need not exist (as in Wildfire); an unknown user has no friends', async () => {
    expect(await envelope('/friend/status', { userId: fresh('ghost'), friendUid: fresh('ghost'), status: 0 })).toEqual(OK);
    expect(await t.admin.ok('/friend/list', { userId: fresh('nobody') })).toEqual({ list: [] });
  });

  it('251 for a missing or empty id, a status other than 0, 1, 2, a mistyped field', async () => {
    for (const body of [{ friendUid: 'b', status: 0 }, { userId: '', friendUid: 'b', status: 0 }, { userId: 'a', friendUid: 'b', status: 3 }, { userId: 'a', friendUid: 'b', status: '0' }, { userId: 'a', friendUid: 'b' }]) {
      expect(await envelope('/friend/status', body)).toEqual(INVALID);
    }
    expect(await envelope('/friend/list', {})).toEqual(INVALID);
  });
});

describe('friend/set_alias, get_alias, set_extra and relation/get', () => {
  it('alias and extra are the operator’s own; relation/get gives Wildfire’s RelationPojo', async () => {
    const [a, b] = await t.users('a', 'b');
    await t.admin.ok('/friend/status', { userId: a, friendUid: b, status: 0 });
    expect(await envelope('/friend/set_alias', { operator: a, targetId: b, alias: 'Bee' })).toEqual(OK);
    expect(await envelope('/friend/get_alias', { operator: a, targetId: b })).toEqual({ ...OK, result: { operator: a, targetId: b, alias: 'Bee' } });
    expect(await envelope('/friend/set_extra', { operator: a, targetId: b, extra: '{"k":1}' })).toEqual(OK);
    expect(await envelope('/relation/get', { first: a, second: b })).toEqual({
      ...OK,
      result: { userId: a, targetId: b, isFriend: true, isBlacked: false, alias: 'Bee', extra: '{"k":1}' },
    });
    // b keeps nothing of a's alias.
    expect(await t.admin.ok('/friend/get_alias', { operator: b, targetId: a })).toEqual({ operator: b, targetId: a, alias: '' });
  });

  it('without a relation: get_alias has no alias, relation/get is not friends and has no alias or extra', async () => {
    const [a, b] = [fresh('a'), fresh('b')];
    expect(await t.admin.ok('/friend/get_alias', { operator: a, targetId: b })).toEqual({ operator: a, targetId: b });
    expect(await t.admin.ok('/relation/get', { first: a, second: b })).toEqual({ userId: a, targetId: b, isFriend: false, isBlacked: false });
  });

  it('setting an alias of a stranger does not make it a friend', async () => {
    const [a, b] = await t.users('a', 'b');
    await t.admin.ok('/friend/set_alias', { operator: a, targetId: b, alias: 'x' });
    expect(await t.admin.ok('/relation/get', { first: a, second: b })).toMatchObject({ isFriend: false, alias: 'x', extra: '' });
    expect(await t.admin.ok('/friend/list', { userId: a })).toEqual({ list: [] });
  });

  it('251 for missing ids and oversized texts', async () => {
    expect(await envelope('/friend/set_alias', { operator: 'a', alias: 'x' })).toEqual(INVALID);
    expect(await envelope('/friend/set_alias', { operator: 'a', targetId: 'b', alias: 'x'.repeat(1025) })).toEqual(INVALID);
    expect(await envelope('/friend/get_alias', { targetId: 'b' })).toEqual(INVALID);
    expect(await envelope('/friend/set_extra', { operator: 'a', targetId: 'b', extra: 'x'.repeat(65537) })).toEqual(INVALID);
    expect(await envelope('/relation/get', { first: 'a' })).toEqual(INVALID);
  });
});

describe('blacklist/status and blacklist/list', () => {
  it('2 blacklists, 1 or 0 takes off; the blacklist is one-sided and leaves friendship alone', async () => {
    const [a, b, c] = await t.users('a', 'b', 'c');
    await t.admin.ok('/friend/status', { userId: a, friendUid: b, status: 0 });
    expect(await envelope('/blacklist/status', { userId: a, targetUid: b, status: 2 })).toEqual(OK);
    await t.admin.ok('/blacklist/status', { userId: a, targetUid: c, status: 2 });
    expect(await envelope('/blacklist/list', { userId: a })).toEqual({ ...OK, result: { list: [b, c] } });
    expect(await t.admin.ok('/blacklist/list', { userId: b })).toEqual({ list: [] });
    expect(await t.admin.ok('/relation/get', { first: a, second: b })).toMatchObject({ isFriend: true, isBlacked: true });
    await t.admin.ok('/blacklist/status', { userId: a, targetUid: b, status: 1 });
    await t.admin.ok('/blacklist/status', { userId: a, targetUid: c, status: 0 });
    expect(await t.admin.ok('/blacklist/list', { userId: a })).toEqual({ list: [] });
    expect(await t.admin.ok('/friend/list', { userId: a })).toEqual({ list: [b] });
  });

  it('251 for another status or a missing id', async () => {
    expect(await envelope('/blacklist/status', { userId: 'a', targetUid: 'b', status: 3 })).toEqual(INVALID);
    expect(await envelope('/blacklist/status', { userId: 'a', status: 2 })).toEqual(INVALID);
    expect(await envelope('/blacklist/list', { userId: '' })).toEqual(INVALID);
  });
});

describe('friend/send_request', () => {
  it('records a request; a repeat is 16 unless forced; friends already 23; blacklisted by the target 246 unless forced', async () => {
    const [a, b, c] = await t.users('a', 'b', 'c');
    expect(await envelope('/friend/send_request', { userId: a, friendUid: b, reason: 'hi', force: false })).toEqual(OK);
    expect(await envelope('/friend/send_request', { userId: a, friendUid: b, reason: 'again' })).toEqual({ code: 16, msg: 'already send request' });
    expect(await envelope('/friend/send_request', { userId: a, friendUid: b, reason: 'again', force: true })).toEqual(OK);
    await t.admin.ok('/friend/status', { userId: a, friendUid: c, status: 0 });
    expect(await envelope('/friend/send_request', { userId: a, friendUid: c, force: true })).toEqual({ code: 23, msg: 'already friends' });
    await t.admin.ok('/blacklist/status', { userId: c, targetUid: b, status: 2 });
    expect(await envelope('/friend/send_request', { userId: b, friendUid: c })).toEqual({ code: 246, msg: 'user in black list' });
    expect(await envelope('/friend/send_request', { userId: b, friendUid: c, force: true })).toEqual(OK);
  });

  it('251 for a request to oneself, a missing id, a mistyped force', async () => {
    const [a] = await t.users('a');
    expect(await envelope('/friend/send_request', { userId: a, friendUid: a })).toEqual(INVALID);
    expect(await envelope('/friend/send_request', { userId: a })).toEqual(INVALID);
    expect(await envelope('/friend/send_request', { userId: a, friendUid: 'b', force: 'yes' })).toEqual(INVALID);
  });
});

describe('sensitive/add, del, query', () => {
  it('words are stored lower-cased, each once; query lists them sorted (the SDK posts no body)', async () => {
    const w1 = fresh('Bad');
    const w2 = fresh('evil');
    expect(await envelope('/sensitive/add', { words: [w1, w2, w1.toUpperCase()] })).toEqual(OK);
    const r = await t.admin.post<{ words: string[] }>('/sensitive/query', undefined, { rawBody: '' });
    expect(r.body.code).toBe(0);
    expect(r.body.result?.words).toEqual(expect.arrayContaining([w1.toLowerCase(), w2]));
    expect(r.body.result?.words).toEqual([...(r.body.result?.words ?? [])].sort());
    expect(await envelope('/sensitive/del', { words: [w1.toUpperCase()] })).toEqual(OK);
    const after = await t.admin.ok<{ words: string[] }>('/sensitive/query', {});
    expect(after.words).not.toContain(w1.toLowerCase());
    expect(after.words).toContain(w2);
    await t.admin.ok('/sensitive/del', { words: [w2] });
  });

  it('251 for no words, an empty word, a word over 256 characters, more than 2000 words', async () => {
    for (const body of [{}, { words: [] }, { words: [''] }, { words: ['x'.repeat(257)] }, { words: Array.from({ length: 2001 }, (_, i) => `w${i}`) }, { words: 'bad' }]) {
      expect(await envelope('/sensitive/add', body)).toEqual(INVALID);
    }
    expect(await envelope('/sensitive/del', { words: [] })).toEqual(INVALID);
  });
});

describe('user/put_setting and user/get_setting', () => {
  it('round trip by (userId, scope, key); the SDK’s conversation top is scope 3, key type-line-target, value "1"/"0"', async () => {
    const [a] = await t.users('a');
    const key = `1-0-${fresh('g')}`;
    expect(await envelope('/user/put_setting', { userId: a, scope: 3, key, value: '1' })).toEqual(OK);
    expect(await envelope('/user/get_setting', { userId: a, scope: 3, key })).toEqual({ ...OK, result: { userId: a, scope: 3, key, value: '1' } });
    await t.admin.ok('/user/put_setting', { userId: a, scope: 3, key, value: '0' });
    expect(await t.admin.ok('/user/get_setting', { userId: a, scope: 3, key })).toMatchObject({ value: '0' });
    // Another scope, another user: separate; never set: value "".
    expect(await t.admin.ok('/user/get_setting', { userId: a, scope: 1, key })).toEqual({ userId: a, scope: 1, key, value: '' });
    // Global scopes use the empty key.
    await t.admin.ok('/user/put_setting', { userId: a, scope: 2, key: '', value: '1' });
    expect(await t.admin.ok('/user/get_setting', { userId: a, scope: 2, key: '' })).toMatchObject({ value: '1' });
  });

  it('251 for a missing user id, scope or key, a key over 256 characters, a value over 64 KiB', async () => {
    for (const body of [{ scope: 3, key: 'k', value: '1' }, { userId: 'a', key: 'k', value: '1' }, { userId: 'a', scope: 3, value: '1' }, { userId: 'a', scope: 3, key: 'k'.repeat(257) }, { userId: 'a', scope: 3, key: 'k', value: 'v'.repeat(65537) }, { userId: 'a', scope: 1.5, key: 'k' }]) {
      expect(await envelope('/user/put_setting', body)).toEqual(INVALID);
    }
    expect(await envelope('/user/get_setting', { userId: 'a', scope: 3 })).toEqual(INVALID);
  });
});

describe('user/session_list', () => {
  it('every client holding a live token, with isOnline for the connected ones', async () => {
    const [a] = await t.users('a');
    await t.token(a, 'a-pc', 3);
    const phone = await t.device(a, 'a-phone', { platform: 1 });
    const r = (await envelope('/user/session_list', { userId: a })) as { code: number; result: { userSessions: Array<Record<string, unknown>> } };
    expect(r.code).toBe(0);
    expect(r.result.userSessions).toEqual([
      { userId: a, clientId: 'a-pc', platform: 3, pushType: 0, isOnline: false },
      { userId: a, clientId: 'a-phone', platform: 1, pushType: 0, isOnline: true },
    ]);
    await phone.close();
    await t.admin.ok('/user/kickoff_client', { first: a, second: 'a-pc' });
    const after = await t.admin.ok<{ userSessions: Array<Record<string, unknown>> }>('/user/session_list', { userId: a });
    expect(after.userSessions.map((s) => s['clientId'])).toEqual(['a-phone']);
    expect(await t.admin.ok('/user/session_list', { userId: fresh('nobody') })).toEqual({ userSessions: [] });
  });

  it('251 without a user id', async () => {
    expect(await envelope('/user/session_list', {})).toEqual(INVALID);
  });
});
