import { describe, expect, it } from 'vitest';
import { SwitchboardError } from '../../sdk/src/index.js';
import { fresh } from '../helpers/messages.js';
import { useServer } from '../helpers/use-server.js';

/**
 * The SDK's relation calls against a real server: `friend_request` and `friend` events, friends()
 * and friendRequests(), and a blacklisted send rejected with Wildfire's code.
 */
describe('SDK relations', () => {
  const t = useServer();

  it('friend_request and friend events arrive live; friendRequests() and friends() list them', async () => {
    const [a, b] = await t.users('a', 'b');
    const sb = t.sdk({ token: await t.token(b, 'b-sdk') });
    await sb.client.connect();
    await t.admin.ok('/friend/send_request', { userId: a, friendUid: b, reason: 'hello' });
    const req = await sb.waitFor((e) => e.event === 'friend_request');
    expect(req.data).toEqual({ request: { fromUid: a, toUid: b, reason: 'hello', extra: '', status: 0, updateDt: expect.any(Number) } });
    expect(await sb.client.friendRequests()).toMatchObject([{ fromUid: a, toUid: b, reason: 'hello', status: 0 }]);

    await t.admin.ok('/friend/status', { userId: a, friendUid: b, status: 0 });
    const rel = await sb.waitFor((e) => e.event === 'friend');
    expect(rel.data).toEqual({ relation: { userId: b, friendUid: a, alias: '', extra: '', state: 0, blacked: 0, updateDt: expect.any(Number) } });
    expect(await sb.client.friends()).toMatchObject([{ userId: b, friendUid: a, state: 0, blacked: 0 }]);
  });

  it('addFriend, answerFriendRequest, deleteFriend, setBlacklist: the whole flow between two SDK clients', async () => {
    const [a, b] = await t.users('a', 'b');
    const sa = t.sdk({ token: await t.token(a, 'a-sdk') });
    const sb = t.sdk({ token: await t.token(b, 'b-sdk') });
    await Promise.all([sa.client.connect(), sb.client.connect()]);
    await sa.client.addFriend(b, 'hi');
    await sb.waitFor((e) => e.event === 'friend_request' && e.data.request.fromUid === a);
    await expect(sa.client.addFriend(b)).rejects.toMatchObject({ code: 16 });
    await expect(sa.client.answerFriendRequest(b, true)).rejects.toMatchObject({ code: 253 });
    await sb.client.answerFriendRequest(a, true);
    await sa.waitFor((e) => e.event === 'friend' && e.data.relation.state === 0);
    await sa.waitFor((e) => e.event === 'friend_request' && e.data.request.status === 1);
    expect((await sb.client.friends()).map((r) => [r.friendUid, r.state])).toEqual([[a, 0]]);
    await sa.client.deleteFriend(b);
    await sb.waitFor((e) => e.event === 'friend' && e.data.relation.state === 1);
    await sb.client.setBlacklist(a, true);
    await expect(sa.client.send({ type: 0, target: b, line: 0 }, { type: 1, searchableContent: 'x', persistFlag: 3 })).rejects.toMatchObject({ code: 246 });
    await sb.client.setBlacklist(a, false);
    await sa.client.send({ type: 0, target: b, line: 0 }, { type: 1, searchableContent: 'y', persistFlag: 3 });
  });

  it('user_setting events arrive live; userSettings() lists them (the conversation-top flag)', async () => {
    const [a] = await t.users('a');
    const sa = t.sdk({ token: await t.token(a, 'a-sdk') });
    await sa.client.connect();
    await t.admin.ok('/user/put_setting', { userId: a, scope: 3, key: '1-0-team', value: '1' });
    const ev = await sa.waitFor((e) => e.event === 'user_setting');
    expect(ev.data).toEqual({ setting: { scope: 3, key: '1-0-team', value: '1', updateDt: expect.any(Number) } });
    expect(await sa.client.userSettings()).toEqual([{ scope: 3, key: '1-0-team', value: '1', updateDt: expect.any(Number) }]);
  });

  it('a send to a user who blacklisted this one rejects with 246', async () => {
    const [a, b] = await t.users('a', 'b');
    await t.admin.ok('/blacklist/status', { userId: b, targetUid: a, status: 2 });
    const sa = t.sdk({ token: await t.token(a, 'a-sdk') });
    await sa.client.connect();
    const err = await sa.client.send({ type: 0, target: b, line: 0 }, { type: 1, searchableContent: fresh('hi'), persistFlag: 3 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SwitchboardError);
    expect((err as SwitchboardError).code).toBe(246);
  });
});
