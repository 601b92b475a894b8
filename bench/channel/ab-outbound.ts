/**
 * bench/channel/ab-outbound — two builds' outbound replies side by side in one process, by CPU per
 * delivered reply (what binds the outbound figure on 2 cores: docs/benchmarks.md).
 *
 * A and B (`A=<dist dir>`, `B=<dist dir>`, default this tree's dist/ for both) each start a server in
 * this process (FULL, its store thread, its own data directory) with a seed 002 app whose path_prefix
 * is a fake app of its own (bench/channel/fake-app.ts, a child process), one account, one agent and
 * CUSTOMERS customers who wrote once. Then SLICES times, A and B in turn (the order flipped every
 * slice), each: its app goes down (503: the breaker opens), the agent sends PER_SLICE replies
 * (round-robin over the conversations, through `hub.messages.send`), the app comes back, and the
 * process CPU (user + system, every thread; the other build is idle, the fake apps are other processes)
 * is read from the app's return until every reply is at the app and the outbox is idle again
 * (statuses included); the main thread's and the busiest other thread's (the active build's SQLite
 * writer) CPU are read from /proc/self/task too. Fine interleaving puts both builds under the same load, so the per-slice-pair
 * ratio B/A is what to read on a shared machine.
 *
 *   A=/other/tree/dist B=dist npx tsx bench/channel/ab-outbound.ts
 *   env: SLICES=12 PER_SLICE=3000 CUSTOMERS=200 CONCURRENCY=64
 *   PROFILE=<dir>: a V8 CPU profile of the main thread over B's delivery windows only (app up → outbox
 *   idle, every slice), written there as ab-outbound-B.cpuprofile (read it with bench/channel/cpuprofile.ts).
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { pool, startInProcess, type HubLike } from '../lib/in-process.js';
import { abRow } from '../lib/ab.js';
import { startListening } from '../lib/process.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const A = path.resolve(process.env['A'] ?? path.join(ROOT, 'dist'));
const B = path.resolve(process.env['B'] ?? path.join(ROOT, 'dist'));
const SLICES = Number(process.env['SLICES'] ?? 12);
const PER_SLICE = Number(process.env['PER_SLICE'] ?? 3000);
const CUSTOMERS = Number(process.env['CUSTOMERS'] ?? 200);
const CONCURRENCY = Number(process.env['CONCURRENCY'] ?? 64);
const PROFILE = process.env['PROFILE'];
const APP = 'bench-app';
const ACCOUNT = 'bench-account';
const AGENT = 'agent1';

interface OutboundHub extends HubLike {
  outbox: { counts(): Promise<Record<string, number>> };
}

function fakeApp(): Promise<{ proc: ChildProcess; url: string }> {
  return startListening(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/channel/fake-app.ts')]);
}

async function post(url: string): Promise<void> {
  await (await fetch(url, { method: 'POST' })).text();
}

async function sbAccepted(url: string): Promise<number> {
  return ((await (await fetch(`${url}/stats`)).json()) as { sb: number }).sb;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Build {
  name: string;
  hub: OutboundHub;
  app: { proc: ChildProcess; url: string };
  convs: string[];
  payload: Record<string, unknown>;
  sent: number;
  close(): Promise<void>;
}

async function start(name: string, dist: string): Promise<Build> {
  const app = await fakeApp();
  const sb = await startInProcess(dist, `ab-out-${name}`, {
    outbox: {
      channels: {
        'channel-app': { concurrency: CONCURRENCY, perTargetConcurrency: CONCURRENCY, breakerThreshold: 1, breakerMaxOpenMs: 100, maxAttempts: 100, firstRetryMs: 50, maxRetryMs: 200 },
      },
    },
  });
  const { normalizePayload } = await sb.load<{ normalizePayload(p: Record<string, unknown>): Record<string, unknown> }>('core/payload.js');
  const { contactIdOf, conversationIdOf } = await sb.load<{ contactIdOf(a: string, b: string): string; conversationIdOf(a: string, c: string, o: string): string }>(
    'core/channel-apps/model.js',
  );
  const hub = sb.hub as OutboundHub;
  await hub.users.create(AGENT, { name: AGENT });
  await hub.channelApps.create('app', { appId: APP, secret: 's', protocol: '002', baseUrl: `${app.url}/qmtapi`, outboundToken: '', versionId: '', defaultAccountId: '', status: 0, attributes: {} });
  await hub.channelApps.create('channelAccount', { channelAccountId: ACCOUNT, channelId: 'wechat', appId: APP, accountName: '', accountOriginalId: '', agents: [AGENT], enabled: true, attributes: {} });
  await pool(CUSTOMERS, 16, (i) => {
    const from = `c${i + 1}`;
    return hub.channelApps.receive002({ appId: APP, route: 'message', fromUserId: from, fromUserName: '', serviceId: '', msgType: 'text', content: 'hello', accname: '', raw: { FromUserId: from, MsgType: 'text', Content: 'hello' } });
  });
  return {
    name,
    hub,
    app,
    convs: Array.from({ length: CUSTOMERS }, (_, i) => conversationIdOf(ACCOUNT, contactIdOf(ACCOUNT, `c${i + 1}`), '')),
    payload: normalizePayload({ type: 1, searchableContent: 'reply', persistFlag: 3 }),
    sent: 0,
    close: async () => {
      await sb.close();
      app.proc.kill('SIGTERM');
    },
  };
}

/** CPU ns of each thread of this process (/proc/self/task/<tid>/schedstat; empty when unreadable: not Linux). */
function threadsNs(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of fs.readdirSync('/proc/self/task')) {
      try {
        out.set(tid, Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // not Linux
  }
  return out;
}

/**
 * One slice of one build: CPU µs per delivered reply (app up → outbox idle; all threads, the main
 * thread, and the busiest other thread — the active build's SQLite writer, the other build being idle),
 * and replies/s (app up → last reply).
 */
async function slice(b: Build, profiler?: Session): Promise<{ us: number; mainUs: number; writerUs: number; rate: number }> {
  await post(`${b.app.url}/down`);
  await pool(PER_SLICE, 32, (i) => b.hub.messages.send({ sender: AGENT, conv: { type: 1, target: b.convs[i % b.convs.length]!, line: 0 }, payload: b.payload }));
  b.sent += PER_SLICE;
  await sleep(300); // the jobs of the last sends: claimed, failed, given back
  await profiler?.post('Profiler.start');
  const c0 = process.cpuUsage();
  const th0 = threadsNs();
  const t0 = performance.now();
  await post(`${b.app.url}/up`);
  while ((await sbAccepted(b.app.url)) < b.sent) await sleep(10);
  const t1 = performance.now();
  for (;;) {
    const c = await b.hub.outbox.counts();
    if ((c['pending'] ?? 0) === 0 && (c['in_flight'] ?? 0) === 0) break;
    await sleep(10);
  }
  const c = process.cpuUsage(c0);
  const th1 = threadsNs();
  if (profiler) profiles.push((await profiler.post('Profiler.stop')).profile);
  let mainNs = 0;
  let writerNs = 0;
  for (const [tid, ns] of th1) {
    const d = ns - (th0.get(tid) ?? 0);
    if (tid === String(process.pid)) mainNs = d;
    else writerNs = Math.max(writerNs, d);
  }
  return { us: (c.user + c.system) / PER_SLICE, mainUs: mainNs / 1000 / PER_SLICE, writerUs: writerNs / 1000 / PER_SLICE, rate: PER_SLICE / ((t1 - t0) / 1000) };
}

/** B's delivery-window profiles (PROFILE), merged into one file at the end. */
const profiles: Array<{ nodes: unknown[]; samples?: number[]; timeDeltas?: number[]; startTime: number; endTime: number }> = [];

/** One .cpuprofile of every window: each window's node ids shifted past the previous ones', samples concatenated. */
function writeProfile(dir: string): void {
  if (profiles.length === 0) return;
  type Node = { id: number; children?: number[] };
  const nodes: Node[] = [];
  const samples: number[] = [];
  let shift = 0;
  for (const p of profiles) {
    let top = 0;
    for (const n of p.nodes as Node[]) {
      nodes.push({ ...n, id: n.id + shift, ...(n.children ? { children: n.children.map((c) => c + shift) } : {}) });
      top = Math.max(top, n.id);
    }
    for (const x of p.samples ?? []) samples.push(x + shift);
    shift += top;
  }
  const out = { nodes, samples, timeDeltas: profiles.flatMap((p) => p.timeDeltas ?? []), startTime: profiles[0]!.startTime, endTime: profiles.at(-1)!.endTime };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'ab-outbound-B.cpuprofile'), JSON.stringify(out));
}

