
/**
 * Route-specific promises of docs/admin-api.md that a generic invariant cannot see: inputs the docs
 * say are refused (251) but that a loose implementation accepts. Each oracle looks at an accepted
 * request (code 0) and names what should have been refused.
 */
export interface Oracle {
  route: string;
  /** A description of the broken promise, or undefined. */
  check(body: unknown): string | undefined;
}

/** group/modify: for types 3..8 the value is a plain decimal integer in the type's range (docs, "POST /admin/group/modify"). */
const MODIFY_RANGES: Record<number, [number, number]> = { 3: [0, 1], 4: [0, 2], 5: [0, 1], 6: [0, 1], 7: [0, 1], 8: [1, 1_000_000] };

export const ORACLES: readonly Oracle[] = [
  {
    route: '/admin/group/modify',
    check(body) {
      if (body === null || typeof body !== 'object') return undefined;
      const { type, value } = body as { type?: unknown; value?: unknown };
      if (typeof type !== 'number' || !(type in MODIFY_RANGES) || typeof value !== 'string') return undefined;
      const [lo, hi] = MODIFY_RANGES[type]!;
      const plain = /^[0-9]+$/.test(value) && Number(value) >= lo && Number(value) <= hi;
      return plain ? undefined : `group/modify type ${type} accepted value ${JSON.stringify(value)}; the docs promise 251 for a value that is not a decimal integer in ${lo}..${hi}`;
    },
  },
];

/** Every broken promise of an accepted request to `route` with `body`. */
export function oracleViolations(route: string, body: unknown): string[] {
  const out: string[] = [];
  for (const o of ORACLES) {
    if (o.route !== route) continue;
    const v = o.check(body);
    if (v) out.push(v);
  }
  return out;
}
