/**
 * Wildfire's routes that Switchboard lacked (issue 12 items 2 and 3), through real HTTP with the signing
 * admin client: group member get / set_alias / set_extra, group of_user_by_type and common_group,
 * system get_setting / put_setting, user app_get_user_info, the professional edition's device routes,
 * the professional edition's customer, and the conference routes (HTTP 200, code 61). Each route's success and failure codes; the
 * behaviour behind them (notifications reach devices, a device token logs in).
 */
import { describe, expect, it } from 'vitest';
import { CONFERENCE_PATHS, CUSTOMER } from '../../src/api/admin/routes/system.js';
import { expectCode, fresh, group, single, text } from '../helpers/messages.js';
import { rawRequest } from '../helpers/admin-client.js';
import { useServer } from '../helpers/use-server.js';
import { connectRaw, connectRefused, wsUrl } from '../helpers/ws-client.js';

const t = useServer();

interface Member {
  member_id: string;
  alias: string;
  type: number;
  extra: string;
  createDt: number;
}

/** The JSON data of a group notification's base64edData. */
const dataOf = (m: { payload: { base64edData: string } }): Record<string, unknown> => JSON.parse(Buffer.from(m.payload.base64edData, 'base64').toString('utf8')) as Record<string, unknown>;

describe('group/member/get, set_alias, set_extra', () => {
  it('gets one member; sets alias and extra (announced with notifications 111 and 123); get and list show them', async () => {
    const [owner, m] = await t.users('owner', 'member');
    const g = fresh('g');
    await t.admin.createGroup(g, owner, [m]);
    const phone = await t.device(m, 'm-phone');

    const got = await t.admin.ok<Member>('/group/member/get', { groupId: g, memberId: m });
    expect(got).toEqual({ member_id: m, alias: '', type: 0, extra: '', createDt: expect.any(Number) });
    expect((await t.admin.ok<Member>('/group/member/get', { groupId: g, memberId: owner })).type).toBe(2);

    expect((await t.admin.post('/group/member/set_alias', { operator: owner, group_id: g, memberId: m, alias: 'Mimi' })).body).toEqual({ code: 0, msg: 'success' });
    const n1 = await phone.waitType('message', (f) => f['message'].payload.type === 111);
    expect(n1['message'].conv).toEqual(group(g));
    expect(dataOf(n1['message'])).toEqual({ g, o: owner, n: 'Mimi', m });
    await t.admin.ok('/group/member/set_extra', { operator: owner, group_id: g, memberId: m, extra: '{"level":3}', to_lines: [0] });
    const n2 = await phone.waitType('message', (f) => f['message'].payload.type === 123);
    expect(dataOf(n2['message'])).toEqual({ g, o: owner, n: '{"level":3}', m });
    expect(await t.admin.ok<Member>('/group/member/get', { group_id: g, memberId: m })).toMatchObject({ alias: 'Mimi', extra: '{"level":3}', type: 0 });
    const { members } = await t.admin.ok<{ members: Member[] }>('/group/member/list', { groupId: g });
    expect(members.find((x) => x.member_id === m)).toMatchObject({ alias: 'Mimi', extra: '{"level":3}' });

    // An empty memberId is the operator's own; a custom notify_message replaces the default.
    await t.admin.ok('/group/member/set_alias', { operator: m, group_id: g, memberId: '', alias: 'me', notify_message: text('I renamed myself') });
    expect((await t.admin.ok<Member>('/group/member/get', { groupId: g, memberId: m })).alias).toBe('me');
    await phone.waitType('message', (f) => f['message'].payload.searchableContent === 'I renamed myself');
  });

  it('answers 253 for an unknown group or a non-member (get), 9 for a non-member (set), 251 for bad input', async () => {
    const [owner, m, outsider] = await t.users('owner', 'member', 'outsider');
    const g = fresh('g');
    await t.admin.createGroup(g, owner, [m]);
    await expectCode(t.admin, '/group/member/get', { groupId: fresh('nog'), memberId: m }, 253);
    await expectCode(t.admin, '/group/member/get', { groupId: g, memberId: outsider }, 253);
    await expectCode(t.admin, '/group/member/get', { groupId: g }, 251);
    await expectCode(t.admin, '/group/member/get', { memberId: m }, 251);
    await expectCode(t.admin, '/group/member/set_alias', { operator: owner, group_id: fresh('nog'), memberId: m, alias: 'x' }, 253);
    await expectCode(t.admin, '/group/member/set_alias', { operator: owner, group_id: g, memberId: outsider, alias: 'x' }, 9);
    await expectCode(t.admin, '/group/member/set_extra', { operator: owner, group_id: g, memberId: outsider, extra: 'x' }, 9);
    await expectCode(t.admin, '/group/member/set_alias', { operator: owner, memberId: m, alias: 'x' }, 251);
    await expectCode(t.admin, '/group/member/set_alias', { operator: owner, group_id: g, memberId: m, alias: 'x'.repeat(1025) }, 251);
    await expectCode(t.admin, '/group/member/set_extra', { operator: owner, group_id: g, memberId: m, extra: 'x'.repeat(65537) }, 251);
    await expectCode(t.admin, '/group/member/set_alias', { group_id: g, memberId: '', alias: 'x' }, 251);
    // A removed member is no member.
    await t.admin.ok('/group/member/del', { operator: owner, group_id: g, members: [m] });
    await expectCode(t.admin, '/group/member/get', { groupId: g, memberId: m }, 253);
  });
});

