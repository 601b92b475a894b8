import { messageKey } from '../../core/ids.js';
import {
  targetKey,
  type AttemptOutcome,
  type ClaimOptions,
  type EffectSpec,
  type JobFilter,
  type JobStatus,
  type NewJob,
  type OutboxJob,
  type OutboxStore,
} from '../../core/ports/outbox.js';
import type Database from 'better-sqlite3';
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

const INSERT_JOB = `INSERT INTO outbox(channel, target, order_key, kind, body, meta, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;
/** A new job becomes its key's head unless the key already has one (an older active job). */
const INSERT_HEAD = `INSERT OR IGNORE INTO outbox_heads(order_key, channel, target, job_id, next_at) VALUES (?, ?, ?, ?, ?)`;

/** Insert one job and keep the heads invariant. Inside a writer command. */
function insertJob(ctx: SqliteContext, j: NewJob, body: string, now: number): number {
  const id = Number(ctx.stmt(INSERT_JOB).run(j.channel, j.target, j.orderKey, j.kind, body, JSON.stringify(j.meta), now, now).lastInsertRowid);
  ctx.stmt(INSERT_HEAD).run(j.orderKey, j.channel, j.target, id, now);
  ctx.freshJobs = true;
  ctx.lastJobId = id;
  return id;
}

/** Insert the jobs of a command's effects, filling commit-time facts. Inside a writer command. */
export function insertEffects(ctx: SqliteContext, specs: EffectSpec[] | undefined, facts: EffectFacts): void {
  if (!specs || specs.length === 0) return;
  const now = Date.now();
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
    insertJob(ctx, spec, JSON.stringify(body), now);
  }
}

/**
 * The SQLite outbox. Invariant kept by every write here: `outbox_heads` has a row for an order key iff
 * the key has an active job (status 0 pending or 1 in flight); the row names the key's oldest active job
 * and its `next_at` (retry time, or lease end while in flight). Claims read heads, never the queue.
 */
export class SqliteOutbox implements OutboxStore {
  /** Rotates the order in which targets are served by successive claims. */
  private turn = 0;
  /** What grant() allows the batch epilogue to claim for this process's dispatcher. */
  private granted = 0;
  private grantLeaseMs = 0;
  private grantOpts: ClaimOptions = {};
  private listener: ((jobs: OutboxJob[]) => void) | null = null;

  constructor(private readonly ctx: SqliteContext) {}

  grant(n: number, leaseMs: number, opts: ClaimOptions = {}): Promise<void> {
    // Plain state of the writer's thread: no write needed, and it applies to the next batch.
    this.granted = Math.max(0, this.granted + n);
    this.grantLeaseMs = leaseMs;
    this.grantOpts = opts;
    return Promise.resolve();
  }

  revoke(): Promise<void> {
    this.granted = 0;
    return Promise.resolve();
  }

  watch(listener: (jobs: OutboxJob[]) => void): () => void {
    this.listener = listener;
    return () => {
      if (this.listener === listener) this.listener = null;
    };
  }

  /**
   * The writer's batch epilogue: when the batch created jobs and a grant is left, lease due jobs in the
   * same transaction and hand them to the watcher once the batch is durable (no claim round trip).
   */
  epilogueWanted(): boolean {
    const fresh = this.ctx.freshJobs;
    this.ctx.freshJobs = false;
    return fresh && this.granted > 0 && this.listener !== null;
  }

  /** Only after epilogueWanted() answered true, in the same batch. */
  epilogue(): ((durable: boolean) => void) | undefined {
    if (!this.listener) return undefined;
    // This batch's own jobs included: they are handed over only once the batch is durable.
    const jobs = this.claimRows(Date.now(), this.granted, this.grantLeaseMs, this.grantOpts, Number.MAX_SAFE_INTEGER);
    if (jobs.length === 0) return undefined;
    this.granted -= jobs.length;
    const listener = this.listener;
    // Not durable (COMMIT or fsync failed): the leases did not persist, the grant is given back.
    return (durable) => (durable ? listener(jobs) : (this.granted += jobs.length));
  }

  enqueue(jobs: NewJob[]): Promise<number[]> {
    return this.ctx.write(() => {
      const now = Date.now();
      return jobs.map((j) => insertJob(this.ctx, j, JSON.stringify(j.body), now));
    });
  }

  claim(now: number, limit: number, leaseMs: number, opts: ClaimOptions = {}): Promise<OutboxJob[]> {
    // Only jobs whose commit is durable: a callback never announces a change a power loss could undo.
    return this.ctx.write(() => this.claimRows(now, limit, leaseMs, opts, this.ctx.durableJobId()), LEASE);
  }

  /**
   * Lease up to `limit` due heads (see the port's contract), of jobs up to `maxJobId`. Inside a writer
   * command.
   */
  private claimRows(now: number, limit: number, leaseMs: number, opts: ClaimOptions, maxJobId: number): OutboxJob[] {
    const targets = this.targets().filter((t) => !opts.exclude?.includes(targetKey(t.channel, t.target)));
    const out: OutboxJob[] = [];
    if (targets.length === 0 || limit <= 0) return out;
    const start = this.turn++ % targets.length;
    const due = this.ctx.stmt(
      `SELECT order_key, job_id FROM outbox_heads WHERE channel = ? AND target = ? AND next_at <= ? AND job_id <= ? ORDER BY next_at LIMIT ?`,
    );
    const lease = this.ctx.stmt(`UPDATE outbox SET status = 1, next_at = ?, attempts = attempts + 1 WHERE id = ? AND status IN (0, 1) RETURNING *`);
    const leaseHead = this.ctx.stmt(`UPDATE outbox_heads SET next_at = ? WHERE order_key = ?`);
    const until = now + leaseMs;
    // Serve targets in turn, each up to its free slots, until `limit` is reached.
    for (let i = 0; i < targets.length && out.length < limit; i++) {
      const t = targets[(start + i) % targets.length]!;
      const busy = opts.inFlight?.[targetKey(t.channel, t.target)] ?? 0;
      const free = Math.min(limit - out.length, opts.perTarget === undefined ? Infinity : opts.perTarget - busy);
      if (free <= 0) continue;
      for (const h of due.all(t.channel, t.target, now, maxJobId, free) as Array<{ order_key: string; job_id: number }>) {
        const row = lease.get(until, h.job_id) as JobRow | undefined;
        if (row) {
          leaseHead.run(until, h.order_key);
          out.push(toJob(row));
        } else {
          // A head naming no active job breaks the invariant; repair it rather than stall the key.
          this.advance(h.order_key);
        }
      }
    }
    return out;
  }

  /** The distinct (channel, target) pairs that have heads: one index step each (a skip scan). */
  private targets(): Array<{ channel: string; target: string }> {
    const next = this.ctx.stmt(`SELECT channel, target FROM outbox_heads WHERE (channel, target) > (?, ?) ORDER BY channel, target LIMIT 1`);
    const out: Array<{ channel: string; target: string }> = [];
    let last = { channel: '', target: '' };
    for (;;) {
      const r = next.get(last.channel, last.target) as { channel: string; target: string } | undefined;
      if (!r) return out;
      out.push(r);
      last = r;
    }
  }

  /** Point the key's head at its oldest active job, or drop it when none is left. */
  private advance(orderKey: string): void {
    const next = this.ctx.stmt(`SELECT id, next_at FROM outbox WHERE order_key = ? AND status IN (0, 1) ORDER BY id LIMIT 1`).get(orderKey) as
      | { id: number; next_at: number }
      | undefined;
    if (next) this.ctx.stmt(`UPDATE outbox_heads SET job_id = ?, next_at = ? WHERE order_key = ?`).run(next.id, next.next_at, orderKey);
    else this.ctx.stmt(`DELETE FROM outbox_heads WHERE order_key = ?`).run(orderKey);
  }

  settle(outcomes: AttemptOutcome[]): Promise<number> {
    return this.ctx.write(() => this.apply(outcomes), LEASE);
  }

  /** Apply outcomes inside a writer command. */
  private apply(outcomes: AttemptOutcome[]): number {
    // One statement per outcome: the update is its own fence (`lease` given: only while the job is in
    // flight under that lease) and returns the key whose head must move.
    const fence = (sql: string): [Database.Statement, Database.Statement] => [
      this.ctx.stmt(`${sql} WHERE id = ? RETURNING order_key`),
      this.ctx.stmt(`${sql} WHERE id = ? AND status = 1 AND next_at = ? RETURNING order_key`),
    ];
    const delivered = fence(`UPDATE outbox SET status = 2, delivered_at = ?, next_at = 0, last_response = ?, last_error = ''`);
    const failed = fence(`UPDATE outbox SET status = ?, next_at = ?, last_error = ?, last_response = ?`);
    const released = fence(`UPDATE outbox SET status = 0, next_at = ?, attempts = MAX(0, attempts - 1)`);
    const retryHead = this.ctx.stmt(`UPDATE outbox_heads SET next_at = ? WHERE order_key = ? AND job_id = ?`);
    const run = (pair: [Database.Statement, Database.Statement], o: AttemptOutcome, ...args: unknown[]): string | undefined => {
      const r = (o.lease === undefined ? pair[0].get(...args, o.id) : pair[1].get(...args, o.id, o.lease)) as { order_key: string } | undefined;
      return r?.order_key;
    };
    let applied = 0;
    let deliveries = 0;
    for (const o of outcomes) {
      if (o.ok) {
        const key = run(delivered, o, o.at, o.response.slice(0, KEEP_OK));
        if (key === undefined) continue;
        deliveries++;
        this.advance(key);
      } else if ('release' in o) {
        const key = run(released, o, o.nextAt);
        if (key === undefined) continue;
        if (retryHead.run(o.nextAt, key, o.id).changes === 0) this.advance(key);
      } else if (o.nextAt === null) {
        const key = run(failed, o, 3, 0, o.error.slice(0, KEEP), o.response.slice(0, KEEP));
        if (key === undefined) continue;
        this.advance(key);
      } else {
        const key = run(failed, o, 0, o.nextAt, o.error.slice(0, KEEP), o.response.slice(0, KEEP));
        if (key === undefined) continue;
        // The job stays its key's head (it is the oldest active job): the key waits for the retry.
        if (retryHead.run(o.nextAt, key, o.id).changes === 0) this.advance(key);
      }
      applied++;
    }
    if (deliveries > 0) {
      this.ctx
        .stmt(`INSERT INTO meta(key, value) VALUES ('outbox_delivered', ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value`)
        .run(deliveries);
    }
    return applied;
  }

  async complete(id: number, response: string, now: number): Promise<void> {
    await this.settle([{ id, ok: true, response, at: now }]);
  }

  async fail(id: number, error: string, response: string, nextAt: number | null): Promise<void> {
    await this.settle([{ id, ok: false, error, response, nextAt }]);
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
      const rows = (
        id === undefined
          ? this.ctx.stmt(`UPDATE outbox SET status = 0, attempts = 0, next_at = ? WHERE status = 3 RETURNING id, order_key, channel, target`).all(now)
          : this.ctx.stmt(`UPDATE outbox SET status = 0, attempts = 0, next_at = ? WHERE status = 3 AND id = ? RETURNING id, order_key, channel, target`).all(now, id)
      ) as Array<{ id: number; order_key: string; channel: string; target: string }>;
      const head = this.ctx.stmt(`SELECT job_id FROM outbox_heads WHERE order_key = ?`);
      const status = this.ctx.stmt(`SELECT status FROM outbox WHERE id = ?`);
      for (const r of rows) {
        const h = head.get(r.order_key) as { job_id: number } | undefined;
        if (!h) {
          this.ctx.stmt(INSERT_HEAD).run(r.order_key, r.channel, r.target, r.id, now);
        } else if (h.job_id > r.id && (status.get(h.job_id) as { status: number } | undefined)?.status !== 1) {
          // Older than the key's pending head: it goes first. Behind an in-flight head it waits its turn.
          this.advance(r.order_key);
        }
      }
      return rows.length;
    });
  }

  prune(deliveredBefore: number, deadBefore: number, limit: number): Promise<number> {
    return this.ctx.write(() => {
      // Ids grow with created_at: delete by id range, found by binary search on the primary key.
      const bound = (before: number): number => this.lastIdBefore(before);
      const d = this.ctx
        .stmt(`DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE id <= ? AND status = 2 ORDER BY id LIMIT ?)`)
        .run(bound(deliveredBefore), limit).changes;
      if (d >= limit) return d;
      const x = this.ctx
        .stmt(`DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE status = 3 AND id <= ? ORDER BY id LIMIT ?)`)
        .run(bound(deadBefore), limit - d).changes;
      return d + x;
    }, LEASE);
  }

  /** The largest job id created before `t` (0 if none): O(log n) primary-key lookups. */
  private lastIdBefore(t: number): number {
    const at = this.ctx.stmt(`SELECT id, created_at FROM outbox WHERE id >= ? ORDER BY id LIMIT 1`);
    const max = (this.ctx.stmt(`SELECT MAX(id) AS id FROM outbox`).get() as { id: number | null }).id ?? 0;
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

  counts(): Promise<Record<JobStatus, number>> {
    return this.ctx.read(() => {
      const out: Record<JobStatus, number> = { pending: 0, in_flight: 0, delivered: 0, dead: 0 };
      // Through the partial indexes: the cost follows active and dead jobs, not the delivery log.
      for (const r of this.ctx.stmt('SELECT status, COUNT(*) AS n FROM outbox WHERE status IN (0, 1) GROUP BY status').all() as Array<{
        status: number;
        n: number;
      }>) {
        out[STATUS[r.status] ?? 'pending'] = r.n;
      }
      out.dead = (this.ctx.stmt('SELECT COUNT(*) AS n FROM outbox WHERE status = 3').get() as { n: number }).n;
      out.delivered = (this.ctx.stmt(`SELECT value FROM meta WHERE key = 'outbox_delivered'`).get() as { value: number } | undefined)?.value ?? 0;
      return out;
    });
  }
}
