import {
  headCount,
  targetKey,
  type AttemptOutcome,
  type ClaimNext,
  type ClaimOptions,
  type Handover,
  type JobFilter,
  type JobStatus,
  type NewJob,
  type OutboxJob,
  type OutboxStore,
} from '../../core/ports/outbox.js';
import type Database from 'better-sqlite3';
import type { SqliteContext } from './context.js';
import { MemoryLeases, type MemLease } from './outbox-leases.js';
import { jobById, jobCounts, jobsByRef, lastIdBefore, listJobs } from './outbox-reads.js';
import { KEEP, KEEP_OK, toJob, type JobRow } from '../rows/outbox.js';
import { applySettleRecords, INSERT_HEAD, insertJob, type NextRow, type RevivedRow } from './outbox-rows.js';

/**
 * Claims and results need not wait for an fsync: lost in a power cut, the job is only delivered again
 * (at least once, under the same delivery id), which the outbox contract allows anyway.
 */
const LEASE = { durable: false };
/** A settle that leases its keys' next jobs (settle-and-claim-next): committed without waiting for an fsync in progress. */
const URGENT = { urgent: true };
const URGENT_LEASE = { durable: false, urgent: true };

/**
 * The SQLite outbox. Invariant kept by every write here: `outbox_heads` has a row for an order key iff
 * the key has an active job (status 0 pending or 1 in flight); the row names the key's oldest active job
 * and its `next_at` (retry time, or lease end while in flight). Claims read heads, never the queue.
 *
 * Leases: one process owns the file and one writer thread makes every write (the same invariant as the
 * seq counter, the write-behind buffer and the uid generator), so a lease lives in that thread's memory
 * (`leases`): the job's row stays pending (status 0) and only its key's head carries the lease end (so
 * claims skip it, and after a crash the job is due again at that time). The row's `attempts` counts
 * every attempt but the one in flight: that one is written with its outcome (delivered, retry, dead;
 * a release gives it back), or by the next claim when its lease ended without one — lapsed (the memory
 * entry says so) or lost with the process (the head's `next_at` differs from the row's: only a lease
 * moves one without the other). So a job that crashes the process at every attempt still reaches
 * its maxAttempts. Fences: an outcome
 * with a lease applies only while that lease is the job's current one; every map change inside a write
 * command is recorded in the undo log, so memory follows what the file committed. Reads (get, byRef,
 * list, counts) show a leased job as in flight with its lease's attempts and end, as before. Rows in
 * flight in the file (status 1: leased by an earlier version) keep their file lease and fence.
 */
export class SqliteOutbox implements OutboxStore {
  /** Jobs leased in memory (see *Leases* above). */
  private readonly leases: MemoryLeases;
  /** Rotates the order in which targets are served by successive claims. */
  private turn = 0;
  /** What grant() allows the batch epilogue to claim for this process's dispatcher, per channel. */
  private readonly grants = new Map<string, { n: number; leaseMs: number; opts: ClaimOptions }>();
  private listener: ((jobs: OutboxJob[], how: Handover) => void) | null = null;

  constructor(private readonly ctx: SqliteContext) {
    this.leases = new MemoryLeases(ctx);
  }

  grant(channel: string, n: number, leaseMs: number, opts: ClaimOptions = {}): Promise<void> {
    // Plain state of the writer's thread: no write needed, and it applies to the next batch.
    const left = this.grants.get(channel)?.n ?? 0;
    this.grants.set(channel, { n: Math.max(0, left + n), leaseMs, opts: { ...opts, channels: [channel] } });
    return Promise.resolve();
  }

  revoke(): Promise<void> {
    this.grants.clear();
    return Promise.resolve();
  }

  watch(listener: (jobs: OutboxJob[], how: Handover) => void): () => void {
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
    if (!fresh || this.listener === null) return false;
    for (const g of this.grants.values()) if (g.n > 0) return true;
    return false;
  }

