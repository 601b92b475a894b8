/**
 * The OutboxStore contract of lookahead (src/core/ports/outbox.ts, ClaimOptions.lookahead), run against
 * every backend by outbox.test.ts: with each job a claim, a claim ahead or a settle's `next` leases as
 * its key's head, the store also leases the key's following job when it is pending and due, handed over
 * right after the job it follows with `after` naming it; a settle that moves a key's head onto such a
 * job leases the one after it the same way. Lookahead jobs count against no limit.
 *
 * Only the Store interface is used (no backend in sight). Claims pass their own `now`; leases taken by
 * a settle start at the backend's clock (settle takes no `now`), so claims that must see them lapse pass
 * a time past them.
 */
import { describe, expect, it } from 'vitest';
import { targetKey, type ClaimNext, type NewJob, type OutboxJob } from '../../src/core/ports/outbox.js';
import type { Store } from '../../src/core/ports/store.js';
import { outboxDrained, useOutboxStore, watchOutbox, type OutboxStoreFactory, type OutboxWatch } from './outbox.contract.js';

const LEASE = 1_000;
const NEXT_LEASE = 60_000;
/** Leases of jobs claimed ahead: long enough that the test's own claim() runs within them. */
const AHEAD_LEASE = 60_000;
const LOOKAHEAD = { lookahead: true } as const;

function job(orderKey: string, n: number, over: Partial<NewJob> = {}): NewJob {
  return { channel: 'webhook', target: 't1', orderKey, kind: 'Test.Event', body: { key: orderKey, n }, meta: {}, ...over };
}

const ids = (jobs: OutboxJob[]): number[] => jobs.map((j) => j.id);
const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
/** Each job's id with the job it was leased after (undefined: leased as its key's head). */
const chain = (jobs: OutboxJob[]): Array<[number, number | undefined]> => jobs.map((j) => [j.id, j.after]);
const delivered = (j: OutboxJob): { id: number; lease: number; ok: true; response: string; at: number } => ({
  id: j.id,
  lease: j.nextAt,
  ok: true,
  response: 'ok',
  at: Date.now(),
});

/**
 * `jobs` as pairs of a key's head (no `after`) followed by its lookahead (`after` naming it, same key,
 * the next job of the key); answers the heads.
 */
function expectPairs(jobs: OutboxJob[]): OutboxJob[] {
  expect(jobs.length % 2, 'heads each followed by their lookahead').toBe(0);
  const heads: OutboxJob[] = [];
  for (let i = 0; i < jobs.length; i += 2) {
    const [head, ahead] = [jobs[i]!, jobs[i + 1]!];
    expect(head).not.toHaveProperty('after');
    expect(ahead).toMatchObject({ after: head.id, orderKey: head.orderKey, status: 'in_flight', attempts: 1, nextAt: head.nextAt });
    expect((JSON.parse(ahead.body) as { n: number }).n).toBe((JSON.parse(head.body) as { n: number }).n + 1);
    heads.push(head);
  }
  return heads;
}

/** `next` for the webhook channel alone, with lookahead. */
function webhook(over: Partial<ClaimNext> = {}): Record<string, ClaimNext> {
  return { webhook: { leaseMs: NEXT_LEASE, limit: 100, opts: { ...LOOKAHEAD }, ...over } };
}

