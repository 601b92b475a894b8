import type { UndoLog } from './undo-log.js';

/**
 * Facts the SQLite writer read from its own database, kept in memory so that the next command needing
 * them costs a map look-up instead of a statement (e.g. a contact's open customer-service session on
 * every inbound message, a small group's member ids on every group message).
 *
 * Why it stays exact: one connection, in one thread, makes every write to the file, so the only way a
 * cached fact changes is a write of this store, and each such write deletes the entries it may change
 * (`forget`, `clear`). An entry remembered inside a command may reflect that command's or its batch's
 * uncommitted writes; the undo log deletes it again if the command rolls back to its savepoint or the
 * batch's COMMIT fails, so memory never holds what the database did not commit. Deleting is always
 * safe (the fact is read again), so `forget` needs no undo.
 *
 * Bounded: past `max` entries everything is forgotten (the next commands read again).
 */
export class WriterCache<V> {
  private readonly map = new Map<string, V>();

  constructor(
    private readonly undo: UndoLog,
    private readonly max: number,
  ) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  /** Inside a writer command: remember `value` (forgotten again if the command or its batch rolls back). */
  remember(key: string, value: V): V {
    if (this.map.size >= this.max && !this.map.has(key)) this.map.clear();
    this.map.set(key, value);
    this.undo.record(() => this.map.delete(key));
    return value;
  }

  /** A write may have changed this fact: read it again next time. */
  forget(key: string): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}
