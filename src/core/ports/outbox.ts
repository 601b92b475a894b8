import type { ChannelDeliveryRecord, ChannelMessageRecord } from './channel-apps.js';
import type { NotificationDeliveryRecord } from './notify-delivery.js';

/**
 * The outbox: every side effect that leaves the process (callbacks today; channel apps, email and SMS
 * tomorrow) is a job row, written in the same transaction as the change that causes it and delivered
 * afterwards by dispatchers with retries, backoff and a dead-letter state. Nothing is fire-and-forget.
 * A job belongs to a channel (which Sender delivers it, core/ports/sender.ts); each channel has its own
 * delivery policy (src/outbox/policy.ts).
 *
 * Contract (every backend; test/contract/outbox.contract.ts):
 * - A job requested with a write (EffectSpec in a store command) commits or rolls back with it.
 * - claim() hands out due jobs, at most one job per order key at a time and only the oldest active
 *   (pending or in-flight) one of its key, so jobs of one key are delivered in creation order (with
 *   lookahead, below, the key's following job too, to be attempted only after it). A claimed
 *   job is leased until `nextAt` and its `attempts` already counts the attempt it is claimed for; if its
 *   dispatcher dies, the job becomes claimable again after the lease (at-least-once; the job id is the
 *   stable delivery id receivers dedupe on).
 * - A job created with `notBefore` is not due before then: neither claim() nor a claim ahead (grant())
 *   hands it out earlier. Like a retry, a job that is not due holds back the later jobs of its key.
 * - Claims take only the channels asked for (ClaimOptions.channels), so a node never leases, nor
 *   dead-letters, a job it has no sender for: the job waits for a node that has one.
 * - Results are fenced: an outcome carrying `lease` (the claimed job's `nextAt`) applies only while that
 *   lease is the job's current one, so a dispatcher whose lease lapsed (and whose job was claimed again)
 *   cannot overwrite the newer attempt's result; an outcome without `lease` (a manual complete or fail)
 *   applies only while the job is active (pending or in flight): a delivered or dead job is final
 *   until it is redelivered.
 * - A final outcome (delivered, or dead) may carry a SettleReaction (see OnSettled): its follow-up jobs
 *   are written in the same transaction as the outcome, and only if the fence accepts the outcome.
 * - A dead-lettered job no longer holds its key: the jobs queued behind it proceed. A redelivered job
 *   rejoins its key in id order, never while another job of the key is in flight.
 * - The cost of a claim does not grow with the number of jobs queued behind busy or failing keys.
 * - A claim sees the results this process submitted (settle) before it, resolved or not: the
 *   dispatcher records results, then claims the jobs they released.
 * - Claims are safe across nodes: SQLite has one writer; PostgreSQL claims heads with FOR UPDATE SKIP
 *   LOCKED (src/store/pg/outbox.ts), and any node may settle a job any node claimed.
 * - Settle-and-claim-next (settle's `next`): a final outcome that releases its key may lease the key's
 *   next job in the same write, as claim() would have (due, durable, of a channel asked for, its target
 *   neither excluded nor at its cap), handed to the watcher as 'next' once the write is committed; so a
 *   key's next job starts without a claim round trip. Still one job per key at a time, in id order.
 * - Lookahead (ClaimOptions.lookahead): with each job a claim, a claim ahead or a settle's `next` leases
 *   as its key's head, the store also leases the key's following active job, when it is pending, due,
 *   durable, of the same channel and not leased already: handed over in the same list, right after
 *   the job it follows, with `after` naming that job. A settle whose final outcome moves a key's head onto a job leased so (its
 *   lookahead) leases the job after that one the same way. Lookahead jobs count against no limit (claim's
 *   `limit`, a grant's `n`, a ClaimNext's `limit`, `perTarget`): each rides on its predecessor's slot.
 *   The holder attempts a job with `after` only once that job reached a final outcome (delivered or
 *   dead) in its own hands, and gives it back (a release) otherwise; so a key's attempts stay one at a
 *   time, in id order, while its next job is already leased when the previous post ends. A lookahead
 *   lease is a lease like any other (fenced by its `nextAt`; when it lapses the job is leased again).
 * - settle() hands its `next` jobs (lookahead included) to the watcher before its promise resolves.
 */

/**
 * What settle() may lease for the dispatcher of one channel, in the same write (settle-and-claim-next):
 * the next job of each key that one of its final outcomes releases.
 */
export interface ClaimNext {
  /** Lease of the jobs taken, as claim()'s leaseMs. */
  leaseMs: number;
  /** At most this many jobs of the channel over the whole settle (what the dispatcher can hold leased). */
  limit: number;
  /** As claim()'s (`channels` is ignored: the channel is the key of ClaimNext's map). */
  opts: ClaimOptions;
}

/** How jobs reached the watcher: claimed ahead under a grant, or leased by a settle as a key's next job. */
export type Handover = 'grant' | 'next';

