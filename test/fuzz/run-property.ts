import path from 'node:path';
import fc from 'fast-check';
import { budgetMs, FUZZ, runsFor, seedFor } from './config.js';

/**
 * Runs one fuzz property with fast-check: seeded (FUZZ_SEED), bounded in cases and time, and on
 * failure throws a report with the seed, the path, the command that replays exactly that case and a
 * readable (truncated) summary of the input.
 */

export interface FuzzProperty<T> {
  /** Also the vitest test name, so `-t` finds it. */
  name: string;
  /** The test file (for the replay command): pass `import.meta.url` or a path. */
  file: string;
  arb: fc.Arbitrary<T>;
  /** Cases in `npm test` and in `npm run fuzz`. */
  runs: [short: number, long: number];
  /**
   * Time budget in ms (short, long): past it no new case starts, and the property ends as a success if
   * nothing failed. The case running at that moment is waited for (and its failure reported): one still
   * running when the next property starts would change the data that property checks.
   */
  budgetMs: [short: number, long: number];
  /** Checks one case; throws (an invariant violation) to fail it. */
  check: (input: T) => Promise<void>;
  /** A readable description of a case (default: a truncated JSON-ish summary). */
  describe?: (input: T) => string;
  /** Runs once after the cases when none failed (e.g. a last canary check). */
  finish?: () => Promise<void>;
}

export async function runProperty<T>(p: FuzzProperty<T>): Promise<void> {
  const seed = seedFor(p.name);
  const numRuns = runsFor(p.runs[0], p.runs[1]);
  const started = performance.now();
  let inflight: { input: T; done: Promise<void> } | undefined;
  const details = await fc.check(
    fc.asyncProperty(p.arb, (input) => {
      const done = p.check(input);
      inflight = { input, done };
      return done;
    }),
    {
      seed,
      numRuns,
      ...(FUZZ.path ? { path: FUZZ.path } : {}),
      endOnFailure: !FUZZ.shrink,
      plugins: [fc.interruptAfterTimeLimit(budgetMs(p.budgetMs[0], p.budgetMs[1]))],
    },
  );
  // fast-check stops at the budget without waiting for the case under way: wait for it here.
  let late: { input: T; error: unknown } | undefined;
  if (details.interrupted && inflight) {
    const last: { input: T; done: Promise<void> } = inflight;
    await last.done.catch((error: unknown) => {
      late = { input: last.input, error };
    });
  }
  if (FUZZ.long || process.env['FUZZ_VERBOSE'] === '1') {
    console.log(`fuzz "${p.name}": ${details.numRuns} cases in ${Math.round(performance.now() - started)} ms, seed ${seed} (FUZZ_SEED=${FUZZ.baseSeed})${details.interrupted ? ', stopped by its time budget' : ''}`);
  }
  const file = path.relative(process.cwd(), p.file.startsWith('file:') ? new URL(p.file).pathname : p.file);
  if (late) {
    const { input, error } = late;
    throw new Error(
      [
        `fuzz property "${p.name}" failed in the case under way when its time budget ran out (case ${details.numRuns + 1})`,
        `  seed ${details.seed} (base FUZZ_SEED=${FUZZ.baseSeed}); no path: replay the seed with enough cases`,
        `  replay: FUZZ_SEED=${FUZZ.baseSeed} FUZZ_RUNS=${details.numRuns + 1} npx vitest run ${file} -t ${JSON.stringify(p.name)}`,
        `  input: ${(p.describe ?? summarize)(input)}`,
        `  failure: ${error instanceof Error ? error.message : String(error)}`,
      ].join('\n'),
    );
  }
  // Interrupted before any case completed counts as a failure for fast-check; the case did complete.
  const interruptedOnly = details.interrupted && details.counterexample === null && details.errorInstance === null;
  if (!details.failed || interruptedOnly) {
    await p.finish?.();
    return;
  }
  const input = (details.counterexample as [T] | null)?.[0];
  const err = details.errorInstance;
  const reason = err instanceof Error ? err.message : String(err);
  throw new Error(
    [
      `fuzz property "${p.name}" failed after ${details.numRuns} case(s)${details.numShrinks ? ` and ${details.numShrinks} shrinks` : ''}`,
      `  seed ${details.seed}, path ${details.counterexamplePath ?? '-'} (base FUZZ_SEED=${FUZZ.baseSeed})`,
      `  replay: FUZZ_SEED=${FUZZ.baseSeed} FUZZ_PATH=${details.counterexamplePath ?? ''} npx vitest run ${file} -t ${JSON.stringify(p.name)}`,
      `  input: ${input === undefined ? '-' : (p.describe ?? summarize)(input as T)}`,
      `  failure: ${reason}`,
    ].join('\n'),
  );
}

/** A JSON-like rendering that stays short: long strings, arrays and buffers are abbreviated. */
export function summarize(v: unknown, depth = 0): string {
  if (depth > 6) return '…';
  if (typeof v === 'string') return v.length > 120 ? `<${v.length} chars: ${JSON.stringify(v.slice(0, 60))}…>` : JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return String(v);
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) {
    const b = Buffer.from(v);
    return b.length > 64 ? `<${b.length} bytes: ${b.subarray(0, 32).toString('hex')}…>` : `<bytes ${b.toString('hex')}>`;
  }
  const custom = (v as { toString?: () => string }).toString;
  if (custom && custom !== Object.prototype.toString && !Array.isArray(v)) return custom.call(v);
  if (Array.isArray(v)) {
    const head = v.slice(0, 8).map((x) => summarize(x, depth + 1));
    return v.length > 8 ? `[${head.join(', ')}, …(${v.length} items)]` : `[${head.join(', ')}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>);
  const shown = entries.slice(0, 16).map(([k, x]) => `${JSON.stringify(k)}: ${summarize(x, depth + 1)}`);
  return `{${shown.join(', ')}${entries.length > 16 ? `, …(${entries.length} keys)` : ''}}`;
}
