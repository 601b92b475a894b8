import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { CoreError } from '../../src/core/errors.js';
import { normalizePayload } from '../../src/core/payload.js';
import type { SensitiveWordStore } from '../../src/core/ports/store.js';
import { SensitiveWordService, type SensitiveMode } from '../../src/core/services/sensitive-words.js';

/** A store counting its reads, its words given by the test. */
function fakeStore(words: string[]): SensitiveWordStore & { reads: number; words: string[] } {
  const s = {
    reads: 0,
    words,
    addWords: async (w: string[]) => {
      s.words.push(...w.map((x) => x.toLowerCase()));
      return w.length;
    },
    removeWords: async (w: string[]) => {
      s.words = s.words.filter((x) => !w.includes(x));
      return w.length;
    },
    listWords: async () => {
      s.reads++;
      return [...s.words];
    },
  };
  return s;
}

function service(store: SensitiveWordStore, bus: MemoryBus, mode: SensitiveMode, clock = { now: 0 }) {
  const svc = new SensitiveWordService(store, bus, { mode, maxWords: 100, maxAgeMs: 60_000, now: () => clock.now });
  bus.subscribe((e) => svc.handle(e));
  return svc;
}

const p = (s: string) => normalizePayload({ type: 1, searchableContent: s });

describe('SensitiveWordService', () => {
  it('builds the filter once, shares a load in flight, and rebuilds after a change is announced on the bus', async () => {
    const store = fakeStore(['bad']);
    const bus = new MemoryBus();
    const svc = service(store, bus, 'replace');
    const [a, b] = await Promise.all([svc.screen(p('so bad')), svc.screen(p('not Bad at all'))]);
    expect(a).toMatchObject({ searchableContent: 'so ***' });
    expect(b).toMatchObject({ searchableContent: 'not *** at all' });
    await svc.screen(p('bad again'));
    expect(store.reads).toBe(1);
    await svc.add(['worse']);
    expect(await svc.screen(p('worse'))).toMatchObject({ searchableContent: '***' });
    expect(store.reads).toBe(2);
    await svc.remove(['bad']);
    expect(await svc.screen(p('bad'))).toMatchObject({ searchableContent: 'bad' });
    expect(store.reads).toBe(3);
    await bus.close();
  });

  it('another node’s change reaches this one through the bus; a missed one is caught up after maxAgeMs', async () => {
    const store = fakeStore(['x1']);
    const bus = new MemoryBus();
    const clock = { now: 0 };
    const here = service(store, bus, 'reject', clock);
    const there = service(store, bus, 'reject', clock);
    await expect(here.screen(p('x2'))).resolves.toMatchObject({ searchableContent: 'x2' });
    await there.add(['x2']);
    await expect(here.screen(p('x2'))).rejects.toThrow(CoreError);
    // A change the bus did not carry: seen once the filter is older than maxAgeMs.
    store.words.push('x3');
    await expect(here.screen(p('x3'))).resolves.toMatchObject({ searchableContent: 'x3' });
    clock.now = 60_000;
    await expect(here.screen(p('x3'))).rejects.toMatchObject({ kind: 'sensitive_matched' });
    await bus.close();
  });

  it('modes: reject throws 242, drop answers drop, pass and empty texts leave the payload alone', async () => {
    const bus = new MemoryBus();
    await expect(service(fakeStore(['w']), bus, 'reject').screen(p('a w'))).rejects.toMatchObject({ kind: 'sensitive_matched' });
    expect(await service(fakeStore(['w']), bus, 'drop').screen(p('a w'))).toBe('drop');
    const store = fakeStore(['w']);
    expect(await service(store, bus, 'pass').screen(p('a w'))).toMatchObject({ searchableContent: 'a w' });
    expect(await service(store, bus, 'reject').screen(p(''))).toMatchObject({ searchableContent: '' });
    expect(store.reads).toBe(0);
    await expect(service(store, bus, 'reject').add([])).rejects.toMatchObject({ kind: 'invalid_parameter' });
    await bus.close();
  });
});
