/**
 * bench/send — load POST /admin/message/send with wrk and compare, in the same run and with the same
 * load tool and settings, against a bare Fastify JSON echo (the ceiling of this machine) and, unless
 * PEER=0, the ejabberd peer (Debian ejabberd, SQLite storage, `spread` scenario).
 *
 *   npm run bench:send
 *   env: DURATION=15 WARMUP=3 CONNS=64 USERS=1000 GROUPS=20 GROUP_SIZE=20 SMALL_GROUP_SIZE=5 ROUNDS=3
 *        SYNC="FULL NORMAL" PEER=1
 *
 * This machine is a VM whose CPU steal comes and goes (seen: 0-11%), so every target is measured
 * ROUNDS times, interleaved with the baseline (bare, then each Switchboard scenario, then again...),
 * and the report gives medians, the ratio of medians, and the steal seen during each run.
 *
 * Scenarios: single (u1 -> random u2..uUSERS), group (u1 -> random one of GROUPS groups of GROUP_SIZE
 * members: above the inline fan-out limit, one shared timeline row per message), small_group (groups
 * of SMALL_GROUP_SIZE: per-user rows and unread counters for every member).
 *
 * Every request is signed afresh (bench/send/signed.lua). The server's own counters say how many
 * sends succeeded (code 0), and after a clean stop the database is counted, so throughput is only
 * what was acknowledged and stored.
 *
 * STORES (default "sqlite") picks the Switchboard targets: sqlite = one node per SYNC mode on its
 * SQLite file (plus the callbacks target); pg = one node on PostgreSQL + Redis (bench/pg-cluster.ts:
 * BENCH_PG_URL, BENCH_REDIS_URL; fresh schema and key prefix, dropped afterwards); pg2 = two such
 * nodes forming one cluster, wrk's connections split over them (one wrk process per node, run at the
 * same time, CONNS/2 connections each; req/s and counts summed, p50 request-weighted, p99/max the
 * worst of the two). Stored rows of pg targets are counted in the schema after a clean stop.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AdminClient } from '../../test/helpers/admin-client.js';
import { pgClusterStorage } from '../pg-cluster.js';
import { sysTicks } from '../lib/system.js';
import { startListening, stopProcess } from '../lib/process.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const LUA = path.join(ROOT, 'bench/send/signed.lua');
const DURATION = Number(process.env['DURATION'] ?? 15);
const WARMUP = Number(process.env['WARMUP'] ?? 3);
const CONNS = Number(process.env['CONNS'] ?? 64);
const USERS = Number(process.env['USERS'] ?? 1000);
const GROUPS = Number(process.env['GROUPS'] ?? 20);
const GROUP_SIZE = Number(process.env['GROUP_SIZE'] ?? 20);
const SMALL_GROUP_SIZE = Number(process.env['SMALL_GROUP_SIZE'] ?? 5);
const ROUNDS = Number(process.env['ROUNDS'] ?? 3);
/** Also measure FULL single with after-send callbacks to a local receiver (CALLBACKS=0 to skip). */
const CALLBACKS = process.env['CALLBACKS'] !== '0';
const SYNCS = (process.env['SYNC'] ?? 'FULL NORMAL').split(/\s+/).filter(Boolean);
const PEER = process.env['PEER'] !== '0';
const STORES = (process.env['STORES'] ?? 'sqlite').split(/\s+/).filter(Boolean);
for (const s of STORES) if (!['sqlite', 'pg', 'pg2'].includes(s)) throw new Error(`STORES: unknown target "${s}" (sqlite, pg, pg2)`);
const SECRET = 'bench-secret';
const HZ = 100; // CLK_TCK on Linux

interface WrkResult {
  label: string;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  serverCores: number;
  wrkCores: number;
  otherCores: number;
  stealPct: number;
  ok?: number;
  failed?: number;
  stored?: number;
  /** Callbacks scenario: time after wrk stopped until the outbox was drained, and the effective rate. */
  drainMs?: number;
  effectiveRps?: number;
  lagP50?: number;
  lagP99?: number;
  callbacks?: number;
}

function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function ensureWrk(): void {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return; // wrk --version exits 1 but exists
    log('installing wrk (apt-get)');
    execFileSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
}

