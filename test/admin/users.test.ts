import { describe, expect, it } from 'vitest';
import { useServer } from '../helpers/use-server.js';

/** Wildfire's InputOutputUserInfo as get_info / all answer it. */
interface UserInfo {
  userId: string;
  name: string;
  displayName: string;
  portrait: string;
  gender: number;
  mobile: string;
  email: string;
  address: string;
  company: string;
  social: string;
  extra: string;
  type: number;
  updateDt: number;
}

const USER_KEYS = ['address', 'company', 'displayName', 'email', 'extra', 'gender', 'mobile', 'name', 'portrait', 'social', 'type', 'updateDt', 'userId'];
const INVALID = { code: 251, msg: 'Invalid parameter' };
const NOT_EXIST = { code: 253, msg: 'not exist' };
const NAME_TAKEN = { code: 4, msg: '用户名不能重复，必须唯一！！！' };

const t = useServer();
let seq = 0;
/** A fresh id per call, so tests never share users. */
const fresh = (p: string) => `${p}-${++seq}`;

const info = (userId: string) => t.admin.ok<UserInfo>('/user/get_info', { userId });
const envelope = async (path: string, body: unknown) => (await t.admin.post(path, body)).body;

/** Every field of a user set, to see exactly which ones an update touches. */
function fullUser(userId: string, tag: string) {
  return {
    userId,
    name: `name-${userId}-${tag}`,
    displayName: `display-${tag}`,
    portrait: `https://img.example/${tag}.png`,
    gender: tag === 'old' ? 1 : 2,
    mobile: `mobile-${userId}-${tag}`,
    email: `${userId}-${tag}@example.com`,
    address: `address-${tag}`,
    company: `company-${tag}`,
    social: `social-${tag}`,
    extra: `{"tag":"${tag}"}`,
  };
}

