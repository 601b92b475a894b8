import type { NewServiceSession, ServiceSessionFilter, ServiceSessionStore } from '../../core/ports/service-sessions.js';
import type { CloseReason, ServiceSession, SessionState } from '../../core/service-session-rules.js';
import { SESSION_COLS as COLS, toSession, type SessionRow as Row } from '../rows/service-sessions.js';
import type { PgContext } from './context.js';
import type { Queryable } from './pool.js';

function currentRow(q: Queryable, account: string, contact: string): Promise<Row | undefined> {
  return q.row<Row>(`SELECT ${COLS} FROM service_sessions WHERE account = $1 AND contact = $2 AND state <> 'closed'`, [account, contact]);
}

/**
 * Customer-service sessions on PostgreSQL (table service_sessions; the contract is the port's doc
 * comment). Every write is one statement whose WHERE is the compare-and-set, returning the row it
 * changed; `open` relies on the writer (cluster-wide serialized commands) and the partial unique index
 * service_sessions_current (at most one session not closed per account and contact).
 */
export class PgServiceSessions implements ServiceSessionStore {
  constructor(private readonly ctx: PgContext) {}

  open(s: NewServiceSession): Promise<{ session: ServiceSession; opened: boolean }> {
    return this.ctx.write(async (tx) => {
      const existing = await currentRow(tx, s.channelAccountId, s.contact);
      if (existing) return { session: toSession(existing), opened: false };
      const r = await tx.row<Row>(
        `INSERT INTO service_sessions(service_id, account, contact, state, agent, opened_at, last_activity_at, idle_at, closed_at, close_reason)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, 0, '') RETURNING ${COLS}`,
        [s.serviceId, s.channelAccountId, s.contact, s.agent ? 'assigned' : 'queued', s.agent, s.now, s.idleAt],
      );
      return { session: toSession(r!), opened: true };
    });
  }

  async get(serviceId: string): Promise<ServiceSession | null> {
    const r = await this.ctx.db.row<Row>(`SELECT ${COLS} FROM service_sessions WHERE service_id = $1`, [serviceId]);
    return r ? toSession(r) : null;
  }

  async current(channelAccountId: string, contact: string): Promise<ServiceSession | null> {
    const r = await currentRow(this.ctx.db, channelAccountId, contact);
    return r ? toSession(r) : null;
  }

  assign(serviceId: string, agent: string, now: number, idleAt: number, from?: string): Promise<ServiceSession | null> {
    return this.ctx.write(async (tx) => {
      const r = await tx.row<Row>(
        `UPDATE service_sessions SET state = 'assigned', agent = $1, last_activity_at = GREATEST(last_activity_at, $2), idle_at = GREATEST(idle_at, $3)
         WHERE service_id = $4 AND state <> 'closed' AND ($5::text IS NULL OR agent = $5) RETURNING ${COLS}`,
        [agent, now, idleAt, serviceId, from ?? null],
      );
      return r ? toSession(r) : null;
    });
  }

  touch(serviceId: string, now: number, idleAt: number): Promise<boolean> {
    return this.ctx.write(
      async (tx) =>
        (await tx.run(
          `UPDATE service_sessions SET last_activity_at = GREATEST(last_activity_at, $1), idle_at = GREATEST(idle_at, $2)
           WHERE service_id = $3 AND state <> 'closed'`,
          [now, idleAt, serviceId],
        )) > 0,
    );
  }

  close(serviceId: string, reason: CloseReason, now: number, idleBy?: number): Promise<ServiceSession | null> {
    return this.ctx.write(async (tx) => {
      const r = await tx.row<Row>(
        `UPDATE service_sessions SET state = 'closed', closed_at = $1, close_reason = $2, idle_at = 0
         WHERE service_id = $3 AND state <> 'closed' AND ($4::bigint IS NULL OR idle_at <= $4) RETURNING ${COLS}`,
        [now, reason, serviceId, idleBy ?? null],
      );
      return r ? toSession(r) : null;
    });
  }

  async dueIdle(now: number, limit: number): Promise<ServiceSession[]> {
    const rows = await this.ctx.db.rows<Row>(`SELECT ${COLS} FROM service_sessions WHERE state <> 'closed' AND idle_at <= $1 ORDER BY idle_at LIMIT $2`, [
      now,
      limit,
    ]);
    return rows.map(toSession);
  }

  async queued(channelAccountIds: readonly string[], limit: number): Promise<ServiceSession[]> {
    if (channelAccountIds.length === 0) return [];
    // Oldest first across the accounts (service_sessions_queued: one index range per account).
    const rows = await this.ctx.db.rows<Row>(
      `SELECT ${COLS} FROM service_sessions WHERE state = 'queued' AND account = ANY($1::text[]) ORDER BY id LIMIT $2`,
      [[...new Set(channelAccountIds)], limit],
    );
    return rows.map(toSession);
  }

  async loads(agents: readonly string[]): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const a of agents) out[a] = 0;
    if (agents.length === 0) return out;
    const rows = await this.ctx.db.rows<{ agent: string; n: number }>(
      `SELECT agent, COUNT(*) AS n FROM service_sessions WHERE state = 'assigned' AND agent = ANY($1::text[]) GROUP BY agent`,
      [[...new Set(agents)]],
    );
    for (const r of rows) out[r.agent] = r.n;
    return out;
  }

  async list(f: ServiceSessionFilter): Promise<{ sessions: ServiceSession[]; total: number }> {
    const where: string[] = [];
    const args: Array<string | number> = [];
    const eq = (col: string, v: string | undefined): void => {
      if (v === undefined) return;
      args.push(v);
      where.push(`${col} = $${args.length}`);
    };
    eq('state', f.state);
    eq('agent', f.agent);
    eq('account', f.channelAccountId);
    eq('contact', f.contact);
    const w = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    // Column names come from the fixed list above, never from input.
    const total = (await this.ctx.db.row<{ n: number }>(`SELECT COUNT(*) AS n FROM service_sessions ${w}`, args))!.n;
    const rows = await this.ctx.db.rows<Row>(
      `SELECT ${COLS} FROM service_sessions ${w} ORDER BY id DESC LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
      [...args, f.limit, f.offset],
    );
    return { sessions: rows.map(toSession), total };
  }
}
