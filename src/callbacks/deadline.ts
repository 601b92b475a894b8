/**
 * Deadlines of callback attempts, on one shared timer wheel: a single interval (every TICK_MS, unref'd,
 * running only while some deadline is pending) fires every deadline that has passed. Registering and
 * cancelling one is a Set insert and delete, with no timer or AbortSignal per attempt (measured: an
 * AbortSignal.timeout per request cost 35–50 % more CPU per callback than this; see docs/callbacks.md).
 *
 * Contract: a deadline registered for `ms` fires once, no earlier than `ms` after registration and at
 * most TICK_MS (plus event-loop delay) later; a cancelled one never fires. Times are monotonic
 * (performance.now()), so wall-clock jumps do not move them.
 */

export const TICK_MS = 100;

/** An attempt that ran out of time (whatever phase it was in). `isTimeout` recognises it. */
export class CallbackTimeoutError extends Error {
  readonly code = 'SB_CALLBACK_TIMEOUT';
  constructor(readonly timeoutMs: number) {
    super(`timeout after ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/** Every timeout an attempt can end with: ours, undici's (connect, headers, body) and aborts. */
export function isTimeout(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as Error & { code?: unknown }).code;
  return (
    e instanceof CallbackTimeoutError ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    e.name === 'TimeoutError' ||
    e.name === 'AbortError' ||
    e.name === 'ConnectTimeoutError'
  );
}

export interface Deadline {
  /** performance.now() at which it fires. */
  readonly at: number;
  readonly fire: () => void;
}

class Wheel {
  private readonly pending = new Set<Deadline>();
  private timer: NodeJS.Timeout | null = null;

  /** Calls `fire` once `ms` have passed, unless cancelled first. */
  add(ms: number, fire: () => void): Deadline {
    const d: Deadline = { at: performance.now() + ms, fire };
    this.pending.add(d);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
    }
    return d;
  }

  cancel(d: Deadline): void {
    this.pending.delete(d);
  }

  /** Deadlines not yet fired nor cancelled (tests). */
  get size(): number {
    return this.pending.size;
  }

  private tick(): void {
    const now = performance.now();
    for (const d of this.pending) {
      if (d.at > now) continue;
      this.pending.delete(d);
      try {
        d.fire();
      } catch {
        // A deadline's action must not throw; one that does must not stop the others.
      }
    }
    if (this.pending.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

/** The process's one wheel for callback attempts. */
export const deadlines = new Wheel();
