/**
 * OutboxDispatcher's settle-and-claim-next (src/outbox/dispatcher.ts claimNext, Lane.expecting) against
 * a real store (SQLite in memory) and the in-process bus: a key's next job is leased by the settle of
 * the job before it and started from the store's 'next' handover, per-key order and the concurrency
 * cap hold, and slots kept for a settle that leased nothing are claimed for at once (no poll).
 *
 * Synchronisation: the dispatcher's onResult hook (called once an attempt is recorded); a real-time
 * timeout only guards against a hang. The poll is an hour: nothing here may rely on it.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import type { Handover, NewJob, OutboxJob } from '../../src/core/ports/outbox.js';
import type { SendResult, Sender } from '../../src/core/ports/sender.js';
import { OutboxDispatcher } from '../../src/outbox/dispatcher.js';
import type { ChannelPolicy } from '../../src/outbox/policy.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const POLICY: ChannelPolicy = { concurrency: 2, perTargetConcurrency: 2, leaseMs: 30_000, maxAttempts: 5, firstRetryMs: 1_000, maxRetryMs: 60_000, claimAhead: 0, breaker: {} };

function job(orderKey: string, n: number): NewJob {
  return { channel: 'webhook', target: 'cb1', orderKey, kind: 'Test.Event', body: { key: orderKey, n }, meta: {} };
}

/** A sender that answers every delivery at once (on a later turn) and tracks how many run at once. */
class QuickSender implements Sender {
  readonly delivered: OutboxJob[] = [];
  active = 0;
  maxActive = 0;
  async deliver(j: OutboxJob): Promise<SendResult> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    await new Promise((r) => setImmediate(r));
    this.delivered.push(j);
    this.active--;
    return { ok: true, response: 'ok' };
  }
}

let store: SqliteStore;
let bus: MemoryBus;
let d: OutboxDispatcher | null;
/** Jobs handed to the watcher, by how (the dispatcher's own watch, observed through the store). */
let handed: Array<{ id: number; how: Handover; after?: number }>;

beforeEach(() => {
  store = new SqliteStore({ file: ':memory:', synchronous: 'NORMAL', nodeId: 0, commitMaxBatch: 64, commitMaxDelayMs: 0, inlineFanoutMax: 100 });
  bus = new MemoryBus();
  d = null;
  handed = [];
  const watch = store.outbox.watch.bind(store.outbox);
  store.outbox.watch = (listener) =>
    watch((jobs, how) => {
      for (const j of jobs) handed.push({ id: j.id, how, ...(j.after === undefined ? {} : { after: j.after }) });
      listener(jobs, how);
    });
});

afterEach(async () => {
  await d?.stop();
  await bus.close();
  await store.close();
});

/** Start a dispatcher of `sender`; resolves once `n` results are recorded. */
function run(sender: Sender, n: number, policy: Partial<ChannelPolicy> = {}, lookahead = false): Promise<void> {
  return new Promise((resolve, reject) => {
    let results = 0;
    const guard = setTimeout(() => reject(new Error(`timed out waiting for ${n} results (${results})`)), 10_000);
    d = new OutboxDispatcher(
      store.outbox,
      bus,
      { webhook: { sender, policy: { ...POLICY, ...policy } } },
      {
        pollMs: 3_600_000,
        lookahead,
        onResult: () => {
          if (++results === n) {
            clearTimeout(guard);
            resolve();
          }
        },
      },
      pino({ level: 'silent' }),
    );
    d.start();
  });
}

it('a key\'s next job is leased by the settle of the one before it and started from that handover, in order', async () => {
  const [a1, a2, a3, a4] = await store.outbox.enqueue([job('A', 1), job('A', 2), job('A', 3), job('A', 4)]);
  const sender = new QuickSender();
  await run(sender, 4);
  expect(sender.delivered.map((j) => j.id), 'in creation order, each once').toEqual([a1, a2, a3, a4]);
  expect(handed, 'A2..A4 each came from the settle of the job before it').toEqual([a2, a3, a4].map((id) => ({ id, how: 'next' })));
  expect(await store.outbox.counts()).toEqual({ pending: 0, in_flight: 0, delivered: 4, dead: 0 });
});

