import type { Bus } from '../core/ports/bus.js';
import { targetKey, type AttemptOutcome, type OutboxJob, type OutboxStore } from '../core/ports/outbox.js';
import type { Logger } from '../log.js';
import { CircuitBreakers, type BreakerOptions } from './breaker.js';

/** How long a leased job may wait for a slot before it is given back (ms). */
const READY_WAIT_MS = 1_000;

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
  /** Jobs in flight at once on this node, over all targets. */
  concurrency: number;
  /** Jobs in flight at once per (channel, target): one slow target cannot take every slot. Default: concurrency. */
  perTargetConcurrency?: number;
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
  /**
   * Jobs to keep granted to the store (OutboxStore.grant): fresh jobs are then leased by the write that
   * creates them and handed over once durable, without a claim round trip. 0 (default): claims only.
   */
  claimAhead?: number;
  /** Per-target circuit breaker (see breaker.ts); default: on with its defaults. */
  breaker?: Partial<BreakerOptions>;
  onResult?: (job: OutboxJob, ok: boolean, dead: boolean) => void;
}

/**
 * Runs outbox jobs: claims due jobs (woken by the bus after commits, and on a poll), delivers them
 * through the sender of their channel with at most `concurrency` in flight (and `perTargetConcurrency`
 * per target), then records success, a retry at now + firstRetryMs·2^(attempt−1) (capped), or the
 * dead-letter state after maxAttempts. A job of a channel without a sender is dead-lettered.
 *
 * Results of one event-loop turn are recorded in one store write (settle), fenced by each job's lease,
 * and submitted before the next claim so that claim sees them. A target whose attempts keep failing
 * trips its circuit breaker: its jobs are left pending (attempts untouched) until a probe succeeds.
 * Delivery is at least once: the job id is the stable delivery id.
 */
export class OutboxDispatcher {
  private inFlight = 0;
  private readonly perTarget = new Map<string, number>();
  private claiming: Promise<void> | null = null;
  private pending: NodeJS.Timeout | null = null;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private idle: Array<() => void> = [];
  /** Results not yet submitted, with the jobs they belong to (for onResult). */
  private outcomes: Array<{ job: OutboxJob; outcome: AttemptOutcome; dead: boolean }> = [];
  private settling: Promise<void> | null = null;
  private readonly breakers: CircuitBreakers;
  /** Jobs the store may still claim ahead for us (granted, not yet handed over). */
  private outstanding = 0;
  /** Jobs handed over under a grant, leased, waiting for a free slot (of all, or of their target). */
  private ready: OutboxJob[] = [];
  private unwatch: (() => void) | null = null;

  constructor(
    private readonly outbox: OutboxStore,
    private readonly bus: Bus,
    private readonly senders: Record<string, Sender>,
    private readonly opts: DispatcherOptions,
    private readonly log: Logger,
  ) {
    this.breakers = new CircuitBreakers(opts.breaker ?? {});
  }

  start(): void {
    this.unsubscribe = this.bus.subscribe((e) => {
      if (e.type === 'outbox.wake') this.kick();
    });
    this.unwatch = this.outbox.watch((jobs) => this.accept(jobs));
    this.timer = setInterval(() => this.kick(), this.opts.pollMs);
    this.timer.unref();
    this.topUp();
    this.kick();
  }

  /** Claim options as they stand: per-target caps and what the breakers allow. */
  private claimOptions(): { perTarget: number; inFlight: Record<string, number>; exclude: string[] } {
    const inFlight = Object.fromEntries(this.perTarget);
    const { exclude, probing } = this.breakers.claimState(Date.now());
    // A half-open target gets one probe at a time.
    for (const k of probing) {
      if ((inFlight[k] ?? 0) > 0) exclude.push(k);
      else inFlight[k] = this.perTargetLimit() - 1;
    }
    return { perTarget: this.perTargetLimit(), inFlight, exclude };
  }

  /**
   * Keep `claimAhead` jobs granted so that fresh jobs are claimed by the write that creates them; the
   * grant's options (per-target load, breakers) are refreshed with every top-up.
   */
  private topUp(): void {
    if (this.stopped) return;
    const want = Math.min(this.opts.claimAhead ?? 0, this.opts.concurrency);
    if (want <= 0) return;
    // Never more granted than slots free now, so that what is handed over finds a slot at once.
    const free = this.opts.concurrency - this.inFlight - this.ready.length - this.outstanding;
    const n = Math.max(0, Math.min(want - this.outstanding, free));
    this.outstanding += n;
    this.outbox.grant(n, this.opts.leaseMs, this.claimOptions()).catch((err: unknown) => {
      this.outstanding -= n;
      this.log.error({ err }, 'outbox grant failed');
    });
  }

  /** Jobs the store claimed for us under a grant. */
  private accept(jobs: OutboxJob[]): void {
    this.outstanding = Math.max(0, this.outstanding - jobs.length);
    // Stopping: leave them to their lease (claimed again later, same delivery id).
    if (this.stopped) return;
    for (const j of jobs) this.ready.push(j);
    this.pump();
  }

