/**
 * The statistics of the A/B benches (two builds, interleaved slices): quantiles, and the report row
 * of one measure — each build's median and the per-slice-pair ratio B/A with its quartiles, the form
 * to read on a shared machine (docs/benchmarks.md).
 */

/** The q-quantile of `xs` (nearest rank; q = 0.5 is the upper median of an even count). */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

export function median(xs: number[]): number {
  return quantile(xs, 0.5);
}

/** Ratios b[i] / a[i] of slices measured back to back (pairs with a missing side left out). */
export function ratios(a: number[], b: number[]): number[] {
  return a.map((x, i) => (b[i] ?? NaN) / x).filter((x) => Number.isFinite(x));
}

/** `| label | median A | median B | B/A median | quartiles |`; `digits` for the medians (ratios: 3). */
export function abRow(label: string, a: number[], b: number[], digits = 1): string {
  const r = ratios(a, b);
  return `| ${label} | ${median(a).toFixed(digits)} | ${median(b).toFixed(digits)} | ${median(r).toFixed(3)} | ${quantile(r, 0.25).toFixed(3)} – ${quantile(r, 0.75).toFixed(3)} |`;
}
