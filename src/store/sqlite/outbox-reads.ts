import type { JobFilter, JobStatus, OutboxJob } from '../../core/ports/outbox.js';
import type { SqliteContext } from './context.js';
import type { MemoryLeases } from './outbox-leases.js';
import { refPage, STATUS, STATUS_CODE, type JobRow } from '../rows/outbox.js';

/**
 * The SQLite outbox's reads (SqliteOutbox's get, byRef, list and counts), inside a read command: a job
 * leased in the writer's memory is pending in the file and shown in flight (MemoryLeases.shown).
 */

export function jobById(ctx: SqliteContext, leases: MemoryLeases, id: number): OutboxJob | null {
  const row = ctx.stmt(`SELECT * FROM outbox WHERE id = ?`).get(id) as JobRow | undefined;
  return row ? leases.shown(row) : null;
}

export function jobsByRef(ctx: SqliteContext, leases: MemoryLeases, ref: string, limit?: number): OutboxJob[] {
  const n = refPage(limit);
  // Through the partial index outbox_ref (ref = ? implies ref IS NOT NULL).
  return (ctx.stmt(`SELECT * FROM outbox WHERE ref = ? ORDER BY id LIMIT ?`).all(ref, n) as JobRow[]).map((r) => leases.shown(r));
}

export function listJobs(ctx: SqliteContext, leases: MemoryLeases, f: JobFilter): OutboxJob[] {
  const where: string[] = [];
  const args: Array<string | number> = [];
  if (f.status !== undefined) {
    where.push('status = ?');
    args.push(STATUS_CODE[f.status]);
  }
  if (f.channel !== undefined) {
    where.push('channel = ?');
    args.push(f.channel);
  }
  if (f.target !== undefined) {
    where.push('target = ?');
    args.push(f.target);
  }
  if (f.beforeId !== undefined) {
    where.push('id < ?');
    args.push(f.beforeId);
  }
  const sql = `SELECT * FROM outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
  if (leases.size === 0 || (f.status !== 'pending' && f.status !== 'in_flight')) {
    return (ctx.stmt(sql).all(...args, f.limit) as JobRow[]).map((r) => leases.shown(r));
  }
  // Jobs leased in memory are pending in the file and shown in flight: a pending page skips them (it
  // reads that many more rows), an in-flight page adds them (read by id, filtered as the query).
  if (f.status === 'pending') {
    const rows = ctx.stmt(sql).all(...args, f.limit + leases.size) as JobRow[];
    return rows.filter((r) => !leases.has(r.id)).slice(0, f.limit).map((r) => leases.shown(r));
  }
  const byId = ctx.stmt(`SELECT * FROM outbox WHERE id = ?`);
  const mine = [...leases.ids()]
    .map((id) => byId.get(id) as JobRow | undefined)
    .filter((r): r is JobRow => r !== undefined && r.status === 0)
    .filter((r) => (f.channel === undefined || r.channel === f.channel) && (f.target === undefined || r.target === f.target) && (f.beforeId === undefined || r.id < f.beforeId));
  const rows = [...(ctx.stmt(sql).all(...args, f.limit) as JobRow[]), ...mine].sort((x, y) => y.id - x.id);
  return rows.slice(0, f.limit).map((r) => leases.shown(r));
}

export function jobCounts(ctx: SqliteContext, leases: MemoryLeases): Record<JobStatus, number> {
  const out: Record<JobStatus, number> = { pending: 0, in_flight: 0, delivered: 0, dead: 0 };
  // Through the partial indexes: the cost follows active and dead jobs, not the delivery log.
  for (const r of ctx.stmt('SELECT status, COUNT(*) AS n FROM outbox WHERE status IN (0, 1) GROUP BY status').all() as Array<{
    status: number;
    n: number;
  }>) {
    out[STATUS[r.status] ?? 'pending'] = r.n;
  }
  // Jobs leased in memory are pending in the file (every entry's row is: its outcome drops it).
  out.pending -= leases.size;
  out.in_flight += leases.size;
  out.dead = (ctx.stmt('SELECT COUNT(*) AS n FROM outbox WHERE status = 3').get() as { n: number }).n;
  out.delivered = (ctx.stmt(`SELECT value FROM meta WHERE key = 'outbox_delivered'`).get() as { value: number } | undefined)?.value ?? 0;
  return out;
}

/** The largest job id created before `t` (0 if none): O(log n) primary-key lookups (ids grow with created_at). */
export function lastIdBefore(ctx: SqliteContext, t: number): number {
  const at = ctx.stmt(`SELECT id, created_at FROM outbox WHERE id >= ? ORDER BY id LIMIT 1`);
  const max = (ctx.stmt(`SELECT MAX(id) AS id FROM outbox`).get() as { id: number | null }).id ?? 0;
  let lo = 0; // known: no job with id <= lo was created at or after t (vacuously for 0)
  let hi = max + 1; // known: every job with id >= hi was created at or after t, or does not exist
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const r = at.get(mid) as { id: number; created_at: number } | undefined;
    if (!r || r.id >= hi) {
      hi = mid;
    } else if (r.created_at < t) {
      lo = r.id;
    } else {
      hi = mid;
    }
  }
  return lo;
}
