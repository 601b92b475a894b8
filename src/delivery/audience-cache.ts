import { BoundedCache } from '../core/bounded-cache.js';
import type { MemberInterval, Store } from '../core/ports/store.js';

export type AudienceKind = 'group' | 'channel';

/**
 * Who an event of a shared audience reaches, by the rule replay applies (SyncStore.replay): an event
 * whose *origin* is M — a message's own seq, or for a change (recall, update, delete) the seq of the
 * message changed — reaches exactly the users with a membership interval since < M (<= until): the
 * current members who joined before M, and the former members who were members when M was sent.
 * Nobody else: not a later member, not a former member for a message sent after it left.
 */
export class Members {
  /** Current members: userId → since (interval (since, ∞)). */
  private readonly current = new Map<string, number>();
  /** Past memberships: userId → [since, until, since, until, …] (intervals (since, until]). */
  private readonly past = new Map<string, number[]>();
  /** The largest `until` of a past membership (0: none): an origin above it reaches current members only. */
  private pastMax = 0;
  /** Intervals held (the cache's unit of size). */
  readonly size: number;
  /** Distinct users with any interval. */
  readonly users: number;

  constructor(rows: readonly MemberInterval[]) {
    let n = 0;
    for (const r of rows) {
      if (r.until === undefined) {
        if (!this.current.has(r.userId)) n++;
        this.current.set(r.userId, r.since);
        continue;
      }
      if (!(r.until > r.since)) continue; // an empty interval shows nothing
      let list = this.past.get(r.userId);
      if (!list) this.past.set(r.userId, (list = []));
      list.push(r.since, r.until);
      if (r.until > this.pastMax) this.pastMax = r.until;
      n++;
    }
    this.size = n;
    let users = this.current.size;
    for (const u of this.past.keys()) if (!this.current.has(u)) users++;
    this.users = users;
  }

  /** Whether an event of origin `origin` is for `userId`. */
  reaches(userId: string, origin: number): boolean {
    const since = this.current.get(userId);
    if (since !== undefined && origin > since) return true;
    if (origin > this.pastMax) return false;
    const list = this.past.get(userId);
    return list !== undefined && inPast(list, origin);
  }

  /** Every user an event of origin `origin` is for, each once. */
  forEachReached(origin: number, fn: (userId: string) => void): void {
    for (const [u, since] of this.current) if (origin > since) fn(u);
    if (origin > this.pastMax) return;
    for (const [u, list] of this.past) {
      const since = this.current.get(u);
      if (since !== undefined && origin > since) continue; // already reached as a current member
      if (inPast(list, origin)) fn(u);
    }
  }
}

function inPast(list: readonly number[], origin: number): boolean {
  for (let i = 0; i < list.length; i += 2) if (list[i]! < origin && origin <= list[i + 1]!) return true;
  return false;
}

/**
 * Members of groups and channels for fan-out — current ones and past memberships, as intervals
 * (see Members) — loaded from the store on first use and dropped when the bus says they changed
 * (cache.invalidate: every join and every leave publishes one, a leave adding a past interval), so a
 * push never costs a store round trip per message.
 *
 * Bounded by the total number of intervals held (`maxMembers`), not by the number of audiences: the
 * least recently used audiences are forgotten first. An audience larger than the bound on its own is
 * loaded for the event that needs it and not kept.
 *
 * Any change of an audience (member added, removed, muted, subscribed…) drops the whole entry, so the
 * next event of it reloads all its members: O(intervals) reads per change, acceptable because changes
 * are rare next to messages.
 */
/** Reads of one audience load before it gives up on an audience that keeps changing. */
const MAX_READS = 5;

export class AudienceCache {
  /** Least recently used audiences go first once the members held pass `maxMembers`; no expiry. */
  private readonly entries: BoundedCache<Members>;
  private readonly loading = new Map<string, Promise<Members>>();
  /**
   * Bumped on invalidation, so a load that started before it is not used (nor cached): the load runs
   * again. An entry exists only while a load of the audience is under way.
   */
  private readonly generation = new Map<string, number>();

  constructor(
    private readonly store: Store,
    /** Total members held across cached audiences. */
    readonly maxMembers = 1_000_000,
  ) {
    this.entries = new BoundedCache<Members>(maxMembers, Infinity);
  }

  /** Intervals (current and past memberships) currently held (for tests and metrics). */
  get size(): number {
    return this.entries.weight;
  }

  /** Cached members without counting it as a use (for checks that deliver nothing). */
  known(kind: AudienceKind, id: string): Members | undefined {
    return this.entries.peek(`${kind}:${id}`);
  }

  /** Cached members, or undefined when they must be loaded. */
  peek(kind: AudienceKind, id: string): Members | undefined {
    return this.entries.get(`${kind}:${id}`)?.value;
  }

  /**
   * The members as of a load that started after the latest invalidation of the audience. Concurrent
   * callers share one load. Rejects when the store does.
   */
  load(kind: AudienceKind, id: string): Promise<Members> {
    const key = `${kind}:${id}`;
    const cached = this.peek(kind, id);
    if (cached) return Promise.resolve(cached);
    let p = this.loading.get(key);
    if (!p) {
      // Registered as loading before the first read starts, so an invalidation during it is seen.
      p = Promise.resolve().then(() => this.fetch(kind, id, key));
      this.loading.set(key, p);
      const done = (): void => {
        if (this.loading.get(key) === p) this.loading.delete(key);
      };
      p.then(done, done);
    }
    return p;
  }

  /**
   * The audience changed. When it was cached (an audience in use), its new members are read at once in
   * the background, so its next event rarely has to wait for them.
   */
  invalidate(kind: AudienceKind, id: string): void {
    const key = `${kind}:${id}`;
    const wasCached = this.entries.delete(key);
    // Only a load under way needs to learn of it (it reads again); otherwise nothing is remembered.
    if (this.loading.has(key)) this.generation.set(key, (this.generation.get(key) ?? 0) + 1);
    else this.generation.delete(key);
    if (wasCached && !this.loading.has(key)) void this.load(kind, id).catch(() => undefined); // the next event retries
  }

  /**
   * Invalidations may have been missed (bus gap): drop every audience, and make loads under way read
   * again. Nothing is re-read in the background; the next event of each audience loads it.
   */
  invalidateAll(): void {
    for (const [key] of [...this.entries.entries()]) this.entries.delete(key);
    for (const key of this.loading.keys()) this.generation.set(key, (this.generation.get(key) ?? 0) + 1);
  }

  private async fetch(kind: AudienceKind, id: string, key: string): Promise<Members> {
    try {
      for (let reads = 1; ; reads++) {
        const gen = this.generation.get(key) ?? 0;
        const rows = await (kind === 'group' ? this.store.groups.memberSeqs(id) : this.store.channels.audienceSeqs(id));
        if ((this.generation.get(key) ?? 0) === gen) {
          const m = new Members(rows);
          // An audience larger than the whole bound is used for its event, not kept.
          if (m.size <= this.maxMembers) this.entries.set(key, m, m.size);
          return m;
        }
        // Changed meanwhile: read again, but not forever (an audience changing faster than it can be
        // read fails like a store error: the fan-out retries, then makes its receivers resync).
        if (reads >= MAX_READS) throw new Error(`audience ${key} changed during ${MAX_READS} reads in a row`);
      }
    } finally {
      this.generation.delete(key);
    }
  }
}
