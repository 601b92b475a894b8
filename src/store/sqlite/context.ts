import type Database from 'better-sqlite3';
import type { UidGenerator } from '../../core/ids.js';
import type { SqliteWriter } from './writer.js';

export interface FanoutOptions {
  /**
   * Groups and channels with at most this many receivers get per-user rows (unread counters, per-user
   * hides) written with the message; larger ones get one shared event read by membership.
   */
  inlineFanoutMax: number;
}

/**
 * What the parts of the SQLite store share: the one connection, its writer, a statement cache, the
 * uid generator and the cursor counter. Reads run directly on the connection (never inside an open
 * transaction: the writer opens and commits each batch in one synchronous call).
 */
export class SqliteContext {
  private readonly statements = new Map<string, Database.Statement>();
  /** Last seq allocated; seqs are allocated only inside writer commands, hence in commit order. */
  private seq: number;

  constructor(
    readonly db: Database.Database,
    readonly writer: SqliteWriter,
    readonly uids: UidGenerator,
    readonly fanout: FanoutOptions,
  ) {
    const row = db
      .prepare(
        `SELECT MAX(s) AS s FROM (
           SELECT MAX(seq) AS s FROM inbox UNION ALL SELECT MAX(seq) FROM events UNION ALL SELECT MAX(seq) FROM messages)`,
      )
      .get() as { s: number | null };
    this.seq = row.s ?? 0;
    const maxUid = db.prepare('SELECT MAX(uid) AS u FROM messages').get() as { u: number | null };
    uids.seed(maxUid.u ?? 0);
  }

  stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** Allocate the next cursor. Only call inside a writer command. */
  nextSeq(): number {
    return ++this.seq;
  }

  /** The last allocated cursor (inside a command: everything before this command). */
  currentSeq(): number {
    return this.seq;
  }

  write<T>(fn: () => T): Promise<T> {
    return this.writer.submit(fn);
  }

  /** Run a read on the connection; async so every backend has the same shape. */
  async read<T>(fn: () => T): Promise<T> {
    return fn();
  }
}
