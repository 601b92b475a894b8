/**
 * OutboxDispatcher (src/outbox/dispatcher.ts) on several nodes: two handles on one PostgreSQL schema
 * (test/helpers/backends.ts openSibling), each with its own dispatcher, as two `switchboard serve`
 * processes would run them. Nothing in the dispatcher may assume that the jobs it sees were written by
 * its own process: a job committed on node A is claimed by B's dispatcher within B's poll even when no
 * bus event reaches B; a job whose node died mid-delivery is delivered by another node after its lease.
 *
 * Synchronisation: promises resolved by the fake senders and the onResult hooks; a real-time timeout
 * only guards against a hang.
 */
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import type { NewJob, OutboxJob } from '../../src/core/ports/outbox.js';
import type { SendResult, Sender } from '../../src/core/ports/sender.js';
import type { Store } from '../../src/core/ports/store.js';
import { OutboxDispatcher } from '../../src/outbox/dispatcher.js';
import type { ChannelPolicy } from '../../src/outbox/policy.js';
import { postgresBackend, type OpenedStore } from '../helpers/backends.js';

const silent = pino({ level: 'silent' });

async function within<T>(p: Promise<T>, what: string, ms = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** Deliveries seen by the senders of every node, and a way to wait for a count of them. */
class Log {
  readonly entries: Array<{ node: string; job: OutboxJob }> = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  add(node: string, job: OutboxJob): void {
    this.entries.push({ node, job });
    for (const w of this.waiters.filter((x) => this.entries.length >= x.n)) w.resolve();
    this.waiters = this.waiters.filter((x) => this.entries.length < x.n);
  }
  reach(n: number, what: string): Promise<void> {
    if (this.entries.length >= n) return Promise.resolve();
    return within(new Promise<void>((resolve) => this.waiters.push({ n, resolve })), what);
  }
}

/** A sender that records each delivery and answers at once, or holds the ones `hold` picks until released. */
class NodeSender implements Sender {
  private readonly held = new Map<number, (a: SendResult) => void>();
  constructor(
    private readonly node: string,
    private readonly log: Log,
    private readonly hold: (job: OutboxJob) => boolean = () => false,
  ) {}
  deliver(job: OutboxJob): Promise<SendResult> {
    this.log.add(this.node, job);
    if (!this.hold(job)) return Promise.resolve({ ok: true, response: `ok from ${this.node}` });
    return new Promise<SendResult>((resolve) => this.held.set(job.id, resolve));
  }
  release(id: number): void {
    this.held.get(id)?.({ ok: true, response: `late from ${this.node}` });
    this.held.delete(id);
  }
}

const POLICY: ChannelPolicy = {
  concurrency: 4,
  perTargetConcurrency: 4,
  leaseMs: 30_000,
  maxAttempts: 5,
  firstRetryMs: 1_000,
  maxRetryMs: 60_000,
  claimAhead: 2,
  breaker: {},
};

function job(orderKey: string, n: number, over: Partial<NewJob> = {}): NewJob {
  return { channel: 'webhook', target: 'cb1', orderKey, kind: 'Test.Event', body: { n }, meta: {}, ...over };
}

describe('outbox dispatchers on two nodes (PostgreSQL)', () => {
  const backend = postgresBackend();
  let opened: OpenedStore;
  let a: Store;
  let b: Store;
  let dispatchers: OutboxDispatcher[];
  let buses: MemoryBus[];

  beforeAll(() => backend.setup!());
  afterAll(() => backend.teardown!());
  beforeEach(async () => {
    opened = await backend.open({ inlineFanoutMax: 100 });
    a = opened.store;
    b = await opened.openSibling!();
    dispatchers = [];
    buses = [];
  });
  afterEach(async () => {
    for (const d of dispatchers) await d.stop();
    for (const bus of buses) await bus.close();
    await opened.cleanup();
  });

  function dispatcher(
    store: Store,
    bus: MemoryBus,
    sender: Sender,
    policy: Partial<ChannelPolicy> = {},
    pollMs = 3_600_000,
    onResult?: (job: OutboxJob) => void,
  ): OutboxDispatcher {
    // Lookahead on, as main.ts runs the dispatcher on PostgreSQL.
    const d = new OutboxDispatcher(store.outbox, bus, { webhook: { sender, policy: { ...POLICY, ...policy } } }, { pollMs, lookahead: true, ...(onResult ? { onResult } : {}) }, silent);
    dispatchers.push(d);
    d.start();
    return d;
  }

  function bus(): MemoryBus {
    const made = new MemoryBus();
    buses.push(made);
    return made;
  }

  it('a job committed on node A is delivered by node B within B\'s poll, with no event reaching B', async () => {
    const log = new Log();
    dispatcher(b, bus(), new NodeSender('B', log), {}, 50);
    const [id] = await a.outbox.enqueue([job('k', 1)]);
    await log.reach(1, "B's delivery");
    expect(log.entries.map((e) => [e.node, e.job.id])).toEqual([['B', id]]);
  });

  it('a job whose node died mid-delivery is delivered by the other node once its lease ran out', async () => {
    const log = new Log();
    const senderA = new NodeSender('A', log, () => true);
    const leaseMs = 400;
    const busA = bus();
    const onA = dispatcher(a, busA, senderA, { leaseMs, claimAhead: 0 });
    const [id, next] = await a.outbox.enqueue([job('k', 1), job('k', 2)]);
    await busA.publish({ type: 'outbox.wake' });
    await log.reach(1, "A's attempt");
    // Node A stops answering (its delivery hangs); B polls and takes the job over after the lease.
    const recorded = new Log();
    dispatcher(b, bus(), new NodeSender('B', log), { leaseMs: 30_000, claimAhead: 0 }, 50, (j) => recorded.add('B', j));
    await log.reach(3, "B's attempts");
    // B posts the key's next job as soon as its first post succeeded (lookahead): wait for both results.
    await recorded.reach(2, "B's results recorded");
    // A leased the key's next job with it (lookahead) and never posted it: that lease lapsed without an
    // outcome too, so it counts an attempt, as any lease does.
    expect(log.entries.map((e) => [e.node, e.job.id, e.job.attempts])).toEqual([
      ['A', id, 1],
      ['B', id, 2],
      ['B', next, 2],
    ]);
    // A's late result is fenced off by its lapsed lease: B's delivery stands.
    senderA.release(id!);
    await onA.stop();
    expect(await b.outbox.get(id!)).toMatchObject({ status: 'delivered', lastResponse: 'ok from B' });
  });

  it('with no poll and one wake-up, a key\'s jobs follow one another as their results are recorded', async () => {
    const log = new Log();
    const wake = bus();
    dispatcher(a, wake, new NodeSender('A', log), { claimAhead: 0 });
    const made = await a.outbox.enqueue([1, 2, 3, 4, 5].map((n) => job('k', n)));
    await wake.publish({ type: 'outbox.wake' });
    await log.reach(made.length, 'every delivery');
    expect(log.entries.map((e) => e.job.id)).toEqual(made);
  });

  it('dispatchers on both nodes, woken by one bus, deliver every job once and each key in order', async () => {
    const log = new Log();
    const shared = bus();
    dispatcher(a, shared, new NodeSender('A', log), {}, 50);
    dispatcher(b, shared, new NodeSender('B', log), {}, 50);
    const keys = ['k1', 'k2', 'k3', 'k4', 'k5'];
    const made: number[] = [];
    await Promise.all(
      [a, b, a, b].map(async (node, i) => {
        for (const k of keys) {
          made.push(...(await node.outbox.enqueue([job(k, i)])));
          await shared.publish({ type: 'outbox.wake' });
        }
      }),
    );
    await log.reach(made.length, 'every delivery');
    const delivered = log.entries.map((e) => e.job.id);
    expect(delivered.slice().sort((x, y) => x - y)).toEqual(made.slice().sort((x, y) => x - y));
    for (const k of keys) {
      const order = log.entries.filter((e) => e.job.orderKey === k).map((e) => e.job.id);
      expect(order, `key ${k} delivered in id order`).toEqual(order.slice().sort((x, y) => x - y));
    }
  });
});
