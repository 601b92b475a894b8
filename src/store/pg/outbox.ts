import { headCount, type AttemptOutcome, type ClaimNext, type ClaimOptions, type Handover, type JobFilter, type JobStatus, type NewJob, type OutboxJob, type OutboxStore, type SettleRecord } from '../../core/ports/outbox.js';
import type { PgContext } from './context.js';
import { jobColumns, refPage, STATUS, STATUS_CODE, toJob, type JobRow } from '../rows/outbox.js';
import { insertJobs, lockHeads, syncHeads, type JobInsert } from './outbox-rows.js';
import { claimSql, leaseNext, rounds, settleParams, SETTLE_SQL, splitKey, withLookahead, type ClaimedRow } from './outbox-sql.js';
import type { Queryable } from './pool.js';
import { applySettleRecords } from './settle-records.js';
import type { PgTx } from './writer.js';

interface Grant {
  n: number;
  leaseMs: number;
  opts: ClaimOptions;
}

/**
 * The PostgreSQL outbox, safe with any number of nodes on one database.
 *
 * Invariant (outbox_heads, kept by every write here and by insertJobs): a key has a head row iff it
 * has an active job (pending or in flight); the head names the job the key serves next — its in-flight
 * head job if it has one, else its oldest active job — and carries that job's next_at (due time, retry
 * time or lease end). Besides the head's job only its lookahead is ever leased (the port's
 * *Lookahead*: the following active job, in flight with its own lease); the head moves onto it when
 * the head's job reaches a final outcome.
 *
 * Who runs where, and why no job is handed out twice nor out of its key's order:
 * - Inserts, settles, redeliveries run in writer commands. Writer batches are serialized cluster-wide
 *   (the counter lock, writer.ts), so job ids are commit-ordered (see outbox-rows.ts): a claim never
 *   skips a lower-id job that commits later, because none can.
 * - Claims run on the pool, one statement each (its own short transaction), taking due heads with
 *   FOR UPDATE SKIP LOCKED and leasing their jobs: two nodes never lease one head at once, and a head
 *   changed by a transaction that committed meanwhile is re-read (its new job and next_at) before it
 *   is taken. Claims never wait for a head; they only wait for the job rows of heads they hold.
 * - Lock order, so that claims and writer commands never deadlock: a writer command locks the heads of
 *   the keys it changes before it updates an active job of theirs (settle), and only updates jobs no
 *   head names otherwise (revive: dead jobs; insert: new jobs). Heads are recomputed (syncHeads) in a
 *   statement after the lock, so from rows every committed claim has already changed.
 * - Leases fence results: an outcome with `lease` applies only while the job is in flight under it.
 *
 * Claim ahead (grant/watch) is per process: after a batch of this node's writer commits jobs, granted
 * channels are claimed on the pool and handed to the watcher. Jobs committed on other nodes reach this
 * node's dispatcher through claim() (woken by the bus, or its poll).
 */
export class PgOutbox implements OutboxStore {
  /** Rotates the order in which targets are served by successive claims (fairness only). */
  private turn = 0;
  private readonly grants = new Map<string, Grant>();
  private listener: ((jobs: OutboxJob[], how: Handover) => void) | null = null;
  private handing: Promise<void> | null = null;
  private handAgain = false;

  constructor(
    private readonly ctx: PgContext,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    ctx.writer.onJobs = () => this.handOver();
  }

