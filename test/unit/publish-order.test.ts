/**
 * Publication order: the events of store calls that commit together reach the bus in seq order.
 * Several calls of one group commit resolve in the same tick; MessageService must publish each call's
 * events synchronously on resolution (src/core/services/messages.ts, "Publication invariant").
 * A real store (SQLite in memory, in-process writer: every call submitted in one event-loop turn
 * shares one commit) and the in-process bus.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import type { HubEvent } from '../../src/core/events.js';
import { Hub } from '../../src/core/hub.js';
import { ConvType } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import { NO_EFFECTS, type EffectsPlanner } from '../../src/core/ports/effects.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

describe('MemoryBus', () => {
  it('delivers publishes made without awaiting in between in call order, before publish returns', async () => {
    const bus = new MemoryBus();
    const seen: number[] = [];
    bus.subscribe((e) => {
      if (e.type === 'cache.invalidate') seen.push(Number(e.id));
    });
    const sent = [1, 2, 3, 4, 5].map((i) => bus.publish({ type: 'cache.invalidate', scope: 'user', id: String(i) }));
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    await Promise.all(sent);
    await bus.close();
  });
});

const single = (target: string) => ({ type: ConvType.single, target, line: 0 });
const payload = normalizePayload({ type: 1, searchableContent: 'x', persistFlag: 3 });

/** A callback configuration in miniature: every read report commits one outbox job. */
const READ_JOBS: EffectsPlanner = {
  ...NO_EFFECTS,
  afterRead: async (reader) => [{ channel: 'test', target: 't', orderKey: reader, kind: 'read', body: {}, meta: {} }],
};

describe('MessageService publication order', () => {
  let store: SqliteStore | undefined;
  let bus: MemoryBus | undefined;
  let hub: Hub | undefined;
  afterEach(async () => {
    hub?.close();
    await bus?.close();
    await store?.close();
  });

  for (const [label, effects] of [
    ['without callbacks', NO_EFFECTS],
    ['with an outbox job per read report', READ_JOBS],
  ] as const) {
    it(`read reports and sends committed together reach the bus in seq order (${label})`, async () => {
      store = new SqliteStore({ file: ':memory:', synchronous: 'NORMAL', nodeId: 1, commitMaxBatch: 512, commitMaxDelayMs: 0, inlineFanoutMax: 100, });
      bus = new MemoryBus();
      hub = new Hub(store, bus, { tokenTtlMs: 60_000, maxGroupMembers: 100, effects: [effects] });
      for (const u of ['alice', 'bob', 'carol']) await hub.users.create(u, { name: u });
      const seed = await hub.messages.send({ sender: 'alice', conv: single('bob'), payload });
      // Warm the caches, so that every call below reaches the store in the same turn.
      await hub.messages.read('bob', single('alice'), seed.message.timestamp - 10_000);
      await hub.messages.send({ sender: 'carol', conv: single('alice'), payload });

      const events: HubEvent[] = [];
      bus.subscribe((e) => events.push(e));
      const work: Array<Promise<unknown>> = [];
      const base = seed.message.timestamp - 5_000;
      for (let i = 1; i <= 20; i++) {
        work.push(hub.messages.read('bob', single('alice'), base + i));
        work.push(hub.messages.send({ sender: 'carol', conv: single('alice'), payload }));
      }
      await Promise.all(work);

      const forAlice = events.flatMap((e) => (e.type === 'sync' && e.audience.kind === 'users' && e.audience.users.includes('alice') ? [e.event] : []));
      expect(forAlice.filter((e) => e.type === 'read').map((e) => e.end)).toEqual(Array.from({ length: 20 }, (_, i) => base + i + 1));
      expect(forAlice.filter((e) => e.type === 'message')).toHaveLength(20);
      const seqs = forAlice.map((e) => e.seq);
      expect(seqs, seqs.join(',')).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
      // Every event of one read (bob's own, alice's receipt) comes before anything published after it.
      const bobs = events.flatMap((e, i) => (e.type === 'sync' && e.event.type === 'read' ? [{ i, seq: e.event.seq }] : []));
      for (let k = 0; k + 1 < bobs.length; k += 2) {
        expect(bobs[k]!.seq).toBe(bobs[k + 1]!.seq);
        expect(bobs[k + 1]!.i).toBe(bobs[k]!.i + 1);
      }
      if (effects === READ_JOBS) expect(events.filter((e) => e.type === 'outbox.wake')).toHaveLength(20);
    });
  }
});
