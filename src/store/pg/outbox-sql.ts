import { targetKey, type AttemptOutcome, type ClaimNext, type OutboxJob } from '../../core/ports/outbox.js';
import { jobColumns, KEEP, KEEP_OK, toJob, type JobRow } from '../rows/outbox.js';
import type { PgTx } from './writer.js';

/**
 * The PostgreSQL outbox's statements (PgOutbox, outbox.ts, runs them and states their invariants): the
 * claim, the settle of a round of outcomes, settle-and-claim-next's lease of the keys' next jobs, and
 * the parameters they take.
 */

/** Outcome kinds as settle's statement takes them. */
const DELIVERED = 0;
const DEAD = 1;
const RETRY = 2;
const RELEASE = 3;

/** Text as PostgreSQL can store it (no NUL character; a receiver's response may hold one), cut to `max`. */
function keep(s: string, max: number): string {
  return s.slice(0, max).replace(/\u0000/g, '\uFFFD');
}

/**
 * What claim hands back per head it locked: the head, and its job if the job was active (leased now);
 * and per lookahead job it leased, that job with `after` (the head job it follows; null on head rows).
 */
export type ClaimedRow = { head_key: string; after: number | null } & ({ id: number } & JobRow | { id: null });

/**
 * Settle-and-claim-next, inside the settle's writer command after syncHeads, with the heads of `keys`
 * locked by it (so no claim holds or takes them meanwhile): lease each key's head job when claim() with
 * its channel's ClaimNext would take it now — pending and due, target not excluded, under perTarget
 * counting inFlight and the jobs taken here, at most `limit` per channel — as the claim statement does
 * (in flight until the lease end, one more attempt, the head's next_at with it). Pushes them to `out`.
 */
