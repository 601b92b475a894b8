import { CoreError } from '../../core/errors.js';
import type { Conversation } from '../../core/model.js';
import { readReceiptReceivers } from '../../core/message-plan.js';
import type { ConversationPage, ConversationState, ConversationStore } from '../../core/ports/store.js';
import { CONV_COLS, listConversationsQuery, toConversationState, type ConvRow } from '../rows/conversations.js';
import type { SqliteContext } from './context.js';
import { EventType } from '../rows/messages.js';
import { insertEffects } from './outbox-rows.js';
import type { EffectSpec } from '../../core/ports/outbox.js';
import type { SqliteUnread } from './unread.js';
import type { SqliteUsers } from './users.js';

export class SqliteConversations implements ConversationStore {
  constructor(
    private readonly ctx: SqliteContext,
    private readonly users: SqliteUsers,
    private readonly unread: SqliteUnread,
  ) {}

  private mustUser(userId: string): void {
    if (!this.users.exists(userId)) throw new CoreError('not_exist', `user ${userId} does not exist`);
  }

  private row(userId: string, c: Conversation): ConvRow | undefined {
    return this.ctx
      .stmt(
        `SELECT ${CONV_COLS} FROM conversations
         WHERE user_id = ? AND conv_type = ? AND conv_target = ? AND conv_line = ?`,
      )
      .get(userId, c.type, c.target, c.line) as ConvRow | undefined;
  }

  /** Record a per-user event with conversation data; returns its seq. */
  private userEvent(userId: string, type: number, data: object): number {
    const seq = this.ctx.nextSeq();
    this.ctx.stmt('INSERT INTO inbox(user_id, seq, type, uid, data) VALUES (?, ?, ?, 0, ?)').run(userId, seq, type, JSON.stringify(data));
    return seq;
  }

  clearUserMessages(userId: string, conv: Conversation, start: number, end: number): Promise<{ seq: number }> {
    return this.ctx.write(() => {
      this.mustUser(userId);
      this.ctx.wb.materializeUser(userId);
      this.ctx
        .stmt('INSERT INTO user_hides(user_id, conv_type, conv_target, conv_line, start_ts, end_ts) VALUES (?, ?, ?, ?, ?, ?)')
        .run(userId, conv.type, conv.target, conv.line, start, end);
      this.unread.marked(userId, end);
      // A hide only takes messages away: nothing to recount when none counted.
      const c = this.row(userId, conv);
      if (c && c.unread > 0) {
        this.ctx
          .stmt('UPDATE conversations SET unread = ? WHERE user_id = ? AND conv_type = ? AND conv_target = ? AND conv_line = ?')
          .run(this.unread.recount(userId, conv, c.read_ts), userId, conv.type, conv.target, conv.line);
      }
      return { seq: this.userEvent(userId, EventType.clear, { conv, start, end }) };
    });
  }

  deleteConversation(userId: string, conv: Conversation, now: number): Promise<{ seq: number }> {
    return this.ctx.write(() => {
      this.mustUser(userId);
      this.ctx.wb.materializeUser(userId);
      this.ctx
        .stmt('INSERT INTO user_hides(user_id, conv_type, conv_target, conv_line, start_ts, end_ts) VALUES (?, ?, ?, ?, 0, ?)')
        .run(userId, conv.type, conv.target, conv.line, now);
      this.unread.marked(userId, now);
      // Everything up to `now` is hidden; a message stamped later (committed before this command) still
      // counts, and keeps the conversation in the list as a later message would bring it back.
      const c = this.row(userId, conv);
      const unread = c && c.unread > 0 ? this.unread.recount(userId, conv, c.read_ts) : 0;
      this.ctx
        .stmt(
          `UPDATE conversations SET visible = ?, unread = ?
           WHERE user_id = ? AND conv_type = ? AND conv_target = ? AND conv_line = ?`,
        )
        .run(unread > 0 ? 1 : 0, unread, userId, conv.type, conv.target, conv.line);
      return { seq: this.userEvent(userId, EventType.conv_delete, { conv, start: 0, end: now }) };
    });
  }