describe('group/of_user_by_type and group/common_group', () => {
  it('lists the groups by member type and the groups two users share', async () => {
    const [a, b, c] = await t.users('a', 'b', 'c');
    const [g1, g2, g3] = [fresh('g1'), fresh('g2'), fresh('g3')];
    await t.admin.createGroup(g1, a, [b]); // a owner, b normal
    await t.admin.createGroup(g2, b, [a, c]); // b owner, a normal
    await t.admin.createGroup(g3, c, [a]); // c owner, a normal → manager
    await t.admin.ok('/group/manager/set', { operator: c, group_id: g3, members: [a], is_manager: true });
    const byType = async (userId: string, groupMemberTypes?: number[]) =>
      (await t.admin.ok<{ groupIds: string[] }>('/group/of_user_by_type', { userId, ...(groupMemberTypes ? { groupMemberTypes } : {}) })).groupIds.sort();
    expect(await byType(a, [2])).toEqual([g1]);
    expect(await byType(a, [0])).toEqual([g2]);
    expect(await byType(a, [1])).toEqual([g3]);
    expect(await byType(a, [0, 1])).toEqual([g2, g3].sort());
    expect(await byType(a)).toEqual([g1, g2, g3].sort());
    expect(await byType(a, [])).toEqual([g1, g2, g3].sort());
    expect(await byType(fresh('ghost'), [0]), 'an unknown user has none (Wildfire)').toEqual([]);

    const common = async (first: string, second: string) => (await t.admin.ok<{ groupIds: string[] }>('/group/common_group', { first, second })).groupIds.sort();
    expect(await common(a, b)).toEqual([g1, g2].sort());
    expect(await common(a, c)).toEqual([g2, g3].sort());
    expect(await common(b, c)).toEqual([g2]);
    expect(await common(a, fresh('ghost'))).toEqual([]);

    await expectCode(t.admin, '/group/of_user_by_type', { groupMemberTypes: [0] }, 251);
    await expectCode(t.admin, '/group/of_user_by_type', { userId: a, groupMemberTypes: [9] }, 251);
    await expectCode(t.admin, '/group/of_user_by_type', { userId: a, groupMemberTypes: Array(17).fill(0) }, 251);
    await expectCode(t.admin, '/group/common_group', { first: a }, 251);
    await expectCode(t.admin, '/group/common_group', { first: a, second: '' }, 251);
  });
});

describe('system/get_setting and system/put_setting', () => {
  it('puts and gets {id, value, desc}; 253 before any put; 251 when value and desc are both empty or id is missing', async () => {
    const id = 1000 + Math.floor(Math.random() * 1_000_000);
    await expectCode(t.admin, '/system/get_setting', { id }, 253);
    expect((await t.admin.post('/system/put_setting', { id, value: 'on', desc: 'feature x' })).body).toEqual({ code: 0, msg: 'success' });
    expect(await t.admin.ok('/system/get_setting', { id })).toEqual({ id, value: 'on', desc: 'feature x' });
    await t.admin.ok('/system/put_setting', { id, value: 'off' });
    expect(await t.admin.ok('/system/get_setting', { id })).toEqual({ id, value: 'off', desc: '' });
    await expectCode(t.admin, '/system/put_setting', { id, value: '', desc: '' }, 251);
    await expectCode(t.admin, '/system/put_setting', { id }, 251);
    await expectCode(t.admin, '/system/put_setting', { value: 'x' }, 251);
    await expectCode(t.admin, '/system/put_setting', { id: 'one', value: 'x' }, 251);
    await expectCode(t.admin, '/system/get_setting', {}, 251);
    await expectCode(t.admin, '/system/put_setting', { id, value: 'x'.repeat(1025) }, 251);
  });
});

describe('user/app_get_user_info', () => {
  it("names a live device token's user with its display name and portrait; 6 for an unknown or revoked code; 251 without one", async () => {
    const id = fresh('app-user');
    await t.admin.ok('/user/create', { userId: id, name: id, displayName: 'App User', portrait: 'http://p/a.png' });
    const token = await t.token(id, 'web');
    expect((await t.admin.post('/user/app_get_user_info', { authCode: token })).body).toEqual({
      code: 0,
      msg: 'success',
      result: { userId: id, displayName: 'App User', portraitUrl: 'http://p/a.png' },
    });
    expect((await t.admin.post('/user/app_get_user_info', { authCode: 'nope' })).body).toEqual({ code: 6, msg: 'token error' });
    await t.admin.ok('/user/kickoff_client', { first: id, second: 'web' });
    expect(await t.admin.code('/user/app_get_user_info', { authCode: token }), 'a revoked token').toBe(6);
    await expectCode(t.admin, '/user/app_get_user_info', {}, 251);
    await expectCode(t.admin, '/user/app_get_user_info', { authCode: '' }, 251);
  });
});

