/**
 * bench/send/ab-cpu — two builds' admin sends side by side in one process, by CPU per message.
 *
 * A and B (`A=<dist dir>`, `B=<dist dir>`, default this tree's dist/ for both) each start a server on
 * their own SQLite data directory (FULL, their store thread) in this process, with USERS users,
 * GROUPS groups of GROUP_SIZE and of SMALL_GROUP_SIZE members. Then SLICES times, A and B in turn
 * (the order flipped every slice), each runs PER_SLICE sends of each kind (single chat, group, small
 * group) through `hub.messages.send` (the admin API's use case, below HTTP), CONC at a time, and the
 * process CPU (user + system, every thread: while one build runs the other is idle) is read per slice.
 * Fine interleaving puts both builds under the same load, so the ratio B/A per slice pair is what to
 * read on a shared machine; the report gives its median and quartiles per kind.
 *
 *
 * STORE=pg: each build on PostgreSQL + Redis instead (bench/pg-cluster.ts: its own fresh schema and key
 * prefix, dropped afterwards); the report adds PostgreSQL's CPU per send (user + system of every
 * `postgres` process on this machine, from /proc: the builds' backends, and whatever else uses that
 * server meanwhile, so read the ratios of interleaved slices).
 *
 * The report also gives each kind's sends per second of wall time per slice (CONC in flight): what
 * latency-bound changes (e.g. overlapping PostgreSQL batches) move while CPU per send stays put.
 *
 *   A=/other/tree/dist B=dist npx tsx bench/send/ab-cpu.ts
 *   env: SLICES=16 PER_SLICE=2000 CONC=64 USERS=1000 GROUPS=20 GROUP_SIZE=20 SMALL_GROUP_SIZE=5 STORE=sqlite|pg KINDS=single,group,small
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { abRow } from '../lib/ab.js';
import { pool, startInProcess, type Conv, type HubLike } from '../lib/in-process.js';
import { pgClusterStorage, type PgClusterStorage } from '../pg-cluster.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const A = path.resolve(process.env['A'] ?? path.join(ROOT, 'dist'));
const B = path.resolve(process.env['B'] ?? path.join(ROOT, 'dist'));
const SLICES = Number(process.env['SLICES'] ?? 16);
const PER_SLICE = Number(process.env['PER_SLICE'] ?? 2000);
const CONC = Number(process.env['CONC'] ?? 64);
const USERS = Number(process.env['USERS'] ?? 1000);
const GROUPS = Number(process.env['GROUPS'] ?? 20);
const GROUP_SIZE = Number(process.env['GROUP_SIZE'] ?? 20);
const SMALL_GROUP_SIZE = Number(process.env['SMALL_GROUP_SIZE'] ?? 5);
const STORE = process.env['STORE'] ?? 'sqlite';
if (STORE !== 'sqlite' && STORE !== 'pg') throw new Error(`STORE: unknown "${STORE}" (sqlite, pg)`);
const ONLY = (process.env['KINDS'] ?? 'single,group,small').split(',');
const TICK_US = 1e6 / 100; // USER_HZ

/** CPU (µs, user + system) of every postgres process on this machine so far. */
function pgCpu(): number {
  if (STORE !== 'pg') return 0;
  let ticks = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (!stat.slice(stat.indexOf('(') + 1, close).startsWith('postgres')) continue;
      const f = stat.slice(close + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // exited meanwhile
    }
  }
  return ticks * TICK_US;
}

interface Build {
  name: string;
  hub: HubLike;
  payload: Record<string, unknown>;
  close(): Promise<void>;
}