describe('user/create', () => {
  it('answers {userId, name}; get_info gives every field, "" for unset strings and numbers for gender/type/updateDt', async () => {
    const id = fresh('alice');
    const before = Date.now();
    const r = await t.admin.post('/user/create', { userId: id, name: `n-${id}`, displayName: 'Alice', mobile: `m-${id}` });
    expect(r.body).toEqual({ code: 0, msg: 'success', result: { userId: id, name: `n-${id}` } });

    const u = await info(id);
    expect(Object.keys(u).sort()).toEqual(USER_KEYS);
    expect(u).toEqual({
      userId: id,
      name: `n-${id}`,
      displayName: 'Alice',
      portrait: '',
      gender: 0,
      mobile: `m-${id}`,
      email: '',
      address: '',
      company: '',
      social: '',
      extra: '',
      type: 0,
      updateDt: expect.any(Number),
    });
    expect(Number.isInteger(u.updateDt)).toBe(true);
    expect(u.updateDt).toBeGreaterThanOrEqual(before);
    expect(u.updateDt).toBeLessThanOrEqual(Date.now());
  });

  it('stores every Wildfire user field, including gender and type, from the body the SDK sends', async () => {
    const id = fresh('full');
    const input = { ...fullUser(id, 'old'), type: 1 };
    // The Java SDK also sends password and the primitive updateDt (0).
    await t.admin.ok('/user/create', { ...input, password: 'secret', updateDt: 0 });
    expect(await info(id)).toEqual({ ...input, updateDt: expect.any(Number) });
    expect((await info(id)).updateDt).toBeGreaterThan(0);
  });

  it('generates a userId when none is given (absent, null or "")', async () => {
    const ids: string[] = [];
    for (const userId of [undefined, null, '']) {
      const name = fresh('generated');
      const r = await t.admin.ok<{ userId: string; name: string }>('/user/create', { userId, name });
      expect(typeof r.userId).toBe('string');
      expect(r.userId.length).toBeGreaterThan(0);
      expect(r.name).toBe(name);
      expect((await info(r.userId)).name).toBe(name);
      ids.push(r.userId);
    }
    expect(new Set(ids).size).toBe(3);
  });

  it('gives an empty displayName the name (Wildfire)', async () => {
    const id = fresh('nodisplay');
    await t.admin.ok('/user/create', { userId: id, name: `n-${id}`, displayName: '' });
    expect((await info(id)).displayName).toBe(`n-${id}`);
  });

  it('is create-or-update: the same userId updates the user, and a changed name frees the old one', async () => {
    const id = fresh('upsert');
    await t.admin.ok('/user/create', { userId: id, name: `n1-${id}`, displayName: 'First', email: `${id}@a.example` });
    const r = await t.admin.ok('/user/create', { userId: id, name: `n2-${id}`, displayName: 'Second', email: `${id}@b.example` });
    expect(r).toEqual({ userId: id, name: `n2-${id}` });
    const u = await info(id);
    expect(u).toMatchObject({ userId: id, name: `n2-${id}`, displayName: 'Second', email: `${id}@b.example` });
    expect((await t.admin.post('/user/get_info', { name: `n1-${id}` })).body).toEqual(NOT_EXIST);
    expect((await t.admin.ok<UserInfo>('/user/get_info', { name: `n2-${id}` })).userId).toBe(id);
    // Still one user: the old name can go to somebody else now.
    await t.admin.ok('/user/create', { userId: fresh('other'), name: `n1-${id}` });
  });

  it('refuses a name that belongs to another user with code 4 and Wildfire\'s message, changing nothing', async () => {
    const a = fresh('owner');
    const b = fresh('thief');
    await t.admin.createUser(a, { name: `taken-${a}` });
    expect(await envelope('/user/create', { userId: b, name: `taken-${a}` })).toEqual(NAME_TAKEN);
    expect((await t.admin.post('/user/get_info', { userId: b })).body).toEqual(NOT_EXIST);
    expect((await t.admin.ok<UserInfo>('/user/get_info', { name: `taken-${a}` })).userId).toBe(a);
  });

  it('answers 251 for a missing or mistyped field and for a body that is not a JSON object', async () => {
    const id = fresh('bad');
    for (const body of [
      { userId: id },
      { userId: id, name: '' },
      { userId: id, name: null },
      { userId: id, name: 42 },
      { userId: 7, name: `n-${id}` },
      { userId: id, name: `n-${id}`, gender: 'male' },
      { userId: id, name: `n-${id}`, type: 99 },
    ]) {
      expect(await envelope('/user/create', body), JSON.stringify(body)).toEqual(INVALID);
    }
    for (const rawBody of ['{"userId":', '[1,2]', '"text"']) {
      expect((await t.admin.post('/user/create', undefined, { rawBody })).body, rawBody).toEqual(INVALID);
    }
    expect((await t.admin.post('/user/get_info', { userId: id })).body).toEqual(NOT_EXIST);
  });
});

