import type { Store } from '../core/ports/store.js';

/** userId → the cursor from which the user belongs to the audience. */
export type Members = ReadonlyMap<string, number>;

/**
 * Members of groups and channels for fan-out, loaded from the store on first use and dropped when the
 * bus says they changed (cache.invalidate), so a push never costs a store round trip per message.
 * Bounded: past `maxEntries` audiences the oldest is forgotten.
 */
export class AudienceCache {
  private readonly entries = new Map<string, Members>();
  private readonly loading = new Map<string, Promise<Members>>();
  /**
   * Bumped on invalidation, so a load that started before it does not cache stale members. One small
   * entry per audience ever invalidated (bounded by the number of groups and channels).
   */
  private readonly generation = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly maxEntries = 10_000,
  ) {}

  /** Cached members, or undefined when they must be loaded. */
  peek(kind: 'group' | 'channel', id: string): Members | undefined {
    return this.entries.get(`${kind}:${id}`);
  }

  load(kind: 'group' | 'channel', id: string): Promise<Members> {
    const key = `${kind}:${id}`;
    const cached = this.entries.get(key);
    if (cached) return Promise.resolve(cached);
    let p = this.loading.get(key);
    if (!p) {
      const gen = this.generation.get(key) ?? 0;
      p = (kind === 'group' ? this.store.groups.memberSeqs(id) : this.store.channels.audienceSeqs(id)).then((rows) => {
        const m: Members = new Map(rows.map((r) => [r.userId, r.since]));
        this.loading.delete(key);
        if ((this.generation.get(key) ?? 0) === gen) {
          if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
          this.entries.set(key, m);
        }
        return m;
      });
      p.catch(() => this.loading.delete(key));
      this.loading.set(key, p);
    }
    return p;
  }

  invalidate(kind: 'group' | 'channel', id: string): void {
    const key = `${kind}:${id}`;
    this.entries.delete(key);
    this.loading.delete(key);
    this.generation.set(key, (this.generation.get(key) ?? 0) + 1);
  }
}
