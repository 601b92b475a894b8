import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { RedisBus } from '../../src/bus/redis-bus.js';
import type { Bus } from '../../src/core/ports/bus.js';
import type { Store } from '../../src/core/ports/store.js';
import { SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite/sqlite-store.js';
import { ThreadedSqliteStore } from '../../src/store/sqlite/threaded-store.js';
import { PgStore } from '../../src/store/pg/pg-store.js';
import pg from 'pg';
import { removeDir, tempDir } from './temp.js';

/**
 * The one list of backends the tests run on.
 *
 * - Contract suites (test/contract/*.contract.ts) run once per entry of `storeBackends()` /
 *   `busBackends()`, through `eachStoreBackend` / `eachBusBackend`.
 * - End-to-end suites (admin, ws, callbacks, sdk) start their servers on the backend that
 *   SWITCHBOARD_TEST_STORE_URL and SWITCHBOARD_TEST_BUS_URL name (`serverBackend()`); unset means
 *   SQLite in the server's data directory and the in-process bus.
 *
 * A new engine joins by adding an entry here: a contract backend (a fresh, empty store or bus per
 * test, with per-file setup and teardown such as creating and dropping a database) and, for the
 * end-to-end suites, a URL scheme in SERVER_STORES / SERVER_BUSES that provisions what one server
 * (and its restarts) uses and the configuration that selects it.
 */

// ------------------------------------------------------------------------------ contract suites

export interface OpenedStore {
  store: Store;
  /** Closes the store and frees what `open` made; tolerates a store the test closed already. */
  cleanup: () => Promise<void>;
  /**
   * Backends that several nodes share (PostgreSQL): another handle on the same data, as a second node
   * would open it (its own pool, writer and node id). Closed by `cleanup` (a test may close it first).
   */
  openSibling?: () => Promise<Store>;
}

export interface StoreOpenOptions {
  /** Groups/channels with more receivers than this use one shared event read by membership. */
  inlineFanoutMax: number;
}

export interface StoreBackend {
  readonly name: string;
  /** Several nodes share one database of it: `open` gives stores with `openSibling`. */
  readonly sharedByNodes?: boolean;
  /** Once per test file, before its first store (e.g. create a database or schema for the file). */
  setup?(): Promise<void>;
  /** Once per test file, after its last store (e.g. drop that database). */
  teardown?(): Promise<void>;
  /** A fresh, empty store; called once per test. */
  open(opts: StoreOpenOptions): Promise<OpenedStore>;
}

export interface OpenedBus {
  bus: Bus;
  cleanup: () => Promise<void>;
}

export interface BusBackend {
  readonly name: string;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  /** A fresh bus with no subscribers; called once per test. */
  open(): Promise<OpenedBus>;
}

/** A SQLite store backend whose databases live in one temp directory per test file. */
function sqliteFileBackend(name: string, options: Omit<SqliteStoreOptions, 'file' | 'inlineFanoutMax'>, threaded: boolean): StoreBackend {
  let root: string | undefined;
  return {
    name,
    setup: async () => {
      root = tempDir('sb-contract-');
    },
    teardown: async () => {
      if (root) removeDir(root);
      root = undefined;
    },
    open: async ({ inlineFanoutMax }) => {
      if (!root) throw new Error(`${name}: setup() has not run`);
      const dir = fs.mkdtempSync(path.join(root, 'db-'));
      const opts: SqliteStoreOptions = { ...options, file: path.join(dir, 'switchboard.db'), inlineFanoutMax };
      const store: Store = threaded ? await ThreadedSqliteStore.open(opts) : new SqliteStore(opts);
      return {
        store,
        cleanup: async () => {
          await store.close();
          removeDir(dir);
        },
      };
    },
  };
}

/**
 * Every store the contract suites run against: SQLite on a file (WAL, synchronous NORMAL), in memory
 * with commit batches of 4 (so concurrency tests cross batch boundaries), and with its connection in
 * a writer thread (arguments and results structured-cloned; the production default). New objects per
 * call: a backend keeps its per-file state (a directory, a database name) in its closure.
 */
export function storeBackends(): StoreBackend[] {
  return [
    sqliteFileBackend('sqlite file (NORMAL)', { synchronous: 'NORMAL', nodeId: 3, commitMaxBatch: 512, commitMaxDelayMs: 0 }, false),
    {
      name: 'sqlite :memory: (batches of 4)',
      open: async ({ inlineFanoutMax }) => {
        const store = new SqliteStore({ file: ':memory:', synchronous: 'NORMAL', nodeId: 2, commitMaxBatch: 4, commitMaxDelayMs: 0, inlineFanoutMax });
        return { store, cleanup: () => store.close() };
      },
    },
    sqliteFileBackend('sqlite in a writer thread', { synchronous: 'NORMAL', nodeId: 0, commitMaxBatch: 64, commitMaxDelayMs: 0 }, true),
    postgresBackend(),
  ];
}

/** The PostgreSQL the store suites use: SWITCHBOARD_TEST_PG_URL, else the local one (CI and this machine). */
export function testPgUrl(env: Record<string, string | undefined> = process.env): string {
  return env['SWITCHBOARD_TEST_PG_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
}

/** A fresh schema name (tests and end-to-end servers sharing one database never meet). */
export function testSchema(): string {
  return `sbt_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
}

/** Run statements on the test database outside any store (create and drop schemas). */
export async function pgAdmin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Drop a test schema and everything in it; tolerates one that is gone. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  await pgAdmin(url, (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
}

/**
 * PostgreSQL (the one at testPgUrl(); it must be running — the suites fail, never skip, without it):
 * one schema per test file, migrated by the first store; every later test starts from emptied tables
 * (DELETE from each, identity sequences and meta counters back to their start, in one round trip on a
 * client kept for the file): about 3 ms, where TRUNCATE of every table took about 100 ms and a new
 * schema longer still. Commit batches of 8, so concurrency tests cross batch boundaries.
 */
export function postgresBackend(): StoreBackend {
  let schema: string | undefined;
  let admin: pg.Client | undefined;
  /** The statements that empty the file's schema (known once the first store has migrated it). */
  let reset: string | undefined;
  return {
    name: 'postgresql',
    sharedByNodes: true,
    setup: async () => {
      schema = testSchema();
      reset = undefined;
      admin = new pg.Client({ connectionString: testPgUrl(), connectionTimeoutMillis: 5000 });
      await admin.connect();
    },
    teardown: async () => {
      const c = admin;
      admin = undefined;
      if (c && schema) await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c?.end();
      schema = undefined;
    },
    open: async ({ inlineFanoutMax }) => {
      if (!schema || !admin) throw new Error('postgresql: setup() has not run');
      const url = testPgUrl();
      if (reset) await admin.query(reset);
      const store = await PgStore.open({ url, schema, nodeId: 1, commitMaxBatch: 8, inlineFanoutMax, poolSize: 4 });
      reset ??= await emptyingStatements(admin, schema);
      const siblings: PgStore[] = [];
      return {
        store,
        openSibling: async () => {
          const sibling = await PgStore.open({ url, schema: schema!, nodeId: 2, commitMaxBatch: 8, inlineFanoutMax, poolSize: 4 });
          siblings.push(sibling);
          return sibling;
        },
        cleanup: async () => {
          for (const sibling of siblings) await sibling.close();
          await store.close();
        },
      };
    },
  };
}

/**
 * One multi-statement string that empties every table of a migrated schema but its migration record,
 * restarts its identity sequences and sets its counters in meta back to 0. No table has a foreign key,
 * so the order of the DELETEs does not matter.
 */
async function emptyingStatements(c: pg.Client, schema: string): Promise<string> {
  const tables = (
    await c.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename NOT IN ('schema_migrations', 'meta')`, [schema])
  ).rows.map((r) => `DELETE FROM ${schema}.${r.tablename}`);
  const sequences = (
    await c.query<{ sequencename: string }>(`SELECT sequencename FROM pg_sequences WHERE schemaname = $1`, [schema])
  ).rows.map((r) => `ALTER SEQUENCE ${schema}.${r.sequencename} RESTART`);
  return [...tables, ...sequences, `UPDATE ${schema}.meta SET value = 0`].join(';\n');
}

