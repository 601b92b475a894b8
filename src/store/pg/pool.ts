import pg from 'pg';

/**
 * Connections to PostgreSQL. Every integer column is BIGINT (int8): node-postgres reads those as
 * strings by default; here they are numbers, which is exact because every value we store (uids,
 * seqs, millisecond timestamps, counts) stays below 2^53. Per pool, never global.
 */
const INT8 = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8 && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};

export interface PoolOptions {
  /** postgres://… connection URL. */
  url: string;
  /** Schema holding the tables (created when missing); default "public". */
  schema?: string;
  /** Most connections of this pool (the writer holds one of them). */
  max?: number;
  /** Give up connecting after this long (ms). */
  connectTimeoutMs?: number;
  /**
   * Pipelined connections: a query is written as soon as it is issued, without waiting for the answers
   * to the ones before it (each keeps its own Sync, so an error fails only its own query, and inside a
   * transaction the ones after it). For the writer's pool (writer.ts); reads use a plain one.
   */
  pipeline?: boolean;
  /**
   * `plan_cache_mode=force_generic_plan`: a prepared statement is planned once per connection, not at
   * each execution (PostgreSQL otherwise re-plans statements over unnest() arrays every time: the
   * custom plan, knowing the array's length, always looks cheaper). For the writer's pool, whose
   * statements are key lookups and inserts whose plan does not depend on the values.
   */
  genericPlans?: boolean;
  onError?: (err: unknown) => void;
}

/** A schema name we put in search_path unquoted: letters, digits and underscores. */
export function checkSchemaName(schema: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid PostgreSQL schema name "${schema}"`);
  return schema;
}

export function openPool(opts: PoolOptions): pg.Pool {
  const schema = checkSchemaName(opts.schema ?? 'public');
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    // No JIT: its compile time (often 100+ ms) dwarfs the short statements of a store, whose cost
    // estimates (recursive index walks, LATERAL probes) can still cross jit_above_cost.
    options: `-c search_path=${schema} -c jit=off${opts.genericPlans ? ' -c plan_cache_mode=force_generic_plan' : ''}`,
    types,
    pipeline: opts.pipeline === true,
  });
  // An idle connection that dies (server restart) is dropped by the pool; the error must not crash us.
  pool.on('error', (err) => opts.onError?.(err));
  // A checked-out connection that dies between two queries (a writer batch, a snapshot) emits 'error'
  // on its client, which no one else listens to while it is out: without this the process would exit.
  // The client is broken then; its holder's next query fails and it is released with the error.
  pool.on('connect', (client) => client.on('error', (err) => opts.onError?.(err)));
  return pool;
}

/** The rows of a query result. */
export type Row = Record<string, unknown>;

/**
 * What reads and write commands run statements with: a pool (each statement on any connection) or
 * the writer's transaction. `$1`-style parameters.
 */
export interface Queryable {
  rows<R = Row>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** The first row, or undefined. */
  row<R = Row>(sql: string, params?: readonly unknown[]): Promise<R | undefined>;
  /** Rows affected. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

/**
 * Names for prepared statements, by statement text: PostgreSQL parses and plans a named statement once
 * per connection (and may keep a generic plan), instead of at every execution. Bounded: past `max`
 * distinct texts, a new text runs unnamed (a text carrying values would otherwise grow it without
 * end, here and in every connection's backend). Names are per instance; one text, one name.
 */
export class StatementNames {
  private readonly names = new Map<string, string>();

  constructor(
    private readonly prefix: string,
    private readonly max = 256,
  ) {}

  /** The name of `sql`, or undefined (run it unnamed). */
  of(sql: string): string | undefined {
    let name = this.names.get(sql);
    if (name === undefined && this.names.size < this.max) {
      name = `${this.prefix}${this.names.size + 1}`;
      this.names.set(sql, name);
    }
    return name;
  }
}

type QueryTarget = { query: (q: string | pg.QueryConfig, params?: unknown[]) => Promise<pg.QueryResult> };

/**
 * Coalesced writes on a pipelined connection: the statements issued in one turn of the event loop (a
 * synchronous run and the promise callbacks it sets off) leave in one socket write instead of one
 * each. node-postgres writes each pipelined query on its own (cork, its protocol messages, uncork: one
 * `writev` system call per query, and one packet for PostgreSQL to read; most of the 8% of a node's
 * time spent in writev in bench/send small groups). The returned hook, called before each query, corks the socket at the first
 * query of a turn and uncorks it in process.nextTick, which runs once the turn's microtasks are done:
 * nothing is held past the end of the turn, so no query waits on a later event.
 */
export function coalescedWrites(client: pg.PoolClient): () => void {
  const stream = client instanceof pg.Client ? client.connection.stream : undefined;
  if (!stream) return () => {};
  let corked = false;
  const uncork = (): void => {
    corked = false;
    stream.uncork();
  };
  return () => {
    if (corked) return;
    corked = true;
    stream.cork();
    process.nextTick(uncork);
  };
}

/**
 * A Queryable over anything with node-postgres' query(); with `names`, statements with parameters are
 * prepared; `beforeQuery` runs before each statement is handed over (coalescedWrites).
 */
export function queryable(target: QueryTarget, names?: StatementNames, beforeQuery?: () => void): Queryable {
  const exec = (sql: string, params?: readonly unknown[]): Promise<pg.QueryResult> => {
    beforeQuery?.();
    const values = params as unknown[] | undefined;
    // Only statements with parameters: a text without them may be several statements (simple protocol).
    const name = names && values && values.length > 0 ? names.of(sql) : undefined;
    return name ? target.query({ name, text: sql, values }) : target.query(sql, values);
  };
  return {
    rows: async <R>(sql: string, params?: readonly unknown[]) => (await exec(sql, params)).rows as R[],
    row: async <R>(sql: string, params?: readonly unknown[]) => (await exec(sql, params)).rows[0] as R | undefined,
    run: async (sql: string, params?: readonly unknown[]) => (await exec(sql, params)).rowCount ?? 0,
  };
}
