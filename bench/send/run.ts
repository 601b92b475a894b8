/**
 * bench/send — load POST /admin/message/send with wrk and compare, in the same run and with the same
 * load tool and settings, against a bare Fastify JSON echo (the ceiling of this machine) and, unless
 * PEER=0, the ejabberd peer (Debian ejabberd, SQLite storage, `spread` scenario).
 *
 *   npm run bench:send
 *   env: DURATION=15 WARMUP=3 CONNS=64 USERS=1000 GROUPS=20 GROUP_SIZE=20 SYNC="FULL NORMAL" PEER=1
 *
 * Every request is signed afresh (bench/send/signed.lua). After each run the server's own counters
 * say how many sends succeeded (code 0) and the database is counted, so throughput is only what
 * was acknowledged and stored.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AdminClient } from '../../test/helpers/admin-client.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const LUA = path.join(ROOT, 'bench/send/signed.lua');
const DURATION = Number(process.env['DURATION'] ?? 15);
const WARMUP = Number(process.env['WARMUP'] ?? 3);
const CONNS = Number(process.env['CONNS'] ?? 64);
const USERS = Number(process.env['USERS'] ?? 1000);
const GROUPS = Number(process.env['GROUPS'] ?? 20);
const GROUP_SIZE = Number(process.env['GROUP_SIZE'] ?? 20);
const SYNCS = (process.env['SYNC'] ?? 'FULL NORMAL').split(/\s+/).filter(Boolean);
const PEER = process.env['PEER'] !== '0';
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
  ok?: number;
  stored?: number;
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

function procTicks(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

function sysTicks(): { busy: number; all: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f as [number, number, number, number, number, number, number, number];
  return { busy: user + nice + system + irq + softirq + steal, all: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** Run wrk (bounded by a timeout) and account CPU per process. */
