import type { NewServiceSession, ServiceSessionFilter, ServiceSessionStore, SessionActivity } from '../../core/ports/service-sessions.js';
import type { CloseReason, ServiceSession, SessionState } from '../../core/service-session-rules.js';
import { SESSION_COLS as COLS, toSession, type SessionRow as Row } from '../rows/service-sessions.js';
import type { SqliteContext } from './context.js';

const CURRENT = `SELECT ${COLS} FROM service_sessions WHERE account = ? AND contact = ? AND state <> 'closed'`;
const TOUCH = `UPDATE service_sessions SET last_activity_at = MAX(last_activity_at, ?), idle_at = MAX(idle_at, ?) WHERE service_id = ? AND state <> 'closed'`;

/** The key of a (channel account, contact)'s open session in SqliteContext.openSessions. */
function sessionKey(account: string, contact: string): string {
  return `${account}\n${contact}`;
}

/**
 * A message's SessionActivity inside its writer command (appendMessage's draft.session): the contact's
 * open session, touched when the deadline moves by more than minStep; null when none is open. The open
 * session is remembered per (account, contact) (SqliteContext.openSessions): every write to a session
 * below forgets it, so the look-up is a statement only on a miss.
 */
export function sessionActivity(ctx: SqliteContext, a: SessionActivity): ServiceSession | null {
  const key = sessionKey(a.channelAccountId, a.contact);
  let s = ctx.openSessions.get(key);
  if (s === undefined) {
    const r = ctx.stmt(CURRENT).get(a.channelAccountId, a.contact) as Row | undefined;
    s = ctx.openSessions.remember(key, r ? toSession(r) : null);
  }
  if (!s) return null;
  if (!(a.idleAt - s.idleAt > a.minStep)) return s;
  ctx.stmt(TOUCH).run(a.at, a.idleAt, s.serviceId);
  return ctx.openSessions.remember(key, { ...s, lastActivityAt: Math.max(s.lastActivityAt, a.at), idleAt: Math.max(s.idleAt, a.idleAt) });
}

/** Customer-service sessions (table service_sessions; the contract is the port's doc comment). */
export class SqliteServiceSessions implements ServiceSessionStore {
  constructor(private readonly ctx: SqliteContext) {}

  private row(serviceId: string): ServiceSession | null {
    const r = this.ctx.stmt(`SELECT ${COLS} FROM service_sessions WHERE service_id = ?`).get(serviceId) as Row | undefined;
    return r ? toSession(r) : null;
  }

  private currentRow(account: string, contact: string): ServiceSession | null {
    const r = this.ctx.stmt(CURRENT).get(account, contact) as Row | undefined;
    return r ? toSession(r) : null;
  }

  open(s: NewServiceSession): Promise<{ session: ServiceSession; opened: boolean }> {
    return this.ctx.write(() => {
      const existing = this.currentRow(s.channelAccountId, s.contact);
      if (existing) return { session: existing, opened: false };
      this.ctx.openSessions.forget(sessionKey(s.channelAccountId, s.contact));
      this.ctx
        .stmt(
          `INSERT INTO service_sessions(service_id, account, contact, state, agent, opened_at, last_activity_at, idle_at, closed_at, close_reason)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, '')`,
        )
        .run(s.serviceId, s.channelAccountId, s.contact, s.agent ? 'assigned' : 'queued', s.agent, s.now, s.now, s.idleAt);
      return { session: this.row(s.serviceId)!, opened: true };
    });
  }

  get(serviceId: string): Promise<ServiceSession | null> {
    return this.ctx.read(() => this.row(serviceId));
  }

  current(channelAccountId: string, contact: string): Promise<ServiceSession | null> {
    return this.ctx.read(() => this.currentRow(channelAccountId, contact));
  }

  assign(serviceId: string, agent: string, now: number, idleAt: number, from?: string): Promise<ServiceSession | null> {
    return this.ctx.write(() => {
      const r =
        from === undefined
          ? this.ctx
              .stmt(
                `UPDATE service_sessions SET state = 'assigned', agent = ?, last_activity_at = MAX(last_activity_at, ?), idle_at = MAX(idle_at, ?)
                 WHERE service_id = ? AND state <> 'closed'`,
              )
              .run(agent, now, idleAt, serviceId)
          : this.ctx
              .stmt(
                `UPDATE service_sessions SET state = 'assigned', agent = ?, last_activity_at = MAX(last_activity_at, ?), idle_at = MAX(idle_at, ?)
                 WHERE service_id = ? AND state <> 'closed' AND agent = ?`,
              )
              .run(agent, now, idleAt, serviceId, from);
      return r.changes > 0 ? this.changed(serviceId) : null;
    });
  }

