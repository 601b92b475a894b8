import type { Store } from '../core/ports/store.js';
import type { Logger } from '../log.js';

/**
 * Which groups each online user belongs to, as far as this node knows for sure. The fan-out uses it
 * only to answer "is U certainly NOT a member of group G?" while G's members are still loading, so
 * events for U need not wait behind G's event (per-user order is kept either way).
 *
 * Contract: `certainlyNotMember(u, g)` is true only when the user's group list was read from the store
 * after the latest invalidation of `g` seen on the bus (every membership change publishes one) and
 * does not contain `g`. Unknown (not loaded yet, failed, or invalidated since) is never "not member".
 *
 * Cost: one store read per user coming online here, and the ids of its groups while it is online; a
 * user in more than `maxGroupsPerUser` groups is not kept (unknown), bounding memory per connection.
 */
export class GroupHints {
  private tick = 0;
  /** groupId → tick of its latest invalidation (one entry per group ever invalidated here). */
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
    this.store.groups.groupsOfUser(userId).then(
      (ids) => {
        if (this.users.get(userId) === entry && ids.length <= this.maxGroupsPerUser) entry.groups = new Set(ids);
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
  }

  certainlyNotMember(userId: string, groupId: string): boolean {
    const u = this.users.get(userId);
    if (!u || !u.groups || u.groups.has(groupId)) return false;
    return (this.invalidatedAt.get(groupId) ?? 0) < u.readAt;
  }
}