export function outboxLookaheadContract(name: string, factory: OutboxStoreFactory, _caps: { sharedByNodes: boolean } = { sharedByNodes: false }): void {
  describe(`Outbox contract, lookahead: ${name}`, () => {
    let s: Store;
    useOutboxStore(factory, (store) => {
      s = store;
    });

    /** A claim time after every job created so far. */
    const later = (): number => Date.now() + 30_000;
    const watcher = (store: Store = s): OutboxWatch => watchOutbox(store);
    const drained = (store: Store = s): Promise<void> => outboxDrained(store);
    const status = async (id: number): Promise<OutboxJob> => (await s.outbox.get(id))!;

    it('a claim with lookahead leases each head\'s next job with its own lease, right after it with `after`; without it, heads only', async () => {
      const [b1, b2] = await s.outbox.enqueue([job('B', 1), job('B', 2)]);
      const T = later();
      const plain = await s.outbox.claim(T, 10, LEASE);
      expect(ids(plain), 'default: no lookahead').toEqual([b1]);
      for (const j of plain) expect(j).not.toHaveProperty('after');
      expect((await status(b2!)).status).toBe('pending');

      const [a1, a2, a3] = await s.outbox.enqueue([job('A', 1), job('A', 2), job('A', 3)]);
      const T2 = later();
      const got = await s.outbox.claim(T2, 10, LEASE, LOOKAHEAD);
      expect(chain(got), 'A1, then A2 leased after it').toEqual([
        [a1, undefined],
        [a2, a1],
      ]);
      expect(got[0]).not.toHaveProperty('after');
      expect(got[0]).toMatchObject({ status: 'in_flight', attempts: 1, nextAt: T2 + LEASE, orderKey: 'A' });
      expect(got[1]).toMatchObject({ status: 'in_flight', attempts: 1, nextAt: T2 + LEASE, orderKey: 'A', after: a1 });
      expect(await status(a2!)).toMatchObject({ status: 'in_flight', attempts: 1, nextAt: T2 + LEASE });
      expect(await status(a3!), 'one job ahead only').toMatchObject({ status: 'pending', attempts: 0 });
      // Both keys are busy: nothing else is claimable within the leases, with or without lookahead.
      expect(await s.outbox.claim(T2, 10, LEASE, LOOKAHEAD)).toEqual([]);
      expect(await s.outbox.claim(T2, 10, LEASE)).toEqual([]);
    });

    it('lookahead jobs count against no limit: claim\'s `limit` and `perTarget` (with inFlight) count heads only', async () => {
      const t1 = (k: string, n: number): NewJob => job(k, n, { target: 't1' });
      const t2 = (k: string, n: number): NewJob => job(k, n, { target: 't2' });
      const made = await s.outbox.enqueue([t1('A', 1), t1('A', 2), t1('B', 1), t1('B', 2), t2('C', 1), t2('C', 2), t2('D', 1), t2('D', 2)]);
      const T = later();
      // limit 2, one per target: a head of each target, each with its lookahead.
      const both = await s.outbox.claim(T, 2, LEASE, { ...LOOKAHEAD, perTarget: 1 });
      expect(both, 'two heads and their lookaheads').toHaveLength(4);
      expect(sorted(expectPairs(both).map((j) => (j.target === 't1' ? 1 : 2)))).toEqual([1, 2]);
      // limit 1: one head and its lookahead.
      const one = await s.outbox.claim(T, 1, LEASE, LOOKAHEAD);
      expect(one).toHaveLength(2);
      expectPairs(one);
      // perTarget 2 with one in flight per target: one more head per target, its lookahead riding along.
      const last = await s.outbox.claim(T, 10, LEASE, { ...LOOKAHEAD, perTarget: 2, inFlight: { [targetKey('webhook', 't1')]: 1, [targetKey('webhook', 't2')]: 1 } });
      expect(last).toHaveLength(2);
      expectPairs(last);
      expect(sorted([...both, ...one, ...last].map((j) => j.id)), 'every job once').toEqual(sorted(made));
      for (const id of made) expect((await status(id)).status).toBe('in_flight');
      expect(await s.outbox.claim(T, 10, LEASE, LOOKAHEAD)).toEqual([]);
    });

    it('lookahead takes only a successor that is pending, due and of the same channel: not a delayed one, nor one in a retry; a lone job gets none', async () => {
      const NB = Date.now() + 3_600_000;
      const [l1, l2] = await s.outbox.enqueue([job('L', 1), job('L', 2, { notBefore: NB })]);
      const [r1, r2] = await s.outbox.enqueue([job('R', 1), job('R', 2)]);
      const [x1, x2] = await s.outbox.enqueue([job('X', 1), job('X', 2, { channel: 'sms' })]);
      const [o1] = await s.outbox.enqueue([job('O', 1)]);
      const [d1, d2] = await s.outbox.enqueue([job('D', 1), job('D', 2)]);
      // R2 failed once and waits for its retry.
      expect(await s.outbox.fail(r2!, 'later', '', NB)).toBe(true);
      const T = later();
      const got = await s.outbox.claim(T, 10, LEASE, LOOKAHEAD);
      expect(sorted(ids(got)), 'every head, and D2 alone ahead').toEqual(sorted([l1!, r1!, x1!, o1!, d1!, d2!]));
      for (const j of got) expect(j.after, `job ${j.id}`).toBe(j.id === d2 ? d1 : undefined);
      expect(ids(got).indexOf(d2!), 'right after the job it follows').toBe(ids(got).indexOf(d1!) + 1);
      expect(await status(l2!)).toMatchObject({ status: 'pending', attempts: 0, nextAt: NB });
      expect(await status(r2!)).toMatchObject({ status: 'pending', attempts: 0, nextAt: NB });
      expect(await status(x2!)).toMatchObject({ status: 'pending', attempts: 0 });
      // Once their predecessors are done, they are claimed as heads as usual (L2 and R2 once due).
      expect(await s.outbox.settle(got.map(delivered))).toEqual(ids(got));
      const x = await s.outbox.claim(T, 10, LEASE, LOOKAHEAD);
      expect(ids(x), 'L2 and R2 are not due yet').toEqual([x2]);
      expect(await s.outbox.settle(x.map(delivered))).toEqual([x2]);
      expect(sorted(ids(await s.outbox.claim(NB, 10, LEASE, LOOKAHEAD)))).toEqual(sorted([l2!, r2!]));
    });

    it('a settle\'s `next` with lookahead leases the job after the one leased ahead, hands it as \'next\' before settle() resolves, and walks the key in order', async () => {
      const w = watcher();
      const made = await s.outbox.enqueue([1, 2, 3, 4, 5].map((n) => job('A', n)));
      const [a1, a2, a3, a4, a5] = made;
      const T = later();
      const claimed = await s.outbox.claim(T, 10, LEASE, LOOKAHEAD);
      expect(chain(claimed)).toEqual([
        [a1, undefined],
        [a2, a1],
      ]);
      const before = Date.now();
      // A1 delivered: the key's head moves onto A2, already leased ahead, so A3 is leased after it.
      expect(await s.outbox.settle([delivered(claimed[0]!)], webhook())).toEqual([a1]);
      expect(chain(w.next), 'handed over before settle() resolved; A2 not handed again').toEqual([[a3, a2]]);
      expect(w.grant).toEqual([]);
      expect(w.next[0]).toMatchObject({ status: 'in_flight', attempts: 1, orderKey: 'A' });
      expect(w.next[0]!.nextAt).toBeGreaterThanOrEqual(before + NEXT_LEASE);
      expect(await status(a3!)).toMatchObject({ status: 'in_flight', attempts: 1, nextAt: w.next[0]!.nextAt });
      expect(await status(a2!), 'A2 keeps its claim\'s lease').toMatchObject({ status: 'in_flight', attempts: 1, nextAt: T + LEASE });
      expect(await status(a4!)).toMatchObject({ status: 'pending', attempts: 0 });
      expect(await s.outbox.claim(Date.now(), 10, LEASE, LOOKAHEAD), 'the key is busy').toEqual([]);
      // A2 (its own lease) delivered: A4 after A3; and so on to the end of the key.
      expect(await s.outbox.settle([delivered(claimed[1]!)], webhook())).toEqual([a2]);
      expect(chain(w.next)).toEqual([
        [a3, a2],
        [a4, a3],
      ]);
      expect(await s.outbox.settle([delivered(w.next[0]!)], webhook())).toEqual([a3]);
      expect(chain(w.next)).toEqual([
        [a3, a2],
        [a4, a3],
        [a5, a4],
      ]);
      expect(await s.outbox.settle([delivered(w.next[1]!)], webhook())).toEqual([a4]);
      expect(await s.outbox.settle([delivered(w.next[2]!)], webhook())).toEqual([a5]);
      await drained();
      expect(w.next, 'nothing left to lease').toHaveLength(3);
      for (const id of made) expect((await status(id!)).status, `job ${id}`).toBe('delivered');
      w.stop();
    });

    it('a settle\'s `next` that leases a key\'s next job leases its lookahead with it; its `limit` and `perTarget` count heads only', async () => {
      const w = watcher();
      const three = (k: string): NewJob[] => [1, 2, 3].map((n) => job(k, n));
      const [a1, a2, a3, a4] = await s.outbox.enqueue([1, 2, 3, 4].map((n) => job('A', n)));
      const made = await s.outbox.enqueue(['B', 'C', 'D', 'E', 'F', 'G'].flatMap(three));
      const firsts = made.filter((_, i) => i % 3 === 0);
      const claimed = await s.outbox.claim(later(), 10, LEASE);
      expect(sorted(ids(claimed))).toEqual(sorted([a1!, ...firsts]));
      const of = (keys: string[]): OutboxJob[] => claimed.filter((j) => keys.includes(j.orderKey));
      // A1 alone, limit 1: A2 leased as the key's next job, A3 ahead of it (riding on A2's slot).
      expect(await s.outbox.settle(of(['A']).map(delivered), webhook({ limit: 1 }))).toEqual([a1]);
      expect(chain(w.next)).toEqual([
        [a2, undefined],
        [a3, a2],
      ]);
      expectPairs(w.next);
      expect(await status(a4!)).toMatchObject({ status: 'pending', attempts: 0 });
      // B1, C1, D1 under limit 2: two keys move on, each with its lookahead; the third is left.
      expect(await s.outbox.settle(of(['B', 'C', 'D']).map(delivered), webhook({ limit: 2 }))).toHaveLength(3);
      const byLimit = w.next.slice(2);
      expect(byLimit, 'two heads and their lookaheads').toHaveLength(4);
      expect(new Set(expectPairs(byLimit).map((j) => j.orderKey)).size).toBe(2);
      // E1, F1, G1 under perTarget 2 (same target): likewise.
      expect(await s.outbox.settle(of(['E', 'F', 'G']).map(delivered), webhook({ opts: { ...LOOKAHEAD, perTarget: 2 } }))).toHaveLength(3);
      const byTarget = w.next.slice(6);
      expect(byTarget, 'two heads and their lookaheads').toHaveLength(4);
      expect(new Set(expectPairs(byTarget).map((j) => j.orderKey)).size).toBe(2);
      // The keys left behind are claim()'s, each with its own lookahead.
      const moved = new Set(w.next.map((j) => j.orderKey));
      const left = ['B', 'C', 'D', 'E', 'F', 'G'].filter((k) => !moved.has(k));
      expect(left).toHaveLength(2);
      const rest = await s.outbox.claim(later(), 10, LEASE, LOOKAHEAD);
      expect(rest).toHaveLength(4);
      expect(expectPairs(rest).map((j) => j.orderKey).sort()).toEqual(left);
      expect(sorted([...ids(w.next), ...ids(rest)]), 'no job handed twice').toEqual(sorted(made.filter((id) => !firsts.includes(id)).concat([a2!, a3!])));
      w.stop();
    });

    it('a lookahead job settles like any leased job, fenced by its own lease; released, it is pending again and its key keeps its order', async () => {
      const [a1, a2, a3] = await s.outbox.enqueue([job('A', 1), job('A', 2), job('A', 3)]);
      const T = later();
      const [h, ahead] = await s.outbox.claim(T, 10, LEASE, LOOKAHEAD);
      expect(chain([h!, ahead!])).toEqual([
        [a1, undefined],
        [a2, a1],
      ]);
      expect(await s.outbox.settle([{ ...delivered(ahead!), lease: ahead!.nextAt + 1 }]), 'a lease not its own: fenced off').toEqual([]);
      expect(await s.outbox.settle([{ id: a2!, lease: ahead!.nextAt - 1, ok: false, release: true, nextAt: Date.now() }]), 'fenced off').toEqual([]);
      expect(await status(a2!)).toMatchObject({ status: 'in_flight', attempts: 1, nextAt: T + LEASE });
      // Given back (its predecessor did not succeed): pending again, its attempt returned; A1 still in flight.
      expect(await s.outbox.settle([{ id: a2!, lease: ahead!.nextAt, ok: false, release: true, nextAt: Date.now() }])).toEqual([a2]);
      expect(await status(a2!)).toMatchObject({ status: 'pending', attempts: 0 });
      expect(await status(a1!)).toMatchObject({ status: 'in_flight', attempts: 1, nextAt: T + LEASE });
      expect(await s.outbox.claim(T, 10, LEASE, LOOKAHEAD), 'A1 holds the key: neither A2 nor A3').toEqual([]);
      expect(await s.outbox.settle([delivered(h!)])).toEqual([a1]);
      // The released job comes next, never a later one first (past A1's lease, to be sure).
      const again = await s.outbox.claim(T + 2 * LEASE, 10, LEASE, LOOKAHEAD);
      expect(chain(again)).toEqual([
        [a2, undefined],
        [a3, a2],
      ]);
      expect(again[0]).toMatchObject({ status: 'in_flight', attempts: 1 });
      expect(await s.outbox.settle([delivered(again[0]!)])).toEqual([a2]);
      expect(await s.outbox.settle([delivered(again[1]!)]), 'A3 settles under its lookahead lease').toEqual([a3]);
      expect(await status(a3!)).toMatchObject({ status: 'delivered', attempts: 1 });
    });

    it('a released lookahead job is the next job a settle\'s `next` leases for its key, before any later one', async () => {
      const w = watcher();
      const [a1, a2, a3, a4] = await s.outbox.enqueue([1, 2, 3, 4].map((n) => job('A', n)));
      const [h, ahead] = await s.outbox.claim(later(), 10, LEASE, LOOKAHEAD);
      expect(chain([h!, ahead!])).toEqual([
        [a1, undefined],
        [a2, a1],
      ]);
      expect(await s.outbox.settle([{ id: a2!, lease: ahead!.nextAt, ok: false, release: true, nextAt: Date.now() }])).toEqual([a2]);
      await drained();
      expect(w.next, 'a release leases nothing').toEqual([]);
      expect(await s.outbox.settle([delivered(h!)], webhook())).toEqual([a1]);
      expect(chain(w.next), 'A2 as the key\'s next job, A3 ahead of it').toEqual([
        [a2, undefined],
        [a3, a2],
      ]);
      expect(w.next[0]).toMatchObject({ status: 'in_flight', attempts: 1 });
      expect(await status(a4!)).toMatchObject({ status: 'pending', attempts: 0 });
      w.stop();
    });

    it('a lookahead lease that lapses is leased again, its lapsed attempt counted; the old lease no longer settles it', async () => {
      const [a1, a2, a3, a4] = await s.outbox.enqueue([1, 2, 3, 4].map((n) => job('A', n)));
      const T = later();
      const first = await s.outbox.claim(T, 10, LEASE, LOOKAHEAD);
      expect(chain(first)).toEqual([
        [a1, undefined],
        [a2, a1],
      ]);
      // A1 delivered (no `next`): the key's head is A2, in flight under its lookahead lease until T + LEASE.
      expect(await s.outbox.settle([delivered(first[0]!)])).toEqual([a1]);
      expect(await s.outbox.claim(T + LEASE - 1, 10, LEASE, LOOKAHEAD), 'A2 still leased: neither A2 nor A3').toEqual([]);
      // Its holder died: past its lease A2 is leased again (as the key's head now), A3 ahead of it.
      const T2 = T + LEASE + 1;
      const second = await s.outbox.claim(T2, 10, LEASE, LOOKAHEAD);
      expect(chain(second)).toEqual([
        [a2, undefined],
        [a3, a2],
      ]);
      expect(second[0]).toMatchObject({ status: 'in_flight', attempts: 2, nextAt: T2 + LEASE });
      expect(second[1]).toMatchObject({ status: 'in_flight', attempts: 1, nextAt: T2 + LEASE });
      expect(await status(a2!)).toMatchObject({ status: 'in_flight', attempts: 2, nextAt: T2 + LEASE });
      expect(await status(a4!)).toMatchObject({ status: 'pending', attempts: 0 });
      expect(await s.outbox.settle([delivered(first[1]!)]), 'the lapsed lookahead lease is fenced off').toEqual([]);
      expect(await s.outbox.settle([delivered(second[0]!), delivered(second[1]!)])).toEqual([a2, a3]);
      expect(await status(a2!)).toMatchObject({ status: 'delivered', attempts: 2 });
      expect(chain(await s.outbox.claim(T2, 10, LEASE, LOOKAHEAD))).toEqual([[a4, undefined]]);
    });

    it('when a head and its lookahead both lapse (their holder died), the next claim leases both again, each lapsed lease counted', async () => {
      const [a1, a2, a3] = await s.outbox.enqueue([1, 2, 3].map((n) => job('A', n)));
      const T = later();
      expect(chain(await s.outbox.claim(T, 10, LEASE, LOOKAHEAD))).toEqual([
        [a1, undefined],
        [a2, a1],
      ]);
      const T2 = T + LEASE + 1;
      const again = await s.outbox.claim(T2, 10, LEASE, LOOKAHEAD);
      expect(chain(again)).toEqual([
        [a1, undefined],
        [a2, a1],
      ]);
      expect(again[0]).toMatchObject({ attempts: 2, nextAt: T2 + LEASE });
      expect(again[1]).toMatchObject({ attempts: 2, nextAt: T2 + LEASE });
      expect(await status(a3!)).toMatchObject({ status: 'pending', attempts: 0 });
      expect(await s.outbox.settle([delivered(again[0]!), delivered(again[1]!)])).toEqual([a1, a2]);
    });

    it('a claim ahead with lookahead hands a fresh key\'s head and its next job under \'grant\'; lookahead jobs use none of the grant', async () => {
      const w = watcher();
      await s.outbox.grant('webhook', 2, AHEAD_LEASE, LOOKAHEAD);
      const [a1, a2] = await s.outbox.enqueue([job('A', 1), job('A', 2)]);
      await w.reach(2, 'grant');
      await drained();
      expect(chain(w.grant)).toEqual([
        [a1, undefined],
        [a2, a1],
      ]);
      expect(w.next).toEqual([]);
      for (const j of w.grant) expect(j).toMatchObject({ status: 'in_flight', attempts: 1, orderKey: 'A' });
      expect(w.grant[1]!.nextAt).toBe(w.grant[0]!.nextAt);
      expect(w.grant[0]!.nextAt).toBeGreaterThan(Date.now() + AHEAD_LEASE / 2);
      expect(await status(a2!)).toMatchObject({ status: 'in_flight', attempts: 1 });
      // One of the grant's two is left: the next write's job is handed over too, and that uses it up.
      const [b1] = await s.outbox.enqueue([job('B', 1)]);
      await w.reach(3, 'grant');
      await drained();
      expect(chain(w.grant)).toEqual([
        [a1, undefined],
        [a2, a1],
        [b1, undefined],
      ]);
      const [c1] = await s.outbox.enqueue([job('C', 1)]);
      await drained();
      expect(w.grant, 'the grant of two is used up').toHaveLength(3);
      expect(ids(await s.outbox.claim(Date.now(), 10, LEASE, LOOKAHEAD))).toEqual([c1]);
      w.stop();
    });

    it('a grant of one over two fresh keys hands one head and its lookahead; the other key is left to claim()', async () => {
      const w = watcher();
      await s.outbox.grant('webhook', 1, AHEAD_LEASE, LOOKAHEAD);
      const [a1, a2, b1, b2] = await s.outbox.enqueue([job('A', 1), job('A', 2), job('B', 1), job('B', 2)]);
      await w.reach(2, 'grant');
      await drained();
      expect(w.grant, 'one head and its lookahead').toHaveLength(2);
      const [head, ahead] = w.grant;
      expect([a1, b1]).toContain(head!.id);
      expect(head).not.toHaveProperty('after');
      expect(ahead).toMatchObject({ id: head!.id === a1 ? a2 : b2, after: head!.id, status: 'in_flight', attempts: 1 });
      const other = head!.id === a1 ? [b1!, b2!] : [a1!, a2!];
      for (const id of other) expect(await status(id)).toMatchObject({ status: 'pending', attempts: 0 });
      expect(chain(await s.outbox.claim(Date.now(), 10, LEASE, LOOKAHEAD))).toEqual([
        [other[0], undefined],
        [other[1], other[0]],
      ]);
      w.stop();
    });
  });
}