describe('user/update', () => {
  const bits: Array<[keyof ReturnType<typeof fullUser>, number]> = [
    ['displayName', 0x01],
    ['portrait', 0x02],
    ['gender', 0x04],
    ['mobile', 0x08],
    ['email', 0x10],
    ['address', 0x20],
    ['company', 0x40],
    ['social', 0x80],
    ['extra', 0x100],
    ['name', 0x200],
  ];

  it('changes only the field of each flag bit (0x01 displayName … 0x200 name) and answers no result', async () => {
    for (const [field, bit] of bits) {
      const id = fresh(`flag-${field}`);
      const old = fullUser(id, 'old');
      const neu = fullUser(id, 'new');
      await t.admin.ok('/user/create', old);
      const before = (await info(id)).updateDt;
      const r = await t.admin.post('/user/update', { flag: bit, userInfo: neu });
      expect(r.body, field).toEqual({ code: 0, msg: 'success' });
      const u = await info(id);
      expect(u, field).toEqual({ ...old, [field]: neu[field], type: 0, updateDt: expect.any(Number) });
      expect(u.updateDt).toBeGreaterThanOrEqual(before);
    }
  });

  it('applies several bits at once and leaves the rest alone', async () => {
    const id = fresh('multi');
    const old = fullUser(id, 'old');
    const neu = fullUser(id, 'new');
    await t.admin.ok('/user/create', old);
    await t.admin.ok('/user/update', { flag: 0x01 | 0x10 | 0x200, userInfo: neu });
    expect(await info(id)).toEqual({
      ...old,
      displayName: neu.displayName,
      email: neu.email,
      name: neu.name,
      type: 0,
      updateDt: expect.any(Number),
    });
    expect((await t.admin.ok<UserInfo>('/user/get_info', { name: neu.name })).userId).toBe(id);
  });

  it('clears a flagged field that userInfo leaves out ("" for strings, 0 for gender)', async () => {
    const id = fresh('clear');
    const old = fullUser(id, 'old');
    await t.admin.ok('/user/create', old);
    await t.admin.ok('/user/update', { flag: 0x08 | 0x04, userInfo: { userId: id } });
    expect(await info(id)).toEqual({ ...old, mobile: '', gender: 0, type: 0, updateDt: expect.any(Number) });
  });

  it('refuses a taken name with code 4, and an empty name under the name bit with 251', async () => {
    const a = fresh('upd-a');
    const b = fresh('upd-b');
    await t.admin.createUser(a);
    await t.admin.createUser(b);
    expect(await envelope('/user/update', { flag: 0x200, userInfo: { userId: b, name: `name-${a}` } })).toEqual(NAME_TAKEN);
    expect(await envelope('/user/update', { flag: 0x200, userInfo: { userId: b, name: '' } })).toEqual(INVALID);
    expect((await info(b)).name).toBe(`name-${b}`);
  });

  it('answers 251 for flag 0, a missing or mistyped flag, or a missing userInfo / userId; 253 for an unknown user', async () => {
    const id = fresh('upd-bad');
    await t.admin.createUser(id);
    for (const body of [
      { flag: 0, userInfo: { userId: id, displayName: 'x' } },
      { flag: -1, userInfo: { userId: id, displayName: 'x' } },
      { userInfo: { userId: id, displayName: 'x' } },
      { flag: '1', userInfo: { userId: id, displayName: 'x' } },
      { flag: 1 },
      { flag: 1, userInfo: { displayName: 'x' } },
      { flag: 1, userInfo: { userId: '', displayName: 'x' } },
    ]) {
      expect(await envelope('/user/update', body), JSON.stringify(body)).toEqual(INVALID);
    }
    expect((await info(id)).displayName).toBe(id);
    expect(await envelope('/user/update', { flag: 1, userInfo: { userId: fresh('ghost'), displayName: 'x' } })).toEqual(NOT_EXIST);
  });
});

describe('user/destroy', () => {
  it('removes the user: get_info 253, gone from its groups, no token, name free again', async () => {
    const owner = fresh('d-owner');
    const victim = fresh('d-victim');
    const gid = fresh('d-group');
    await t.admin.createUser(owner);
    await t.admin.createUser(victim);
    await t.admin.createGroup(gid, owner, [victim]);
    await t.admin.ok('/user/get_token', { userId: victim, clientId: 'c1', platform: 2 });

    expect(await envelope('/user/destroy', { userId: victim })).toEqual({ code: 0, msg: 'success' });
    expect(await envelope('/user/get_info', { userId: victim })).toEqual(NOT_EXIST);
    const { members } = await t.admin.ok<{ members: Array<{ member_id: string }> }>('/group/member/list', { groupId: gid });
    expect(members.map((m) => m.member_id)).toEqual([owner]);
    // Wildfire issues a token for any id; it is of no use until the id is a user again (wildfire-semantics.test.ts).
    expect(await t.admin.code('/user/get_token', { userId: victim, clientId: 'c1' })).toBe(0);
    expect(await envelope('/group/of_user', { userId: victim })).toEqual(NOT_EXIST);
    // A message to the destroyed user is refused, and its name can be reused.
    expect(await t.admin.code('/message/send', { sender: owner, conv: { type: 0, target: victim, line: 0 }, payload: { type: 1 } })).toBe(253);
    await t.admin.ok('/user/create', { userId: fresh('reuse'), name: `name-${victim}` });
  });

  it('answers 0 for an unknown user (as Wildfire) and 251 without a userId', async () => {
    expect(await envelope('/user/destroy', { userId: fresh('ghost') })).toEqual({ code: 0, msg: 'success' });
    expect(await envelope('/user/destroy', {})).toEqual(INVALID);
    expect(await envelope('/user/destroy', { userId: '' })).toEqual(INVALID);
  });
});