describe('device/create, device/get, device/user_devices', () => {
  interface DeviceOut {
    deviceId: string;
    token: string;
    secret: string;
    state: number;
    owners: string[];
    extra: string;
  }

  it('creates a device user (type 2) whose token logs in and chats with its owner; update keeps the secret; get and user_devices list it', async () => {
    const [owner, other] = await t.users('owner', 'other');
    const deviceId = fresh('lamp');
    const created = await t.admin.ok<{ deviceId: string; token: string; secret: string }>('/device/create', { deviceId, owners: [owner], extra: '{"room":"hall"}' });
    expect(created).toEqual({ deviceId, token: expect.any(String), secret: expect.any(String) });
    expect((await t.admin.ok<{ type: number }>('/user/get_info', { userId: deviceId })).type).toBe(2);

    // The device logs in with its token and receives what its owner sends it.
    const dev = await connectRaw(t.url, created.token);
    const sent = await t.admin.send(owner, single(deviceId), text('turn on'));
    await dev.waitMessage(sent.messageUid);

    expect(await t.admin.ok<DeviceOut>('/device/get', { deviceId })).toEqual({ deviceId, token: '', secret: created.secret, state: 0, owners: [owner], extra: '{"room":"hall"}' });
    const again = await t.admin.ok<{ secret: string; token: string }>('/device/create', { deviceId, owners: [owner, other], extra: '' });
    expect(again.secret, 'the secret is kept').toBe(created.secret);
    expect(again.token).not.toBe(created.token);
    expect((await t.admin.ok<DeviceOut>('/device/get', { deviceId })).owners.sort()).toEqual([owner, other].sort());
    for (const u of [owner, other]) {
      expect((await t.admin.ok<{ devices: DeviceOut[] }>('/device/user_devices', { userId: u })).devices.map((d) => d.deviceId)).toEqual([deviceId]);
    }
    expect((await t.admin.ok<{ devices: DeviceOut[] }>('/device/user_devices', { userId: fresh('ghost') })).devices).toEqual([]);

    // A generated id; destroying the device's user removes the device and its token.
    const gen = await t.admin.ok<{ deviceId: string; token: string }>('/device/create', { owners: [other] });
    expect(gen.deviceId.length).toBeGreaterThanOrEqual(8);
    await t.admin.ok('/user/destroy', { userId: gen.deviceId });
    await expectCode(t.admin, '/device/get', { deviceId: gen.deviceId }, 253);
    expect((await connectRefused(wsUrl(t.url, gen.token))).info.code).toBe(4001);
  });

  it('answers 248 for the id of a user that is no device, 253 for an unknown device, 251 for bad input', async () => {
    const [plain] = await t.users('plain');
    await expectCode(t.admin, '/device/create', { deviceId: plain, owners: [] }, 248);
    await expectCode(t.admin, '/device/get', { deviceId: fresh('nodev') }, 253);
    await expectCode(t.admin, '/device/get', {}, 251);
    await expectCode(t.admin, '/device/user_devices', {}, 251);
    await expectCode(t.admin, '/device/create', { owners: 'x' }, 251);
    await expectCode(t.admin, '/device/create', { owners: [''] }, 251);
    await expectCode(t.admin, '/device/create', { owners: Array.from({ length: 101 }, (_, i) => `o${i}`) }, 251);
    await expectCode(t.admin, '/device/create', { deviceId: 'x'.repeat(129) }, 251);
  });
});

describe('conference routes', () => {
  it('answer HTTP 200 with code 61 "conference service not available", with or without a body', async () => {
    expect(CONFERENCE_PATHS).toHaveLength(9);
    for (const path of CONFERENCE_PATHS) {
      for (const body of [undefined, {}, { roomId: 'r1', advance: true }]) {
        const r = await t.admin.post(path, body);
        expect(r.status, path).toBe(200);
        expect(r.body, path).toEqual({ code: 61, msg: 'conference service not available' });
      }
      await expectCode(t.admin, path, undefined, 251, '{bad json');
    }
  });
});

describe('customer', () => {
  it('answers the string "switchboard" to an empty body as the SDK sends it, or to any object; 251 for bad JSON or no signature', async () => {
    expect(CUSTOMER).toBe('switchboard');
    for (const body of [undefined, {}, { any: 'thing' }]) {
      const r = await t.admin.post('/customer', body);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ code: 0, msg: 'success', result: 'switchboard' });
    }
    await expectCode(t.admin, '/customer', undefined, 251, '{bad json');
    await expectCode(t.admin, '/customer', [], 251);
    const unsigned = await rawRequest(t.url, { path: '/admin/customer', headers: { 'content-type': 'application/json' }, body: '' });
    expect(JSON.parse(unsigned.raw)).toEqual({ code: 239, msg: 'api not signed or sign parameter not completion' });
  });
});