async function start(name: string, dist: string): Promise<Build> {
  const storage: PgClusterStorage | null = STORE === 'pg' ? pgClusterStorage() : null;
  const sb = await startInProcess(
    dist,
    `ab-${name}`,
    storage
      ? { store: { url: storage.env['SWITCHBOARD_STORE_URL'], schema: storage.schema }, bus: { url: storage.env['SWITCHBOARD_BUS_URL'], prefix: storage.prefix } }
      : {},
  );
  const { normalizePayload } = await sb.load<{ normalizePayload(p: Record<string, unknown>): Record<string, unknown> }>('core/payload.js');
  const hub = sb.hub;
  await pool(USERS, 32, (i) => hub.users.create(`u${i + 1}`, { name: `u${i + 1}` }));
  const members = (n: number, g: number): Array<{ memberId: string }> => Array.from({ length: n - 1 }, (_, k) => ({ memberId: `u${((g * n + k) % (USERS - 1)) + 2}` }));
  for (let g = 0; g < GROUPS; g++) {
    await hub.groups.create('u1', `g${g + 1}`, { name: `g${g + 1}`, owner: 'u1' }, members(GROUP_SIZE, g), { lines: [] });
    await hub.groups.create('u1', `s${g + 1}`, { name: `s${g + 1}`, owner: 'u1' }, members(SMALL_GROUP_SIZE, g), { lines: [] });
  }
  return {
    name,
    hub,
    payload: normalizePayload({ type: 1, searchableContent: 'hello', persistFlag: 3 }),
    close: async () => {
      await sb.close();
      await storage?.drop();
    },
  };
}

const KINDS: Array<[string, (i: number) => Conv]> = (
  [
    ['single', `single`, (i) => ({ type: 0, target: `u${(i % (USERS - 1)) + 2}`, line: 0 })],
    ['group', `group (${GROUP_SIZE})`, (i) => ({ type: 1, target: `g${(i % GROUPS) + 1}`, line: 0 })],
    ['small', `small group (${SMALL_GROUP_SIZE})`, (i) => ({ type: 1, target: `s${(i % GROUPS) + 1}`, line: 0 })],
  ] as Array<[string, string, (i: number) => Conv]>
)
  .filter(([k]) => ONLY.includes(k))
  .map(([, label, conv]) => [label, conv]);

/** CPU µs per send of one slice of one kind on one build: this process's, and PostgreSQL's (STORE=pg). */
async function slice(b: Build, conv: (i: number) => Conv): Promise<{ node: number; pg: number; rate: number }> {
  const c0 = process.cpuUsage();
  const p0 = pgCpu();
  const t0 = performance.now();
  await pool(PER_SLICE, CONC, (i) => b.hub.messages.send({ sender: 'u1', conv: conv(i), payload: b.payload }));
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { node: (c.user + c.system) / PER_SLICE, pg: (pgCpu() - p0) / PER_SLICE, rate: (PER_SLICE * 1000) / ms };
}

async function main(): Promise<void> {
  const builds = [await start('A', A), await start('B', B)] as const;
  try {
    for (const b of builds) for (const [, conv] of KINDS) await slice(b, conv); // warm-up
    const per: Record<string, { a: number[]; b: number[]; pa: number[]; pb: number[]; ra: number[]; rb: number[] }> = Object.fromEntries(
      KINDS.map(([k]) => [k, { a: [], b: [], pa: [], pb: [], ra: [], rb: [] }]),
    );
    for (let s = 0; s < SLICES; s++) {
      for (const [kind, conv] of KINDS) {
        const order = s % 2 === 0 ? [0, 1] : [1, 0];
        for (const i of order) {
          const r = await slice(builds[i]!, conv);
          (i === 0 ? per[kind]!.a : per[kind]!.b).push(r.node);
          (i === 0 ? per[kind]!.pa : per[kind]!.pb).push(r.pg);
          (i === 0 ? per[kind]!.ra : per[kind]!.rb).push(r.rate);
        }
      }
    }
    const lines = [
      `bench/send/ab-cpu ${new Date().toISOString()} A=${A} B=${B} STORE=${STORE} SLICES=${SLICES} PER_SLICE=${PER_SLICE} CONC=${CONC} load=${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`,
      '',
      '| kind | A µs CPU/send (median) | B µs CPU/send (median) | B/A per slice pair: median | quartiles |',
      '|---|---:|---:|---:|---|',
    ];
    for (const [kind] of KINDS) lines.push(abRow(kind, per[kind]!.a, per[kind]!.b));
    if (STORE === 'pg') for (const [kind] of KINDS) lines.push(abRow(`${kind}, PostgreSQL`, per[kind]!.pa, per[kind]!.pb));
    lines.push('', '| kind | A sends/s (median) | B sends/s (median) | B/A per slice pair: median | quartiles |', '|---|---:|---:|---:|---|');
    for (const [kind] of KINDS) lines.push(abRow(kind, per[kind]!.ra, per[kind]!.rb));
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const b of builds) await b.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
