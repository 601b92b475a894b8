import { describe, expect, it } from 'vitest';
import { BoundedCache, SharedLoads } from '../../src/core/bounded-cache.js';

describe('BoundedCache', () => {
  it('evicts the least recently used entries once the total weight passes the bound', () => {
    const c = new BoundedCache<string>(3, 60_000);
    c.set('a', 'A');
    c.set('b', 'B');
    c.set('c', 'C');
    expect(c.get('a')?.value).toBe('A'); // a is now the most recently used
    c.set('d', 'D');
    expect(c.get('b')).toBeUndefined();
    expect([c.get('a')?.value, c.get('c')?.value, c.get('d')?.value]).toEqual(['A', 'C', 'D']);
    expect(c.weight).toBe(3);
  });

  it('orders hits only once it holds more than half its weight, in time for the first eviction', () => {
    const c = new BoundedCache<string>(4, 60_000);
    c.set('a', 'A');
    c.set('b', 'B');
    expect(c.get('a')?.value).toBe('A'); // half full: not moved
    expect([...c.entries()].map(([k]) => k)).toEqual(['a', 'b']);
    c.set('c', 'C');
    expect(c.get('a')?.value).toBe('A'); // past half: a is now the most recently used
    expect([...c.entries()].map(([k]) => k)).toEqual(['b', 'c', 'a']);
    c.set('d', 'D');
    c.set('e', 'E');
    expect(c.get('b'), 'the least recently used went first').toBeUndefined();
    expect(c.get('a')?.value).toBe('A');
  });

  it('counts weights, and a growing entry pushes older ones out (never itself while others remain)', () => {
    const c = new BoundedCache<string>(5, 60_000);
    c.set('small', 's');
    c.set('big', 'b', 3);
    expect(c.weight).toBe(4);
    c.reweigh('big', 1);
    expect(c.weight).toBe(5);
    c.reweigh('big', 1);
    expect(c.get('small')).toBeUndefined();
    expect(c.get('big')?.value).toBe('b');
    expect(c.weight).toBe(5);
    // Alone over the bound: dropped too.
    c.reweigh('big', 1);
    expect(c.size).toBe(0);
    expect(c.weight).toBe(0);
  });

  it('treats entries older than maxAgeMs as absent', () => {
    let now = 1_000;
    const c = new BoundedCache<number | null>(10, 100, () => now);
    c.set('x', null);
    expect(c.get('x')).toMatchObject({ value: null });
    now += 99;
    expect(c.get('x')?.value).toBeNull();
    now += 1;
    expect(c.get('x')).toBeUndefined();
    expect(c.size).toBe(0);
  });
});

describe('SharedLoads', () => {
  it('shares one load between concurrent callers and keeps its value', async () => {
    const loads = new SharedLoads<number>();
    let n = 0;
    const kept: number[] = [];
    const load = async () => ++n;
    const [a, b] = await Promise.all([loads.run('k', load, (v) => kept.push(v)), loads.run('k', load, (v) => kept.push(v))]);
    expect([a, b, n, kept]).toEqual([1, 1, 1, [1]]);
    // Settled: the next call loads again.
    expect(await loads.run('k', load, (v) => kept.push(v))).toBe(2);
  });

  it('a forgotten load still answers its callers but is not kept, and a new one starts fresh', async () => {
    const loads = new SharedLoads<string>();
    let release = (): void => {};
    const gate = new Promise<void>((r) => (release = r));
    const kept: string[] = [];
    const stale = loads.run(
      'k',
      async () => {
        await gate;
        return 'old';
      },
      (v) => kept.push(v),
    );
    loads.forget('k');
    const fresh = loads.run('k', async () => 'new', (v) => kept.push(v));
    release();
    expect(await stale).toBe('old');
    expect(await fresh).toBe('new');
    expect(kept).toEqual(['new']);
  });

  it('a failed load rejects its callers and is not kept', async () => {
    const loads = new SharedLoads<string>();
    const kept: string[] = [];
    await expect(loads.run('k', async () => Promise.reject(new Error('down')), (v) => kept.push(v))).rejects.toThrow('down');
    expect(await loads.run('k', async () => 'up', (v) => kept.push(v))).toBe('up');
    expect(kept).toEqual(['up']);
  });
});
