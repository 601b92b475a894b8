import { Type } from '@sinclair/typebox';

/**
 * Defaults of a channel's delivery policy under `outbox.channels.<name>` (the webhook channel's come
 * from `callbacks.*`). `claimAhead` defaults to half the concurrency.
 */
export const OUTBOX_CHANNEL_DEFAULTS = {
  maxAttempts: 8,
  firstRetryMs: 1000,
  maxRetryMs: 300000,
  leaseMs: 30000,
  concurrency: 64,
  perTargetConcurrency: 64,
  breakerThreshold: 5,
  breakerMaxOpenMs: 60000,
} as const;

const D = OUTBOX_CHANNEL_DEFAULTS;

/** One channel's delivery policy (outbox.channels.<name>). */
export const ChannelPolicy = Type.Object(
  {
    maxAttempts: Type.Integer({ default: D.maxAttempts, minimum: 1, maximum: 100, description: 'Delivery attempts before a job is dead-lettered.' }),
    firstRetryMs: Type.Integer({ default: D.firstRetryMs, minimum: 10, description: 'Delay before the first retry; doubles per attempt.' }),
    maxRetryMs: Type.Integer({ default: D.maxRetryMs, minimum: 10, description: 'Longest delay between retries.' }),
    leaseMs: Type.Integer({
      default: D.leaseMs,
      minimum: 1000,
      description: "A claimed job not reported within this is claimed again; keep it above the sender's longest attempt.",
    }),
    concurrency: Type.Integer({ default: D.concurrency, minimum: 1, maximum: 10000, description: 'Deliveries of the channel in flight per node.' }),
    perTargetConcurrency: Type.Integer({
      default: D.perTargetConcurrency,
      minimum: 1,
      maximum: 10000,
      description: 'Deliveries in flight per node to one target (capped by concurrency).',
    }),
    breakerThreshold: Type.Integer({
      default: D.breakerThreshold,
      minimum: 0,
      maximum: 1000,
      description: "Consecutive failed attempts that open a target's circuit breaker; 0 turns it off.",
    }),
    breakerMaxOpenMs: Type.Integer({ default: D.breakerMaxOpenMs, minimum: 100, description: 'Longest a breaker stays open before the next probe.' }),
    claimAhead: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 10000, description: 'Fresh jobs leased by the write that creates them (capped by concurrency; default: half of it).' }),
    ),
  },
  { additionalProperties: false },
);
