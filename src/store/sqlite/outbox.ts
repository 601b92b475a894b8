import { messageKey } from '../../core/ids.js';
import type { EffectSpec, JobFilter, JobStatus, NewJob, OutboxJob, OutboxStore } from '../../core/ports/outbox.js';
import type { SqliteContext } from './context.js';

const STATUS: JobStatus[] = ['pending', 'in_flight', 'delivered', 'dead'];
const CODE: Record<JobStatus, number> = { pending: 0, in_flight: 1, delivered: 2, dead: 3 };
const KEEP = 2000; // characters of an error or response kept in the delivery log
const KEEP_OK = 200; // of the response to a successful delivery
/**
 * Claims and results need not wait for an fsync: lost in a power cut, the job is only delivered again
 * (at least once, under the same delivery id), which the outbox contract allows anyway.
 */
const LEASE = { durable: false };

interface JobRow {
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
}

function toJob(r: JobRow): OutboxJob {
  return {
    id: r.id,
    channel: r.channel,
    target: r.target,
    orderKey: r.order_key,
    kind: r.kind,
    body: r.body,
    meta: JSON.parse(r.meta) as Record<string, string>,
    status: STATUS[r.status] ?? 'pending',
    attempts: r.attempts,
    createdAt: r.created_at,
    nextAt: r.next_at,
    lastError: r.last_error,
    lastResponse: r.last_response,
    deliveredAt: r.delivered_at,
  };
}

/** Facts of the committing command that effect specs may ask for. */
export interface EffectFacts {
  message?: { uid: number; timestamp: number; seq: number };
  /** The user's unread total over single chats as this command leaves it. */
  unread?: (userId: string) => number;
}

/** Insert the jobs of a command's effects, filling commit-time facts. Inside a writer command. */
export function insertEffects(ctx: SqliteContext, specs: EffectSpec[] | undefined, facts: EffectFacts): void {
  if (!specs || specs.length === 0) return;
  const now = Date.now();
  const ins = ctx.stmt(
    `INSERT INTO outbox(channel, target, order_key, kind, body, meta, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const spec of specs) {
    const body = { ...spec.body };
    const mk = spec.fill?.messageKey;
    if (mk && facts.message) {
      const k = messageKey(facts.message.uid, facts.message.timestamp);
      if (mk.seq) body[mk.seq] = k.seq;
      if (mk.random) body[mk.random] = k.random;
      if (mk.time) body[mk.time] = k.time;
      if (mk.key) body[mk.key] = k.key;
    }
    if (spec.fill?.messageSeq && facts.message) body[spec.fill.messageSeq] = facts.message.seq;
    const ur = spec.fill?.unreadOf;
    if (ur && facts.unread) body[ur.field] = facts.unread(ur.user);
    ins.run(spec.channel, spec.target, spec.orderKey, spec.kind, JSON.stringify(body), JSON.stringify(spec.meta), now, now);
  }
}

export class SqliteOutbox implements OutboxStore {
  constructor(private readonly ctx: SqliteContext) {}

  enqueue(jobs: NewJob[]): Promise<number[]> {
    return this.ctx.write(() => {
      const now = Date.now();
      const ins = this.ctx.stmt(
        `INSERT INTO outbox(channel, target, order_key, kind, body, meta, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      return jobs.map(
        (j) => Number(ins.run(j.channel, j.target, j.orderKey, j.kind, JSON.stringify(j.body), JSON.stringify(j.meta), now, now).lastInsertRowid),
      );
    });
  }

  claim(now: number, limit: number, leaseMs: number): Promise<OutboxJob[]> {
    return this.ctx.write(() => {
      // Due jobs in id order — pending and ready, or in flight with a lapsed lease — that are the
      // oldest active job of their key (no earlier pending or in-flight job of the same key).
      const rows = this.ctx
        .stmt(
          `SELECT o.* FROM outbox o
           WHERE o.status IN (0, 1) AND o.next_at <= ?
             AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.order_key = o.order_key AND p.status IN (0, 1) AND p.id < o.id)
           ORDER BY o.id LIMIT ?`,
        )
        .all(now, limit) as JobRow[];
      const lease = this.ctx.stmt('UPDATE outbox SET status = 1, next_at = ? WHERE id = ?');
      for (const r of rows) {
        lease.run(now + leaseMs, r.id);
        r.status = 1;
        r.next_at = now + leaseMs;
      }
      return rows.map(toJob);
    }, LEASE);
  }

  complete(id: number, response: string, now: number): Promise<void> {
    return this.ctx.write(() => {
      this.ctx
        .stmt(`UPDATE outbox SET status = 2, attempts = attempts + 1, delivered_at = ?, next_at = 0, last_response = ?, last_error = '' WHERE id = ?`)
        .run(now, response.slice(0, KEEP_OK), id);
    }, LEASE);
  }

  fail(id: number, error: string, response: string, nextAt: number | null): Promise<void> {
    return this.ctx.write(() => {
      this.ctx
        .stmt(`UPDATE outbox SET status = ?, attempts = attempts + 1, next_at = ?, last_error = ?, last_response = ? WHERE id = ?`)
        .run(nextAt === null ? 3 : 0, nextAt ?? 0, error.slice(0, KEEP), response.slice(0, KEEP), id);
    }, LEASE);
  }

  list(f: JobFilter): Promise<OutboxJob[]> {
    return this.ctx.read(() => {
      const where: string[] = [];
      const args: Array<string | number> = [];
      if (f.status !== undefined) {
        where.push('status = ?');
        args.push(CODE[f.status]);
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
      return (this.ctx.stmt(sql).all(...args, f.limit) as JobRow[]).map(toJob);
    });
  }

  redeliver(id?: number, now = Date.now()): Promise<number> {
    return this.ctx.write(() => {
      const r =
        id === undefined
          ? this.ctx.stmt(`UPDATE outbox SET status = 0, attempts = 0, next_at = ? WHERE status = 3`).run(now)
          : this.ctx.stmt(`UPDATE outbox SET status = 0, attempts = 0, next_at = ? WHERE status = 3 AND id = ?`).run(now, id);
      return r.changes;
    });
  }

  counts(): Promise<Record<JobStatus, number>> {
    return this.ctx.read(() => {
      const out: Record<JobStatus, number> = { pending: 0, in_flight: 0, delivered: 0, dead: 0 };
      // Active and dead jobs through their partial indexes; delivered = the rest.
      for (const r of this.ctx.stmt('SELECT status, COUNT(*) AS n FROM outbox WHERE status IN (0, 1) GROUP BY status').all() as Array<{
        status: number;
        n: number;
      }>) {
        out[STATUS[r.status] ?? 'pending'] = r.n;
      }
      out.dead = (this.ctx.stmt('SELECT COUNT(*) AS n FROM outbox WHERE status = 3').get() as { n: number }).n;
      const total = (this.ctx.stmt('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
      out.delivered = total - out.pending - out.in_flight - out.dead;
      return out;
    });
  }
}