describe('user/get_info and get_info_by_email', () => {
  it('finds a user by userId, name, mobile or email, userId first', async () => {
    const a = fresh('look-a');
    const b = fresh('look-b');
    await t.admin.ok('/user/create', fullUser(a, 'old'));
    await t.admin.ok('/user/create', fullUser(b, 'old'));
    const full = await info(a);
    expect(await t.admin.ok('/user/get_info', { name: `name-${a}-old` })).toEqual(full);
    expect(await t.admin.ok('/user/get_info', { mobile: `mobile-${a}-old` })).toEqual(full);
    expect(await t.admin.ok('/user/get_info', { email: `${a}-old@example.com` })).toEqual(full);
    expect(await t.admin.ok('/user/get_info_by_email', { email: `${a}-old@example.com` })).toEqual({ userInfos: [full] });
    expect(await t.admin.ok('/user/get_info_by_email', `${a}-old@example.com`), 'the bare JSON string the SDK posts').toEqual({ userInfos: [full] });
    // Precedence: userId, then name, then mobile.
    expect((await t.admin.ok<UserInfo>('/user/get_info', { userId: a, name: `name-${b}-old` })).userId).toBe(a);
    expect((await t.admin.ok<UserInfo>('/user/get_info', { name: `name-${b}-old`, mobile: `mobile-${a}-old` })).userId).toBe(b);
  });

  it('answers 253 for an unknown user and 251 without any key or with a mistyped one', async () => {
    for (const body of [{ userId: 'nobody-x' }, { name: 'nobody-x' }, { mobile: 'nobody-x' }, { email: 'nobody@x' }]) {
      expect(await envelope('/user/get_info', body), JSON.stringify(body)).toEqual(NOT_EXIST);
    }
    expect(await envelope('/user/get_info_by_email', { email: 'nobody@x' })).toEqual(NOT_EXIST);
    for (const body of [{}, { userId: '' }, { userId: 5 }]) {
      expect(await envelope('/user/get_info', body), JSON.stringify(body)).toEqual(INVALID);
    }
    expect(await envelope('/user/get_info_by_email', {})).toEqual(INVALID);
  });
});

describe('user/get_token', () => {
  it('answers {userId, token} with a fresh token string each time, platform optional', async () => {
    const id = fresh('tok');
    await t.admin.createUser(id);
    const r = await t.admin.post<{ userId: string; token: string }>('/user/get_token', { userId: id, clientId: 'device-1', platform: 2 });
    expect(r.body.code).toBe(0);
    expect(Object.keys(r.body.result!).sort()).toEqual(['token', 'userId']);
    expect(r.body.result!.userId).toBe(id);
    expect(typeof r.body.result!.token).toBe('string');
    expect(r.body.result!.token.length).toBeGreaterThanOrEqual(16);
    const again = await t.admin.ok<{ token: string }>('/user/get_token', { userId: id, clientId: 'device-1' });
    expect(again.token).not.toBe(r.body.result!.token);
  });

  it('is refused with 245 for a blocked user and works again once unblocked', async () => {
    const id = fresh('tok-blocked');
    await t.admin.createUser(id);
    await t.admin.ok('/user/update_block_status', { userId: id, status: 2 });
    expect(await t.admin.code('/user/get_token', { userId: id, clientId: 'c', platform: 1 })).toBe(245);
    await t.admin.ok('/user/update_block_status', { userId: id, status: 0 });
    expect((await t.admin.ok<{ token: string }>('/user/get_token', { userId: id, clientId: 'c', platform: 1 })).token).toBeTruthy();
  });

  it('answers 0 for a user id never created (as Wildfire) and 251 for a missing userId / clientId or a mistyped platform', async () => {
    expect(await t.admin.code('/user/get_token', { userId: fresh('ghost'), clientId: 'c', platform: 1 })).toBe(0);
    const id = fresh('tok-bad');
    await t.admin.createUser(id);
    for (const body of [{ clientId: 'c' }, { userId: id }, { userId: id, clientId: '' }, { userId: id, clientId: 'c', platform: 'ios' }]) {
      expect(await envelope('/user/get_token', body), JSON.stringify(body)).toEqual(INVALID);
    }
  });
});

