/**
 * The OutboxStore contract of settle-and-claim-next (src/core/ports/outbox.ts, settle's `next`), run
 * against every backend by outbox.test.ts: a final outcome that releases its key leases the key's next
 * job in the same write, as claim() would have, and hands it to the watcher as 'next'.
 *
 * Only the Store interface is used (no backend in sight). Leases taken by a settle start at the
 * backend's clock (settle takes no `now`), so claims that must see them lapse pass a time past them.
 */
import { describe, expect, it } from 'vitest';
import { targetKey, type ClaimNext, type NewJob, type OutboxJob } from '../../src/core/ports/outbox.js';
import type { Store } from '../../src/core/ports/store.js';
import { outboxDrained, useOutboxStore, watchOutbox, type OutboxStoreFactory, type OutboxWatch } from './outbox.contract.js';

const LEASE = 1_000;
const NEXT_LEASE = 60_000;

function job(orderKey: string, n: number, over: Partial<NewJob> = {}): NewJob {
  return { channel: 'webhook', target: 't1', orderKey, kind: 'Test.Event', body: { key: orderKey, n }, meta: {}, ...over };
}

const ids = (jobs: OutboxJob[]): number[] => jobs.map((j) => j.id);
const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

/** `next` for the webhook channel alone. */
function webhook(over: Partial<ClaimNext> = {}): Record<string, ClaimNext> {
  return { webhook: { leaseMs: NEXT_LEASE, limit: 100, opts: {}, ...over } };
}

