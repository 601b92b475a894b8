/**
 * bench/outbox/settle-loop — the SQLite outbox's work per delivered channel reply, two builds side by
 * side in one process (no HTTP, no fake app, no writer thread: the store's own statements, its commits
 * and fsyncs, which is what the writer thread spends on outbound replies; docs/benchmarks.md).
 *
 * For each build (`A=<dist dir>`, `B=<dist dir>`, default this tree's dist/ for both), each slice: a
 * fresh SQLite store (FULL) with KEYS conversations of PER_KEY replies each — the job as the planner
 * makes it (body, meta, ref) and its channel record (pending) — is prepared untimed; then, timed, the
 * loop a dispatcher runs: every key's first job claimed, then settles of up to BATCH delivered outcomes
 * (as the server settles them since 2026-12-03: no record, `sent` stays in the job; SENT_RECORD=1 adds
 * the reply's `channel.delivery` record, sent only from none / pending, as before), up to INFLIGHT
 * settles at once, each leasing its keys' next jobs (settle-and-claim-next), until every job is
 * delivered. Reports the CPU of the thread running the store (what the writer thread does in the server) per
 * delivered job and the per-slice-pair ratio B/A.
 *
 *   A=/work/wt/base/dist B=dist SLICES=10 npx tsx bench/outbox/settle-loop.ts
 *   env: SLICES=10 KEYS=200 PER_KEY=50 BATCH=16 INFLIGHT=4 SENT_RECORD=0
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, quantile } from '../lib/ab.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const A = path.resolve(process.env['A'] ?? path.join(ROOT, 'dist'));
const B = path.resolve(process.env['B'] ?? path.join(ROOT, 'dist'));
const SLICES = Number(process.env['SLICES'] ?? 10);
const KEYS = Number(process.env['KEYS'] ?? 200);
const PER_KEY = Number(process.env['PER_KEY'] ?? 50);
const BATCH = Number(process.env['BATCH'] ?? 16);
const INFLIGHT = Number(process.env['INFLIGHT'] ?? 4);
/** The old dispatcher's delivered outcome (a `sent` record with each), to compare builds before the record model. */
const SENT_RECORD = process.env['SENT_RECORD'] === '1';
const CHANNEL = 'channel-app';
const APP = 'bench-app';

interface Job {
  id: number;
  nextAt: number;
  meta: Record<string, string>;
}
interface Outbox {
  enqueue(jobs: unknown[]): Promise<number[]>;
  claim(now: number, limit: number, leaseMs: number, opts?: unknown): Promise<Job[]>;
  settle(outcomes: unknown[], next?: unknown): Promise<number[]>;
  watch(listener: (jobs: Job[], how: string) => void): () => void;
  counts(): Promise<Record<string, number>>;
}
interface StoreLike {
  outbox: Outbox;
  channelApps: { recordMessage(m: unknown): Promise<unknown>; messageByGuid(guid: string): Promise<{ delivery: string } | null> };
  close(): Promise<void>;
}
interface Build {
  name: string;
  dist: string;
  open(file: string): StoreLike;
  outboundRecord(meta: Record<string, string>, job: { appId: string; kind: string; createTime: number }, at: number): unknown;
}

async function load(name: string, dist: string): Promise<Build> {
  const { SqliteStore } = (await import(path.join(dist, 'store/sqlite/sqlite-store.js'))) as { SqliteStore: new (o: Record<string, unknown>) => StoreLike };
  const core = (await import(path.join(dist, 'core/services/channel-deliveries.js'))) as Pick<Build, 'outboundRecord'>;
  return {
    name,
    dist,
    open: (file) => new SqliteStore({ file, synchronous: 'FULL', nodeId: 1, commitMaxBatch: 512, commitMaxDelayMs: 0, inlineFanoutMax: 10 }),
    outboundRecord: core.outboundRecord,
  };
}

const BODY = JSON.stringify({
  msgType: 'text',
  content: 'reply '.repeat(40),
  fromUserId: 'agent1',
  toUserId: 'customer',
  accname: 'bench-account',
  workerNum: 'agent1',
  workerName: 'Agent One',
  time: 1764700000000,
});

