import { CoreError } from '../../core/errors.js';
import { readReceiptReceivers } from '../../core/message-plan.js';
import type { Conversation } from '../../core/model.js';
import { ConvType } from '../../core/model.js';
import type { EffectSpec } from '../../core/ports/outbox.js';
import type { ConversationPage, ConversationState, ConversationStore } from '../../core/ports/store.js';
import { CONV_COLS, listConversationsQuery, toConversationState, type ConvRow } from '../rows/conversations.js';
import type { PgContext } from './context.js';
import { insertEffects } from './effects.js';
import { EventType } from './message-rows.js';
import { unreadSingle } from './messages.js';
import type { Queryable } from './pool.js';
import { recount } from './unread.js';
import type { PgTx } from './writer.js';

/**
 * Per-user conversation state on PostgreSQL: the rows the messages part maintains (unread counters,
 * last message, visibility), read marks, hides and delivery marks. Counters follow core's unread rule
 * (see unread.ts); who gets a read receipt is core's readReceiptReceivers.
 */
export class PgConversations implements ConversationStore {
  constructor(private readonly ctx: PgContext) {}

  private async mustUser(q: Queryable, userId: string): Promise<void> {
    if (!(await q.row('SELECT 1 FROM users WHERE id = $1', [userId]))) throw new CoreError('not_exist', `user ${userId} does not exist`);
  }

  private row(q: Queryable, userId: string, c: Conversation): Promise<ConvRow | undefined> {
    return q.row<ConvRow>(`SELECT ${CONV_COLS} FROM conversations WHERE user_id = $1 AND conv_type = $2 AND conv_target = $3 AND conv_line = $4`, [
      userId,
      c.type,
      c.target,
      c.line,
    ]);
  }

  /** Record a per-user event with conversation data; returns its seq. */
  private async userEvent(tx: PgTx, userId: string, type: number, data: object): Promise<number> {
    const seq = tx.nextSeq();
    await tx.run('INSERT INTO inbox(user_id, seq, type, uid, data) VALUES ($1, $2, $3, 0, $4)', [userId, seq, type, JSON.stringify(data)]);
    return seq;
  }

  /** Hide [start, end] of the conversation for the user; returns the conversation row as it was. */
  private async hide(tx: PgTx, userId: string, conv: Conversation, start: number, end: number): Promise<ConvRow | undefined> {
    const r = await tx.row<ConvRow & { present: boolean }>(
      `WITH h AS (INSERT INTO user_hides(user_id, conv_type, conv_target, conv_line, start_ts, end_ts) VALUES ($1, $2, $3, $4, $5, $6))
       SELECT EXISTS (SELECT 1 FROM users WHERE id = $1) AS present, c.* FROM (SELECT 1) AS one
         LEFT JOIN (SELECT ${CONV_COLS} FROM conversations WHERE user_id = $1 AND conv_type = $2 AND conv_target = $3 AND conv_line = $4) AS c ON true`,
      [userId, conv.type, conv.target, conv.line, start, end],
    );
    if (!r?.present) throw new CoreError('not_exist', `user ${userId} does not exist`);
    return r.conv_type === null ? undefined : r;
  }

  clearUserMessages(userId: string, conv: Conversation, start: number, end: number): Promise<{ seq: number }> {
    return this.ctx.write(async (tx) => {
      const c = await this.hide(tx, userId, conv, start, end);
      // A hide only takes messages away: nothing to recount when none counted.
      if (c && c.unread > 0) {
        await tx.run('UPDATE conversations SET unread = $5 WHERE user_id = $1 AND conv_type = $2 AND conv_target = $3 AND conv_line = $4', [
          userId,
          conv.type,
          conv.target,
          conv.line,
          await recount(tx, userId, conv, c.read_ts),
        ]);
      }
      return { seq: await this.userEvent(tx, userId, EventType.clear, { conv, start, end }) };
    });
  }

  deleteConversation(userId: string, conv: Conversation, now: number): Promise<{ seq: number }> {
    return this.ctx.write(async (tx) => {
      const c = await this.hide(tx, userId, conv, 0, now);
      // Everything up to `now` is hidden; a message stamped later (committed before this command) still
      // counts, and keeps the conversation in the list as a later message would bring it back.
      const unread = c && c.unread > 0 ? await recount(tx, userId, conv, c.read_ts) : 0;
      if (c) {
        await tx.run('UPDATE conversations SET visible = $5, unread = $6 WHERE user_id = $1 AND conv_type = $2 AND conv_target = $3 AND conv_line = $4', [
          userId,
          conv.type,
          conv.target,
          conv.line,
          unread > 0 ? 1 : 0,
          unread,
        ]);
      }
      return { seq: await this.userEvent(tx, userId, EventType.conv_delete, { conv, start: 0, end: now }) };
    });
  }

