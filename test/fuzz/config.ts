/**
 * Settings of the fuzz suite, all from the environment:
 *
 * - FUZZ_SEED: base seed (an integer). Each property derives its own seed from it and its name, so a
 *   printed FUZZ_SEED replays the same cases for every property. Default: random, printed on failure.
 * - FUZZ_PATH: replay one case of a property (the `path` printed on failure; use with `-t <name>`).
 * - FUZZ_RUNS: cases per property, overriding every default.
 * - FUZZ_LONG=1: the long run (`npm run fuzz` sets it through vitest.fuzz.config.ts): more cases and
 *   larger time budgets per property.
 * - FUZZ_SHRINK=1: shrink a failing case to a smaller one (slow against a server: off by default).
 */

function int(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got '${raw}'`);
  return n;
}

const baseSeed = int('FUZZ_SEED') ?? (Math.random() * 0x7fffffff) | 0;

export const FUZZ = {
  long: process.env['FUZZ_LONG'] === '1',
  baseSeed,
  path: process.env['FUZZ_PATH'] || undefined,
  runs: int('FUZZ_RUNS'),
  shrink: process.env['FUZZ_SHRINK'] === '1',
};

/** Cases for a property: FUZZ_RUNS, else its short or long default. */
export function runsFor(short: number, long: number): number {
  return FUZZ.runs ?? (FUZZ.long ? long : short);
}

/** A time budget: the short one in `npm test`, the long one in `npm run fuzz`. */
export function budgetMs(short: number, long: number): number {
  return FUZZ.long ? long : short;
}

/** A property's seed: the base seed mixed with its name (stable across runs with the same FUZZ_SEED). */
export function seedFor(name: string): number {
  let h = baseSeed ^ 0x9e3779b9;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** The deadline every reply must meet (the "no reply later than 5 s"). */
export const REPLY_DEADLINE_MS = 5000;

/** The vitest timeout of a property whose budget is (short, long): the budget plus room for a restart and the last case. */
export function testTimeoutMs(short: number, long: number): number {
  return budgetMs(short, long) + 60_000;
}

/** The server's body limit (admin.bodyLimitBytes default, which the fuzz servers keep). */
export const BODY_LIMIT = 1_048_576;
