import { jobDueAt, jobRef } from '../../core/outbox-jobs.js';
import type { NewJob } from '../../core/ports/outbox.js';
import type { Queryable } from './pool.js';
import type { PgTx } from './writer.js';

/**
 * Outbox rows on PostgreSQL: how jobs are written (by the outbox and by every command that commits
 * effects, see effects.ts) and read back. The invariants the outbox relies on are stated at PgOutbox
 * (outbox.ts); the ones every insert must keep are:
 * - Jobs are inserted only inside writer commands (PgTx). Writer batches of every node are serialized
 *   by the cluster-wide counter lock (writer.ts), so a job's id is allocated after every job committed
 *   before it: within an order key, id order is commit order, and no job can commit later with a
 *   lower id than one a claim has already seen.
 * - A new job becomes its key's head (outbox_heads) only when the key has none (no active job); a key
 *   that has one keeps it: the new job is the key's newest and queues behind it.
 */

/** A job to insert: what NewJob gives, with its body already as the exact JSON text to deliver. */
export interface JobInsert {
  job: NewJob;
  body: string;
}

/**
 * Inside a writer command: insert the jobs (one statement, whatever their number) and their keys'
 * heads where missing; marks the command as having written jobs (claim ahead after its commit).
 * Returns the new ids, in the order given (ascending). Throws invalid_parameter, writing nothing, for a
 * bad notBefore or ref.
 */
export async function insertJobs(tx: PgTx, jobs: JobInsert[], now = Date.now()): Promise<number[]> {
  if (jobs.length === 0) return [];
  const cols = { channel: [] as string[], target: [] as string[], key: [] as string[], kind: [] as string[], body: [] as string[], meta: [] as string[], due: [] as number[], ref: [] as Array<string | null> };
  for (const { job, body } of jobs) {
    cols.channel.push(job.channel);
    cols.target.push(job.target);
    cols.key.push(job.orderKey);
    cols.kind.push(job.kind);
    cols.body.push(body);
    cols.meta.push(JSON.stringify(job.meta));
    cols.due.push(jobDueAt(job, now));
    cols.ref.push(jobRef(job));
  }
  // Ids are drawn in the order of the ordinality (the order given); the head of a key that has none is
  // its lowest new id.
  const rows = await tx.rows<{ id: number }>(
    `WITH j AS (
       INSERT INTO outbox(channel, target, order_key, kind, body, meta, created_at, next_at, ref)
       SELECT c, t, k, kd, b, m, $9, n, r
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[])
              WITH ORDINALITY AS x(c, t, k, kd, b, m, n, r, o)
        ORDER BY o
       RETURNING id, order_key, channel, target, next_at),
     h AS (
       INSERT INTO outbox_heads(order_key, channel, target, job_id, next_at)
       SELECT DISTINCT ON (order_key) order_key, channel, target, id, next_at FROM j ORDER BY order_key, id
       ON CONFLICT (order_key) DO NOTHING)
     SELECT id FROM j ORDER BY id`,
    [cols.channel, cols.target, cols.key, cols.kind, cols.body, cols.meta, cols.due, cols.ref, now],
  );
  tx.jobsWritten();
  return rows.map((r) => r.id);
}

/**
 * Inside a writer command, with the heads of `keys` locked by this command (see PgOutbox): make each
 * key's head name the job the key serves next — the job its head names while that one is in flight,
 * else its oldest active job (a lookahead job in flight when the head's job just reached a final
 * outcome; the head's job itself after a retry, ahead of its lookahead) — with that job's next_at, and
 * drop the heads of keys left without an active job. Two index probes per key, whatever its queue.
 */
export async function syncHeads(q: Queryable, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await q.run(
    `WITH k AS (SELECT DISTINCT unnest($1::text[]) AS order_key),
     nh AS (
       SELECT k.order_key, COALESCE(f.id, a.id) AS id, COALESCE(f.channel, a.channel) AS channel,
              COALESCE(f.target, a.target) AS target, COALESCE(f.next_at, a.next_at) AS next_at
         FROM k
         LEFT JOIN outbox_heads h ON h.order_key = k.order_key
         LEFT JOIN outbox f ON f.id = h.job_id AND f.status = 1
         LEFT JOIN LATERAL (
           SELECT id, channel, target, next_at FROM outbox WHERE order_key = k.order_key AND status IN (0, 1) ORDER BY id LIMIT 1
         ) a ON true),
     gone AS (DELETE FROM outbox_heads h USING nh WHERE h.order_key = nh.order_key AND nh.id IS NULL)
     INSERT INTO outbox_heads(order_key, channel, target, job_id, next_at)
     SELECT order_key, channel, target, id, next_at FROM nh WHERE id IS NOT NULL
     ON CONFLICT (order_key) DO UPDATE SET job_id = excluded.job_id, next_at = excluded.next_at`,
    [keys],
  );
}

/** Lock the heads of these keys (inside a writer command), in key order; waits for claims holding them. */
export async function lockHeads(q: Queryable, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await q.run(`SELECT 1 FROM outbox_heads WHERE order_key = ANY($1::text[]) ORDER BY order_key FOR UPDATE`, [keys]);
}
