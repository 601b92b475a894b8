/**
 * A cluster of `switchboard serve` processes for the failure suites (issue 13, item 6): N nodes (three
 * by default) started with ONE configuration — the same SWITCHBOARD_STORE_URL / SCHEMA (a fresh schema
 * of the test PostgreSQL), the same SWITCHBOARD_BUS_URL / PREFIX (a fresh prefix of the test Redis), the
 * same admin secret, no node id — each on port 0 with a data directory of its own; and a TCP load
 * balancer in front of them (helpers/tcp-balancer.ts), through which clients that must survive a node
 * (SDK devices with reconnect on, admin load) connect.
 *
 * As a fixture (`useCluster`, inside a `describe`): provisioned and started in beforeAll (the nodes
 * at once, so they race for migrations and node id leases as a real roll-out does), and in afterAll
 * every process killed, the schema dropped, the prefix deleted, the directories removed. A test may
 * kill a node (`kill()`: SIGKILL) and start it again (`start()`: same port, same data directory).
 *
 * Needs the PostgreSQL at SWITCHBOARD_TEST_PG_URL and the Redis at SWITCHBOARD_TEST_REDIS_URL (the
 * suites fail, never skip, without them), and dist/ built (`npm run build`).
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { AdminClient, rawRequest } from '../helpers/admin-client.js';
import { dropPrefix, dropSchema, testPgUrl, testPrefix, testRedisUrl, testSchema } from '../helpers/backends.js';
import { startChild, type ChildServer } from '../helpers/child-server.js';
import { startBalancer, type TcpBalancer } from '../helpers/tcp-balancer.js';
import { removeDir, tempDir } from '../helpers/temp.js';
import { closeAllClients } from '../helpers/ws-client.js';

export const CLUSTER_SECRET = 'cluster-secret';

export interface ClusterOptions {
  /** How many nodes (default 3). */
  nodes?: number;
  /** Environment for every node, over the cluster's own (callback target, outbox timings, …). */
  env?: Record<string, string>;
  /** The PostgreSQL URL the nodes connect to (default testPgUrl(); e.g. a proxy in front of it). */
  storeUrl?: string;
  /** The Redis URL the nodes use (default testRedisUrl(); e.g. a private redis-server). */
  busUrl?: string;
}

export interface ClusterNode {
  readonly index: number;
  /** The process in force (the last start). */
  readonly child: ChildServer;
  readonly url: string;
  readonly port: number;
  /** An admin client of this node only. */
  readonly admin: AdminClient;
  readonly dataDir: string;
  /** True from a start until the process ends. */
  readonly alive: boolean;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
  /** Start the node again on its port and data directory (after `kill`). */
  start(): Promise<void>;
  /** `node` of /admin/health: the leased node id + 1. */
  health(): Promise<string>;
}

export interface Cluster {
  readonly nodes: ClusterNode[];
  /** The load balancer in front of every node. */
  readonly lb: TcpBalancer;
  /** An admin client through the load balancer (each request to the next live node). */
  readonly admin: AdminClient;
  readonly schema: string;
  readonly prefix: string;
  /** Environment of a node process (for one started by the test itself). */
  env(): Record<string, string>;
}

interface State {
  opts: ClusterOptions;
  schema: string;
  prefix: string;
  nodes: Array<{ dataDir: string; port: number; child: ChildServer | undefined; admin: AdminClient | undefined }>;
  lb: TcpBalancer;
}

function nodeEnv(s: State): Record<string, string> {
  return {
    SWITCHBOARD_ADMIN_SECRET: CLUSTER_SECRET,
    SWITCHBOARD_STORE_URL: s.opts.storeUrl ?? testPgUrl(),
    SWITCHBOARD_STORE_SCHEMA: s.schema,
    SWITCHBOARD_BUS_URL: s.opts.busUrl ?? testRedisUrl(),
    SWITCHBOARD_BUS_PREFIX: s.prefix,
    // Quick gap detection and presence expiry, so failure tests take seconds, not minutes.
    SWITCHBOARD_BUS_HEARTBEAT_MS: '200',
    SWITCHBOARD_BUS_PRESENCE_TTL_MS: '1500',
    SWITCHBOARD_BUS_CONNECT_TIMEOUT_MS: '5000',
    ...(s.opts.env ?? {}),
  };
}

export function useCluster(options: ClusterOptions | (() => ClusterOptions) = {}): Cluster {
  let state: State | undefined;
  const need = (): State => {
    if (!state) throw new Error('useCluster: the cluster starts in beforeAll');
    return state;
  };

  const startNode = async (i: number): Promise<void> => {
    const s = need();
    const n = s.nodes[i]!;
    const child = await startChild(['--port', String(n.port), '--host', '127.0.0.1', '--data', n.dataDir], nodeEnv(s));
    n.child = child;
    n.port = Number(new URL(child.url).port);
    n.admin = new AdminClient(child.url, CLUSTER_SECRET);
  };

  beforeAll(async () => {
    const opts = typeof options === 'function' ? options() : options;
    const count = opts.nodes ?? 3;
    const nodes = Array.from({ length: count }, () => ({ dataDir: tempDir('sb-cluster-'), port: 0, child: undefined, admin: undefined }));
    const lb = await startBalancer(() => nodes.map((n) => n.port).filter((p) => p > 0));
    state = { opts, schema: testSchema(), prefix: testPrefix(), nodes, lb };
    await Promise.all(nodes.map((_, i) => startNode(i)));
  }, 120_000);

  // Devices (raw and SDK) a test opened are closed after it, before any node goes away.
  afterEach(() => closeAllClients());

  afterAll(async () => {
    const s = state;
    state = undefined;
    if (!s) return;
    for (const n of s.nodes) {
      const c = n.child;
      if (c && c.proc.exitCode === null && c.proc.signalCode === null) {
        c.proc.kill('SIGKILL');
        await c.exited;
      }
    }
    await s.lb.close();
    await dropSchema(testPgUrl(), s.schema);
    await dropPrefix(s.opts.busUrl ?? testRedisUrl(), s.prefix);
    for (const n of s.nodes) removeDir(n.dataDir);
  }, 60_000);

  const handle = (i: number): ClusterNode => {
    const n = (): State['nodes'][number] => need().nodes[i]!;
    const child = (): ChildServer => {
      const c = n().child;
      if (!c) throw new Error(`node ${i} has not started`);
      return c;
    };
    return {
      index: i,
      get child() {
        return child();
      },
      get url() {
        return child().url;
      },
      get port() {
        return n().port;
      },
      get admin() {
        child();
        return n().admin!;
      },
      get dataDir() {
        return n().dataDir;
      },
      get alive() {
        const c = n().child;
        return !!c && c.proc.exitCode === null && c.proc.signalCode === null;
      },
      kill: async () => {
        const c = child();
        if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
        await c.exited;
      },
      start: () => startNode(i),
      health: async () => {
        const r = await rawRequest(child().url, { method: 'GET', path: '/admin/health' });
        const body = JSON.parse(r.raw) as { result: Array<{ node: string }> };
        return body.result[0]!.node;
      },
    };
  };

  let nodes: ClusterNode[] | undefined;
  return {
    get nodes() {
      return (nodes ??= need().nodes.map((_, i) => handle(i)));
    },
    get lb() {
      return need().lb;
    },
    get admin() {
      return new AdminClient(need().lb.url, CLUSTER_SECRET);
    },
    get schema() {
      return need().schema;
    },
    get prefix() {
      return need().prefix;
    },
    env: () => nodeEnv(need()),
  };
}
