/**
 * Shared by the in-process benches (bench/send/ab-cpu.ts, bench/channel/cpu-per-message.ts): a bounded
 * task pool, and a server of any build (its dist/ directory) started in this process on a fresh SQLite
 * data directory, seen through the few hub use cases the benches call.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Run `n` tasks with at most `c` at once. */
export async function pool(n: number, c: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(c, n) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

export interface Conv {
  type: number;
  target: string;
  line: number;
}

/** The hub use cases the benches call (the shape every build since the wave's start has). */
export interface HubLike {
  users: { create(userId: string, input: { name: string }): Promise<unknown> };
  groups: { create(operator: string, groupId: string, info: { name: string; owner: string }, members: Array<{ memberId: string }>, notify: { lines: number[] }): Promise<unknown> };
  messages: { send(input: { sender: string; conv: Conv; payload: Record<string, unknown> }): Promise<unknown> };
  channelApps: {
    create(kind: string, input: Record<string, unknown>): Promise<unknown>;
    receive002(m: Record<string, unknown>): Promise<unknown>;
  };
}

export interface InProcessServer {
  hub: HubLike;
  /** A module of the same build, e.g. `core/payload.js`. */
  load<T>(rel: string): Promise<T>;
  /** Stop the server and remove its data directory. */
  close(): Promise<void>;
}

/**
 * Start the build in `dist` (FULL, its store thread, logs silent) on a fresh data directory; with
 * `overrides`, those config values too (e.g. `store`/`bus` for PostgreSQL + Redis, bench/pg-cluster.ts).
 */
export async function startInProcess(dist: string, label: string, overrides: Record<string, unknown> = {}): Promise<InProcessServer> {
  const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(path.join(dist, rel)).href)) as T;
  const { loadConfig } = await load<{ loadConfig(s: { overrides: Record<string, unknown> }): unknown }>('config/load.js');
  const { startServer } = await load<{ startServer(c: unknown, o: object): Promise<{ hub: HubLike; close(): Promise<void> }> }>('main.js');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `sb-${label}-`));
  const sb = await startServer(loadConfig({ overrides: { host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', admin: { secret: 'bench-secret' }, ...overrides } }), {});
  return {
    hub: sb.hub,
    load,
    close: async () => {
      await sb.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