  /** Only after epilogueWanted() answered true, in the same batch. */
  epilogue(): ((durable: boolean) => void) | undefined {
    if (!this.listener) return undefined;
    const now = Date.now();
    const jobs: OutboxJob[] = [];
    const taken: Array<{ channel: string; n: number }> = [];
    for (const [channel, g] of this.grants) {
      if (g.n <= 0) continue;
      // This batch's own jobs included: they are handed over only once the batch is durable.
      const got = this.claimRows(now, g.n, g.leaseMs, g.opts, Number.MAX_SAFE_INTEGER);
      if (got.length === 0) continue;
      // Lookahead jobs ride on their predecessors' share (see the port): only heads use the grant.
      const heads = headCount(got);
      g.n -= heads;
      taken.push({ channel, n: heads });
      for (const j of got) jobs.push(j);
    }
    if (jobs.length === 0) return undefined;
    const listener = this.listener;
    // Not durable (COMMIT or fsync failed): the leases did not persist, the grants are given back.
    return (durable) => {
      if (durable) {
        listener(jobs, 'grant');
        return;
      }
      for (const t of taken) {
        const g = this.grants.get(t.channel);
        if (g) g.n += t.n;
      }
    };
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
   * Lease up to `limit` due heads (see the port's contract), of jobs up to `maxJobId`, each followed by
   * its lookahead when asked for. Inside a writer command.
   */
  private claimRows(now: number, limit: number, leaseMs: number, opts: ClaimOptions, maxJobId: number): OutboxJob[] {
    const out: OutboxJob[] = [];
    let heads = 0;
    if (limit <= 0) return out;
    const targets = this.targets(opts.channels).filter((t) => !opts.exclude?.includes(targetKey(t.channel, t.target)));
    if (targets.length === 0) return out;
    const start = this.turn++ % targets.length;
    const due = this.ctx.stmt(
      `SELECT order_key, job_id, next_at FROM outbox_heads WHERE channel = ? AND target = ? AND next_at <= ? AND job_id <= ? ORDER BY next_at LIMIT ?`,
    );
    // A read of the row, then the lease: in memory for a pending row, by id in the file for a row an
    // earlier version leased there (status 1).
    const pick = this.ctx.stmt(`SELECT * FROM outbox WHERE id = ? AND status IN (0, 1)`);
    const lease = this.ctx.stmt(`UPDATE outbox SET status = 1, next_at = ?, attempts = attempts + 1 WHERE id = ?`);
    const count = this.ctx.stmt(`UPDATE outbox SET attempts = ? WHERE id = ?`);
    const leaseHead = this.ctx.stmt(`UPDATE outbox_heads SET next_at = ? WHERE order_key = ?`);
    const until = now + leaseMs;
    // Serve targets in turn, each up to its free slots, until `limit` is reached.
    for (let i = 0; i < targets.length && heads < limit; i++) {
      const t = targets[(start + i) % targets.length]!;
      const busy = opts.inFlight?.[targetKey(t.channel, t.target)] ?? 0;
      const free = Math.min(limit - heads, opts.perTarget === undefined ? Infinity : opts.perTarget - busy);
      if (free <= 0) continue;
      for (const h of due.all(t.channel, t.target, now, maxJobId, free) as Array<{ order_key: string; job_id: number; next_at: number }>) {
        const row = pick.get(h.job_id) as JobRow | undefined;
        if (row) {
          let attempts = row.attempts + 1;
          if (row.status === 0) {
            // A lease that ended without an outcome counted an attempt: a lapsed one in memory, or one
            // lost with the process (its end is on the head, not on the row). That attempt is written
            // now (rare), so the file counts every attempt but the one in flight (see *Leases*).
            const lapsed = this.leases.get(row.id)?.attempts ?? (h.next_at !== row.next_at ? row.attempts + 1 : row.attempts);
            if (lapsed !== row.attempts) count.run(lapsed, row.id);
            attempts = lapsed + 1;
            this.leases.set(row.id, { until, attempts });
          } else {
            lease.run(until, row.id);
          }
          leaseHead.run(until, h.order_key);
          out.push(toJob({ ...row, status: 1, next_at: until, attempts }));
          heads++;
          if (opts.lookahead) this.leaseAhead(row, now, until, maxJobId, out);
        } else {
          // A head naming no active job breaks the invariant; repair it rather than stall the key.
          this.advance(h.order_key);
        }
      }
    }
    return out;
  }

  /**
   * Lookahead (see the port): lease the active job of `head`'s key that follows it, until `until`, when
   * it is pending, due, of a job up to `maxJobId`, of the head's channel and not leased; pushed to `out`
   * with `after`. A memory lease of it that lapsed counted an attempt: written now, as claimRows does
   * for a head. A lookahead lease lost with the process counts none (its head's does). Inside a writer
   * command.
   */
  private leaseAhead(head: { id: number; order_key: string; channel: string }, now: number, until: number, maxJobId: number, out: OutboxJob[]): void {
    const row = this.ctx.stmt(`SELECT * FROM outbox WHERE order_key = ? AND id > ? AND status IN (0, 1) ORDER BY id LIMIT 1`).get(head.order_key, head.id) as
      | JobRow
      | undefined;
    // Of the head's channel only: the lane that holds the head is the one that can send it.
    if (!row || row.status !== 0 || row.next_at > now || row.id > maxJobId || row.channel !== head.channel) return;
    const held = this.leases.get(row.id);
    if (held && held.until > now) return;
    const lapsed = held?.attempts ?? row.attempts;
    if (lapsed !== row.attempts) this.ctx.stmt(`UPDATE outbox SET attempts = ? WHERE id = ?`).run(lapsed, row.id);
    const attempts = lapsed + 1;
    this.leases.set(row.id, { until, attempts });
    out.push({ ...toJob({ ...row, status: 1, next_at: until, attempts }), after: head.id });
  }

  /**
   * The distinct (channel, target) pairs that have heads, of the given channels (all when undefined):
   * one index step each (a skip scan of outbox_heads_due).
   */
  private targets(channels: string[] | undefined): Array<{ channel: string; target: string }> {
    const out: Array<{ channel: string; target: string }> = [];
    if (channels === undefined) {
      const next = this.ctx.stmt(`SELECT channel, target FROM outbox_heads WHERE (channel, target) > (?, ?) ORDER BY channel, target LIMIT 1`);
      let last = { channel: '', target: '' };
      for (;;) {
        const r = next.get(last.channel, last.target) as { channel: string; target: string } | undefined;
        if (!r) return out;
        out.push(r);
        last = r;
      }
    }
    // `>=` for the first step: an empty target is a target too.
    const first = this.ctx.stmt(`SELECT target FROM outbox_heads WHERE channel = ? AND target >= ? ORDER BY target LIMIT 1`);
    const next = this.ctx.stmt(`SELECT target FROM outbox_heads WHERE channel = ? AND target > ? ORDER BY target LIMIT 1`);
    for (const channel of [...new Set(channels)].sort()) {
      let r = first.get(channel, '') as { target: string } | undefined;
      while (r) {
        out.push({ channel, target: r.target });
        r = next.get(channel, r.target) as { target: string } | undefined;
      }
    }
    return out;
  }

  /**
   * Point the key's head at its oldest active job, or drop it when none is left. With `take`
   * (settle-and-claim-next), that job is offered to it first: `take` leases it or not and answers the
   * lease end, which the head then carries (as a claim's leaseHead would).
   */
  private advance(orderKey: string, take?: (next: JobRow) => number | undefined): void {
    // With `take` the whole row: a job it leases is built from it (no read back of the leased row).
    const next = (
      take
        ? this.ctx.stmt(`SELECT * FROM outbox WHERE order_key = ? AND status IN (0, 1) ORDER BY id LIMIT 1`)
        : this.ctx.stmt(`SELECT id, next_at, status, channel, target FROM outbox WHERE order_key = ? AND status IN (0, 1) ORDER BY id LIMIT 1`)
    ).get(orderKey) as JobRow | NextRow | undefined;
    if (next) {
      // A job leased in memory is in flight: the head carries its lease's end.
      const at = take?.(next as JobRow) ?? this.leases.get(next.id)?.until ?? next.next_at;
      this.ctx.stmt(`UPDATE outbox_heads SET job_id = ?, next_at = ? WHERE order_key = ?`).run(next.id, at, orderKey);
    } else this.ctx.stmt(`DELETE FROM outbox_heads WHERE order_key = ?`).run(orderKey);
  }

  /**
   * The `take` of advance() for one settle's `next` (see the port): leases a key's next job when claim()
   * with that channel's options would take it now, counting what this settle already took per channel
   * and per target; the leased jobs are pushed to `out`. Inside the settle's writer command.
   */
  private nextTaker(next: Record<string, ClaimNext>, out: OutboxJob[]): (n: JobRow) => number | undefined {
    const now = Date.now();
    // Only jobs whose commit is durable, as claim(): a callback never announces a change a power loss could undo.
    const durable = this.ctx.durableJobId();
    const perChannel = new Map<string, number>();
    const perTarget = new Map<string, number>();
    // The lease is in memory (see *Leases*): no write of the row; the job is built from the row advance() read.
    return (n) => {
      const c = next[n.channel];
      if (!c) return undefined;
      const held = this.leases.get(n.id);
      // The key's head moved onto its lookahead: the job after it is leased ahead in turn.
      if (held && held.until > now && c.opts.lookahead) this.leaseAhead(n, now, now + c.leaseMs, durable, out);
      if (n.status !== 0 || held || n.next_at > now || n.id > durable) return undefined;
      const taken = perChannel.get(n.channel) ?? 0;
      if (taken >= c.limit) return undefined;
      const key = targetKey(n.channel, n.target);
      if (c.opts.exclude?.includes(key)) return undefined;
      const busy = (c.opts.inFlight?.[key] ?? 0) + (perTarget.get(key) ?? 0);
      if (c.opts.perTarget !== undefined && busy >= c.opts.perTarget) return undefined;
      const until = now + c.leaseMs;
      const attempts = n.attempts + 1;
      this.leases.set(n.id, { until, attempts });
      perChannel.set(n.channel, taken + 1);
      perTarget.set(key, (perTarget.get(key) ?? 0) + 1);
      out.push(toJob({ ...n, status: 1, next_at: until, attempts }));
      if (c.opts.lookahead) this.leaseAhead(n, now, until, durable, out);
      return until;
    };
  }

  settle(outcomes: AttemptOutcome[], next?: Record<string, ClaimNext>): Promise<number[]> {
    // A reaction's jobs, and the post-commit hooks that announce its outcome, wait for durability.
    const reacting = outcomes.some((o) => 'then' in o && o.then !== undefined);
    const listener = this.listener;
    if (!next || !listener) return this.ctx.write(() => this.apply(outcomes), reacting ? undefined : LEASE);
    let leased: OutboxJob[] = [];
    const done = this.ctx.write(() => {
      const got: OutboxJob[] = [];
      const applied = this.apply(outcomes, this.nextTaker(next, got));
      leased = got; // only once apply succeeded: a command that throws rolls its leases back
      return applied;
    }, reacting ? URGENT : URGENT_LEASE); // urgent: the keys' next jobs are handed over at its commit
    // Queued right behind the settle on the one writer, so it resolves once the batch holding the settle
    // is committed (before its fsync: a lease needs none). A failed COMMIT rolled the leases back with it.
    const handed = this.ctx.write(() => leased, LEASE).then(
      (jobs) => {
        if (jobs.length > 0) listener(jobs, 'next');
      },
      () => undefined,
    );
    // The port: the `next` jobs are handed over before the settle resolves.
    return done.then(async (ids) => {
      await handed;
      return ids;
    });
  }

  /** Apply outcomes inside a writer command; returns the ids of those applied. `take`: see advance(). */
  private apply(outcomes: AttemptOutcome[], take?: (next: JobRow) => number | undefined): number[] {
    // The fence is a read of the job's key (`lease` given: only while the job is in flight under that
    // lease; none: only while it is active), then the update by id. Same transaction, same writer, so as
    // good as the update's own WHERE, and cheaper than `UPDATE … RETURNING` (SQLite stages returned rows
    // in a temporary table): −13 to −17% of the store's CPU per delivered reply (docs/benchmarks.md,
    // bench/outbox/settle-loop.ts). A job leased in memory: its lease is the fence (and its row pending).
    const active = this.ctx.stmt(`SELECT order_key FROM outbox WHERE id = ? AND status IN (0, 1)`);
    const leased = this.ctx.stmt(`SELECT order_key FROM outbox WHERE id = ? AND status = 1 AND next_at = ?`);
    // The last parameter before the id: the attempts of a memory lease (counted now), or null (the file's).
    const delivered = this.ctx.stmt(`UPDATE outbox SET status = 2, delivered_at = ?, next_at = 0, last_response = ?, last_error = '', attempts = coalesce(?, attempts) WHERE id = ?`);
    const failed = this.ctx.stmt(`UPDATE outbox SET status = ?, next_at = ?, last_error = ?, last_response = ?, attempts = coalesce(?, attempts) WHERE id = ?`);
    const released = this.ctx.stmt(`UPDATE outbox SET status = 0, next_at = ?, attempts = coalesce(?, MAX(0, attempts - 1)) WHERE id = ?`);
    const retryHead = this.ctx.stmt(`UPDATE outbox_heads SET next_at = ? WHERE order_key = ? AND job_id = ?`);
    /**
     * The outcome's update when its fence holds; answers the key whose head must move (undefined: not
     * applied). `attempts` maps a memory lease's attempts to what the row records (a release gives the
     * attempt back).
     */
    const run = (update: Database.Statement, o: AttemptOutcome, attempts: (l: MemLease) => number, ...args: unknown[]): string | undefined => {
      const l = this.leases.get(o.id);
      let r: { order_key: string } | undefined;
      if (l !== undefined) {
        if (o.lease !== undefined && o.lease !== l.until) return undefined;
        r = active.get(o.id) as { order_key: string } | undefined;
      } else {
        r = (o.lease === undefined ? active.get(o.id) : leased.get(o.id, o.lease)) as { order_key: string } | undefined;
      }
      if (r === undefined) return undefined;
      update.run(...args, l ? attempts(l) : null, o.id);
      if (l) this.leases.set(o.id, undefined);
      return r.order_key;
    };
    const counted = (l: MemLease): number => l.attempts;
    const givenBack = (l: MemLease): number => Math.max(0, l.attempts - 1);
    const applied: number[] = [];
    let deliveries = 0;
    const now = Date.now();
    for (const o of outcomes) {
      if ('release' in o) {
        const key = run(released, o, givenBack, o.nextAt);
        if (key === undefined) continue;
        if (retryHead.run(o.nextAt, key, o.id).changes === 0) this.advance(key);
        applied.push(o.id);
        continue;
      }
      if (o.ok) {
        const key = run(delivered, o, counted, o.at, o.response.slice(0, KEEP_OK));
        if (key === undefined) continue;
        deliveries++;
        this.advance(key, take);
      } else if (o.nextAt === null) {
        const key = run(failed, o, counted, 3, 0, o.error.slice(0, KEEP), o.response.slice(0, KEEP));
        if (key === undefined) continue;
        this.advance(key, take);
      } else {
        const key = run(failed, o, counted, 0, o.nextAt, o.error.slice(0, KEEP), o.response.slice(0, KEEP));
        if (key === undefined) continue;
        // The job stays its key's head (it is the oldest active job): the key waits for the retry.
        if (retryHead.run(o.nextAt, key, o.id).changes === 0) this.advance(key);
        applied.push(o.id);
        continue;
      }
      // A final outcome: its reaction commits with it, and only with it.
      for (const j of o.then?.enqueue ?? []) insertJob(this.ctx, j, JSON.stringify(j.body), now);
      if (o.then?.records) applySettleRecords(this.ctx, o.then.records, now);
      applied.push(o.id);
    }
    if (deliveries > 0) {
      this.ctx
        .stmt(`INSERT INTO meta(key, value) VALUES ('outbox_delivered', ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value`)
        .run(deliveries);
    }
    return applied;
  }

  async complete(id: number, response: string, now: number): Promise<boolean> {
    return (await this.settle([{ id, ok: true, response, at: now }])).length > 0;
  }

  async fail(id: number, error: string, response: string, nextAt: number | null): Promise<boolean> {
    return (await this.settle([{ id, ok: false, error, response, nextAt }])).length > 0;
  }

  get(id: number): Promise<OutboxJob | null> {
    return this.ctx.read(() => jobById(this.ctx, this.leases, id));
  }

  byRef(ref: string, limit?: number): Promise<OutboxJob[]> {
    return this.ctx.read(() => jobsByRef(this.ctx, this.leases, ref, limit));
  }

  list(f: JobFilter): Promise<OutboxJob[]> {
    return this.ctx.read(() => listJobs(this.ctx, this.leases, f));
  }

  redeliver(id?: number, now = Date.now()): Promise<number> {
    return this.ctx.write(() => this.reviveRows(id, now, undefined, 'id, order_key, channel, target').length);
  }

  revive(id: number | undefined, now: number, limit: number): Promise<OutboxJob[]> {
    return this.ctx.write(() => (this.reviveRows(id, now, Math.max(1, Math.floor(limit) || 1), '*') as JobRow[]).map(toJob));
  }

  /**
   * Make that dead job (or up to `limit` of the oldest, or every dead job) pending again at `now` with
   * fresh attempts, rejoining its key. Inside a writer command; returns the revived rows (`columns`), by id.
   */
  private reviveRows(id: number | undefined, now: number, limit: number | undefined, columns: string): RevivedRow[] {
    const set = `UPDATE outbox SET status = 0, attempts = 0, next_at = ?`;
    const rows = (
      id !== undefined
        ? this.ctx.stmt(`${set} WHERE status = 3 AND id = ? RETURNING ${columns}`).all(now, id)
        : limit === undefined
          ? this.ctx.stmt(`${set} WHERE status = 3 RETURNING ${columns}`).all(now)
          : this.ctx.stmt(`${set} WHERE id IN (SELECT id FROM outbox WHERE status = 3 ORDER BY id LIMIT ?) RETURNING ${columns}`).all(now, limit)
    ) as RevivedRow[];
    rows.sort((a, b) => a.id - b.id);
    const head = this.ctx.stmt(`SELECT job_id, next_at FROM outbox_heads WHERE order_key = ?`);
    const row = this.ctx.stmt(`SELECT status, next_at FROM outbox WHERE id = ?`);
    for (const r of rows) {
      const h = head.get(r.order_key) as { job_id: number; next_at: number } | undefined;
      if (!h) {
        this.ctx.stmt(INSERT_HEAD).run(r.order_key, r.channel, r.target, r.id, now);
        continue;
      }
      if (h.job_id <= r.id || this.leases.has(h.job_id)) continue;
      const was = row.get(h.job_id) as { status: number; next_at: number } | undefined;
      // Behind an in-flight head (a lease in the file) the revived job waits its turn.
      if (was?.status === 1) continue;
      // Older than the key's pending head: it goes first. A head whose end differs from its row's holds
      // a lease lost with the process (see *Leases*); moving the head off drops that mark, so the lost
      // attempt is written now, as the head's next claim would have.
      if (was && was.next_at !== h.next_at) this.ctx.stmt(`UPDATE outbox SET attempts = attempts + 1 WHERE id = ?`).run(h.job_id);
      this.advance(r.order_key);
    }
    return rows;
  }

  prune(deliveredBefore: number, deadBefore: number, limit: number): Promise<number> {
    return this.ctx.write(() => {
      // Ids grow with created_at: delete by id range, found by binary search on the primary key.
      const bound = (before: number): number => lastIdBefore(this.ctx, before);
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

  counts(): Promise<Record<JobStatus, number>> {
    return this.ctx.read(() => jobCounts(this.ctx, this.leases));
  }
}
