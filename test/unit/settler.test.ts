/**
 * OutboxSettler (src/outbox/settler.ts): core's OnSettled hook on every path that settles a job — the
 * dispatcher's results, manual complete and fail, and redelivery — against a real store (SQLite in
 * memory) and the dispatcher with in-process fake senders.
 *
 * Synchronisation: waits on promises resolved by the hooks or the dispatcher's onResult; a real-time
 * guard only catches a hang.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import type { FinalOutcome, NewJob, OnSettled, OutboxJob } from '../../src/core/ports/outbox.js';
import type { SendResult } from '../../src/core/ports/sender.js';
import { OutboxDispatcher } from '../../src/outbox/dispatcher.js';
import type { ChannelPolicy } from '../../src/outbox/policy.js';
import { OutboxSettler } from '../../src/outbox/settler.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const LEASE = 30_000;
const POLICY: ChannelPolicy = { maxAttempts: 3, firstRetryMs: 10, maxRetryMs: 10, leaseMs: LEASE, concurrency: 4, perTargetConcurrency: 4, claimAhead: 0, breaker: { threshold: 0 } };

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

/** A list whose waiters resolve once it holds `n` items. */
class Log<T> {
  readonly items: T[] = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  push(x: T): void {
    this.items.push(x);
    for (const w of this.waiters.filter((w) => this.items.length >= w.n)) w.resolve();
    this.waiters = this.waiters.filter((w) => this.items.length < w.n);
  }
  reach(n: number, what: string): Promise<void> {
    if (this.items.length >= n) return Promise.resolve();
    return within(new Promise<void>((resolve) => this.waiters.push({ n, resolve })), what);
  }
}

function job(orderKey: string, over: Partial<NewJob> = {}): NewJob {
  return { channel: 'sms', target: '+15550000', orderKey, kind: 'Sms.Text', body: { text: orderKey }, meta: {}, ...over };
}

/** A hook that records what it is asked and told; `react` answers with a follow-up job on 'inbox'. */
function recordingHook(): OnSettled & {
  asked: Array<{ id: number; outcome: FinalOutcome }>;
  told: Log<{ id: number; status: string; storedStatus: string | undefined }>;
  revived: Log<number>;
  store?: SqliteStore;
} {
  const h = {
    asked: [] as Array<{ id: number; outcome: FinalOutcome }>,
    told: new Log<{ id: number; status: string; storedStatus: string | undefined }>(),
    revived: new Log<number>(),
    store: undefined as SqliteStore | undefined,
    react(j: OutboxJob, outcome: FinalOutcome) {
      h.asked.push({ id: j.id, outcome });
      return { enqueue: [job(`follow:${j.id}`, { channel: 'inbox', kind: `After.${outcome.status}`, ...(j.ref ? { ref: j.ref } : {}) })] };
    },
    async settled(j: OutboxJob, outcome: FinalOutcome) {
      h.told.push({ id: j.id, status: outcome.status, storedStatus: (await h.store?.outbox.get(j.id))?.status });
    },
    redelivered(j: OutboxJob) {
      h.revived.push(j.id);
    },
  };
  return h;
}

