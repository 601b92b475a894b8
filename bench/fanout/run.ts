/**
 * bench/fanout — N WebSocket clients connected to Switchboard, in PROCS client processes spread over
 * 127.0.0.x source addresses and connecting at a bounded rate; then (a) broadcasts reaching all N,
 * (b) messages to a GROUP-member group, (c) many 1:1 messages. Reports delivery latency p50/p99/max
 * (send start → frame received), server memory per connection ((RSS with N − RSS with none) / N, both
 * after a full GC) and server CPU time per 1 000 deliveries. In the same run, the same clients connect
 * to a bare `ws` server that writes the same bytes to every connection: the ceiling.
 *
 *   npm run bench:fanout
 *   env: CONNECTIONS=10000 PROCS=4 RATE=2000 GROUP=1000 BROADCASTS=5 GROUP_MSGS=10 DIRECT=2000
 *        BUSES=memory,redis REDIS_URL=redis://127.0.0.1:6379
 *
 * BUSES: the Switchboard runs, one per bus, in the same run — `memory` (the in-process bus) and
 * `redis` (SWITCHBOARD_BUS_URL=REDIS_URL, a fresh key prefix): one node, so the Redis figures show
 * what the bus itself costs (a publish per event, its echo skipped unparsed). `pg`: one node on
 * PostgreSQL + Redis (bench/pg-cluster.ts: fresh schema and key prefix, dropped afterwards); `pg2`: two
 * such nodes forming one cluster, the clients' connections alternating between them and every send
 * made through the first (so half the deliveries cross Redis); memory and CPU are the two nodes' sums.
 *
 * The descriptor limit: every process is started under `ulimit -n <hard limit>`; the server needs one
 * descriptor per connection plus ~60, so CONNECTIONS is capped below the hard limit (reported).
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AdminClient } from '../../test/helpers/admin-client.js';
import { pgClusterStorage, type PgClusterStorage } from '../pg-cluster.js';
import { startListening, stopProcess } from '../lib/process.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SECRET = 'fanout-secret';
const PROCS = Number(process.env['PROCS'] ?? 4);
const RATE = Number(process.env['RATE'] ?? 2000);
const GROUP = Number(process.env['GROUP'] ?? 1000);
const BROADCASTS = Number(process.env['BROADCASTS'] ?? 5);
const GROUP_MSGS = Number(process.env['GROUP_MSGS'] ?? 10);
const DIRECT = Number(process.env['DIRECT'] ?? 2000);
const HZ = 100;
const BUSES = (process.env['BUSES'] ?? 'memory,redis').split(',').map((b) => b.trim()).filter((b) => b !== '');
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function hardLimit(): number {
  return Number(execFileSync('bash', ['-c', 'ulimit -Hn']).toString().trim());
}

/** Start a node script under `ulimit -n <hard>`; resolves with its URL once it prints "listening on". */
function startServer(args: string[], env: Record<string, string>): Promise<{ proc: ChildProcess; url: string }> {
  const cmd = `ulimit -n $(ulimit -Hn) && exec ${[process.execPath, '--expose-gc', '--require', path.join(ROOT, 'bench/fanout/gc-hook.cjs'), ...args].map((a) => `'${a}'`).join(' ')}`;
  return startListening('bash', ['-c', cmd], env);
}

function procTicks(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** RSS after a full GC (the server runs with gc-hook.cjs) and a moment to settle. */
async function rssAfterGc(pid: number): Promise<number> {
  process.kill(pid, 'SIGUSR2');
  await new Promise((r) => setTimeout(r, 1500));
  process.kill(pid, 'SIGUSR2');
  await new Promise((r) => setTimeout(r, 1500));
  return rssKb(pid);
}

interface Client {
  proc: ChildProcess;
  ask<T>(msg: object, evt: string): Promise<T>;
}

function startClients(n: number): Promise<Client[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const proc = fork(path.join(ROOT, 'bench/fanout/client.ts'), [], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const waiting: Array<{ evt: string; resolve: (v: unknown) => void }> = [];
      proc.on('message', (m: { evt: string }) => {
        const i = waiting.findIndex((w) => w.evt === m.evt);
        if (i >= 0) waiting.splice(i, 1)[0]!.resolve(m);
      });
      const ask = <T>(msg: object, evt: string): Promise<T> =>
        new Promise((resolve) => {
          waiting.push({ evt, resolve: resolve as (v: unknown) => void });
          if (Object.keys(msg).length > 0) proc.send(msg);
        });
      await ask({}, 'ready');
      return { proc, ask };
    }),
  );
}

