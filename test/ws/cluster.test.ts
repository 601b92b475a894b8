/**
 * Two nodes over Redis (issue 13, items 3 and 5, bus half): node A is the test server (Redis bus on a
 * prefix of its own), node B an in-process node over the same store with its own Redis bus, presence,
 * Hub and gateway (cluster-harness.ts). Messages, revocations and cache invalidations cross over Redis;
 * online status is cluster-wide; missed traffic makes B's devices resync from their cursors; events of
 * two publishers that cross are put back in cursor order, or sent late rather than lost.
 *
 * Needs the Redis at SWITCHBOARD_TEST_REDIS_URL (default redis://127.0.0.1:6379), whatever bus the
 * other end-to-end suites run on.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import type { RedisBus } from '../../src/bus/redis-bus.js';
import type { HubEvent } from '../../src/core/events.js';
import { Hub } from '../../src/core/hub.js';
import { normalizePayload } from '../../src/core/payload.js';
import type { SyncEvent } from '../../src/core/ports/store.js';
import { openRedisBus, testPrefix, testRedisUrl } from '../helpers/backends.js';
import { createUsers, fresh, group, single, text } from '../helpers/messages.js';
import { useServer } from '../helpers/use-server.js';
import { cursorsOf, device, isNonDecreasing, type Frame, type WsClient } from '../helpers/ws-client.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { startNode, type ClusterNode } from './cluster-harness.js';

const redisUrl = testRedisUrl();
const prefix = testPrefix();

let frameId = 0;
async function ask(c: WsClient, frame: Record<string, unknown>): Promise<Frame> {
  const id = `c${++frameId}`;
  c.send({ ...frame, id });
  return c.waitFor((f) => f['id'] === id, { label: `the reply to ${String(frame['type'])} ${id}` });
}

/** Resolves with the first event on `bus` that `pred` accepts (subscribe before causing it). */
function next(bus: RedisBus, pred: (e: HubEvent) => boolean): Promise<HubEvent> {
  return new Promise((resolve) => {
    const off = bus.subscribe((e) => {
      if (pred(e)) {
        off();
        resolve(e);
      }
    });
  });
}

/** Kill `bus`'s subscription connection on the shared Redis (found by its connection name). */
async function killSubscription(bus: RedisBus): Promise<void> {
  const admin = new Redis(redisUrl);
  try {
    const list = (await admin.client('LIST')) as string;
    const line = list.split('\n').find((l) => l.includes(`name=switchboard-bus-sub-${bus.publisher}`));
    if (!line) throw new Error('the subscription connection is not listed');
    await admin.client('KILL', 'ID', /\bid=(\d+)/.exec(line)![1]!);
  } finally {
    admin.disconnect();
  }
}

