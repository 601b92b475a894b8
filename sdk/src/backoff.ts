/** Reconnect backoff: exponential, capped, with jitter so many devices do not retry in lockstep. */
export interface BackoffOptions {
  /** Delay before the first retry (ms). Default 500. */
  initialDelayMs?: number;
  /** The cap: no delay is longer (ms). Default 30 000. */
  maxDelayMs?: number;
  /** Growth per attempt (≥ 1). Default 2. */
  factor?: number;
  /** Spread as a fraction of the delay, 0..1: the delay is drawn from base × [1 − jitter, 1 + jitter], then capped. Default 0.3. */
  jitter?: number;
}

export type Backoff = Required<BackoffOptions>;

export const DEFAULT_BACKOFF: Backoff = { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: 0.3 };

/** Defaults filled in; throws a RangeError naming the first bad field. */
export function backoffOptions(o: BackoffOptions = {}): Backoff {
  const b: Backoff = { ...DEFAULT_BACKOFF, ...definedOnly(o) };
  const finite = (k: keyof Backoff, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    const v = b[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new RangeError(`reconnect.${k} must be a number in [${min}, ${max}], got ${String(v)}`);
  };
  finite('initialDelayMs', 0);
  finite('maxDelayMs', 0);
  finite('factor', 1);
  finite('jitter', 0, 1);
  if (b.maxDelayMs < b.initialDelayMs) throw new RangeError(`reconnect.maxDelayMs (${b.maxDelayMs}) is below reconnect.initialDelayMs (${b.initialDelayMs})`);
  return b;
}

/**
 * The delay before retry number `attempt` (0 = the first retry): min(initial × factor^attempt, max)
 * spread by ±jitter, and never above `maxDelayMs`. `random` returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, b: Backoff, random: () => number = Math.random): number {
  const base = Math.min(b.initialDelayMs * b.factor ** attempt, b.maxDelayMs);
  const spread = base * (1 - b.jitter + 2 * b.jitter * random());
  return Math.max(0, Math.min(b.maxDelayMs, Math.round(spread)));
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