export function outboxClaimNextContract(name: string, factory: OutboxStoreFactory, caps: { sharedByNodes: boolean } = { sharedByNodes: false }): void {
  describe(`Outbox contract, settle-and-claim-next: ${name}`, () => {
    let s: Store;
    let openSibling: (() => Promise<Store>) | undefined;
    useOutboxStore(factory, (store, sibling) => {
      s = store;
      openSibling = sibling;
    });

    /** A claim time after every job created so far. */
    const later = (): number => Date.now() + 30_000;
    const watcher = (store: Store = s): OutboxWatch => watchOutbox(store);
    const drained = (store: Store = s): Promise<void> => outboxDrained(store);
    const status = async (id: number): Promise<OutboxJob> => (await s.outbox.get(id))!;

    it('a delivered job\'s settle leases the next job of its key and hands it over as \'next\'; claim() does not see it', async () => {
      const w = watcher();
      const [a1, a2, a3] = await s.outbox.enqueue([job('A', 1), job('A', 2), job('A', 3)]);
      const [c] = await s.outbox.claim(later(), 10, LEASE);
      expect(c!.id).toBe(a1);
      const before = Date.now();
      expect(await s.outbox.settle([{ id: a1!, lease: c!.nextAt, ok: true, response: 'ok', at: before }], webhook())).toEqual([a1]);
      await w.reach(1);
      await drained();
      expect(ids(w.next)).toEqual([a2]);
      expect(w.grant).toEqual([]);
      expect(w.next[0]).toMatchObject({ status: 'in_flight', attempts: 1, orderKey: 'A' });
      expect(w.next[0]!.nextAt).toBeGreaterThanOrEqual(before + NEXT_LEASE);
      expect(await status(a2!)).toMatchObject({ status: 'in_flight', attempts: 1, nextAt: w.next[0]!.nextAt });
      expect(await s.outbox.claim(Date.now(), 10, LEASE), 'A2 is leased, A3 waits behind it').toEqual([]);
      // The leased job settles like a claimed one, and its own settle leases A3.
      expect(await s.outbox.settle([{ id: a2!, lease: w.next[0]!.nextAt, ok: true, response: 'ok', at: Date.now() }], webhook())).toEqual([a2]);
      await w.reach(2);
      expect(ids(w.next)).toEqual([a2, a3]);
      w.stop();
    });

    it('a dead-lettered outcome releases its key too; a retry, a release and a fenced-off outcome lease nothing', async () => {
      const w = watcher();
      const [a1, a2, b1, b2, c1, c2, d1, d2] = await s.outbox.enqueue([job('A', 1), job('A', 2), job('B', 1), job('B', 2), job('C', 1), job('C', 2), job('D', 1), job('D', 2)]);
      const claimed = await s.outbox.claim(later(), 10, LEASE);
      const lease = (id: number): number => claimed.find((j) => j.id === id)!.nextAt;
      const applied = await s.outbox.settle(
        [
          { id: a1!, lease: lease(a1!), ok: false, error: 'gone', response: '', nextAt: null },
          { id: b1!, lease: lease(b1!), ok: false, error: 'later', response: '', nextAt: Date.now() },
          { id: c1!, lease: lease(c1!), ok: false, release: true, nextAt: Date.now() },
          { id: d1!, lease: lease(d1!) + 1, ok: true, response: 'stale lease', at: Date.now() },
        ],
        webhook(),
      );
      expect(sorted(applied)).toEqual(sorted([a1!, b1!, c1!]));
      await w.reach(1);
      await drained();
      expect(ids(w.next), 'only the dead job\'s key moved on').toEqual([a2]);
      for (const id of [b2, c2, d2]) expect((await status(id!)).status).toBe('pending');
      w.stop();
    });

    it('honours the claim options: channel, excluded target, per-target cap with inFlight, limit, due time', async () => {
      const w = watcher();
      const made = await s.outbox.enqueue([
        job('sms', 1, { channel: 'sms' }),
        job('sms', 2, { channel: 'sms' }),
        job('down', 1, { target: 'DOWN' }),
        job('down', 2, { target: 'DOWN' }),
        job('busy', 1, { target: 'BUSY' }),
        job('busy', 2, { target: 'BUSY' }),
        job('late', 1),
        job('late', 2, { notBefore: Date.now() + 3_600_000 }),
        job('x', 1),
        job('x', 2),
        job('y', 1),
        job('y', 2),
      ]);
      const [sms1, sms2, down1, down2, busy1, busy2, late1, late2, x1, x2, y1, y2] = made;
      const claimed = await s.outbox.claim(later(), 20, LEASE);
      expect(sorted(ids(claimed))).toEqual(sorted([sms1!, down1!, busy1!, late1!, x1!, y1!]));
      const next = webhook({ limit: 1, opts: { exclude: [targetKey('webhook', 'DOWN')], perTarget: 2, inFlight: { [targetKey('webhook', 'BUSY')]: 2 } } });
      const applied = await s.outbox.settle(
        claimed.map((j) => ({ id: j.id, lease: j.nextAt, ok: true as const, response: 'ok', at: Date.now() })),
        next,
      );
      expect(applied).toHaveLength(6);
      await w.reach(1);
      await drained();
      expect(w.next, 'limit 1: one of x2 and y2').toHaveLength(1);
      expect([x2, y2]).toContain(w.next[0]!.id);
      for (const id of [sms2, down2, busy2, late2]) expect((await status(id!)).status, `job ${id} left pending`).toBe('pending');
      // Whatever was not leased is claim()'s as before (the delayed one once due).
      const rest = await s.outbox.claim(later(), 20, LEASE);
      expect(sorted(ids(rest))).toEqual(sorted([sms2!, down2!, busy2!, ...[x2!, y2!].filter((id) => id !== w.next[0]!.id)]));
      w.stop();
    });

    it('without a watcher nothing is leased: the next job is left to claim()', async () => {
      const w = watcher();
      w.stop();
      const [a1, a2] = await s.outbox.enqueue([job('A', 1), job('A', 2)]);
      const [c] = await s.outbox.claim(later(), 10, LEASE);
      expect(await s.outbox.settle([{ id: a1!, lease: c!.nextAt, ok: true, response: 'ok', at: Date.now() }], webhook())).toEqual([a1]);
      await drained();
      expect(w.next).toEqual([]);
      expect(ids(await s.outbox.claim(later(), 10, LEASE))).toEqual([a2]);
    });

    it('a job leased by a settle whose dispatcher died is claimed again after its lease, same id; the old lease no longer settles it', async () => {
      const w = watcher();
      const [a1, a2, a3] = await s.outbox.enqueue([job('A', 1), job('A', 2), job('A', 3)]);
      const [c] = await s.outbox.claim(later(), 10, LEASE);
      await s.outbox.settle([{ id: a1!, lease: c!.nextAt, ok: true, response: 'ok', at: Date.now() }], webhook({ leaseMs: LEASE }));
      await w.reach(1);
      const held = w.next[0]!;
      expect(held.id).toBe(a2);
      w.stop();
      expect(await s.outbox.claim(held.nextAt - 1, 10, LEASE), 'still leased: neither A2 nor A3').toEqual([]);
      const [again] = await s.outbox.claim(held.nextAt + 1, 10, LEASE);
      expect(again).toMatchObject({ id: a2, attempts: 2, status: 'in_flight' });
      expect(await s.outbox.settle([{ id: a2!, lease: held.nextAt, ok: true, response: 'late', at: Date.now() }]), 'fenced off').toEqual([]);
      expect(await s.outbox.settle([{ id: a2!, lease: again!.nextAt, ok: true, response: 'ok', at: Date.now() }])).toEqual([a2]);
      expect(ids(await s.outbox.claim(later(), 10, LEASE))).toEqual([a3]);
    });

    it('many keys at once: one job per key in flight, every job delivered once, each key in creation order', async () => {
      const w = watcher();
      const keys = Array.from({ length: 6 }, (_, i) => `k${i}`);
      const made = await s.outbox.enqueue(keys.flatMap((k) => [1, 2, 3, 4].map((n) => job(k, n))));
      let inFlight = await s.outbox.claim(later(), 100, LEASE);
      const delivered: OutboxJob[] = [];
      for (let round = 0; inFlight.length > 0; round++) {
        expect(round).toBeLessThan(10);
        expect(new Set(inFlight.map((j) => j.orderKey)).size, 'one job in flight per key').toBe(inFlight.length);
        delivered.push(...inFlight);
        const before = w.next.length;
        await s.outbox.settle(inFlight.map((j) => ({ id: j.id, lease: j.nextAt, ok: true as const, response: 'ok', at: Date.now() })), webhook());
        await drained();
        inFlight = w.next.slice(before);
        expect(await s.outbox.claim(Date.now(), 100, LEASE), 'claim() sees nothing the settles leased').toEqual([]);
      }
      expect(sorted(ids(delivered))).toEqual(sorted(made));
      for (const k of keys) expect(delivered.filter((j) => j.orderKey === k).map((j) => (JSON.parse(j.body) as { n: number }).n)).toEqual([1, 2, 3, 4]);
      w.stop();
    });

    if (caps.sharedByNodes)
      it('two nodes: a settle\'s lease and the other node\'s claims never hand one job to both, nor two jobs of one key', async () => {
        if (!openSibling) throw new Error(`${name}: shared by nodes, but its store has no openSibling`);
        const b = await openSibling();
        const w = watcher();
        const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
        const made = await s.outbox.enqueue(keys.flatMap((k) => [1, 2, 3].map((n) => job(k, n))));
        const delivered: OutboxJob[] = [];
        let mine = await s.outbox.claim(later(), 4, LEASE);
        for (let round = 0; delivered.length < made.length; round++) {
          expect(round).toBeLessThan(made.length + 5);
          const before = w.next.length;
          // This node settles with next while the other claims at the same moment.
          const [, theirs] = await Promise.all([
            s.outbox.settle(mine.map((j) => ({ id: j.id, lease: j.nextAt, ok: true as const, response: 'ok', at: Date.now() })), webhook()),
            b.outbox.claim(later(), 4, LEASE),
          ]);
          await drained();
          const leased = w.next.slice(before);
          const now = [...leased, ...theirs];
          expect(new Set(ids(now)).size, 'no job handed out twice').toBe(now.length);
          expect(new Set(now.map((j) => j.orderKey)).size, 'one job in flight per key').toBe(now.length);
          delivered.push(...mine);
          await b.outbox.settle(theirs.map((j) => ({ id: j.id, lease: j.nextAt, ok: true as const, response: 'ok', at: Date.now() })));
          delivered.push(...theirs);
          mine = [...leased, ...(leased.length === 0 && theirs.length === 0 ? await s.outbox.claim(later(), 4, LEASE) : [])];
        }
        expect(sorted(ids(delivered))).toEqual(sorted(made));
        for (const k of keys) expect(delivered.filter((j) => j.orderKey === k).map((j) => (JSON.parse(j.body) as { n: number }).n), `key ${k}`).toEqual([1, 2, 3]);
        w.stop();
      });
  });
}
