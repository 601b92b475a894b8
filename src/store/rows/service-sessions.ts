import type { CloseReason, ServiceSession, SessionState } from '../../core/service-session-rules.js';

/** The service_sessions table's row shape and mapper, shared by every SQL store. */
export interface SessionRow {
  service_id: string;
  account: string;
  contact: string;
  state: string;
  agent: string;
  opened_at: number;
  last_activity_at: number;
  idle_at: number;
  closed_at: number;
  close_reason: string;
}

export const SESSION_COLS = 'service_id, account, contact, state, agent, opened_at, last_activity_at, idle_at, closed_at, close_reason';

export function toSession(r: SessionRow): ServiceSession {
  return {
    serviceId: r.service_id,
    channelAccountId: r.account,
    contact: r.contact,
    state: r.state as SessionState,
    agent: r.agent,
    openedAt: r.opened_at,
    lastActivityAt: r.last_activity_at,
    idleAt: r.idle_at,
    closedAt: r.closed_at,
    closeReason: r.close_reason as CloseReason | '',
  };
}
