import { targetKey, type AttemptOutcome, type ClaimNext, type ClaimOptions, type Handover, type JobFilter, type JobStatus, type NewJob, type OutboxJob, type OutboxStore, type SettleRecord } from '../../core/ports/outbox.js';
import type { PgContext } from './context.js';
import { jobColumns, STATUS, STATUS_CODE, toJob, type JobRow } from '../rows/outbox.js';
import { insertJobs, lockHeads, syncHeads, type JobInsert } from './outbox-rows.js';
import type { Queryable } from './pool.js';
import { applySettleRecords } from './settle-records.js';
import type { PgTx } from './writer.js';

const KEEP = 2000; // characters of an error or response kept in the delivery log
const KEEP_OK = 200; // of the response to a successful delivery
/** Default and largest page of byRef(). */
const REF_PAGE = 1_000;
/** Outcome kinds as settle's statement takes them. */
const DELIVERED = 0;
const DEAD = 1;
const RETRY = 2;
const RELEASE = 3;

/** Text as PostgreSQL can store it (no NUL character; a receiver's response may hold one), cut to `max`. */
function keep(s: string, max: number): string {
  return s.slice(0, max).replace(/\u0000/g, '\uFFFD');
}

/** What claim hands back per head it locked: the head, and its job if the job was active (leased now). */
type ClaimedRow = { head_key: string } & ({ id: number } & JobRow | { id: null });

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
 * job if it has one (at most one: only heads are leased), else its oldest active job — and carries
 * that job's next_at (due time, retry time or lease end).
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
          if (cur) cur.n += take - got.length;
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
    ]);
    const out: OutboxJob[] = [];
    const broken: string[] = [];
    for (const r of rows) {
      if (r.id === null) broken.push(r.head_key);
      else out.push(toJob(r));
    }
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

  async byRef(ref: string, limit = REF_PAGE): Promise<OutboxJob[]> {
    const n = Math.max(1, Math.min(REF_PAGE, Math.floor(limit) || 1));
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

/**
 * Settle-and-claim-next, inside the settle's writer command after syncHeads, with the heads of `keys`
 * locked by it (so no claim holds or takes them meanwhile): lease each key's head job when claim() with
 * its channel's ClaimNext would take it now — pending and due, target not excluded, under perTarget
 * counting inFlight and the jobs taken here, at most `limit` per channel — as the claim statement does
 * (in flight until the lease end, one more attempt, the head's next_at with it). Pushes them to `out`.
 */
async function leaseNext(tx: PgTx, keys: string[], next: Record<string, ClaimNext>, out: OutboxJob[]): Promise<void> {
  const now = Date.now();
  const heads = await tx.rows<{ job_id: number; channel: string; target: string }>(
    `SELECT h.job_id, h.channel, h.target FROM outbox_heads h JOIN outbox o ON o.id = h.job_id
      WHERE h.order_key = ANY($1::text[]) AND o.status = 0 AND o.next_at <= $2 ORDER BY h.job_id`,
    [keys, now],
  );
  const perChannel = new Map<string, number>();
  const perTarget = new Map<string, number>();
  const byLease = new Map<number, number[]>();
  for (const h of heads) {
    const c = next[h.channel];
    if (!c) continue;
    const taken = perChannel.get(h.channel) ?? 0;
    const key = targetKey(h.channel, h.target);
    const busy = (c.opts.inFlight?.[key] ?? 0) + (perTarget.get(key) ?? 0);
    if (taken >= c.limit || c.opts.exclude?.includes(key) || (c.opts.perTarget !== undefined && busy >= c.opts.perTarget)) continue;
    perChannel.set(h.channel, taken + 1);
    perTarget.set(key, (perTarget.get(key) ?? 0) + 1);
    const until = Math.floor(now + c.leaseMs);
    const ids = byLease.get(until);
    if (ids) ids.push(h.job_id);
    else byLease.set(until, [h.job_id]);
  }
  for (const [until, ids] of byLease) {
    const rows = await tx.rows<JobRow>(
      `WITH jobs AS (
         UPDATE outbox o SET status = 1, next_at = $2, attempts = o.attempts + 1 WHERE o.id = ANY($1::bigint[]) AND o.status = 0
         RETURNING ${jobColumns('o')}),
       heads AS (UPDATE outbox_heads h SET next_at = $2 FROM jobs j WHERE h.order_key = j.order_key)
       SELECT * FROM jobs ORDER BY id`,
      [ids, until],
    );
    for (const r of rows) out.push(toJob(r));
  }
}

/** A ClaimOptions target key back into its channel and target. */
function splitKey(key: string): [string, string] {
  const i = key.indexOf('\u0000');
  return i < 0 ? [key, ''] : [key.slice(0, i), key.slice(i + 1)];
}

/** Indexes of `outcomes` split into rounds in which no job id repeats (one round unless one does). */
function rounds(outcomes: AttemptOutcome[]): number[][] {
  const out: number[][] = [];
  const seen = new Map<number, number>();
  outcomes.forEach((o, i) => {
    const r = seen.get(o.id) ?? 0;
    seen.set(o.id, r + 1);
    (out[r] ??= []).push(i);
  });
  return out;
}

function settleParams(outcomes: AttemptOutcome[], round: number[]): unknown[] {
  const c = { ord: [] as number[], id: [] as number[], lease: [] as Array<number | null>, kind: [] as number[], at: [] as number[], next: [] as number[], error: [] as string[], response: [] as string[] };
  for (const i of round) {
    const o = outcomes[i]!;
    c.ord.push(i);
    c.id.push(o.id);
    c.lease.push(o.lease ?? null);
    if ('release' in o) {
      c.kind.push(RELEASE);
      c.at.push(0);
      c.next.push(Math.round(o.nextAt));
      c.error.push('');
      c.response.push('');
    } else if (o.ok) {
      c.kind.push(DELIVERED);
      c.at.push(Math.round(o.at));
      c.next.push(0);
      c.error.push('');
      c.response.push(keep(o.response, KEEP_OK));
    } else {
      c.kind.push(o.nextAt === null ? DEAD : RETRY);
      c.at.push(0);
      c.next.push(Math.round(o.nextAt ?? 0));
      c.error.push(keep(o.error, KEEP));
      c.response.push(keep(o.response, KEEP));
    }
  }
  return [c.ord, c.id, c.lease, c.kind, c.at, c.next, c.error, c.response];
}

/**
 * One round of outcomes, each fenced (`lease` given: only while the job is in flight under that lease;
 * none: only while it is active), with the delivery counter raised by the deliveries applied. Returns
 * the outcome index and key of each applied one.
 */
const SETTLE_SQL = `
  WITH x AS (
    SELECT * FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::int[], $5::bigint[], $6::bigint[], $7::text[], $8::text[])
      AS x(ord, id, lease, kind, at, next_at, error, response)),
  u AS (
    UPDATE outbox o SET
      status = CASE x.kind WHEN ${DELIVERED} THEN 2 WHEN ${DEAD} THEN 3 ELSE 0 END,
      delivered_at = CASE x.kind WHEN ${DELIVERED} THEN x.at ELSE o.delivered_at END,
      next_at = x.next_at,
      attempts = CASE x.kind WHEN ${RELEASE} THEN GREATEST(0, o.attempts - 1) ELSE o.attempts END,
      last_error = CASE x.kind WHEN ${RELEASE} THEN o.last_error ELSE x.error END,
      last_response = CASE x.kind WHEN ${RELEASE} THEN o.last_response ELSE x.response END
    FROM x
    WHERE o.id = x.id AND o.status IN (0, 1) AND (x.lease IS NULL OR (o.status = 1 AND o.next_at = x.lease))
    RETURNING x.ord, x.kind, o.order_key),
  c AS (
    UPDATE meta SET value = value + (SELECT COUNT(*) FROM u WHERE kind = ${DELIVERED})
    WHERE key = 'outbox_delivered' AND EXISTS (SELECT 1 FROM u WHERE kind = ${DELIVERED}))
  SELECT ord, order_key FROM u`;

/**
 * The claim statement. Parameters: $1 channels (null: every channel), $2 now, $3 lease end, $4 limit,
 * $5 per-target cap (null: none), $6..$8 jobs in flight per (channel, target), $9..$10 excluded
 * (channel, target) pairs, $11 the turn (rotation of the targets' order).
 *
 * The (channel, target) pairs that have heads come from a skip scan of outbox_heads_due (one index
 * probe per pair); each pair's due heads from its own probe, up to its free slots, locked with SKIP
 * LOCKED (heads another claim or writer command holds are left to it); then the first `limit` in turn
 * order are leased: job in flight until $3 with one more attempt, head's next_at with it. A head whose
 * job is not active comes back with a null id (repaired by the caller).
 */
function claimSql(filtered: boolean): string {
  const channels = filtered
    ? `ch AS (SELECT DISTINCT c AS channel FROM unnest($1::text[]) AS c),`
    : `chs AS (
         (SELECT channel FROM outbox_heads ORDER BY channel LIMIT 1)
         UNION ALL
         SELECT (SELECT h.channel FROM outbox_heads h WHERE h.channel > chs.channel ORDER BY h.channel LIMIT 1) FROM chs WHERE chs.channel IS NOT NULL),
       ch AS (SELECT channel FROM chs WHERE channel IS NOT NULL AND $1::text[] IS NULL),`;
  return `
  WITH RECURSIVE ${channels}
  t AS (
    SELECT f.channel, f.target FROM ch CROSS JOIN LATERAL (
      SELECT h.channel, h.target FROM outbox_heads h WHERE h.channel = ch.channel ORDER BY h.target LIMIT 1) f
    UNION ALL
    SELECT n.channel, n.target FROM t CROSS JOIN LATERAL (
      SELECT h.channel, h.target FROM outbox_heads h WHERE h.channel = t.channel AND h.target > t.target ORDER BY h.target LIMIT 1) n),
  cap AS (
    SELECT t.channel, t.target,
           row_number() OVER (ORDER BY t.channel, t.target) - 1 AS pos,
           COUNT(*) OVER () AS cnt,
           LEAST($4::bigint, COALESCE($5::bigint - COALESCE(b.n, 0), $4::bigint)) AS free
      FROM t
      LEFT JOIN unnest($6::text[], $7::text[], $8::bigint[]) AS b(ch, tg, n) ON b.ch = t.channel AND b.tg = t.target
     WHERE NOT EXISTS (SELECT 1 FROM unnest($9::text[], $10::text[]) AS e(ch, tg) WHERE e.ch = t.channel AND e.tg = t.target)),
  picked AS (
    SELECT p.order_key, p.job_id, p.next_at, (c.pos + c.cnt - $11::bigint % c.cnt) % c.cnt AS rot
      FROM cap c CROSS JOIN LATERAL (
        SELECT h.order_key, h.job_id, h.next_at FROM outbox_heads h
         WHERE h.channel = c.channel AND h.target = c.target AND h.next_at <= $2
         ORDER BY h.next_at LIMIT GREATEST(c.free, 0) FOR UPDATE SKIP LOCKED) p
     ORDER BY rot, p.next_at LIMIT $4),
  jobs AS (
    UPDATE outbox o SET status = 1, next_at = $3, attempts = o.attempts + 1
      FROM picked p WHERE o.id = p.job_id AND o.status IN (0, 1)
    RETURNING ${jobColumns('o')}),
  heads AS (UPDATE outbox_heads h SET next_at = $3 FROM jobs j WHERE h.order_key = j.order_key)
  SELECT p.order_key AS head_key, ${jobColumns('j')} FROM picked p LEFT JOIN jobs j ON j.id = p.job_id ORDER BY p.rot, p.next_at, p.order_key`;
}
