import { describe, expect, it } from 'vitest';
import { fresh, getOne, single, text } from '../helpers/messages.js';
import type { ServerHandle } from '../helpers/use-server.js';
import { useServer } from '../helpers/use-server.js';
import type { WsClient } from '../helpers/ws-client.js';

/**
 * Relations on devices: a blacklist refuses (or drops) a device's single chat, admin sends stay
 * trusted; friend requests and relation changes reach the affected user's devices live; the friends
 * and friend_requests frames list them; sensitive words refuse, replace or drop device messages;
 * relations.disableStrangerChat refuses strangers with 248 (friends, the allow list and non-normal users pass).
 */

/** A device send; resolves with the `sent` or `error` reply. */
async function deviceSend(c: WsClient, to: string, content: string, type = 1): Promise<Record<string, unknown>> {
  const id = fresh('s');
  const from = c.mark;
  c.send({ type: 'send', id, conv: single(to), payload: text(content, { type }) });
  return c.waitFor((f) => (f.type === 'sent' || f.type === 'error') && f['id'] === id, { from, label: `reply to ${id}` });
}

async function users(t: ServerHandle, n: number): Promise<string[]> {
  return t.users(...Array.from({ length: n }, (_, i) => `u${i}`));
}

describe('default policies', () => {
  const t = useServer();

  it('a device may not send to a user who blacklisted it (246, nothing delivered); admin sends stay trusted', async () => {
    const [a, b] = await users(t, 2);
    await t.admin.ok('/blacklist/status', { userId: b, targetUid: a, status: 2 });
    const devA = await t.device(a);
    const devB = await t.device(b);
    const refused = await deviceSend(devA, b, 'let me in');
    expect(refused).toMatchObject({ type: 'error', code: 246, msg: 'user in black list' });
    // The blacklister may still write to a, and the admin API may still post as a.
    expect(await deviceSend(devB, a, 'no')).toMatchObject({ type: 'sent' });
    const admin = await t.admin.send(a, single(b), text('from the back end'));
    await devB.waitMessage(admin.messageUid);
    // Call signalling (an exception type) passes the blacklist.
    expect(await deviceSend(devA, b, 'ring', 400 + 1)).toMatchObject({ type: 'sent' });
    expect(devB.frames.filter((f) => f.type === 'message' && f['message'].payload.searchableContent === 'let me in')).toEqual([]);
    // Taken off the blacklist: allowed again.
    await t.admin.ok('/blacklist/status', { userId: b, targetUid: a, status: 1 });
    const sent = await deviceSend(devA, b, 'hello again');
    expect(sent).toMatchObject({ type: 'sent' });
    await devB.waitMessage(sent['messageUid'] as number);
  });

  it('a friend request reaches the target’s devices live, and its friend_requests frame lists it', async () => {
    const [a, b] = await users(t, 2);
    const phone = await t.device(b, 'b-phone');
    const pc = await t.device(b, 'b-pc');
    const other = await t.device(a);
    await t.admin.ok('/friend/send_request', { userId: a, friendUid: b, reason: 'let us be friends' });
    for (const dev of [phone, pc]) {
      const f = await dev.waitType('friend_request');
      expect(f).toEqual({ type: 'friend_request', request: { fromUid: a, toUid: b, reason: 'let us be friends', extra: '', status: 0, updateDt: expect.any(Number) } });
    }
    phone.send({ type: 'friend_requests', id: 'q' });
    const list = await phone.waitType('friend_requests');
    expect(list).toMatchObject({ id: 'q', requests: [{ fromUid: a, toUid: b, reason: 'let us be friends', status: 0 }] });
    expect(other.frames.filter((f) => f.type === 'friend_request')).toEqual([]);
  });

  it('friend and blacklist changes reach each affected user’s devices as friend frames; the friends frame lists relations', async () => {
    const [a, b] = await users(t, 2);
    const devA = await t.device(a);
    const devB = await t.device(b);
    await t.admin.ok('/friend/status', { userId: a, friendUid: b, status: 0 });
    expect(await devA.waitType('friend')).toEqual({ type: 'friend', relation: { userId: a, friendUid: b, alias: '', extra: '', state: 0, blacked: 0, updateDt: expect.any(Number) } });
    expect((await devB.waitType('friend'))['relation']).toMatchObject({ userId: b, friendUid: a, state: 0 });
    const mark = devB.mark;
    await t.admin.ok('/blacklist/status', { userId: a, targetUid: b, status: 2 });
    expect((await devA.waitType('friend', (f) => f['relation'].blacked === 1))['relation']).toMatchObject({ userId: a, friendUid: b, state: 0, blacked: 1 });
    await t.admin.ok('/friend/set_alias', { operator: a, targetId: b, alias: 'Bee' });
    await devA.waitType('friend', (f) => f['relation'].alias === 'Bee');
    // b's devices learn nothing of a's blacklist or alias.
    expect(devB.frames.slice(mark).filter((f) => f.type === 'friend')).toEqual([]);
    devA.send({ type: 'friends', id: 7 });
    expect(await devA.waitType('friends')).toEqual({ type: 'friends', id: 7, relations: [{ userId: a, friendUid: b, alias: 'Bee', extra: '', state: 0, blacked: 1, updateDt: expect.any(Number) }] });
  });

  it('devices manage relations: friend_add, friend_answer (accept), friend_delete, blacklist; each answered relation_ok', async () => {
    const [a, b] = await users(t, 2);
    const devA = await t.device(a);
    const devB = await t.device(b);
    const ask = async (dev: WsClient, frame: Record<string, unknown>) => {
      const id = fresh('x');
      const from = dev.mark;
      dev.send({ ...frame, id });
      return dev.waitFor((f) => (f.type === 'relation_ok' || f.type === 'error') && f['id'] === id, { from });
    };
    expect(await ask(devA, { type: 'friend_add', userId: b, reason: 'hi' })).toMatchObject({ type: 'relation_ok' });
    expect((await devB.waitType('friend_request'))['request']).toMatchObject({ fromUid: a, toUid: b, reason: 'hi', status: 0 });
    expect(await ask(devA, { type: 'friend_add', userId: b })).toMatchObject({ type: 'error', code: 16 });
    // Answering a request that does not exist: 253; accepting: both learn the status, both are friends.
    expect(await ask(devA, { type: 'friend_answer', userId: b, accept: true })).toMatchObject({ type: 'error', code: 253 });
    const markA = devA.mark;
    expect(await ask(devB, { type: 'friend_answer', userId: a, accept: true })).toMatchObject({ type: 'relation_ok' });
    expect((await devA.waitType('friend_request', (f) => f['request'].status === 1, { from: markA }))['request']).toMatchObject({ fromUid: a, toUid: b, status: 1 });
    await devB.waitType('friend_request', (f) => f['request'].status === 1);
    expect((await devA.waitType('friend', () => true, { from: markA }))['relation']).toMatchObject({ userId: a, friendUid: b, state: 0 });
    expect((await devB.waitType('friend'))['relation']).toMatchObject({ userId: b, friendUid: a, state: 0 });
    expect(await t.admin.ok('/friend/list', { userId: a })).toEqual({ list: [b] });
    expect(await ask(devA, { type: 'friend_add', userId: b })).toMatchObject({ type: 'error', code: 23 });
    // Deleting ends it both ways.
    expect(await ask(devB, { type: 'friend_delete', userId: a })).toMatchObject({ type: 'relation_ok' });
    await devA.waitType('friend', (f) => f['relation'].state === 1);
    expect(await t.admin.ok('/friend/list', { userId: b })).toEqual({ list: [] });
    // A device blacklists: the other's messages are refused from then on.
    expect(await ask(devB, { type: 'blacklist', userId: a, blacked: true })).toMatchObject({ type: 'relation_ok' });
    expect(await deviceSend(devA, b, 'hello?')).toMatchObject({ type: 'error', code: 246 });
    expect(await ask(devA, { type: 'friend_add', userId: b })).toMatchObject({ type: 'error', code: 246 });
    expect(await ask(devB, { type: 'blacklist', userId: a, blacked: false })).toMatchObject({ type: 'relation_ok' });
    expect(await deviceSend(devA, b, 'hello!')).toMatchObject({ type: 'sent' });
  });

  it('relation frames refuse bad input with 251 and the connection stays open', async () => {
    const [a] = await users(t, 1);
    const dev = await t.device(a);
    for (const frame of [
      { type: 'friend_add' },
      { type: 'friend_add', userId: '' },
      { type: 'friend_add', userId: 7 },
      { type: 'friend_add', userId: 'x'.repeat(129) },
      { type: 'friend_add', userId: 'b', reason: 'r'.repeat(1025) },
      { type: 'friend_add', userId: 'b', reason: 5 },
      { type: 'friend_add', userId: a },
      { type: 'friend_answer', userId: 'b' },
      { type: 'friend_answer', userId: 'b', accept: 'yes' },
      { type: 'friend_delete', userId: null },
      { type: 'blacklist', userId: 'b' },
      { type: 'blacklist', userId: 'b', blacked: 1 },
    ]) {
      const id = fresh('bad');
      dev.send({ ...frame, id });
      expect(await dev.waitType('error', (f) => f['id'] === id), JSON.stringify(frame)).toMatchObject({ code: 251 });
    }
    dev.send({ type: 'ping', id: 'still' });
    await dev.waitType('pong', (f) => f['id'] === 'still');
  });

  it('a user setting put by the back end reaches the user’s devices (user_setting); user_settings lists them', async () => {
    const [a, b] = await users(t, 2);
    const devA = await t.device(a);
    const devB = await t.device(b);
    await t.admin.ok('/user/put_setting', { userId: a, scope: 3, key: `0-0-${b}`, value: '1' });
    expect(await devA.waitType('user_setting')).toEqual({ type: 'user_setting', setting: { scope: 3, key: `0-0-${b}`, value: '1', updateDt: expect.any(Number) } });
    devA.send({ type: 'user_settings', id: 'us' });
    expect(await devA.waitType('user_settings')).toEqual({ type: 'user_settings', id: 'us', settings: [{ scope: 3, key: `0-0-${b}`, value: '1', updateDt: expect.any(Number) }] });
    devB.send({ type: 'user_settings', id: 'none' });
    expect(await devB.waitType('user_settings')).toEqual({ type: 'user_settings', id: 'none', settings: [] });
    expect(devB.frames.filter((f) => f.type === 'user_setting')).toEqual([]);
  });

  it('a sensitive word refuses a device message (242) in the default mode; admin sends are not filtered', async () => {
    const [a, b] = await users(t, 2);
    const word = fresh('forbidden');
    await t.admin.ok('/sensitive/add', { words: [word] });
    try {
      const devA = await t.device(a);
      expect(await deviceSend(devA, b, `say ${word.toUpperCase()} now`)).toMatchObject({ type: 'error', code: 242, msg: 'sensitive matched' });
      const admin = await t.admin.send(a, single(b), text(`say ${word}`));
      expect((await getOne(t.admin, admin.messageUid)).payload.searchableContent).toBe(`say ${word}`);
      // Removed: allowed again (the cache is invalidated through the bus).
      await t.admin.ok('/sensitive/del', { words: [word] });
      expect(await deviceSend(devA, b, `say ${word}`)).toMatchObject({ type: 'sent' });
    } finally {
      await t.admin.ok('/sensitive/del', { words: [word] });
    }
  });
});