  /** Inside a write that changed the session: its row, and its open-session entry forgotten. */
  private changed(serviceId: string): ServiceSession | null {
    const s = this.row(serviceId);
    if (s) this.ctx.openSessions.forget(sessionKey(s.channelAccountId, s.contact));
    return s;
  }

  touch(serviceId: string, now: number, idleAt: number): Promise<boolean> {
    return this.ctx.write(() => {
      const r = this.ctx.stmt(`${TOUCH} RETURNING account, contact`).get(now, idleAt, serviceId) as { account: string; contact: string } | undefined;
      if (r) this.ctx.openSessions.forget(sessionKey(r.account, r.contact));
      return r !== undefined;
    });
  }

  close(serviceId: string, reason: CloseReason, now: number, idleBy?: number): Promise<ServiceSession | null> {
    return this.ctx.write(() => {
      const r =
        idleBy === undefined
          ? this.ctx
              .stmt(`UPDATE service_sessions SET state = 'closed', closed_at = ?, close_reason = ?, idle_at = 0 WHERE service_id = ? AND state <> 'closed'`)
              .run(now, reason, serviceId)
          : this.ctx
              .stmt(
                `UPDATE service_sessions SET state = 'closed', closed_at = ?, close_reason = ?, idle_at = 0
                 WHERE service_id = ? AND state <> 'closed' AND idle_at <= ?`,
              )
              .run(now, reason, serviceId, idleBy);
      return r.changes > 0 ? this.changed(serviceId) : null;
    });
  }

  dueIdle(now: number, limit: number): Promise<ServiceSession[]> {
    return this.ctx.read(() =>
      (this.ctx.stmt(`SELECT ${COLS} FROM service_sessions WHERE state <> 'closed' AND idle_at <= ? ORDER BY idle_at LIMIT ?`).all(now, limit) as Row[]).map(toSession),
    );
  }

  queued(channelAccountIds: readonly string[], limit: number): Promise<ServiceSession[]> {
    return this.ctx.read(() => {
      if (channelAccountIds.length === 0) return [];
      const out: Row[] = [];
      // One index range per account (queued sessions by account, in opening order), merged by age.
      for (const a of new Set(channelAccountIds)) {
        out.push(...(this.ctx.stmt(`SELECT ${COLS}, id FROM service_sessions WHERE state = 'queued' AND account = ? ORDER BY id LIMIT ?`).all(a, limit) as Row[]));
      }
      return out
        .sort((x, y) => (x as Row & { id: number }).id - (y as Row & { id: number }).id)
        .slice(0, limit)
        .map(toSession);
    });
  }

  loads(agents: readonly string[]): Promise<Record<string, number>> {
    return this.ctx.read(() => {
      const out: Record<string, number> = {};
      for (const a of agents) out[a] = (this.ctx.stmt(`SELECT COUNT(*) AS n FROM service_sessions WHERE state = 'assigned' AND agent = ?`).get(a) as { n: number }).n;
      return out;
    });
  }

  list(f: ServiceSessionFilter): Promise<{ sessions: ServiceSession[]; total: number }> {
    return this.ctx.read(() => {
      const where: string[] = [];
      const args: Array<string | number> = [];
      if (f.state !== undefined) (where.push('state = ?'), args.push(f.state));
      if (f.agent !== undefined) (where.push('agent = ?'), args.push(f.agent));
      if (f.channelAccountId !== undefined) (where.push('account = ?'), args.push(f.channelAccountId));
      if (f.contact !== undefined) (where.push('contact = ?'), args.push(f.contact));
      const w = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
      const total = (this.ctx.stmt(`SELECT COUNT(*) AS n FROM service_sessions ${w}`).get(...args) as { n: number }).n;
      const rows = this.ctx.stmt(`SELECT ${COLS} FROM service_sessions ${w} ORDER BY id DESC LIMIT ? OFFSET ?`).all(...args, f.limit, f.offset) as Row[];
      return { sessions: rows.map(toSession), total };
    });
  }
}
