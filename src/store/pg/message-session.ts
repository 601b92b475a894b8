import type { SessionActivity } from '../../core/ports/service-sessions.js';
import type { ServiceSession } from '../../core/service-session-rules.js';
import type { Queryable } from './pool.js';
import { SESSION_COLS as COLS, toSession, type SessionRow as Row } from '../rows/service-sessions.js';

/**
 * A contact's message's SessionActivity inside its append command (MessageDraft.session), as SQLite's
 * sessionActivity: the contact's open session, touched (last activity, idle deadline: never lowered)
 * when the deadline moves by more than minStep; null when none is open. One statement.
 */
export async function sessionActivity(q: Queryable, a: SessionActivity): Promise<ServiceSession | null> {
  const sel = COLS.split(', ').map((c) => `s.${c}`).join(', ');
  const r = await q.row<Row>(
    `WITH cur AS (SELECT ${COLS} FROM service_sessions WHERE account = $1 AND contact = $2 AND state <> 'closed'),
          upd AS (UPDATE service_sessions s SET last_activity_at = GREATEST(s.last_activity_at, $3), idle_at = GREATEST(s.idle_at, $4)
                    FROM cur WHERE s.service_id = cur.service_id AND s.state <> 'closed' AND $4 - cur.idle_at > $5
                  RETURNING ${sel})
     SELECT ${COLS} FROM upd UNION ALL SELECT ${COLS} FROM cur WHERE NOT EXISTS (SELECT 1 FROM upd)`,
    [a.channelAccountId, a.contact, a.at, a.idleAt, a.minStep],
  );
  return r ? toSession(r) : null;
}