describe('a cluster of two nodes over Redis', () => {
  const t = useServer({ bus: { url: redisUrl, prefix, heartbeatMs: 200 } });
  let b: ClusterNode;
  const extra: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    b = await startNode(t.server.hub.store, { url: redisUrl, prefix }, 1);
  });
  afterEach(async () => {
    for (const x of extra.splice(0)) await x.close();
  });
  afterAll(async () => {
    await b.close();
  });

  /**
   * A Hub over the cluster's store whose events go nowhere: what it writes is stored, with cursors,
   * but never published — a publish lost on the way. Its sync events are recorded.
   */
  function silentHub(): { hub: Hub; events: Array<{ audience: unknown; event: SyncEvent }> } {
    const bus = new MemoryBus();
    const events: Array<{ audience: unknown; event: SyncEvent }> = [];
    bus.subscribe((e) => {
      if (e.type === 'sync') events.push({ audience: e.audience, event: e.event });
    });
    return { hub: new Hub(t.server.hub.store, bus, { tokenTtlMs: 3_600_000, maxGroupMembers: 2000 }), events };
  }

  it('a message sent through node A reaches devices on node B (single chat and group), once, in cursor order', async () => {
    const [alice, bob, carol] = [fresh('alice'), fresh('bob'), fresh('carol')];
    await createUsers(t.admin, alice, bob, carol);
    const g = fresh('g');
    await t.admin.createGroup(g, alice, [bob, carol]);
    const onB = await device(b.url, t.admin, bob);
    const onA = await device(t.url, t.admin, carol);
    const m1 = await t.admin.send(alice, single(bob), text('to bob'));
    const m2 = await t.admin.send(alice, group(g), text('to the group'));
    await onB.waitMessage(m1.messageUid);
    await onB.waitMessage(m2.messageUid);
    await onA.waitMessage(m2.messageUid);
    expect(onB.messageUids().filter((u) => u === m1.messageUid || u === m2.messageUid)).toEqual([m1.messageUid, m2.messageUid]);
    expect(isNonDecreasing(cursorsOf(onB.frames))).toBe(true);
    // And back: a device on B sends, a device on A receives.
    const reply = await ask(onB, { type: 'send', conv: group(g), payload: text('from node B') });
    expect(reply.type).toBe('sent');
    await onA.waitFor((f) => f.type === 'message' && f['message']?.['payload']?.['searchableContent'] === 'from node B');
  });

  it('online status is cluster-wide: onlinestatus, online_count and online_list through either node', async () => {
    const [dan] = [fresh('dan')];
    await createUsers(t.admin, dan);
    await device(t.url, t.admin, dan, 'dan-on-a');
    await device(b.url, t.admin, dan, 'dan-on-b');
    const status = async (): Promise<string[]> => {
      const r = (await t.admin.ok('/user/onlinestatus', { userId: dan })) as { sessions: Array<{ clientId: string }> };
      return r.sessions.map((s) => s.clientId).sort();
    };
    // Presence writes are asynchronous: wait for them, then check every answer.
    for (let i = 0; (await status()).length < 2; i++) if (i > 1000) throw new Error('dan never showed on two nodes');
    expect(await status()).toEqual(['dan-on-a', 'dan-on-b']);
    const counts = (await t.admin.ok('/user/online_count', {})) as Array<{ node: number; count: number }>;
    expect(counts.map((c) => c.node)).toEqual([1, 2]); // Wildfire numbers nodes from 1
    expect(counts.every((c) => c.count >= 1)).toBe(true);
    const onNode2 = (await t.admin.ok('/user/online_list', { nodeId: 2, offset: 0, count: 100 })) as { userClients: Array<{ userId: string; clientId: string }>; totalCount: number };
    expect(onNode2.userClients).toContainEqual({ userId: dan, clientId: 'dan-on-b', platform: 1 });
    expect(onNode2.userClients.some((c) => c.clientId === 'dan-on-a')).toBe(false);
    const all = (await t.admin.ok('/user/online_list', { offset: 0, count: 100 })) as { totalCount: number };
    expect(all.totalCount).toBe(counts.reduce((n, c) => n + c.count, 0));
  });

  it('kick-off through node A closes the device on node B (4003)', async () => {
    const [erin] = [fresh('erin')];
    await createUsers(t.admin, erin);
    const d = await device(b.url, t.admin, erin, 'erin-phone');
    await t.admin.ok('/user/kickoff_client', { first: erin, second: 'erin-phone' });
    const info = await d.closed;
    expect(info.code).toBe(4003);
  });

  it('send-rule caches on node B follow changes made through node A (group mute, then unmute)', async () => {
    const [owner, member] = [fresh('own'), fresh('mem')];
    await createUsers(t.admin, owner, member);
    const g = fresh('g');
    await t.admin.createGroup(g, owner, [member]);
    const d = await device(b.url, t.admin, member);
    expect((await ask(d, { type: 'send', conv: group(g), payload: text('before') })).type).toBe('sent'); // B caches the group
    const isG = (e: HubEvent): boolean => e.type === 'cache.invalidate' && e.scope === 'group' && e.id === g;
    let seen = next(b.bus, isG);
    await t.admin.ok('/group/manager/mute', { operator: owner, group_id: g, members: [member], is_manager: true });
    await seen;
    expect(await ask(d, { type: 'send', conv: group(g), payload: text('muted') })).toMatchObject({ type: 'error', code: 241 });
    seen = next(b.bus, isG);
    await t.admin.ok('/group/manager/mute', { operator: owner, group_id: g, members: [member], is_manager: false });
    await seen;
    // Refused from B's cache for a minute had the invalidation not crossed.
    expect((await ask(d, { type: 'send', conv: group(g), payload: text('unmuted') })).type).toBe('sent');
  });

  it('a conversation deleted through node A is forgotten by node B’s peer cache (read reports refused there at once)', async () => {
    const [x, y] = [fresh('x'), fresh('y')];
    await createUsers(t.admin, x, y);
    await t.admin.send(x, single(y), text('hello'));
    const d = await device(b.url, t.admin, y);
    expect((await ask(d, { type: 'read', conv: single(x), timestamp: Date.now() })).type).toBe('read_ok'); // B caches y's chats
    const seen = next(b.bus, (e) => e.type === 'sync' && e.event.type === 'conv_delete');
    await t.admin.ok('/conversation/delete', { userId: y, conversation: single(x) });
    await seen;
    expect(await ask(d, { type: 'read', conv: single(x), timestamp: Date.now() })).toMatchObject({ type: 'error', code: 253 });
  });

  it('a revocation among the missed traffic: the device on node B is closed (4003) once B notices the gap', async () => {
    const [gail] = [fresh('gail')];
    await createUsers(t.admin, gail);
    const d = await device(b.url, t.admin, gail, 'gail-phone');
    await silentHub().hub.users.kickoff(gail, 'gail-phone'); // tokens revoked in the store; the revoke never published
    await killSubscription(b.bus);
    expect((await d.closed).code).toBe(4003);
  });

  it('missed bus traffic (node B’s subscription killed): B’s devices resync from their cursors and get what was never published to them', async () => {
    const [sender, rcpt] = [fresh('s'), fresh('r')];
    await createUsers(t.admin, sender, rcpt);
    const d = await device(b.url, t.admin, rcpt);
    const before = await t.admin.send(sender, single(rcpt), text('before'));
    await d.waitMessage(before.messageUid);
    // Stored with a cursor, never published: only a resync can bring it.
    const silent = silentHub();
    const lost = await silent.hub.messages.send({ sender, conv: single(rcpt), payload: normalizePayload(text('lost on the way')) });
    const gaps: string[] = [];
    b.bus.onGap((g) => gaps.push(g.reason));
    await killSubscription(b.bus);
    const got = await d.waitMessage(lost.message.uid);
    expect(gaps).toContain('reconnect');
    expect(got['cursor']).toBe(silent.events[0]!.event.seq);
    // Nothing repeated, cursors never went back, and the device was not disconnected.
    const after = await t.admin.send(sender, single(rcpt), text('after'));
    await d.waitMessage(after.messageUid);
    expect(d.messageUids().filter((u) => u === lost.message.uid)).toHaveLength(1);
    expect(isNonDecreasing(cursorsOf(d.frames))).toBe(true);
    expect(d.closeInfo).toBeUndefined();
  });

  describe('events of two nodes that cross on the way', () => {
    /** Two messages to `rcpt`, stored (cursors s1 < s2) but not published; their bus events. */
    async function twoStored(sender: string, rcpt: string): Promise<Array<{ uid: number; event: HubEvent }>> {
      const silent = silentHub();
      const m1 = await silent.hub.messages.send({ sender, conv: single(rcpt), payload: normalizePayload(text('first')) });
      const m2 = await silent.hub.messages.send({ sender, conv: single(rcpt), payload: normalizePayload(text('second')) });
      return [m1, m2].map((m, i) => {
        const e = silent.events[i]!;
        return { uid: m.message.uid, event: { type: 'sync', audience: e.audience, event: e.event } as HubEvent };
      });
    }

    /** Two more publishers (nodes X and Y) on the cluster's channel, heard by B before the test's events. */
    async function publishers(node: ClusterNode): Promise<[RedisBus, RedisBus]> {
      const x = await openRedisBus(redisUrl, prefix);
      const y = await openRedisBus(redisUrl, prefix);
      extra.push(x, y);
      const heard = new Promise<void>((resolve) => {
        let n = 0;
        const off = node.bus.subscribe((e) => {
          if (e.type === 'outbox.wake' && ++n === 2) {
            off();
            resolve();
          }
        });
      });
      await x.publish({ type: 'outbox.wake' });
      await y.publish({ type: 'outbox.wake' });
      await heard;
      return [x, y];
    }

    const isMessage = (uid: number) => (e: HubEvent) => e.type === 'sync' && e.event.type === 'message' && e.event.uid === uid;

    it('within the reorder window: held and delivered in cursor order', async () => {
      const node = await startNode(t.server.hub.store, { url: redisUrl, prefix }, 2, { reorderWindowMs: 300 });
      extra.push(node);
      const [sender, rcpt] = [fresh('s'), fresh('r')];
      await createUsers(t.admin, sender, rcpt);
      const d = await device(node.url, t.admin, rcpt);
      const [m1, m2] = await twoStored(sender, rcpt);
      const [x, y] = await publishers(node);
      // The later cursor first, from node X; once this node has it, the earlier one from node Y.
      const arrived = next(node.bus, isMessage(m2!.uid));
      await x.publish(m2!.event);
      await arrived;
      expect(d.messageUids(), 'held in the window').toEqual([]);
      await y.publish(m1!.event);
      await d.waitMessage(m2!.uid);
      expect(d.messageUids()).toEqual([m1!.uid, m2!.uid]);
      expect(isNonDecreasing(cursorsOf(d.frames))).toBe(true);
    });

    it('beyond the window (here 0): the late event is sent with the current cursor, not dropped', async () => {
      const node = await startNode(t.server.hub.store, { url: redisUrl, prefix }, 3, { reorderWindowMs: 0 });
      extra.push(node);
      const [sender, rcpt] = [fresh('s'), fresh('r')];
      await createUsers(t.admin, sender, rcpt);
      const d = await device(node.url, t.admin, rcpt);
      const [m1, m2] = await twoStored(sender, rcpt);
      const [x, y] = await publishers(node);
      await x.publish(m2!.event);
      await d.waitMessage(m2!.uid);
      await y.publish(m1!.event);
      const late = await d.waitMessage(m1!.uid);
      const s2 = (m2!.event as Extract<HubEvent, { type: 'sync' }>).event.seq;
      expect(late['cursor']).toBe(s2);
      expect(d.messageUids()).toEqual([m2!.uid, m1!.uid]);
      expect(isNonDecreasing(cursorsOf(d.frames))).toBe(true);
      // A repeat of either is still dropped.
      await x.publish(m2!.event);
      await y.publish(m1!.event);
      const marker = await t.admin.send(sender, single(rcpt), text('marker'));
      await d.waitMessage(marker.messageUid);
      expect(d.messageUids()).toEqual([m2!.uid, m1!.uid, marker.messageUid]);
    });

    it('a gap after more live events than a connection remembers, late ones among them: the resync sends what was missed, once, and repeats nothing', async () => {
      const node = await startNode(t.server.hub.store, { url: redisUrl, prefix }, 4, { reorderWindowMs: 0 });
      extra.push(node);
      const [sender, rcpt] = [fresh('s'), fresh('r')];
      await createUsers(t.admin, sender, rcpt);
      const d = await device(node.url, t.admin, rcpt);
      // 80 messages stored with increasing cursors, none published yet.
      const silent = silentHub();
      const uids: number[] = [];
      for (let i = 0; i < 80; i++) uids.push((await silent.hub.messages.send({ sender, conv: single(rcpt), payload: normalizePayload(text(`m${i}`)) })).message.uid);
      const ev = (i: number): HubEvent => ({ type: 'sync', audience: silent.events[i]!.audience, event: silent.events[i]!.event }) as HubEvent;
      const [x] = await publishers(node);
      // m1..m66 live but m40 (lost on the way), then m0 late: the connection's ring of live cursors
      // (64) wraps, so cursors above the late one leave it. m67..m79 are never published.
      for (let i = 1; i <= 66; i++) if (i !== 40) await x.publish(ev(i));
      await d.waitMessage(uids[66]!);
      await x.publish(ev(0));
      await d.waitMessage(uids[0]!);
      await killSubscription(node.bus);
      for (const uid of uids) await d.waitMessage(uid);
      const marker = await t.admin.send(sender, single(rcpt), text('marker'));
      await d.waitMessage(marker.messageUid);
      const got = d.messageUids();
      for (const uid of uids) expect(got.filter((u) => u === uid), `message ${uids.indexOf(uid)}`).toHaveLength(1);
      expect(isNonDecreasing(cursorsOf(d.frames))).toBe(true);
    });
  });
});