/** The Redis the bus suites use: SWITCHBOARD_TEST_REDIS_URL, else the local one (CI and this machine). */
export function testRedisUrl(env: Record<string, string | undefined> = process.env): string {
  return env['SWITCHBOARD_TEST_REDIS_URL'] || 'redis://127.0.0.1:6379';
}

/** A key prefix of its own per test (and per end-to-end server), so runs sharing one Redis never meet. */
export function testPrefix(): string {
  return `sbtest:${randomUUID()}:`;
}

/** Delete every key under `prefix` (presence entries); tolerates a Redis that is gone. */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== '0');
    await r.quit();
  } catch {
    r.disconnect();
  }
}

/** A Redis bus on its own prefix (heartbeats every 200 ms, so gap tests are quick). */
export async function openRedisBus(url: string, prefix: string, opts: { heartbeatMs?: number; onError?: (err: unknown, what: string) => void } = {}): Promise<RedisBus> {
  return RedisBus.connect({ url, prefix, heartbeatMs: opts.heartbeatMs ?? 200, connectTimeoutMs: 5000, onError: opts.onError });
}

/**
 * Every bus the bus contract runs against: in process, and Redis (the Redis at testRedisUrl(); it must
 * be running — the suite fails, never skips, without it), each test on a fresh key prefix.
 */
