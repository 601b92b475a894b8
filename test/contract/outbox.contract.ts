/**
 * The OutboxStore contract (src/core/ports/outbox.ts), and the effects that store commands commit with
 * their writes, run against every backend.
 *
 * A backend's test file calls `outboxContract(name, factory)`. The factory returns a fresh, empty store
 * (and a cleanup that closes it). Only the Store interface is used here: nothing in this file may depend
 * on a backend.
 *
 * Time: jobs are stamped with the backend's clock (which may run in another thread, so Date is never
 * faked here). Every claim passes its own `now`; tests claim at a time `T` comfortably after every job was
 * created, and express leases and retries relative to it. Results may have crossed a thread boundary
 * (structured clone), so they are compared by value only.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { messageKey, parseMessageKey } from '../../src/core/ids.js';
import { ConvType, MessageKind, PersistFlag, type Conversation, type Payload } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import { targetKey, type EffectSpec, type Handover, type JobStatus, type NewJob, type OutboxJob } from '../../src/core/ports/outbox.js';
import type { MessageDraft, Store } from '../../src/core/ports/store.js';
import { expectCoreError, type StoreFactoryOptions } from './store.contract.js';

/**
 * A fresh, empty store; `openSibling`, where the backend is shared by several nodes, opens another handle
 * on the same data (a second node), closed by `cleanup`.
 */
export type OutboxStoreFactory = (
  opts: StoreFactoryOptions,
) => Promise<{ store: Store; cleanup: () => Promise<void>; openSibling?: () => Promise<Store> }>;

/**
 * A fresh store from `factory` before each test of the enclosing describe, cleaned up after it; `use`
 * receives it (and the sibling opener, where the backend has one).
 */
export function useOutboxStore(factory: OutboxStoreFactory, use: (store: Store, openSibling: (() => Promise<Store>) | undefined) => void): void {
  let cleanup: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const made = await factory({ inlineFanoutMax: 100 });
    cleanup = made.cleanup;
    use(made.store, made.openSibling);
  });
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });
}

/** A job's body (stored and handed out as the exact JSON text). */
function bodyOfJob(j: { body: string }): Record<string, unknown> {
  return JSON.parse(j.body) as Record<string, unknown>;
}

const LEASE = 1_000;
/** Leases of jobs claimed ahead: long enough that the test's own claim() runs within them. */
const AHEAD_LEASE = 60_000;
const MAX_MEMBERS = 100;

function job(orderKey: string, n: number, over: Partial<NewJob> = {}): NewJob {
  return {
    channel: 'webhook',
    target: 't1',
    orderKey,
    kind: 'Test.Event',
    body: { CallbackCommand: 'Test.Event', key: orderKey, n },
    meta: { ClientIP: '10.0.0.1', OptPlatform: 'RESTAPI' },
    ...over,
  };
}

function spec(kind: string, orderKey: string, over: Partial<EffectSpec> = {}): EffectSpec {
  return {
    channel: 'webhook',
    target: 'cb',
    orderKey,
    kind,
    body: { CallbackCommand: kind, Marker: `${kind}@${orderKey}` },
    meta: { ClientIP: '192.0.2.7', OptPlatform: 'Android' },
    ...over,
  };
}

function payload(persistFlag: number = PersistFlag.count, over: Partial<Payload> = {}): Payload {
  return { ...normalizePayload({ type: 1, searchableContent: 'hello', persistFlag }), ...over };
}

const single = (target: string): Conversation => ({ type: ConvType.single, target, line: 0 });
const group = (target: string): Conversation => ({ type: ConvType.group, target, line: 0 });

function draft(sender: string, conv: Conversation, over: Partial<MessageDraft> = {}): MessageDraft {
  return { sender, conv, payload: payload(), kind: MessageKind.conversation, toUsers: [], ...over };
}

const ids = (jobs: OutboxJob[]): number[] => jobs.map((j) => j.id);
const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

/** What a store's outbox watcher receives, by how it was handed over; `reach` waits for a count of one kind ('next' by default). */
export interface OutboxWatch {
  next: OutboxJob[];
  grant: OutboxJob[];
  reach: (n: number, how?: Handover) => Promise<void>;
  stop: () => void;
}

/** Watch `store`'s outbox (its one watcher) for the contract suites of claim ahead and settle-and-claim-next. */
export function watchOutbox(store: Store): OutboxWatch {
  const got: Record<Handover, OutboxJob[]> = { next: [], grant: [] };
  let waiters: Array<{ n: number; how: Handover; resolve: () => void }> = [];
  const stop = store.outbox.watch((js, how) => {
    got[how].push(...js);
    for (const w of waiters.filter((x) => got[x.how].length >= x.n)) w.resolve();
    waiters = waiters.filter((x) => got[x.how].length < x.n);
  });
  const reach = (n: number, how: Handover = 'next'): Promise<void> =>
    got[how].length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, how, resolve }));
  return { ...got, reach, stop };
}

/** Every handover a write of `store` triggers has happened once later writes resolved (same writer, in order). */
export async function outboxDrained(store: Store): Promise<void> {
  await store.outbox.enqueue([]);
  await store.outbox.enqueue([]);
}

