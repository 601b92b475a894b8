/**
 * The send-rules cache (src/core/services/send-rules-cache.ts) and the publication order of
 * MessageService, through a Hub on a real store (SQLite in memory, in-process writer) and the
 * in-process bus. The store is wrapped to record every call, so a test can tell what reached it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { BoundedCache, SharedLoads } from '../../src/core/bounded-cache.js';
import type { HubEvent } from '../../src/core/events.js';
import { Hub } from '../../src/core/hub.js';
import { ConvType } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import type { Bus } from '../../src/core/ports/bus.js';
import { NO_EFFECTS, type EffectsPlanner } from '../../src/core/ports/effects.js';
import type { Store } from '../../src/core/ports/store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/**
 * The store with every call of a part's method recorded as "part.method". A call named in `holds`
 * runs at once (and says so) but answers only when `until` resolves (a read slow to come back).
 */
interface Hold {
  until: Promise<void>;
  called: () => void;
}
function counting(store: Store, holds: Map<string, Hold>): { store: Store; calls: string[] } {
  const calls: string[] = [];
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const part: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || typeof part !== 'object' || part === null) return part;
      return new Proxy(part, {
        get(p, name, r) {
          const v: unknown = Reflect.get(p, name, r);
          if (typeof v !== 'function' || typeof name !== 'string') return v;
          return (...args: unknown[]) => {
            const call = `${prop}.${name}`;
            calls.push(call);
            const result = (v as (...a: unknown[]) => unknown).apply(p, args);
            const hold = holds.get(call);
            if (!hold) return result;
            hold.called();
            return (async () => {
              const value: unknown = await result;
              await hold.until;
              return value;
            })();
          };
        },
      });
    },
  });
  return { store: wrapped, calls };
}

/** Store calls that change something. */
const WRITES = /\.(append|recall|update|delete|mark|set|upsert|insert|create|add|remove|transfer|subscribe|destroy|clear|enqueue)/i;

