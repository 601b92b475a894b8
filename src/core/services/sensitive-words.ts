import { CoreError } from '../errors.js';
import type { HubEvent } from '../events.js';
import type { Payload } from '../model.js';
import type { Bus } from '../ports/bus.js';
import type { SensitiveWordStore } from '../ports/store.js';
import { SensitiveFilter } from '../sensitive.js';

/**
 * What a device message containing a sensitive word becomes (Wildfire's sensitive.filter.type):
 * reject (0: refused with 242), drop (1: the sender is told it was sent; nothing is stored or
 * delivered), replace (2: each word becomes "***"), pass (3: sent as is).
 */
export type SensitiveMode = 'reject' | 'drop' | 'replace' | 'pass';

export interface SensitiveWordOptions {
  mode: SensitiveMode;
  /** Most words in all (core/limits.ts MAX_SENSITIVE_WORDS). */
  maxWords: number;
  /** The filter is rebuilt after this even without an invalidation (the bus delivers at most once). */
  maxAgeMs: number;
  now: () => number;
}

/**
 * The sensitive words (Wildfire's SensitiveAdmin) and the filter device messages go through. The
 * filter is built from the store on first use and kept; every change of the words publishes
 * `cache.invalidate` scope `sensitive`, which drops it on every node (`handle`), and it is rebuilt
 * after `maxAgeMs` in case an invalidation was missed. Admin sends are never filtered (Wildfire's).
 */
export class SensitiveWordService {
  private filter: { value: SensitiveFilter; at: number } | null = null;
  private loading: Promise<SensitiveFilter> | null = null;
  /** Counts invalidations, so a load that raced one is used but not kept. */
  private generation = 0;

  constructor(
    private readonly store: SensitiveWordStore,
    private readonly bus: Bus,
    private readonly opts: SensitiveWordOptions,
  ) {}

  handle(e: HubEvent): void {
    if (e.type === 'cache.invalidate' && e.scope === 'sensitive') {
      this.generation++;
      this.filter = null;
      this.loading = null;
    }
  }

  private invalidate(): Promise<void> {
    return this.bus.publish({ type: 'cache.invalidate', scope: 'sensitive', id: '' });
  }

  async add(words: string[]): Promise<void> {
    if (words.length === 0) throw new CoreError('invalid_parameter', 'words must not be empty');
    await this.store.addWords(words, this.opts.maxWords);
    await this.invalidate();
  }

  async remove(words: string[]): Promise<void> {
    if (words.length === 0) throw new CoreError('invalid_parameter', 'words must not be empty');
    await this.store.removeWords(words);
    await this.invalidate();
  }

  list(): Promise<string[]> {
    return this.store.listWords();
  }

  /** The current filter (cached). */
  current(): Promise<SensitiveFilter> {
    const f = this.filter;
    if (f && this.opts.now() - f.at < this.opts.maxAgeMs) return Promise.resolve(f.value);
    if (this.loading) return this.loading;
    const gen = this.generation;
    const load = this.store.listWords().then(
      (words) => {
        const value = new SensitiveFilter(words);
        if (gen === this.generation) this.filter = { value, at: this.opts.now() };
        if (this.loading === load) this.loading = null;
        return value;
      },
      (err: unknown) => {
        if (this.loading === load) this.loading = null;
        throw err;
      },
    );
    this.loading = load;
    return load;
  }

  /**
   * A device's payload through the filter (its searchableContent, as Wildfire checks): the payload to
   * send (words replaced in mode replace), or 'drop'; throws sensitive_matched (242) in mode reject.
   */
  async screen(payload: Payload): Promise<Payload | 'drop'> {
    if (this.opts.mode === 'pass' || payload.searchableContent === '') return payload;
    const filter = await this.current();
    if (filter.size === 0) return payload;
    const masked = filter.mask(payload.searchableContent);
    if (masked === null) return payload;
    switch (this.opts.mode) {
      case 'reject':
        throw new CoreError('sensitive_matched');
      case 'drop':
        return 'drop';
      case 'replace':
        return { ...payload, searchableContent: masked };
    }
  }
}
