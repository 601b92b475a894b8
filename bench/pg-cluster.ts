/**
 * Benchmark storage for PostgreSQL + Redis targets: a fresh schema and a fresh Redis key prefix per
 * target, the env that points a `dist/cli.js serve` process (or several, forming one cluster) at them,
 * a count of the stored messages, and the cleanup (schema and prefix dropped).
 *
 *   BENCH_PG_URL     default postgres://postgres@127.0.0.1:5432/test
 *   BENCH_REDIS_URL  default redis://127.0.0.1:6379
 */
import { randomUUID } from 'node:crypto';
import { dropPrefix, dropSchema, pgAdmin } from '../test/helpers/backends.js';

export const BENCH_PG_URL = process.env['BENCH_PG_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
export const BENCH_REDIS_URL = process.env['BENCH_REDIS_URL'] || 'redis://127.0.0.1:6379';

export interface PgClusterStorage {
  readonly schema: string;
  readonly prefix: string;
  /** Env for every node of the cluster (the server creates and migrates the schema on start). */
  readonly env: Record<string, string>;
  /** Rows in the schema's messages table (call after the nodes stopped cleanly). */
  countMessages(): Promise<number>;
  /** Drop the schema and every Redis key under the prefix. */
  drop(): Promise<void>;
}

export function pgClusterStorage(): PgClusterStorage {
  const id = randomUUID().replace(/-/g, '').slice(0, 16);
  const schema = `sbbench_${id}`;
  const prefix = `sbbench:${id}:`;
  return {
    schema,
    prefix,
    env: {
      SWITCHBOARD_STORE_URL: BENCH_PG_URL,
      SWITCHBOARD_STORE_SCHEMA: schema,
      SWITCHBOARD_BUS_URL: BENCH_REDIS_URL,
      SWITCHBOARD_BUS_PREFIX: prefix,
    },
    countMessages: () => pgAdmin(BENCH_PG_URL, async (c) => Number((await c.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${schema}.messages`)).rows[0]!.n)),
    drop: async () => {
      await dropSchema(BENCH_PG_URL, schema);
      await dropPrefix(BENCH_REDIS_URL, prefix);
    },
  };
}