it('many keys: never more than `concurrency` in flight, one job per key at a time, every job once in key order', async () => {
  const keys = ['A', 'B', 'C', 'D', 'E'];
  const made = await store.outbox.enqueue(keys.flatMap((k) => [1, 2, 3].map((n) => job(k, n))));
  const sender = new QuickSender();
  await run(sender, made.length);
  expect(sender.maxActive).toBeLessThanOrEqual(POLICY.concurrency);
  expect(sender.delivered.map((j) => j.id).sort((x, y) => x - y)).toEqual(made);
  for (const k of keys) expect(sender.delivered.filter((j) => j.orderKey === k).map((j) => (JSON.parse(j.body) as { n: number }).n)).toEqual([1, 2, 3]);
  expect(handed.some((h) => h.how === 'next')).toBe(true);
});

it('slots kept for a settle that leased nothing (its keys had no next job) are claimed for at once, without a poll', async () => {
  // One job per key: no settle ever leases, every later job comes from a claim.
  const made = await store.outbox.enqueue(['A', 'B', 'C', 'D', 'E', 'F'].map((k) => job(k, 1)));
  const sender = new QuickSender();
  await run(sender, made.length, { concurrency: 1, perTargetConcurrency: 1 });
  expect(sender.delivered.map((j) => j.id)).toEqual(made);
  expect(handed).toEqual([]);
});

it('settles overlap: results that end while an earlier settle waits for its fsync are submitted meanwhile, order and once kept', async () => {
  // Every settle resolves 20 ms after it was submitted (a slow fsync); the store applies it at once.
  let open = 0;
  let most = 0;
  const settle = store.outbox.settle.bind(store.outbox);
  store.outbox.settle = async (outcomes, next) => {
    open++;
    most = Math.max(most, open);
    const applied = settle(outcomes, next);
    await new Promise((r) => setTimeout(r, 20));
    try {
      return await applied;
    } finally {
      open--;
    }
  };
  const keys = ['A', 'B', 'C', 'D'];
  const made = await store.outbox.enqueue(keys.flatMap((k) => [1, 2, 3, 4].map((n) => job(k, n))));
  const sender = new QuickSender();
  await run(sender, made.length);
  expect(most, 'more than one settle in flight at a time').toBeGreaterThan(1);
  expect(sender.maxActive).toBeLessThanOrEqual(POLICY.concurrency);
  expect(sender.delivered.map((j) => j.id).sort((x, y) => x - y)).toEqual(made);
  for (const k of keys) expect(sender.delivered.filter((j) => j.orderKey === k).map((j) => (JSON.parse(j.body) as { n: number }).n)).toEqual([1, 2, 3, 4]);
  expect(handed.filter((h) => h.how === 'next').length, 'next jobs still come from the settles').toBeGreaterThan(0);
  expect(await store.outbox.counts()).toEqual({ pending: 0, in_flight: 0, delivered: made.length, dead: 0 });
});

it('a key\'s next job is leased even when every slot is taken meanwhile: it waits, the cap holds', async () => {
  // One slot, two keys: while A1's settle runs, a claim may give the freed slot to B1; A2 is leased
  // by A1's settle all the same and starts when the slot frees.
  const made = await store.outbox.enqueue([job('A', 1), job('B', 1), job('A', 2), job('B', 2), job('A', 3), job('B', 3)]);
  const sender = new QuickSender();
  await run(sender, made.length, { concurrency: 1, perTargetConcurrency: 1 });
  expect(sender.maxActive).toBe(1);
  expect(sender.delivered.map((j) => j.id).sort((x, y) => x - y)).toEqual(made);
  for (const k of ['A', 'B']) expect(sender.delivered.filter((j) => j.orderKey === k).map((j) => (JSON.parse(j.body) as { n: number }).n)).toEqual([1, 2, 3]);
  expect(handed.filter((h) => h.how === 'next').length).toBeGreaterThan(0);
});

