/**
 * Summarise a V8 .cpuprofile (node --cpu-prof; one file per thread: main, the SQLite writer, the
 * checkpointer) by self time per file and per function, and total (inclusive) time per function.
 *
 *   npx tsx bench/channel/cpuprofile.ts <file.cpuprofile> [top=40]
 *   env FROM=<s> TO=<s>: only samples between these seconds of the profile (e.g. the wrk phase);
 *       TIMELINE=1: print the busy share per second first, to find that window.
 *
 * Time in native code called from JavaScript (SQLite statements, JSON.parse/stringify, hashing) counts
 * as the self time of the calling function.
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: cpuprofile.ts <file.cpuprofile> [top]');
const top = Number(process.argv[3] ?? 40);
const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const from = Number(process.env['FROM'] ?? -1e9) * 1e6;
const to = Number(process.env['TO'] ?? 1e9) * 1e6;

const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const idle = p.nodes.find((n) => n.callFrame.functionName === '(idle)')?.id;
const short = (url: string): string => url.replace(/^.*\/(src|dist|node_modules)\//, '$1/');
const fnKey = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const fileKey = (n: ProfileNode): string => short(n.callFrame.url).replace(/^(node_modules\/(@[^/]+\/)?[^/]+).*/, '$1') || n.callFrame.functionName;

const selfTime = new Map<number, number>();
const perSecond = new Map<number, { busy: number; idle: number }>();
let t = 0;
let total = 0;
for (let i = 0; i < p.samples.length; i++) {
  const d = p.timeDeltas[i] ?? 0;
  t += d;
  const id = p.samples[i]!;
  const s = Math.floor(t / 1e6);
  const b = perSecond.get(s) ?? { busy: 0, idle: 0 };
  if (id === idle) b.idle += d;
  else b.busy += d;
  perSecond.set(s, b);
  if (t < from || t > to) continue;
  total += d;
  selfTime.set(id, (selfTime.get(id) ?? 0) + d);
}

const add = (m: Map<string, number>, k: string, v: number): void => void m.set(k, (m.get(k) ?? 0) + v);
const selfByFn = new Map<string, number>();
const selfByFile = new Map<string, number>();
const totalByFn = new Map<string, number>();
for (const [id, v] of selfTime) {
  const n = byId.get(id)!;
  add(selfByFn, fnKey(n), v);
  add(selfByFile, fileKey(n), v);
  // Inclusive: once per function on the stack (recursion counted once).
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = fnKey(byId.get(cur)!);
    if (!seen.has(k)) {
      seen.add(k);
      add(totalByFn, k, v);
    }
  }
}

const print = (m: Map<string, number>, title: string): void => {
  process.stdout.write(`== ${title}\n`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${(v / 1000).toFixed(0).padStart(7)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}\n`);
  }
};
if (process.env['TIMELINE']) {
  const line = [...perSecond].map(([s, b]) => `${s}:${Math.round((100 * b.busy) / (b.busy + b.idle || 1))}%`).join(' ');
  process.stdout.write(`busy per second: ${line}\n`);
}
process.stdout.write(`sampled ${(total / 1000).toFixed(0)} ms\n`);
print(selfByFile, 'self time by file');
print(selfByFn, 'self time by function');
print(totalByFn, 'total time by function');
