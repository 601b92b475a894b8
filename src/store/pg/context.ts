import type pg from 'pg';
import type { UidGenerator } from '../../core/ids.js';
import type { FanoutOptions } from '../options.js';
import { queryable, StatementNames, type Queryable } from './pool.js';
import type { PgTx, PgWriter, SubmitOptions } from './writer.js';

/**
 * What the parts of the PostgreSQL store share: the pool, the writer (group commit), the uid generator
 * (on this node's leased id) and the fan-out options.
 *
 * Rules for the parts (every node shares the database, see docs/scaling.md):
 * - Every write goes through `write` (one command = one savepoint in the writer's batch); checks and
 *   writes of a command run in it, never read-then-write across two commands.
 * - No in-memory cache of mutable rows across commands: another node may change them. (Caches whose
 *   invalidation travels on the bus belong in core, not here.)
 * - Reads run on the pool, each statement on its own snapshot; `snapshot` gives several statements one.
 */
export class PgContext {
  /** Statements on any connection of the pool (autocommit). */
  readonly db: Queryable;
  /**
   * The same, prepared (parsed once per connection, PostgreSQL's plan cache): for the few statements
   * a node runs over and over on the pool (the outbox claim's poll), whose planning costs more than
   * their execution. A handful of fixed texts only (bounded: past 16 they run unnamed).
   */
  readonly hot: Queryable;

  constructor(
    readonly pool: pg.Pool,
    readonly writer: PgWriter,
    readonly uids: UidGenerator,
    readonly fanout: FanoutOptions,
  ) {
    this.db = queryable(pool);
    this.hot = queryable(pool, new StatementNames('r', 16));
  }

  /** A write command (see PgWriter.submit; `opts.concurrent` only as SubmitOptions allows). */
  write<T>(fn: (tx: PgTx) => Promise<T>, opts?: SubmitOptions): Promise<T> {
    return this.writer.submit(fn, opts);
  }

  read<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return fn(this.db);
  }

  /** Several reads on one consistent snapshot (REPEATABLE READ, read only). */
  async snapshot<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const out = await fn(queryable(client));
      await client.query('COMMIT');
      client.release();
      return out;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
        client.release();
      } catch (e) {
        client.release(e instanceof Error ? e : new Error(String(e)));
      }
      throw err;
    }
  }
}
