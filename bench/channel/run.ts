/**
 * bench/channel — the channel gateway's throughput, each figure next to a baseline of the same run:
 *
 * - inbound: seed 002 `POST /api/v1/<appid>/staffService/message` (wrk, bench/channel/staff.lua) vs a
 *   bare Fastify answering `{errcode: 0}` on the same path (bench/channel/bare-fastify.ts) and vs our
 *   own `POST /admin/message/send` (bench/send/signed.lua, single chats; the target's baseline), and,
 *   for reference, the same admin send into groups shaped like the contacts' conversations (three
 *   members: the sender, a contact's user, the agent; `admingroup`), interleaved ROUNDS times, the
 *   Switchboard targets' order reversed every other round, after an unrecorded warm-up run of each;
 * - outbound: agents' replies delivered to a fake 002 app (bench/channel/fake-app.ts) vs a bare HTTP
 *   client posting the same bodies, signed the same way, to the same app at the channel's concurrency.
 *   The replies are sent while the app is down (it answers 503: the channel's circuit breaker opens
 *   and the jobs wait, probed every 100 ms), then the app comes back: replies/s = N / (app up → the
 *   app's last accepted post), the issue's "down then up" case. The app counts each idempotency key
 *   once: the run fails on a missing or duplicate reply. An unrecorded round of each side (REPLIES / 5)
 *   first; then the two sides back to back, the first of them alternating.
 *
 *   npm run bench:channel
 *   env: DURATION=6 CONNS=64 ROUNDS=2 CUSTOMERS=200 REPLIES=20000 OUT_ROUNDS=2 CONCURRENCY=64
 *   PHASES=inbound,outbound (either alone to profile one side, e.g. with SB_NODE_ARGS=--cpu-prof),
 *   INBOUND=bare,staff,admin,admingroup (the inbound targets that run); WARMUP=3 (seconds of
 *   each inbound target's unrecorded first run; 0: no warm-up on either side); SB_DELAY_MS=<ms> (every Switchboard target: a fixed offered rate of
 *   about CONNS × 1000 / SB_DELAY_MS, to compare CPU per message of two builds at one rate); SB_CLI=<path of another build's dist/cli.js>
 *
 * About 4 minutes. REPLIES=20000 (100 per conversation) makes both outbound sides' rounds last seconds
 * (with 3000 the bare client's lasted 0.2–0.4 s and its first paid for its connections). The machine is
 * shared (other engineers' builds and tests run on it) and a VM whose CPU steal comes and goes: figures
 * move with both; the ratios to the same-run baselines are the numbers to read, and each row gives the
 * steal seen during its rounds (bench/lib/system.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeCallbackAgents, postJson } from '../../src/callbacks/http.js';
import { request002 } from '../../src/channel-apps/outbound.js';
import { sign002 } from '../../src/channel-apps/signature.js';
import { contactIdOf, conversationIdOf } from '../../src/core/channel-apps/model.js';
import { AdminClient } from '../../test/helpers/admin-client.js';
import { median, ratios } from '../lib/ab.js';
import { pool } from '../lib/in-process.js';
import { stealPct, sysTicks } from '../lib/system.js';
import { startListening, stopProcess } from '../lib/process.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DURATION = Number(process.env['DURATION'] ?? 6);
const CONNS = Number(process.env['CONNS'] ?? 64);
const ROUNDS = Number(process.env['ROUNDS'] ?? 2);
const CUSTOMERS = Number(process.env['CUSTOMERS'] ?? 200);
const REPLIES = Number(process.env['REPLIES'] ?? 20000);
const OUT_ROUNDS = Number(process.env['OUT_ROUNDS'] ?? 2);
const CONCURRENCY = Number(process.env['CONCURRENCY'] ?? 64);
/** Seconds of an unrecorded first run of every inbound target (0: none). */
const WARMUP = Number(process.env['WARMUP'] ?? 3);
const PHASES = new Set((process.env['PHASES'] ?? 'inbound,outbound').split(','));
/** Which inbound targets run (a subset of bare,staff,admin,admingroup), e.g. `INBOUND=staff` to profile the 002 route alone. */
const INBOUND = new Set((process.env['INBOUND'] ?? 'bare,staff,admin,admingroup').split(','));
/** Extra node arguments for the Switchboard process only (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`). */
const SB_NODE_ARGS = (process.env['SB_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
/** The Switchboard build to run (default this tree's dist/cli.js; another tree's for a before/after run). */
const SB_CLI = process.env['SB_CLI'] ?? path.join(ROOT, 'dist/cli.js');
const USERS = 1000;
const SECRET = 'bench-secret';
const APP = 'bench-app';
const APP_SECRET = 'bench-app-secret';
const ACCOUNT = 'bench-account';
const AGENT = 'agent1';

function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

interface WrkResult {
  /** CPU steal of the machine during the run (%). */
  steal: number;
  rps: number;
  /** wrk's own CPU (user + system) per request, µs: the load generator shares the 2 cores with the server. */
  wrkUs: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
}

/**
 * What the server spent, from counters that a loaded machine does not distort much: store writes and
 * group commits (its /metrics histogram of batch sizes) and CPU ticks of every thread of its process.
 */
interface Cost {
  writes: number;
  commits: number;
  cpuMs: number;
  /** The main thread's share of cpuMs (the rest: the SQLite writer thread above all, then the checkpointer, GC and libuv threads). */
  mainMs: number;
}

/** User + system CPU of /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat, in ms (NaN when unreadable: not Linux). */
function cpuOf(statFile: string): number {
  try {
    const f = fs.readFileSync(statFile, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // CLK_TCK = 100
  } catch {
    return NaN;
  }
}

async function costNow(url: string, pid: number | undefined): Promise<Cost> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const metric = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const cpuMs = cpuOf(`/proc/${pid}/stat`);
  const mainMs = cpuOf(`/proc/${pid}/task/${pid}/stat`);
  return { writes: metric('switchboard_store_commit_batch_size_sum'), commits: metric('switchboard_store_commit_batch_size_count'), cpuMs, mainMs };
}

/** Cost per message between two readings. */
function perMessage(a: Cost, b: Cost, n: number): Cost {
  return { writes: (b.writes - a.writes) / n, commits: (b.commits - a.commits) / n, cpuMs: (b.cpuMs - a.cpuMs) / n, mainMs: (b.mainMs - a.mainMs) / n };
}

async function wrk(url: string, script: string, env: Record<string, string>, seconds = DURATION): Promise<WrkResult> {
  const t0 = sysTicks();
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('bash', ['-c', `timeout ${seconds + 30} wrk -t1 -c${CONNS} -d${seconds}s --timeout 10s --latency -s "${script}" "${url}"; times`], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let o = '';
    p.stdout.on('data', (d: Buffer) => (o += d.toString()));
    p.on('exit', () => resolve(o));
    p.on('error', reject);
  });
  const m = /RESULT (.*)/.exec(out);
  if (!m) throw new Error(`wrk failed:\n${out}`);
  const kv = Object.fromEntries(m[1]!.split(' ').map((x) => x.split('=') as [string, string]));
  const errors = Number(kv['err'] ?? 0) + Number(kv['err_connect'] ?? 0) + Number(kv['err_status'] ?? 0) + Number(kv['err_timeout'] ?? 0);
  const requests = Number(kv['requests']);
  // bash's `times`: its own user/system, then its children's (wrk), as `XmY.YYYs XmY.YYYs`.
  const t = out.trim().split('\n').at(-1)!.split(' ').map((x) => { const mm = /^(\d+)m([\d.]+)s$/.exec(x); return mm ? Number(mm[1]) * 60 + Number(mm[2]) : NaN; });
  const wrkUs = ((t[0] ?? NaN) + (t[1] ?? NaN)) * 1e6 / requests;
  return { steal: stealPct(t0, sysTicks()), rps: Number(kv['rps']), p50: Number(kv['p50_ms']), p99: Number(kv['p99_ms']), errors, requests, wrkUs };
}

/** Ratios a[i] / b[i] of rounds measured back to back, and their median: steadier than a ratio of medians on a noisy machine. */
const pairs = (a: number[], b: number[]): string => {
  const r = ratios(b, a);
  return r.length === 0 ? 'none' : `${r.map((x) => x.toFixed(2)).join(' · ')} (median ${median(r).toFixed(2)})`;
};

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  return (await (await fetch(url, init)).json()) as T;
}

