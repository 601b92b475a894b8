import { fillEffectBody, jobDueAt, jobRef, type EffectFacts } from '../../core/outbox-jobs.js';
import type { EffectSpec } from '../../core/ports/outbox.js';
import { recordChannelMessage } from './channel-apps.js';
import type { PgTx } from './writer.js';

/**
 * Facts of the committing command that effect specs may ask for (core/outbox-jobs.ts EffectFacts),
 * read asynchronously inside the command's transaction. Only the facts some spec asks for are read.
 */
export interface PgEffectFacts {
  message?: EffectFacts['message'];
  ownedGroups?: (owner: string, type: number) => Promise<number>;
  unread?: (userId: string) => Promise<number>;
}

/**
 * Inside a write command: the effects' jobs, as the outbox table holds them, with their commit-time
 * facts filled in (core's fillEffectBody), in spec order (ascending ids). Keeps the outbox_heads
 * invariant of the SQLite outbox: a key that has no active job gets its first new job as head; a key
 * that has one keeps it. One statement for all the jobs.
 */
export async function insertEffects(tx: PgTx, specs: EffectSpec[] | undefined, facts: PgEffectFacts = {}): Promise<void> {
  if (!specs || specs.length === 0) return;
  const owned = new Map<string, number>();
  const unread = new Map<string, number>();
  for (const spec of specs) {
    const og = spec.fill?.ownedGroups;
    const ogKey = og ? `${og.type}\u0000${og.owner}` : '';
    if (og && facts.ownedGroups && !owned.has(ogKey)) owned.set(ogKey, await facts.ownedGroups(og.owner, og.type));
    const ur = spec.fill?.unreadOf;
    if (ur && facts.unread && !unread.has(ur.user)) unread.set(ur.user, await facts.unread(ur.user));
  }
  const sync: EffectFacts = {
    ...(facts.message ? { message: facts.message } : {}),
    ...(facts.ownedGroups ? { ownedGroups: (owner: string, type: number) => owned.get(`${type}\u0000${owner}`) ?? 0 } : {}),
    ...(facts.unread ? { unread: (u: string) => unread.get(u) ?? 0 } : {}),
  };
  const now = Date.now();
  const cols = {
    channel: [] as string[],
    target: [] as string[],
    orderKey: [] as string[],
    kind: [] as string[],
    body: [] as string[],
    meta: [] as string[],
    nextAt: [] as number[],
    ref: [] as Array<string | null>,
  };
  for (const spec of specs) {
    cols.channel.push(spec.channel);
    cols.target.push(spec.target);
    cols.orderKey.push(spec.orderKey);
    cols.kind.push(spec.kind);
    cols.body.push(JSON.stringify(fillEffectBody(spec, sync)));
    cols.meta.push(JSON.stringify(spec.meta));
    cols.nextAt.push(jobDueAt(spec, now));
    cols.ref.push(jobRef(spec));
  }
  await tx.run(
    `WITH j AS (
       INSERT INTO outbox(channel, target, order_key, kind, body, meta, created_at, next_at, ref)
       SELECT c, t, k, kd, b, m, $9, n, r
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[])
              WITH ORDINALITY AS x(c, t, k, kd, b, m, n, r, o)
        ORDER BY o
       RETURNING id, order_key, channel, target, next_at)
     INSERT INTO outbox_heads(order_key, channel, target, job_id, next_at)
     SELECT DISTINCT ON (order_key) order_key, channel, target, id, next_at FROM j ORDER BY order_key, id
     ON CONFLICT (order_key) DO NOTHING`,
    [cols.channel, cols.target, cols.orderKey, cols.kind, cols.body, cols.meta, cols.nextAt, cols.ref, now],
  );
  // Records that commit with their job (EffectSpec.records): a reply's channel metadata.
  for (const spec of specs) for (const r of spec.records ?? []) if (r.kind === 'channel.message') await recordChannelMessage(tx, r.message);
}
