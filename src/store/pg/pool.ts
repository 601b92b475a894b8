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
    options: `-c search_path=${schema} -c jit=off`,
    types,
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

/** A Queryable over anything with node-postgres' query(). */
export function queryable(target: { query: (sql: string, params?: unknown[]) => Promise<pg.QueryResult> }): Queryable {
  return {
    rows: async <R>(sql: string, params?: readonly unknown[]) => (await target.query(sql, params as unknown[] | undefined)).rows as R[],
    row: async <R>(sql: string, params?: readonly unknown[]) => (await target.query(sql, params as unknown[] | undefined)).rows[0] as R | undefined,
    run: async (sql: string, params?: readonly unknown[]) => (await target.query(sql, params as unknown[] | undefined)).rowCount ?? 0,
  };
}
