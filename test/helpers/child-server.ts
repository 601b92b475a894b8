import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { AdminClient } from './admin-client.js';
import { serverBackend, type ProvisionedBackend } from './backends.js';
import { removeDir, tempDir } from './temp.js';

export const CLI = path.resolve(__dirname, '../../dist/cli.js');

export interface ChildServer {
  proc: ChildProcess;
  url: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Start `node dist/cli.js serve ...args` and resolve once it prints "listening on http://HOST:PORT".
 * Rejects with the output if the process exits first.
 */
const live = new Set<ChildProcess>();

/** Kill every child still running (call from afterAll/afterEach so a failed test leaves nothing behind). */
export function killChildren(): void {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  live.clear();
}

export function startChild(args: string[], env: Record<string, string> = {}): Promise<ChildServer> {
  const proc = spawn(process.execPath, [CLI, 'serve', ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  proc.on('exit', () => live.delete(proc));
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        proc.stdout?.off('data', onData);
        proc.stdout?.on('data', (x: Buffer) => (out += x.toString()));
        resolve({ proc, url: m[1]!, output: () => out, exited });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then((e) => reject(new Error(`server exited (${e.code ?? e.signal}) before listening:\n${out}`)));
  });
}

/** Run the CLI to completion. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => proc.on('exit', (code) => resolve({ code, stdout, stderr })));
}

// ------------------------------------------------------------------------------ fixture

export interface ChildServerOptions {
  /** The admin secret (SWITCHBOARD_ADMIN_SECRET). */
  secret: string;
  /** Written to <dataDir>/config.json and passed with --config. */
  config?: Record<string, unknown>;
  /** More `serve` arguments (e.g. ['--synchronous', 'NORMAL']). */
  args?: string[];
  /** More environment (over the backend's). */
  env?: Record<string, string>;
  /** 'beforeAll' (default): started before the first test; 'manual': only by `start()` (crash tests). */
  startIn?: 'beforeAll' | 'manual';
}

/** The process in force (the last `start()`) with its admin client, data directory and backend. */
export interface ChildHandle extends ChildServer {
  readonly child: ChildServer;
  /** The separate admin port's URL, when the configuration opens one. */
  readonly adminUrl: string | undefined;
  /** An admin client of the process in force. */
  readonly admin: AdminClient;
  readonly dataDir: string;
  /**
   * Start `switchboard serve` on the fixture's data directory (and backend): on a fresh port, or on
   * the port of the previous process (`port: 'same'`, after it ended). A previous process still
   * running is the test's to end first.
   */
  start(opts?: { port?: 'same' | 'any' }): Promise<ChildServer>;
}

/**
 * A `switchboard serve` child process as a fixture (call inside a `describe`): a data directory and
 * provisioned backend from beforeAll on, the process started in beforeAll unless `startIn: 'manual'`,
 * and in afterAll every process it started killed (SIGKILL if still running), the backend disposed,
 * the directory removed. For tests that need their own process: kill -9, exit codes, output, two
 * event loops. Options may be a function, called in beforeAll (a receiver's URL known by then).
 */
export function useChildServer(options: ChildServerOptions | (() => ChildServerOptions)): ChildHandle {
  let state: { opts: ChildServerOptions; dataDir: string; backend: ProvisionedBackend } | undefined;
  let current: { child: ChildServer; admin: AdminClient } | undefined;
  const mine = new Set<ChildServer>();
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`useChildServer: ${what}`);
    return v;
  };
  const start = async (o: { port?: 'same' | 'any' } = {}): Promise<ChildServer> => {
    const s = need(state, 'the data directory is made in beforeAll; start() in a hook or test');
    const port = o.port === 'same' ? new URL(need(current, 'no previous process to take the port of').child.url).port : '0';
    const args = ['--port', port, '--host', '127.0.0.1', '--data', s.dataDir];
    if (s.opts.config) {
      const file = path.join(s.dataDir, 'config.json');
      fs.writeFileSync(file, JSON.stringify(s.opts.config));
      args.push('--config', file);
    }
    const child = await startChild([...args, ...(s.opts.args ?? [])], { SWITCHBOARD_ADMIN_SECRET: s.opts.secret, ...s.backend.env, ...(s.opts.env ?? {}) });
    mine.add(child);
    current = { child, admin: new AdminClient(child.url, s.opts.secret) };
    return child;
  };
  beforeAll(async () => {
    const opts = typeof options === 'function' ? options() : options;
    const dataDir = tempDir('sb-child-');
    try {
      state = { opts, dataDir, backend: await serverBackend().provision(dataDir) };
    } catch (err) {
      removeDir(dataDir);
      throw err;
    }
    if ((opts.startIn ?? 'beforeAll') === 'beforeAll') await start();
  });
  afterAll(async () => {
    const all = [...mine];
    mine.clear();
    for (const c of all) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await Promise.all(all.map((c) => c.exited));
    current = undefined;
    const s = state;
    state = undefined;
    if (s) {
      await s.backend.dispose();
      removeDir(s.dataDir);
    }
  });
  const running = () => need(current, 'no process started yet');
  return {
    get child() {
      return running().child;
    },
    get proc() {
      return running().child.proc;
    },
    get url() {
      return running().child.url;
    },
    output: () => running().child.output(),
    get exited() {
      return running().child.exited;
    },
    get adminUrl() {
      return /admin API also on (http:\/\/[^/\s]+)/.exec(running().child.output())?.[1];
    },
    get admin() {
      return running().admin;
    },
    get dataDir() {
      return need(state, 'the data directory is made in beforeAll').dataDir;
    },
    start,
  };
}