/** A sender answering from a script, recording each delivery's start. */
class ScriptSender implements Sender {
  readonly started: OutboxJob[] = [];
  constructor(private readonly answer: (j: OutboxJob, n: number) => SendResult) {}
  async deliver(j: OutboxJob): Promise<SendResult> {
    this.started.push(j);
    await new Promise((r) => setImmediate(r));
    return this.answer(j, this.started.length);
  }
}

it('lookahead: a key\'s next job, leased with the one before it, starts when that post succeeds, without waiting for its settle to be written', async () => {
  const [a1, a2, a3] = await store.outbox.enqueue([job('A', 1), job('A', 2), job('A', 3)]);
  // A1's settle is held back before it reaches the store: only a job leased ahead can start meanwhile.
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const settle = store.outbox.settle.bind(store.outbox);
  store.outbox.settle = async (outcomes, next) => {
    if (outcomes.some((o) => o.id === a1)) await gate;
    return settle(outcomes, next);
  };
  let sawA2!: () => void;
  const a2Started = new Promise<void>((r) => (sawA2 = r));
  const sender = new ScriptSender((j) => {
    if (j.id === a2) sawA2();
    return { ok: true, response: 'ok' };
  });
  const done = run(sender, 3, {}, true);
  // Without lookahead A2 could not start before A1's settle: `done` then fails on run()'s guard.
  await Promise.race([a2Started, done]);
  expect(sender.started.map((j) => j.id), 'A2 posted while A1\'s settle was not written').toEqual([a1, a2]);
  expect(sender.started[1]).toMatchObject({ after: a1, status: 'in_flight' });
  open();
  await done;
  expect(sender.started.map((j) => j.id), 'in order, each once').toEqual([a1, a2, a3]);
  expect(await store.outbox.counts()).toEqual({ pending: 0, in_flight: 0, delivered: 3, dead: 0 });
});

it('lookahead: a post that fails gives its key\'s next job back unattempted (pending, its attempt returned); nothing of the key is posted past it', async () => {
  const [a1, a2] = await store.outbox.enqueue([job('A', 1), job('A', 2)]);
  const claimed: OutboxJob[] = [];
  const claim = store.outbox.claim.bind(store.outbox);
  store.outbox.claim = async (...args) => {
    const got = await claim(...args);
    claimed.push(...got);
    return got;
  };
  const sender = new ScriptSender(() => ({ ok: false, response: '', error: 'HTTP 503' }));
  await run(sender, 1, {}, true);
  expect(claimed.map((j) => [j.id, j.after]), 'A2 was leased ahead with A1').toEqual([
    [a1, undefined],
    [a2, a1],
  ]);
  expect(sender.started.map((j) => j.id), 'A2 never posted').toEqual([a1]);
  expect(await store.outbox.get(a1!)).toMatchObject({ status: 'pending', attempts: 1, lastError: 'HTTP 503' });
  expect(await store.outbox.get(a2!), 'given back: pending, no attempt counted').toMatchObject({ status: 'pending', attempts: 0, lastError: '' });
  // The key still waits for A1's retry: a claim now hands nothing of it.
  await d!.stop();
  d = null;
  expect(await store.outbox.claim(Date.now(), 10, 30_000, { lookahead: true })).toEqual([]);
});

it('lookahead: a post dead-lettered does not hold its key: the next job, leased ahead, goes at once', async () => {
  const [a1, a2, a3] = await store.outbox.enqueue([job('A', 1), job('A', 2), job('A', 3)]);
  const sender = new ScriptSender((j) => (j.id === a1 ? { ok: false, retryable: false, response: '', error: 'HTTP 404' } : { ok: true, response: 'ok' }));
  await run(sender, 3, {}, true);
  expect(sender.started.map((j) => [j.id, j.after])).toEqual([
    [a1, undefined],
    [a2, a1],
    [a3, a2],
  ]);
  expect(await store.outbox.counts()).toEqual({ pending: 0, in_flight: 0, delivered: 2, dead: 1 });
});