  grant(channel: string, n: number, leaseMs: number, opts: ClaimOptions = {}): Promise<void> {
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

  /** After a commit that wrote jobs: claim what the grants allow and hand it over (one run at a time). */
  private handOver(): void {
    if (this.handing) {
      this.handAgain = true;
      return;
    }
    this.handing = this.handLoop()
      .catch((err: unknown) => this.onError(err))
      .finally(() => {
        this.handing = null;
      });
  }

  private async handLoop(): Promise<void> {
    do {
      this.handAgain = false;
      if (!this.listener) return;
      for (const [channel, g] of this.grants) {
        // A store closing (its writer refuses writes) claims nothing more.
        if (g.n <= 0 || !this.listener || !this.ctx.writer.accepting) continue;
        // Reserved while the claim runs, so that a grant() meanwhile adds to what is left, not to it.
        const take = g.n;
        g.n = 0;
        let got: OutboxJob[] = [];
        try {
          got = await this.claimOn(Date.now(), take, g.leaseMs, g.opts);
        } finally {
          const cur = this.grants.get(channel);
          // Lookahead jobs ride on their predecessors' share (see the port): only heads use the grant.
          if (cur) cur.n += take - headCount(got);
        }
        // Leased even if the watcher left meanwhile: then they wait for their lease (same delivery id).
        if (got.length > 0) this.listener?.(got, 'grant');
      }
    } while (this.handAgain);
  }

  enqueue(jobs: NewJob[]): Promise<number[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    const rows: JobInsert[] = jobs.map((j) => ({ job: j, body: JSON.stringify(j.body) }));
    return this.ctx.write((tx) => insertJobs(tx, rows));
  }

  async claim(now: number, limit: number, leaseMs: number, opts: ClaimOptions = {}): Promise<OutboxJob[]> {
    // A claim sees the results this process submitted before it (the port's contract; SQLite's one
    // writer gives it): the dispatcher settles, then claims what the settle released.
    await this.ctx.writer.barrier();
    return this.claimOn(now, limit, leaseMs, opts);
  }

  /**
   * Lease up to `limit` due heads of the channels asked for (see the port's contract), serving
   * (channel, target) pairs in a rotating order, each up to its free slots: one statement on the pool.
   */
  private async claimOn(now: number, limit: number, leaseMs: number, opts: ClaimOptions): Promise<OutboxJob[]> {
    limit = Math.floor(limit);
    if (!(limit > 0) || (opts.channels !== undefined && opts.channels.length === 0)) return [];
    const busy = Object.entries(opts.inFlight ?? {}).map(([k, n]) => [...splitKey(k), n] as const);
    const excl = (opts.exclude ?? []).map(splitKey);
    const perTarget = opts.perTarget === undefined ? null : Math.floor(opts.perTarget);
    const rows = await this.ctx.hot.rows<ClaimedRow>(claimSql(opts.channels !== undefined), [
      opts.channels ?? null,
      Math.floor(now),
      Math.floor(now + leaseMs),
      limit,
      perTarget,
      busy.map((b) => b[0]),
      busy.map((b) => b[1]),
      busy.map((b) => b[2]),
      excl.map((e) => e[0]),
      excl.map((e) => e[1]),
      this.turn++,
      opts.lookahead === true,
    ]);
    const heads: OutboxJob[] = [];
    const broken: string[] = [];
    const ahead = new Map<number, OutboxJob>();
    for (const r of rows) {
      if (r.id === null) broken.push(r.head_key);
      else if (r.after !== null) ahead.set(Number(r.after), { ...toJob(r), after: Number(r.after) });
      else heads.push(toJob(r));
    }
    const out = withLookahead(heads, ahead);
    // A head naming no active job would stall its key: recompute it (also harmless when the head only
    // moved to a job committed after this claim's snapshot).
    if (broken.length > 0) {
      await this.ctx.write(async (tx) => {
        await lockHeads(tx, broken);
        await syncHeads(tx, broken);
      });
    }
    return out;
  }

  async settle(outcomes: AttemptOutcome[], next?: Record<string, ClaimNext>): Promise<number[]> {
    // An id no job can have never applies (and must not reach a bigint parameter).
    const valid = outcomes.filter((o) => Number.isSafeInteger(o.id) && (o.lease === undefined || Number.isSafeInteger(o.lease)));
    if (valid.length === 0) return [];
    const listener = this.listener;
    if (!next || !listener) return this.ctx.write((tx) => this.apply(tx, valid));
    let leased: OutboxJob[] = [];
    const applied = await this.ctx.write(async (tx) => {
      const got: OutboxJob[] = [];
      const ids = await this.apply(tx, valid, { next, out: got });
      leased = got; // only from the run that committed
      return ids;
    });
    // Committed (PostgreSQL's COMMIT is durable): hand the keys' next jobs over before answering.
    if (leased.length > 0) listener(leased, 'next');
    return applied;
  }

  /**
   * Apply outcomes inside a writer command; returns the ids of those applied, in order. With `take`
   * (settle-and-claim-next), the next jobs of the keys its final outcomes release are leased (see the port).
   */
  private async apply(tx: PgTx, outcomes: AttemptOutcome[], take?: { next: Record<string, ClaimNext>; out: OutboxJob[] }): Promise<number[]> {
    // The heads first (lock order): claims holding them finish, later ones skip them.
    const keys = (
      await tx.rows<{ order_key: string }>(
        `SELECT order_key FROM outbox_heads WHERE order_key IN (SELECT order_key FROM outbox WHERE id = ANY($1::bigint[])) ORDER BY order_key FOR UPDATE`,
        [outcomes.map((o) => o.id)],
      )
    ).map((r) => r.order_key);
    if (keys.length === 0) return [];
    const applied = new Set<number>(); // indexes into outcomes
    const touched = new Set<string>();
    /** Keys released by a final outcome (delivered or dead): their next job may be leased at once. */
    const released = new Set<string>();
    // Rounds of distinct ids: a job named twice sees its first outcome before its second, as in order.
    for (const round of rounds(outcomes)) {
      for (const r of await tx.rows<{ ord: number; order_key: string }>(SETTLE_SQL, settleParams(outcomes, round))) {
        applied.add(r.ord);
        touched.add(r.order_key);
        const o = outcomes[r.ord]!;
        if (!('release' in o) && (o.ok || o.nextAt === null)) released.add(r.order_key);
      }
    }
    if (applied.size === 0) return [];
    const ordered = [...applied].sort((a, b) => a - b).map((i) => outcomes[i]!);
    // Final outcomes' reactions commit with them, and only with them.
    const follow: JobInsert[] = [];
    const records: SettleRecord[] = [];
    for (const o of ordered) {
      if ('release' in o || !o.then || (!o.ok && o.nextAt !== null)) continue;
      for (const j of o.then.enqueue ?? []) follow.push({ job: j, body: JSON.stringify(j.body) });
      records.push(...(o.then.records ?? []));
    }
    const now = Date.now();
    await insertJobs(tx, follow, now);
    await applySettleRecords(tx, records, now);
    await syncHeads(tx, [...touched]);
    if (take && released.size > 0) await leaseNext(tx, [...released], take.next, take.out);
    return ordered.map((o) => o.id);
  }

  async complete(id: number, response: string, now: number): Promise<boolean> {
    return (await this.settle([{ id, ok: true, response, at: now }])).length > 0;
  }

  async fail(id: number, error: string, response: string, nextAt: number | null): Promise<boolean> {
    return (await this.settle([{ id, ok: false, error, response, nextAt }])).length > 0;
  }

  async get(id: number): Promise<OutboxJob | null> {
    if (!Number.isSafeInteger(id)) return null;
    const row = await this.ctx.db.row<JobRow>(`SELECT ${jobColumns()} FROM outbox WHERE id = $1`, [id]);
    return row ? toJob(row) : null;
  }

  async byRef(ref: string, limit?: number): Promise<OutboxJob[]> {
    const n = refPage(limit);
    // Through the partial index outbox_ref (ref = $1 implies ref IS NOT NULL).
    return (await this.ctx.db.rows<JobRow>(`SELECT ${jobColumns()} FROM outbox WHERE ref = $1 ORDER BY id LIMIT $2`, [ref, n])).map(toJob);
  }

  async list(f: JobFilter): Promise<OutboxJob[]> {
    const where: string[] = [];
    const args: Array<string | number> = [];
    const add = (cond: string, v: string | number): void => {
      args.push(v);
      where.push(cond.replace('?', `$${args.length}`));
    };
    if (f.status !== undefined) add('status = ?', STATUS_CODE[f.status]);
    if (f.channel !== undefined) add('channel = ?', f.channel);
    if (f.target !== undefined) add('target = ?', f.target);
    if (f.beforeId !== undefined) add('id < ?', f.beforeId);
    args.push(Math.max(0, Math.floor(f.limit) || 0));
    const sql = `SELECT ${jobColumns()} FROM outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${args.length}`;
    return (await this.ctx.db.rows<JobRow>(sql, args)).map(toJob);
  }

  redeliver(id?: number, now = Date.now()): Promise<number> {
    return this.ctx.write(async (tx) => (await this.reviveRows(tx, id, now, undefined)).length);
  }

  revive(id: number | undefined, now: number, limit: number): Promise<OutboxJob[]> {
    return this.ctx.write(async (tx) => (await this.reviveRows(tx, id, now, Math.max(1, Math.floor(limit) || 1))).map(toJob));
  }

  /**
   * Make that dead job (or up to `limit` of the oldest, or every dead job) pending again at `now` with
   * fresh attempts, rejoining its key: before the key's pending jobs, after its in-flight one. Inside a
   * writer command; returns the revived rows, by id. Dead jobs are named by no head, so updating them
   * before locking their heads keeps the lock order.
   */
  private async reviveRows(tx: PgTx, id: number | undefined, now: number, limit: number | undefined): Promise<JobRow[]> {
    if (id !== undefined && !Number.isSafeInteger(id)) return [];
    const set = `UPDATE outbox SET status = 0, attempts = 0, next_at = $1`;
    const cols = jobColumns();
    const rows =
      id !== undefined
        ? await tx.rows<JobRow>(`${set} WHERE status = 3 AND id = $2 RETURNING ${cols}`, [now, id])
        : limit === undefined
          ? await tx.rows<JobRow>(`${set} WHERE status = 3 RETURNING ${cols}`, [now])
          : await tx.rows<JobRow>(
              `WITH chunk AS MATERIALIZED (SELECT id FROM outbox WHERE status = 3 ORDER BY id LIMIT $2)
               ${set} WHERE id IN (SELECT id FROM chunk) AND status = 3 RETURNING ${cols}`,
              [now, limit],
            );
    if (rows.length === 0) return rows;
    rows.sort((a, b) => a.id - b.id);
    const keys = [...new Set(rows.map((r) => r.order_key))];
    await lockHeads(tx, keys);
    await syncHeads(tx, keys);
    tx.jobsWritten();
    return rows;
  }

  /**
   * Delete delivered and dead jobs created before their cutoffs, in chunks, on the pool: rows another
   * transaction holds (a redelivery under way) are skipped, so prune never waits for nor deadlocks
   * with a writer command. Pending and in-flight jobs are never deleted (the status is re-checked on
   * the row deleted).
   */
  async prune(deliveredBefore: number, deadBefore: number, limit: number): Promise<number> {
    limit = Math.floor(limit);
    if (!(limit > 0)) return 0;
    const del = (status: number, bound: number, before: number, n: number): Promise<number> =>
      this.ctx.db.run(
        // The chunk is chosen once (a materialized CTE: a LIMIT subquery under IN may be run again).
        `WITH chunk AS MATERIALIZED (
           SELECT id FROM outbox WHERE id <= $1 AND status = $2 AND created_at < $3 ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
         DELETE FROM outbox WHERE id IN (SELECT id FROM chunk) AND status = $2`,
        [bound, status, before, n],
      );
    const d = await del(STATUS_CODE.delivered, await this.lastIdBefore(deliveredBefore), deliveredBefore, limit);
    if (d >= limit) return d;
    return d + (await del(STATUS_CODE.dead, await this.lastIdBefore(deadBefore), deadBefore, limit - d));
  }

  /**
   * The largest job id created before `t` (0 if none), by binary search on the primary key: ids follow
   * commit order and created_at grows with it (up to the clock skew of nodes, which prune's own
   * created_at check absorbs).
   */
  private async lastIdBefore(t: number): Promise<number> {
    const q: Queryable = this.ctx.db;
    const max = (await q.row<{ id: number | null }>(`SELECT MAX(id) AS id FROM outbox`))?.id ?? 0;
    let lo = 0; // known: no job with id <= lo was created at or after t (vacuously for 0)
    let hi = max + 1; // known: every job with id >= hi was created at or after t, or does not exist
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const r = await q.row<{ id: number; created_at: number }>(`SELECT id, created_at FROM outbox WHERE id >= $1 ORDER BY id LIMIT 1`, [mid]);
      if (!r || r.id >= hi || r.created_at >= t) hi = mid;
      else lo = r.id;
    }
    return lo;
  }

  async counts(): Promise<Record<JobStatus, number>> {
    const out: Record<JobStatus, number> = { pending: 0, in_flight: 0, delivered: 0, dead: 0 };
    // Through the partial indexes: the cost follows active and dead jobs, not the delivery log.
    const rows = await this.ctx.db.rows<{ status: number; n: number }>(
      `SELECT status, COUNT(*)::bigint AS n FROM outbox WHERE status IN (0, 1) GROUP BY status
       UNION ALL SELECT 3, COUNT(*)::bigint FROM outbox WHERE status = 3
       UNION ALL SELECT 2, COALESCE((SELECT value FROM meta WHERE key = 'outbox_delivered'), 0)`,
    );
    for (const r of rows) out[STATUS[r.status] ?? 'pending'] = r.n;
    return out;
  }
}
