/**
 * Customer-service sessions (seed 002's ServiceId): the rules, as pure functions. A session is one
 * contact's stretch of conversation with the business on one channel account, served by one agent of
 * the account's pool. The use case (services/service-sessions.ts) reads the facts, asks these rules and
 * has the store apply the outcome atomically.
 *
 * Lifecycle:  (contact's message, no open session) → queued | assigned
 *             queued   → assigned   (an agent of the pool connects, or an admin assigns)
 *             assigned → assigned   (transfer to another agent of the pool)
 *             queued | assigned → closed (admin close, or idle for the account's idle timeout)
 * A contact has at most one session per channel account that is not closed.
 */

export type SessionState = 'queued' | 'assigned' | 'closed';

export type CloseReason = 'idle' | 'admin' | 'agent';

export interface ServiceSession {
  /** The ServiceId replies carry (seed 002). */
  serviceId: string;
  channelAccountId: string;
  /** The contact's user id (the IM user standing for the external contact). */
  contact: string;
  state: SessionState;
  /** The assigned agent's user id; empty while queued. */
  agent: string;
  openedAt: number;
  /** Last message either way (or assignment); the idle timeout counts from it. */
  lastActivityAt: number;
  /** When the session closes if nothing happens (lastActivityAt + idle timeout); 0 once closed. */
  idleAt: number;
  closedAt: number;
  closeReason: CloseReason | '';
}

/** What the rules need to know about one agent of the pool. */
export interface AgentFacts {
  userId: string;
  online: boolean;
  /** Sessions currently assigned to the agent (any account). */
  load: number;
}

/**
 * The agent a new or queued session goes to: an online agent of the pool, the least busy first, ties
 * broken by pool order; agents in `exclude` (e.g. the one a transfer leaves) and agents at `maxLoad`
 * (0: no limit) are skipped. Null when no agent qualifies: the session is queued.
 */
export function pickAgent(pool: readonly AgentFacts[], opts: { exclude?: readonly string[]; maxLoad?: number } = {}): string | null {
  const skip = new Set(opts.exclude ?? []);
  const max = opts.maxLoad ?? 0;
  let best: AgentFacts | null = null;
  for (const a of pool) {
    if (!a.online || skip.has(a.userId)) continue;
    if (max > 0 && a.load >= max) continue;
    if (!best || a.load < best.load) best = a;
  }
  return best ? best.userId : null;
}

/**
 * Queued sessions handed to an agent who just connected: the oldest first (the list must be oldest
 * first), as many as the agent may take under `maxLoad` (0: all of them).
 */
export function takeQueued<T extends { serviceId: string }>(queued: readonly T[], agentLoad: number, maxLoad = 0): T[] {
  if (maxLoad <= 0) return [...queued];
  return queued.slice(0, Math.max(0, maxLoad - agentLoad));
}

/** Why a transfer is refused, or null when it is allowed. */
export function transferRefusal(s: ServiceSession | null, to: string, pool: readonly string[]): string | null {
  if (!s) return 'no such session';
  if (s.state === 'closed') return `session ${s.serviceId} is closed`;
  if (!pool.includes(to)) return `${to} is not an agent of channel account ${s.channelAccountId}`;
  if (s.state === 'assigned' && s.agent === to) return `session ${s.serviceId} is already assigned to ${to}`;
  return null;
}

/** The idle deadline after activity at `at`. */
export function idleDeadline(at: number, idleMs: number): number {
  return at + idleMs;
}

/** Whether the session is due to close for idleness at `now`. */
export function isIdle(s: Pick<ServiceSession, 'state' | 'idleAt'>, now: number): boolean {
  return s.state !== 'closed' && s.idleAt > 0 && s.idleAt <= now;
}