export function outboxContract(name: string, factory: OutboxStoreFactory, caps: { sharedByNodes: boolean } = { sharedByNodes: false }): void {
  describe(`Outbox contract: ${name}`, () => {
    let s: Store;
    let openSibling: (() => Promise<Store>) | undefined;
    useOutboxStore(factory, (store, sibling) => {
      s = store;
      openSibling = sibling;
    });

    /** A claim time after every job created so far (jobs are due when created). */
    const later = (): number => Date.now() + 60_000;
    const all = (): Promise<OutboxJob[]> => s.outbox.list({ limit: 10_000 });
    const byId = async (id: number): Promise<OutboxJob> => {
      const j = (await all()).find((x) => x.id === id);
      if (!j) throw new Error(`job ${id} not found`);
      return j;
    };
    /** Jobs handed to the watcher, and a way to wait for a count of them. */
    function watcher(): { jobs: OutboxJob[]; reach: (n: number) => Promise<void>; stop: () => void } {
      const jobs: OutboxJob[] = [];
      let waiters: Array<{ n: number; resolve: () => void }> = [];
      const stop = s.outbox.watch((js) => {
        jobs.push(...js);
        for (const w of waiters.filter((x) => jobs.length >= x.n)) w.resolve();
        waiters = waiters.filter((x) => jobs.length < x.n);
      });
      const reach = (n: number): Promise<void> =>
        jobs.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }));
      return { jobs, reach, stop };
    }
    /** Every handover a write triggers has happened once a later write resolved (same writer, in order). */
    const settled = async (): Promise<void> => {
      await s.outbox.enqueue([]);
      await s.outbox.enqueue([]);
    };

    // ------------------------------------------------------------------ jobs
    describe('enqueue, claim, complete, fail', () => {
      it('enqueue returns one distinct id per job and stores each job pending, due at once, exactly as given', async () => {
        const before = Date.now();
        const body = { CallbackCommand: 'X', nested: { list: [1, 'two', null, { deep: true }] }, text: 'héllo ✓ "q"', n: 1.5 };
        const given = [job('a', 1, { body }), job('b', 2, { channel: 'smtp', target: 't2', kind: 'Mail.Send', meta: {} })];
        const got = await s.outbox.enqueue(given);
        const after = Date.now();
        expect(got).toHaveLength(2);
        expect(new Set(got).size).toBe(2);
        for (const id of got) expect(Number.isSafeInteger(id) && id > 0).toBe(true);
        for (const [i, id] of got.entries()) {
          const j = await byId(id);
          expect(j).toMatchObject({ ...given[i], body: JSON.stringify(given[i]!.body), id, status: 'pending', attempts: 0, lastError: '', lastResponse: '', deliveredAt: 0 });
          expect(bodyOfJob(j)).toEqual(given[i]!.body);
          expect(j.meta).toEqual(given[i]!.meta);
          expect(j.createdAt).toBeGreaterThanOrEqual(before - 1000);
          expect(j.createdAt).toBeLessThanOrEqual(after + 1000);
          expect(j.nextAt, 'a new job is due at once').toBeLessThanOrEqual(after);
        }
        expect(await s.outbox.enqueue([])).toEqual([]);
        expect(await all()).toHaveLength(2);
      });

      it('claim hands out only due jobs, leased: in flight until now + leaseMs', async () => {
        const [id] = await s.outbox.enqueue([job('a', 1)]);
        const j = await byId(id!);
        expect(await s.outbox.claim(j.nextAt - 1, 10, LEASE), 'not due yet').toEqual([]);
        const claimed = await s.outbox.claim(j.nextAt, 10, LEASE);
        expect(claimed).toHaveLength(1);
        expect(claimed[0], 'attempts counts the attempt the job is claimed for').toMatchObject({ id, status: 'in_flight', nextAt: j.nextAt + LEASE, attempts: 1, orderKey: 'a', body: j.body, meta: j.meta });
        expect(await byId(id!)).toMatchObject({ status: 'in_flight', nextAt: j.nextAt + LEASE });
      });

      it('claim returns at most `limit` jobs; successive claims hand out the rest, never twice', async () => {
        const made = await s.outbox.enqueue(['a', 'b', 'c', 'd', 'e'].map((k, i) => job(k, i)));
        const T = later();
        const first = await s.outbox.claim(T, 2, LEASE);
        const second = await s.outbox.claim(T, 2, LEASE);
        const third = await s.outbox.claim(T, 2, LEASE);
        expect(first).toHaveLength(2);
        expect(second).toHaveLength(2);
        expect(third).toHaveLength(1);
        expect(await s.outbox.claim(T, 2, LEASE)).toEqual([]);
        expect(sorted([...ids(first), ...ids(second), ...ids(third)])).toEqual(sorted(made));
      });

      it('claim hands out at most one job per order key, and only the oldest active one of the key', async () => {
        const [a1, a2, b1] = await s.outbox.enqueue([job('A', 1), job('A', 2), job('B', 1)]);
        const [a3] = await s.outbox.enqueue([job('A', 3)]);
        const T = later();
        const claimed = await s.outbox.claim(T, 10, LEASE);
        expect(sorted(ids(claimed))).toEqual(sorted([a1!, b1!]));
        expect(await s.outbox.claim(T, 10, LEASE), 'both keys are held by jobs in flight').toEqual([]);
        const st = await all();
        expect(st.find((j) => j.id === a2)?.status).toBe('pending');
        expect(st.find((j) => j.id === a3)?.status).toBe('pending');
      });

      it('concurrent claims never hand out the same job twice, nor two jobs of one key', async () => {
        const keys = ['k1', 'k2', 'k3', 'k4', 'k5'];
        await s.outbox.enqueue(keys.flatMap((k) => [1, 2, 3, 4].map((n) => job(k, n))));
        const T = later();
        const results = await Promise.all([1, 2, 3, 4].map(() => s.outbox.claim(T, 10, LEASE)));
        const claimed = results.flat();
        expect(new Set(ids(claimed)).size).toBe(claimed.length);
        expect(claimed.map((j) => j.orderKey).sort()).toEqual(keys);
        for (const j of claimed) expect(bodyOfJob(j)['n'], `${j.orderKey} gave its oldest job`).toBe(1);
      });

      it('jobs of one key come out in creation order across completes, while other keys proceed independently', async () => {
        const a = await s.outbox.enqueue([job('A', 1), job('A', 2)]);
        const [b1] = await s.outbox.enqueue([job('B', 1)]);
        const more = [...(await s.outbox.enqueue([job('A', 3)])), ...(await s.outbox.enqueue([job('A', 4)]))];
        const order = [...a, ...more];
        const T = later();
        const seen: number[] = [];
        const first = await s.outbox.claim(T, 10, LEASE);
        expect(sorted(ids(first))).toEqual(sorted([order[0]!, b1!]));
        seen.push(order[0]!);
        await s.outbox.complete(b1!, 'ok', T);
        for (let i = 0; i < order.length; i++) {
          await s.outbox.complete(seen[i]!, 'ok', T);
          const next = await s.outbox.claim(T, 10, LEASE);
          if (i === order.length - 1) {
            expect(next).toEqual([]);
          } else {
            expect(next, `after completing ${seen[i]}`).toHaveLength(1);
            seen.push(next[0]!.id);
          }
        }
        expect(seen).toEqual(order);
        expect((await s.outbox.counts()).delivered).toBe(5);
      });

      it('a claim sees the results submitted before it: a settle not yet resolved already released its key', async () => {
        const [a1, a2] = await s.outbox.enqueue([job('A', 1), job('A', 2)]);
        const T = later();
        const [c] = await s.outbox.claim(T, 10, LEASE);
        // Not awaited before the claim: submitted first is enough.
        const [done, next] = await Promise.all([s.outbox.settle([{ id: a1!, lease: c!.nextAt, ok: true, response: 'ok', at: T }]), s.outbox.claim(T, 10, LEASE)]);
        expect(done).toEqual([a1]);
        expect(ids(next)).toEqual([a2]);
      });

      it('complete records the delivery: delivered, attempts counted, response kept; never claimed again', async () => {
        const [id] = await s.outbox.enqueue([job('A', 1)]);
        const T = later();
        await s.outbox.claim(T, 1, LEASE);
        await s.outbox.fail(id!, 'HTTP 502', '<html>bad gateway</html>', T + 10);
        expect(ids(await s.outbox.claim(T + 10, 1, LEASE))).toEqual([id]);
        await s.outbox.complete(id!, '{"ActionStatus":"OK","ErrorCode":0}', T + 20);
        expect(await byId(id!)).toMatchObject({ status: 'delivered', attempts: 2, deliveredAt: T + 20, lastResponse: '{"ActionStatus":"OK","ErrorCode":0}' });
        expect(await s.outbox.claim(T + 10 * LEASE, 10, LEASE)).toEqual([]);
      });

      it('fail with a future nextAt keeps the job pending and holds its key until then', async () => {
        const [a1, a2] = await s.outbox.enqueue([job('A', 1), job('A', 2)]);
        const T = later();
        expect(ids(await s.outbox.claim(T, 10, LEASE))).toEqual([a1]);
        await s.outbox.fail(a1!, 'HTTP 500', 'oops', T + 5_000);
        expect(await byId(a1!)).toMatchObject({ status: 'pending', attempts: 1, nextAt: T + 5_000, lastError: 'HTTP 500', lastResponse: 'oops' });
        expect(await s.outbox.claim(T + 4_999, 10, LEASE), 'neither the retry nor the job behind it is due').toEqual([]);
        expect(await byId(a2!)).toMatchObject({ status: 'pending' });
        const retry = await s.outbox.claim(T + 5_000, 10, LEASE);
        expect(ids(retry)).toEqual([a1]);
        expect(retry[0]).toMatchObject({ attempts: 2, status: 'in_flight' });
        await s.outbox.complete(a1!, 'ok', T + 5_000);
        expect(ids(await s.outbox.claim(T + 5_000, 10, LEASE))).toEqual([a2]);
      });

      it('a dead-lettered job (fail with nextAt null) no longer holds its key: the next job proceeds', async () => {
        const [a1, a2] = await s.outbox.enqueue([job('A', 1), job('A', 2)]);
        const T = later();
        expect(ids(await s.outbox.claim(T, 10, LEASE))).toEqual([a1]);
        await s.outbox.fail(a1!, 'target gone', 'HTTP 404', null);
        expect(await byId(a1!)).toMatchObject({ status: 'dead', attempts: 1, lastError: 'target gone', lastResponse: 'HTTP 404' });
        expect(ids(await s.outbox.claim(T, 10, LEASE))).toEqual([a2]);
        await s.outbox.complete(a2!, 'ok', T);
        expect(await s.outbox.claim(T + 100 * LEASE, 10, LEASE), 'a dead job is never claimed').toEqual([]);
        expect(await byId(a1!)).toMatchObject({ status: 'dead' });
      });

      it('a lapsed lease makes the job claimable again (crash recovery), with the same id, still holding its key meanwhile', async () => {
        const [a1, a2] = await s.outbox.enqueue([job('A', 1), job('A', 2)]);
        const T = later();
        const first = await s.outbox.claim(T, 10, LEASE);
        expect(ids(first)).toEqual([a1]);
        expect(await s.outbox.claim(T + LEASE - 1, 10, LEASE), 'leased: neither it nor its successor').toEqual([]);
        const again = await s.outbox.claim(T + LEASE + 1, 10, LEASE);
        expect(ids(again)).toEqual([a1]);
        expect(again[0]).toMatchObject({ status: 'in_flight', nextAt: T + LEASE + 1 + LEASE, body: first[0]!.body, kind: first[0]!.kind });
        expect(await s.outbox.claim(T + LEASE + 2, 10, LEASE), 'the new lease holds too').toEqual([]);
        await s.outbox.complete(a1!, 'ok', T + LEASE + 2);
        expect(ids(await s.outbox.claim(T + LEASE + 2, 10, LEASE))).toEqual([a2]);
      });

      it('keeps a truncated prefix of very long errors and responses', async () => {
        const [a, b] = await s.outbox.enqueue([job('A', 1), job('B', 1)]);
        const T = later();
        await s.outbox.claim(T, 10, LEASE);
        const longErr = `E${'e'.repeat(100_000)}`;
        const longResp = `R${'r'.repeat(100_000)}`;
        await s.outbox.fail(a!, longErr, longResp, null);
        await s.outbox.complete(b!, longResp, T);
        const ja = await byId(a!);
        const jb = await byId(b!);
        for (const [kept, full] of [
          [ja.lastError, longErr],
          [ja.lastResponse, longResp],
          [jb.lastResponse, longResp],
        ] as const) {
          expect(kept.length).toBeGreaterThan(0);
          expect(kept.length).toBeLessThan(full.length);
          expect(full.startsWith(kept)).toBe(true);
        }
      });
    });

    // ------------------------------------------------------------------ dead letters
    describe('redeliver', () => {
      /** Enqueue jobs on distinct keys and dead-letter them. */
      async function dead(keys: string[], T: number): Promise<number[]> {
        const made = await s.outbox.enqueue(keys.map((k) => job(k, 1)));
        const claimed = await s.outbox.claim(T, keys.length, LEASE);
        expect(sorted(ids(claimed))).toEqual(sorted(made));
        for (const id of made) {
          await s.outbox.fail(id, 'first', 'r1', T + 1);
          await s.outbox.claim(T + 1, keys.length, LEASE);
        }
        for (const id of made) await s.outbox.fail(id, 'second', 'r2', null);
        for (const id of made) expect(await byId(id)).toMatchObject({ status: 'dead', attempts: 2 });
        return made;
      }

      it('redeliver(id) makes a dead job pending again, due at `now`, with attempts reset', async () => {
        const T = later();
        const [x] = await dead(['X'], T);
        const R = T + 50_000;
        expect(await s.outbox.redeliver(x!, R)).toBe(1);
        expect(await byId(x!)).toMatchObject({ status: 'pending', attempts: 0, nextAt: R });
        expect(await s.outbox.claim(R - 1, 10, LEASE)).toEqual([]);
        expect(ids(await s.outbox.claim(R, 10, LEASE))).toEqual([x]);
      });

      it('redeliver(id) touches only dead jobs: pending, in-flight, delivered and unknown ids count 0 and stay as they are', async () => {
        const [p, f, d] = await s.outbox.enqueue([job('P', 1), job('F', 1), job('D', 1)]);
        const T = later();
        await s.outbox.claim(T, 10, LEASE);
        await s.outbox.fail(p!, 'retry later', '', T + 9_999);
        await s.outbox.complete(d!, 'ok', T);
        const before = await all();
        expect(await s.outbox.redeliver(p!, T)).toBe(0);
        expect(await s.outbox.redeliver(f!, T)).toBe(0);
        expect(await s.outbox.redeliver(d!, T)).toBe(0);
        expect(await s.outbox.redeliver(987_654_321, T)).toBe(0);
        expect(await all()).toEqual(before);
      });

      it('redeliver() with no id revives every dead job and nothing else', async () => {
        const T = later();
        const deadIds = await dead(['X', 'Y', 'Z'], T);
        const [done, waiting] = await s.outbox.enqueue([job('D', 1), job('W', 1)]);
        await s.outbox.claim(T + 2, 10, LEASE);
        await s.outbox.complete(done!, 'ok', T + 2);
        await s.outbox.fail(waiting!, 'later', '', T + 9_999);
        expect(await s.outbox.redeliver()).toBe(3);
        for (const id of deadIds) {
          const j = await byId(id);
          expect(j).toMatchObject({ status: 'pending', attempts: 0 });
          expect(j.nextAt).toBeLessThanOrEqual(Date.now());
        }
        expect(await byId(done!)).toMatchObject({ status: 'delivered', attempts: 1 });
        expect(await byId(waiting!)).toMatchObject({ status: 'pending', attempts: 1, nextAt: T + 9_999 });
        expect(await s.outbox.redeliver()).toBe(0);
        expect(sorted(ids(await s.outbox.claim(T + 3, 10, LEASE)))).toEqual(sorted(deadIds));
      });

      it('a redelivered job is again the oldest of its key: it goes before the jobs queued behind it', async () => {
        const [a1, a2] = await s.outbox.enqueue([job('A', 1), job('A', 2)]);
        const T = later();
        await s.outbox.claim(T, 10, LEASE);
        await s.outbox.fail(a1!, 'gone', '', null);
        expect(await s.outbox.redeliver(a1!, T)).toBe(1);
        expect(ids(await s.outbox.claim(T, 10, LEASE))).toEqual([a1]);
        await s.outbox.complete(a1!, 'ok', T);
        expect(ids(await s.outbox.claim(T, 10, LEASE))).toEqual([a2]);
      });
    });

    // ------------------------------------------------------------------ leases, batches, fairness
    describe('settle, fencing and claim options', () => {
      it('settle records many outcomes in one call: delivered, retry and dead, and says how many applied', async () => {
        const [a, b, c, b2] = await s.outbox.enqueue([job('A', 1), job('B', 1), job('C', 1), job('B', 2)]);
        const T = later();
        const claimed = await s.outbox.claim(T, 10, LEASE);
        const lease = (id: number): number => claimed.find((j) => j.id === id)!.nextAt;
        const n = await s.outbox.settle([
          { id: a!, lease: lease(a!), ok: true, response: 'ok', at: T + 1 },
          { id: b!, lease: lease(b!), ok: false, error: 'HTTP 500', response: 'oops', nextAt: null },
          { id: c!, lease: lease(c!), ok: false, error: 'timeout', response: '', nextAt: T + 500 },
          { id: 987_654, ok: true, response: 'no such job', at: T },
        ]);
        expect(n, 'the applied ones, in order: the unknown id is not among them').toEqual([a, b, c]);
        expect(await byId(a!)).toMatchObject({ status: 'delivered', attempts: 1, deliveredAt: T + 1, lastResponse: 'ok' });
        expect(await byId(b!)).toMatchObject({ status: 'dead', attempts: 1, lastError: 'HTTP 500', lastResponse: 'oops' });
        expect(await byId(c!)).toMatchObject({ status: 'pending', attempts: 1, nextAt: T + 500, lastError: 'timeout' });
        expect(ids(await s.outbox.claim(T + 1, 10, LEASE)), 'the dead job released its key; the retry holds its own').toEqual([b2]);
      });

      it('results are fenced by the lease: a holder whose lease lapsed cannot overwrite the newer attempt', async () => {
        const [a, a2] = await s.outbox.enqueue([job('A', 1), job('A', 2)]);
        const T = later();
        const [first] = await s.outbox.claim(T, 10, LEASE);
        const [second] = await s.outbox.claim(T + LEASE + 1, 10, LEASE);
        expect(second!.id).toBe(a);
        expect(second!.nextAt).not.toBe(first!.nextAt);
        expect(second!.attempts, 'both attempts are counted').toBe(2);
        // The first holder reports late: ignored, whatever it says.
        expect(await s.outbox.settle([{ id: a!, lease: first!.nextAt, ok: false, error: 'late', response: '', nextAt: null }])).toEqual([]);
        expect(await s.outbox.settle([{ id: a!, lease: first!.nextAt, ok: true, response: 'late ok', at: T }])).toEqual([]);
        expect(await byId(a!)).toMatchObject({ status: 'in_flight', nextAt: second!.nextAt, lastError: '', lastResponse: '' });
        expect(await s.outbox.claim(T + LEASE + 2, 10, LEASE), 'the key is still held by the current lease').toEqual([]);
        // The current holder's result applies, once.
        expect(await s.outbox.settle([{ id: a!, lease: second!.nextAt, ok: true, response: 'ok', at: T + LEASE + 3 }])).toEqual([a]);
        expect(await s.outbox.settle([{ id: a!, lease: second!.nextAt, ok: true, response: 'again', at: T + LEASE + 4 }])).toEqual([]);
        expect(await byId(a!)).toMatchObject({ status: 'delivered', lastResponse: 'ok', deliveredAt: T + LEASE + 3 });
        expect(ids(await s.outbox.claim(T + LEASE + 5, 10, LEASE))).toEqual([a2]);
        expect((await s.outbox.counts()).delivered).toBe(1);
      });

      it('perTarget and inFlight cap each target; exclude skips a target; every target with due jobs is served', async () => {
        const made = await s.outbox.enqueue([
          ...[1, 2, 3, 4, 5].map((n) => job(`x${n}`, n, { target: 'X' })),
          ...[1, 2, 3].map((n) => job(`y${n}`, n, { target: 'Y' })),
          ...[1, 2].map((n) => job(`z${n}`, n, { channel: 'smtp', target: 'X' })),
        ]);
        const T = later();
        const c1 = await s.outbox.claim(T, 100, LEASE, { perTarget: 2, inFlight: { [targetKey('webhook', 'X')]: 1 } });
        const count = (js: OutboxJob[], channel: string, target: string): number => js.filter((j) => j.channel === channel && j.target === target).length;
        expect(count(c1, 'webhook', 'X'), 'one slot left of two').toBe(1);
        expect(count(c1, 'webhook', 'Y')).toBe(2);
        expect(count(c1, 'smtp', 'X'), 'a target is scoped by its channel').toBe(2);
        const c2 = await s.outbox.claim(T, 100, LEASE, { exclude: [targetKey('webhook', 'X')] });
        expect(count(c2, 'webhook', 'X')).toBe(0);
        expect(count(c2, 'webhook', 'Y')).toBe(1);
        const c3 = await s.outbox.claim(T, 100, LEASE);
        expect(count(c3, 'webhook', 'X')).toBe(4);
        expect(sorted(ids([...c1, ...c2, ...c3]))).toEqual(sorted(made));
      });

      it('a small limit is shared among targets over successive claims: none is starved by another\'s backlog', async () => {
        await s.outbox.enqueue(Array.from({ length: 40 }, (_, i) => job(`big${i}`, i, { target: 'BIG' })));
        await s.outbox.enqueue([job('small', 1, { target: 'SMALL' })]);
        const T = later();
        const got: OutboxJob[] = [];
        for (let i = 0; i < 4; i++) got.push(...(await s.outbox.claim(T, 2, LEASE)));
        expect(got.some((j) => j.target === 'SMALL'), 'the small target was served within a few claims').toBe(true);
      });

      it('a long queue behind a waiting head does not hold other keys back', async () => {
        const queued = await s.outbox.enqueue(Array.from({ length: 2_000 }, (_, n) => job('HOT', n)));
        const T = later();
        const [head] = await s.outbox.claim(T, 10, LEASE);
        expect(head!.id).toBe(queued[0]);
        await s.outbox.fail(head!.id, 'HTTP 503', '', T + 60_000);
        const [other] = await s.outbox.enqueue([job('COLD', 1)]);
        expect(ids(await s.outbox.claim(T + 1, 10, LEASE))).toEqual([other]);
        expect((await s.outbox.counts()).pending).toBe(2_000);
      });

      it('a job redelivered while a later job of its key is in flight waits for it, then goes before the rest', async () => {
        const [a1, a2, a3] = await s.outbox.enqueue([job('A', 1), job('A', 2), job('A', 3)]);
        const T = later();
        await s.outbox.claim(T, 10, LEASE);
        await s.outbox.fail(a1!, 'gone', '', null);
        const [inFlight] = await s.outbox.claim(T, 10, LEASE);
        expect(inFlight!.id).toBe(a2);
        expect(await s.outbox.redeliver(a1!, T)).toBe(1);
        expect(await s.outbox.claim(T, 10, LEASE), 'one job of a key in flight at a time').toEqual([]);
        await s.outbox.complete(a2!, 'ok', T);
        expect(ids(await s.outbox.claim(T, 10, LEASE)), 'the redelivered job is the oldest active one').toEqual([a1]);
        await s.outbox.complete(a1!, 'ok', T);
        expect(ids(await s.outbox.claim(T, 10, LEASE))).toEqual([a3]);
      });
    });

    // ------------------------------------------------------------------ claim ahead
    describe('grant and watch (claim ahead)', () => {

      it('the write that creates jobs leases up to the grant and hands them over; claim() no longer sees them', async () => {
        const w = watcher();
        await s.outbox.grant('webhook', 2, AHEAD_LEASE);
        const made = await s.outbox.enqueue([job('A', 1), job('B', 1), job('C', 1)]);
        await w.reach(2);
        await settled();
        expect(w.jobs).toHaveLength(2);
        for (const j of w.jobs) expect(j).toMatchObject({ status: 'in_flight', attempts: 1 });
        for (const j of w.jobs) expect(j.nextAt).toBeGreaterThan(Date.now() - 1_000);
        // Within the lease of the handed-over jobs: claim() sees only the one left.
        const left = await s.outbox.claim(Date.now(), 10, LEASE);
        expect(sorted([...ids(w.jobs), ...ids(left)]), 'every job once: two handed over, one left to claim').toEqual(sorted(made));
        expect(left).toHaveLength(1);
        w.stop();
      });

      it('a job queued behind its key is not handed over; the grant is used up; revoke withdraws what is left', async () => {
        const w = watcher();
        await s.outbox.grant('webhook', 3, AHEAD_LEASE);
        const [a1, a2] = await s.outbox.enqueue([job('A', 1), job('A', 2)]);
        await w.reach(1);
        await settled();
        expect(ids(w.jobs), 'only the head of A').toEqual([a1]);
        await s.outbox.complete(a1!, 'ok', Date.now());
        const [b1] = await s.outbox.enqueue([job('B', 1)]);
        await w.reach(3);
        expect(sorted(ids(w.jobs)), 'the next write claims the released A2 and the new B1').toEqual(sorted([a1!, a2!, b1!]));
        await s.outbox.enqueue([job('C', 1)]);
        await settled();
        expect(w.jobs, 'the grant of three is used up').toHaveLength(3);
        await s.outbox.grant('webhook', 5, AHEAD_LEASE);
        await s.outbox.revoke();
        await s.outbox.enqueue([job('D', 1)]);
        await settled();
        expect(w.jobs, 'revoked').toHaveLength(3);
        w.stop();
      });

      it('without a watcher nothing is claimed ahead', async () => {
        const w = watcher();
        w.stop();
        await s.outbox.grant('webhook', 5, AHEAD_LEASE);
        const made = await s.outbox.enqueue([job('A', 1)]);
        await settled();
        expect(w.jobs).toEqual([]);
        expect(ids(await s.outbox.claim(later(), 10, LEASE))).toEqual(made);
      });

      it('a grant honours its claim options: an excluded target is left to claim()', async () => {
        const w = watcher();
        await s.outbox.grant('webhook', 5, AHEAD_LEASE, { exclude: [targetKey('webhook', 'DOWN')] });
        const [down, up] = await s.outbox.enqueue([job('d', 1, { target: 'DOWN' }), job('u', 1, { target: 'UP' })]);
        await w.reach(1);
        await settled();
        expect(ids(w.jobs)).toEqual([up]);
        expect(ids(await s.outbox.claim(Date.now(), 10, LEASE))).toEqual([down]);
        w.stop();
      });

      it('jobs committed with a store command are handed over too', async () => {
        await s.users.upsertUser('a', { name: 'name-a' });
        await s.users.upsertUser('b', { name: 'name-b' });
        const w = watcher();
        await s.outbox.grant('webhook', 5, AHEAD_LEASE);
        await s.messages.appendMessage(draft('a', single('b'), { effects: [spec('C2C.CallbackAfterSendMsg', 'a|b')] }));
        await w.reach(1);
        expect(w.jobs[0]).toMatchObject({ kind: 'C2C.CallbackAfterSendMsg', status: 'in_flight', orderKey: 'a|b' });
        w.stop();
      });
    });

    // ------------------------------------------------------------------ many channels
    describe('delayed jobs (notBefore)', () => {
      it('a job is not due before its notBefore: its nextAt, claims before it get nothing, it holds its key meanwhile', async () => {
        const NB = Date.now() + 3_600_000;
        const [d1, d2] = await s.outbox.enqueue([job('D', 1, { notBefore: NB }), job('D', 2)]);
        const [o] = await s.outbox.enqueue([job('O', 1)]);
        expect(await byId(d1!)).toMatchObject({ status: 'pending', attempts: 0, nextAt: NB });
        expect(ids(await s.outbox.claim(NB - 1, 10, LEASE)), 'only the job of the other key').toEqual([o]);
        expect(await s.outbox.claim(NB - 1, 10, LEASE), 'the delayed job and the job queued behind it wait').toEqual([]);
        const due = await s.outbox.claim(NB, 10, LEASE);
        expect(ids(due)).toEqual([d1]);
        expect(due[0]).toMatchObject({ status: 'in_flight', attempts: 1, nextAt: NB + LEASE });
        await s.outbox.complete(d1!, 'ok', NB);
        expect(ids(await s.outbox.claim(NB, 10, LEASE))).toEqual([d2]);
      });

      it('a notBefore in the past is due at once; a notBefore that is not a finite time is refused and writes nothing', async () => {
        const before = Date.now();
        const [p] = await s.outbox.enqueue([job('P', 1, { notBefore: before - 60_000 })]);
        const j = await byId(p!);
        expect(j.nextAt).toBeGreaterThanOrEqual(before - 1_000);
        expect(j.nextAt).toBeLessThanOrEqual(Date.now() + 1_000);
        for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
          await expectCoreError(s.outbox.enqueue([job('X', 1), job('Y', 1, { notBefore: bad })]), 'invalid_parameter');
        }
        expect(ids(await all()), 'the failed enqueues wrote neither job').toEqual([p]);
      });

      it('a claim ahead never hands a delayed job over early; it is claimed once due', async () => {
        const w = watcher();
        await s.outbox.grant('webhook', 5, AHEAD_LEASE);
        const NB = Date.now() + 3_600_000;
        const [late, now] = await s.outbox.enqueue([job('L', 1, { notBefore: NB }), job('N', 1)]);
        await w.reach(1);
        await settled();
        expect(ids(w.jobs)).toEqual([now]);
        // Later writes with grant left: still not handed over.
        const [next] = await s.outbox.enqueue([job('M', 1)]);
        await w.reach(2);
        await settled();
        expect(ids(w.jobs)).toEqual([now, next]);
        expect(await byId(late!)).toMatchObject({ status: 'pending', attempts: 0, nextAt: NB });
        for (const id of [now!, next!]) await s.outbox.complete(id, 'ok', Date.now());
        expect(ids(await s.outbox.claim(NB, 10, LEASE))).toEqual([late]);
        w.stop();
      });

      it('a delayed effect committed with a store command is delayed too', async () => {
        await s.users.upsertUser('a', { name: 'name-a' });
        await s.users.upsertUser('b', { name: 'name-b' });
        const NB = Date.now() + 3_600_000;
        await s.messages.appendMessage(draft('a', single('b'), { effects: [spec('Remind', 'r:b', { channel: 'sms', notBefore: NB })] }));
        const [j] = await all();
        expect(j).toMatchObject({ channel: 'sms', kind: 'Remind', status: 'pending', nextAt: NB });
        expect(await s.outbox.claim(NB - 1, 10, LEASE)).toEqual([]);
        expect(ids(await s.outbox.claim(NB, 10, LEASE))).toEqual([j!.id]);
      });
    });

    describe('correlation reference (ref, byRef)', () => {
      it('byRef lists the jobs of one reference, oldest first, with their current status; jobs without one are never listed', async () => {
        const [m1a, other, m1b, none, m2] = await s.outbox.enqueue([
          job('A', 1, { ref: 'msg:1' }),
          job('B', 1, { ref: 'msg:10' }),
          job('C', 1, { channel: 'sms', target: 'alice', ref: 'msg:1' }),
          job('D', 1),
          job('E', 1, { ref: 'msg:2' }),
        ]);
        const got = await s.outbox.byRef('msg:1');
        expect(ids(got)).toEqual([m1a, m1b]);
        expect(got.map((j) => j.status)).toEqual(['pending', 'pending']);
        expect(got[1]).toMatchObject({ channel: 'sms', target: 'alice', ref: 'msg:1', orderKey: 'C' });
        const T = later();
        await s.outbox.claim(T, 10, LEASE);
        await s.outbox.complete(m1a!, 'ok', T);
        await s.outbox.fail(m1b!, 'unreachable', '', null);
        expect((await s.outbox.byRef('msg:1')).map((j) => [j.id, j.status])).toEqual([
          [m1a, 'delivered'],
          [m1b, 'dead'],
        ]);
        expect(ids(await s.outbox.byRef('msg:2'))).toEqual([m2]);
        expect(ids(await s.outbox.byRef('msg:10'))).toEqual([other]);
        expect(await s.outbox.byRef('msg:3')).toEqual([]);
        expect(await s.outbox.byRef('')).toEqual([]);
        expect(await byId(none!)).not.toHaveProperty('ref');
        expect((await byId(m2!)).ref).toBe('msg:2');
      });

      it('byRef pages by its limit (oldest first)', async () => {
        const made = await s.outbox.enqueue(Array.from({ length: 5 }, (_, i) => job(`k${i}`, i, { ref: 'n:1' })));
        expect(ids(await s.outbox.byRef('n:1', 3))).toEqual(made.slice(0, 3));
        expect(ids(await s.outbox.byRef('n:1'))).toEqual(made);
      });

      it('a ref on an effect of a store command is kept; an empty or over-long ref is refused and writes nothing', async () => {
        await s.users.upsertUser('a', { name: 'name-a' });
        await s.users.upsertUser('b', { name: 'name-b' });
        await s.messages.appendMessage(draft('a', single('b'), { effects: [spec('After', 'k', { ref: 'conv:a:b' })] }));
        expect((await s.outbox.byRef('conv:a:b')).map((j) => j.kind)).toEqual(['After']);
        for (const bad of ['', 'r'.repeat(257)]) {
          await expectCoreError(s.outbox.enqueue([job('X', 1, { ref: bad })]), 'invalid_parameter');
          await expectCoreError(s.messages.appendMessage(draft('a', single('b'), { effects: [spec('After', 'k', { ref: bad })] })), 'invalid_parameter');
        }
        expect(await all()).toHaveLength(1);
        expect(await s.outbox.enqueue([job('Y', 1, { ref: 'r'.repeat(256) })])).toHaveLength(1);
      });

      it('get returns one job, or null', async () => {
        const [a] = await s.outbox.enqueue([job('A', 1, { ref: 'x' })]);
        expect(await s.outbox.get(a!)).toEqual(await byId(a!));
        expect(await s.outbox.get(987_654_321)).toBeNull();
      });
    });

    describe('claims filtered by channel', () => {
      it('claim takes only the channels asked for; the others stay pending, untouched', async () => {
        const [w, m, x] = await s.outbox.enqueue([job('w', 1), job('m', 1, { channel: 'smtp' }), job('x', 1, { channel: 'sms', target: '' })]);
        const T = later();
        expect(await s.outbox.claim(T, 10, LEASE, { channels: [] }), 'no channel: nothing').toEqual([]);
        expect(ids(await s.outbox.claim(T, 10, LEASE, { channels: ['smtp', 'nope'] }))).toEqual([m]);
        expect(ids(await s.outbox.claim(T, 10, LEASE, { channels: ['sms'] })), 'an empty target is a target').toEqual([x]);
        expect(await byId(w!)).toMatchObject({ status: 'pending', attempts: 0 });
        expect(ids(await s.outbox.claim(T, 10, LEASE)), 'no filter: every channel').toEqual([w]);
      });

      it('channel filter, per-target caps and exclusions combine', async () => {
        await s.outbox.enqueue([
          ...[1, 2, 3].map((n) => job(`a${n}`, n, { channel: 'sms', target: 'A' })),
          ...[1, 2].map((n) => job(`b${n}`, n, { channel: 'sms', target: 'B' })),
          ...[1, 2].map((n) => job(`w${n}`, n, { target: 'A' })),
        ]);
        const T = later();
        const got = await s.outbox.claim(T, 100, LEASE, { channels: ['sms'], perTarget: 2, inFlight: { [targetKey('sms', 'A')]: 1 }, exclude: [targetKey('sms', 'B')] });
        expect(got.map((j) => `${j.channel}/${j.target}`)).toEqual(['sms/A']);
      });

      it('grants are per channel: each hands over only its own channel\'s jobs, with its own lease; revoke withdraws them all', async () => {
        const w = watcher();
        await s.outbox.grant('webhook', 5, AHEAD_LEASE);
        await s.outbox.grant('sms', 5, 2 * AHEAD_LEASE);
        const before = Date.now();
        const [hook, sms, mail] = await s.outbox.enqueue([job('h', 1), job('s', 1, { channel: 'sms' }), job('m', 1, { channel: 'smtp' })]);
        await w.reach(2);
        await settled();
        const after = Date.now();
        expect(sorted(ids(w.jobs))).toEqual(sorted([hook!, sms!]));
        const lease = (id: number): number => w.jobs.find((j) => j.id === id)!.nextAt;
        expect(lease(hook!)).toBeGreaterThanOrEqual(before + AHEAD_LEASE - 1_000);
        expect(lease(hook!)).toBeLessThanOrEqual(after + AHEAD_LEASE + 1_000);
        expect(lease(sms!)).toBeGreaterThanOrEqual(before + 2 * AHEAD_LEASE - 1_000);
        expect(lease(sms!)).toBeLessThanOrEqual(after + 2 * AHEAD_LEASE + 1_000);
        expect(await byId(mail!), 'no grant for smtp').toMatchObject({ status: 'pending', attempts: 0 });
        // A grant's own options cannot widen it to another channel.
        await s.outbox.grant('sms', 0, AHEAD_LEASE, { channels: ['smtp'] });
        await s.outbox.enqueue([job('m2', 1, { channel: 'smtp' })]);
        await settled();
        expect(w.jobs).toHaveLength(2);
        await s.outbox.revoke();
        await s.outbox.enqueue([job('h2', 1), job('s2', 1, { channel: 'sms' })]);
        await settled();
        expect(w.jobs, 'revoked').toHaveLength(2);
        w.stop();
      });
    });

    describe('settle reactions (onSettled)', () => {
      const follow = (key: string, over: Partial<NewJob> = {}): NewJob => job(key, 0, { channel: 'inbox', target: 'alice', kind: 'Fallback', ...over });

      it('the reaction of a delivered and of a dead outcome is written with it; its jobs are claimable like any other', async () => {
        const [a, b] = await s.outbox.enqueue([job('A', 1, { ref: 'n:1' }), job('B', 1, { ref: 'n:2' })]);
        const T = later();
        const claimed = await s.outbox.claim(T, 10, LEASE);
        const lease = (id: number): number => claimed.find((j) => j.id === id)!.nextAt;
        const applied = await s.outbox.settle([
          { id: a!, lease: lease(a!), ok: true, response: 'ok', at: T, then: { enqueue: [follow('FA', { ref: 'n:1', kind: 'Status' })] } },
          { id: b!, lease: lease(b!), ok: false, error: 'unreachable', response: '', nextAt: null, then: { enqueue: [follow('FB', { ref: 'n:2' }), follow('FB', { ref: 'n:2', kind: 'Second' })] } },
        ]);
        expect(applied).toEqual([a, b]);
        expect((await s.outbox.byRef('n:1')).map((j) => [j.kind, j.status])).toEqual([
          ['Test.Event', 'delivered'],
          ['Status', 'pending'],
        ]);
        const n2 = await s.outbox.byRef('n:2');
        expect(n2.map((j) => [j.kind, j.status, j.channel])).toEqual([
          ['Test.Event', 'dead', 'webhook'],
          ['Fallback', 'pending', 'inbox'],
          ['Second', 'pending', 'inbox'],
        ]);
        const next = await s.outbox.claim(T, 10, LEASE, { channels: ['inbox'] });
        expect(next.map((j) => j.kind).sort(), 'FA and the head of FB').toEqual(['Fallback', 'Status']);
      });

      it('a reaction is not applied when the lease fence rejects the outcome', async () => {
        const [a] = await s.outbox.enqueue([job('A', 1)]);
        const T = later();
        const [first] = await s.outbox.claim(T, 10, LEASE);
        const [second] = await s.outbox.claim(T + LEASE + 1, 10, LEASE);
        const late = await s.outbox.settle([{ id: a!, lease: first!.nextAt, ok: true, response: 'late', at: T, then: { enqueue: [follow('F', { kind: 'Late' })] } }]);
        expect(late).toEqual([]);
        expect(await all(), 'no follow-up of the rejected outcome').toHaveLength(1);
        const lateDead = await s.outbox.settle([{ id: a!, lease: first!.nextAt, ok: false, error: 'x', response: '', nextAt: null, then: { enqueue: [follow('F', { kind: 'Late' })] } }]);
        expect(lateDead).toEqual([]);
        expect(await all()).toHaveLength(1);
        expect(await s.outbox.settle([{ id: a!, lease: second!.nextAt, ok: true, response: 'ok', at: T, then: { enqueue: [follow('F', { kind: 'Current' })] } }])).toEqual([a]);
        expect((await all()).map((j) => j.kind).sort()).toEqual(['Current', 'Test.Event']);
      });

      it('a retry carries no reaction (only final outcomes do); an unleased outcome applies only to an active job, and so does its reaction', async () => {
        const [a, b] = await s.outbox.enqueue([job('A', 1), job('B', 1)]);
        const T = later();
        const claimed = await s.outbox.claim(T, 10, LEASE);
        const la = claimed.find((j) => j.id === a)!.nextAt;
        expect(await s.outbox.settle([{ id: a!, lease: la, ok: false, error: 'x', response: '', nextAt: T + 10, then: { enqueue: [follow('F')] } }])).toEqual([a]);
        expect(await all(), 'a retry is not final: no follow-up').toHaveLength(2);
        // b: delivered by hand, then any later unleased outcome is refused, reaction included.
        expect(await s.outbox.settle([{ id: b!, ok: true, response: 'by hand', at: T, then: { enqueue: [follow('G', { kind: 'Once' })] } }])).toEqual([b]);
        expect(await s.outbox.settle([{ id: b!, ok: true, response: 'again', at: T, then: { enqueue: [follow('G', { kind: 'Twice' })] } }])).toEqual([]);
        expect(await s.outbox.settle([{ id: b!, ok: false, error: 'x', response: '', nextAt: null, then: { enqueue: [follow('G', { kind: 'Twice' })] } }])).toEqual([]);
        expect(await s.outbox.complete(b!, 'again', T)).toBe(false);
        expect(await s.outbox.fail(b!, 'x', '', null)).toBe(false);
        expect(await byId(b!)).toMatchObject({ status: 'delivered', lastResponse: 'by hand' });
        expect((await all()).filter((j) => j.channel === 'inbox').map((j) => j.kind)).toEqual(['Once']);
        // a: pending (waiting for its retry) is active: a manual dead-letter applies.
        expect(await s.outbox.fail(a!, 'given up', '', null)).toBe(true);
        expect(await s.outbox.complete(a!, 'late', T)).toBe(false);
        expect((await s.outbox.counts()).delivered).toBe(1);
      });

      it('outcome and reaction are one transaction: a reaction that cannot be written leaves the outcome unapplied', async () => {
        const [a, b] = await s.outbox.enqueue([job('A', 1), job('B', 1)]);
        const T = later();
        const claimed = await s.outbox.claim(T, 10, LEASE);
        const la = claimed.find((j) => j.id === a)!.nextAt;
        const lb = claimed.find((j) => j.id === b)!.nextAt;
        const bad = { enqueue: [follow('F', { kind: 'Good' }), follow('F', { kind: 'Bad', notBefore: Number.NaN })] };
        await expectCoreError(s.outbox.settle([{ id: a!, lease: la, ok: true, response: 'ok', at: T, then: bad }]), 'invalid_parameter');
        expect(await byId(a!), 'the outcome rolled back with its reaction').toMatchObject({ status: 'in_flight', nextAt: la, lastResponse: '' });
        expect(await all(), 'neither follow-up was written').toHaveLength(2);
        // Another settle in the same batch is not affected.
        const [fine] = await Promise.all([
          s.outbox.settle([{ id: b!, lease: lb, ok: true, response: 'ok', at: T, then: { enqueue: [follow('H', { kind: 'Fine' })] } }]),
          s.outbox.settle([{ id: a!, lease: la, ok: true, response: 'ok', at: T, then: bad }]).catch(() => 'failed'),
        ]);
        expect(fine).toEqual([b]);
        expect((await all()).filter((j) => j.channel === 'inbox').map((j) => j.kind)).toEqual(['Fine']);
        expect(await s.outbox.settle([{ id: a!, lease: la, ok: true, response: 'ok', at: T, then: { enqueue: [follow('F', { kind: 'Good' })] } }])).toEqual([a]);
      });

      it('follow-up jobs are handed over under their channel\'s grant, like any fresh job', async () => {
        const w = watcher();
        const [a] = await s.outbox.enqueue([job('A', 1)]);
        const T = later();
        const [c] = await s.outbox.claim(T, 10, LEASE);
        await s.outbox.grant('inbox', 5, AHEAD_LEASE);
        await s.outbox.settle([{ id: a!, lease: c!.nextAt, ok: false, error: 'x', response: '', nextAt: null, then: { enqueue: [follow('F', { ref: 'r:1' })] } }]);
        await w.reach(1);
        expect(w.jobs[0]).toMatchObject({ channel: 'inbox', kind: 'Fallback', ref: 'r:1', status: 'in_flight', attempts: 1 });
        w.stop();
      });
    });

    describe('revive', () => {
      it('revives that dead job, or the oldest dead jobs in bounded steps, returning them pending with fresh attempts', async () => {
        const made = await s.outbox.enqueue(['A', 'B', 'C', 'D'].map((k) => job(k, 1)));
        const T = later();
        await s.outbox.claim(T, 10, LEASE);
        for (const id of made.slice(0, 3)) await s.outbox.fail(id, 'x', '', null);
        const R = T + 10; // made[3] stays leased (until T + LEASE)
        const one = await s.outbox.revive(made[1]!, R, 10);
        expect(one.map((j) => [j.id, j.status, j.attempts, j.nextAt])).toEqual([[made[1], 'pending', 0, R]]);
        expect(await s.outbox.revive(made[1]!, R, 10), 'no longer dead').toEqual([]);
        expect(await s.outbox.revive(made[3]!, R, 10), 'in flight: not dead').toEqual([]);
        await s.outbox.fail(made[1]!, 'x', '', null);
        const first = await s.outbox.revive(undefined, R, 2);
        expect(ids(first)).toEqual(made.slice(0, 2));
        const rest = await s.outbox.revive(undefined, R, 2);
        expect(ids(rest)).toEqual([made[2]]);
        expect(await s.outbox.revive(undefined, R, 2)).toEqual([]);
        expect(sorted(ids(await s.outbox.claim(R, 10, LEASE)))).toEqual(made.slice(0, 3));
      });
    });

    // ------------------------------------------------------------------ retention
    describe('prune', () => {
      it('deletes delivered and dead jobs created before their cutoffs, in chunks; never pending or in-flight ones', async () => {
        const [d1, d2, d3, x1, p1, f1] = await s.outbox.enqueue([job('d1', 1), job('d2', 1), job('d3', 1), job('x1', 1), job('p1', 1), job('f1', 1)]);
        const T = later();
        await s.outbox.claim(T, 10, LEASE);
        for (const id of [d1, d2, d3]) await s.outbox.complete(id!, 'ok', T);
        await s.outbox.fail(x1!, 'x', '', null);
        await s.outbox.fail(p1!, 'x', '', T + 1_000);
        const before = await s.outbox.counts();
        expect(before).toEqual({ pending: 1, in_flight: 1, delivered: 3, dead: 1 });

        expect(await s.outbox.prune(0, 0, 100), 'nothing is older than the epoch').toBe(0);
        expect(await s.outbox.prune(T, 0, 2), 'a chunk of delivered jobs').toBe(2);
        expect(await s.outbox.prune(T, 0, 2)).toBe(1);
        expect(await s.outbox.prune(T, 0, 2)).toBe(0);
        expect(await s.outbox.prune(0, T, 100), 'the dead job').toBe(1);
        expect(await s.outbox.prune(T, T, 100)).toBe(0);
        expect(sorted(ids(await all()))).toEqual(sorted([p1!, f1!]));
        expect(await s.outbox.counts(), 'delivered counts every delivery ever recorded').toEqual({ pending: 1, in_flight: 1, delivered: 3, dead: 0 });
        // The survivors still work.
        await s.outbox.complete(f1!, 'ok', T);
        expect(ids(await s.outbox.claim(T + 1_000, 10, LEASE))).toEqual([p1]);
      });
    });

    // ------------------------------------------------------------------ delivery log
    describe('list and counts', () => {
      it('counts every status, zero included', async () => {
        expect(await s.outbox.counts()).toEqual({ pending: 0, in_flight: 0, delivered: 0, dead: 0 });
        const [a, b, c, d, e1, e2] = await s.outbox.enqueue([job('a', 1), job('b', 1), job('c', 1), job('d', 1), job('e', 1), job('e', 2)]);
        expect(await s.outbox.counts()).toEqual({ pending: 6, in_flight: 0, delivered: 0, dead: 0 });
        const T = later();
        expect(sorted(ids(await s.outbox.claim(T, 10, LEASE)))).toEqual(sorted([a!, b!, c!, d!, e1!]));
        await s.outbox.complete(a!, 'ok', T);
        await s.outbox.fail(b!, 'x', '', null);
        await s.outbox.fail(c!, 'x', '', T + 1000);
        // in flight: d, e1; pending: c (retry), e2 (behind e1)
        expect((await all()).find((j) => j.id === e2)?.status).toBe('pending');
        expect(await s.outbox.counts()).toEqual({ pending: 2, in_flight: 2, delivered: 1, dead: 1 });
      });

      it('lists newest first, filtered by status and target, paged with beforeId and limit', async () => {
        const made: number[] = [];
        for (let i = 0; i < 8; i++) made.push(...(await s.outbox.enqueue([job(`k${i}`, i, { target: i % 2 === 0 ? 'even' : 'odd' })])));
        const T = later();
        const claimed = await s.outbox.claim(T, 10, LEASE);
        expect(claimed).toHaveLength(8);
        // k0, k1 delivered; k2, k3 dead; k4, k5 pending again; k6, k7 in flight.
        await s.outbox.complete(made[0]!, 'ok', T);
        await s.outbox.complete(made[1]!, 'ok', T);
        await s.outbox.fail(made[2]!, 'x', '', null);
        await s.outbox.fail(made[3]!, 'x', '', null);
        await s.outbox.fail(made[4]!, 'x', '', T + 1);
        await s.outbox.fail(made[5]!, 'x', '', T + 1);
        const newestFirst = [...made].reverse();

        expect(ids(await s.outbox.list({ limit: 100 }))).toEqual(newestFirst);
        expect(ids(await s.outbox.list({ limit: 3 }))).toEqual(newestFirst.slice(0, 3));
        const statuses: Array<[JobStatus, number[]]> = [
          ['delivered', [made[1]!, made[0]!]],
          ['dead', [made[3]!, made[2]!]],
          ['pending', [made[5]!, made[4]!]],
          ['in_flight', [made[7]!, made[6]!]],
        ];
        for (const [status, want] of statuses) {
          const got = await s.outbox.list({ status, limit: 100 });
          expect(ids(got), status).toEqual(want);
          for (const j of got) expect(j.status).toBe(status);
        }
        expect(ids(await s.outbox.list({ target: 'even', limit: 100 }))).toEqual(newestFirst.filter((_, i) => i % 2 === 1));
        expect(ids(await s.outbox.list({ target: 'odd', status: 'dead', limit: 100 }))).toEqual([made[3]]);
        expect(await s.outbox.list({ target: 'nobody', limit: 100 })).toEqual([]);
        expect(ids(await s.outbox.list({ beforeId: made[5]!, limit: 100 }))).toEqual([made[4], made[3], made[2], made[1], made[0]]);
        expect(ids(await s.outbox.list({ beforeId: made[5]!, target: 'even', limit: 2 }))).toEqual([made[4], made[2]]);

        // Paging from the newest with beforeId walks every job exactly once.
        const paged: number[] = [];
        let page = await s.outbox.list({ limit: 3 });
        while (page.length > 0) {
          expect(page.length).toBeLessThanOrEqual(3);
          paged.push(...ids(page));
          page = await s.outbox.list({ limit: 3, beforeId: page[page.length - 1]!.id });
        }
        expect(paged).toEqual(newestFirst);
      });
    });

    // ------------------------------------------------------------------ effects committed with writes
    describe('effects committed with store commands', () => {
      async function users(...u: string[]): Promise<void> {
        for (const id of u) await s.users.upsertUser(id, { name: `name-${id}` });
      }
      const bodyOf = async (kind: string): Promise<Record<string, unknown>[]> =>
        (await all()).filter((j) => j.kind === kind).map(bodyOfJob);

      it('appendMessage commits its effects with the message, filling the message key', async () => {
        await users('a', 'b');
        const withKey = spec('C2C.CallbackAfterSendMsg', 'c2c:a:b', {
          body: { CallbackCommand: 'C2C.CallbackAfterSendMsg', From_Account: 'a', MsgSeq: 0, MsgRandom: 0, MsgTime: 0, MsgKey: '', Keep: { x: [1] } },
          fill: { messageKey: { seq: 'MsgSeq', random: 'MsgRandom', time: 'MsgTime', key: 'MsgKey' } },
        });
        const noKeyName = spec('Group.Like', 'c2c:a:b', {
          target: 'cb2',
          body: { CallbackCommand: 'Group.Like', Random: 0 },
          fill: { messageKey: { seq: 'MsgSeq', random: 'Random', time: 'MsgTime' } },
        });
        const plain = spec('Plain', 'other', { body: { MsgSeq: 'untouched' } });
        const r = await s.messages.appendMessage(draft('a', single('b'), { effects: [withKey, noKeyName, plain] }));
        const jobs = [...(await all())].reverse(); // oldest first
        expect(jobs.map((j) => j.kind)).toEqual(['C2C.CallbackAfterSendMsg', 'Group.Like', 'Plain']);
        for (const [i, sp] of [withKey, noKeyName, plain].entries()) {
          expect(jobs[i]).toMatchObject({ channel: sp.channel, target: sp.target, orderKey: sp.orderKey, kind: sp.kind, meta: sp.meta, status: 'pending', attempts: 0 });
          expect(jobs[i]).not.toHaveProperty('fill');
        }

        const k = messageKey(r.message.uid, r.message.timestamp);
        expect(bodyOfJob(jobs[0]!)).toEqual({
          CallbackCommand: 'C2C.CallbackAfterSendMsg',
          From_Account: 'a',
          MsgSeq: k.seq,
          MsgRandom: k.random,
          MsgTime: Math.floor(r.message.timestamp / 1000),
          MsgKey: k.key,
          Keep: { x: [1] },
        });
        expect(parseMessageKey(bodyOfJob(jobs[0]!)['MsgKey'] as string)).toEqual({ uid: r.message.uid, time: Math.floor(r.message.timestamp / 1000) });
        expect(bodyOfJob(jobs[1]!)).toEqual({ CallbackCommand: 'Group.Like', Random: k.random, MsgSeq: k.seq, MsgTime: k.time });
        expect(bodyOfJob(jobs[2]!), 'no fill: the body is stored as given').toEqual({ MsgSeq: 'untouched' });
        // The jobs of one command keep their order within a key.
        const T = later();
        expect(sorted(ids(await s.outbox.claim(T, 10, LEASE)))).toEqual(sorted([jobs[0]!.id, jobs[2]!.id]));
      });

      it('fills the uid and timestamp of the message written (messageIdentity), for stored and transparent messages', async () => {
        await users('a', 'b');
        const robot = (orderKey: string) => spec('Robot.Message', orderKey, { body: { messageId: 0, timestamp: 0, keep: 'x' }, fill: { messageIdentity: { uid: 'messageId', timestamp: 'timestamp' } } });
        const stored = await s.messages.appendMessage(draft('a', single('b'), { effects: [robot('r1')] }));
        const transparent = await s.messages.appendMessage({ ...draft('a', single('b'), { effects: [robot('r2')] }), payload: { ...draft('a', single('b')).payload, persistFlag: 4 } });
        const bodies = [...(await all())].reverse().map(bodyOfJob);
        expect(bodies).toEqual([
          { messageId: stored.message.uid, timestamp: stored.message.timestamp, keep: 'x' },
          { messageId: transparent.message.uid, timestamp: transparent.message.timestamp, keep: 'x' },
        ]);
      });

      it('a rejected append leaves no job (unknown receiver, non-member of a group, blocked sender)', async () => {
        await users('a', 'b', 'o');
        await s.groups.createGroup('g', { owner: 'o', name: 'G' }, [{ memberId: 'b' }], MAX_MEMBERS);
        const fx = [spec('C2C.CallbackAfterSendMsg', 'k', { fill: { messageKey: { seq: 'MsgSeq', random: 'MsgRandom', time: 'MsgTime' }, unreadOf: { user: 'ghost', field: 'U' } } })];
        await expectCoreError(s.messages.appendMessage(draft('a', single('ghost'), { effects: fx })), 'not_exist');
        await expectCoreError(s.messages.appendMessage(draft('a', group('g'), { effects: fx })), 'not_in_group');
        await s.users.setUserStatus('a', 2);
        await expectCoreError(s.messages.appendMessage(draft('a', single('b'), { effects: fx })), 'user_blocked');
        expect(await all()).toEqual([]);
        expect(await s.outbox.counts()).toEqual({ pending: 0, in_flight: 0, delivered: 0, dead: 0 });
      });

      it('fill.unreadOf gives the user\'s unread total over single chats, this message included (persistFlag 3 counts, 1 does not)', async () => {
        await users('a', 'b', 'c', 'o');
        await s.groups.createGroup('g', { owner: 'o', name: 'G' }, [{ memberId: 'b' }], MAX_MEMBERS);
        const fx = (tag: string, user = 'b'): EffectSpec[] => [
          spec('After', 'k', { body: { Tag: tag, UnreadMsgNum: -1 }, fill: { unreadOf: { user, field: 'UnreadMsgNum' } } }),
        ];
        const unreadOfTag = async (tag: string): Promise<unknown> => (await bodyOf('After')).find((b) => b['Tag'] === tag)?.['UnreadMsgNum'];

        await s.messages.appendMessage(draft('a', single('b'), { effects: fx('first') }));
        expect(await unreadOfTag('first')).toBe(1);
        await s.messages.appendMessage(draft('a', single('b'), { effects: fx('second') }));
        expect(await unreadOfTag('second')).toBe(2);
        await s.messages.appendMessage(draft('a', single('b'), { payload: payload(PersistFlag.persist), effects: fx('persist-only') }));
        expect(await unreadOfTag('persist-only'), 'persistFlag 1 is stored but not counted').toBe(2);
        await s.messages.appendMessage(draft('c', single('b'), { effects: fx('from-c') }));
        expect(await unreadOfTag('from-c'), 'summed over every single chat of b').toBe(3);
        await s.messages.appendMessage(draft('o', group('g'), { effects: fx('group') }));
        expect(await unreadOfTag('group'), 'group messages are not single chats').toBe(3);
        await s.messages.appendMessage(draft('a', single('b'), { effects: fx('sender-view', 'a') }));
        expect(await unreadOfTag('sender-view'), 'one\'s own messages are never unread').toBe(0);
        expect(await s.messages.unreadTotal('b', ConvType.single)).toBe(4);
      });

      it('a transparent message (not stored) still commits its effects, and does not count as unread', async () => {
        await users('a', 'b');
        await s.messages.appendMessage(draft('a', single('b')));
        const r = await s.messages.appendMessage(
          draft('a', single('b'), {
            payload: payload(PersistFlag.transparent),
            effects: [spec('After', 'k', { body: { UnreadMsgNum: -1 }, fill: { messageKey: { seq: 'S', random: 'R', time: 'T', key: 'K' }, unreadOf: { user: 'b', field: 'UnreadMsgNum' } } })],
          }),
        );
        const bodies = await bodyOf('After');
        expect(bodies).toHaveLength(1);
        const k = messageKey(r.message.uid, r.message.timestamp);
        expect(bodies[0]).toEqual({ UnreadMsgNum: 1, S: k.seq, R: k.random, T: k.time, K: k.key });
      });

      it('a discarded draft (dropped by a before-send hook) stores nothing, not even its effects', async () => {
        await users('a', 'b');
        const r = await s.messages.appendMessage(draft('a', single('b'), { discard: true, effects: [spec('After', 'k')] }));
        expect(r.seq).toBe(0);
        expect(await all()).toEqual([]);
      });

      it('a resend with a known clientMsgId returns the first result and adds no job', async () => {
        await users('a', 'b');
        const fx = [spec('After', 'k', { fill: { messageKey: { seq: 'MsgSeq', random: 'MsgRandom', time: 'MsgTime' } } })];
        const first = await s.messages.appendMessage(draft('a', single('b'), { clientMsgId: 'cm-1', effects: fx }));
        const again = await s.messages.appendMessage(draft('a', single('b'), { clientMsgId: 'cm-1', effects: fx }));
        expect(again.duplicate).toBe(true);
        expect(again.message.uid).toBe(first.message.uid);
        expect(await all()).toHaveLength(1);
      });

      it('recallMessage commits its effects only when it recalls', async () => {
        await users('a', 'b');
        await s.messages.appendMessage(draft('a', single('b')));
        const m = await s.messages.appendMessage(draft('a', single('b')));
        const fx = (tag: string): EffectSpec[] => [spec('Recall', 'k', { body: { Tag: tag }, fill: { unreadOf: { user: 'b', field: 'UnreadMsgNum' } } })];
        await expectCoreError(s.messages.recallMessage(m.message.uid + 987_654, 'a', {}, fx('unknown')), 'not_exist');
        expect(await all()).toEqual([]);
        const r = await s.messages.recallMessage(m.message.uid, 'a', {}, fx('ok'));
        expect(r.unchanged).toBe(false);
        const bodies = await bodyOf('Recall');
        expect(bodies.map((b) => b['Tag'])).toEqual(['ok']);
        expect(typeof bodies[0]!['UnreadMsgNum']).toBe('number');
        const again = await s.messages.recallMessage(m.message.uid, 'a', {}, fx('again'));
        expect(again.unchanged).toBe(true);
        expect((await bodyOf('Recall')).map((b) => b['Tag']), 'recalling a recalled message changes nothing').toEqual(['ok']);
      });

      it('markRead commits its effects only when the read mark rises, with the reader\'s unread total after the read', async () => {
        await users('a', 'b', 'c');
        await s.messages.appendMessage(draft('a', single('b')));
        const last = await s.messages.appendMessage(draft('a', single('b')));
        await s.messages.appendMessage(draft('c', single('b')));
        const fx = (tag: string, user = 'b'): EffectSpec[] => [
          spec('Read', 'k', { body: { Tag: tag, UnreadMsgNum: -1 }, fill: { unreadOf: { user, field: 'UnreadMsgNum' } } }),
        ];
        await expectCoreError(s.conversations.markRead('ghost', single('a'), last.message.timestamp, fx('ghost', 'ghost')), 'not_exist');
        expect(await all()).toEqual([]);
        const r = await s.conversations.markRead('b', single('a'), last.message.timestamp, fx('read-a'));
        expect(r.seq).toBeGreaterThan(0);
        expect(await bodyOf('Read')).toEqual([{ Tag: 'read-a', UnreadMsgNum: 1 }]);
        const same = await s.conversations.markRead('b', single('a'), last.message.timestamp - 1, fx('lower'));
        expect(same.seq).toBe(0);
        expect((await bodyOf('Read')).map((b) => b['Tag']), 'a read that changes nothing adds no job').toEqual(['read-a']);
      });

      it('createGroup commits its effects only when the group is created', async () => {
        await users('o', 'm');
        const fx = (tag: string): EffectSpec[] => [spec('Group.Created', 'g', { body: { Tag: tag } })];
        await expectCoreError(s.groups.createGroup('g', { owner: 'o', name: 'G' }, [{ memberId: 'ghost' }], MAX_MEMBERS, fx('unknown-member')), 'not_exist');
        await expectCoreError(s.groups.createGroup('g', { owner: 'ghost', name: 'G' }, [], MAX_MEMBERS, fx('unknown-owner')), 'not_exist');
        await expectCoreError(s.groups.createGroup('g', { owner: 'o', name: 'G' }, [{ memberId: 'm' }], 1, fx('full')), 'group_full');
        expect(await s.groups.getGroup('g')).toBeNull();
        expect(await all()).toEqual([]);
        await s.groups.createGroup('g', { owner: 'o', name: 'G' }, [{ memberId: 'm' }], MAX_MEMBERS, fx('ok'));
        await expectCoreError(s.groups.createGroup('g', { owner: 'o', name: 'G2' }, [], MAX_MEMBERS, fx('exists')), 'group_already_exist');
        expect((await bodyOf('Group.Created')).map((b) => b['Tag'])).toEqual(['ok']);
      });

      it('addMembers commits its effects only when the members are added', async () => {
        await users('o', 'm', 'n');
        await s.groups.createGroup('g', { owner: 'o', name: 'G', maxMemberCount: 3 }, [], MAX_MEMBERS);
        const fx = (tag: string): EffectSpec[] => [spec('Group.Joined', 'g', { body: { Tag: tag } })];
        await expectCoreError(s.groups.addMembers('nope', [{ memberId: 'm' }], MAX_MEMBERS, fx('no-group')), 'not_exist');
        await expectCoreError(s.groups.addMembers('g', [{ memberId: 'm' }, { memberId: 'ghost' }], MAX_MEMBERS, fx('unknown-user')), 'not_exist');
        expect(await s.groups.getMember('g', 'm'), 'the failed command left no member').toBeNull();
        await s.users.upsertUser('p', { name: 'name-p' });
        await expectCoreError(s.groups.addMembers('g', [{ memberId: 'm' }, { memberId: 'n' }, { memberId: 'p' }], MAX_MEMBERS, fx('full')), 'group_full');
        expect(await all()).toEqual([]);
        await s.groups.addMembers('g', [{ memberId: 'm' }], MAX_MEMBERS, fx('ok'));
        expect((await bodyOf('Group.Joined')).map((b) => b['Tag'])).toEqual(['ok']);
      });

      it('removeMembers commits its effects only when someone is removed', async () => {
        await users('o', 'm', 'n');
        await s.groups.createGroup('g', { owner: 'o', name: 'G' }, [{ memberId: 'm' }], MAX_MEMBERS);
        const fx = (tag: string): EffectSpec[] => [spec('Group.Exited', 'g', { body: { Tag: tag } })];
        await expectCoreError(s.groups.removeMembers('g', ['m', 'o'], fx('owner')), 'no_right');
        expect(await s.groups.getMember('g', 'm'), 'the failed command removed nobody').not.toBeNull();
        await expectCoreError(s.groups.removeMembers('nope', ['m'], fx('no-group')), 'not_exist');
        expect(await s.groups.removeMembers('g', ['n'], fx('nobody'))).toEqual([]);
        expect(await all()).toEqual([]);
        expect(await s.groups.removeMembers('g', ['m'], fx('ok'))).toEqual(['m']);
        expect((await bodyOf('Group.Exited')).map((b) => b['Tag'])).toEqual(['ok']);
      });

      it('deleteGroup commits its effects only when the group is deleted', async () => {
        await users('o', 'm');
        await s.groups.createGroup('g', { owner: 'o', name: 'G' }, [{ memberId: 'm' }], MAX_MEMBERS);
        const fx = (tag: string): EffectSpec[] => [spec('Group.Destroyed', 'g', { body: { Tag: tag } })];
        await expectCoreError(s.groups.deleteGroup('nope', fx('unknown')), 'not_exist');
        expect(await all()).toEqual([]);
        expect((await s.groups.deleteGroup('g', fx('ok'))).members.sort()).toEqual(['m', 'o']);
        expect(await s.groups.getGroup('g')).toBeNull();
        await expectCoreError(s.groups.deleteGroup('g', fx('again')), 'not_exist');
        expect((await bodyOf('Group.Destroyed')).map((b) => b['Tag'])).toEqual(['ok']);
      });
    });

    // ------------------------------------------------------------------ several nodes
    // Only on backends several nodes share (a backend one process owns has no second node: these tests
    // are not registered for it, rather than skipped).
    if (caps.sharedByNodes) describe('two nodes on one database', () => {
      /** The second node's handle. */
      async function nodeB(): Promise<Store> {
        if (!openSibling) throw new Error(`${name}: shared by nodes, but its store has no openSibling`);
        return openSibling();
      }

      it('concurrent claims from two nodes never hand one job to both, nor two jobs of one key at once; every job is delivered once, in key order', async () => {
        const b = await nodeB();
        const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
        const made = [
          ...(await s.outbox.enqueue(keys.flatMap((k) => [1, 2, 3].map((n) => job(k, n))))),
          ...(await b.outbox.enqueue(keys.flatMap((k) => [4, 5].map((n) => job(k, n))))),
        ];
        const T = later();
        const nodes = [s, b];
        const delivered: OutboxJob[] = [];
        for (let round = 0; delivered.length < made.length; round++) {
          expect(round, 'every job is delivered within a bounded number of rounds').toBeLessThan(made.length + 5);
          // Several claims per node at once, small limits, so that they contend for the same heads.
          const claimed = (await Promise.all([0, 1, 2, 0, 1, 2].map((i) => nodes[i % 2]!.outbox.claim(T, 3, LEASE)))).flat();
          expect(new Set(ids(claimed)).size, 'no job leased twice').toBe(claimed.length);
          expect(new Set(claimed.map((j) => j.orderKey)).size, 'one job in flight per key').toBe(claimed.length);
          // Each job settled by the node that did not claim it (any node may record any result).
          await Promise.all(claimed.map((j, i) => nodes[i % 2]!.outbox.settle([{ id: j.id, lease: j.nextAt, ok: true, response: 'ok', at: T }])));
          delivered.push(...claimed);
        }
        expect(sorted(ids(delivered))).toEqual(sorted(made));
        for (const k of keys) {
          const order = delivered.filter((j) => j.orderKey === k).map((j) => bodyOfJob(j)['n']);
          expect(order, `key ${k} in creation order`).toEqual([1, 2, 3, 4, 5]);
        }
        expect((await b.outbox.counts()).delivered).toBe(made.length);
      });

      it('a job leased by a node that stopped is claimed again by the other after the lease, and the stopped node\'s lease no longer settles it', async () => {
        const b = await nodeB();
        const [a1, a2] = await s.outbox.enqueue([job('A', 1), job('A', 2)]);
        const T = later();
        const [held] = await b.outbox.claim(T, 10, LEASE);
        expect(held!.id).toBe(a1);
        await b.close();
        expect(await s.outbox.claim(T + LEASE - 1, 10, LEASE), 'still leased to the stopped node: neither it nor its successor').toEqual([]);
        const [again] = await s.outbox.claim(T + LEASE + 1, 10, LEASE);
        expect(again).toMatchObject({ id: a1, attempts: 2, status: 'in_flight', nextAt: T + LEASE + 1 + LEASE });
        expect(await s.outbox.settle([{ id: a1!, lease: held!.nextAt, ok: true, response: 'late', at: T }]), 'the old lease is fenced off').toEqual([]);
        expect(await s.outbox.settle([{ id: a1!, lease: again!.nextAt, ok: true, response: 'ok', at: T }])).toEqual([a1]);
        expect(ids(await s.outbox.claim(T + LEASE + 2, 10, LEASE))).toEqual([a2]);
      });

      it('per-key order holds under concurrent inserts, claims and settles from two nodes', async () => {
        const b = await nodeB();
        const nodes = [s, b];
        const T = later();
        const created: number[] = [];
        const delivered: number[] = [];
        let inserting = true;
        // Both nodes insert jobs of one key, one write each, many at once...
        const inserts = Promise.all(
          Array.from({ length: 40 }, (_, i) => nodes[i % 2]!.outbox.enqueue([job('K', i)]).then((got) => created.push(...got))),
        ).finally(() => {
          inserting = false;
        });
        // ...while both claim and settle it: only ever its oldest active job, one at a time.
        const drain = async (node: Store): Promise<void> => {
          while (inserting || delivered.length < 40) {
            const got = await node.outbox.claim(T, 5, LEASE);
            expect(got.length).toBeLessThanOrEqual(1);
            for (const j of got) {
              delivered.push(j.id);
              expect(await node.outbox.complete(j.id, 'ok', T)).toBe(true);
            }
            if (got.length === 0) await new Promise<void>((r) => setImmediate(r));
          }
        };
        await Promise.all([inserts, drain(s), drain(b)]);
        expect(sorted(delivered), 'each job once').toEqual(sorted(created));
        expect(delivered, 'in id order (ids follow commit order)').toEqual(sorted(delivered));
      });

      it('a scheduled job is handed out once in the cluster when it falls due', async () => {
        const b = await nodeB();
        const NB = Date.now() + 3_600_000;
        const made = await s.outbox.enqueue(Array.from({ length: 12 }, (_, i) => job(`t${i}`, i, { channel: 'notify-timer', target: '', notBefore: NB })));
        expect(await b.outbox.claim(NB - 1, 100, LEASE), 'not before it is due, on either node').toEqual([]);
        const claims = await Promise.all([s, b, s, b].map((n) => n.outbox.claim(NB, 4, LEASE, { channels: ['notify-timer'] })));
        const all = claims.flat();
        expect(new Set(ids(all)).size).toBe(all.length);
        const rest = await b.outbox.claim(NB, 100, LEASE);
        expect(sorted([...ids(all), ...ids(rest)])).toEqual(sorted(made));
      });

      it('jobs one node commits are claimed by the other, with the other\'s lease', async () => {
        const b = await nodeB();
        const [fromB] = await b.outbox.enqueue([job('B', 1)]);
        const [fromA] = await s.outbox.enqueue([job('B', 2)]);
        const T = later();
        const [first] = await s.outbox.claim(T, 10, LEASE);
        expect(first).toMatchObject({ id: fromB, status: 'in_flight', nextAt: T + LEASE });
        expect(await b.outbox.get(fromB!)).toEqual(first);
        expect(await b.outbox.claim(T, 10, LEASE), 'the key is held by the other node').toEqual([]);
        expect(await b.outbox.complete(fromB!, 'ok', T)).toBe(true);
        expect(ids(await b.outbox.claim(T, 10, LEASE))).toEqual([fromA]);
      });
    });

    // ------------------------------------------------------------------ message keys
    describe('messages.uidOfKey', () => {
      it('finds a message by its key; null when the time does not match, the message is unknown or the key is malformed', async () => {
        await s.users.upsertUser('a', { name: 'name-a' });
        await s.users.upsertUser('b', { name: 'name-b' });
        const r = await s.messages.appendMessage(
          draft('a', single('b'), { effects: [spec('After', 'k', { body: {}, fill: { messageKey: { seq: 'MsgSeq', random: 'MsgRandom', time: 'MsgTime', key: 'MsgKey' } } })] }),
        );
        const k = messageKey(r.message.uid, r.message.timestamp);
        expect(await s.messages.uidOfKey(k.key)).toBe(r.message.uid);
        const fromJob = bodyOfJob((await all())[0]!)['MsgKey'] as string;
        expect(await s.messages.uidOfKey(fromJob), 'the key a callback carries names the message').toBe(r.message.uid);
        expect(await s.messages.uidOfKey(`${k.seq}_${k.random}_${k.time + 1}`)).toBeNull();
        expect(await s.messages.uidOfKey(`${k.seq}_${k.random}_${k.time - 1}`)).toBeNull();
        const other = messageKey(r.message.uid + 1, r.message.timestamp);
        expect(await s.messages.uidOfKey(other.key), 'no message has that uid').toBeNull();
        for (const bad of ['', 'abc', `${k.seq}_${k.random}`, `${k.seq}-${k.random}-${k.time}`, `${k.key}_1`]) {
          expect(await s.messages.uidOfKey(bad), JSON.stringify(bad)).toBeNull();
        }
      });
    });
  });
}
