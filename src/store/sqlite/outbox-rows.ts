import { fillEffectBody, jobDueAt, jobRef, type EffectFacts } from '../../core/outbox-jobs.js';
import type { EffectSpec, NewJob, SettleRecord } from '../../core/ports/outbox.js';
import { applyDeliveryRecord, recordChannelMessage } from './channel-apps.js';
import { packChannelRecord } from './channel-record.js';
import type { SqliteContext } from './context.js';
import { applyNotificationDelivery } from './notify-delivery.js';

/**
 * The SQLite outbox's rows (tables outbox and outbox_heads, see SqliteOutbox for their invariant; the
 * job row's shape and mapper are every SQL store's, ../rows/outbox.ts): what the outbox reads of them,
 * and the writes other stores make inside their own commands — a command's effects inserted as jobs, a
 * final outcome's records applied.
 */

/** A key's next active job as advance() reads it. */
export interface NextRow {
  id: number;
  next_at: number;
  status: number;
  channel: string;
  target: string;
}

/** What reviveRows() reads back of each revived job (at least). */
export interface RevivedRow {
  id: number;
  order_key: string;
  channel: string;
  target: string;
}

const INSERT_JOB = `INSERT INTO outbox(channel, target, order_key, kind, body, meta, created_at, next_at, ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
/** A new job becomes its key's head unless the key already has one (an older active job). */
export const INSERT_HEAD = `INSERT OR IGNORE INTO outbox_heads(order_key, channel, target, job_id, next_at) VALUES (?, ?, ?, ?, ?)`;

/** Insert one job and keep the heads invariant. Inside a writer command. */
export function insertJob(ctx: SqliteContext, j: NewJob, body: string, now: number): number {
  const due = jobDueAt(j, now);
  const id = Number(ctx.stmt(INSERT_JOB).run(j.channel, j.target, j.orderKey, j.kind, body, JSON.stringify(j.meta), now, due, jobRef(j)).lastInsertRowid);
  ctx.stmt(INSERT_HEAD).run(j.orderKey, j.channel, j.target, id, due);
  ctx.freshJobs = true;
  ctx.lastJobId = id;
  return id;
}

/** Insert the jobs of a command's effects, filling commit-time facts. Inside a writer command. */
export function insertEffects(ctx: SqliteContext, specs: EffectSpec[] | undefined, facts: EffectFacts): void {
  if (!specs || specs.length === 0) return;
  const now = Date.now();
  for (const spec of specs) {
    insertJob(ctx, spec, JSON.stringify(fillEffectBody(spec, facts)), now);
    for (const r of spec.records ?? []) if (r.kind === 'channel.message') recordChannelMessage(ctx, packChannelRecord(r.message), r.message.uid);
  }
}

/** Apply the records of a final outcome (SettleReaction.records). Inside the settle's command. */
export function applySettleRecords(ctx: SqliteContext, records: SettleRecord[], now: number): void {
  for (const r of records) {
    if (r.kind === 'notification.delivery') applyNotificationDelivery(ctx, r, now);
    else if (r.kind === 'channel.delivery') applyDeliveryRecord(ctx, r.guid, r.update, r.updatedAt);
  }
}