  /**
   * Start leased jobs (claimed, or handed over under a grant) while slots are free, each within its
   * target's share and what its breaker allows. A job that cannot start is given back to the store
   * (pending again, its attempt returned) when its target's breaker is open, or when it has waited
   * READY_WAIT_MS: an attempt then always starts with nearly all of its lease left, so it ends
   * (deadline leaseMs − 2 s) before the lease, and no other claim can deliver it at the same time.
   */
  private pump(): void {
    if (this.ready.length === 0) return;
    const now = Date.now();
    const { exclude, probing } = this.breakers.claimState(now);
    const keep: OutboxJob[] = [];
    for (const j of this.ready) {
      if (this.stopped) continue; // left to its lease
      const key = targetKey(j.channel, j.target);
      if (exclude.includes(key) || j.nextAt - now < this.opts.leaseMs - READY_WAIT_MS) {
        this.giveBack(j, now);
        continue;
      }
      const busy = this.perTarget.get(key) ?? 0;
      if (this.inFlight >= this.opts.concurrency || busy >= this.perTargetLimit() || (busy > 0 && probing.includes(key))) {
        keep.push(j);
        continue;
      }
      this.run(j);
    }
    this.ready = keep;
  }

  /** Return a leased job that was not attempted: pending again now, its attempt given back. */
  private giveBack(job: OutboxJob, now: number): void {
    this.record(job, { id: job.id, lease: job.nextAt, ok: false, release: true, nextAt: now }, false);
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
        if (this.again) this.kick();
      });
    };
    if (delay > 0) {
      this.pending = setTimeout(start, delay);
    } else {
      start();
    }
  }

  private perTargetLimit(): number {
    return this.opts.perTargetConcurrency ?? this.opts.concurrency;
  }

  private async claimLoop(): Promise<void> {
    try {
      // Claim in chunks (each claim is a store write): when idle, or once a quarter of the slots is free.
      const chunk = Math.max(1, Math.floor(this.opts.concurrency / 4));
      do {
        this.again = false;
        for (;;) {
          const free = this.opts.concurrency - this.inFlight - this.ready.length;
          if (this.stopped || free <= 0 || (this.inFlight > 0 && free < chunk)) break;
          const jobs = await this.outbox.claim(Date.now(), free, this.opts.leaseMs, this.claimOptions());
          // Stopped meanwhile: leave the jobs to their lease (claimed again later, same delivery id).
          if (this.stopped) return;
          // Slots may have been taken meanwhile (handed-over jobs): start what fits, the rest waits.
          for (const j of jobs) this.ready.push(j);
          this.pump();
          if (jobs.length < free) break;
        }
      } while (this.again && !this.stopped);
    } catch (err) {
      this.log.error({ err }, 'outbox claim failed');
    }
  }

  private run(job: OutboxJob): void {
    const key = targetKey(job.channel, job.target);
    this.inFlight++;
    this.perTarget.set(key, (this.perTarget.get(key) ?? 0) + 1);
    void this.attempt(job).finally(() => {
      this.inFlight--;
      const n = (this.perTarget.get(key) ?? 1) - 1;
      if (n > 0) this.perTarget.set(key, n);
      else this.perTarget.delete(key);
      this.pump();
      if (this.inFlight === 0 && !this.settling && this.outcomes.length === 0) for (const r of this.idle.splice(0)) r();
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
    const key = targetKey(job.channel, job.target);
    if (a.ok) {
      // A breaker that closes (or opens, below) changes what the grant's claims may take.
      if (this.breakers.success(key)) this.topUp();
      this.record(job, { id: job.id, lease: job.nextAt, ok: true, response: a.response, at: now }, false);
      return;
    }
    // A target that does not exist says nothing about its health.
    if (a.retryable !== false && this.breakers.failure(key, now)) this.topUp();
    // job.attempts already counts this attempt (counted when it was claimed).
    const attempt = Math.max(1, job.attempts);
    const dead = a.retryable === false || attempt >= this.opts.maxAttempts;
    const delay = Math.min(this.opts.firstRetryMs * 2 ** (attempt - 1), this.opts.maxRetryMs);
    this.record(job, { id: job.id, lease: job.nextAt, ok: false, error: a.error ?? 'failed', response: a.response, nextAt: dead ? null : now + delay }, dead);
    if (dead) this.log.warn({ job: job.id, kind: job.kind, target: job.target, error: a.error }, 'outbox job dead-lettered');
  }

  /** Queue a result; every result of this turn goes to the store in one settle(), then claims follow. */
  private record(job: OutboxJob, outcome: AttemptOutcome, dead: boolean): void {
    this.outcomes.push({ job, outcome, dead });
    if (this.settling) return;
    this.settling = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.settleLoop());
  }

  private async settleLoop(): Promise<void> {
    try {
      while (this.outcomes.length > 0) {
        const batch = this.outcomes;
        this.outcomes = [];
        // Submitted before the claim below, so the claim (same writer, later command) sees these results.
        const settled = this.outbox.settle(batch.map((b) => b.outcome));
        this.topUp();
        this.kick();
        try {
          await settled;
          for (const b of batch) if (!('release' in b.outcome)) this.opts.onResult?.(b.job, b.outcome.ok, b.dead);
        } catch (err) {
          // Recording failed (store unavailable): the leases run out and the jobs are claimed again.
          this.log.error({ err, jobs: batch.length }, 'recording outbox attempts failed');
        }
      }
    } finally {
      this.settling = null;
      if (this.inFlight === 0 && this.outcomes.length === 0) for (const r of this.idle.splice(0)) r();
    }
  }

  /** Stop claiming, wait for a claim under way, then for the jobs in flight (their results are recorded). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.pending) clearTimeout(this.pending);
    this.unsubscribe?.();
    this.unwatch?.();
    this.outstanding = 0;
    this.ready = [];
    await this.outbox.revoke().catch(() => undefined);
    if (this.claiming) await this.claiming;
    if (this.inFlight > 0 || this.settling || this.outcomes.length > 0) await new Promise<void>((r) => this.idle.push(r));
  }
}