describe('relations.sensitiveFilter replace, relations.blacklistStrategy drop', () => {
  const t = useServer({ relations: { sensitiveFilter: 'replace', blacklistStrategy: 'drop' } });

  it('each sensitive word of a device message becomes ***, case-insensitively; the receiver gets the masked text', async () => {
    const [a, b] = await users(t, 2);
    const w1 = fresh('darn');
    const w2 = fresh('heck');
    await t.admin.ok('/sensitive/add', { words: [w1, w2] });
    const devA = await t.device(a);
    const devB = await t.device(b);
    const sent = await deviceSend(devA, b, `oh ${w1.toUpperCase()}, ${w2}!`);
    expect(sent).toMatchObject({ type: 'sent' });
    const got = await devB.waitMessage(sent['messageUid'] as number);
    expect(got['message'].payload.searchableContent).toBe('oh ***, ***!');
    expect((await getOne(t.admin, sent['messageUid'] as number)).payload.searchableContent).toBe('oh ***, ***!');
  });

  it('a blacklisted sender is told the message was sent; it is stored and delivered nowhere', async () => {
    const [a, b] = await users(t, 2);
    await t.admin.ok('/blacklist/status', { userId: b, targetUid: a, status: 2 });
    const devA = await t.device(a);
    const devB = await t.device(b);
    const sent = await deviceSend(devA, b, 'you will not see this');
    expect(sent).toMatchObject({ type: 'sent', messageUid: expect.any(Number) });
    expect(await t.admin.code('/message/get_one', { messageUid: sent['messageUid'] })).toBe(253);
    // A later message from a (posted by the back end) arrives; the dropped one never did.
    const after = await t.admin.send(a, single(b), text('marker'));
    await devB.waitMessage(after.messageUid);
    expect(devB.messageUids()).not.toContain(sent['messageUid']);
  });
});

