/**
 * Remembers which signed requests were already accepted, so that a replay (the same nonce, timestamp
 * and sign seen again while the timestamp is still acceptable) is refused.
 *
 * - Keyed by a 64-bit fingerprint of the whole (nonce, timestamp, sign) triple, never the nonce alone
 *   (the Java SDK draws nonces from only 100 000 values). Callers pass the fingerprint.
 * - Time-bucketed by the request's timestamp: a bucket is dropped once every timestamp in it is older
 *   than the accepted window, since the timestamp check refuses those anyway.
 * - Bounded: at `maxEntries` live entries `remember` answers 'full' and the caller refuses the request
 *   (rather than forgetting signatures that could still be replayed). Memory is about 16 bytes per entry.
 */
export type ReplayVerdict = 'fresh' | 'replay' | 'full';

/** Open-addressing set of 64-bit values held as two 32-bit halves; (0,0) marks an empty slot. */
class FingerprintSet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  size = 0;

  constructor(capacity = 1024) {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
  }

  /** The slot holding (h, l), or the empty slot where it would go. */
  private slot(h: number, l: number): number {
    const mask = this.hi.length - 1;
    let i = (h ^ Math.imul(l, 0x9e3779b1)) & mask;
    for (;;) {
      const sh = this.hi[i]!;
      const sl = this.lo[i]!;
      if ((sh === 0 && sl === 0) || (sh === h && sl === l)) return i;
      i = (i + 1) & mask;
    }
  }

  has(h: number, l: number): boolean {
    if (h === 0 && l === 0) l = 1;
    const i = this.slot(h, l);
    return this.hi[i] === h && this.lo[i] === l;
  }

  /** Adds the value; false when it was already present. */
  add(h: number, l: number): boolean {
    if (h === 0 && l === 0) l = 1;
    if ((this.size + 1) * 2 > this.hi.length) this.grow();
    const i = this.slot(h, l);
    if (this.hi[i] === h && this.lo[i] === l) return false;
    this.hi[i] = h;
    this.lo[i] = l;
    this.size++;
    return true;
  }

  private grow(): void {
    const oh = this.hi;
    const ol = this.lo;
    this.hi = new Uint32Array(oh.length * 2);
    this.lo = new Uint32Array(ol.length * 2);
    this.size = 0;
    for (let i = 0; i < oh.length; i++) {
      if (oh[i] !== 0 || ol[i] !== 0) this.add(oh[i]!, ol[i]!);
    }
  }
}

export class ReplayGuard {
  private readonly buckets = new Map<number, FingerprintSet>();
  private entries = 0;
  private lastPrune = 0;

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
    private readonly bucketMs = 10_000,
  ) {}

  get size(): number {
    return this.entries;
  }

  /** Record an accepted request with timestamp `ts` (ms) and fingerprint (hi, lo). */
  remember(ts: number, hi: number, lo: number, now: number): ReplayVerdict {
    if (now - this.lastPrune >= 1000) this.prune(now);
    const b = Math.floor(ts / this.bucketMs);
    let set = this.buckets.get(b);
    if (!set) {
      set = new FingerprintSet();
      this.buckets.set(b, set);
    }
    if (set.has(hi, lo)) return 'replay';
    if (this.entries >= this.maxEntries) return 'full';
    set.add(hi, lo);
    this.entries++;
    return 'fresh';
  }

  private prune(now: number): void {
    this.lastPrune = now;
    for (const [b, set] of this.buckets) {
      if ((b + 1) * this.bucketMs + this.windowMs < now) {
        this.entries -= set.size;
        this.buckets.delete(b);
      }
    }
  }
}