  listConversations(userId: string, page?: ConversationPage): Promise<ConversationState[]> {
    const { sql, params } = listConversationsQuery(userId, page, (i) => `$${i}`);
    return this.ctx.read(async (q) => (await q.rows<ConvRow>(sql, params)).map(toConversationState));
  }

  getReadTimestamp(userId: string, conv: Conversation): Promise<number> {
    return this.ctx.read(async (q) => (await this.row(q, userId, conv))?.read_ts ?? 0);
  }

  markRead(
    userId: string,
    conv: Conversation,
    timestamp: number,
    effects?: EffectSpec[],
  ): Promise<{ timestamp: number; seq: number; receipts: Array<{ userId: string; conv: Conversation }> }> {
    return this.ctx.write(async (tx) => {
      await this.mustUser(tx, userId);
      const c = await this.row(tx, userId, conv);
      if (c && c.read_ts >= timestamp) return { timestamp: c.read_ts, seq: 0, receipts: [] };
      // Without a row nothing of the conversation counts (a counted message always has one).
      const unread = c && c.unread > 0 ? await recount(tx, userId, conv, timestamp) : 0;
      await tx.run(
        `INSERT INTO conversations(user_id, conv_type, conv_target, conv_line, unread, read_ts, visible) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (user_id, conv_type, conv_target, conv_line) DO UPDATE SET read_ts = excluded.read_ts, unread = excluded.unread`,
        [userId, conv.type, conv.target, conv.line, unread, timestamp, c ? 1 : 0],
      );
      const receipts = await this.receiptReceivers(tx, userId, conv);
      const seq = tx.nextSeq();
      const users = [userId, ...receipts.map((r) => r.userId)];
      const data = [{ conv, start: 0, end: timestamp, reader: userId }, ...receipts.map((r) => ({ conv: r.conv, start: 0, end: timestamp, reader: userId }))].map((d) =>
        JSON.stringify(d),
      );
      await tx.run('INSERT INTO inbox(user_id, seq, type, uid, data) SELECT u, $3::bigint, $4::bigint, 0, d FROM unnest($1::text[], $2::text[]) AS x(u, d)', [
        users,
        data,
        seq,
        EventType.read,
      ]);
      await insertEffects(tx, effects, { unread: unreadSingle(tx) });
      return { timestamp, seq, receipts };
    });
  }

  /** Who gets a read receipt (core's readReceiptReceivers), its facts read in one statement. */
  private async receiptReceivers(q: Queryable, reader: string, conv: Conversation): Promise<Array<{ userId: string; conv: Conversation }>> {
    if (conv.type !== ConvType.single && conv.type !== ConvType.group) return [];
    const max = this.ctx.fanout.inlineFanoutMax;
    if (conv.type === ConvType.single) {
      const exists = conv.target !== reader && (await q.row('SELECT 1 FROM users WHERE id = $1', [conv.target])) !== undefined;
      return readReceiptReceivers(reader, conv, { userExists: () => exists, groupMemberCount: () => null, groupMembersNotRemoved: () => [] }, max);
    }
    const g = await q.row<{ member_count: number | null; members: string[] | null }>(
      `SELECT g.member_count,
              CASE WHEN g.member_count <= $2 THEN ARRAY(SELECT user_id FROM group_members WHERE group_id = $1 AND type <> 4 ORDER BY user_id COLLATE "C") END AS members
         FROM groups g WHERE g.id = $1`,
      [conv.target, max],
    );
    return readReceiptReceivers(
      reader,
      conv,
      { userExists: () => false, groupMemberCount: () => g?.member_count ?? null, groupMembersNotRemoved: () => g?.members ?? [] },
      max,
    );
  }

  recountUnread(userId: string, conv: Conversation): Promise<number> {
    return this.ctx.snapshot(async (q) => recount(q, userId, conv, (await this.row(q, userId, conv))?.read_ts ?? 0));
  }

  getDeliveryTimestamp(userId: string): Promise<number> {
    return this.ctx.read(async (q) => (await q.row<{ ts: number }>('SELECT ts FROM deliveries WHERE user_id = $1', [userId]))?.ts ?? 0);
  }

  markDelivered(userId: string, timestamp: number): Promise<number> {
    return this.ctx.write(async (tx) => {
      await this.mustUser(tx, userId);
      const r = await tx.row<{ ts: number }>(
        `INSERT INTO deliveries(user_id, ts) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET ts = GREATEST(deliveries.ts, excluded.ts) RETURNING ts`,
        [userId, timestamp],
      );
      return r!.ts;
    });
  }
}
