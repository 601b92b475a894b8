import type { JobStatus, OutboxJob } from '../../core/ports/outbox.js';

/** The outbox table's row shape, its status codes and mapper, shared by every SQL store. */

export const STATUS: JobStatus[] = ['pending', 'in_flight', 'delivered', 'dead'];
export const STATUS_CODE: Record<JobStatus, number> = { pending: 0, in_flight: 1, delivered: 2, dead: 3 };

/** Characters of an error or response kept in the delivery log, and of the response to a successful delivery. */
export const KEEP = 2000;
export const KEEP_OK = 200;

/** Default and largest page of OutboxStore.byRef(). */
const REF_PAGE = 1_000;

/** The page size byRef() reads for the `limit` asked (default and cap REF_PAGE, at least 1). */
export function refPage(limit = REF_PAGE): number {
  return Math.max(1, Math.min(REF_PAGE, Math.floor(limit) || 1));
}

export interface JobRow {
  id: number;
  channel: string;
  target: string;
  order_key: string;
  kind: string;
  body: string;
  meta: string;
  status: number;
  attempts: number;
  created_at: number;
  next_at: number;
  last_error: string;
  last_response: string;
  delivered_at: number;
  ref: string | null;
}

/** The columns of JobRow, for RETURNING and SELECT lists (`p` prefixes them with a table alias). */
export function jobColumns(p = ''): string {
  const a = p ? `${p}.` : '';
  return ['id', 'channel', 'target', 'order_key', 'kind', 'body', 'meta', 'status', 'attempts', 'created_at', 'next_at', 'last_error', 'last_response', 'delivered_at', 'ref']
    .map((c) => a + c)
    .join(', ');
}

export function toJob(r: JobRow): OutboxJob {
  return {
    id: r.id,
    channel: r.channel,
    target: r.target,
    orderKey: r.order_key,
    kind: r.kind,
    body: r.body,
    meta: JSON.parse(r.meta) as Record<string, string>,
    ...(r.ref === null ? {} : { ref: r.ref }),
    status: STATUS[r.status] ?? 'pending',
    attempts: r.attempts,
    createdAt: r.created_at,
    nextAt: r.next_at,
    lastError: r.last_error,
    lastResponse: r.last_response,
    deliveredAt: r.delivered_at,
  };
}