  listConversations(userId: string, page?: ConversationPage): Promise<ConversationState[]> {
    // A write command: the user's buffered rows are written first, so the list is exact.
    return this.ctx.write(() => {
      this.ctx.wb.materializeUser(userId);
      const { sql, params } = listConversationsQuery(userId, page, () => '?');
      return (this.ctx.stmt(sql).all(...params) as ConvRow[]).map(toConversationState);
    });
  }

  getReadTimestamp(userId: string, conv: Conversation): Promise<number> {
    return this.ctx.read(() => this.row(userId, conv)?.read_ts ?? 0);
  }

  markRead(
    userId: string,
    conv: Conversation,
    timestamp: number,
    effects?: EffectSpec[],
  ): Promise<{ timestamp: number; seq: number; receipts: Array<{ userId: string; conv: Conversation }> }> {
    return this.ctx.write(() => {
      this.mustUser(userId);
      this.ctx.wb.materializeUser(userId);
      const c = this.row(userId, conv);
      if (c && c.read_ts >= timestamp) return { timestamp: c.read_ts, seq: 0, receipts: [] };
      this.unread.marked(userId, timestamp);
      // Without a row nothing of the conversation counts (a counted message always has one).
      const unread = c && c.unread > 0 ? this.unread.recount(userId, conv, timestamp) : 0;
      this.ctx
        .stmt(
          `INSERT INTO conversations(user_id, conv_type, conv_target, conv_line, unread, read_ts, visible) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(user_id, conv_type, conv_target, conv_line) DO UPDATE SET read_ts = excluded.read_ts, unread = excluded.unread`,
        )
        .run(userId, conv.type, conv.target, conv.line, unread, timestamp, c ? 1 : 0);
      const receipts = this.receiptReceivers(userId, conv);
      const seq = this.ctx.nextSeq();
      const ins = this.ctx.stmt('INSERT INTO inbox(user_id, seq, type, uid, data) VALUES (?, ?, ?, 0, ?)');
      ins.run(userId, seq, EventType.read, JSON.stringify({ conv, start: 0, end: timestamp, reader: userId }));
      for (const r of receipts) ins.run(r.userId, seq, EventType.read, JSON.stringify({ conv: r.conv, start: 0, end: timestamp, reader: userId }));
      insertEffects(this.ctx, effects, { unread: (u) => this.ctx.unreadSingle(u) });
      return { timestamp, seq, receipts };
    });
  }

  /** Who gets a read receipt (core's readReceiptReceivers), facts read inside the caller's command. */
  private receiptReceivers(reader: string, conv: Conversation): Array<{ userId: string; conv: Conversation }> {
    return readReceiptReceivers(
      reader,
      conv,
      {
        userExists: (u) => this.users.exists(u),
        groupMemberCount: (g) => (this.ctx.stmt('SELECT member_count FROM groups WHERE id = ?').get(g) as { member_count: number } | undefined)?.member_count ?? null,
        groupMembersNotRemoved: (g) =>
          (this.ctx.stmt('SELECT user_id FROM group_members WHERE group_id = ? AND type <> 4').all(g) as Array<{ user_id: string }>).map((m) => m.user_id),
      },
      this.ctx.fanout.inlineFanoutMax,
    );
  }

  recountUnread(userId: string, conv: Conversation): Promise<number> {
    // A write command: the user's buffered rows are written first, so the recount sees them.
    return this.ctx.write(() => {
      this.ctx.wb.materializeUser(userId);
      return this.unread.recount(userId, conv, this.row(userId, conv)?.read_ts ?? 0);
    });
  }

  getDeliveryTimestamp(userId: string): Promise<number> {
    return this.ctx.read(
      () => (this.ctx.stmt('SELECT ts FROM deliveries WHERE user_id = ?').get(userId) as { ts: number } | undefined)?.ts ?? 0,
    );
  }

  markDelivered(userId: string, timestamp: number): Promise<number> {
    return this.ctx.write(() => {
      this.mustUser(userId);
      this.ctx
        .stmt(
          `INSERT INTO deliveries(user_id, ts) VALUES (?, ?)
           ON CONFLICT(user_id) DO UPDATE SET ts = MAX(ts, excluded.ts)`,
        )
        .run(userId, timestamp);
      return (this.ctx.stmt('SELECT ts FROM deliveries WHERE user_id = ?').get(userId) as { ts: number }).ts;
    });
  }
}
