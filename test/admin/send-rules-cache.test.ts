import { describe, expect, it } from 'vitest';
import { channel, createUsers, fresh, group, single } from '../helpers/messages.js';
import { useServer } from '../helpers/use-server.js';

/**
 * The send rules (membership, block, mute) are decided from an in-memory cache that the bus
 * invalidates. Each case changes the facts through the admin API and sends at once, alternating
 * refused and allowed states; it starts refused, so the facts the cache loads are the refusing ones,
 * and each refused → allowed step fails if the change did not invalidate them (a stale cache would
 * refuse again). An allowed → refused step is also checked by the store inside the write, so it
 * cannot show a stale cache; test/unit/send-rules-cache.test.ts shows that there the cache alone
 * refuses, without a store call.
 */

// Its admin client never repeats a nonce (the concurrent case sends many requests at once).
const t = useServer({ admin: { strictSend: true } }); // the send rules through admin sends (trusted by default)

type Conv = { type: number; target: string; line?: number };

/** The Wildfire code of a send (0 on success). */
const sendCode = (sender: string, conv: Conv): Promise<number> =>
  t.admin.code('/message/send', { sender, conv: { line: 0, ...conv }, payload: { type: 1, searchableContent: 'x', persistFlag: 1 } });

const op = (path: string, body: Record<string, unknown>) => t.admin.ok(path, body);

async function groupWith(owner: string, members: string[]): Promise<string> {
  const g = fresh('g');
  await t.admin.createGroup(g, owner, members);
  return g;
}

