import type { Config } from '../config/schema.js';
import { OUTBOX_CHANNEL_DEFAULTS } from '../config/outbox-schema.js';
import type { BreakerOptions } from './breaker.js';

/** How the dispatcher delivers the jobs of one channel (each channel has its own). */
export interface ChannelPolicy {
  /** Attempts before a job is dead-lettered. */
  maxAttempts: number;
  /** Delay before the first retry; it doubles per attempt up to maxRetryMs. */
  firstRetryMs: number;
  maxRetryMs: number;
  /** How long a claimed job stays leased to this node (longer than any attempt of the channel's sender). */
  leaseMs: number;
  /** Jobs of the channel in flight at once on this node, over all its targets. */
  concurrency: number;
  /** Jobs in flight at once per target of the channel (capped by concurrency): one slow target cannot take every slot. */
  perTargetConcurrency: number;
  /**
   * Jobs kept granted to the store (OutboxStore.grant): fresh jobs are then leased by the write that
   * creates them and handed over once durable, without a claim round trip. 0: claims only.
   */
  claimAhead: number;
  /** Per-target circuit breaker (see breaker.ts). */
  breaker: Partial<BreakerOptions>;
}

/** A channel's policy settings as configured (`outbox.channels.<name>`, or `callbacks` for webhook). */
export type PolicySettings = Pick<
  Config['outbox']['channels'][string],
  'maxAttempts' | 'firstRetryMs' | 'maxRetryMs' | 'leaseMs' | 'concurrency' | 'perTargetConcurrency' | 'breakerThreshold' | 'breakerMaxOpenMs' | 'claimAhead'
>;

/** The policy of configured settings: per-target cap and claim-ahead bounded by the concurrency. */
export function policyOf(c: PolicySettings): ChannelPolicy {
  return {
    maxAttempts: c.maxAttempts,
    firstRetryMs: c.firstRetryMs,
    maxRetryMs: c.maxRetryMs,
    leaseMs: c.leaseMs,
    concurrency: c.concurrency,
    perTargetConcurrency: Math.min(c.perTargetConcurrency, c.concurrency),
    claimAhead: Math.min(c.claimAhead ?? Math.floor(c.concurrency / 2), c.concurrency),
    breaker: { threshold: c.breakerThreshold, maxOpenMs: c.breakerMaxOpenMs },
  };
}

/**
 * The policy of every channel configured under `outbox.channels`, and of `extra` channels (ones this
 * node has a sender for) with the defaults when not configured. The webhook channel's policy comes from
 * `callbacks.*` instead (callbacks/config.ts webhookPolicy).
 */
export function channelPolicies(config: Config, extra: string[] = []): Record<string, ChannelPolicy> {
  const out: Record<string, ChannelPolicy> = {};
  for (const name of extra) out[name] = policyOf({ ...OUTBOX_CHANNEL_DEFAULTS });
  for (const [name, c] of Object.entries(config.outbox.channels)) out[name] = policyOf(c);
  return out;
}