async function prepare(b: Build, dir: string, slice: number): Promise<StoreLike> {
  const s = b.open(path.join(dir, `${b.name}-${slice}.db`));
  let uid = 1_000_000;
  // Round-robin over the conversations, as replies come: a key's jobs are KEYS ids apart.
  for (let n = 0; n < PER_KEY; n++) {
    const jobs = [];
    for (let k = 0; k < KEYS; k++) {
      uid++;
      const guid = `g-${k}-${n}-${uid}`;
      const meta = {
        idempotencyKey: `sb-${uid}`,
        uid: String(uid),
        guid,
        conversationId: `conv-${k}`,
        channelAccountId: 'bench-account',
        contactId: `contact-${k}`,
        channelId: 'ch1',
        contents: JSON.stringify([{ id: `${guid}-0`, type: 'text', text: 'reply '.repeat(8) }]),
        recorded: '1',
      };
      jobs.push({
        channel: CHANNEL,
        target: APP,
        orderKey: `${APP}|conv-${k}`,
        kind: 'Channel.002',
        body: JSON.parse(BODY) as Record<string, unknown>,
        meta,
        ref: `msg:${uid}`,
      });
    }
    // The planner's job carries its record (an effect of the send); enqueue() does not: recorded apart.
    await Promise.all(jobs.map((j) => s.channelApps.recordMessage(b.outboundRecord(j.meta, { appId: APP, kind: 'Channel.002', createTime: Date.now() }, Date.now()))));
    await s.outbox.enqueue(jobs);
  }
  return s;
}

/** This thread's CPU time in ns (the store runs here; the checkpointer's and fsync's threads are not counted). */
function threadCpuNs(): number {
  return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
}

/** Deliver every job of `s`; answers the process CPU in µs per delivered job. */
async function run(s: StoreLike): Promise<{ cpuUs: number; wallMs: number; n: number }> {
  const ready: Job[] = [];
  let wake: (() => void) | null = null;
  const stop = s.outbox.watch((jobs) => {
    ready.push(...jobs);
    wake?.();
  });
  const next = { [CHANNEL]: { leaseMs: 60_000, limit: 1_000, opts: { perTarget: 10_000 } } };
  const t0 = process.hrtime.bigint();
  const c0 = threadCpuNs();
  ready.push(...(await s.outbox.claim(Date.now(), KEYS, 60_000, { channels: [CHANNEL] })));
  let done = 0;
  let inflight = 0;
  const total = KEYS * PER_KEY;
  await new Promise<void>((resolve, reject) => {
    const pump = (): void => {
      while (inflight < INFLIGHT && ready.length > 0) {
        const batch = ready.splice(0, BATCH);
        const now = Date.now();
        const outcomes = batch.map((j) => ({
          id: j.id,
          lease: j.nextAt,
          ok: true,
          response: 'ok',
          at: now,
          ...(SENT_RECORD ? { then: { records: [{ kind: 'channel.delivery', guid: j.meta['guid'], update: { delivery: 'sent', onlyFrom: ['none', 'pending'] }, updatedAt: now }] } } : {}),
        }));
        inflight++;
        s.outbox.settle(outcomes, next).then(
          (ids) => {
            inflight--;
            done += ids.length;
            if (done >= total) resolve();
            else pump();
          },
          reject,
        );
      }
    };
    wake = pump;
    pump();
  });
  const c = threadCpuNs() - c0;
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  stop();
  return { cpuUs: c / 1000 / done, wallMs, n: done };
}


async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-loop-'));
  const builds = [await load('A', A), await load('B', B)];
  const cpu: Record<string, number[]> = { A: [], B: [] };
  const ratios: number[] = [];
  console.log(`A=${A}\nB=${B}\nslices ${SLICES}, ${KEYS} keys × ${PER_KEY} jobs, settles of ${BATCH}, ${INFLIGHT} in flight`);
  try {
    // Warm-up slice of each build, not counted.
    for (let i = -1; i < SLICES; i++) {
      const order = i % 2 === 0 ? builds : [...builds].reverse();
      const got: Record<string, number> = {};
      for (const b of order) {
        const s = await prepare(b, dir, i + 1);
        const r = await run(s);
        const sample = (await s.channelApps.messageByGuid(`g-0-${PER_KEY - 1}-${1_000_001 + (PER_KEY - 1) * KEYS}`))?.delivery;
        await s.close();
        for (const f of fs.readdirSync(dir)) if (f.startsWith(`${b.name}-${i + 1}.db`)) fs.rmSync(path.join(dir, f));
        got[b.name] = r.cpuUs;
        if (i >= 0) cpu[b.name]!.push(r.cpuUs);
        console.log(`slice ${i} ${b.name}: ${r.cpuUs.toFixed(1)} µs CPU/job, ${(r.n / (r.wallMs / 1000)).toFixed(0)} jobs/s, last reply's record: ${sample}`);
      }
      if (i >= 0) ratios.push(got['B']! / got['A']!);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`A median ${median(cpu['A']!).toFixed(1)} µs, B median ${median(cpu['B']!).toFixed(1)} µs per job`);
  console.log(`B/A per slice pair: median ${median(ratios).toFixed(3)}, quartiles ${quantile(ratios, 0.25).toFixed(3)} – ${quantile(ratios, 0.75).toFixed(3)}`);
}

await main();
