/**
 * The outbox: every side effect that leaves the process (callbacks today; channel apps, email and SMS
 * tomorrow) is a job row, written in the same transaction as the change that causes it and delivered
 * afterwards by dispatchers with retries, backoff and a dead-letter state. Nothing is fire-and-forget.
 *
 * Contract (every backend; test/contract/outbox.contract.ts):
 * - A job requested with a write (EffectSpec in a store command) commits or rolls back with it.
 * - claim() hands out due jobs, at most one job per order key at a time and only the oldest active
 *   (pending or in-flight) one of its key, so jobs of one key are delivered in creation order. A claimed
 *   job is leased until `nextAt` and its `attempts` already counts the attempt it is claimed for; if its
 *   dispatcher dies, the job becomes claimable again after the lease (at-least-once; the job id is the
 *   stable delivery id receivers dedupe on).
 * - Results are fenced by the lease: an outcome carrying `lease` (the claimed job's `nextAt`) applies only
 *   while that lease is the job's current one, so a dispatcher whose lease lapsed (and whose job was
 *   claimed again) cannot overwrite the newer attempt's result.
 * - A dead-lettered job no longer holds its key: the jobs queued behind it proceed. A redelivered job
 *   rejoins its key in id order, never while another job of the key is in flight.
 * - The cost of a claim does not grow with the number of jobs queued behind busy or failing keys.
 * - Claims are safe across nodes: SQLite has one writer; a PostgreSQL backend would claim heads with
 *   FOR UPDATE SKIP LOCKED.
 */

/** Per-call options of claim(): per-target fairness, decided by the dispatcher. */
export interface ClaimOptions {
  /** Most jobs in flight per (channel, target), counting `inFlight`. Default: no per-target limit. */
  perTarget?: number;
  /** Jobs already in flight per target key (`targetKey(channel, target)`). */
  inFlight?: Record<string, number>;
  /** Target keys not to claim for now (e.g. their circuit breaker is open). */
  exclude?: string[];
}

/** The key of a (channel, target) pair in ClaimOptions. */
export function targetKey(channel: string, target: string): string {
  return `${channel}\u0000${target}`;
}

/** The result of one attempt, as the dispatcher records it. */
export type AttemptOutcome =
  | { id: number; lease?: number; ok: true; response: string; at: number }
  /** `nextAt` null: dead-letter. */
  | { id: number; lease?: number; ok: false; error: string; response: string; nextAt: number | null }
  /**
   * Not attempted after all (its target's breaker opened, or it waited too long for a slot): pending
   * again at `nextAt` with the attempt it was claimed for given back.
   */
  | { id: number; lease?: number; ok: false; release: true; nextAt: number };

/** A job to create; `body` is the exact JSON text to deliver (built before or during the write). */
export interface NewJob {
  /** Which sender delivers it ('webhook', later 'channel-app', 'smtp', 'sms'). */
  channel: string;
  /** Sender-specific destination, e.g. a callback target id. */
  target: string;
  /** Jobs with the same key are delivered one at a time, in creation order. */
  orderKey: string;
  /** What the job is, e.g. a callback command ("C2C.CallbackAfterSendMsg"). */
  kind: string;
  body: Record<string, unknown>;
  /** Sender-specific extras (e.g. ClientIP, OptPlatform of a callback). */
  meta: Record<string, string>;
}

/**
 * A job requested by a store command, with the facts only the transaction knows filled in as the row
 * is written (see `fill`).
 */
export interface EffectSpec extends NewJob {
  fill?: {
    /**
     * Fields to set from the key of the message this command writes (core/ids.ts messageKey): its uid's
     * low 32 bits (seq), the remaining bits (random), its time in seconds, and the key string.
     */
    messageKey?: { seq?: string; random?: string; time?: string; key?: string };
    /** Set body[field] to this user's unread total over single chats, as committed by this command. */
    unreadOf?: { user: string; field: string };
    /** Set body[field] to the cursor (seq) of the message this command writes. */
    messageSeq?: string;
  };
}

export type JobStatus = 'pending' | 'in_flight' | 'delivered' | 'dead';

export interface OutboxJob extends Omit<NewJob, 'body'> {
  /** Stable delivery id. */
  id: number;
  /** The exact JSON text to deliver (as stored: senders send it as is). */
  body: string;
  status: JobStatus;
  attempts: number;
  createdAt: number;
  /** When the job may next be attempted (pending) or its lease ends (in_flight). */
  nextAt: number;
  lastError: string;
  lastResponse: string;
  deliveredAt: number;
}

export interface JobFilter {
  status?: JobStatus;
  target?: string;
  /** Jobs with a smaller id (paging from the newest). */
  beforeId?: number;
  limit: number;
}

export interface OutboxStore {
  /** Jobs not tied to another write (e.g. a device's login). */
  enqueue(jobs: NewJob[]): Promise<number[]>;
  /** Lease up to `limit` due jobs for `leaseMs` (see the contract above). */
  claim(now: number, limit: number, leaseMs: number, opts?: ClaimOptions): Promise<OutboxJob[]>;
  /**
   * Claim ahead for this process: the store may lease up to `n` more jobs (in total, over later writes)
   * as the writes that create them commit, with `leaseMs` and `opts` as claim() would, and hand them
   * to the watcher once durable — saving the claim round trip for fresh jobs. `opts` replaces the
   * previous grant's options; `n` adds to what is left of it. Without a watcher nothing is claimed.
   */
  grant(n: number, leaseMs: number, opts?: ClaimOptions): Promise<void>;
  /** Withdraw what is left of the grants (jobs already handed over stay leased). */
  revoke(): Promise<void>;
  /** Receive the jobs claimed under grant(); one watcher per process. Returns an unsubscribe. */
  watch(listener: (jobs: OutboxJob[]) => void): () => void;
  /**
   * Record attempt results in one write; returns how many applied (an outcome whose `lease` is no longer
   * the job's current one is ignored). Delivered: response kept (truncated); failed: pending again at
   * `nextAt`, or dead.
   */
  settle(outcomes: AttemptOutcome[]): Promise<number>;
  /** settle() of one delivered job, without a lease fence. */
  complete(id: number, response: string, now: number): Promise<void>;
  /** settle() of one failed attempt, without a lease fence: retry at `nextAt`, or dead when null. */
  fail(id: number, error: string, response: string, nextAt: number | null): Promise<void>;
  list(filter: JobFilter): Promise<OutboxJob[]>;
  /** Make a dead job (or, with no id, every dead job) pending again with fresh attempts. Returns how many. */
  redeliver(id?: number, now?: number): Promise<number>;
  /**
   * Delete up to `limit` delivered jobs created before `deliveredBefore` and dead jobs created before
   * `deadBefore` (retention of the delivery log). Returns how many were deleted; call again while it
   * returns `limit`. Pending and in-flight jobs are never deleted.
   */
  prune(deliveredBefore: number, deadBefore: number, limit: number): Promise<number>;
  /** Jobs by status; `delivered` counts every delivery ever recorded, pruned ones included. */
  counts(): Promise<Record<JobStatus, number>>;
}
