/**
 * Wildfire's channel API (ChannelServiceApi SDK) under /channel: a channel signs with its own id
 * (`cid`) and secret as the SDK's ChannelHttpUtils does, through real HTTP. message/send (to every
 * subscriber or to subscribed targets), subscribe, subscriber_list, is_subscriber, user_info and
 * get_profile, with their failures; auth failures 239/236/237/244.
 */
import { describe, expect, it } from 'vitest';
import { rawRequest, sdkHeaders } from '../helpers/admin-client.js';
import { fresh, text } from '../helpers/messages.js';
import { useServer } from '../helpers/use-server.js';

interface Env<T = unknown> {
  code: number;
  msg: string;
  result?: T;
}

const t = useServer();

function channelClient(cid: string, secret: string) {
  return async <T = unknown>(path: string, body?: unknown): Promise<{ status: number; body: Env<T> }> => {
    const r = await rawRequest(t.url, {
      path: `/channel${path}`,
      headers: { 'content-type': 'application/json; charset=utf-8', cid, ...sdkHeaders(secret) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: r.status, body: JSON.parse(r.raw) as Env<T> };
  };
}

async function makeChannel(state = 0x04, secret: string = fresh('sec')) {
  const [owner] = await t.users('owner');
  const id = fresh('ch');
  await t.admin.ok('/channel/create', { owner, name: id, targetId: id, secret, state });
  return { id, owner, secret, call: channelClient(id, secret) };
}

describe('channel signature', () => {
  it('refuses missing headers (239), an unknown channel (236), a channel without a secret (237), a wrong secret or a replay (244)', async () => {
    const { id, secret, call } = await makeChannel();
    const post = (headers: Record<string, string>) =>
      rawRequest(t.url, { path: '/channel/get_profile', headers }).then((r) => JSON.parse(r.raw) as Env);
    expect(await post({ ...sdkHeaders(secret) })).toEqual({ code: 239, msg: 'api not signed or sign parameter not completion' });
    expect(await post({ cid: fresh('noch'), ...sdkHeaders(secret) })).toEqual({ code: 236, msg: 'channel no exist' });
    const bare = fresh('ch');
    const [o] = await t.users('o');
    await t.admin.ok('/channel/create', { owner: o, name: bare, targetId: bare });
    expect(await post({ cid: bare, ...sdkHeaders('') })).toEqual({ code: 237, msg: 'channel no secret' });
    expect((await post({ cid: id, ...sdkHeaders('wrong') })).code).toBe(244);
    const once = { cid: id, ...sdkHeaders(secret) };
    expect((await post(once)).code).toBe(0);
    expect((await post(once)).code).toBe(244);
    expect(await call('/nosuch')).toEqual({ status: 404, body: { code: 254, msg: 'not implement' } });
    expect((await call('/is_subscriber', '{bad')).body.code).toBe(251);
  });
});

describe('channel calls', () => {
  it('subscribes users, lists them, sends to every subscriber or to targets; get_profile and user_info', async () => {
    const { id, owner, secret, call } = await makeChannel();
    const [a, b, c] = await t.users('a', 'b', 'c');
    expect((await call('/subscribe', { target: a, subscribe: 1 })).body).toEqual({ code: 0, msg: 'success' });
    expect((await call('/subscribe', { target: b, subscribe: 1 })).body.code).toBe(0);
    expect((await call<boolean>('/is_subscriber', { userId: a })).body).toEqual({ code: 0, msg: 'success', result: true });
    expect((await call<boolean>('/is_subscriber', { userId: c })).body.result).toBe(false);
    expect(((await call<{ list: string[] }>('/subscriber_list')).body.result?.list ?? []).sort()).toEqual([a, b].sort());

    const devA = await t.device(a);
    const devB = await t.device(b);
    const all = await call<{ messageUid: number }>('/message/send', { line: 0, targets: [], payload: text('to everyone') });
    expect(all.body).toMatchObject({ code: 0, result: { messageUid: expect.any(Number), timestamp: expect.any(Number) } });
    for (const d of [devA, devB]) {
      const m = await d.waitMessage(all.body.result!.messageUid);
      expect(m['message']).toMatchObject({ sender: owner, conv: { type: 3, target: id, line: 0 } });
    }
    const one = await call<{ messageUid: number }>('/message/send', { targets: [b], payload: text('to b only') });
    expect(one.body.code).toBe(0);
    await devB.waitMessage(one.body.result!.messageUid);
    // A target that does not subscribe: 248, nothing sent.
    expect((await call('/message/send', { targets: [c], payload: text('to c') })).body.code).toBe(248);
    expect((await call('/message/send', { targets: [a] })).body.code).toBe(251);

    // Unsubscribe; subscribe refused without the active-subscribe state bit.
    expect((await call('/subscribe', { target: b, subscribe: 0 })).body.code).toBe(0);
    expect((await call<{ list: string[] }>('/subscriber_list')).body.result).toEqual({ list: [a] });
    expect((await call('/subscribe', { target: fresh('ghost'), subscribe: 1 })).body.code).toBe(253);
    expect((await call('/subscribe', { target: a })).body.code).toBe(251);
    const passive = await makeChannel(0);
    expect((await passive.call('/subscribe', { target: a, subscribe: 1 })).body.code).toBe(248);

    const p = await call<Record<string, unknown>>('/get_profile');
    expect(p.body.result).toMatchObject({ channelId: id, owner, secret, state: 4 });
    expect((await call<{ userId: string }>('/user_info', { userId: a })).body.result?.userId).toBe(a);
    expect((await call('/user_info', { userId: fresh('ghost') })).body.code).toBe(253);
    expect((await call('/user_info', {})).body.code).toBe(251);
  });
});

describe('channel update_profile and application/get_user_info', () => {
  it('changes one field at a time (subscriptions stay), a new secret signs from then on; an app auth code names its user', async () => {
    const { id, call } = await makeChannel();
    const [a] = await t.users('a');
    await call('/subscribe', { target: a, subscribe: 1 });
    for (const [type, value] of [[0, 'News'], [1, 'http://p/x.png'], [2, 'the desc'], [3, '{"k":1}'], [5, 'http://127.0.0.1:1/cb'], [6, '1']] as const) {
      expect((await call('/update_profile', { type, value })).body, `type ${type}`).toEqual({ code: 0, msg: 'success' });
    }
    expect(await t.admin.ok('/channel/get', { channelId: id })).toMatchObject({ name: 'News', portrait: 'http://p/x.png', desc: 'the desc', extra: '{"k":1}', callback: 'http://127.0.0.1:1/cb', automatic: 1 });
    expect((await call<boolean>('/is_subscriber', { userId: a })).body.result).toBe(true);
    // Refused: an empty name, a bad callback or automatic, an unknown type (251); the menu (254); too long (251).
    expect((await call('/update_profile', { type: 0, value: '' })).body.code).toBe(251);
    expect((await call('/update_profile', { type: 5, value: 'nope' })).body.code).toBe(251);
    expect((await call('/update_profile', { type: 6, value: 'yes' })).body.code).toBe(251);
    expect((await call('/update_profile', { type: 9, value: 'x' })).body.code).toBe(251);
    expect((await call('/update_profile', { type: 7, value: '[]' })).body.code).toBe(254);
    expect((await call('/update_profile', { type: 0, value: 'n'.repeat(1025) })).body.code).toBe(251);
    expect((await call('/update_profile', { value: 'x' })).body.code).toBe(251);
    // A new secret: the old one no longer signs.
    const next = fresh('sec2');
    expect((await call('/update_profile', { type: 4, value: next })).body.code).toBe(0);
    expect((await call('/get_profile')).body.code).toBe(244);
    expect((await channelClient(id, next)('/get_profile')).body).toMatchObject({ code: 0, result: { secret: next } });

    const token = await t.admin.ok<{ token: string }>('/user/get_token', { userId: a, clientId: 'a-app', platform: 2 });
    const who = await channelClient(id, next)('/application/get_user_info', { authCode: token.token });
    expect(who.body).toMatchObject({ code: 0, result: { userId: a } });
    expect((await channelClient(id, next)('/application/get_user_info', { authCode: 'nope' })).body.code).toBe(6);
    expect((await channelClient(id, next)('/application/get_user_info', {})).body.code).toBe(251);
  });
});

describe('admin.callerRateLimitPerSecond', () => {
  // One request per 1 000 s, burst 1: a second request is over the limit whatever the machine's speed.
  const limited = useServer({ admin: { callerRateLimitPerSecond: 0.001 } });

  it('limits each robot and channel separately (250 past its burst); the admin API and other callers are not affected', async () => {
    const bot = fresh('bot');
    const { secret } = await limited.admin.ok<{ secret: string }>('/robot/create', { userId: bot, name: bot, callback: '' });
    const other = fresh('bot');
    const o = await limited.admin.ok<{ secret: string }>('/robot/create', { userId: other, name: other, callback: '' });
    const call = (rid: string, s: string) =>
      rawRequest(limited.url, { path: '/robot/get_callback', headers: { rid, ...sdkHeaders(s) } }).then((r) => (JSON.parse(r.raw) as Env).code);
    expect(await call(bot, secret)).toBe(0);
    expect(await call(bot, secret)).toBe(250);
    // A refused signature costs no token: the other robot still has its own.
    expect(await call(other, 'wrong')).toBe(244);
    expect(await call(other, o.secret)).toBe(0);
    expect(await call(other, o.secret)).toBe(250);
    await limited.admin.ok('/user/get_info', { userId: bot });
    // Channels have their own buckets.
    const [owner] = await limited.users('owner');
    const ch = fresh('ch');
    await limited.admin.ok('/channel/create', { owner, name: ch, targetId: ch, secret: 'cs' });
    const ccall = () => rawRequest(limited.url, { path: '/channel/get_profile', headers: { cid: ch, ...sdkHeaders('cs') } }).then((r) => (JSON.parse(r.raw) as Env).code);
    expect(await ccall()).toBe(0);
    expect(await ccall()).toBe(250);
  });
});
