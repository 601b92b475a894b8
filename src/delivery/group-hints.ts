import type { Store } from '../core/ports/store.js';
import type { Logger } from '../log.js';

/**
 * Which groups each online user belongs or belonged to, as far as this node knows for sure. The
 * fan-out uses it only to answer "can an event of group G certainly NOT reach U?" while G's members
 * are still loading, so events for U need not wait behind G's event (per-user order is kept either way).
 *
 * An event of G reaches current members and, for changes of messages sent while they were members,
 * former ones (audience-cache.ts, Members). So a user "certainly not reached" is one in neither list.
 *
 * Contract: `certainlyNotReached(u, g)` is true only when the user's current groups and past groups
 * were both read from the store after the latest invalidation of `g` seen on the bus (every membership
 * change publishes one, a leave included) and neither contains `g`. Unknown (not loaded yet, failed,
 * or invalidated since) is never "not reached".
 *
 * Cost: two store reads per user coming online here, and the ids of its groups while it is online; a
 * user in more than `maxGroupsPerUser` groups (current and past) is not kept (unknown), bounding memory
 * per connection.
 */
export class GroupHints {
  private tick = 0;
  /**
   * groupId → tick of its latest invalidation. Only entries newer than some tracked user's read
   * matter (an older one answers like a missing one), so older entries are pruned as the map grows.
   */
  private readonly invalidatedAt = new Map<string, number>();
  private readonly users = new Map<string, { groups: ReadonlySet<string> | null; readAt: number; refs: number }>();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly maxGroupsPerUser = 256,
  ) {}

  /** A connection of `userId` registered: read its groups once for the user (shared by its devices). */
  track(userId: string): void {
    const cur = this.users.get(userId);
    if (cur) {
      cur.refs++;
      return;
    }
    const entry = { groups: null as ReadonlySet<string> | null, readAt: ++this.tick, refs: 1 };
    this.users.set(userId, entry);
    Promise.all([this.store.groups.groupsOfUser(userId), this.store.groups.pastGroupsOfUser(userId)]).then(
      ([current, past]) => {
        if (this.users.get(userId) !== entry) return;
        const all = new Set([...current, ...past]);
        if (all.size <= this.maxGroupsPerUser) entry.groups = all;
      },
      (err: unknown) => this.log.warn({ err, userId }, 'reading the groups of a user failed; its events wait behind group loads'),
    );
  }

  /** A connection of `userId` closed. */
  untrack(userId: string): void {
    const cur = this.users.get(userId);
    if (cur && --cur.refs <= 0) this.users.delete(userId);
  }

  invalidate(groupId: string): void {
    this.invalidatedAt.set(groupId, ++this.tick);
    if (this.invalidatedAt.size > 1024 + 2 * this.users.size) this.prune();
  }

  /**
   * Invalidations may have been missed (bus gap): every user's groups are unknown until read again
   * (they are, at once, for every tracked user).
   */
  invalidateAll(): void {
    const users = [...this.users.entries()];
    this.users.clear();
    for (const [userId, u] of users) {
      this.track(userId);
      this.users.get(userId)!.refs = u.refs;
    }
  }

  /** Drop invalidations older than every tracked user's read (amortised O(1) per invalidation). */
  private prune(): void {
    let oldestRead = Infinity;
    for (const u of this.users.values()) if (u.readAt < oldestRead) oldestRead = u.readAt;
    for (const [g, t] of this.invalidatedAt) if (t < oldestRead) this.invalidatedAt.delete(g);
  }

  /** Invalidations remembered (diagnostics and tests). */
  get remembered(): number {
    return this.invalidatedAt.size;
  }

  certainlyNotReached(userId: string, groupId: string): boolean {
    const u = this.users.get(userId);
    if (!u || !u.groups || u.groups.has(groupId)) return false;
    return (this.invalidatedAt.get(groupId) ?? 0) < u.readAt;
  }
}