/** Per-call options of claim() and grant(): which channels, and per-target fairness, decided by the dispatcher. */
export interface ClaimOptions {
  /** Only jobs of these channels (the ones this node has senders for). Default: every channel. */
  channels?: string[];
  /** Most jobs in flight per (channel, target), counting `inFlight`. Default: no per-target limit. */
  perTarget?: number;
  /** Jobs already in flight per target key (`targetKey(channel, target)`). */
  inFlight?: Record<string, number>;
  /** Target keys not to claim for now (e.g. their circuit breaker is open). */
  exclude?: string[];
  /** Also lease each leased head's following job of its key (see *Lookahead* in the contract). Default: off. */
  lookahead?: boolean;
}

/** How many of `jobs` are heads: what a claim's `limit`, a grant's `n` and a ClaimNext's `limit` count (not lookahead jobs). */
export function headCount(jobs: OutboxJob[]): number {
  let n = 0;
  for (const j of jobs) if (j.after === undefined) n++;
  return n;
}

/** The key of a (channel, target) pair in ClaimOptions. */
export function targetKey(channel: string, target: string): string {
  return `${channel}\u0000${target}`;
}

/**
 * What core commits together with a job's final outcome (see OnSettled). Written in the settle's
 * transaction, only if the outcome is applied; a settle carrying one resolves only once durable.
 */
export interface SettleReaction {
  /** Follow-up jobs, e.g. a fallback to another channel, or a status report (may be delayed with notBefore). */
  enqueue?: NewJob[];
  /**
   * Domain facts recorded with the outcome, in its transaction (a notification recipient's delivery
   * status, a fallback to the web inbox: ports/notify-delivery.ts gives each record's contract).
   */
  records?: SettleRecord[];
}

/** A domain fact a SettleReaction records (each kind's contract is in its port). */
export type SettleRecord = NotificationDeliveryRecord | ChannelDeliveryRecord;

/** A domain fact written with a new job (EffectSpec.records), in the transaction that creates the job. */
export type JobRecord = ChannelMessageRecord;

/** The result of one attempt, as the dispatcher records it. */
export type AttemptOutcome =
  | { id: number; lease?: number; ok: true; response: string; at: number; then?: SettleReaction }
  /** `nextAt` null: dead-letter (final: `then` applies); a number: retry then (`then` is ignored). */
  | { id: number; lease?: number; ok: false; error: string; response: string; nextAt: number | null; then?: SettleReaction }
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
  /** Not due before this time (epoch ms): scheduling and escalation. Default: due at once. */
  notBefore?: number;
  /**
   * Correlation reference to the business object the job is about ("msg:123",
   * "notification:9:user:alice"): OutboxStore.byRef lists the jobs of one reference with their status.
   */
  ref?: string;
}

/**
 * A job requested by a store command, with the facts only the transaction knows filled in as the row
 * is written (see `fill`).
 */
export interface EffectSpec extends NewJob {
  /**
   * Domain facts written with the job, in the same transaction and only with it (ports/channel-apps.ts
   * gives each kind's contract): what the job's receiver will be told about must exist before it is.
   */
  records?: JobRecord[];
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
    /**
     * Set body[uid] to the uid of the message this command writes and body[timestamp] to its server
     * time (ms): the job names the message without reserving its identity first (robot callbacks).
     */
    messageIdentity?: { uid?: string; timestamp?: string };
    /**
     * Set body[field] to the number of the group message this command writes within its group: 1 for
     * the group's first message, then strictly increasing (group notifications take none). Left as
     * given when the message takes no number (not a group message).
     */
    groupSeq?: string;
    /** Set body[field] to the number of groups of `type` owned by `owner`, as committed by this command. */
    ownedGroups?: { owner: string; type: number; field: string };
  };
}

export type JobStatus = 'pending' | 'in_flight' | 'delivered' | 'dead';

export interface OutboxJob extends Omit<NewJob, 'body' | 'notBefore' | 'ref'> {
  /** Stable delivery id. */
  id: number;
  /** The exact JSON text to deliver (as stored: senders send it as is). */
  body: string;
  /** The job's correlation reference; absent when it was created without one. */
  ref?: string;
  status: JobStatus;
  attempts: number;
  createdAt: number;
  /** When the job may next be attempted (pending; at first its notBefore) or its lease ends (in_flight). */
  nextAt: number;
  lastError: string;
  lastResponse: string;
  deliveredAt: number;
  /**
   * Set on a lookahead lease only (see *Lookahead* in the contract): the job of the same key that must
   * reach a final outcome before this one may be attempted.
   */
  after?: number;
}

export interface JobFilter {
  status?: JobStatus;
  /** Jobs of this channel only (webhook, robot, …). */
  channel?: string;
  target?: string;
  /** Jobs with a smaller id (paging from the newest). */
  beforeId?: number;
  limit: number;
}

/** A job's final outcome, as core's OnSettled hook sees it. */
export type FinalOutcome = { status: 'delivered'; response: string; at: number } | { status: 'dead'; error: string; response: string };