describe('one node whose Redis goes away and comes back', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis.close();
  });
  const t = useServer(() => ({ bus: { url: redis.url, prefix: testPrefix(), heartbeatMs: 200 } }));

  it('keeps serving its own devices; online status answers code 4 meanwhile, then is rewritten by itself', async () => {
    const [a, bob] = [fresh('a'), fresh('bob')];
    await createUsers(t.admin, a, bob);
    const d = await device(t.url, t.admin, bob, 'bob-phone');
    const online = async (): Promise<number> => {
      const { body } = await t.admin.post<{ sessions: unknown[] }>('/user/onlinestatus', { userId: bob });
      return body.code === 0 ? (body.result?.sessions.length ?? 0) : -body.code;
    };
    for (let i = 0; (await online()) !== 1; i++) if (i > 1000) throw new Error('bob never showed online');
    await redis.stop();
    const m = await t.admin.send(a, single(bob), text('while Redis is away'));
    await d.waitMessage(m.messageUid);
    expect(await t.admin.code('/user/online_count', {})).toBe(4);
    await redis.start(); // empty: the node writes its devices again once reconnected
    for (let i = 0; (await online()) !== 1; i++) if (i > 5000) throw new Error('bob never showed online again');
    const after = await t.admin.send(a, single(bob), text('after'));
    await d.waitMessage(after.messageUid);
    expect(d.closeInfo).toBeUndefined();
    // The reconnection was counted as missed traffic (the devices resynced).
    const gaps = async (): Promise<number> => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      return Number(/^switchboard_bus_gaps_total\{reason="reconnect"\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    for (let i = 0; (await gaps()) < 1; i++) if (i > 1000) throw new Error('no gap counted');
  });
});
