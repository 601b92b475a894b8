/**
 * OutboxDispatcher (src/outbox/dispatcher.ts) against a real store (SQLite in memory) and the in-process
 * bus, with in-process fake Senders (our own interface): each records its deliveries and answers from
 * a script or holds them until the test releases them.
 *
 * Synchronisation: the test waits on promises resolved by the fakes or by the dispatcher's onResult hook
 * (called once an attempt is recorded in the store); a real-time timeout only guards against a hang.
 * "Barrier": a store write submitted after a claim resolves after it, so once it resolves the claim
 * and the deliveries it started have run.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import type { NewJob, OutboxJob } from '../../src/core/ports/outbox.js';
import type { SendResult as Attempt, Sender } from '../../src/core/ports/sender.js';
import { OutboxDispatcher, type DispatcherOptions } from '../../src/outbox/dispatcher.js';
import type { ChannelPolicy } from '../../src/outbox/policy.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/** A job's body (stored and handed out as the exact JSON text). */
function bodyOfJob(j: { body: string }): Record<string, unknown> {
  return JSON.parse(j.body) as Record<string, unknown>;
}

const silent = pino({ level: 'silent' });

/** Reject if `p` has not settled within `ms` of real time (a failure guard, not a synchronisation). */
async function within<T>(p: Promise<T>, what: string, ms = 5_000): Promise<T> {
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

/** Resolves when `count()` reaches `n`; fed by the caller. */
class Counter {
  private n = 0;
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  bump(): void {
    this.n++;
    for (const w of this.waiters.filter((x) => x.n <= this.n)) w.resolve();
    this.waiters = this.waiters.filter((x) => x.n > this.n);
  }
  get value(): number {
    return this.n;
  }
  reach(n: number, what: string): Promise<void> {
    if (this.n >= n) return Promise.resolve();
    return within(new Promise<void>((resolve) => this.waiters.push({ n, resolve })), what);
  }
}

/** A sender answering every delivery from a script (attempt number is 1-based over all its deliveries). */
class ScriptedSender implements Sender {
  readonly jobs: OutboxJob[] = [];
  constructor(private readonly answer: (job: OutboxJob, n: number) => Attempt | Promise<Attempt>) {}
  async deliver(job: OutboxJob): Promise<Attempt> {
    this.jobs.push(job);
    return this.answer(job, this.jobs.length);
  }
}

/** A sender whose deliveries wait until released; tracks how many run at once. */
class GatedSender implements Sender {
  readonly started: OutboxJob[] = [];
  readonly startedCount = new Counter();
  active = 0;
  maxActive = 0;
  private readonly gates = new Map<number, (a: Attempt) => void>();

  deliver(job: OutboxJob): Promise<Attempt> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    this.started.push(job);
    const p = new Promise<Attempt>((resolve) => {
      this.gates.set(job.id, (a) => {
        this.active--;
        resolve(a);
      });
    });
    this.startedCount.bump();
    return p;
  }

  release(id: number, a: Attempt = { ok: true, response: `ok ${id}` }): void {
    const gate = this.gates.get(id);
    if (!gate) throw new Error(`job ${id} is not being delivered`);
    this.gates.delete(id);
    gate(a);
  }
}

interface Result {
  id: number;
  ok: boolean;
  dead: boolean;
}

function job(orderKey: string, n: number, over: Partial<NewJob> = {}): NewJob {
  return {
    channel: 'webhook',
    target: 'cb1',
    orderKey,
    kind: 'C2C.CallbackAfterSendMsg',
    body: { CallbackCommand: 'C2C.CallbackAfterSendMsg', n },
    meta: { ClientIP: '10.1.2.3', OptPlatform: 'RESTAPI' },
    ...over,
  };
}

const BASE_POLICY: ChannelPolicy = {
  concurrency: 4,
  perTargetConcurrency: 10_000, // capped by concurrency
  leaseMs: 30_000,
  maxAttempts: 5,
  firstRetryMs: 1_000,
  maxRetryMs: 60_000,
  claimAhead: 0,
  breaker: {},
};

/** Dispatcher options and, for every channel unless `policies` says otherwise, policy overrides. */
type Over = Partial<ChannelPolicy> & Partial<Omit<DispatcherOptions, 'onResult'>>;

