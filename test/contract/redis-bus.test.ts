/**
 * The Redis bus beyond the shared contract (bus.contract.ts): several connected instances (nodes),
 * per-publisher order across nodes, and detection of missed traffic — a killed subscription (CLIENT
 * KILL on the shared Redis, by this bus's own connection name), a restarted redis-server (a private one
 * started by the test, never the shared one), a skipped sequence number and a heartbeat announcing an
 * event that never came. The shared Redis must be running: without it this suite fails.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { RedisBus } from '../../src/bus/redis-bus.js';
import { encodeEvent, encodeHeartbeat } from '../../src/bus/wire.js';
import type { HubEvent } from '../../src/core/events.js';
import type { BusGap, EventOrigin } from '../../src/core/ports/bus.js';
import { dropPrefix, openRedisBus, testPrefix, testRedisUrl } from '../helpers/backends.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { startProxy } from '../helpers/tcp-proxy.js';

const ev = (id: string): HubEvent => ({ type: 'cache.invalidate', scope: 'user', id });
const idOf = (e: HubEvent): string => (e.type === 'cache.invalidate' ? e.id : `?${e.type}`);

/** Records what a bus delivers, and lets a test wait for an event id or a gap. */
class Watch {
  readonly ids: string[] = [];
  readonly origins: EventOrigin[] = [];
  readonly gaps: BusGap[] = [];
  private waiters: Array<() => void> = [];