async function connect(clients: Client[], urls: string[]): Promise<{ open: number; failed: number }> {
  const per = Math.ceil(urls.length / clients.length);
  const results = await Promise.all(
    clients.map((c, i) =>
      c.ask<{ open: number; failed: number }>(
        { cmd: 'connect', urls: urls.slice(i * per, (i + 1) * per), localAddress: `127.0.0.${2 + i}`, perSecond: RATE / clients.length },
        'connected',
      ),
    ),
  );
  return results.reduce((a, r) => ({ open: a.open + r.open, failed: a.failed + r.failed }), { open: 0, failed: 0 });
}

async function latencies(clients: Client[], tag: string): Promise<number[]> {
  const parts = await Promise.all(clients.map((c) => c.ask<{ latencies: number[] }>({ cmd: 'stats', tag }, 'stats')));
  return parts.flatMap((p) => p.latencies);
}

/** Wait until `expected` frames of `tag` arrived (or the timeout passes); returns their latencies. */
async function awaitDeliveries(clients: Client[], tag: string, expected: number, timeoutMs = 60_000): Promise<number[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const l = await latencies(clients, tag);
    if (l.length >= expected || Date.now() > end) return l;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

interface Scenario {
  label: string;
  deliveries: number;
  expected: number;
  p50: number;
  p99: number;
  max: number;
  cpuMsPer1000: number;
}

function scenario(label: string, lat: number[], expected: number, ticks: number): Scenario {
  return {
    label,
    deliveries: lat.length,
    expected,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    max: lat.length ? Math.max(...lat) : NaN,
    cpuMsPer1000: lat.length ? ((ticks * (1000 / HZ)) / lat.length) * 1000 : NaN,
  };
}

async function pool<T>(items: T[], concurrency: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

interface SwitchboardRun {
  bus: string;
  conn: { open: number; failed: number };
  /** /user/online_count: one entry per node of the cluster (Wildfire's shape). */
  online: Array<{ node: number; count: number }>;
  rss0: number;
  rss1: number;
  sbMemPerConn: number;
  sbScenarios: Scenario[];
  tokens: string[];
  sampleFrame: string;
  clients: Client[];
}

/** One Switchboard cluster on `bus`: N users with tokens, N clients connected, the three scenarios. */
async function runSwitchboard(N: number, bus: string): Promise<SwitchboardRun> {
  const storage: PgClusterStorage | undefined = bus === 'pg' || bus === 'pg2' ? pgClusterStorage() : undefined;
  try {
    return await runSwitchboardOn(N, bus, storage);
  } finally {
    await storage?.drop();
  }
}

async function runSwitchboardOn(N: number, bus: string, storage: PgClusterStorage | undefined): Promise<SwitchboardRun> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-fanout-'));
  const busEnv: Record<string, string> =
    storage?.env ?? (bus === 'redis' ? { SWITCHBOARD_BUS_URL: REDIS_URL, SWITCHBOARD_BUS_PREFIX: `bench-fanout:${process.pid}:${Date.now()}:` } : {});
  const servers: Array<{ proc: ChildProcess; url: string }> = [];
  for (let i = 0; i < (bus === 'pg2' ? 2 : 1); i++) {
    // One after another: the first node creates and migrates the PostgreSQL schema.
    const nodeDir = path.join(dataDir, `node${i + 1}`);
    fs.mkdirSync(nodeDir);
    servers.push(
      await startServer([path.join(ROOT, 'dist/cli.js'), 'serve', '--port', '0', '--host', '127.0.0.1', '--data', nodeDir], {
        SWITCHBOARD_ADMIN_SECRET: SECRET,
        LOG_LEVEL: 'warn',
        ...busEnv,
      }),
    );
  }
  const sb = servers[0]!;
  const admin = new AdminClient(sb.url, SECRET);
  const users = Array.from({ length: N }, (_, i) => `u${i + 1}`);
  log(`creating ${N} users and tokens`);
  const tokens: string[] = new Array(N);
  await pool(
    users.map((u, i) => [u, i] as const),
    64,
    async ([u, i]) => {
      await admin.ok('/user/create', { userId: u, name: u });
      tokens[i] = (await admin.ok<{ token: string }>('/user/get_token', { userId: u, clientId: 'bench', platform: 0 })).token;
    },
  );
  const groupSize = Math.min(GROUP, N);
  await admin.ok('/group/create', {
    operator: 'u1',
    group: { group_info: { target_id: 'big', name: 'big', owner: 'u1' }, members: users.slice(1, groupSize).map((m) => ({ member_id: m })) },
  });
  const pids = servers.map((s) => s.proc.pid!);
  const ticks = (): number => pids.reduce((a, p) => a + procTicks(p), 0);
  const rss = async (): Promise<number> => {
    let sum = 0;
    for (const p of pids) sum += await rssAfterGc(p);
    return sum;
  };
  const rss0 = await rss();
  const clients = await startClients(PROCS);
  const wsBases = servers.map((s) => s.url.replace('http://', 'ws://'));
  log(`connecting ${N} clients from ${PROCS} processes at ${RATE}/s to ${servers.length} node(s)`);
  const t0 = Date.now();
  const conn = await connect(clients, tokens.map((t, i) => `${wsBases[i % wsBases.length]!}/ws?token=${t}`));
  log(`connected ${conn.open} (failed ${conn.failed}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const online = await admin.ok<Array<{ node: number; count: number }>>('/user/online_count', {});
  const rss1 = await rss();
  const sbMemPerConn = ((rss1 - rss0) * 1024) / conn.open;
  const sbScenarios: Scenario[] = [];

  // (a) broadcasts to everyone
  let c0 = ticks();
  for (let k = 0; k < BROADCASTS; k++) {
    await admin.ok('/message/broadcast', { sender: 'u1', payload: { type: 1, searchableContent: `b${k}|${Date.now()}`, persistFlag: 1 } });
    await awaitDeliveries(clients, `b${k}`, conn.open);
  }
  let lat: number[] = [];
  for (let k = 0; k < BROADCASTS; k++) lat.push(...(await latencies(clients, `b${k}`)));
  sbScenarios.push(scenario(`broadcast to all (${BROADCASTS}x)`, lat, BROADCASTS * conn.open, ticks() - c0));

  // (b) a group of GROUP members
  c0 = ticks();
  for (let k = 0; k < GROUP_MSGS; k++) {
    await admin.ok('/message/send', { sender: 'u1', conv: { type: 1, target: 'big', line: 0 }, payload: { type: 1, searchableContent: `g${k}|${Date.now()}`, persistFlag: 3 } });
    await awaitDeliveries(clients, `g${k}`, groupSize);
  }
  lat = [];
  for (let k = 0; k < GROUP_MSGS; k++) lat.push(...(await latencies(clients, `g${k}`)));
  sbScenarios.push(scenario(`group of ${groupSize} (${GROUP_MSGS}x)`, lat, GROUP_MSGS * groupSize, ticks() - c0));

  // (c) many 1:1 messages (receiver and sender devices both get each)
  c0 = ticks();
  const pairs = Array.from({ length: DIRECT }, (_, k) => {
    const a = 1 + Math.floor(Math.random() * N);
    let b = 1 + Math.floor(Math.random() * N);
    if (b === a) b = (b % N) + 1;
    return [k, `u${a}`, `u${b}`] as const;
  });
  await pool(pairs, 32, async ([, a, b]) => {
    await admin.ok('/message/send', { sender: a, conv: { type: 0, target: b, line: 0 }, payload: { type: 1, searchableContent: `d|${Date.now()}`, persistFlag: 3 } });
  });
  lat = await awaitDeliveries(clients, 'd', DIRECT * 2);
  sbScenarios.push(scenario(`1:1 messages (${DIRECT}, 32 in flight)`, lat, DIRECT * 2, ticks() - c0));
  const sampleFrame = JSON.stringify({
    type: 'message',
    cursor: 123456,
    message: (await admin.ok<Record<string, unknown>>('/message/get_one', { messageUid: (await admin.ok<{ messageUid: number }>('/message/send', { sender: 'u1', conv: { type: 0, target: 'u2', line: 0 }, payload: { type: 1, searchableContent: 'x|0', persistFlag: 1 } })).messageUid })),
  });
  await Promise.all(clients.map((c) => c.ask({ cmd: 'close' }, 'closed')));
  for (const c of clients) c.proc.kill();
  for (const server of servers) await stopProcess(server.proc);
  fs.rmSync(dataDir, { recursive: true, force: true });
  return { bus, conn, online, rss0, rss1, sbMemPerConn, sbScenarios, tokens, sampleFrame, clients };
}


async function main(): Promise<void> {
  const hard = hardLimit();
  const wanted = Number(process.env['CONNECTIONS'] ?? 10_000);
  const cap = hard - 100;
  const N = Math.min(wanted, cap);
  const notes: string[] = [];
  notes.push(`descriptor hard limit ${hard} per process (raising it needs CAP_SYS_RESOURCE, which this sandbox does not grant): at most ~${cap} connections on one server process`);
  if (N < wanted) notes.push(`CONNECTIONS ${wanted} capped to ${N}`);
  log(notes.join('; '));

  const runs: SwitchboardRun[] = [];
  let tokens: string[] = [];
  let sampleFrame = '';
  for (const bus of BUSES) {
    if (!['memory', 'redis', 'pg', 'pg2'].includes(bus)) throw new Error(`BUSES: unknown bus ${bus} (memory, redis, pg, pg2)`);
    log(`---- switchboard on the ${bus} bus`);
    const r = await runSwitchboard(N, bus);
    runs.push(r);
    tokens = r.tokens;
    sampleFrame = r.sampleFrame;
  }
  const run0 = runs[0]!;
  const conn = run0.conn;

  // ---- bare ws: same clients, same bytes
  const bare = await startServer(['--import', 'tsx', path.join(ROOT, 'bench/fanout/bare-ws.ts')], {});
  const barePid = bare.proc.pid!;
  const bareRss0 = await rssAfterGc(barePid);
  const clients2 = await startClients(PROCS);
  const bareWs = bare.url.replace('http://', 'ws://');
  const conn2 = await connect(clients2, tokens.map(() => `${bareWs}/ws`));
  log(`bare ws: connected ${conn2.open} (failed ${conn2.failed})`);
  const bareRss1 = await rssAfterGc(barePid);
  const c0 = procTicks(barePid);
  for (let k = 0; k < BROADCASTS; k++) {
    const frame = sampleFrame.replace('x|0', `b${k}|${Date.now()}`);
    await fetch(`${bare.url}/send`, { method: 'POST', body: JSON.stringify({ frame }) });
    await awaitDeliveries(clients2, `b${k}`, conn2.open);
  }
  const lat: number[] = [];
  for (let k = 0; k < BROADCASTS; k++) lat.push(...(await latencies(clients2, `b${k}`)));
  const bareBroadcast = scenario(`bare ws: same frame to all (${BROADCASTS}x)`, lat, BROADCASTS * conn2.open, procTicks(barePid) - c0);
  await Promise.all(clients2.map((c) => c.ask({ cmd: 'close' }, 'closed')));
  for (const c of clients2) c.proc.kill();
  await stopProcess(bare.proc);

  const bareMemPerConn = ((bareRss1 - bareRss0) * 1024) / conn2.open;
  const lines = [
    `== bench/fanout | ${conn.open} connections (${PROCS} client processes, 127.0.0.2-${1 + PROCS}, ${RATE}/s) | ${os.cpus().length} cores | node ${process.version} | buses: ${BUSES.join(', ')}`,
    `   ${notes.join('; ')}`,
    // One entry per node: the cluster's count is their sum (pg2: each node holds half the connections).
    ...runs.map(
      (r) =>
        `   online_count reported ${r.online.reduce((a, o) => a + o.count, 0)} (${r.bus} bus${r.online.length > 1 ? `; per node ${r.online.map((o) => `${o.node}: ${o.count}`).join(', ')}` : ''})`,
    ),
    ...runs.map(
      (r) =>
        `switchboard (${r.bus} bus): memory per connection ${(r.sbMemPerConn / 1024).toFixed(1)} KB (RSS ${r.rss0} kB idle, ${r.rss1} kB with ${r.conn.open} connections, after GC)`,
    ),
    `bare ws:     memory per connection ${(bareMemPerConn / 1024).toFixed(1)} KB (RSS ${bareRss0} kB idle, ${bareRss1} kB with ${conn2.open})`,
    'scenario                                     deliveries/expected   p50 ms   p99 ms   max ms   CPU ms per 1000 deliveries',
  ];
  const labelled = runs.flatMap((r) => r.sbScenarios.map((x) => ({ ...x, label: `[${r.bus}] ${x.label}` })));
  for (const s of [...labelled, bareBroadcast]) {
    lines.push(
      `${s.label.padEnd(44)} ${`${s.deliveries}/${s.expected}`.padStart(19)} ${s.p50.toFixed(0).padStart(8)} ${s.p99.toFixed(0).padStart(8)} ${s.max.toFixed(0).padStart(8)} ${s.cpuMsPer1000.toFixed(1).padStart(12)}`,
    );
  }
  for (const r of runs) {
    lines.push(`CPU per delivery, broadcast: switchboard (${r.bus} bus) / bare ws = ${(r.sbScenarios[0]!.cpuMsPer1000 / bareBroadcast.cpuMsPer1000).toFixed(2)}x`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  const dir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'fanout-latest.txt'), `${lines.join('\n')}\n`);
  fs.writeFileSync(
    path.join(dir, `fanout-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
    JSON.stringify({ connections: conn.open, notes, switchboard: runs.map((r) => ({ bus: r.bus, memPerConn: r.sbMemPerConn, rss0: r.rss0, rss1: r.rss1, scenarios: r.sbScenarios })), bare: { memPerConn: bareMemPerConn, bareRss0, bareRss1, broadcast: bareBroadcast } }, null, 2),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
