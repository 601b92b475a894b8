import type { CloseReason, ServiceSession, SessionState } from '../service-session-rules.js';

/** A session to open (state `assigned` when `agent` is set, else `queued`). */
export interface NewServiceSession {
  serviceId: string;
  channelAccountId: string;
  contact: string;
  /** The agent picked by the rules, or '' to queue it. */
  agent: string;
  now: number;
  idleAt: number;
}

/**
 * A contact's message as activity of its open session, applied in the message's own write
 * (MessageDraft.session): the contact's session on the account that is not closed, if any, is touched
 * as `touch(serviceId, at, idleAt)` would — but only when `idleAt` is more than `minStep` beyond its
 * deadline (core's rule: a deadline step too small to matter is not worth a write) — and returned as
 * AppendResult.session (null when the contact has none open).
 */
export interface SessionActivity {
  channelAccountId: string;
  contact: string;
  at: number;
  idleAt: number;
  minStep: number;
}

export interface ServiceSessionFilter {
  state?: SessionState;
  agent?: string;
  channelAccountId?: string;
  contact?: string;
  /** Newest first; skip this many. */
  offset: number;
  limit: number;
}

/**
 * Customer-service sessions (core/service-session-rules.ts says what they are). The store persists and
 * queries; core decides who is assigned. Every write is one atomic command whose condition is checked
 * inside it (compare-and-set), so concurrent opens, assignments, transfers and closes never interleave
 * into an impossible state.
 *
 * Contract (every backend; test/contract/service-sessions.contract.ts):
 * - A contact has at most one session that is not closed per channel account: `open` returns the
 *   existing one (opened: false) instead of creating a second, even when two opens race.
 * - `assign` applies only to a session that is not closed and, when `from` is given, whose agent is
 *   `from` ('' = queued): a transfer or an assignment that lost a race changes nothing (null).
 * - `touch` moves a non-closed session's activity and idle deadline forward only (never back).
 * - `close` applies to a session not closed yet; with `idleBy`, only while its idle deadline is at or
 *   before it, so activity that moved the deadline meanwhile keeps the session open.
 * - `dueIdle` lists non-closed sessions whose deadline is at or before `now`, earliest first;
 *   `queued` lists queued sessions of the given accounts, oldest first.
 * - Closed sessions are kept (history); `list` pages newest first.
 */
export interface ServiceSessionStore {
  open(s: NewServiceSession): Promise<{ session: ServiceSession; opened: boolean }>;
  get(serviceId: string): Promise<ServiceSession | null>;
  /** The contact's session on the account that is not closed, or null. */
  current(channelAccountId: string, contact: string): Promise<ServiceSession | null>;
  assign(serviceId: string, agent: string, now: number, idleAt: number, from?: string): Promise<ServiceSession | null>;
  touch(serviceId: string, now: number, idleAt: number): Promise<boolean>;
  close(serviceId: string, reason: CloseReason, now: number, idleBy?: number): Promise<ServiceSession | null>;
  dueIdle(now: number, limit: number): Promise<ServiceSession[]>;
  queued(channelAccountIds: readonly string[], limit: number): Promise<ServiceSession[]>;
  /** Sessions assigned (not closed) per agent, for each agent asked (0 when none). */
  loads(agents: readonly string[]): Promise<Record<string, number>>;
  list(filter: ServiceSessionFilter): Promise<{ sessions: ServiceSession[]; total: number }>;
}