  constructor(bus: RedisBus) {
    bus.subscribe((e, origin) => {
      this.ids.push(idOf(e));
      if (origin) this.origins.push(origin);
      this.wake();
    });
    bus.onGap((g) => {
      this.gaps.push(g);
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `check` holds (checked on every delivery and gap); fails after 10 s. */
  until(check: () => boolean, label: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${label}`)), 10_000);
      const test = (): void => {
        if (check()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(test);
      };
      test();
    });
  }

  received(id: string): Promise<void> {
    return this.until(() => this.ids.includes(id), `event ${id}`);
  }
}

describe('RedisBus: several nodes', () => {
  const url = testRedisUrl();
  const opened: RedisBus[] = [];
  const prefixes: string[] = [];
  const raw: Redis[] = [];
  let privateRedis: PrivateRedis | undefined;

  async function node(prefix: string, at = url): Promise<RedisBus> {
    const b = await openRedisBus(at, prefix, { heartbeatMs: 100 });
    opened.push(b);
    return b;
  }

  function fresh(): string {
    const p = testPrefix();
    prefixes.push(p);
    return p;
  }

  async function client(at = url): Promise<Redis> {
    const r = new Redis(at);
    r.on('error', () => undefined);
    raw.push(r);
    return r;
  }

  afterEach(async () => {
    for (const b of opened.splice(0)) await b.close();
    for (const r of raw.splice(0)) r.disconnect();
    for (const p of prefixes.splice(0)) await dropPrefix(url, p);
    await privateRedis?.close();
    privateRedis = undefined;
  });

  it('node B receives what node A publishes, in A’s publish order, once; A’s own subscribers get it locally', async () => {
    const prefix = fresh();
    const a = await node(prefix);
    const b = await node(prefix);
    const onA = new Watch(a);
    const onB = new Watch(b);
    const ids = Array.from({ length: 300 }, (_, i) => `a${i}`);
    // Not awaited one by one: use cases publish a commit's events back to back.
    await Promise.all(ids.map((id) => a.publish(ev(id))));
    expect(onA.ids, 'delivered locally inside publish').toEqual(ids);
    await onB.received('a299');
    // A sentinel from A: once B has it, nothing of the first batch can still arrive.
    await a.publish(ev('end'));
    await onB.received('end');
    expect(onB.ids).toEqual([...ids, 'end']);
    expect(onA.ids, 'A does not get its own events a second time from Redis').toEqual([...ids, 'end']);
    expect(new Set(onB.origins.map((o) => o.publisher))).toEqual(new Set([a.publisher]));
    expect(onB.origins.every((o) => !o.local)).toBe(true);
    expect(onA.origins.every((o) => o.local && o.publisher === a.publisher)).toBe(true);
    expect(onB.gaps).toEqual([]);
  });

  it('events carry every HubEvent kind unchanged between nodes', async () => {
    const prefix = fresh();
    const a = await node(prefix);
    const b = await node(prefix);
    const got: HubEvent[] = [];
    const events: HubEvent[] = [
      { type: 'sync', audience: { kind: 'group', groupId: 'g' }, event: { seq: 9, type: 'delete', uid: 12345678901234, conv: { type: 1, target: 'g', line: 0 } } },
      { type: 'session.revoke', userId: 'u', reason: 'blocked' },
      { type: 'chatroom.leave', chatroomId: 'r', reason: 'destroyed' },
      { type: 'outbox.wake' },
    ];
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    b.subscribe((e) => {
      got.push(e);
      if (got.length === events.length) done();
    });
    for (const e of events) await a.publish(e);
    await all;
    expect(got).toEqual(events);
  });

  it('each node keeps every other node’s order while several publish at once', async () => {
    const prefix = fresh();
    const [a, b, c] = [await node(prefix), await node(prefix), await node(prefix)];
    const onC = new Watch(c);
    const n = 200;
    await Promise.all([
      ...Array.from({ length: n }, (_, i) => a.publish(ev(`a${i}`))),
      ...Array.from({ length: n }, (_, i) => b.publish(ev(`b${i}`))),
    ]);
    await onC.until(() => onC.ids.includes(`a${n - 1}`) && onC.ids.includes(`b${n - 1}`), 'both batches');
    expect(onC.ids.filter((id) => id.startsWith('a'))).toEqual(Array.from({ length: n }, (_, i) => `a${i}`));
    expect(onC.ids.filter((id) => id.startsWith('b'))).toEqual(Array.from({ length: n }, (_, i) => `b${i}`));
    expect(onC.gaps).toEqual([]);
  });

  it('clusters on other prefixes never meet', async () => {
    const a = await node(fresh());
    const other = await node(fresh());
    const sameAsA = await node(prefixes[0]!);
    const onOther = new Watch(other);
    const onSame = new Watch(sameAsA);
    await a.publish(ev('mine'));
    await onSame.received('mine');
    // `other` hears its own sentinel only after anything published before it on its channel.
    await other.publish(ev('sentinel'));
    await onOther.received('sentinel');
    expect(onOther.ids).toEqual(['sentinel']);
  });

  it('a killed subscription (CLIENT KILL) is a gap, reported once the subscription is back', async () => {
    const prefix = fresh();
    const a = await node(prefix);
    const b = await node(prefix);
    const onB = new Watch(b);
    await a.publish(ev('before'));
    await onB.received('before');
    const admin = await client();
    const list = (await admin.client('LIST')) as string;
    const line = list.split('\n').find((l) => l.includes(`name=switchboard-bus-sub-${b.publisher}`));
    expect(line, 'B’s subscription is listed under its connection name').toBeDefined();
    const id = /\bid=(\d+)/.exec(line!)![1]!;
    await admin.client('KILL', 'ID', id);
    await onB.until(() => onB.gaps.length > 0, 'the gap');
    expect(onB.gaps[0]!.reason).toBe('reconnect');
    // Reported after resubscribing: what A publishes now reaches B.
    await a.publish(ev('after'));
    await onB.received('after');
    expect(b.connected).toBe(true);
  });

  it('a skipped sequence number and a heartbeat past the last event are gaps; strangers’ messages are ignored', async () => {
    const prefix = fresh();
    const b = await node(prefix);
    const onB = new Watch(b);
    const pub = await client();
    const channel = `${prefix}bus`;
    await pub.publish(channel, 'not json');
    await pub.publish(channel, JSON.stringify({ p: 'x', n: 'one' }));
    await pub.publish(channel, encodeEvent('node-x', 1, ev('x1')));
    await pub.publish(channel, encodeEvent('node-x', 2, ev('x2')));
    await pub.publish(channel, encodeEvent('node-x', 2, ev('x2-again'))); // a resent command: dropped
    await pub.publish(channel, encodeEvent('node-x', 4, ev('x4'))); // 3 was lost
    await onB.received('x4');
    expect(onB.ids).toEqual(['x1', 'x2', 'x4']);
    expect(onB.gaps).toEqual([{ reason: 'sequence', publisher: 'node-x' }]);
    await pub.publish(channel, encodeHeartbeat('node-x', 4)); // nothing missed
    await pub.publish(channel, encodeHeartbeat('node-x', 6)); // 5 and 6 were lost
    await onB.until(() => onB.gaps.length === 2, 'the heartbeat gap');
    expect(onB.gaps[1]).toEqual({ reason: 'heartbeat', publisher: 'node-x' });
    // A publisher first heard mid-stream is no gap: what it sent before was for nobody here.
    await pub.publish(channel, encodeEvent('node-y', 41, ev('y41')));
    await onB.received('y41');
    expect(onB.gaps).toHaveLength(2);
  });

  it('a restarted redis-server: both nodes report a gap, then traffic flows again; publish never hangs meanwhile', async () => {
    privateRedis = await startPrivateRedis();
    const prefix = testPrefix();
    const a = await node(prefix, privateRedis.url);
    const b = await node(prefix, privateRedis.url);
    const onA = new Watch(a);
    const onB = new Watch(b);
    await a.publish(ev('before'));
    await onB.received('before');
    await privateRedis.stop();
    // Redis is down: publish resolves at once, and this node's own subscribers still get the event.
    await a.publish(ev('while-down'));
    expect(onA.ids).toContain('while-down');
    await privateRedis.start();
    await Promise.all([onA.until(() => onA.gaps.length > 0, 'A’s gap'), onB.until(() => onB.gaps.length > 0, 'B’s gap')]);
    expect(onB.gaps.map((g) => g.reason)).toContain('reconnect');
    await a.publish(ev('after'));
    await onB.received('after');
    await b.publish(ev('back'));
    await onA.received('back');
  });

  it('a half-open subscription (a network cut that closes nothing) is noticed by its own heartbeats, reconnected: a gap', async () => {
    const target = new URL(url);
    const proxy = await startProxy(Number(target.port || 6379), target.hostname);
    try {
      const prefix = fresh();
      const errors: string[] = [];
      const viaProxy = `redis://127.0.0.1:${proxy.port}`;
      const b = await openRedisBus(viaProxy, prefix, { heartbeatMs: 100, onError: (_e, what) => errors.push(what) });
      opened.push(b);
      const a = await node(prefix);
      const onB = new Watch(b);
      await a.publish(ev('before'));
      await onB.received('before');
      // Cut B's subscription only: Redis still takes B's heartbeats (the publish connection), which
      // no longer come back.
      expect(proxy.blackhole((bytes) => /subscribe/i.test(bytes))).toBe(1);
      await onB.until(() => onB.gaps.length > 0, 'the gap after the cut');
      expect(errors).toContain('redis bus: stale');
      expect(onB.gaps[0]!.reason).toBe('reconnect');
      await a.publish(ev('after'));
      await onB.received('after');
    } finally {
      await proxy.close();
    }
  });

  it('a paused Redis (CLIENT PAUSE) delays but loses nothing: no gap, everything arrives in order', async () => {
    privateRedis = await startPrivateRedis();
    const prefix = testPrefix();
    const a = await node(prefix, privateRedis.url);
    const b = await node(prefix, privateRedis.url);
    const onB = new Watch(b);
    await a.publish(ev('before'));
    await onB.received('before');
    const admin = await client(privateRedis.url);
    await admin.call('CLIENT', 'PAUSE', '800', 'ALL');
    for (let i = 0; i < 5; i++) await a.publish(ev(`during${i}`));
    await onB.received('during4');
    expect(onB.ids).toEqual(['before', 'during0', 'during1', 'during2', 'during3', 'during4']);
    expect(onB.gaps).toEqual([]);
  });

  it('close() ends cleanly: no more deliveries, publish is a no-op, and a second close is harmless', async () => {
    const prefix = fresh();
    const a = await node(prefix);
    const b = await node(prefix);
    const onB = new Watch(b);
    await b.close();
    await b.close();
    await a.publish(ev('late'));
    await expect(b.publish(ev('x'))).resolves.toBeUndefined();
    const c = await node(prefix);
    const onC = new Watch(c);
    await a.publish(ev('sentinel'));
    await onC.received('sentinel');
    expect(onB.ids).toEqual([]);
  });

  it('fails to connect with a clear error when Redis is unreachable, leaving nothing behind', async () => {
    privateRedis = await startPrivateRedis();
    await privateRedis.stop();
    const started = Date.now();
    await expect(openRedisBus(privateRedis.url, testPrefix(), {})).rejects.toThrow(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
