/** Per-target circuit breaker settings. */
export interface BreakerOptions {
  /** Consecutive failed attempts that open the breaker; 0 turns breakers off. */
  threshold: number;
  /** How long the first opening lasts (ms, at most maxOpenMs); it doubles each time a probe fails, up to maxOpenMs. */
  minOpenMs: number;
  maxOpenMs: number;
}

const DEFAULTS: BreakerOptions = { threshold: 5, minOpenMs: 1_000, maxOpenMs: 60_000 };

interface State {
  failures: number;
  /** While now < openUntil the target is not claimed for; after it, one probe at a time. */
  openUntil: number;
  openMs: number;
}

/**
 * Circuit breakers by target key. Closed: claims as usual. After `threshold` consecutive failures the
 * breaker opens: the target's jobs stay pending, their attempts untouched, so an outage does not burn
 * every queued job's retries or hold the delivery slots other targets need. Once open time has passed
 * it is half-open: one probe attempt at a time; a success closes it, a failure opens it again for twice
 * as long. State is per node and in memory: a restart starts closed.
 */
export class CircuitBreakers {
  private readonly opts: BreakerOptions;
  private readonly states = new Map<string, State>();

  constructor(opts: Partial<BreakerOptions>) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** A delivery to the target succeeded. Returns true when this closed an open breaker. */
  success(key: string): boolean {
    const wasOpen = (this.states.get(key)?.openUntil ?? 0) > 0;
    this.states.delete(key);
    return wasOpen;
  }

  /** An attempt to the target failed. Returns true when this (re)opened the breaker. */
  failure(key: string, now: number): boolean {
    if (this.opts.threshold <= 0) return false;
    const s = this.states.get(key) ?? { failures: 0, openUntil: 0, openMs: 0 };
    s.failures++;
    let opened = false;
    if (s.openUntil > 0 && now >= s.openUntil) {
      // A failed probe: open again, for longer.
      s.openMs = Math.min(s.openMs * 2, this.opts.maxOpenMs);
      s.openUntil = now + s.openMs;
      opened = true;
    } else if (s.openUntil === 0 && s.failures >= this.opts.threshold) {
      s.openMs = Math.min(this.opts.minOpenMs, this.opts.maxOpenMs);
      s.openUntil = now + s.openMs;
      opened = true;
    }
    this.states.set(key, s);
    return opened;
  }

  /** Targets not to claim for (open), and targets allowed one probe (half-open). */
  claimState(now: number): { exclude: string[]; probing: string[] } {
    const exclude: string[] = [];
    const probing: string[] = [];
    for (const [k, s] of this.states) {
      if (s.openUntil === 0) continue;
      if (now < s.openUntil) exclude.push(k);
      else probing.push(k);
    }
    return { exclude, probing };
  }

  /** When the target's breaker turns half-open (its next probe may start); 0 when it is closed. */
  openUntil(key: string): number {
    return this.states.get(key)?.openUntil ?? 0;
  }

  /** The earliest moment after `now` at which an open breaker turns half-open; Infinity when none will. */
  nextProbeAt(now: number): number {
    let next = Infinity;
    for (const s of this.states.values()) if (s.openUntil > now && s.openUntil < next) next = s.openUntil;
    return next;
  }

  /** For metrics and the delivery log: is the target's breaker open (or probing)? */
  isOpen(key: string): boolean {
    return (this.states.get(key)?.openUntil ?? 0) > 0;
  }
}
