/**
 * Chatroom membership in Redis: the port's contract, plus what sharing adds — two nodes see one
 * membership (a join on one node replaces the user's entry made on the other), and a node that
 * restarts purges the entries of its previous run (their sessions start with its node id).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RedisChatroomMembership } from '../../src/bus/redis-chatroom-membership.js';
import type { ChatroomMember } from '../../src/core/ports/chatroom-membership.js';
import { dropPrefix, testPrefix, testRedisUrl } from '../helpers/backends.js';
import { membershipContract } from './chatroom-membership.contract.js';

const url = testRedisUrl();

membershipContract('redis', async () => {
  const prefix = testPrefix();
  const membership = await RedisChatroomMembership.connect({ url, prefix, nodeId: 0 });
  return {
    membership,
    cleanup: async () => {
      await membership.close();
      await dropPrefix(url, prefix);
    },
  };
});

const m = (userId: string, session: string): ChatroomMember => ({ userId, clientId: `${userId}-c`, platform: 1, session, joinedAt: 1 });

describe('RedisChatroomMembership: several nodes', () => {
  const opened: RedisChatroomMembership[] = [];
  const prefixes: string[] = [];
  afterEach(async () => {
    for (const x of opened.splice(0)) await x.close();
    for (const p of prefixes.splice(0)) await dropPrefix(url, p);
  });
  async function node(prefix: string, nodeId: number): Promise<RedisChatroomMembership> {
    const x = await RedisChatroomMembership.connect({ url, prefix, nodeId });
    opened.push(x);
    return x;
  }

  it('one membership for the cluster: a join through node 1 replaces the entry made through node 0', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const [a, b] = [await node(prefix, 0), await node(prefix, 1)];
    await a.join('room1', m('u', '0:s1'));
    expect(await b.of('u')).toMatchObject({ chatroomId: 'room1', member: { session: '0:s1' } });
    expect(await b.join('room2', m('u', '1:s2'))).toMatchObject({ chatroomId: 'room1', member: { session: '0:s1' } });
    expect(await a.count('room1')).toBe(0);
    expect((await a.members('room2', 10)).map((x) => x.session)).toEqual(['1:s2']);
    // The first connection ending on node 0 removes nothing: the entry is node 1's now.
    expect(await a.leave('room2', 'u', '0:s1')).toBeNull();
    expect(await b.count('room2')).toBe(1);
  });

  it('a node that restarts purges the entries of its previous run, and only those', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const first = await node(prefix, 4);
    const other = await node(prefix, 5);
    await first.join('r', m('x', '4:old'));
    await other.join('r', m('y', '5:live'));
    await first.close(); // killed, say: its entries stay…
    expect(await other.count('r')).toBe(2);
    await node(prefix, 4); // …until it starts again
    expect(await other.of('x')).toBeNull();
    expect((await other.members('r', 10)).map((x) => x.userId)).toEqual(['y']);
  });
});