async function until(check: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main(): Promise<void> {
  if (!fs.existsSync(SB_CLI)) throw new Error(`${SB_CLI}: run \`npm run build\` first`);
  const running: ChildProcess[] = [];
  try {
    const bare = await startListening(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/channel/bare-fastify.ts')], {});
    running.push(bare.proc);
    const app = await startListening(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/channel/fake-app.ts')], {});
    running.push(app.proc);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-bench-channel-'));
    const configFile = path.join(dataDir, 'config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        outbox: { channels: { 'channel-app': { concurrency: CONCURRENCY, perTargetConcurrency: CONCURRENCY, breakerThreshold: 1, breakerMaxOpenMs: 100, maxAttempts: 100, firstRetryMs: 50, maxRetryMs: 200 } } },
      }),
    );
    const sb = await startListening(
      process.execPath,
      [...SB_NODE_ARGS, SB_CLI, 'serve', '--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--config', configFile],
      { SWITCHBOARD_ADMIN_SECRET: SECRET, LOG_LEVEL: 'warn' },
    );
    running.push(sb.proc);
    const admin = new AdminClient(sb.url, SECRET);

    log('setup: users, app, account, customers');
    const ids = [...Array.from({ length: USERS }, (_, i) => `u${i + 1}`), AGENT];
    await pool(ids.length, 32, async (i) => void (await admin.ok('/user/create', { userId: ids[i], name: ids[i] })));
    await admin.ok('/channel_app/create', { appId: APP, secret: APP_SECRET, protocol: '002', baseUrl: `${app.url}/qmtapi` });
    await admin.ok('/channel_account/create', { channelAccountId: ACCOUNT, channelId: 'wechat', appId: APP, agents: [AGENT] });
    const ts = String(Date.now());
    const staffPath = `/api/v1/${APP}/staffService/message?timestamp=${ts}&signature=${sign002(APP, APP_SECRET, ts)}`;
    await pool(CUSTOMERS, 16, async (i) => {
      const r = await json<{ errcode: number }>(`${sb.url}${staffPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ FromUserId: `c${i + 1}`, MsgType: 'text', Content: 'hi' }),
      });
      if (r.errcode !== 0) throw new Error(`inbound setup: errcode ${r.errcode}`);
    });
    // The admingroup target's groups: cg1..cgN, owner u1, members the contact c<i>'s user and the agent
    // (a contact's conversation has three members too: the account's user, the contact, the agent).
    if (INBOUND.has('admingroup')) {
      await pool(CUSTOMERS, 16, async (i) => admin.createGroup(`cg${i + 1}`, 'u1', [contactIdOf(ACCOUNT, `c${i + 1}`), AGENT]));
    }

    // ------------------------------------------------------------------ inbound
    const staffLua = path.join(ROOT, 'bench/channel/staff.lua');
    const sendLua = path.join(ROOT, 'bench/send/signed.lua');
    const staffEnv = { SB_PATH: staffPath, SB_CUSTOMERS: String(CUSTOMERS), SB_DELAY_MS: process.env['SB_DELAY_MS'] ?? '0' };
    const inbound: Record<string, WrkResult[]> = { bare: [], staff: [], admin: [], admingroup: [] };
    const costs: Record<string, Cost[]> = { staff: [], admin: [], admingroup: [], outbound: [] };
    /** A wrk run against Switchboard, with its cost per request. */
    const measured = async (key: string, script: string, env: Record<string, string>): Promise<WrkResult> => {
      const c0 = await costNow(sb.url, sb.proc.pid);
      const r = await wrk(sb.url, script, env);
      costs[key]!.push(perMessage(c0, await costNow(sb.url, sb.proc.pid), r.requests));
      return r;
    };
    const adminEnv = { SB_SECRET: SECRET, SB_MODE: 'single', SB_USERS: String(USERS), SB_DELAY_MS: staffEnv.SB_DELAY_MS };
    const groupEnv = { SB_SECRET: SECRET, SB_MODE: 'group', SB_GROUP_PREFIX: 'cg', SB_GROUPS: String(CUSTOMERS), SB_USERS: String(USERS), SB_DELAY_MS: staffEnv.SB_DELAY_MS };
    const targets: Array<[key: string, script: string, env: Record<string, string>]> = [
      ['staff', staffLua, staffEnv],
      ['admin', sendLua, adminEnv],
      ['admingroup', sendLua, groupEnv],
    ];
    const switchboard = targets.filter(([key]) => INBOUND.has(key));
    if (PHASES.has('inbound') && WARMUP > 0) {
      // Not recorded: the first run of each target warms up the JIT, the page cache and the store's
      // statements, and without this the first target of round 1 alone paid for them.
      log(`inbound warm-up: ${WARMUP} s per target`);
      if (INBOUND.has('bare')) await wrk(bare.url, staffLua, staffEnv, WARMUP);
      for (const [, script, env] of switchboard) await wrk(sb.url, script, env, WARMUP);
    }
    for (let r = 0; r < (PHASES.has('inbound') ? ROUNDS : 0); r++) {
      log(`inbound round ${r + 1}/${ROUNDS}`);
      if (INBOUND.has('bare')) inbound['bare']!.push(await wrk(bare.url, staffLua, staffEnv));
      // The Switchboard targets in turn, the order reversed every other round (002 first, then last), so
      // neither side of the 002 / admin pair always runs right after another load.
      for (const [key, script, env] of r % 2 === 0 ? switchboard : [...switchboard].reverse()) inbound[key]!.push(await measured(key, script, env));
    }

    // ------------------------------------------------------------------ outbound
    const convs = Array.from({ length: CUSTOMERS }, (_, i) => conversationIdOf(ACCOUNT, contactIdOf(ACCOUNT, `c${i + 1}`), ''));
    /** sb: app up → last reply (the figure of the target); sbSteady: first → last reply (without the probe's wait). */
    const out = { sb: [] as number[], sbSteady: [] as number[], bare: [] as number[], duplicates: 0, sbSteal: [] as number[], bareSteal: [] as number[] };
    const body = JSON.stringify({ ToUserId: 'c1', WorkerNum: AGENT, WorkerName: AGENT, ServiceId: '', MsgType: 'text', Content: 'reply', Tag: {} });
    let sbSent = 0;
    /** One Switchboard round: `n` replies sent while the app is down, then timed from its return. */
    const sbRound = async (r: number, n: number, record: boolean): Promise<void> => {
      log(`outbound round ${r}: ${n} replies while the app is down`);
      await json(`${app.url}/down`, { method: 'POST' });
      await pool(n, 32, async (i) => {
        await admin.ok('/message/send', { sender: AGENT, conv: { type: 1, target: convs[i % convs.length], line: 0 }, payload: { type: 1, searchableContent: `reply ${r}-${i}`, persistFlag: 3 } });
      });
      sbSent += n;
      const c0 = await costNow(sb.url, sb.proc.pid);
      const k0 = sysTicks();
      const t0 = Date.now();
      await json(`${app.url}/up`, { method: 'POST' });
      await until(async () => (await json<{ sb: number }>(`${app.url}/stats`)).sb >= sbSent, 'every reply at the app');
      const s = await json<{ sb: number; duplicates: number; lastSb: number; firstSb: number; sbHist: number[] }>(`${app.url}/stats`);
      log(`outbound round ${r}: first reply ${s.firstSb - t0} ms after the app came up; per 100 ms: ${s.sbHist.join(' ')}`);
      if (s.sb !== sbSent) throw new Error(`${s.sb} replies at the app, ${sbSent} sent`);
      out.duplicates += s.duplicates;
      const steal = stealPct(k0, sysTicks());
      // Until the outbox is idle (the delivery statuses are written after the last post).
      await until(async () => {
        const st = await admin.ok<{ pending: number; in_flight: number }>('/callback/stats', {});
        return st.pending === 0 && st.in_flight === 0;
      }, 'the outbox to drain');
      const cost = perMessage(c0, await costNow(sb.url, sb.proc.pid), n);
      const st = await admin.ok<{ pending: number; in_flight: number; dead: number }>('/callback/stats', {});
      if (st.dead > 0) throw new Error(`${st.dead} replies dead-lettered`);
      if (!record) return;
      out.sb.push(n / ((s.lastSb - t0) / 1000));
      out.sbSteady.push(n / (Math.max(1, s.lastSb - s.firstSb) / 1000));
      out.sbSteal.push(steal);
      costs['outbound']!.push(cost);
    };
    /** One round of the bare client: `n` posts at the channel's concurrency. */
    const bareRound = async (r: number, n: number, record: boolean): Promise<void> => {
      log(`outbound round ${r}: bare client`);
      await json(`${app.url}/reset`, { method: 'POST' });
      const b0 = Date.now();
      const kb = sysTicks();
      await pool(n, CONCURRENCY, async (i) => {
        // Addressed and signed by the very function the sender uses (request002), so the bare client does
        // the same per-post work but the platform's.
        const req = request002(`${app.url}/qmtapi`, APP, APP_SECRET, body, Date.now(), { idempotencyKey: `bare-${r}-${i}`, deliveryId: i, attempt: 1 });
        const res = await postJson(req.target, req.headers, req.body, 10_000);
        if (res.status !== 200) throw new Error(`bare post: HTTP ${res.status}`);
      });
      const stats = await json<{ accepted: number }>(`${app.url}/stats`);
      if (stats.accepted !== n) throw new Error(`bare: ${stats.accepted} of ${n} at the app`);
      if (!record) return;
      out.bare.push(n / ((Date.now() - b0) / 1000));
      out.bareSteal.push(stealPct(kb, sysTicks()));
    };
    if (PHASES.has('outbound') && WARMUP > 0) {
      // Not recorded, as the inbound warm-up: both sides' first round paid for their code's warm-up.
      const n = Math.max(1000, Math.round(REPLIES / 5));
      await sbRound(0, n, false);
      await bareRound(0, n, false);
    }
    for (let r = 1; r <= (PHASES.has('outbound') ? OUT_ROUNDS : 0); r++) {
      // The order alternates, so that neither side always runs right after the other's load.
      if (r % 2 === 1) {
        await sbRound(r, REPLIES, true);
        await bareRound(r, REPLIES, true);
      } else {
        await bareRound(r, REPLIES, true);
        await sbRound(r, REPLIES, true);
      }
    }
    if (out.duplicates > 0) throw new Error(`${out.duplicates} replies reached the app twice`);

    // ------------------------------------------------------------------ report
    const row = (label: string, xs: WrkResult[], base: number): string => {
      const rps = median(xs.map((x) => x.rps));
      return `| ${label} | ${Math.round(rps)} | ${median(xs.map((x) => x.p50)).toFixed(1)} | ${median(xs.map((x) => x.p99)).toFixed(1)} | ${(rps / base).toFixed(2)} | ${xs.map((x) => Math.round(x.rps)).join(' · ')} | ${xs.reduce((a, x) => a + x.errors, 0)} | ${xs.map((x) => x.steal.toFixed(1)).join(' · ')} | ${median(xs.map((x) => x.wrkUs)).toFixed(1)} |`;
    };
    const bareRps = median(inbound['bare']!.map((x) => x.rps));
    const adminRps = median(inbound['admin']!.map((x) => x.rps));
    const staffRps = median(inbound['staff']!.map((x) => x.rps));
    const groupRps = median(inbound['admingroup']!.map((x) => x.rps));
    const lines = [
      `bench/channel ${new Date().toISOString()} DURATION=${DURATION} CONNS=${CONNS} ROUNDS=${ROUNDS} CUSTOMERS=${CUSTOMERS} REPLIES=${REPLIES} OUT_ROUNDS=${OUT_ROUNDS} CONCURRENCY=${CONCURRENCY} cpus=${os.cpus().length}`,
      '',
      '| inbound | req/s (median) | p50 ms | p99 ms | vs bare Fastify | rounds | errors | steal % (rounds) | wrk CPU µs/req |',
      '|---|---:|---:|---:|---:|---|---:|---|---:|',
      row('bare Fastify, same 002 path', inbound['bare']!, bareRps),
      row('Switchboard 002 staffService/message', inbound['staff']!, bareRps),
      row('Switchboard admin message/send (single)', inbound['admin']!, bareRps),
      row('Switchboard admin message/send (3-member group)', inbound['admingroup']!, bareRps),
      '',
      `002 inbound / admin send: ${(staffRps / adminRps).toFixed(2)} (target ≥ 0.8)` +
        (inbound['admingroup']!.length > 0 ? `; for reference, 002 inbound / admin send into 3-member groups: ${(staffRps / groupRps).toFixed(2)}` : ''),
      `  per round (002 and admin measured back to back): ${pairs(inbound['staff']!.map((x) => x.rps), inbound['admin']!.map((x) => x.rps))}; ` +
        `by server CPU per message (admin ÷ 002, the load-robust form): ${pairs(costs['admin']!.map((c) => c.cpuMs), costs['staff']!.map((c) => c.cpuMs))}`,
      '',
      '| outbound | replies/s (median) | rounds | steal % (rounds) |',
      '|---|---:|---|---|',
      `| bare HTTP client → fake app | ${Math.round(median(out.bare))} | ${out.bare.map(Math.round).join(' · ')} | ${out.bareSteal.map((x) => x.toFixed(1)).join(' · ')} |`,
      `| Switchboard outbox → fake app | ${Math.round(median(out.sb))} | ${out.sb.map(Math.round).join(' · ')} | ${out.sbSteal.map((x) => x.toFixed(1)).join(' · ')} |`,
      `| Switchboard outbox, from its first reply | ${Math.round(median(out.sbSteady))} | ${out.sbSteady.map(Math.round).join(' · ')} | |`,
      '',
      `outbound Switchboard / bare client: ${(median(out.sb) / median(out.bare)).toFixed(2)} (target ≥ 0.5); duplicates at the app: ${out.duplicates}`,
      `  per round (outbox and bare client back to back, in turn first): ${pairs(out.sb, out.bare)}`,
      '',
      'Server cost per message (medians of the rounds; outbound: from the app coming back until the outbox is idle):',
      '',
      '| per message | store writes | group commits | server CPU ms (all threads) | of which main thread | other threads (writer…) |',
      '|---|---:|---:|---:|---:|---:|',
      ...(['staff', 'admin', 'admingroup', 'outbound'] as const)
        .filter((k) => costs[k]!.length > 0)
        .map((k) => {
          const xs = costs[k]!;
          const label = { staff: 'inbound 002 staffService/message', admin: 'admin message/send (single)', admingroup: 'admin message/send (3-member group)', outbound: 'outbound reply delivered' }[k];
          const cpu = median(xs.map((c) => c.cpuMs));
          const main = median(xs.map((c) => c.mainMs));
          return `| ${label} | ${median(xs.map((c) => c.writes)).toFixed(2)} | ${median(xs.map((c) => c.commits)).toFixed(3)} | ${cpu.toFixed(3)} | ${main.toFixed(3)} | ${median(xs.map((c) => c.cpuMs - c.mainMs)).toFixed(3)} |`;
        }),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench/results/channel-latest.txt'), `${lines.join('\n')}\n`);
  } finally {
    await closeCallbackAgents();
    for (const p of running.reverse()) await stopProcess(p);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
