/** What the registry needs of a connection. */
export interface Session {
  readonly userId: string;
  readonly clientId: string;
  readonly platform: number;
  readonly connectedAt: number;
}

/**
 * The connections of this node, by user. Every connection of a user receives each event addressed
 * to the user (multi-device); online status and counts come from here.
 */
export class ConnectionRegistry<C extends Session> {
  private readonly byUser = new Map<string, Set<C>>();
  private total = 0;

  add(c: C): void {
    let set = this.byUser.get(c.userId);
    if (!set) {
      set = new Set();
      this.byUser.set(c.userId, set);
    }
    if (!set.has(c)) {
      set.add(c);
      this.total++;
    }
  }

  remove(c: C): void {
    const set = this.byUser.get(c.userId);
    if (set?.delete(c)) {
      this.total--;
      if (set.size === 0) this.byUser.delete(c.userId);
    }
  }

  /** The user's connections (empty when offline). */
  of(userId: string): ReadonlySet<C> | undefined {
    return this.byUser.get(userId);
  }

  get size(): number {
    return this.total;
  }

  get users(): number {
    return this.byUser.size;
  }

  /** Users with at least one connection. Removing connections while iterating is safe. */
  userIds(): IterableIterator<string> {
    return this.byUser.keys();
  }

  *all(): IterableIterator<C> {
    for (const set of this.byUser.values()) yield* set;
  }
}