/** CPU ticks (user + system) of a process and all its threads. */
function procTicks(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** One server process of a target. */
interface Node {
  url: string;
  pid: number | undefined;
}

interface WrkRaw {
  kv: Record<string, string>;
  wrkTicks: number;
}

/** One wrk process (bounded by a timeout) against one node; its RESULT line and its own CPU ticks. */
async function wrkOne(label: string, url: string, conns: number, seconds: number, env: Record<string, string>): Promise<WrkRaw> {
  const out = await new Promise<string>((resolve, reject) => {
    // `times` prints the CPU time of the shell's children (wrk) after it exits.
    const p = spawn(
      'bash',
      ['-c', `timeout ${seconds + 30} wrk -t1 -c${conns} -d${seconds}s --timeout 10s --latency -s "${LUA}" "${url}"; times`],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let o = '';
    p.stdout.on('data', (d: Buffer) => (o += d.toString()));
    p.on('exit', () => resolve(o));
    p.on('error', reject);
  });
  const m = /RESULT (.*)/.exec(out);
  if (!m) throw new Error(`wrk failed for ${label}:\n${out}`);
  const kv = Object.fromEntries(m[1]!.split(' ').map((x) => x.split('=') as [string, string]));
  const times = out.trim().split('\n').pop()!.split(/\s+/);
  const sec = (t: string): number => {
    const mm = /(\d+)m([\d.]+)s/.exec(t);
    return mm ? Number(mm[1]) * 60 + Number(mm[2]) : 0;
  };
  return { kv, wrkTicks: (sec(times[0] ?? '') + sec(times[1] ?? '')) * HZ };
}

/**
 * Run wrk against every node at once (CONNS split evenly) and account CPU per process. Throughput
 * and errors are summed; p50 is the request-weighted mean of the per-node p50s, p99/max the worst.
 */
async function wrk(label: string, nodes: Node[], seconds: number, env: Record<string, string>): Promise<WrkResult> {
  const s0 = sysTicks();
  const p0 = nodes.reduce((a, n) => a + procTicks(n.pid), 0);
  const conns = Math.max(1, Math.round(CONNS / nodes.length));
  const raws = await Promise.all(nodes.map((n) => wrkOne(label, n.url, conns, seconds, env)));
  const s1 = sysTicks();
  const p1 = nodes.reduce((a, n) => a + procTicks(n.pid), 0);
  const sum = (k: string): number => raws.reduce((a, r) => a + Number(r.kv[k] ?? 0), 0);
  const worst = (k: string): number => Math.max(...raws.map((r) => Number(r.kv[k])));
  const requests = sum('requests');
  const all = s1.all - s0.all;
  const cores = os.cpus().length;
  const serverCores = ((p1 - p0) / all) * cores;
  const wrkCores = (raws.reduce((a, r) => a + r.wrkTicks, 0) / all) * cores;
  return {
    label,
    requests,
    rps: sum('rps'),
    p50: raws.reduce((a, r) => a + Number(r.kv['p50_ms']) * Number(r.kv['requests']), 0) / Math.max(1, requests),
    p99: worst('p99_ms'),
    max: worst('max_ms'),
    errors: ['err_connect', 'err_read', 'err_write', 'err_status', 'err_timeout'].reduce((a, k) => a + sum(k), 0),
    serverCores,
    wrkCores,
    otherCores: ((s1.busy - s0.busy) / all) * cores - serverCores - wrkCores,
    stealPct: ((s1.steal - s0.steal) / all) * 100,
  };
}

/** Sends answered so far by the server, split into code 0 and any other code. */
async function sendCounts(url: string): Promise<{ ok: number; failed: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let ok = 0;
  let failed = 0;
  for (const m of text.matchAll(/switchboard_admin_requests_total\{route="\/message\/send",code="(\d+)"\} (\d+)/g)) {
    if (m[1] === '0') ok += Number(m[2]);
    else failed += Number(m[2]);
  }
  return { ok, failed };
}

async function setup(admin: AdminClient): Promise<void> {
  const ids = Array.from({ length: USERS }, (_, i) => `u${i + 1}`);
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(ids.slice(i, i + 50).map((u) => admin.ok('/user/create', { userId: u, name: u })));
  }
  const group = async (id: string, size: number, seed: number): Promise<void> => {
    const members = Array.from({ length: size - 1 }, (_, i) => ({ member_id: `u${2 + ((seed * 37 + i) % (USERS - 1))}` }));
    await admin.ok('/group/create', { operator: 'u1', group: { group_info: { target_id: id, name: id, owner: 'u1' }, members } });
  };
  for (let g = 1; g <= GROUPS; g++) await group(`g${g}`, GROUP_SIZE, g);
  for (let g = 1; g <= GROUPS; g++) await group(`s${g}`, SMALL_GROUP_SIZE, g + 1000);
}

interface Target {
  label: string;
  /** The server processes wrk's connections are spread over (one for all but pg2). */
  nodes: Node[];
  env: Record<string, string>;
  /** For Switchboard targets: the server's own counts of answered sends (/metrics). */
  counts?: () => Promise<{ ok: number; failed: number }>;
  /** Before the measured run (e.g. drain what the warm-up queued). */
  before?: () => Promise<void>;
  /** After the measured run (e.g. wait until the outbox is drained). */
  after?: (r: WrkResult) => Promise<void>;
}

interface Running {
  stop: () => Promise<void>;
  targets: Target[];
  /** Switchboard targets: after stop(), the stored message count; then remove the data. */
  stored?: () => Promise<number>;
  dispose?: () => Promise<void>;
}

/** The SQLite file's message count after a clean stop, and the data directory's removal. */
function sqliteStorage(dataDir: string): Pick<Running, 'stored' | 'dispose'> {
  return {
    stored: async () => {
      const db = new Database(path.join(dataDir, 'switchboard.db'), { readonly: true });
      try {
        return (db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n;
      } finally {
        db.close();
      }
    },
    dispose: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
  };
}

async function startSwitchboard(sync: string): Promise<Running> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-bench-'));
  const { proc, url } = await startListening(
    process.execPath,
    [path.join(ROOT, 'dist/cli.js'), 'serve', '--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--synchronous', sync],
    { SWITCHBOARD_ADMIN_SECRET: SECRET, LOG_LEVEL: 'warn' },
  );
  await setup(new AdminClient(url, SECRET));
  const base = { SB_SECRET: SECRET, SB_USERS: String(USERS), SB_GROUPS: String(GROUPS) };
  const mk = (scenario: string, env: Record<string, string>): Target => ({
    label: `switchboard_${sync}_${scenario}`,
    nodes: [{ url, pid: proc.pid }],
    env: { ...base, ...env },
    counts: () => sendCounts(url),
  });
  return {
    ...sqliteStorage(dataDir),
    targets: [mk('single', { SB_MODE: 'single' }), mk('group', { SB_MODE: 'group' }), mk('small_group', { SB_MODE: 'group', SB_GROUP_PREFIX: 's' })],
    stop: () => stopProcess(proc),
  };
}

/** Switchboard FULL with every after-callback on, delivering to a local receiver process. */
async function startSwitchboardWithCallbacks(): Promise<Running> {
  const receiver = await startListening(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/send/receiver.ts')], {});
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-bench-cb-'));
  const { proc, url } = await startListening(
    process.execPath,
    [path.join(ROOT, 'dist/cli.js'), 'serve', '--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--synchronous', 'FULL'],
    {
      SWITCHBOARD_ADMIN_SECRET: SECRET,
      LOG_LEVEL: 'warn',
      SWITCHBOARD_CALLBACK_URL: `${receiver.url}/callback`,
      SWITCHBOARD_CALLBACK_TOKEN: 'bench-token',
      SWITCHBOARD_SDK_APP_ID: '1400000001',
    },
  );
  const admin = new AdminClient(url, SECRET);
  await setup(admin);
  const drained = async (): Promise<number> => {
    const t0 = Date.now();
    for (;;) {
      const s = await admin.ok<{ pending: number; in_flight: number }>('/callback/stats', {});
      if (s.pending + s.in_flight === 0) return Date.now() - t0;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const target: Target = {
    label: 'switchboard_FULL_single_callbacks',
    nodes: [{ url, pid: proc.pid }],
    env: { SB_SECRET: SECRET, SB_USERS: String(USERS), SB_GROUPS: String(GROUPS), SB_MODE: 'single' },
    counts: () => sendCounts(url),
    before: async () => {
      await drained();
      await fetch(`${receiver.url}/reset`);
    },
    after: async (r) => {
      r.drainMs = await drained();
      r.effectiveRps = (r.ok ?? 0) / (DURATION + r.drainMs / 1000);
      const st = (await (await fetch(`${receiver.url}/stats`)).json()) as { count: number; p50: number; p99: number };
      r.lagP50 = st.p50;
      r.lagP99 = st.p99;
      r.callbacks = st.count;
    },
  };
  return {
    ...sqliteStorage(dataDir),
    targets: [target],
    stop: async () => {
      await stopProcess(proc);
      await stopProcess(receiver.proc);
    },
  };
}

async function startBareFastify(): Promise<Running> {
  const { proc, url } = await startListening(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/send/bare-fastify.ts'), '0'], {});
  return {
    targets: [{ label: 'bare_fastify_echo', nodes: [{ url, pid: proc.pid }], env: { SB_SECRET: SECRET, SB_MODE: 'single', SB_USERS: String(USERS) } }],
    stop: () => stopProcess(proc),
  };
}

/**
 * `size` Switchboard nodes on one PostgreSQL schema and one Redis prefix (one cluster); users and
 * groups created through the first node. Label switchboard_pg_* for one node, switchboard_pg<size>_*.
 */
async function startPgCluster(size: number): Promise<Running> {
  const storage = pgClusterStorage();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-bench-pg-'));
  const procs: ChildProcess[] = [];
  const nodes: Node[] = [];
  const stopAll = async (): Promise<void> => {
    for (const p of procs) await stopProcess(p);
  };
  try {
    for (let i = 0; i < size; i++) {
      // Nodes start one after another: the first one creates and migrates the schema.
      const nodeDir = path.join(dataDir, `node${i + 1}`);
      fs.mkdirSync(nodeDir);
      const { proc, url } = await startListening(
        process.execPath,
        [path.join(ROOT, 'dist/cli.js'), 'serve', '--port', '0', '--host', '127.0.0.1', '--data', nodeDir],
        { SWITCHBOARD_ADMIN_SECRET: SECRET, LOG_LEVEL: 'warn', ...storage.env },
      );
      procs.push(proc);
      nodes.push({ url, pid: proc.pid });
      if (i === 0) await setup(new AdminClient(url, SECRET));
    }
  } catch (e) {
    await stopAll();
    await storage.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  const name = size === 1 ? 'pg' : `pg${size}`;
  const base = { SB_SECRET: SECRET, SB_USERS: String(USERS), SB_GROUPS: String(GROUPS) };
  const counts = async (): Promise<{ ok: number; failed: number }> => {
    const cs = await Promise.all(nodes.map((n) => sendCounts(n.url)));
    return { ok: cs.reduce((a, c) => a + c.ok, 0), failed: cs.reduce((a, c) => a + c.failed, 0) };
  };
  const mk = (scenario: string, env: Record<string, string>): Target => ({ label: `switchboard_${name}_${scenario}`, nodes, env: { ...base, ...env }, counts });
  return {
    targets: [mk('single', { SB_MODE: 'single' }), mk('group', { SB_MODE: 'group' }), mk('small_group', { SB_MODE: 'group', SB_GROUP_PREFIX: 's' })],
    stop: stopAll,
    stored: () => storage.countMessages(),
    dispose: async () => {
      await storage.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function measure(t: Target): Promise<WrkResult> {
  if (WARMUP > 0) await wrk('warmup', t.nodes, WARMUP, t.env);
  await t.before?.();
  const before = t.counts ? await t.counts() : undefined;
  log(`${t.label}: ${CONNS} conns, ${DURATION}s`);
  const r = await wrk(t.label, t.nodes, DURATION, t.env);
  if (t.counts && before) {
    const after = await t.counts();
    r.ok = after.ok - before.ok;
    r.failed = after.failed - before.failed;
  }
  await t.after?.(r);
  return r;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

interface PeerResult {
  ejabberd: WrkResult;
  /** The bare node http baseline the peer script measures right after ejabberd. */
  bareNodeRps: number | undefined;
}

function benchPeer(): PeerResult | undefined {
  const script = path.resolve(ROOT, '../shared/tools/peer-ejabberd/run-peer.sh');
  if (!fs.existsSync(script)) {
    log(`peer script not found at ${script}; skipping ejabberd`);
    return undefined;
  }
  log('ejabberd peer (DB=sqlite, spread); this installs Debian packages on first use and takes ~2 min');
  const out = execFileSync('bash', [script], {
    env: { ...process.env, DB: 'sqlite', SCENARIOS: 'spread', BASELINE: '1', WS_CHECK: '0', CONNS: String(CONNS), DURATION: String(DURATION), WARMUP: String(WARMUP), USERS: String(USERS) },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 15 * 60_000,
  });
  process.stderr.write(out);
  const line = out.split('\n').find((l) => l.startsWith('ejabberd_spread '));
  if (!line) return undefined;
  const bare = /^bare_node .*rps=([\d.]+)/m.exec(out);
  const kv = Object.fromEntries(line.split(' ').slice(1).map((x) => x.split('=') as [string, string]));
  const stored = /stored offline during run: (\d+)/.exec(out);
  const ejabberd: WrkResult = {
    label: 'ejabberd_sqlite_spread',
    requests: Number(kv['requests']),
    rps: Number(kv['rps']),
    p50: Number(kv['p50_ms']),
    p99: Number(kv['p99_ms']),
    max: Number(kv['max_ms']),
    errors: ['err_connect', 'err_read', 'err_write', 'err_status', 'err_timeout'].reduce((a, k) => a + Number(kv[k] ?? 0), 0),
    serverCores: Number(kv['server_cores']),
    wrkCores: Number(kv['wrk_cores']),
    otherCores: Number(kv['other_cores']),
    stealPct: 0,
    ...(stored ? { stored: Number(stored[1]) } : {}),
  };
  return { ejabberd, bareNodeRps: bare ? Number(bare[1]) : undefined };
}

async function main(): Promise<void> {
  ensureWrk();
  if (!fs.existsSync(path.join(ROOT, 'dist/cli.js'))) throw new Error('run `npm run build` first');
  const running: Running[] = [await startBareFastify()];
  const all: WrkResult[] = [];
  try {
    await runAll(running, all);
  } finally {
    for (const r of running) await r.dispose?.();
  }
  report(all);
}

/** Start the targets, measure them ROUNDS times interleaved, stop them and check the stored counts. */
async function runAll(running: Running[], all: WrkResult[]): Promise<void> {
  try {
    if (STORES.includes('sqlite')) {
      for (const sync of SYNCS) running.push(await startSwitchboard(sync));
      if (CALLBACKS) running.push(await startSwitchboardWithCallbacks());
    }
    if (STORES.includes('pg')) running.push(await startPgCluster(1));
    if (STORES.includes('pg2')) running.push(await startPgCluster(2));
    const targets = running.flatMap((r) => r.targets);
    for (let round = 1; round <= ROUNDS; round++) {
      log(`round ${round}/${ROUNDS}`);
      for (const t of targets) all.push(await measure(t));
    }
  } finally {
    for (const r of running) await r.stop();
  }
  // After a clean stop, count what is stored: every acknowledged send must be there.
  for (const r of running) {
    if (!r.stored) continue;
    const stored = await r.stored();
    const acked = all.filter((x) => r.targets.some((t) => t.label === x.label)).reduce((a, x) => a + (x.ok ?? 0), 0);
    log(`${r.targets[0]!.label.replace(/_single$/, '')}: ${stored} messages stored, ${acked} acknowledged in measured runs (plus warm-ups)`);
    if (stored < acked) throw new Error('fewer messages stored than acknowledged');
    for (const x of all) if (r.targets.some((t) => t.label === x.label)) x.stored = stored;
  }
}

/** Print the table (and the peer, callbacks and PostgreSQL comparisons) and write the result files. */
function report(all: WrkResult[]): void {
  const peerRun = PEER ? benchPeer() : undefined;
  const peer = peerRun?.ejabberd;

  const labels = [...new Set(all.map((r) => r.label))];
  const med = (label: string, f: (r: WrkResult) => number): number => median(all.filter((r) => r.label === label).map(f));
  const bareRps = med('bare_fastify_echo', (r) => r.rps);
  const lines = [
    `== bench/send | wrk -t1 -c${CONNS} -d${DURATION}s (warm-up ${WARMUP}s), ${ROUNDS} interleaved rounds, medians | ${os.cpus().length} cores | node ${process.version}`,
    `   users=${USERS} groups=${GROUPS}x${GROUP_SIZE} (shared timeline) small groups=${GROUPS}x${SMALL_GROUP_SIZE} (per-user rows)`,
    'label                              req/s   p50 ms   p99 ms  errors  non-ok  srv/wrk/other cores  steal%   vs bare  vs ejabberd   per-round req/s',
  ];
  const row = (label: string, rps: number, p50: number, p99: number, errors: number, nonOk: string, cores: string, steal: number, rounds: string): string =>
    `${label.padEnd(32)} ${rps.toFixed(0).padStart(8)} ${p50.toFixed(2).padStart(8)} ${p99.toFixed(2).padStart(8)} ${String(errors).padStart(7)} ${nonOk.padStart(7)}  ${cores.padEnd(19)} ${steal.toFixed(1).padStart(6)} ${(rps / bareRps).toFixed(2).padStart(9)} ${(peer ? (rps / peer.rps).toFixed(1) + 'x' : '-').padStart(12)}   ${rounds}`;
  for (const label of labels) {
    const rs = all.filter((r) => r.label === label);
    const nonOk = rs[0]!.failed === undefined ? '-' : String(rs.reduce((a, r) => a + (r.failed ?? 0), 0));
    lines.push(
      row(
        label,
        med(label, (r) => r.rps),
        med(label, (r) => r.p50),
        med(label, (r) => r.p99),
        rs.reduce((a, r) => a + r.errors, 0),
        nonOk,
        `${med(label, (r) => r.serverCores).toFixed(2)}/${med(label, (r) => r.wrkCores).toFixed(2)}/${med(label, (r) => r.otherCores).toFixed(2)}`,
        med(label, (r) => r.stealPct),
        rs.map((r) => r.rps.toFixed(0)).join(' '),
      ),
    );
  }
  if (peer) {
    lines.push(
      row(peer.label, peer.rps, peer.p50, peer.p99, peer.errors, '-', `${peer.serverCores.toFixed(2)}/${peer.wrkCores.toFixed(2)}/${peer.otherCores.toFixed(2)}`, 0, `stored ${peer.stored ?? '?'} of ${peer.requests}`),
    );
  }
  const cbRuns = all.filter((r) => r.label === 'switchboard_FULL_single_callbacks');
  if (cbRuns.length > 0) {
    const plain = med('switchboard_FULL_single', (r) => r.rps);
    const eff = median(cbRuns.map((r) => r.effectiveRps ?? 0));
    lines.push(
      `callbacks: FULL single with every after-callback to a local receiver; run ends when the outbox is drained`,
      `  effective req/s (acknowledged / (duration + drain)) ${eff.toFixed(0)} = ${(eff / plain).toFixed(2)} of FULL single without callbacks (${plain.toFixed(0)})`,
      `  drain after wrk stopped ${median(cbRuns.map((r) => r.drainMs ?? 0)).toFixed(0)} ms; callbacks received per round ${cbRuns.map((r) => r.callbacks).join(' ')}`,
      `  callback delivery lag (commit → receiver) p50 ${median(cbRuns.map((r) => r.lagP50 ?? 0)).toFixed(0)} ms, p99 ${median(cbRuns.map((r) => r.lagP99 ?? 0)).toFixed(0)} ms (per round p99: ${cbRuns.map((r) => r.lagP99).join(' ')})`,
    );
  }
  const pgLabels = labels.filter((l) => /^switchboard_pg\d*_/.test(l));
  const sqliteSync = SYNCS.includes('FULL') ? 'FULL' : SYNCS[0];
  if (pgLabels.length > 0 && sqliteSync && STORES.includes('sqlite')) {
    lines.push(`PostgreSQL + Redis / SQLite node (${sqliteSync}), same scenario, ratio of medians:`);
    for (const l of pgLabels) {
      const ref = l.replace(/^switchboard_pg\d*_/, `switchboard_${sqliteSync}_`);
      if (labels.includes(ref)) lines.push(`  ${l.padEnd(32)} ${(med(l, (r) => r.rps) / med(ref, (r) => r.rps)).toFixed(2)}x`);
    }
  }
  if (peerRun?.bareNodeRps) {
    const ejRatio = peerRun.ejabberd.rps / peerRun.bareNodeRps;
    lines.push(
      `ejabberd / bare node http measured right after it: ${ejRatio.toFixed(3)} (bare node ${peerRun.bareNodeRps.toFixed(0)} req/s).`,
      `Normalised to each run's own baseline, Switchboard / ejabberd = (Switchboard / bare Fastify) / (ejabberd / bare node):`,
      ...labels
        .filter((l) => l.startsWith('switchboard_'))
        .map((l) => `  ${l.padEnd(32)} ${(med(l, (r) => r.rps) / bareRps / ejRatio).toFixed(1)}x`),
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  const dir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `send-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({ settings: { DURATION, WARMUP, CONNS, USERS, GROUPS, GROUP_SIZE, SMALL_GROUP_SIZE, ROUNDS, SYNCS, STORES }, results: all, peer: peerRun }, null, 2),
  );
  fs.writeFileSync(path.join(dir, 'send-latest.txt'), `${lines.join('\n')}\n`);
  log(`results written to ${path.relative(ROOT, file)}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