describe('user block status', () => {
  it('round-trips through update_block_status, check_block_status and get_blocked_list', async () => {
    const id = fresh('blk');
    await t.admin.createUser(id);
    const list = async () => (await t.admin.ok<{ statusList: Array<{ userId: string; status: number }> }>('/user/get_blocked_list', {})).statusList;
    const check = async () => t.admin.ok<{ status: number }>('/user/check_block_status', { userId: id });

    expect(await check()).toEqual({ status: 0 });
    expect((await list()).some((e) => e.userId === id)).toBe(false);

    expect(await envelope('/user/update_block_status', { userId: id, status: 2 })).toEqual({ code: 0, msg: 'success' });
    expect(await check()).toEqual({ status: 2 });
    expect(await list()).toContainEqual({ userId: id, status: 2 });

    await t.admin.ok('/user/update_block_status', { userId: id, status: 1 });
    expect(await check()).toEqual({ status: 1 });
    expect(await list()).toContainEqual({ userId: id, status: 1 });

    await t.admin.ok('/user/update_block_status', { userId: id, status: 0 });
    expect(await check()).toEqual({ status: 0 });
    expect((await list()).some((e) => e.userId === id)).toBe(false);
  });

  it('serves get_blocked_list for the empty body the SDK sends', async () => {
    const r = await t.admin.post<{ statusList: unknown[] }>('/user/get_blocked_list', undefined);
    expect(r.body.code).toBe(0);
    expect(Array.isArray(r.body.result!.statusList)).toBe(true);
  });

  it('trusts an admin send from a blocked user (as Wildfire; admin.strictSend refuses it with 245, messages-send.test.ts)', async () => {
    const a = fresh('blk-sender');
    const b = fresh('blk-peer');
    await t.admin.createUser(a);
    await t.admin.createUser(b);
    const send = () => t.admin.code('/message/send', { sender: a, conv: { type: 0, target: b, line: 0 }, payload: { type: 1, searchableContent: 'hi' } });
    expect(await send()).toBe(0);
    await t.admin.ok('/user/update_block_status', { userId: a, status: 2 });
    expect(await send()).toBe(0);
  });

  it('answers 251 for a bad status or missing userId, 253 for an unknown user', async () => {
    const id = fresh('blk-bad');
    await t.admin.createUser(id);
    for (const body of [{ userId: id, status: 3 }, { userId: id }, { userId: id, status: '2' }, { status: 2 }]) {
      expect(await envelope('/user/update_block_status', body), JSON.stringify(body)).toEqual(INVALID);
    }
    expect(await t.admin.ok('/user/check_block_status', { userId: id })).toEqual({ status: 0 });
    expect(await envelope('/user/update_block_status', { userId: fresh('ghost'), status: 2 })).toEqual(NOT_EXIST);
    expect(await envelope('/user/check_block_status', { userId: fresh('ghost') })).toEqual(NOT_EXIST);
    expect(await envelope('/user/check_block_status', {})).toEqual(INVALID);
  });
});

