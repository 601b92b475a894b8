/**
 * A bounded map of cached facts: least recently used entries are evicted once the total weight
 * passes `maxWeight`, and an entry older than `maxAgeMs` counts as absent (so a fact whose
 * invalidation was missed is read again at the latest after that long).
 *
 * Each entry weighs what its owner says (1 by default; a group with cached members weighs 1 + members).
 */
export class BoundedCache<V> {
  private readonly map = new Map<string, { value: V; at: number; weight: number; pos: number }>();
  private total = 0;
  /** Insertions into the map so far; an entry's `pos` is the count at its latest insertion. */
  private clock = 0;

  constructor(
    private readonly maxWeight: number,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The entry (a hit also marks it recently used), or undefined when absent or too old. An entry
   * inserted less than size/2 insertions ago is in the newer half of the map's order already (at most
   * that many entries follow it), so a hit on it is not moved: eviction, which takes the oldest first,
   * reaches it only after the older half either way. Nor is any hit moved while the cache holds at most
   * half its weight: eviction is at least that many insertions away, and by then every entry used
   * since the cache passed half has been moved. Hot entries thus cost a lookup (about a quarter of a
   * microsecond less per hit), not a re-insertion.
   */
  get(key: string): { value: V } | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (this.now() - e.at >= this.maxAgeMs) {
      this.delete(key);
      return undefined;
    }
    if (this.total > this.maxWeight / 2 && e.pos <= this.clock - (this.map.size >>> 1)) {
      this.map.delete(key);
      this.map.set(key, e);
      e.pos = ++this.clock;
    }
    return e;
  }

  /** The value without touching recency or age (whether `key` still holds this very value). */
  peek(key: string): V | undefined {
    return this.map.get(key)?.value;
  }

  set(key: string, value: V, weight = 1): void {
    this.delete(key);
    this.map.set(key, { value, at: this.now(), weight, pos: ++this.clock });
    this.total += weight;
    this.evict(key);
  }

  /** The entry's value grew or shrank by `delta` weight (e.g. a member was added to a cached group). */
  reweigh(key: string, delta: number): void {
    const e = this.map.get(key);
    if (!e) return;
    e.weight += delta;
    this.total += delta;
    this.evict(key);
  }

  delete(key: string): boolean {
    const e = this.map.get(key);
    if (!e) return false;
    this.map.delete(key);
    this.total -= e.weight;
    return true;
  }

  clear(): void {
    this.map.clear();
    this.total = 0;
  }

  /** Every entry, least recently used first (reading does not touch recency). */
  *entries(): IterableIterator<[string, V]> {
    for (const [k, e] of this.map) yield [k, e.value];
  }

  get size(): number {
    return this.map.size;
  }

  get weight(): number {
    return this.total;
  }

  /** Evict least recently used entries until within bounds; `keep` goes last (it was just used). */
  private evict(keep: string): void {
    for (const key of this.map.keys()) {
      if (this.total <= this.maxWeight) return;
      if (key !== keep) this.delete(key);
    }
    if (this.total > this.maxWeight) this.delete(keep);
  }
}

/**
 * Loads shared by concurrent callers (one store read per key at a time). `forget` detaches a load
 * under way: its callers still get its result, but `settled` tells the loader not to cache it,
 * because the fact changed while it was being read.
 */
export class SharedLoads<V> {
  private readonly loads = new Map<string, { promise?: Promise<V> }>();

  /**
   * The pending load of `key`, or a new one. `keep(value)` runs once the load resolves, only if the
   * load was not forgotten meanwhile.
   */
  run(key: string, load: () => Promise<V>, keep: (value: V) => void): Promise<V> {
    const pending = this.loads.get(key)?.promise;
    if (pending) return pending;
    const slot: { promise?: Promise<V> } = {};
    this.loads.set(key, slot);
    const promise = (async () => {
      try {
        const value = await load();
        if (this.loads.get(key) === slot) keep(value);
        return value;
      } finally {
        if (this.loads.get(key) === slot) this.loads.delete(key);
      }
    })();
    slot.promise = promise;
    return promise;
  }

  forget(key: string): void {
    this.loads.delete(key);
  }

  /** Detach every load under way (their results are not kept). */
  forgetAll(): void {
    this.loads.clear();
  }
}