describe('OutboxSettler', () => {
  let store: SqliteStore;
  let bus: MemoryBus;
  let settler: OutboxSettler;
  let dispatcher: OutboxDispatcher | undefined;
  const errors: unknown[] = [];
  const log = pino({ level: 'error' }, { write: (line: string) => void errors.push(JSON.parse(line)) });

  beforeEach(() => {
    store = new SqliteStore({ file: ':memory:', synchronous: 'NORMAL', nodeId: 0, commitMaxBatch: 64, commitMaxDelayMs: 0, inlineFanoutMax: 100 });
    bus = new MemoryBus();
    settler = new OutboxSettler(store.outbox, log);
    errors.length = 0;
    dispatcher = undefined;
  });

  afterEach(async () => {
    await dispatcher?.stop();
    await bus.close();
    await store.close();
  });

  const inbox = async (): Promise<OutboxJob[]> => (await store.outbox.list({ limit: 1000 })).filter((j) => j.channel === 'inbox').reverse();

  function run(answer: (j: OutboxJob, n: number) => SendResult): Log<{ id: number; ok: boolean; dead: boolean }> {
    const results = new Log<{ id: number; ok: boolean; dead: boolean }>();
    let n = 0;
    dispatcher = new OutboxDispatcher(
      store.outbox,
      bus,
      { sms: { sender: { deliver: async (j) => answer(j, ++n) }, policy: POLICY } },
      { pollMs: 10, settler, onResult: (j, ok, dead) => results.push({ id: j.id, ok, dead }) },
      log,
    );
    dispatcher.start();
    return results;
  }

  it('the dispatcher asks the hook once per final outcome, commits its reaction with it, and tells it after the commit', async () => {
    const hook = recordingHook();
    hook.store = store;
    settler.register('sms', hook);
    const [ok, bad] = await store.outbox.enqueue([job('ok', { ref: 'n:1' }), job('bad', { ref: 'n:2' })]);
    run((j) => (j.id === ok ? { ok: true, response: 'sent' } : { ok: false, response: '', error: 'no route' }));
    await hook.told.reach(2, 'both final outcomes');
    expect(hook.asked.map((a) => [a.id, a.outcome.status]).sort()).toEqual([
      [ok, 'delivered'],
      [bad, 'dead'],
    ]);
    expect(hook.asked.find((a) => a.id === bad)!.outcome).toEqual({ status: 'dead', error: 'no route', response: '' });
    expect(hook.asked.find((a) => a.id === ok)!.outcome).toMatchObject({ status: 'delivered', response: 'sent' });
    // Asked only for final outcomes: the two retries of `bad` asked nothing.
    expect(hook.asked).toHaveLength(2);
    expect(hook.told.items.map((t) => [t.id, t.status, t.storedStatus]).sort()).toEqual([
      [ok, 'delivered', 'delivered'],
      [bad, 'dead', 'dead'],
    ]);
    expect((await store.outbox.byRef('n:1')).map((j) => [j.channel, j.kind])).toEqual([
      ['sms', 'Sms.Text'],
      ['inbox', 'After.delivered'],
    ]);
    expect((await store.outbox.byRef('n:2')).map((j) => [j.channel, j.kind, j.status])).toEqual([
      ['sms', 'Sms.Text', 'dead'],
      ['inbox', 'After.dead', 'pending'],
    ]);
  });

  it('a reaction that throws is never skipped: the outcome becomes a retry, and the next final outcome carries the reaction', async () => {
    let broken = true;
    const told = new Log<number>();
    settler.register('sms', {
      react: (j) => {
        if (broken) {
          broken = false;
          throw new Error('profile store down');
        }
        return { enqueue: [job(`f:${j.id}`, { channel: 'inbox', kind: 'Fallback' })] };
      },
      settled: (j) => told.push(j.id),
    });
    const [id] = await store.outbox.enqueue([job('a')]);
    const results = run(() => ({ ok: true, response: 'sent' }));
    await results.reach(2, 'the failed attempt, then the delivery');
    expect(told.items).toEqual([id]);
    expect(results.items.map((r) => [r.id, r.ok, r.dead])).toEqual([
      [id, false, false],
      [id, true, false],
    ]);
    expect(await store.outbox.get(id!)).toMatchObject({ status: 'delivered', attempts: 2 });
    expect((await inbox()).map((j) => j.kind)).toEqual(['Fallback']);
    expect(errors.some((e) => (e as { msg: string }).msg.includes('onSettled reaction failed'))).toBe(true);
  });

  it('manual complete and fail run the hook on active jobs only; a retry asks nothing', async () => {
    const hook = recordingHook();
    settler.register('sms', hook);
    const [a, b, c] = await store.outbox.enqueue([job('a'), job('b'), job('c')]);
    expect(await settler.complete(a!, 'done by hand')).toBe(true);
    expect(await settler.fail(b!, 'retry later', '', Date.now() + 60_000)).toBe(true);
    expect(await settler.fail(c!, 'given up', 'HTTP 410', null)).toBe(true);
    expect(hook.asked.map((x) => [x.id, x.outcome.status])).toEqual([
      [a, 'delivered'],
      [c, 'dead'],
    ]);
    await hook.told.reach(2, 'the two final outcomes');
    // Final already: refused, nothing asked, nothing written.
    expect(await settler.complete(a!, 'again')).toBe(false);
    expect(await settler.fail(c!, 'again', '', null)).toBe(false);
    expect(await settler.complete(987_654, 'unknown')).toBe(false);
    expect(hook.asked).toHaveLength(2);
    expect((await inbox()).map((j) => j.kind)).toEqual(['After.delivered', 'After.dead']);
    expect(await store.outbox.get(b!)).toMatchObject({ status: 'pending', lastError: 'retry later' });
  });

  it('an outcome the fence rejects neither writes its reaction nor tells the hook', async () => {
    const hook = recordingHook();
    settler.register('sms', hook);
    const [id] = await store.outbox.enqueue([job('a')]);
    const T = Date.now() + 60_000;
    const [first] = await store.outbox.claim(T, 10, 1_000);
    await store.outbox.claim(T + 1_001, 10, 1_000); // the lease lapsed: claimed again
    const outcome = await settler.prepare(first!, { id: id!, lease: first!.nextAt, ok: true, response: 'late', at: T });
    expect(outcome).toMatchObject({ then: { enqueue: [expect.objectContaining({ channel: 'inbox' })] } });
    expect(await settler.settle([{ job: first!, outcome }])).toEqual(new Set());
    expect(hook.told.items).toEqual([]);
    expect(await inbox()).toEqual([]);
  });

  it('redelivery goes through the settler: the hook hears of each revived job, and is asked again at its next final outcome', async () => {
    const hook = recordingHook();
    settler.register('sms', hook);
    const made = await store.outbox.enqueue([job('a'), job('b'), job('c', { channel: 'webhook' })]);
    for (const id of made) await settler.fail(id, 'x', '', null);
    expect(await settler.redeliver(made[0]!)).toBe(1);
    expect(hook.revived.items).toEqual([made[0]]);
    expect(await settler.redeliver()).toBe(2);
    expect(hook.revived.items, 'webhook has no hook').toEqual([made[0], made[1]]);
    expect(await settler.redeliver()).toBe(0);
    expect(await settler.complete(made[0]!, 'ok')).toBe(true);
    expect(hook.asked.filter((a) => a.id === made[0]).map((a) => a.outcome.status)).toEqual(['dead', 'delivered']);
  });

  it('a channel without a hook is recorded as is, synchronously; a failing post-commit hook is logged, the outcome stands', async () => {
    const outcome = { id: 1, ok: true as const, response: 'x', at: 1 };
    const j = { id: 1, channel: 'webhook' } as OutboxJob;
    expect(settler.prepare(j, outcome)).toBe(outcome);
    settler.register('sms', {
      settled: () => {
        throw new Error('bus down');
      },
    });
    const [id] = await store.outbox.enqueue([job('a')]);
    expect(await settler.complete(id!, 'ok')).toBe(true);
    expect(await store.outbox.get(id!)).toMatchObject({ status: 'delivered' });
    expect(errors.some((e) => (e as { msg: string }).msg.includes('post-commit hook failed'))).toBe(true);
  });
});