async function main(): Promise<void> {
  const builds = [await start('A', A), await start('B', B)] as const;
  const profiler = PROFILE ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
  }
  try {
    for (const b of builds) await slice(b); // warm-up
    const us: [number[], number[]] = [[], []];
    const mainUs: [number[], number[]] = [[], []];
    const writerUs: [number[], number[]] = [[], []];
    const rate: [number[], number[]] = [[], []];
    for (let s = 0; s < SLICES; s++) {
      for (const i of s % 2 === 0 ? [0, 1] : [1, 0]) {
        const r = await slice(builds[i]!, i === 1 ? profiler : undefined);
        us[i]!.push(r.us);
        mainUs[i]!.push(r.mainUs);
        writerUs[i]!.push(r.writerUs);
        rate[i]!.push(r.rate);
        process.stderr.write(
          `slice ${s + 1} ${builds[i]!.name}: ${r.us.toFixed(1)} µs/reply (main ${r.mainUs.toFixed(1)}, writer ${r.writerUs.toFixed(1)}), ${Math.round(r.rate)} replies/s\n`,
        );
      }
    }
    const lines = [
      `bench/channel/ab-outbound ${new Date().toISOString()} A=${A} B=${B} SLICES=${SLICES} PER_SLICE=${PER_SLICE} CUSTOMERS=${CUSTOMERS} CONCURRENCY=${CONCURRENCY} load=${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`,
      '',
      '| | A (median) | B (median) | B/A per slice pair: median | quartiles |',
      '|---|---:|---:|---:|---|',
      abRow('process CPU µs per delivered reply', us[0], us[1]),
      abRow('main thread CPU µs per delivered reply', mainUs[0], mainUs[1]),
      abRow('busiest other thread (the writer) CPU µs per reply', writerUs[0], writerUs[1]),
      abRow('replies/s (app up → last reply)', rate[0], rate[1], 0),
      '',
      `A µs: ${us[0].map((x) => x.toFixed(1)).join(' · ')}`,
      `B µs: ${us[1].map((x) => x.toFixed(1)).join(' · ')}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (PROFILE) writeProfile(PROFILE);
  } finally {
    for (const b of builds) await b.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