describe('relations.disableStrangerChat with an allow list', () => {
  const vip = fresh('vip');
  const t = useServer({ relations: { disableStrangerChat: true, strangerChatAllowList: [vip] } });

  it('friends may chat, strangers are refused with 248 (nothing delivered); admin sends stay trusted', async () => {
    const [a, b, c] = await users(t, 3);
    await t.admin.ok('/friend/status', { userId: a, friendUid: b, status: 0 });
    const devA = await t.device(a);
    const devB = await t.device(b);
    const devC = await t.device(c);
    const toFriend = await deviceSend(devA, b, 'hello friend');
    expect(toFriend).toMatchObject({ type: 'sent' });
    await devB.waitMessage(toFriend['messageUid'] as number);
    const back = await deviceSend(devB, a, 'hello back');
    expect(back).toMatchObject({ type: 'sent' });
    await devA.waitMessage(back['messageUid'] as number);
    expect(await deviceSend(devC, a, 'hi stranger')).toMatchObject({ type: 'error', code: 248 });
    expect(await deviceSend(devA, c, 'who are you')).toMatchObject({ type: 'error', code: 248 });
    const admin = await t.admin.send(c, single(a), text('from the back end'));
    await devA.waitMessage(admin.messageUid);
    expect(devA.frames.filter((f) => f.type === 'message' && f['message'].payload.searchableContent === 'hi stranger')).toEqual([]);
    // No longer friends: refused from then on.
    await t.admin.ok('/friend/status', { userId: a, friendUid: b, status: 1 });
    expect(await deviceSend(devA, b, 'still there?')).toMatchObject({ type: 'error', code: 248 });
  });

  it('an allow-listed user may chat with strangers, either way', async () => {
    await t.admin.ok('/user/create', { userId: vip, name: vip, displayName: vip });
    const [a] = await users(t, 1);
    const devA = await t.device(a);
    const devVip = await t.device(vip);
    const toVip = await deviceSend(devA, vip, 'hi vip');
    expect(toVip).toMatchObject({ type: 'sent' });
    await devVip.waitMessage(toVip['messageUid'] as number);
    const fromVip = await deviceSend(devVip, a, 'hi a');
    expect(fromVip).toMatchObject({ type: 'sent' });
    await devA.waitMessage(fromVip['messageUid'] as number);
  });

  it('a robot or a user of another type (here 2, a device) is exempt, either side', async () => {
    const robot = fresh('bot');
    await t.admin.ok('/robot/create', { userId: robot, name: robot, callback: '' });
    const thing = fresh('thing');
    await t.admin.ok('/user/create', { userId: thing, name: thing, displayName: thing, type: 2 });
    const [a, b] = await users(t, 2);
    const devA = await t.device(a);
    const devThing = await t.device(thing);
    const toBot = await deviceSend(devA, robot, 'hello robot');
    expect(toBot).toMatchObject({ type: 'sent' });
    expect((await getOne(t.admin, toBot['messageUid'] as number)).payload.searchableContent).toBe('hello robot');
    const toThing = await deviceSend(devA, thing, 'hello thing');
    expect(toThing).toMatchObject({ type: 'sent' });
    await devThing.waitMessage(toThing['messageUid'] as number);
    const fromThing = await deviceSend(devThing, a, 'hello human');
    expect(fromThing).toMatchObject({ type: 'sent' });
    await devA.waitMessage(fromThing['messageUid'] as number);
    // The exemption is theirs, not a's: a still may not write to the stranger b.
    expect(await deviceSend(devA, b, 'hello b')).toMatchObject({ type: 'error', code: 248 });
  });
});