describe('user/kickoff_client', () => {
  it('accepts {first, second}, {userId, clientId} and a user alone; it does not block the user', async () => {
    const id = fresh('kick');
    await t.admin.createUser(id);
    await t.admin.ok('/user/get_token', { userId: id, clientId: 'c1', platform: 1 });
    expect(await envelope('/user/kickoff_client', { first: id, second: 'c1' })).toEqual({ code: 0, msg: 'success' });
    expect(await envelope('/user/kickoff_client', { userId: id, clientId: 'c1' })).toEqual({ code: 0, msg: 'success' });
    expect(await envelope('/user/kickoff_client', { first: id })).toEqual({ code: 0, msg: 'success' });
    expect(await t.admin.ok('/user/check_block_status', { userId: id })).toEqual({ status: 0 });
    expect((await t.admin.ok<{ token: string }>('/user/get_token', { userId: id, clientId: 'c1', platform: 1 })).token).toBeTruthy();
  });

  it('answers 251 without a user and 253 for an unknown user', async () => {
    expect(await envelope('/user/kickoff_client', {})).toEqual(INVALID);
    expect(await envelope('/user/kickoff_client', { second: 'c1' })).toEqual(INVALID);
    expect(await envelope('/user/kickoff_client', { first: fresh('ghost'), second: 'c1' })).toEqual(NOT_EXIST);
    expect(await envelope('/user/kickoff_client', { userId: fresh('ghost') })).toEqual(NOT_EXIST);
  });
});

describe('user/set_role', () => {
  it('accepts user and operator, refuses other roles with 251 and unknown users with 253', async () => {
    const id = fresh('role');
    await t.admin.createUser(id);
    expect(await envelope('/user/set_role', { userId: id, role: 'operator' })).toEqual({ code: 0, msg: 'success' });
    expect(await envelope('/user/set_role', { userId: id, role: 'user' })).toEqual({ code: 0, msg: 'success' });
    for (const body of [{ userId: id, role: 'admin' }, { userId: id, role: '' }, { userId: id }, { role: 'user' }, { userId: id, role: 1 }]) {
      expect(await envelope('/user/set_role', body), JSON.stringify(body)).toEqual(INVALID);
    }
    expect(await envelope('/user/set_role', { userId: fresh('ghost'), role: 'operator' })).toEqual(NOT_EXIST);
  });
});

describe('user/all', () => {
  type Page = { userInfoList: UserInfo[] };
  const page = (offset: number, count: number) => t.admin.ok<Page>('/user/all', { count, offset });

  it('pages through every user in a stable order, with full user records', async () => {
    const created = [fresh('all'), fresh('all'), fresh('all'), fresh('all'), fresh('all')];
    for (const id of created) await t.admin.createUser(id);

    const everyone = (await page(0, 10000)).userInfoList;
    const ids = everyone.map((u) => u.userId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of created) expect(ids).toContain(id);
    for (const u of everyone) expect(Object.keys(u).sort()).toEqual(USER_KEYS);
    expect(everyone.find((u) => u.userId === created[0])).toEqual(await info(created[0]!));

    // Pages of 3 concatenate to the same list; past the end is empty.
    const paged: string[] = [];
    for (let offset = 0; offset < ids.length; offset += 3) {
      const p = (await page(offset, 3)).userInfoList;
      expect(p.length).toBe(Math.min(3, ids.length - offset));
      paged.push(...p.map((u) => u.userId));
    }
    expect(paged).toEqual(ids);
    expect(await page(ids.length, 3)).toEqual({ userInfoList: [] });

    // An update (user/create on an existing id, user/update) neither duplicates nor reorders.
    await t.admin.ok('/user/create', { userId: created[1], name: `renamed-${created[1]}` });
    await t.admin.ok('/user/update', { flag: 1, userInfo: { userId: created[2], displayName: 'changed' } });
    expect((await page(0, 10000)).userInfoList.map((u) => u.userId)).toEqual(ids);
  });

  it('answers 251 for count 0, a negative offset or missing / mistyped paging fields', async () => {
    for (const body of [{ count: 0, offset: 0 }, { count: 10, offset: -1 }, { offset: 0 }, { count: 10 }, { count: '10', offset: 0 }, {}]) {
      expect(await envelope('/user/all', body), JSON.stringify(body)).toEqual(INVALID);
    }
  });
});