export function busBackends(): BusBackend[] {
  return [
    {
      name: 'memory',
      open: async () => {
        const bus = new MemoryBus();
        return { bus, cleanup: () => bus.close() };
      },
    },
    {
      name: 'redis',
      open: async () => {
        const url = testRedisUrl();
        const prefix = testPrefix();
        const bus = await openRedisBus(url, prefix);
        return {
          bus,
          cleanup: async () => {
            await bus.close();
            await dropPrefix(url, prefix);
          },
        };
      },
    },
  ];
}

/** Scope `suite` to one backend: its setup before the suite's first test, its teardown after the last. */
function withBackend<B extends { name: string; setup?(): Promise<void>; teardown?(): Promise<void> }>(backend: B, suite: (b: B) => void): void {
  describe(`on ${backend.name}`, () => {
    if (backend.setup) beforeAll(() => backend.setup!());
    if (backend.teardown) afterAll(() => backend.teardown!());
    suite(backend);
  });
}

/** Run `suite(name, open)` once per store backend (call it at a test file's top level). */
export function eachStoreBackend(suite: (name: string, open: StoreBackend['open'], caps: StoreCaps) => void): void {
  for (const b of storeBackends()) withBackend(b, () => suite(b.name, (opts) => b.open(opts), { sharedByNodes: b.sharedByNodes === true }));
}

/** What a store backend can do beyond the contract every backend meets. */
export interface StoreCaps {
  /** Several nodes share it (its opened stores have `openSibling`): the suites' multi-node tests run on it. */
  sharedByNodes: boolean;
}

/** Run `suite(name, open)` once per bus backend. */
export function eachBusBackend(suite: (name: string, open: BusBackend['open']) => void): void {
  for (const b of busBackends()) withBackend(b, () => suite(b.name, () => b.open()));
}

// ------------------------------------------------------------------------------ end-to-end servers

export const STORE_URL_ENV = 'SWITCHBOARD_TEST_STORE_URL';
export const BUS_URL_ENV = 'SWITCHBOARD_TEST_BUS_URL';

/** What one server and its restarts run on: provisioned once, disposed when the test is done with it. */
export interface ProvisionedBackend {
  /** Configuration merged under the test's own overrides for an in-process server. */
  config: Record<string, unknown>;
  /** Environment for a `switchboard serve` child process on the same data. */
  env: Record<string, string>;
  /** Frees what was provisioned (a database, a key prefix); the data directory is the caller's. */
  dispose(): Promise<void>;
}

/** One half (store or bus) of an end-to-end backend, chosen by a URL's scheme. */
interface ServerPart {
  readonly name: string;
  provision(dataDir: string): Promise<ProvisionedBackend>;
}

const NOTHING = async (): Promise<void> => undefined;

/**
 * End-to-end store backends by URL scheme. `sqlite:` (the default): the database in the server's
 * data directory, connection in its writer thread; `sqlite:inline`: the connection on the event loop.
 * synchronous=NORMAL in process, for speed; child processes keep the durability their test chooses.
 */