describe('send rules follow every change at once', () => {
  it('member mute and unmute (manager/mute): 241, 0, 241, 0', async () => {
    const [o, a] = await t.users('o', 'a');
    const g = await groupWith(o, [a]);
    for (let round = 0; round < 2; round++) {
      await op('/group/manager/mute', { operator: o, group_id: g, members: [a], is_manager: true });
      expect(await sendCode(a, group(g))).toBe(241);
      expect(await sendCode(a, group(g))).toBe(241);
      await op('/group/manager/mute', { operator: o, group_id: g, members: [a], is_manager: false });
      expect(await sendCode(a, group(g))).toBe(0);
    }
  });

  it('mute-all (group/modify type 3), managers and allowed members', async () => {
    const [o, a, b] = await t.users('o', 'a', 'b');
    const g = await groupWith(o, [a, b]);
    await op('/group/modify', { operator: o, group_id: g, type: 3, value: '1' });
    expect(await sendCode(a, group(g))).toBe(241);
    expect(await sendCode(b, group(g))).toBe(241);
    expect(await sendCode(o, group(g))).toBe(0);
    await op('/group/manager/set', { operator: o, group_id: g, members: [a], is_manager: true });
    expect(await sendCode(a, group(g))).toBe(0);
    await op('/group/manager/set', { operator: o, group_id: g, members: [a], is_manager: false });
    expect(await sendCode(a, group(g))).toBe(241);
    await op('/group/manager/allow', { operator: o, group_id: g, members: [b], is_manager: true });
    expect(await sendCode(b, group(g))).toBe(0);
    await op('/group/manager/allow', { operator: o, group_id: g, members: [b], is_manager: false });
    expect(await sendCode(b, group(g))).toBe(241);
    await op('/group/modify', { operator: o, group_id: g, type: 3, value: '0' });
    expect(await sendCode(a, group(g))).toBe(0);
    expect(await sendCode(b, group(g))).toBe(0);
    await op('/group/modify', { operator: o, group_id: g, type: 3, value: '1' });
    expect(await sendCode(a, group(g))).toBe(241);
  });

  it('transfer in a muted group: the new owner may speak, the old one (now a member) may not', async () => {
    const [o, a] = await t.users('o', 'a');
    const g = await groupWith(o, [a]);
    await op('/group/modify', { operator: o, group_id: g, type: 3, value: '1' });
    expect(await sendCode(a, group(g))).toBe(241);
    expect(await sendCode(o, group(g))).toBe(0);
    await op('/group/transfer', { operator: o, group_id: g, new_owner: a });
    expect(await sendCode(a, group(g))).toBe(0);
    expect(await sendCode(o, group(g))).toBe(241);
    await op('/group/transfer', { operator: a, group_id: g, new_owner: o });
    expect(await sendCode(o, group(g))).toBe(0);
    expect(await sendCode(a, group(g))).toBe(241);
  });

  it('block and unblock, user mute and unmute (status 2, 1, 0): 245, 0 on every send path', async () => {
    const [a, b, o] = await t.users('a', 'b', 'o');
    const g = await groupWith(o, [a]);
    const multicast = () => t.admin.code('/message/multicast', { sender: a, targets: [b], payload: { type: 1 } });
    const broadcast = () => t.admin.code('/message/broadcast', { sender: a, payload: { type: 1 } });
    for (const status of [2, 1]) {
      await op('/user/update_block_status', { userId: a, status });
      expect(await sendCode(a, single(b)), `status ${status}`).toBe(245);
      expect(await sendCode(a, group(g)), `status ${status}`).toBe(245);
      expect(await multicast(), `status ${status}`).toBe(245);
      expect(await broadcast(), `status ${status}`).toBe(245);
      await op('/user/update_block_status', { userId: a, status: 0 });
      expect(await sendCode(a, single(b)), `status ${status} lifted`).toBe(0);
      expect(await sendCode(a, group(g)), `status ${status} lifted`).toBe(0);
      expect(await multicast(), `status ${status} lifted`).toBe(0);
    }
    // A blocked target is still a user: others may send to it.
    await op('/user/update_block_status', { userId: b, status: 2 });
    expect(await sendCode(a, single(b))).toBe(0);
  });

  it('remove, re-add; quit, re-add: 9, 0, 9, 0', async () => {
    const [o, a] = await t.users('o', 'a');
    const g = await groupWith(o, [a]);
    await op('/group/member/del', { operator: o, group_id: g, members: [a] });
    expect(await sendCode(a, group(g))).toBe(9);
    await op('/group/member/add', { operator: o, group_id: g, members: [{ member_id: a }] });
    expect(await sendCode(a, group(g))).toBe(0);
    await op('/group/member/quit', { operator: a, group_id: g });
    expect(await sendCode(a, group(g))).toBe(9);
    await op('/group/member/add', { operator: o, group_id: g, members: [{ member_id: a }] });
    expect(await sendCode(a, group(g))).toBe(0);
  });

  it('dismiss and re-create a group, destroy and re-create a user: 253, then 0', async () => {
    const [o, a, b] = await t.users('o', 'a', 'b');
    const g = await groupWith(o, [a]);
    await op('/group/del', { operator: o, group_id: g });
    expect(await sendCode(a, group(g))).toBe(253);
    await t.admin.createGroup(g, o, [a]);
    expect(await sendCode(a, group(g))).toBe(0);

    await op('/user/destroy', { userId: b });
    expect(await sendCode(a, single(b))).toBe(253);
    expect(await sendCode(b, single(a))).toBe(253);
    await t.admin.createUser(b);
    expect(await sendCode(a, single(b))).toBe(0);
    expect(await sendCode(b, single(a))).toBe(0);
    // Destroying a member takes it out of its groups; re-created, it is no member.
    await op('/user/destroy', { userId: a });
    await t.admin.createUser(a);
    expect(await sendCode(a, group(g))).toBe(9);
    await op('/group/member/add', { operator: o, group_id: g, members: [{ member_id: a }] });
    expect(await sendCode(a, group(g))).toBe(0);
  });

  it('unknown users and groups become known when created: 253, then 0', async () => {
    const [a, later] = [fresh('a'), fresh('later')];
    await createUsers(t.admin, a);
    const g = fresh('g');
    expect(await sendCode(a, single(later))).toBe(253);
    expect(await sendCode(later, single(a))).toBe(253);
    expect(await t.admin.code('/message/multicast', { sender: a, targets: [later, a], payload: { type: 1 } })).toBe(253);
    expect(await sendCode(a, group(g))).toBe(253);
    await t.admin.createUser(later);
    await t.admin.createGroup(g, later, [a]);
    expect(await sendCode(a, single(later))).toBe(0);
    expect(await sendCode(later, single(a))).toBe(0);
    expect(await t.admin.code('/message/multicast', { sender: a, targets: [later, a], payload: { type: 1 } })).toBe(0);
    expect(await sendCode(a, group(g))).toBe(0);
  });

  it('channels: subscribe, unsubscribe, destroy and re-create: 21, 0, 21, 0, 253, 0', async () => {
    const [owner, s] = await t.users('owner', 's');
    const ch = fresh('ch');
    await op('/channel/create', { owner, name: ch, targetId: ch });
    expect(await sendCode(s, channel(ch))).toBe(21);
    await op('/channel/subscribe', { channelId: ch, userId: s, subscribe: 1 });
    expect(await sendCode(s, channel(ch))).toBe(0);
    await op('/channel/subscribe', { channelId: ch, userId: s, subscribe: 0 });
    expect(await sendCode(s, channel(ch))).toBe(21);
    await op('/channel/subscribe', { channelId: ch, userId: s, subscribe: 1 });
    expect(await sendCode(s, channel(ch))).toBe(0);
    await op('/channel/destroy', { channelId: ch });
    expect(await sendCode(owner, channel(ch))).toBe(253);
    expect(await sendCode(s, channel(ch))).toBe(253);
    await op('/channel/create', { owner, name: ch, targetId: ch });
    expect(await sendCode(owner, channel(ch))).toBe(0);
  });

  it('concurrent sends around a mute: each answered 0 or 241 while it runs, every one after it 241', async () => {
    const [o, a] = await t.users('o', 'a');
    const g = await groupWith(o, [a]);
    const during = Array.from({ length: 20 }, () => sendCode(a, group(g)));
    await op('/group/manager/mute', { operator: o, group_id: g, members: [a], is_manager: true });
    const after = await Promise.all(Array.from({ length: 20 }, () => sendCode(a, group(g))));
    for (const c of await Promise.all(during)) expect([0, 241]).toContain(c);
    expect(after).toEqual(Array.from({ length: 20 }, () => 241));
  });
});
