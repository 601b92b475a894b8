/**
 * Wildfire's robot API (RobotService SDK) under /robot: a robot signs with its own id (`rid`) and
 * secret, exactly as the SDK's RobotHttpUtils (nonce|secret|timestamp, sha1 hex), through real HTTP.
 * message/send, recall, update (own messages only), user_info, profile, update_profile and
 * set/get/delete_callback, each with its failures in Wildfire's envelope; auth failures 239/243/244/253.
 */
import { describe, expect, it } from 'vitest';
import { rawRequest, sdkHeaders, sdkSign } from '../helpers/admin-client.js';
import { useReceiver } from '../helpers/callbacks.js';
import { fresh, getOne, single, text } from '../helpers/messages.js';
import { useServer } from '../helpers/use-server.js';

interface Env<T = unknown> {
  code: number;
  msg: string;
  result?: T;
}

const t = useServer();
const robotServer = useReceiver();

/** A robot's SDK: every call signed with the robot's id and secret; `body` undefined sends none. */
function robotClient(rid: string, secret: string) {
  return async <T = unknown>(path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Env<T> }> => {
    const r = await rawRequest(t.url, {
      path: `/robot${path}`,
      headers: { 'content-type': 'application/json; charset=utf-8', rid, ...sdkHeaders(secret), ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: r.status, body: JSON.parse(r.raw) as Env<T> };
  };
}

async function makeRobot(extra: Record<string, unknown> = {}) {
  const id = fresh('bot');
  const { secret } = await t.admin.ok<{ secret: string }>('/robot/create', { userId: id, name: id, callback: '', ...extra });
  return { id, secret, call: robotClient(id, secret) };
}

describe('robot signature', () => {
  it('refuses missing headers (239), an old timestamp (243), a wrong sign or secret (244), an unknown robot (253), a replay (244)', async () => {
    const { id, secret, call } = await makeRobot();
    const post = (headers: Record<string, string>) =>
      rawRequest(t.url, { path: '/robot/get_callback', headers: { 'content-type': 'application/json', ...headers } }).then((r) => ({ status: r.status, body: JSON.parse(r.raw) as Env }));
    const h = sdkHeaders(secret);
    expect((await post({ ...h })).body).toEqual({ code: 239, msg: 'api not signed or sign parameter not completion' });
    expect((await post({ rid: id, nonce: h.nonce, timestamp: h.timestamp })).body.code).toBe(239);
    expect((await post({ rid: id, ...h, timestamp: 'soon' })).body.code).toBe(239);
    const old = String(Date.now() - 3 * 3600_000);
    expect((await post({ rid: id, nonce: '5', timestamp: old, sign: sdkSign('5', secret, old) })).body).toEqual({ code: 243, msg: 'sign expired' });
    expect((await post({ rid: id, ...sdkHeaders('not-the-secret') })).body).toEqual({ code: 244, msg: 'auth failure' });
    expect((await post({ rid: id, ...h, sign: 'deadbeef' })).body.code).toBe(244);
    expect((await post({ rid: fresh('nobot'), ...sdkHeaders(secret) })).body.code).toBe(253);
    expect((await post({ rid: 'x'.repeat(129), ...sdkHeaders(secret) })).body.code).toBe(251);
    // A normal user is not a robot.
    const [u] = await t.users('human');
    expect((await post({ rid: u, ...sdkHeaders(secret) })).body.code).toBe(253);
    const once = { rid: id, ...sdkHeaders(secret) };
    expect((await post(once)).body).toEqual({ code: 0, msg: 'success', result: { url: '' } });
    expect((await post(once)).body.code).toBe(244);
    // Another robot's secret does not sign for this one.
    const other = await makeRobot();
    expect((await post({ rid: id, ...sdkHeaders(other.secret) })).body.code).toBe(244);
    // Unknown paths: HTTP 404 with the envelope; bad JSON: 251.
    const missing = await call('/nosuch', {});
    expect(missing).toEqual({ status: 404, body: { code: 254, msg: 'not implement' } });
    expect((await call('/message/send', '{bad json')).body.code).toBe(251);
  });
});

describe('robot messages', () => {
  it('sends as the robot (whatever the body’s sender), recalls and updates its own messages; 248 for another sender’s', async () => {
    const { id, call } = await makeRobot();
    const [alice, bob] = await t.users('alice', 'bob');
    const phone = await t.device(alice);
    const sent = await call<{ messageUid: number; timestamp: number }>('/message/send', { sender: bob, conv: single(alice), payload: text('hello from a robot') });
    expect(sent.body).toEqual({ code: 0, msg: 'success', result: { messageUid: expect.any(Number), timestamp: expect.any(Number) } });
    const uid = sent.body.result!.messageUid;
    // Counted under its own route label, not as the admin API's /message/send.
    const metrics = await rawRequest(t.url, { method: 'GET', path: '/metrics' });
    expect(metrics.raw).toMatch(/switchboard_admin_requests_total\{route="\/robot\/message\/send",code="0"\} [1-9]/);
    const got = await phone.waitMessage(uid);
    expect(got['message']).toMatchObject({ sender: id, conv: { type: 0, target: alice, line: 0 } });

    expect((await call('/message/update', { messageUid: uid, payload: text('edited'), distribute: 1, updateTimestamp: 0 })).body).toEqual({ code: 0, msg: 'success' });
    expect((await phone.waitType('update'))['messageUid']).toBe(uid);
    expect((await getOne(t.admin, uid)).payload.searchableContent).toBe('edited');

    const recalled = await call<string>('/message/recall', { messageUid: uid });
    expect(recalled.body).toMatchObject({ code: 0, msg: 'success', result: expect.any(String) });
    expect((await phone.waitType('recall'))['messageUid']).toBe(uid);
    expect((await getOne(t.admin, uid)).payload).toMatchObject({ type: 80, content: id });

    // Someone else's message: 248, unchanged; an unknown uid: 253; bad input: 251.
    const theirs = await t.admin.send(alice, single(bob), text('mine'));
    expect((await call('/message/recall', { messageUid: theirs.messageUid })).body.code).toBe(248);
    expect((await call('/message/update', { messageUid: theirs.messageUid, payload: text('hijack'), distribute: 1 })).body.code).toBe(248);
    expect((await getOne(t.admin, theirs.messageUid)).payload.searchableContent).toBe('mine');
    expect((await call('/message/recall', { messageUid: 999999 })).body.code).toBe(253);
    expect((await call('/message/recall', {})).body.code).toBe(251);
    expect((await call('/message/send', { conv: single(alice) })).body.code).toBe(251);
    expect((await call('/message/send', { conv: single(alice), payload: { type: 'text', searchableContent: 'x' } })).body.code).toBe(251);
  });
});

describe('robot profile and users', () => {
  it('user_info finds a user by id, name or mobile; profile shows the robot without its secret; update_profile changes one field', async () => {
    const { id, call } = await makeRobot({ displayName: 'Bot', robotExtra: 'rx' });
    const [u] = await t.users('carol');
    await t.admin.ok('/user/update', { flag: 0x08, userInfo: { userId: u, mobile: `m-${u}` } });
    for (const body of [{ userId: u }, { name: `name-${u}` }, { mobile: `m-${u}` }]) {
      expect((await call<{ userId: string }>('/user_info', body)).body.result?.userId).toBe(u);
    }
    expect((await call('/user_info', { userId: fresh('ghost') })).body.code).toBe(253);
    expect((await call('/user_info', {})).body.code).toBe(251);

    const p = await call<Record<string, unknown>>('/profile');
    expect(p.body).toMatchObject({ code: 0, result: { userId: id, name: id, displayName: 'Bot', owner: id, callback: '', robotExtra: 'rx' } });
    expect(p.body.result).not.toHaveProperty('secret');

    expect((await call('/update_profile', { intValue: 0, strValue: 'Robbie' })).body).toEqual({ code: 0, msg: 'success' });
    expect((await call('/update_profile', { intValue: 2, strValue: '1' })).body.code).toBe(0);
    expect((await call('/update_profile', { intValue: 8, strValue: '{"v":1}' })).body.code).toBe(0);
    // The mobile (3) and unknown types change nothing; a gender that is not a number is 251.
    expect((await call('/update_profile', { intValue: 3, strValue: '555' })).body.code).toBe(0);
    expect((await call('/update_profile', { intValue: 42, strValue: 'x' })).body.code).toBe(0);
    expect((await call('/update_profile', { intValue: 2, strValue: 'male' })).body.code).toBe(251);
    expect((await call('/update_profile', { strValue: 'x' })).body.code).toBe(251);
    const info = await t.admin.ok<Record<string, unknown>>('/user/get_info', { userId: id });
    expect(info).toMatchObject({ displayName: 'Robbie', gender: 1, extra: '{"v":1}', mobile: '' });
    // The robot record survives profile changes.
    expect(await t.admin.ok('/user/get_robot_info', { robotId: id })).toMatchObject({ robotExtra: 'rx', owner: id });
  });
});

describe('robot callback', () => {
  it('set_callback routes the robot’s incoming messages to it, get_callback shows it, delete_callback stops them', async () => {
    const { id, secret, call } = await makeRobot();
    const url = `${robotServer.url}/cb/${id}`;
    expect((await call('/set_callback', { url })).body).toEqual({ code: 0, msg: 'success' });
    expect((await call('/get_callback')).body).toEqual({ code: 0, msg: 'success', result: { url } });
    const [alice] = await t.users('alice');
    const m1 = await t.admin.send(alice, single(id), text('ping'));
    const req = await robotServer.waitFor((r) => r.path === `/cb/${id}` && r.json?.messageId === m1.messageUid, { label: 'the robot callback' });
    expect(req.json).toMatchObject({ sender: alice });

    expect((await call('/delete_callback')).body).toEqual({ code: 0, msg: 'success' });
    expect((await call('/get_callback')).body.result).toEqual({ url: '' });
    const m2 = await t.admin.send(alice, single(id), text('anyone?'));
    // Set again elsewhere: the next message goes there, never m2 to the old one.
    const url2 = `${robotServer.url}/cb2/${id}`;
    expect((await call('/set_callback', { url: url2 })).body.code).toBe(0);
    const m3 = await t.admin.send(alice, single(id), text('again'));
    await robotServer.waitFor((r) => r.path === `/cb2/${id}` && r.json?.messageId === m3.messageUid);
    expect(robotServer.requests.filter((r) => r.json?.messageId === m2.messageUid)).toEqual([]);
    // The secret and profile stay.
    expect(await t.admin.ok('/user/get_robot_info', { robotId: id })).toMatchObject({ secret, callback: url2 });

    expect((await call('/set_callback', { url: '' })).body.code).toBe(251);
    expect((await call('/set_callback', {})).body.code).toBe(251);
    expect((await call('/set_callback', { url: 'ftp://x/y' })).body.code).toBe(251);
    expect((await call('/set_callback', { url: `http://h/${'x'.repeat(8200)}` })).body.code).toBe(251);
  });
});

describe('robot application/get_user_info', () => {
  it('names the user of an app auth code (a live device token); 6 for an unknown one, 251 without one', async () => {
    const { call } = await makeRobot();
    const [u] = await t.users('dana');
    const token = await t.admin.ok<{ token: string }>('/user/get_token', { userId: u, clientId: 'd-app', platform: 2 });
    expect((await call('/application/get_user_info', { authCode: token.token })).body).toEqual({ code: 0, msg: 'success', result: { userId: u, displayName: u, portraitUrl: '' } });
    expect((await call('/application/get_user_info', { authCode: 'unknown' })).body.code).toBe(6);
    expect((await call('/application/get_user_info', {})).body.code).toBe(251);
  });
});

describe('robot groups', () => {
  it('creates a group it owns, reads and changes it; rights are checked (9 not a member, 248 not owner or manager)', async () => {
    const { id, call } = await makeRobot();
    const [a, b, c] = await t.users('a', 'b', 'c');
    const phone = await t.device(a);
    const created = await call<{ group_id: string }>('/group/create', {
      operator: a,
      group: { group_info: { name: 'robots club', owner: a, type: 2 }, members: [{ member_id: a }, { member_id: b }] },
      to_lines: [0],
    });
    expect(created.body).toMatchObject({ code: 0, result: { group_id: expect.any(String) } });
    const g = created.body.result!.group_id;
    await phone.waitType('message', (f) => f['message'].conv.target === g);
    expect((await call<{ owner: string; name: string }>('/group/get_info', { groupId: g })).body.result).toMatchObject({ owner: id, name: 'robots club' });
    const list = await call<{ members: Array<{ member_id: string; type: number }> }>('/group/member/list', { groupId: g });
    expect(list.body.result?.members.map((m) => m.member_id).sort()).toEqual([a, b, id].sort());
    expect((await call('/group/member/get', { groupId: g, memberId: id })).body.result).toMatchObject({ member_id: id, type: 2 });
    expect((await call('/group/modify', { group_id: g, type: 0, value: 'renamed', to_lines: [0] })).body.code).toBe(0);
    expect((await call('/group/member/add', { group_id: g, members: [{ member_id: c }], to_lines: [0] })).body.code).toBe(0);
    expect((await call('/group/member/del', { group_id: g, members: [b], to_lines: [0] })).body.code).toBe(0);
    expect((await t.admin.ok<{ members: Array<{ member_id: string }> }>('/group/member/list', { groupId: g })).members.map((m) => m.member_id).sort()).toEqual([a, c, id].sort());

    // A group of someone else: not a member (9); a plain member (248 for managing, 0 for its own alias).
    const other = fresh('g');
    await t.admin.createGroup(other, a, [b]);
    expect((await call('/group/member/list', { groupId: other })).body.code).toBe(9);
    expect((await call('/group/modify', { group_id: other, type: 0, value: 'x' })).body.code).toBe(9);
    expect((await call('/group/get_info', { groupId: other })).body.code).toBe(0);
    await t.admin.ok('/group/member/add', { operator: a, group_id: other, members: [{ member_id: id }] });
    expect((await call('/group/modify', { group_id: other, type: 0, value: 'x' })).body.code).toBe(248);
    expect((await call('/group/member/del', { group_id: other, members: [b] })).body.code).toBe(248);
    expect((await call('/group/del', { group_id: other })).body.code).toBe(248);
    expect((await call('/group/member/set_alias', { group_id: other, memberId: b, alias: 'x' })).body.code).toBe(248);
    expect((await call('/group/member/set_alias', { group_id: other, alias: 'the bot' })).body.code).toBe(0);
    expect((await t.admin.ok<{ alias: string }>('/group/member/get', { groupId: other, memberId: id })).alias).toBe('the bot');
    expect((await call('/group/member/quit', { group_id: other })).body.code).toBe(0);
    expect((await call('/group/member/get', { groupId: other, memberId: a })).body.code).toBe(9);
    expect((await call('/group/get_info', { groupId: fresh('nog') })).body.code).toBe(253);
    expect((await call('/group/modify', { type: 0, value: 'x' })).body.code).toBe(251);

    // Its own group: transfer, then it is no longer the owner.
    expect((await call('/group/transfer', { group_id: g, new_owner: a })).body.code).toBe(0);
    expect((await call('/group/del', { group_id: g })).body.code).toBe(248);
  });

  it('conference/request answers 61', async () => {
    const { call } = await makeRobot();
    expect((await call('/conference/request', { any: 1 })).body).toEqual({ code: 61, msg: 'conference service not available' });
  });
});