export async function leaseNext(tx: PgTx, keys: string[], next: Record<string, ClaimNext>, out: OutboxJob[]): Promise<void> {
  const now = Date.now();
  const heads = await tx.rows<{ job_id: number; order_key: string; channel: string; target: string; status: number; next_at: number }>(
    `SELECT h.job_id, h.order_key, h.channel, h.target, o.status, o.next_at FROM outbox_heads h JOIN outbox o ON o.id = h.job_id
      WHERE h.order_key = ANY($1::text[]) AND o.status IN (0, 1) ORDER BY h.job_id`,
    [keys],
  );
  const perChannel = new Map<string, number>();
  const perTarget = new Map<string, number>();
  const byLease = new Map<number, number[]>();
  /** Heads whose lookahead is wanted: the head moved onto a job leased ahead (its lease running). */
  const ahead: Array<{ after: number; key: string; until: number; channel: string }> = [];
  for (const h of heads) {
    const c = next[h.channel];
    if (!c) continue;
    if (h.status === 1) {
      if (c.opts.lookahead && h.next_at > now) ahead.push({ after: h.job_id, key: h.order_key, until: Math.floor(now + c.leaseMs), channel: h.channel });
      continue;
    }
    if (h.next_at > now) continue;
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
  const leased: OutboxJob[] = [];
  for (const [until, ids] of byLease) {
    const rows = await tx.rows<JobRow>(
      `WITH jobs AS (
         UPDATE outbox o SET status = 1, next_at = $2, attempts = o.attempts + 1 WHERE o.id = ANY($1::bigint[]) AND o.status = 0
         RETURNING ${jobColumns('o')}),
       heads AS (UPDATE outbox_heads h SET next_at = $2 FROM jobs j WHERE h.order_key = j.order_key)
       SELECT * FROM jobs ORDER BY id`,
      [ids, until],
    );
    for (const r of rows) {
      const j = toJob(r);
      leased.push(j);
      if (next[j.channel]?.opts.lookahead) ahead.push({ after: j.id, key: j.orderKey, until, channel: j.channel });
    }
  }
  out.push(...withLookahead(leased, await leaseAhead(tx, ahead, now)));
}

/**
 * `heads` in their order, each followed by its lookahead job in `ahead` (by the id it follows), as the
 * port hands them over; lookahead jobs of heads not in `heads` (leased ahead of a key's head that was
 * already in flight) come last.
 */
export function withLookahead(heads: OutboxJob[], ahead: Map<number, OutboxJob>): OutboxJob[] {
  const out: OutboxJob[] = [];
  const rest = new Map(ahead);
  for (const j of heads) {
    out.push(j);
    const a = rest.get(j.id);
    if (a) out.push(a);
    rest.delete(j.id);
  }
  for (const a of rest.values()) out.push(a);
  return out;
}

/**
 * Lookahead (see the port): for each `after` (a job just leased, or leased ahead and now its key's
 * head), lease the active job of its key that follows it, until its `until`, when that job is due
 * (pending and due, or in flight under a lease that lapsed: an earlier lookahead of a node that died)
 * and of the same channel. Answers the jobs leased, by the id they follow. Inside a writer command
 * holding the keys' heads (claimSql does the same in SQL, under its statement's locks).
 */
async function leaseAhead(tx: PgTx, ahead: Array<{ after: number; key: string; until: number; channel: string }>, now: number): Promise<Map<number, OutboxJob>> {
  const out = new Map<number, OutboxJob>();
  if (ahead.length === 0) return out;
  const rows = await tx.rows<JobRow & { after: number }>(
    `WITH x AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $5::text[]) AS x(after, order_key, until, channel)),
     a AS (
       SELECT x.after, x.until, n.id FROM x CROSS JOIN LATERAL (
         SELECT id, status, next_at, channel FROM outbox WHERE order_key = x.order_key AND id > x.after AND status IN (0, 1) ORDER BY id LIMIT 1) n
        WHERE n.next_at <= $4 AND n.channel = x.channel)
     UPDATE outbox o SET status = 1, next_at = a.until, attempts = o.attempts + 1 FROM a WHERE o.id = a.id AND o.status IN (0, 1) AND o.next_at <= $4
     RETURNING a.after, ${jobColumns('o')}`,
    [ahead.map((a) => a.after), ahead.map((a) => a.key), ahead.map((a) => a.until), now, ahead.map((a) => a.channel)],
  );
  for (const r of rows) out.set(Number(r.after), { ...toJob(r), after: Number(r.after) });
  return out;
}

/** A ClaimOptions target key back into its channel and target. */
export function splitKey(key: string): [string, string] {
  const i = key.indexOf('\u0000');
  return i < 0 ? [key, ''] : [key.slice(0, i), key.slice(i + 1)];
}

/** Indexes of `outcomes` split into rounds in which no job id repeats (one round unless one does). */
export function rounds(outcomes: AttemptOutcome[]): number[][] {
  const out: number[][] = [];
  const seen = new Map<number, number>();
  outcomes.forEach((o, i) => {
    const r = seen.get(o.id) ?? 0;
    seen.set(o.id, r + 1);
    (out[r] ??= []).push(i);
  });
  return out;
}

export function settleParams(outcomes: AttemptOutcome[], round: number[]): unknown[] {
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
export const SETTLE_SQL = `
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
 * (channel, target) pairs, $11 the turn (rotation of the targets' order), $12 lookahead (see the port:
 * each leased head's following job of its channel, when due — pending, or under a lapsed lease — leased
 * with it and returned with `after`).
 *
 * The (channel, target) pairs that have heads come from a skip scan of outbox_heads_due (one index
 * probe per pair); each pair's due heads from its own probe, up to its free slots, locked with SKIP
 * LOCKED (heads another claim or writer command holds are left to it); then the first `limit` in turn
 * order are leased: job in flight until $3 with one more attempt, head's next_at with it. A head whose
 * job is not active comes back with a null id (repaired by the caller).
 */
export function claimSql(filtered: boolean): string {
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
  heads AS (UPDATE outbox_heads h SET next_at = $3 FROM jobs j WHERE h.order_key = j.order_key),
  nxt AS (
    SELECT j.id AS after, n.id FROM jobs j CROSS JOIN LATERAL (
      SELECT id, status, next_at, channel FROM outbox WHERE order_key = j.order_key AND id > j.id AND status IN (0, 1) ORDER BY id LIMIT 1) n
     WHERE $12::boolean AND n.next_at <= $2 AND n.channel = j.channel),
  ahead AS (
    UPDATE outbox o SET status = 1, next_at = $3, attempts = o.attempts + 1 FROM nxt WHERE o.id = nxt.id AND o.status IN (0, 1) AND o.next_at <= $2
    RETURNING nxt.after, ${jobColumns('o')})
  SELECT * FROM (
    SELECT p.order_key AS head_key, NULL::bigint AS after, ${jobColumns('j')}, p.rot, p.next_at AS head_at FROM picked p LEFT JOIN jobs j ON j.id = p.job_id
    UNION ALL
    SELECT a.order_key, a.after, ${jobColumns('a')}, NULL, NULL FROM ahead a) r
  ORDER BY r.rot NULLS LAST, r.head_at, r.head_key`;
}
