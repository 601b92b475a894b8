/**
 * bench/notify — one notification to USERS users with CONNECTED of them on the live inbox socket:
 * time from the send request until every inbox row is committed (the fan-out's last batch), until every
 * connected socket has the push, the send request's own latency, and the event-loop lag p99 of the
 * server meanwhile. Same-run baseline: a bare USERS-row insert into SQLite (same row shape as the inbox,
 * synchronous FULL) in one transaction.
 *
 *   npm run bench:notify
 *   env: USERS=100000 CONNECTED=10000 PROCS=4 RATE=2000 ROUNDS=1 BATCH=(notifications.fanoutBatch) TRACE=1 (log loop stalls)
 *
 * The server runs in this process (its event loop is the one measured: nothing else runs on it during
 * the send); the clients run in PROCS child processes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { loadConfig } from '../../src/config/load.js';
import { startServer } from '../../src/main.js';

const USERS = Number(process.env['USERS'] ?? 100_000);
const CONNECTED = Math.min(USERS, Number(process.env['CONNECTED'] ?? 10_000));
const PROCS = Number(process.env['PROCS'] ?? 4);
const RATE = Number(process.env['RATE'] ?? 2000);
const ROUNDS = Number(process.env['ROUNDS'] ?? 1);
const BATCH = process.env['BATCH'];

function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** The baseline: USERS rows of the inbox's shape, one transaction, synchronous FULL, fresh file. */
function bareInsert(dir: string, ids: string[]): number {
  const db = new Database(path.join(dir, `bare-${Date.now()}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE inbox(user_id TEXT NOT NULL, seq INTEGER NOT NULL, state INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(user_id, seq)) WITHOUT ROWID');
  const ins = db.prepare('INSERT INTO inbox(user_id, seq, state) VALUES (?, 1, 0)');
  const t0 = performance.now();
  db.transaction(() => {
    for (const u of ids) ins.run(u);
  })();
  const ms = performance.now() - t0;
  db.close();
  return ms;
}

function onMessage<T>(c: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    const h = (m: { type: string }): void => {
      if (m.type === type) {
        c.off('message', h);
        resolve(m as T);
      }
    };
    c.on('message', h);
  });
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-bench-notify-'));
  const config = loadConfig({
    env: {
      SWITCHBOARD_HOST: '127.0.0.1',
      SWITCHBOARD_PORT: '0',
      SWITCHBOARD_DATA_DIR: dir,
      SWITCHBOARD_LOG_LEVEL: 'warn',
      SWITCHBOARD_ADMIN_SECRET: 'bench-notify',
      ...(BATCH ? { SWITCHBOARD_NOTIFY_FANOUT_BATCH: BATCH } : {}),
    },
  });
  const server = await startServer(config);
  const hub = server.hub;
  const children: ChildProcess[] = [];
  try {
    log(`creating ${USERS} users`);
    const ids = Array.from({ length: USERS }, (_, i) => `u${String(i).padStart(7, '0')}`);
    for (let i = 0; i < ids.length; i += 2000) await Promise.all(ids.slice(i, i + 2000).map((id) => hub.users.create(id, { name: id })));
    await hub.users.create('op', { name: 'op' });
    await hub.users.setRole('op', 'operator');
    const opToken = await hub.users.issueToken('op', 'console', 0);
    log(`issuing ${CONNECTED} tokens, connecting from ${PROCS} processes`);
    const tokens: string[] = [];
    for (let i = 0; i < CONNECTED; i += 2000) tokens.push(...(await Promise.all(ids.slice(i, Math.min(i + 2000, CONNECTED)).map((id) => hub.users.issueToken(id, 'web', 0)))));
    const wsBase = server.url.replace(/^http/, 'ws');
    for (let p = 0; p < PROCS; p++) {
      const c = fork(path.join(import.meta.dirname, 'client.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(c);
    }
    const connected = await Promise.all(
      children.map((c, p) => {
        const mine = tokens.filter((_, i) => i % PROCS === p).map((tk) => `${wsBase}/v1/cms/getMessageRealTime?auth_token=${tk}`);
        const done = onMessage<{ open: number; failed: number }>(c, 'connected');
        c.send({ cmd: 'connect', urls: mine, perSecond: RATE / PROCS });
        return done;
      }),
    );
    const open = connected.reduce((a, c) => a + c.open, 0);
    log(`${open} sockets open (${connected.reduce((a, c) => a + c.failed, 0)} failed)`);

    const results: Array<Record<string, number>> = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const body = JSON.stringify({ title: `bench ${round}`, body: 'one notification to everyone', send_method: 'web', message_type: 'bench', send_to: ids });
      const a0 = performance.now();
      const added = await fetch(`${server.url}/v1/cms/notify/add`, { method: 'POST', headers: { authorization: `Bearer ${opToken}`, 'content-type': 'application/json' }, body });
      const id = ((await added.json()) as { id: string }).id;
      const addMs = performance.now() - a0;
      const arrived = Promise.all(
        children.map((c) => {
          const p = onMessage<{ n: number; first: number; last: number }>(c, 'arrived');
          c.send({ cmd: 'wait', id });
          return p;
        }),
      );
      const lag = monitorEventLoopDelay({ resolution: 10 });
      lag.enable();
      const elu0 = performance.eventLoopUtilization();
      const cpu0 = process.cpuUsage();
      const t0 = Date.now();
      const p0 = performance.now();
      // TRACE=1: log every stall of the event loop over 25 ms (when, after the send started; how long).
      const gaps: Array<[number, number]> = [];
      let last = p0;
      const tracer = process.env['TRACE']
        ? setInterval(() => {
            const n = performance.now();
            if (n - last > 25) gaps.push([Math.round(last - p0), Math.round(n - last)]);
            last = n;
          }, 5)
        : undefined;
      const sent = await fetch(`${server.url}/v1/cms/notify/${id}/send`, { headers: { authorization: `Bearer ${opToken}` } });
      await sent.text();
      const sendMs = performance.now() - p0;
      await hub.notifications.idle();
      const rowsMs = performance.now() - p0;
      const got = await arrived;
      const pushMs = Math.max(...got.map((g) => g.last)) - t0;
      lag.disable();
      // The main thread's busy share of the window (event-loop utilisation), and the process's CPU
      // time (every thread: the store's writer included) over it.
      const elu = performance.eventLoopUtilization(elu0).utilization;
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      if (tracer) {
        clearInterval(tracer);
        log(`gaps over 25 ms (start after send, length): ${JSON.stringify(gaps)}`);
      }
      const rows = (await hub.notifications.get(id)).fanoutDone;
      const bareMs = bareInsert(dir, ids);
      results.push({ round, addMs, sendMs, rowsMs, pushMs, lagP99: lag.percentile(99) / 1e6, lagMax: lag.max / 1e6, elu, cpuMs, bareMs, pushed: got.reduce((a, g) => a + g.n, 0), done: rows ? 1 : 0 });
      log(
        `round ${round}: add ${addMs.toFixed(0)} ms, send answered ${sendMs.toFixed(1)} ms, rows committed ${rowsMs.toFixed(0)} ms, ` +
          `all ${got.reduce((a, g) => a + g.n, 0)} pushed ${pushMs} ms, lag p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms (max ${(lag.max / 1e6).toFixed(1)}), ` +
          `main-thread utilisation ${(elu * 100).toFixed(0)}%, process CPU ${cpuMs.toFixed(0)} ms, ` +
          `bare insert ${bareMs.toFixed(0)} ms → rows/bare ${(rowsMs / bareMs).toFixed(2)}×`,
      );
    }
    process.stdout.write(`${JSON.stringify({ users: USERS, connected: open, results }, null, 1)}\n`);
  } finally {
    for (const c of children) c.send({ cmd: 'close' });
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