/** `postgres:` / `postgresql:`: that database, on a fresh schema per server (dropped at dispose). */
function postgresServerStore(url: URL): ServerPart {
  return {
    name: 'postgresql',
    provision: async (): Promise<ProvisionedBackend> => {
      const schema = testSchema();
      return {
        config: { store: { url: url.toString(), schema } },
        env: { SWITCHBOARD_STORE_URL: url.toString(), SWITCHBOARD_STORE_SCHEMA: schema },
        dispose: () => dropSchema(url.toString(), schema),
      };
    },
  };
}

const SERVER_STORES: Record<string, (url: URL) => ServerPart> = {
  'postgres:': postgresServerStore,
  'postgresql:': postgresServerStore,
  'sqlite:': (url) => {
    const inline = url.pathname === 'inline';
    if (url.pathname !== '' && !inline) throw new Error(`${STORE_URL_ENV}: sqlite: takes no path but "inline"`);
    return {
      name: inline ? 'sqlite (inline)' : 'sqlite',
      provision: async (): Promise<ProvisionedBackend> => ({
        config: { store: { synchronous: 'NORMAL', ...(inline ? { writerThread: false } : {}) } },
        env: inline ? { SWITCHBOARD_STORE_THREAD: 'false' } : {},
        dispose: NOTHING,
      }),
    };
  },
};

/**
 * End-to-end bus backends by URL scheme. `memory:` (the default): the in-process bus. `redis:` /
 * `rediss:`: the Redis bus at that URL, on a fresh key prefix per server (its keys dropped at dispose).
 */
function redisServerBus(url: URL): ServerPart {
  return {
    name: 'redis bus',
    provision: async (): Promise<ProvisionedBackend> => {
      const prefix = testPrefix();
      return {
        config: { bus: { url: url.toString(), prefix, heartbeatMs: 200 } },
        env: { SWITCHBOARD_BUS_URL: url.toString(), SWITCHBOARD_BUS_PREFIX: prefix, SWITCHBOARD_BUS_HEARTBEAT_MS: '200' },
        dispose: () => dropPrefix(url.toString(), prefix),
      };
    },
  };
}

const SERVER_BUSES: Record<string, (url: URL) => ServerPart> = {
  'memory:': () => ({ name: 'memory bus', provision: async () => ({ config: {}, env: {}, dispose: NOTHING }) }),
  'redis:': redisServerBus,
  'rediss:': redisServerBus,
};

function part(table: Record<string, (url: URL) => ServerPart>, variable: string, value: string | undefined, fallback: string): ServerPart {
  const raw = value === undefined || value === '' ? fallback : value;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${variable} is not a URL (known schemes: ${Object.keys(table).join(', ')})`);
  }
  const make = table[url.protocol];
  // The URL itself may hold a password: only its scheme is named.
  if (!make) throw new Error(`${variable}: no end-to-end backend for "${url.protocol}" (known: ${Object.keys(table).join(', ')}); add one in test/helpers/backends.ts`);
  return make(url);
}

export interface ServerBackend {
  /** e.g. "sqlite + memory bus". */
  readonly name: string;
  provision(dataDir: string): Promise<ProvisionedBackend>;
}

/** The end-to-end backend named by the environment (SWITCHBOARD_TEST_STORE_URL, SWITCHBOARD_TEST_BUS_URL). */
export function serverBackend(env: Record<string, string | undefined> = process.env): ServerBackend {
  const store = part(SERVER_STORES, STORE_URL_ENV, env[STORE_URL_ENV], 'sqlite:');
  const bus = part(SERVER_BUSES, BUS_URL_ENV, env[BUS_URL_ENV], 'memory:');
  return {
    name: `${store.name} + ${bus.name}`,
    provision: async (dataDir) => {
      const s = await store.provision(dataDir);
      let b: ProvisionedBackend;
      try {
        b = await bus.provision(dataDir);
      } catch (err) {
        await s.dispose();
        throw err;
      }
      return {
        config: mergeConfig(s.config, b.config),
        env: { ...s.env, ...b.env },
        dispose: async () => {
          await b.dispose();
          await s.dispose();
        },
      };
    },
  };
}

/** Deep merge of plain-object configuration (arrays and scalars of `b` replace those of `a`). */
export function mergeConfig(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)
        ? mergeConfig(cur as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