async function wrk(label: string, url: string, seconds: number, serverPid: number | undefined, env: Record<string, string>): Promise<WrkResult> {
  const s0 = sysTicks();
  const p0 = procTicks(serverPid);
  const out = await new Promise<string>((resolve, reject) => {
    // `times` prints the CPU time of the shell's children (wrk) after it exits.
    const p = spawn(
      'bash',
      ['-c', `timeout ${seconds + 30} wrk -t1 -c${CONNS} -d${seconds}s --timeout 10s --latency -s "${LUA}" "${url}"; times`],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let o = '';
    p.stdout.on('data', (d: Buffer) => (o += d.toString()));
    p.on('exit', () => resolve(o));
    p.on('error', reject);
  });
  const s1 = sysTicks();
  const p1 = procTicks(serverPid);
  const m = /RESULT (.*)/.exec(out);
  if (!m) throw new Error(`wrk failed for ${label}:\n${out}`);
  const kv = Object.fromEntries(m[1]!.split(' ').map((x) => x.split('=') as [string, string]));
  const times = out.trim().split('\n').pop()!.split(/\s+/);
  const sec = (t: string): number => {
    const mm = /(\d+)m([\d.]+)s/.exec(t);
    return mm ? Number(mm[1]) * 60 + Number(mm[2]) : 0;
  };
  const wrkTicks = (sec(times[0] ?? '') + sec(times[1] ?? '')) * HZ;
  const all = s1.all - s0.all;
  const cores = os.cpus().length;
  const serverCores = ((p1 - p0) / all) * cores;
  const wrkCores = (wrkTicks / all) * cores;
  return {
    label,
    requests: Number(kv['requests']),
    rps: Number(kv['rps']),
    p50: Number(kv['p50_ms']),
    p99: Number(kv['p99_ms']),
    max: Number(kv['max_ms']),
    errors: ['err_connect', 'err_read', 'err_write', 'err_status', 'err_timeout'].reduce((a, k) => a + Number(kv[k] ?? 0), 0),
    serverCores,
    wrkCores,
    otherCores: ((s1.busy - s0.busy) / all) * cores - serverCores - wrkCores,
  };
}

function startProcess(cmd: string, args: string[], env: Record<string, string>): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ proc, url: m[1]! });
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${out}`)));
  });
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  await exited;
}

async function sendOk(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /switchboard_admin_requests_total\{route="\/message\/send",code="0"\} (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

async function setup(admin: AdminClient): Promise<void> {
  const ids = Array.from({ length: USERS }, (_, i) => `u${i + 1}`);
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(ids.slice(i, i + 50).map((u) => admin.ok('/user/create', { userId: u, name: u })));
  }
  for (let g = 1; g <= GROUPS; g++) {
    const members = Array.from({ length: GROUP_SIZE - 1 }, (_, i) => ({ member_id: `u${2 + ((g * 37 + i) % (USERS - 1))}` }));
    await admin.ok('/group/create', { operator: 'u1', group: { group_info: { target_id: `g${g}`, name: `g${g}`, owner: 'u1' }, members } });
  }
}

async function benchSwitchboard(sync: string): Promise<WrkResult[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-bench-'));
  const { proc, url } = await startProcess(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'serve', '--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--synchronous', sync], {
    SWITCHBOARD_ADMIN_SECRET: SECRET,
    LOG_LEVEL: 'warn',
  });
  const results: WrkResult[] = [];
  try {
    await setup(new AdminClient(url, SECRET));
    for (const mode of ['single', 'group']) {
      const env = { SB_SECRET: SECRET, SB_MODE: mode, SB_USERS: String(USERS), SB_GROUPS: String(GROUPS) };
      if (WARMUP > 0) await wrk('warmup', url, WARMUP, proc.pid, env);
      const okBefore = await sendOk(url);
      log(`switchboard ${sync} ${mode}: ${CONNS} conns, ${DURATION}s`);
      const r = await wrk(`switchboard_${sync}_${mode}`, url, DURATION, proc.pid, env);
      r.ok = (await sendOk(url)) - okBefore;
      results.push(r);
    }
  } finally {
    await stop(proc);
  }
  // After a clean stop, count what is on disk: every acknowledged send must be there.
  const db = new Database(path.join(dataDir, 'switchboard.db'), { readonly: true });
  const stored = (db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n;
  db.close();
  const okTotal = await Promise.resolve(results.reduce((a, r) => a + (r.ok ?? 0), 0));
  for (const r of results) r.stored = stored;
  log(`stored messages: ${stored} (acknowledged in measured runs: ${okTotal}, plus warm-ups)`);
  fs.rmSync(dataDir, { recursive: true, force: true });
  return results;
}

async function benchBareFastify(): Promise<WrkResult> {
  const { proc, url } = await startProcess(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/send/bare-fastify.ts'), '0'], {});
  try {
    const env = { SB_SECRET: SECRET, SB_MODE: 'single', SB_USERS: String(USERS) };
    if (WARMUP > 0) await wrk('warmup', url, WARMUP, proc.pid, env);
    log(`bare fastify echo: ${CONNS} conns, ${DURATION}s`);
    return await wrk('bare_fastify_echo', url, DURATION, proc.pid, env);
  } finally {
    await stop(proc);
  }
}

function benchPeer(): WrkResult | undefined {
  const script = path.resolve(ROOT, '../shared/tools/peer-ejabberd/run-peer.sh');
  if (!fs.existsSync(script)) {
    log(`peer script not found at ${script}; skipping ejabberd`);
    return undefined;
  }
  log('ejabberd peer (DB=sqlite, spread); this installs Debian packages on first use and takes ~2 min');
  const out = execFileSync('bash', [script], {
    env: { ...process.env, DB: 'sqlite', SCENARIOS: 'spread', BASELINE: '0', WS_CHECK: '0', CONNS: String(CONNS), DURATION: String(DURATION), WARMUP: String(WARMUP), USERS: String(USERS) },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 15 * 60_000,
  });
  process.stderr.write(out);
  const line = out.split('\n').find((l) => l.startsWith('ejabberd_spread '));
  if (!line) return undefined;
  const kv = Object.fromEntries(line.split(' ').slice(1).map((x) => x.split('=') as [string, string]));
  const stored = /stored offline during run: (\d+)/.exec(out);
  return {
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
    ...(stored ? { stored: Number(stored[1]) } : {}),
  };
}

async function main(): Promise<void> {
  ensureWrk();
  if (!fs.existsSync(path.join(ROOT, 'dist/cli.js'))) throw new Error('run `npm run build` first');
  const results: WrkResult[] = [];
  results.push(await benchBareFastify());
  for (const sync of SYNCS) results.push(...(await benchSwitchboard(sync)));
  const peer = PEER ? benchPeer() : undefined;
  if (peer) results.push(peer);

  const bare = results.find((r) => r.label === 'bare_fastify_echo')!;
  const lines = [
    `== bench/send | wrk -t1 -c${CONNS} -d${DURATION}s (warm-up ${WARMUP}s) | ${os.cpus().length} cores | node ${process.version} | users=${USERS} groups=${GROUPS}x${GROUP_SIZE}`,
    'label                              req/s    p50 ms   p99 ms  errors  ok(code 0)  srv/wrk/other cores  vs bare  vs ejabberd',
  ];
  for (const r of results) {
    const vsBare = (r.rps / bare.rps).toFixed(2);
    const vsPeer = peer ? (r.rps / peer.rps).toFixed(1) + 'x' : '-';
    lines.push(
      `${r.label.padEnd(32)} ${r.rps.toFixed(0).padStart(8)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${String(r.errors).padStart(7)} ${String(r.ok ?? '-').padStart(11)}  ${r.serverCores.toFixed(2)}/${r.wrkCores.toFixed(2)}/${r.otherCores.toFixed(2)}`.padEnd(98) +
        `${vsBare.padStart(7)}  ${vsPeer.padStart(10)}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  const dir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `send-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ settings: { DURATION, WARMUP, CONNS, USERS, GROUPS, GROUP_SIZE }, results }, null, 2));
  log(`results written to ${path.relative(ROOT, file)}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