describe('OutboxDispatcher', () => {
  let store: SqliteStore;
  let bus: MemoryBus;
  let results: Result[];
  let resultCount: Counter;
  let dispatchers: OutboxDispatcher[];

  beforeEach(() => {
    store = new SqliteStore({ file: ':memory:', synchronous: 'NORMAL', nodeId: 0, commitMaxBatch: 64, commitMaxDelayMs: 0, inlineFanoutMax: 100 });
    bus = new MemoryBus();
    results = [];
    resultCount = new Counter();
    dispatchers = [];
  });

  afterEach(async () => {
    for (const d of dispatchers) await d.stop();
    vi.useRealTimers();
    await bus.close();
    await store.close();
  });

  function dispatcher(senders: Record<string, Sender>, over: Over = {}, policies: Record<string, Partial<ChannelPolicy>> = {}): OutboxDispatcher {
    const { pollMs, claimDelayMs, settler, ...policy } = over;
    const channels = Object.fromEntries(Object.entries(senders).map(([name, sender]) => [name, { sender, policy: { ...BASE_POLICY, ...policy, ...policies[name] } }]));
    const d = new OutboxDispatcher(
      store.outbox,
      bus,
      channels,
      {
        pollMs: pollMs ?? 3_600_000,
        ...(claimDelayMs !== undefined ? { claimDelayMs } : {}),
        ...(settler ? { settler } : {}),
        onResult: (j, ok, dead) => {
          results.push({ id: j.id, ok, dead });
          resultCount.bump();
        },
      },
      silent,
    );
    dispatchers.push(d);
    return d;
  }

  const jobOf = async (id: number): Promise<OutboxJob> => {
    const j = (await store.outbox.list({ limit: 1000 })).find((x) => x.id === id);
    if (!j) throw new Error(`job ${id} not found`);
    return j;
  };

  /** Every claim and delivery start already triggered has run (see the file comment). */
  async function barrier(): Promise<void> {
    await store.outbox.enqueue([]);
    await store.outbox.enqueue([]);
    await new Promise((r) => setImmediate(r));
  }

  it('delivers a job through the sender of its channel and records the success', async () => {
    const sender = new ScriptedSender(() => ({ ok: true, response: '{"ActionStatus":"OK","ErrorCode":0}' }));
    const [id] = await store.outbox.enqueue([job('k', 1)]);
    const before = Date.now();
    dispatcher({ webhook: sender }).start();
    await resultCount.reach(1, 'the delivery');
    expect(results).toEqual([{ id, ok: true, dead: false }]);
    expect(sender.jobs).toHaveLength(1);
    expect(sender.jobs[0]).toMatchObject({ id, channel: 'webhook', target: 'cb1', orderKey: 'k', kind: 'C2C.CallbackAfterSendMsg', body: JSON.stringify(job('k', 1).body), meta: job('k', 1).meta, attempts: 1 });
    const j = await jobOf(id!);
    expect(j).toMatchObject({ status: 'delivered', attempts: 1, lastResponse: '{"ActionStatus":"OK","ErrorCode":0}', lastError: '' });
    expect(j.deliveredAt).toBeGreaterThanOrEqual(before);
    expect(await store.outbox.counts()).toEqual({ pending: 0, in_flight: 0, delivered: 1, dead: 0 });
  });

  it('retries a failing job after firstRetryMs·2^(attempt−1), capped at maxRetryMs', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const T0 = Date.UTC(2030, 0, 1);
    vi.setSystemTime(T0);
    const sender = new ScriptedSender(() => ({ ok: false, response: 'HTTP 500', error: 'status 500' }));
    const [id] = await store.outbox.enqueue([job('k', 1)]);
    dispatcher({ webhook: sender }, { firstRetryMs: 1_000, maxRetryMs: 3_000, maxAttempts: 10 }).start();

    const delays = [1_000, 2_000, 3_000, 3_000, 3_000];
    let at = T0;
    for (const [i, delay] of delays.entries()) {
      const attempt = i + 1;
      if (attempt > 1) {
        vi.setSystemTime(at);
        await bus.publish({ type: 'outbox.wake' });
      }
      await resultCount.reach(attempt, `attempt ${attempt}`);
      expect(results[i]).toEqual({ id, ok: false, dead: false });
      const j = await jobOf(id!);
      expect(j, `after attempt ${attempt}`).toMatchObject({ status: 'pending', attempts: attempt, nextAt: at + delay, lastError: 'status 500', lastResponse: 'HTTP 500' });
      at += delay;
    }
    expect(sender.jobs.map((j) => j.attempts), 'each attempt sees its own number (counted at claim)').toEqual([1, 2, 3, 4, 5]);
  });

  it('a job that is not due yet is not delivered again before its retry time', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const T0 = Date.UTC(2030, 0, 1);
    vi.setSystemTime(T0);
    const sender = new ScriptedSender(() => ({ ok: false, response: '', error: 'down' }));
    const [id] = await store.outbox.enqueue([job('k', 1)]);
    const d = dispatcher({ webhook: sender }, { firstRetryMs: 5_000 });
    d.start();
    await resultCount.reach(1, 'the first attempt');
    vi.setSystemTime(T0 + 4_999);
    await bus.publish({ type: 'outbox.wake' });
    d.kick();
    await barrier();
    expect(sender.jobs).toHaveLength(1);
    expect(await jobOf(id!)).toMatchObject({ status: 'pending', attempts: 1, nextAt: T0 + 5_000 });
  });

  it('dead-letters a job after maxAttempts failed attempts', async () => {
    const sender = new ScriptedSender((_, n) => ({ ok: false, response: `HTTP 503 #${n}`, error: `unavailable #${n}` }));
    const [id] = await store.outbox.enqueue([job('k', 1)]);
    dispatcher({ webhook: sender }, { maxAttempts: 3, firstRetryMs: 0, maxRetryMs: 0 }).start();
    await resultCount.reach(3, 'three attempts');
    expect(results).toEqual([
      { id, ok: false, dead: false },
      { id, ok: false, dead: false },
      { id, ok: false, dead: true },
    ]);
    expect(await jobOf(id!)).toMatchObject({ status: 'dead', attempts: 3, lastError: 'unavailable #3', lastResponse: 'HTTP 503 #3' });
    await barrier();
    expect(sender.jobs).toHaveLength(3);
    expect(await store.outbox.counts()).toEqual({ pending: 0, in_flight: 0, delivered: 0, dead: 1 });
  });

  it('dead-letters at once when the sender says retrying cannot help, and the next job of the key proceeds', async () => {
    const sender = new ScriptedSender((j) =>
      bodyOfJob(j)['n'] === 1 ? { ok: false, retryable: false, response: 'HTTP 404', error: 'no such target' } : { ok: true, response: 'ok' },
    );
    const [first, second] = await store.outbox.enqueue([job('k', 1), job('k', 2)]);
    dispatcher({ webhook: sender }, { maxAttempts: 5 }).start();
    await resultCount.reach(2, 'both jobs');
    expect(results).toEqual([
      { id: first, ok: false, dead: true },
      { id: second, ok: true, dead: false },
    ]);
    expect(await jobOf(first!)).toMatchObject({ status: 'dead', attempts: 1, lastError: 'no such target', lastResponse: 'HTTP 404' });
    expect(await jobOf(second!)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('a sender that throws counts as a failed, retryable attempt', async () => {
    const sender = new ScriptedSender(() => {
      throw new Error('socket hang up');
    });
    const [id] = await store.outbox.enqueue([job('k', 1)]);
    const before = Date.now();
    dispatcher({ webhook: sender }, { firstRetryMs: 60_000 }).start();
    await resultCount.reach(1, 'the attempt');
    const after = Date.now();
    expect(results).toEqual([{ id, ok: false, dead: false }]);
    const j = await jobOf(id!);
    expect(j).toMatchObject({ status: 'pending', attempts: 1, lastError: 'socket hang up' });
    expect(j.nextAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(j.nextAt).toBeLessThanOrEqual(after + 60_000);
  });

  it('never claims a job of a channel it has no sender for: it stays pending and untouched for a node that has one', async () => {
    const sender = new ScriptedSender(() => ({ ok: true, response: 'ok' }));
    const [mail, hook] = await store.outbox.enqueue([job('m', 1, { channel: 'smtp' }), job('w', 1)]);
    const webhookOnly = dispatcher({ webhook: sender }, { claimAhead: 2 });
    webhookOnly.start();
    await resultCount.reach(1, 'the webhook job');
    // Claims ahead too: a fresh smtp job written while the grant stands is not handed over.
    const [mail2] = await store.outbox.enqueue([job('m2', 1, { channel: 'smtp' })]);
    await bus.publish({ type: 'outbox.wake' });
    await barrier();
    await barrier();
    expect(results).toEqual([{ id: hook, ok: true, dead: false }]);
    for (const id of [mail!, mail2!]) expect(await jobOf(id)).toMatchObject({ status: 'pending', attempts: 0, lastError: '' });
    expect(sender.jobs.map((j) => j.id)).toEqual([hook]);
    // A node that can send smtp delivers them (one dispatcher per process: the first one stops).
    await webhookOnly.stop();
    const smtp = new ScriptedSender(() => ({ ok: true, response: 'sent' }));
    dispatcher({ smtp }).start();
    await resultCount.reach(3, 'the smtp jobs, on the node that has a sender');
    expect(smtp.jobs.map((j) => j.id).sort((a, b) => a - b)).toEqual([mail, mail2]);
  });

  it('each channel has its own slots: a channel whose deliveries hang takes none of another channel\'s', async () => {
    const hook = new GatedSender();
    const sms = new GatedSender();
    await store.outbox.enqueue(Array.from({ length: 4 }, (_, i) => job(`w${i}`, i)));
    const smsIds = await store.outbox.enqueue(Array.from({ length: 3 }, (_, i) => job(`s${i}`, i, { channel: 'sms', target: `+4477000000${i}` })));
    dispatcher({ webhook: hook, sms }, {}, { webhook: { concurrency: 2 }, sms: { concurrency: 1 } }).start();
    await hook.startedCount.reach(2, 'two webhook deliveries');
    await sms.startedCount.reach(1, 'one sms delivery');
    await barrier();
    expect(hook.active).toBe(2);
    expect(sms.active).toBe(1);
    for (let i = 0; i < 3; i++) {
      await sms.startedCount.reach(i + 1, `sms ${i + 1}`);
      sms.release(sms.started[i]!.id);
    }
    await resultCount.reach(3, 'every sms job while webhook deliveries hang');
    expect(results.map((r) => r.id).sort((a, b) => a - b)).toEqual(smsIds);
    expect(sms.maxActive).toBe(1);
    expect(hook.maxActive).toBe(2);
    for (let i = 0; i < 4; i++) {
      await hook.startedCount.reach(i + 1, `webhook ${i + 1}`);
      hook.release(hook.started[i]!.id);
    }
    await resultCount.reach(7, 'every job');
    expect(hook.maxActive).toBe(2);
  });

  it('attempts, backoff and lease follow each job\'s channel', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const T0 = Date.UTC(2030, 0, 1);
    vi.setSystemTime(T0);
    const failing = (): Attempt => ({ ok: false, response: '', error: 'down' });
    const hook = new ScriptedSender(failing);
    const sms = new ScriptedSender(failing);
    const [h] = await store.outbox.enqueue([job('h', 1)]);
    const [m] = await store.outbox.enqueue([job('m', 1, { channel: 'sms' })]);
    dispatcher({ webhook: hook, sms }, {}, {
      webhook: { maxAttempts: 5, firstRetryMs: 1_000, maxRetryMs: 60_000, leaseMs: 30_000 },
      sms: { maxAttempts: 2, firstRetryMs: 300, maxRetryMs: 300, leaseMs: 5_000 },
    }).start();
    await resultCount.reach(2, 'the first attempt of each');
    expect(hook.jobs[0]!.nextAt, 'webhook lease').toBe(T0 + 30_000);
    expect(sms.jobs[0]!.nextAt, 'sms lease').toBe(T0 + 5_000);
    expect(await jobOf(h!)).toMatchObject({ status: 'pending', attempts: 1, nextAt: T0 + 1_000 });
    expect(await jobOf(m!)).toMatchObject({ status: 'pending', attempts: 1, nextAt: T0 + 300 });
    vi.setSystemTime(T0 + 300);
    await bus.publish({ type: 'outbox.wake' });
    await resultCount.reach(3, 'the second sms attempt');
    expect(results[2]).toEqual({ id: m, ok: false, dead: true });
    expect(await jobOf(m!), 'dead after its channel\'s two attempts').toMatchObject({ status: 'dead', attempts: 2 });
    expect(await jobOf(h!), 'webhook keeps waiting for its own retry').toMatchObject({ status: 'pending', attempts: 1 });
    expect(hook.jobs).toHaveLength(1);
  });

  it('circuit breakers are per channel: a target failing on one channel does not hold back the same target on another', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2030, 0, 1));
    const hook = new ScriptedSender(() => ({ ok: false, response: 'HTTP 503', error: 'status 503' }));
    const sms = new ScriptedSender(() => ({ ok: true, response: 'queued' }));
    const [h1, h2] = await store.outbox.enqueue([job('h1', 1, { target: 'X' }), job('h2', 1, { target: 'X' })]);
    dispatcher({ webhook: hook, sms }, { concurrency: 1, firstRetryMs: 60_000 }, { webhook: { breaker: { threshold: 1, minOpenMs: 60_000 } } }).start();
    await resultCount.reach(1, 'the failure that opens the webhook breaker of X');
    const smsIds = await store.outbox.enqueue([job('s1', 1, { channel: 'sms', target: 'X' }), job('s2', 1, { channel: 'sms', target: 'X' })]);
    await bus.publish({ type: 'outbox.wake' });
    await resultCount.reach(3, 'both sms jobs to X');
    expect(sms.jobs.map((j) => j.id).sort((a, b) => a - b)).toEqual(smsIds);
    expect(hook.jobs.map((j) => j.id)).toHaveLength(1);
    expect([h1, h2]).toContain(hook.jobs[0]!.id);
    const waiting = hook.jobs[0]!.id === h1 ? h2 : h1;
    expect(await jobOf(waiting!), 'the webhook breaker holds it, attempts untouched').toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('never has more than `concurrency` deliveries in flight', async () => {
    const sender = new GatedSender();
    const made = await store.outbox.enqueue(Array.from({ length: 10 }, (_, i) => job(`k${i}`, i)));
    const d = dispatcher({ webhook: sender }, { concurrency: 3 });
    d.start();
    await sender.startedCount.reach(3, 'three deliveries');
    // Wake-ups and kicks while full claim nothing more.
    await bus.publish({ type: 'outbox.wake' });
    d.kick();
    d.kick();
    await barrier();
    expect(sender.active).toBe(3);
    expect(sender.started).toHaveLength(3);
    expect((await store.outbox.counts()).in_flight, 'only what it can run is leased').toBe(3);
    for (let i = 0; i < 10; i++) {
      await sender.startedCount.reach(Math.min(i + 3, 10), `delivery ${Math.min(i + 3, 10)}`);
      expect(sender.active).toBeLessThanOrEqual(3);
      sender.release(sender.started[i]!.id);
    }
    await resultCount.reach(10, 'ten results');
    expect(sender.maxActive).toBe(3);
    expect(sender.started.map((j) => j.id).sort((a, b) => a - b)).toEqual(made);
    expect(await store.outbox.counts()).toEqual({ pending: 0, in_flight: 0, delivered: 10, dead: 0 });
  });

  it('delivers the jobs of one order key one at a time, in creation order', async () => {
    const sender = new GatedSender();
    const [a1, a2, a3, b1] = await store.outbox.enqueue([job('A', 1), job('A', 2), job('A', 3), job('B', 1)]);
    dispatcher({ webhook: sender }, { concurrency: 4 }).start();
    await sender.startedCount.reach(2, 'A1 and B1');
    await barrier();
    expect(sender.started.map((j) => j.id).sort((x, y) => x - y)).toEqual([a1, b1]);
    sender.release(a1!);
    await sender.startedCount.reach(3, 'A2');
    expect(sender.started[2]!.id).toBe(a2);
    sender.release(a2!, { ok: false, retryable: false, response: '', error: 'gone' });
    await sender.startedCount.reach(4, 'A3');
    expect(sender.started[3]!.id).toBe(a3);
    sender.release(a3!);
    sender.release(b1!);
    await resultCount.reach(4, 'four results');
    expect(await store.outbox.counts()).toEqual({ pending: 0, in_flight: 0, delivered: 3, dead: 1 });
  });

  it('a target whose deliveries hang holds at most perTargetConcurrency slots: other targets are delivered meanwhile', async () => {
    const slow = new GatedSender();
    const fast = new ScriptedSender(() => ({ ok: true, response: 'ok' }));
    let slowHangs = true;
    const sender: Sender = { deliver: (j) => (j.target === 'SLOW' && slowHangs ? slow.deliver(j) : fast.deliver(j)) };
    await store.outbox.enqueue(Array.from({ length: 6 }, (_, i) => job(`s${i}`, i, { target: 'SLOW' })));
    const fastIds = await store.outbox.enqueue(Array.from({ length: 5 }, (_, i) => job(`f${i}`, i, { target: 'FAST' })));
    dispatcher({ webhook: sender }, { concurrency: 4, perTargetConcurrency: 2 }).start();
    await resultCount.reach(5, 'every FAST job, while SLOW hangs');
    expect(results.map((r) => r.id).sort((a, b) => a - b)).toEqual(fastIds);
    expect(slow.maxActive, 'SLOW never had more than its share').toBe(2);
    expect(slow.active).toBe(2);
    slowHangs = false;
    for (const j of [...slow.started]) slow.release(j.id);
    await resultCount.reach(11, 'the SLOW jobs, once they answer');
    expect(slow.maxActive).toBe(2);
    expect(await store.outbox.counts()).toMatchObject({ pending: 0, in_flight: 0, delivered: 11 });
  });

  it('a target that keeps failing opens its breaker: its other jobs wait with attempts untouched until a probe succeeds', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const T0 = Date.UTC(2030, 0, 1);
    vi.setSystemTime(T0);
    let up = false;
    const sender = new ScriptedSender(() => (up ? { ok: true, response: 'ok' } : { ok: false, response: 'HTTP 503', error: 'status 503' }));
    const made = await store.outbox.enqueue(Array.from({ length: 6 }, (_, i) => job(`k${i}`, i)));
    dispatcher({ webhook: sender }, { concurrency: 1, breaker: { threshold: 2, minOpenMs: 1_000, maxOpenMs: 8_000 }, firstRetryMs: 60_000 }).start();
    await resultCount.reach(2, 'two failures open the breaker');
    await bus.publish({ type: 'outbox.wake' });
    await barrier();
    await barrier();
    expect(sender.jobs, 'nothing is attempted while the breaker is open').toHaveLength(2);
    const waiting = (await store.outbox.list({ status: 'pending', limit: 100 })).filter((j) => j.attempts === 0);
    expect(waiting, 'four jobs wait, no attempt spent').toHaveLength(4);

    // Open time over: one probe, which fails: the breaker opens again, for twice as long.
    vi.setSystemTime(T0 + 1_000);
    await bus.publish({ type: 'outbox.wake' });
    await resultCount.reach(3, 'the failed probe');
    vi.setSystemTime(T0 + 2_500);
    await bus.publish({ type: 'outbox.wake' });
    await barrier();
    await barrier();
    expect(sender.jobs, 'still open 1.5 s after the failed probe (open for 2 s)').toHaveLength(3);

    // The target is back: the next probe succeeds and closes the breaker; every waiting job is delivered.
    up = true;
    vi.setSystemTime(T0 + 3_001);
    await bus.publish({ type: 'outbox.wake' });
    await resultCount.reach(6, 'the probe and the jobs behind it');
    const delivered = await store.outbox.list({ status: 'delivered', limit: 100 });
    expect(delivered).toHaveLength(3);
    for (const j of delivered) expect(j.attempts, `job ${j.id} delivered at its first attempt`).toBe(1);
    expect(made).toHaveLength(6);
  });

  it('an open breaker is probed as soon as it turns half-open: no wake-up, no poll needed', async () => {
    let up = false;
    const sender = new ScriptedSender(() => (up ? { ok: true, response: 'ok' } : { ok: false, response: 'HTTP 503', error: 'status 503' }));
    await store.outbox.enqueue(Array.from({ length: 4 }, (_, i) => job(`k${i}`, i)));
    // Polls once an hour: only the breaker's own timer can start the probes (failed jobs retry in a minute).
    dispatcher({ webhook: sender }, { concurrency: 1, breaker: { threshold: 1, minOpenMs: 60_000, maxOpenMs: 50 }, firstRetryMs: 60_000 }).start();
    await resultCount.reach(1, 'the failure that opens the breaker (for at most maxOpenMs)');
    await resultCount.reach(2, 'a failed probe, about 50 ms later');
    up = true;
    await resultCount.reach(4, 'the next probe succeeds (about 50 ms later), then the job behind it');
    expect(results.map((r) => r.ok)).toEqual([false, false, true, true]);
  });

  it('results of one turn are recorded in one store write', async () => {
    const sender = new ScriptedSender(() => ({ ok: true, response: 'ok' }));
    await store.outbox.enqueue(Array.from({ length: 8 }, (_, i) => job(`k${i}`, i)));
    const settle = vi.spyOn(store.outbox, 'settle');
    dispatcher({ webhook: sender }, { concurrency: 8 }).start();
    await resultCount.reach(8, 'eight results');
    expect(settle.mock.calls.reduce((n, c) => n + c[0].length, 0)).toBe(8);
    expect(settle.mock.calls.length, 'one claim of eight, one settle of eight').toBe(1);
  });

  it('with claimAhead, a fresh job is delivered without a claim: the write that created it leased it', async () => {
    const sender = new ScriptedSender(() => ({ ok: true, response: 'ok' }));
    const d = dispatcher({ webhook: sender }, { claimAhead: 2, concurrency: 4, pollMs: 3_600_000 });
    d.start();
    await barrier(); // the start-up claim found nothing; the grant is in place
    const claim = vi.spyOn(store.outbox, 'claim');
    const [a, b] = await store.outbox.enqueue([job('a', 1), job('b', 1)]);
    await resultCount.reach(2, 'both fresh jobs');
    expect(results.map((r) => r.id).sort((x, y) => x - y)).toEqual([a, b]);
    expect(sender.jobs.map((j) => j.attempts)).toEqual([1, 1]);
    // Results are followed by a claim for anything left; none of the deliveries came from one.
    for (const r of claim.mock.results) expect(await (r.value as Promise<OutboxJob[]>)).toEqual([]);
    // The grant is topped up after the results: a later fresh job goes the same way.
    const [c] = await store.outbox.enqueue([job('c', 1)]);
    await resultCount.reach(3, 'the next fresh job');
    expect(results[2]!.id).toBe(c);
    expect(await store.outbox.counts()).toMatchObject({ pending: 0, in_flight: 0, delivered: 3 });
  });

  it('with claimAhead, deliveries in flight never exceed concurrency, and jobs already queued are claimed as slots free', async () => {
    const sender = new GatedSender();
    dispatcher({ webhook: sender }, { claimAhead: 3, concurrency: 3, pollMs: 3_600_000 }).start();
    await barrier();
    await store.outbox.enqueue(Array.from({ length: 8 }, (_, i) => job(`k${i}`, i)));
    await sender.startedCount.reach(3, 'three deliveries');
    await barrier();
    expect(sender.active).toBe(3);
    for (let i = 0; i < 8; i++) {
      await sender.startedCount.reach(Math.min(i + 3, 8), `delivery ${Math.min(i + 3, 8)}`);
      expect(sender.active).toBeLessThanOrEqual(3);
      sender.release(sender.started[i]!.id);
      await bus.publish({ type: 'outbox.wake' });
    }
    await resultCount.reach(8, 'eight results');
    expect(sender.maxActive).toBe(3);
  });

  it('with claimAhead and many fresh writes, limits hold: in flight, per target, leased; every job is delivered at its first attempt', async () => {
    const sender = new GatedSender();
    const perTarget = new Map<string, number>();
    let perTargetMax = 0;
    const counting: Sender = {
      deliver: async (j) => {
        const n = (perTarget.get(j.target) ?? 0) + 1;
        perTarget.set(j.target, n);
        perTargetMax = Math.max(perTargetMax, n);
        try {
          return await sender.deliver(j);
        } finally {
          perTarget.set(j.target, (perTarget.get(j.target) ?? 1) - 1);
        }
      },
    };
    dispatcher({ webhook: counting }, { concurrency: 4, perTargetConcurrency: 3, claimAhead: 2, pollMs: 3_600_000 }).start();
    await barrier();
    const made: number[] = [];
    for (let i = 0; i < 20; i++) made.push(...(await store.outbox.enqueue([job(`k${i}`, i, { target: i % 2 ? 'A' : 'B' })])));
    await barrier();
    const leasedNow = async (): Promise<number> => (await store.outbox.counts()).in_flight;
    expect(sender.active).toBeLessThanOrEqual(4);
    expect(await leasedNow(), 'leased: at most what runs plus what is granted').toBeLessThanOrEqual(4 + 2);
    for (let released = 0; released < 20; released++) {
      await sender.startedCount.reach(Math.min(released + 1, 20), `delivery ${released + 1}`);
      expect(sender.active).toBeLessThanOrEqual(4);
      expect(await leasedNow()).toBeLessThanOrEqual(4 + 2);
      sender.release(sender.started[released]!.id);
      await bus.publish({ type: 'outbox.wake' });
    }
    await resultCount.reach(20, 'twenty results');
    expect(sender.maxActive).toBeLessThanOrEqual(4);
    expect(perTargetMax).toBeLessThanOrEqual(3);
    expect(sender.started.map((j) => j.id).sort((a, b) => a - b)).toEqual(made);
    expect(sender.started.map((j) => j.attempts), 'no attempt spent on a job that waited').toEqual(made.map(() => 1));
    expect(await store.outbox.counts()).toMatchObject({ pending: 0, in_flight: 0, delivered: 20 });
  });

  it('a job handed over for a target whose breaker is open is given back, its attempt returned', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2030, 0, 1));
    const sender = new ScriptedSender((j) => (j.target === 'DOWN' ? { ok: false, response: 'HTTP 503', error: 'status 503' } : { ok: true, response: 'ok' }));
    dispatcher({ webhook: sender }, { concurrency: 4, claimAhead: 2, breaker: { threshold: 1, minOpenMs: 60_000 }, firstRetryMs: 60_000, pollMs: 3_600_000 }).start();
    await barrier();
    const [first] = await store.outbox.enqueue([job('d1', 1, { target: 'DOWN' })]);
    await resultCount.reach(1, 'the failure that opens the breaker');
    // Fresh jobs for the open target: not attempted, given back with no attempt counted.
    const [second] = await store.outbox.enqueue([job('d2', 1, { target: 'DOWN' })]);
    const [up] = await store.outbox.enqueue([job('u1', 1, { target: 'UP' })]);
    await resultCount.reach(2, 'the job of the healthy target');
    await barrier();
    await barrier();
    expect(sender.jobs.map((j) => j.id)).toEqual([first, up]);
    expect(await jobOf(second!)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await jobOf(first!)).toMatchObject({ status: 'pending', attempts: 1 });
  });

  it('stop() revokes the grant: jobs written afterwards are left for a later claim', async () => {
    const sender = new ScriptedSender(() => ({ ok: true, response: 'ok' }));
    const d = dispatcher({ webhook: sender }, { claimAhead: 4, concurrency: 4, pollMs: 3_600_000 });
    d.start();
    await barrier();
    await within(d.stop(), 'stop()');
    const [id] = await store.outbox.enqueue([job('k', 1)]);
    await barrier();
    expect(sender.jobs).toEqual([]);
    expect(await jobOf(id!)).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('stop() waits for the jobs in flight, records their results, and claims nothing afterwards', async () => {
    const sender = new GatedSender();
    const [id] = await store.outbox.enqueue([job('k', 1)]);
    const d = dispatcher({ webhook: sender });
    d.start();
    await sender.startedCount.reach(1, 'the delivery');
    let stopped = false;
    const stopping = d.stop().then(() => {
      stopped = true;
    });
    await barrier();
    expect(stopped, 'stop() must wait for the delivery in flight').toBe(false);
    sender.release(id!, { ok: true, response: 'late ok' });
    await within(stopping, 'stop()');
    expect(await jobOf(id!), 'the result is recorded before stop() resolves').toMatchObject({ status: 'delivered', lastResponse: 'late ok' });

    const [later] = await store.outbox.enqueue([job('k2', 1)]);
    await bus.publish({ type: 'outbox.wake' });
    d.kick();
    await barrier();
    expect(sender.started).toHaveLength(1);
    expect(await jobOf(later!)).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('stop() called while a claim is under way: no delivery starts after stop() has resolved', async () => {
    let stopResolved = false;
    const late: number[] = [];
    const sender = new ScriptedSender((j) => {
      if (stopResolved) late.push(j.id);
      return { ok: true, response: 'ok' };
    });
    const [id] = await store.outbox.enqueue([job('k', 1)]);
    const d = dispatcher({ webhook: sender });
    d.start(); // submits the start-up claim, which will lease the job
    await within(d.stop(), 'stop()');
    stopResolved = true;
    await barrier();
    await barrier();
    expect(late, 'deliveries started after stop() resolved (shutdown would close the store under them)').toEqual([]);
    // Either the job was delivered and recorded before stop() resolved, or it was not attempted at all.
    const j = await jobOf(id!);
    if (sender.jobs.length > 0) expect(j).toMatchObject({ status: 'delivered', attempts: 1 });
    else expect(j.status === 'pending' || (j.status === 'in_flight' && j.attempts === 1), 'untouched, or left to its lease').toBe(true);
  });

  it('stop() with nothing in flight resolves at once', async () => {
    const d = dispatcher({ webhook: new ScriptedSender(() => ({ ok: true, response: '' })) });
    d.start();
    await barrier();
    await within(d.stop(), 'stop()', 1_000);
    const [id] = await store.outbox.enqueue([job('k', 1)]);
    await bus.publish({ type: 'outbox.wake' });
    await barrier();
    expect(await jobOf(id!)).toMatchObject({ status: 'pending' });
  });

  it('an outbox.wake bus event triggers a claim without waiting for the poll', async () => {
    const delivered = new Counter();
    const sender = new ScriptedSender(() => {
      delivered.bump();
      return { ok: true, response: 'ok' };
    });
    dispatcher({ webhook: sender }, { pollMs: 3_600_000 }).start();
    await barrier(); // the start-up claim found nothing
    const [id] = await store.outbox.enqueue([job('k', 1)]);
    await barrier();
    expect(sender.jobs, 'nothing claims the job before the wake-up').toHaveLength(0);
    expect(await jobOf(id!)).toMatchObject({ status: 'pending' });
    await bus.publish({ type: 'outbox.wake' });
    await delivered.reach(1, 'the woken delivery');
    await resultCount.reach(1, 'the recorded result');
    expect(await jobOf(id!)).toMatchObject({ status: 'delivered' });
  });

  it('other bus events do not trigger a claim', async () => {
    const sender = new ScriptedSender(() => ({ ok: true, response: 'ok' }));
    dispatcher({ webhook: sender }, { pollMs: 3_600_000 }).start();
    await barrier();
    const [id] = await store.outbox.enqueue([job('k', 1)]);
    await bus.publish({ type: 'cache.invalidate', scope: 'group', id: 'g' });
    await barrier();
    expect(sender.jobs).toHaveLength(0);
    expect(await jobOf(id!)).toMatchObject({ status: 'pending' });
  });
});
