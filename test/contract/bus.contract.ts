/**
 * The Bus contract (src/core/ports/bus.ts), run against every backend (memory today, redis later).
 *
 * Delivery may be asynchronous for a networked transport, so tests wait for events by awaiting a
 * promise that a subscriber resolves, never by sleeping. "Nothing else arrives" is checked with a
 * sentinel: once a subscriber has received a later event, an earlier one can no longer come.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HubEvent } from '../../src/core/events.js';
import type { Bus } from '../../src/core/ports/bus.js';

export type BusFactory = () => Promise<{ bus: Bus; cleanup: () => Promise<void> }>;

const ev = (id: string): HubEvent => ({ type: 'cache.invalidate', scope: 'user', id });
const idOf = (e: HubEvent): string => (e.type === 'cache.invalidate' ? e.id : `?${e.type}`);

/** A subscriber that records event ids and lets a test await a given id. */
class Recorder {
  readonly ids: string[] = [];
  private waiters: Array<{ id: string; resolve: () => void }> = [];

  readonly handler = (e: HubEvent): void => {
    const id = idOf(e);
    this.ids.push(id);
    this.waiters = this.waiters.filter((w) => {
      if (w.id !== id) return true;
      w.resolve();
      return false;
    });
  };

  /** Resolves once the event with this id has been received. */
  received(id: string): Promise<void> {
    if (this.ids.includes(id)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ id, resolve }));
  }
}

export function busContract(name: string, factory: BusFactory): void {
  describe(`Bus contract: ${name}`, () => {
    let bus: Bus;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ bus, cleanup } = await factory());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('every subscriber receives each event exactly once, in publish order', async () => {
      const a = new Recorder();
      const b = new Recorder();
      bus.subscribe(a.handler);
      bus.subscribe(b.handler);
      const ids = Array.from({ length: 50 }, (_, i) => `e${i}`);
      for (const id of ids) await bus.publish(ev(id));
      await Promise.all([a.received('e49'), b.received('e49')]);
      await bus.publish(ev('end'));
      await Promise.all([a.received('end'), b.received('end')]);
      expect(a.ids).toEqual([...ids, 'end']);
      expect(b.ids).toEqual([...ids, 'end']);
    });

    it('keeps publish order when publishes are not awaited one by one', async () => {
      const a = new Recorder();
      bus.subscribe(a.handler);
      const ids = Array.from({ length: 30 }, (_, i) => `p${i}`);
      await Promise.all(ids.map((id) => bus.publish(ev(id))));
      await a.received('p29');
      expect(a.ids).toEqual(ids);
    });

    it('carries every kind of hub event unchanged', async () => {
      const got: HubEvent[] = [];
      let done!: () => void;
      const all = new Promise<void>((r) => (done = r));
      const events: HubEvent[] = [
        { type: 'sync', audience: { kind: 'users', users: ['a', 'b'] }, event: { seq: 7, type: 'read', uid: 0, conv: { type: 0, target: 'b', line: 0 }, start: 0, end: 5 } },
        { type: 'session.revoke', userId: 'a', clientId: 'c1', reason: 'kicked' },
        { type: 'cache.invalidate', scope: 'group', id: 'g1' },
      ];
      bus.subscribe((e) => {
        got.push(e);
        if (got.length === events.length) done();
      });
      for (const e of events) await bus.publish(e);
      await all;
      expect(got).toEqual(events);
    });

    it('unsubscribe stops delivery to that subscriber only', async () => {
      const a = new Recorder();
      const b = new Recorder();
      const offA = bus.subscribe(a.handler);
      bus.subscribe(b.handler);
      await bus.publish(ev('1'));
      await Promise.all([a.received('1'), b.received('1')]);
      offA();
      offA(); // a second call is harmless
      await bus.publish(ev('2'));
      await bus.publish(ev('3'));
      await b.received('3');
      expect(a.ids).toEqual(['1']);
      expect(b.ids).toEqual(['1', '2', '3']);
    });

    it('two subscriptions of the same handler are independent', async () => {
      const a = new Recorder();
      const control = new Recorder();
      const off1 = bus.subscribe(a.handler);
      bus.subscribe(a.handler);
      bus.subscribe(control.handler);
      off1();
      await bus.publish(ev('x'));
      await control.received('x');
      expect(a.ids, 'the second subscription is still live').toContain('x');
    });

    it('a throwing subscriber does not keep the others from receiving, and publish does not reject', async () => {
      const before = new Recorder();
      const after = new Recorder();
      bus.subscribe(before.handler);
      let thrown = 0;
      bus.subscribe(() => {
        thrown++;
        throw new Error('subscriber failure');
      });
      bus.subscribe(after.handler);
      await expect(bus.publish(ev('1'))).resolves.toBeUndefined();
      await expect(bus.publish(ev('2'))).resolves.toBeUndefined();
      await Promise.all([before.received('2'), after.received('2')]);
      expect(before.ids).toEqual(['1', '2']);
      expect(after.ids).toEqual(['1', '2']);
      expect(thrown).toBe(2);
    });

    it('an event the transport cannot carry (cyclic) neither rejects publish nor stops later events', async () => {
      const a = new Recorder();
      bus.subscribe(a.handler);
      const cyclic: Record<string, unknown> = {};
      cyclic['self'] = cyclic;
      const bad = { type: 'sync', audience: { kind: 'users', users: ['x'] }, event: { seq: 1, type: 'clear', uid: 0, conv: cyclic, start: 0, end: 0 } };
      await expect(bus.publish(bad as unknown as HubEvent)).resolves.toBeUndefined();
      await bus.publish(ev('after'));
      await a.received('after');
      expect(a.ids.at(-1)).toBe('after');
    });

    it('publish after close is a no-op', async () => {
      const a = new Recorder();
      bus.subscribe(a.handler);
      await bus.publish(ev('before'));
      await a.received('before');
      await bus.close();
      await expect(bus.publish(ev('after'))).resolves.toBeUndefined();
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(a.ids).toEqual(['before']);
    });
  });
}
