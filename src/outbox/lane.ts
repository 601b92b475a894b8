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
  /** Jobs the store may still claim ahead for this channel (granted, not yet handed over). */
  outstanding = 0;
  /**
   * Slots kept for the next jobs the settle under way may lease for this channel (settle-and-claim-next),
   * until they are handed over or the settle resolved: claims do not take them meanwhile.
   */
  expecting = 0;
  /** The claim options last sent with a grant (JSON), so that an unchanged grant of nothing is not sent again. */
  granted: string | undefined;
  readonly breakers: CircuitBreakers;
  /** Claim in chunks of this many (each claim is a store write): when idle, or once this many slots are free. */
  readonly chunk: number;

  constructor(
    readonly channel: string,
    readonly sender: Sender,
    readonly policy: ChannelPolicy,
  ) {
    this.breakers = new CircuitBreakers(policy.breaker);
    this.chunk = Math.max(1, Math.floor(policy.concurrency / 4));
  }

  get perTargetLimit(): number {
    return Math.min(this.policy.perTargetConcurrency, this.policy.concurrency);
  }

  /** Slots neither running nor promised to a leased job (or to one a settle may lease). */
  free(): number {
    return this.policy.concurrency - this.inFlight - this.ready.length - this.expecting;
  }

  /** Delay before the retry that follows failed attempt number `attempt` (1-based). */
  backoff(attempt: number): number {
    return Math.min(this.policy.firstRetryMs * 2 ** (Math.max(1, attempt) - 1), this.policy.maxRetryMs);
  }

  /** Claim options as they stand: this channel only, its per-target caps and what its breakers allow. */
  claimOptions(now: number): ClaimOptions {
    const inFlight = Object.fromEntries(this.perTarget);
    const { exclude, probing } = this.breakers.claimState(now);
    // A half-open target gets one probe at a time.
    for (const k of probing) {
      if ((inFlight[k] ?? 0) > 0) exclude.push(k);
      else inFlight[k] = this.perTargetLimit - 1;
    }
    return { channels: [this.channel], perTarget: this.perTargetLimit, inFlight, exclude };
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
