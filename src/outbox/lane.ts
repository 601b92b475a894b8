import { targetKey, type ClaimOptions, type OutboxJob } from '../core/ports/outbox.js';
import type { Sender } from '../core/ports/sender.js';
import { CircuitBreakers } from './breaker.js';
import type { ChannelPolicy } from './policy.js';

/**
 * The dispatcher's state for one channel: its sender and policy, its slots (in flight in total and
 * per target), its circuit breakers, the leased jobs waiting for a slot, and what is granted to the
 * store ahead. Channels share nothing of this: a busy or failing channel cannot take another's slots.
 */
export class Lane {
  /** Deliveries running. */
  inFlight = 0;
  /** Deliveries running per target key. */
  readonly perTarget = new Map<string, number>();
  /** Jobs leased (claimed, or handed over under a grant) waiting for a free slot. */
  ready: OutboxJob[] = [];
  /**
   * Lookahead jobs (OutboxJob.after) waiting for their predecessor's attempt, by the predecessor's id:
   * each goes to the front of `ready` when that attempt ends with a final outcome, and back to the store
   * otherwise. They hold no slot: each takes its predecessor's.
   */
  readonly held = new Map<number, OutboxJob>();
  /** Ids of the jobs leased here whose attempt has not ended: in `ready`, in flight, or `held`. */
  readonly open = new Set<number>();
  /**
   * Ids of the jobs whose attempt ended here with a final outcome, until the settle recording it resolved:
   * a lookahead job handed over meanwhile after one of them may start at once (the store hands a
   * settle's `next` jobs over before the settle resolves, and settles resolve in order).
   */
  readonly finals = new Set<number>();
  /** Jobs the store may still claim ahead for this channel (granted, not yet handed over). */
  outstanding = 0;
  /**
   * What each settle in flight may still lease for this channel (settle-and-claim-next), oldest first:
   * its `next` limit less the jobs handed over since. Settles commit in order, so a handed-over job is
   * counted against the oldest one with some left (a job counted against the wrong one is corrected
   * when that one resolves: its record goes, whatever is left in it).
   */
  private readonly nexts: Array<{ left: number }> = [];
  /** The claim options last sent with a grant (JSON), so that an unchanged grant of nothing is not sent again. */
  granted: string | undefined;
  readonly breakers: CircuitBreakers;
  /** Claim in chunks of this many (each claim is a store write): when idle, or once this many slots are free. */
  readonly chunk: number;

  constructor(
    readonly channel: string,
    readonly sender: Sender,
    readonly policy: ChannelPolicy,
    /** Ask for lookahead with every claim, grant and settle's `next` (DispatcherOptions.lookahead). */
    readonly lookahead = false,
  ) {
    this.breakers = new CircuitBreakers(policy.breaker);
    this.chunk = Math.max(1, Math.floor(policy.concurrency / 4));
  }

  get perTargetLimit(): number {
    return Math.min(this.policy.perTargetConcurrency, this.policy.concurrency);
  }

  /**
   * Slots neither running nor promised to a leased job: what a claim (or a grant) may take. The jobs a
   * settle under way may lease (`expecting`) do not count: they continue keys whose post just ended and
   * wait in `ready` when every slot is taken (see backlogRoom), so that keys between a post and their
   * settle's commit do not hold slots that other keys could post in.
   */
  free(): number {
    return this.policy.concurrency - this.inFlight - this.ready.length;
  }

  /** Jobs the settles in flight may still hand over for this channel. */
  get expecting(): number {
    let n = 0;
    for (const r of this.nexts) n += r.left;
    return n;
  }

  /** A settle may lease up to `limit` next jobs for this channel: kept until release(). */
  reserve(limit: number): { left: number } {
    const r = { left: limit };
    this.nexts.push(r);
    return r;
  }

  /** A next job was handed over. */
  handedNext(): void {
    const r = this.nexts.find((x) => x.left > 0);
    if (r) r.left--;
  }

  /** The settle of `r` resolved: its reservation goes; returns how much of it was not used. */
  release(r: { left: number }): number {
    const i = this.nexts.indexOf(r);
    if (i >= 0) this.nexts.splice(i, 1);
    return r.left;
  }

  /** Forget every reservation (stopping). */
  releaseAll(): void {
    this.nexts.length = 0;
  }

  /**
   * How many more leased jobs may wait for a slot (`ready`, plus those a settle may still hand over):
   * at most twice `concurrency`, so a lane never holds more than three times its concurrency leased.
   */
  backlogRoom(): number {
    return 2 * this.policy.concurrency - this.ready.length - this.expecting;
  }

  /** Delay before the retry that follows failed attempt number `attempt` (1-based). */
  backoff(attempt: number): number {
    return Math.min(this.policy.firstRetryMs * 2 ** (Math.max(1, attempt) - 1), this.policy.maxRetryMs);
  }

  /**
   * Claim options of a settle's next jobs (settle-and-claim-next): as claimOptions, except that up to
   * perTargetLimit more jobs per target may be leased than run (they wait in `ready`; pump applies the cap
   * when they start), and a half-open target's jobs are left to claims (one probe at a time).
   */
  nextOptions(now: number): ClaimOptions {
    return this.options(now, true);
  }

  /** Claim options as they stand: this channel only, its per-target caps and what its breakers allow. */
  claimOptions(now: number): ClaimOptions {
    return this.options(now, false);
  }

  private options(now: number, next: boolean): ClaimOptions {
    const inFlight = Object.fromEntries(this.perTarget);
    const { exclude, probing } = this.breakers.claimState(now);
    // A half-open target gets one probe at a time, and never through a settle's next jobs.
    for (const k of probing) {
      if (next || (inFlight[k] ?? 0) > 0) exclude.push(k);
      else inFlight[k] = this.perTargetLimit - 1;
    }
    return { channels: [this.channel], perTarget: next ? this.perTargetLimit * 2 : this.perTargetLimit, inFlight, exclude, ...(this.lookahead ? { lookahead: true } : {}) };
  }

  started(job: OutboxJob): void {
    const key = targetKey(job.channel, job.target);
    this.inFlight++;
    this.perTarget.set(key, (this.perTarget.get(key) ?? 0) + 1);
  }

  finished(job: OutboxJob): void {
    const key = targetKey(job.channel, job.target);
    this.inFlight--;
    const n = (this.perTarget.get(key) ?? 1) - 1;
    if (n > 0) this.perTarget.set(key, n);
    else this.perTarget.delete(key);
  }
}