/**
 * How core reacts to the final outcomes of one channel's jobs (registered per channel with the
 * OutboxSettler, src/outbox/settler.ts; runs on the main thread, never inside a store transaction).
 *
 * Contract:
 * - `react` is asked once per final outcome (delivered, or dead) before it is recorded, whoever
 *   records it: the dispatcher, or a manual complete/fail. Its SettleReaction is written in the same
 *   transaction as the outcome, and only if the outcome is applied (a lapsed lease, or a job already
 *   final, drops both). It must not write elsewhere itself; it may read. If it throws, the outcome is
 *   not recorded as final: the dispatcher records a retry instead (backoff of the channel), a manual
 *   call rejects. It is asked again whenever the job reaches a final outcome again (after a redelivery).
 * - `settled` runs after that transaction is durable, once per applied final outcome (e.g. a bus event
 *   so that agents see a delivery status change live). Its errors are logged, never retried.
 * - `redelivered` runs after a redelivery made the dead job pending again.
 * Delivery is at least once, so `react` may be asked again for a job whose earlier outcome was lost
 * (the process died before recording it): follow-up jobs should be idempotent for their receivers.
 */
export interface OnSettled {
  react?(job: OutboxJob, outcome: FinalOutcome): SettleReaction | undefined | Promise<SettleReaction | undefined>;
  settled?(job: OutboxJob, outcome: FinalOutcome): void | Promise<void>;
  redelivered?(job: OutboxJob): void | Promise<void>;
}

export interface OutboxStore {
  /** Jobs not tied to another write (e.g. a device's login). */
  enqueue(jobs: NewJob[]): Promise<number[]>;
  /** Lease up to `limit` due jobs for `leaseMs` (see the contract above). */
  claim(now: number, limit: number, leaseMs: number, opts?: ClaimOptions): Promise<OutboxJob[]>;
  /**
   * Claim ahead for this process, per channel: the store may lease up to `n` more jobs of `channel`
   * (in total, over later writes) as the writes that create them commit, with `leaseMs` and `opts` as
   * claim() would, and hand them to the watcher once durable — saving the claim round trip for fresh
   * jobs. `opts` replaces the channel's previous options (its `channels` is ignored); `n` adds to what
   * is left of the channel's grant. Without a watcher nothing is claimed.
   */
  grant(channel: string, n: number, leaseMs: number, opts?: ClaimOptions): Promise<void>;
  /** Withdraw what is left of every grant (jobs already handed over stay leased). */
  revoke(): Promise<void>;
  /**
   * Receive the jobs claimed under grant() ('grant') and leased by settle()'s `next` ('next'); one watcher
   * per process. Returns an unsubscribe.
   */
  watch(listener: (jobs: OutboxJob[], how: Handover) => void): () => void;
  /**
   * Record attempt results in one write; returns the ids of the outcomes that applied, in order (see the
   * fence in the contract). Delivered: response kept (truncated); failed: pending again at `nextAt`, or
   * dead. A final outcome's SettleReaction is applied with it; a write carrying one resolves once durable.
   * `next` (per channel): for each applied final outcome (delivered or dead) of a channel listed there,
   * lease the next active job of its key in the same write when claim() with that ClaimNext's options
   * would take it now (due, of that channel, target not excluded, under perTarget counting `inFlight`
   * and the jobs this settle took; at most `limit` per channel), and hand those jobs to the watcher as
   * 'next' once the write is committed (before it is durable, as claims are). Without a watcher, or
   * when the write fails, nothing is leased.
   */
  settle(outcomes: AttemptOutcome[], next?: Record<string, ClaimNext>): Promise<number[]>;
  /** settle() of one delivered job, fenced to active jobs, with no reaction; true if it applied. */
  complete(id: number, response: string, now: number): Promise<boolean>;
  /** settle() of one failed attempt, fenced to active jobs, with no reaction: retry at `nextAt`, or dead when null. */
  fail(id: number, error: string, response: string, nextAt: number | null): Promise<boolean>;
  /** One job, or null. */
  get(id: number): Promise<OutboxJob | null>;
  list(filter: JobFilter): Promise<OutboxJob[]>;
  /** The jobs created with this correlation reference, oldest first, at most `limit` (default 1000). */
  byRef(ref: string, limit?: number): Promise<OutboxJob[]>;
  /** Make a dead job (or, with no id, every dead job) pending again with fresh attempts. Returns how many. */
  redeliver(id?: number, now?: number): Promise<number>;
  /**
   * redeliver() in bounded steps that name what they revived: that dead job, or up to `limit` of the
   * oldest dead jobs, pending again at `now` with fresh attempts; returns them (call again while it
   * returns `limit`).
   */
  revive(id: number | undefined, now: number, limit: number): Promise<OutboxJob[]>;
  /**
   * Delete up to `limit` delivered jobs created before `deliveredBefore` and dead jobs created before
   * `deadBefore` (retention of the delivery log). Returns how many were deleted; call again while it
   * returns `limit`. Pending and in-flight jobs are never deleted.
   */
  prune(deliveredBefore: number, deadBefore: number, limit: number): Promise<number>;
  /** Jobs by status; `delivered` counts every delivery ever recorded, pruned ones included. */
  counts(): Promise<Record<JobStatus, number>>;
}