/** A bus that loses every cache invalidation (as a node might, the bus being at most once). */
class DeafBus implements Bus {
  constructor(private readonly inner: Bus) {}
  publish(e: HubEvent): Promise<void> {
    return e.type === 'cache.invalidate' ? Promise.resolve() : this.inner.publish(e);
  }
  subscribe(handler: (e: HubEvent) => void): () => void {
    return this.inner.subscribe(handler);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const payload = normalizePayload({ type: 1, searchableContent: 'x', persistFlag: 3 });
const single = (target: string) => ({ type: ConvType.single, target, line: 0 });
const group = (target: string) => ({ type: ConvType.group, target, line: 0 });
const channel = (target: string) => ({ type: ConvType.channel, target, line: 0 });
const NO_NOTIFY = { lines: [] };

let raw: SqliteStore;
let calls: string[];
let holds: Map<string, Hold>;
let hub: Hub;
let bus: MemoryBus;

function open(opts: { bus?: (b: MemoryBus) => Bus; effects?: EffectsPlanner } = {}): void {
  raw = new SqliteStore({ file: ':memory:', synchronous: 'NORMAL', nodeId: 1, commitMaxBatch: 512, commitMaxDelayMs: 0, inlineFanoutMax: 100 });
  holds = new Map();
  const c = counting(raw, holds);
  calls = c.calls;
  bus = new MemoryBus();
  hub = new Hub(c.store, opts.bus ? opts.bus(bus) : bus, { tokenTtlMs: 60_000, maxGroupMembers: 100, strictAdminSend: true, effects: [opts.effects ?? NO_EFFECTS] });
}

async function users(...ids: string[]): Promise<void> {
  for (const id of ids) await hub.users.create(id, { name: id });
}

const send = (sender: string, conv: { type: number; target: string; line: number }, clientMsgId?: string) =>
  hub.messages.send({ sender, conv, payload, ...(clientMsgId ? { clientMsgId } : {}) });

/** Run `f` and return the store calls it made. */
async function callsOf(f: () => Promise<unknown>): Promise<string[]> {
  calls.length = 0;
  await f().catch(() => undefined);
  return [...calls];
}

afterEach(async () => {
  hub.close();
  await bus.close();
  await raw.close();
});

describe('send-rules cache', () => {
  beforeEach(() => open());

  it('an accepted send to known facts makes one store call: the append', async () => {
    await users('o', 'a', 'b');
    await hub.groups.create('o', 'g', { owner: 'o' }, [{ memberId: 'a' }], NO_NOTIFY);
    await send('a', group('g'));
    await send('a', single('b'));
    expect(await callsOf(() => send('a', group('g')))).toEqual(['messages.appendMessage']);
    expect(await callsOf(() => send('a', single('b')))).toEqual(['messages.appendMessage']);
  });

  it('a refused send makes no store write, and no store call at all once its facts are cached', async () => {
    await users('o', 'a', 'b', 'c');
    await hub.groups.create('o', 'g', { owner: 'o' }, [{ memberId: 'a' }, { memberId: 'b' }], NO_NOTIFY);
    await hub.channels.create('ch', { name: 'ch', owner: 'o' });
    await send('a', group('g'));

    const refused: Array<[string, () => Promise<unknown>, string]> = [
      ['not in group', () => send('c', group('g')), 'not_in_group'],
      ['unknown group', () => send('a', group('nope')), 'not_exist'],
      ['unknown user', () => send('a', single('ghost')), 'not_exist'],
      ['unknown sender', () => send('ghost', single('a')), 'not_exist'],
      ['not in channel', () => send('c', channel('ch')), 'not_in_channel'],
      ['multicast to an unknown user', () => hub.messages.multicast('a', ['b', 'ghost'], 0, payload), 'not_exist'],
    ];
    for (const [what, f, kind] of refused) {
      await expect(f(), what).rejects.toMatchObject({ kind });
      expect((await callsOf(f)).filter((c) => WRITES.test(c)), what).toEqual([]);
      expect(await callsOf(f), `${what}, cached`).toEqual([]);
    }

    // After a change, the first refused send reads the new facts (no write); the next ones nothing.
    await hub.groups.muteMembers('o', 'g', ['a'], true, NO_NOTIFY);
    const first = await callsOf(() => send('a', group('g')));
    expect(first.length).toBeGreaterThan(0);
    expect(first.filter((c) => WRITES.test(c))).toEqual([]);
    await expect(send('a', group('g'))).rejects.toMatchObject({ kind: 'group_muted' });
    expect(await callsOf(() => send('a', group('g')))).toEqual([]);

    await hub.users.setStatus('b', 2);
    for (const f of [() => send('b', group('g')), () => send('b', single('a')), () => hub.messages.broadcast('b', 0, payload)]) {
      await expect(f()).rejects.toMatchObject({ kind: 'user_blocked' });
      expect(await callsOf(f)).toEqual([]);
    }
  });

  it('a destroyed and re-created subscriber is no subscriber: refused before the store', async () => {
    await users('o', 'a');
    await hub.channels.create('ch', { name: 'ch', owner: 'o' });
    await hub.channels.subscribe('ch', 'a', true);
    await send('a', channel('ch'));
    await hub.users.destroy('a');
    await users('a');
    const first = await callsOf(() => send('a', channel('ch')));
    expect(first).toContain('channels.isSubscribed');
    expect(first).not.toContain('messages.appendMessage');
    await expect(send('a', channel('ch'))).rejects.toMatchObject({ kind: 'not_in_channel' });
  });

  it('a device resend (same clientMsgId) of a message accepted before a mute still gets its first result', async () => {
    await users('o', 'a');
    await hub.groups.create('o', 'g', { owner: 'o' }, [{ memberId: 'a' }], NO_NOTIFY);
    const first = await send('a', group('g'), 'cm-1');
    await hub.groups.muteMembers('o', 'g', ['a'], true, NO_NOTIFY);
    const again = await send('a', group('g'), 'cm-1');
    expect(again).toMatchObject({ duplicate: true, message: { uid: first.message.uid } });
    await expect(send('a', group('g'), 'cm-2')).rejects.toMatchObject({ kind: 'group_muted' });
  });

  const changes: Array<[string, string, () => Promise<void>]> = [
    ['groups.getGroup', 'a mute-all', () => hub.groups.modify('o', 'g', 3, '1', NO_NOTIFY)],
    ['groups.getMember', 'a member mute', () => hub.groups.muteMembers('o', 'g', ['a'], true, NO_NOTIFY)],
  ];
  for (const [read, what, change] of changes) {
    it(`facts read before ${what} but answered after its invalidation are used once, never cached (${read})`, async () => {
      await users('o', 'a');
      await hub.groups.create('o', 'g', { owner: 'o' }, [{ memberId: 'a' }], NO_NOTIFY);
      let release = (): void => {};
      let called = (): void => {};
      const reading = new Promise<void>((r) => (called = r));
      holds.set(read, { until: new Promise<void>((r) => (release = r)), called });
      // The send reads the facts before the change, and the answer is held back ...
      const racing = send('a', group('g'));
      await reading;
      // ... while the change commits and is announced.
      await change();
      holds.clear();
      release();
      // The stale facts let the racing send through to the store, which refuses it.
      await expect(racing).rejects.toMatchObject({ kind: 'group_muted' });
      // The next send reads the facts again and is refused before the store.
      const next = await callsOf(() => send('a', group('g')));
      expect(next).toContain(read);
      expect(next).not.toContain('messages.appendMessage');
      await expect(send('a', group('g'))).rejects.toMatchObject({ kind: 'group_muted' });
    });
  }
});

describe('send-rules cache: the store decides last', () => {
  beforeEach(() => open({ bus: (b) => new DeafBus(b) }));

  it('with every invalidation lost, a stale cache still cannot get a refused send accepted', async () => {
    await users('o', 'a', 'b');
    await hub.groups.create('o', 'g', { owner: 'o' }, [{ memberId: 'a' }], NO_NOTIFY);
    await hub.channels.create('ch', { name: 'ch', owner: 'o' });
    await hub.channels.subscribe('ch', 'a', true);
    await send('a', group('g'));
    await send('a', single('b'));
    await send('a', channel('ch'));

    await hub.groups.muteMembers('o', 'g', ['a'], true, NO_NOTIFY);
    await expect(send('a', group('g'))).rejects.toMatchObject({ kind: 'group_muted' });
    await hub.groups.removeMembers('o', 'g', ['a'], NO_NOTIFY);
    await expect(send('a', group('g'))).rejects.toMatchObject({ kind: 'not_in_group' });
    await hub.channels.subscribe('ch', 'a', false);
    await expect(send('a', channel('ch'))).rejects.toMatchObject({ kind: 'not_in_channel' });
    await hub.users.setStatus('a', 2);
    await expect(send('a', single('b'))).rejects.toMatchObject({ kind: 'user_blocked' });
    // The store refused each of them: b counts only the one message sent before the changes.
    expect(await raw.messages.unreadTotal('b', ConvType.single)).toBe(1);
  });
});
