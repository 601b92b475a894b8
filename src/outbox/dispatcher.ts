import type { Bus } from '../core/ports/bus.js';
import type { OutboxJob, OutboxStore } from '../core/ports/outbox.js';
import type { Logger } from '../log.js';

/** What a sender reports for one attempt. */
export interface Attempt {
  ok: boolean;
  /** For the delivery log. */
  response: string;
  error?: string;
  /** False: retrying cannot help (e.g. the target no longer exists): dead-letter now. */
  retryable?: boolean;
}

/** Delivers the jobs of one outbox channel (webhook today; channel-app, smtp, sms later). */
export interface Sender {
  deliver(job: OutboxJob): Promise<Attempt>;
}

export interface DispatcherOptions {
  /** Jobs in flight at once. */
  concurrency: number;
  /** How long a claimed job stays leased to this dispatcher (longer than any attempt). */
  leaseMs: number;
  /** Attempts before a job is dead-lettered. */
  maxAttempts: number;
  /** Delay before the first retry; it doubles per attempt up to maxRetryMs. */
  firstRetryMs: number;
  maxRetryMs: number;
  /** Claim at least this often even without a wake-up. */
  pollMs: number;
  /**
   * Wake-ups within this window share one claim (ms): under load one claim takes many jobs instead of
   * one per commit. Adds at most this much to a callback's delay.
   */
  claimDelayMs?: number;
  onResult?: (job: OutboxJob, ok: boolean, dead: boolean) => void;
}

/**
 * Runs outbox jobs: claims due jobs (woken by the bus after commits, and on a poll), delivers them
 * through the sender of their channel with at most `concurrency` in flight, then records success,
 * a retry at now + firstRetryMs·2^(attempt−1) (capped), or the dead-letter state after maxAttempts.
 * A job of a channel without a sender is dead-lettered. Delivery is at least once: the job id is the
 * stable delivery id.
 */
export class OutboxDispatcher {
  private inFlight = 0;
  private claiming: Promise<void> | null = null;
  private pending: NodeJS.Timeout | null = null;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private idle: Array<() => void> = [];

  constructor(
    private readonly outbox: OutboxStore,
    private readonly bus: Bus,
    private readonly senders: Record<string, Sender>,
    private readonly opts: DispatcherOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.unsubscribe = this.bus.subscribe((e) => {
      if (e.type === 'outbox.wake') this.kick();
    });
    this.timer = setInterval(() => this.kick(), this.opts.pollMs);
    this.timer.unref();
    this.kick();
  }

  /** Claim soon (coalesced: one claim loop at a time, wake-ups within claimDelayMs share it). */
  kick(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    if (this.pending) return;
    const delay = this.opts.claimDelayMs ?? 0;
    const start = (): void => {
      this.pending = null;
      if (this.stopped || this.claiming) return;
      this.claiming = this.claimLoop().finally(() => {
        this.claiming = null;
      });
    };
    if (delay > 0) {
      this.pending = setTimeout(start, delay);
    } else {
      start();
    }
  }

  private async claimLoop(): Promise<void> {
    try {
      do {
        this.again = false;
        // Claim in chunks (each claim is a durable write): when idle, or once a quarter of the slots is free.
        const chunk = Math.max(1, Math.floor(this.opts.concurrency / 4));
        while (!this.stopped && (this.inFlight === 0 || this.opts.concurrency - this.inFlight >= chunk)) {
          const free = this.opts.concurrency - this.inFlight;
          const jobs = await this.outbox.claim(Date.now(), free, this.opts.leaseMs);
          // Stopped meanwhile: leave the jobs to their lease (claimed again later, same delivery id).
          if (this.stopped) return;
          for (const j of jobs) this.run(j);
          if (jobs.length < free) break;
        }
      } while (this.again && !this.stopped);
    } catch (err) {
      this.log.error({ err }, 'outbox claim failed');
    }
  }

  private run(job: OutboxJob): void {
    this.inFlight++;
    void this.attempt(job).finally(() => {
      this.inFlight--;
      if (this.inFlight === 0) for (const r of this.idle.splice(0)) r();
      this.kick();
    });
  }

  private async attempt(job: OutboxJob): Promise<void> {
    const sender = this.senders[job.channel];
    let a: Attempt;
    if (!sender) {
      a = { ok: false, response: '', error: `no sender for channel ${job.channel}`, retryable: false };
    } else {
      try {
        a = await sender.deliver(job);
      } catch (err) {
        a = { ok: false, response: '', error: err instanceof Error ? err.message : String(err) };
      }
    }
    const now = Date.now();
    try {
      if (a.ok) {
        await this.outbox.complete(job.id, a.response, now);
        this.opts.onResult?.(job, true, false);
        return;
      }
      // job.attempts counts earlier attempts; this one is number attempts + 1.
      const attempt = job.attempts + 1;
      const dead = a.retryable === false || attempt >= this.opts.maxAttempts;
      const delay = Math.min(this.opts.firstRetryMs * 2 ** (attempt - 1), this.opts.maxRetryMs);
      await this.outbox.fail(job.id, a.error ?? 'failed', a.response, dead ? null : now + delay);
      this.opts.onResult?.(job, false, dead);
      if (dead) this.log.warn({ job: job.id, kind: job.kind, target: job.target, error: a.error }, 'outbox job dead-lettered');
    } catch (err) {
      // Recording failed (store unavailable): the lease runs out and the job is claimed again.
      this.log.error({ err, job: job.id }, 'recording an outbox attempt failed');
    }
  }

  /** Stop claiming, wait for a claim under way, then for the jobs in flight (their results are recorded). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.pending) clearTimeout(this.pending);
    this.unsubscribe?.();
    if (this.claiming) await this.claiming;
    if (this.inFlight > 0) await new Promise<void>((r) => this.idle.push(r));
  }
}
