/**
 * bench/channel/cpu-per-message — the process CPU (all threads: main, SQLite writer, GC) of one inbound
 * 002 message next to one admin send, without HTTP, wrk or the load of other processes in the figure.
 *
 * Starts a server of a build in this process (`SB_DIST`, default this tree's dist/), sets up one 002 app
 * and account with one agent and CUSTOMERS customers (each wrote once), and groups cg1..cgN shaped
 * like their conversations (owner u1, the contact's user, the agent). Then ROUNDS times, in turn:
 * N inbound 002 messages through `hub.channelApps.receive002` (what the staffService/message handler
 * calls after its checks), N admin sends into the cg groups and N single-chat admin sends through
 * `hub.messages.send`, CONC at a time, and reports process CPU µs per message (process.cpuUsage: user +
 * system of every thread) and wall time. A busy machine inflates every figure alike; the ratios of one
 * run are what to compare between builds (`SB_DIST=/other/tree/dist`).
 *
 *   npx tsx bench/channel/cpu-per-message.ts        env: N=20000 CONC=64 ROUNDS=3 CUSTOMERS=200 SB_DIST=dist
 *   KINDS=002,group,single (a subset, e.g. `KINDS=002` under `node --cpu-prof --import tsx` to profile one path);
 *   ALLOC=<file.json>: main-thread allocations of the measured rounds, by function (V8's sampling heap
 *   profiler, objects already collected included), written as [{bytes per message, function, url:line}]
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { pool, startInProcess } from '../lib/in-process.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DIST = path.resolve(process.env['SB_DIST'] ?? path.join(ROOT, 'dist'));
const N = Number(process.env['N'] ?? 20_000);
const CONC = Number(process.env['CONC'] ?? 64);
const ROUNDS = Number(process.env['ROUNDS'] ?? 3);
const CUSTOMERS = Number(process.env['CUSTOMERS'] ?? 200);
const APP = 'bench-app';
const ACCOUNT = 'bench-account';
const AGENT = 'agent1';
const KINDS = new Set((process.env['KINDS'] ?? '002,group,single').split(','));

async function main(): Promise<void> {
  const sb = await startInProcess(DIST, 'cpu-msg');
  const { normalizePayload } = await sb.load<{ normalizePayload(p: Record<string, unknown>): Record<string, unknown> }>('core/payload.js');
  const { contactIdOf } = await sb.load<{ contactIdOf(a: string, b: string): string }>('core/channel-apps/model.js');
  try {
    const hub = sb.hub;
    await pool(1000, 32, (i) => hub.users.create(`u${i + 1}`, { name: `u${i + 1}` }));
    await hub.users.create(AGENT, { name: AGENT });
    await hub.channelApps.create('app', { appId: APP, secret: 's', protocol: '002', baseUrl: 'http://127.0.0.1:9/x', outboundToken: '', versionId: '', defaultAccountId: '', status: 0, attributes: {} });
    await hub.channelApps.create('channelAccount', { channelAccountId: ACCOUNT, channelId: 'wechat', appId: APP, accountName: '', accountOriginalId: '', agents: [AGENT], enabled: true, attributes: {} });
    const inbound = (i: number): Record<string, unknown> => {
      const from = `c${(i % CUSTOMERS) + 1}`;
      return { appId: APP, route: 'message', fromUserId: from, fromUserName: '', serviceId: '', msgType: 'text', content: 'hello', accname: '', raw: { FromUserId: from, MsgType: 'text', Content: 'hello' } };
    };
    await pool(CUSTOMERS, 16, (i) => hub.channelApps.receive002(inbound(i)));
    await pool(CUSTOMERS, 16, (i) =>
      hub.groups.create('u1', `cg${i + 1}`, { name: `cg${i + 1}`, owner: 'u1' }, [{ memberId: contactIdOf(ACCOUNT, `c${i + 1}`) }, { memberId: AGENT }], { lines: [] }),
    );
    const payload = normalizePayload({ type: 1, searchableContent: 'hello', persistFlag: 3 });
    const all: Array<[string, string, (i: number) => Promise<unknown>]> = [
      ['002', '002 receive002', (i) => hub.channelApps.receive002(inbound(i))],
      ['group', 'admin send, 3-member group', (i) => hub.messages.send({ sender: 'u1', conv: { type: 1, target: `cg${(i % CUSTOMERS) + 1}`, line: 0 }, payload })],
      ['single', 'admin send, single', (i) => hub.messages.send({ sender: 'u1', conv: { type: 0, target: `u${(i % 999) + 2}`, line: 0 }, payload })],
    ];
    const kinds = Object.fromEntries(all.filter(([k]) => KINDS.has(k)).map(([, name, run]) => [name, run]));
    const us: Record<string, number[]> = {};
    const wall: Record<string, number[]> = {};
    for (const name of Object.keys(kinds)) await pool(2000, CONC, kinds[name]!); // warm-up
    const alloc = process.env['ALLOC'] ? new Session() : undefined;
    if (alloc) {
      alloc.connect();
      await alloc.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, run] of Object.entries(kinds)) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await pool(N, CONC, run);
        const c = process.cpuUsage(c0);
        (wall[name] ??= []).push((performance.now() - t0) / 1000);
        (us[name] ??= []).push((c.user + c.system) / N);
      }
    }
    if (alloc) {
      const { profile } = await alloc.post('HeapProfiler.stopSampling');
      const self = new Map<string, number>();
      const walk = (n: typeof profile.head): void => {
        const k = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
        self.set(k, (self.get(k) ?? 0) + n.selfSize);
        for (const c of n.children) walk(c);
      };
      walk(profile.head);
      const msgs = N * ROUNDS * Object.keys(kinds).length;
      const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, 60).map(([fn, bytes]) => ({ bytesPerMessage: Math.round(bytes / msgs), fn }));
      fs.writeFileSync(process.env['ALLOC']!, JSON.stringify(rows, null, 1));
      alloc.disconnect();
    }
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const base = us['admin send, single'] ? med(us['admin send, single']) : NaN;
    const lines = [`bench/channel/cpu-per-message ${new Date().toISOString()} SB_DIST=${DIST} N=${N} CONC=${CONC} ROUNDS=${ROUNDS} load=${os.loadavg()[0]!.toFixed(1)}`, ''];
    lines.push('| per message | process CPU µs (median) | min | rounds | vs admin single | msgs/s (wall, median) |', '|---|---:|---:|---|---:|---:|');
    for (const name of Object.keys(kinds)) {
      const m = med(us[name]!);
      lines.push(`| ${name} | ${m.toFixed(1)} | ${Math.min(...us[name]!).toFixed(1)} | ${us[name]!.map((x) => x.toFixed(1)).join(' · ')} | ${(m / base).toFixed(2)} | ${Math.round(N / med(wall[name]!))} |`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await sb.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
