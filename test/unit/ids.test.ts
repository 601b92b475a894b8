import { describe, expect, it } from 'vitest';
import { COUNTER_BITS, MAX_NODE_ID, NODE_BITS, UID_EPOCH_MS, UidGenerator, uidNode, uidTime } from '../../src/core/ids.js';

const MAX_SAFE = 2 ** 53;

function expectStrictlyIncreasing(xs: number[]): void {
  for (let i = 1; i < xs.length; i++) {
    if (!(xs[i]! > xs[i - 1]!)) throw new Error(`not increasing at ${i}: ${xs[i - 1]} then ${xs[i]}`);
  }
}

describe('UidGenerator', () => {
  it('the layout fits in 53 bits', () => {
    expect(41 + NODE_BITS + COUNTER_BITS).toBe(53);
    expect(MAX_NODE_ID).toBe(31);
  });

  it('issues positive safe integers below 2^53, up to the last millisecond of the layout', () => {
    const g = new UidGenerator(MAX_NODE_ID);
    const now = g.next();
    expect(now).toBeGreaterThan(0);
    expect(Number.isSafeInteger(now)).toBe(true);
    const last = new UidGenerator(MAX_NODE_ID);
    const lastMs = UID_EPOCH_MS + 2 ** 41 - 1;
    const uids = Array.from({ length: 128 }, () => last.next(lastMs));
    for (const u of uids) {
      expect(u).toBeLessThan(MAX_SAFE);
      expect(Number.isSafeInteger(u)).toBe(true);
    }
    expect(uidTime(uids[127]!)).toBe(lastMs);
  });

  it('is strictly increasing across calls with the real clock', () => {
    const g = new UidGenerator(5);
    const uids = Array.from({ length: 5000 }, () => g.next());
    expectStrictlyIncreasing(uids);
    expect(new Set(uids).size).toBe(uids.length);
  });

  it('a burst of more than 128 uids in one millisecond stays unique and increasing, running only a few ms ahead', () => {
    const g = new UidGenerator(9);
    const t = Date.UTC(2025, 5, 1, 12, 0, 0);
    const uids = Array.from({ length: 1000 }, () => g.next(t));
    expectStrictlyIncreasing(uids);
    expect(new Set(uids).size).toBe(1000);
    expect(uidTime(uids[0]!)).toBe(t);
    expect(uidTime(uids[127]!)).toBe(t);
    expect(uidTime(uids[128]!)).toBe(t + 1);
    expect(uidTime(uids[999]!) - t).toBe(Math.floor(999 / 128));
    for (const u of uids) expect(uidNode(u)).toBe(9);
    // Once the clock catches up, the generator continues from its own time without repeating.
    const later = g.next(t + 3);
    expect(later).toBeGreaterThan(uids[999]!);
    const muchLater = g.next(t + 100);
    expect(uidTime(muchLater)).toBe(t + 100);
  });

  it('embeds the node id, recovered by uidNode, for every node', () => {
    const t = Date.UTC(2026, 0, 1);
    const byNode = new Map<number, number>();
    for (let node = 0; node <= MAX_NODE_ID; node++) {
      const g = new UidGenerator(node);
      const u = g.next(t);
      expect(uidNode(u)).toBe(node);
      expect(uidTime(u)).toBe(t);
      byNode.set(node, u);
    }
    // Same millisecond, different nodes: different uids.
    expect(new Set(byNode.values()).size).toBe(MAX_NODE_ID + 1);
  });

  it('uidTime is within a few ms of now', () => {
    const g = new UidGenerator(0);
    const before = Date.now();
    const u = g.next();
    const after = Date.now();
    expect(uidTime(u)).toBeGreaterThanOrEqual(before);
    expect(uidTime(u)).toBeLessThanOrEqual(after + 2);
  });

  it('seed() makes every later uid larger than the seed', () => {
    const t = Date.UTC(2025, 0, 1);
    // A uid from the future (another node, or a previous run with a faster clock).
    const other = new UidGenerator(30);
    const future = other.next(t + 60_000);
    const g = new UidGenerator(1);
    g.seed(future);
    const u = g.next(t);
    expect(u).toBeGreaterThan(future);
    expect(uidNode(u)).toBe(1);
    // A seed in the same millisecond as the generator's last uid, with a higher counter.
    const h = new UidGenerator(0);
    const first = h.next(t);
    const sameMs = new UidGenerator(31);
    let high = 0;
    for (let i = 0; i < 100; i++) high = sameMs.next(t);
    expect(uidTime(high)).toBe(uidTime(first));
    h.seed(high);
    expect(h.next(t)).toBeGreaterThan(high);
    // Seeding with a smaller uid or 0 never makes uids go back.
    const k = new UidGenerator(2);
    const a = k.next(t);
    k.seed(1);
    k.seed(0);
    expect(k.next(t)).toBeGreaterThan(a);
  });

  it('refuses an invalid node id', () => {
    for (const bad of [-1, 32, 1.5, Number.NaN, 1000]) {
      expect(() => new UidGenerator(bad), String(bad)).toThrow(RangeError);
    }
    expect(() => new UidGenerator(0)).not.toThrow();
    expect(() => new UidGenerator(31)).not.toThrow();
  });

  it('keeps increasing when the clock goes backwards', () => {
    const g = new UidGenerator(4);
    const t = Date.UTC(2025, 3, 1);
    const a = g.next(t);
    const b = g.next(t - 1);
    const c = g.next(t - 60_000);
    const d = g.next(UID_EPOCH_MS - 1000); // before the epoch
    const e = g.next(t + 1);
    expectStrictlyIncreasing([a, b, c, d, e]);
    for (const u of [a, b, c, d, e]) expect(uidNode(u)).toBe(4);
    // A long backwards stretch with many uids still never repeats.
    const many = Array.from({ length: 500 }, (_, i) => g.next(t - i));
    expectStrictlyIncreasing([e, ...many]);
  });
});
