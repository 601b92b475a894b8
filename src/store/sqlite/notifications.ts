import { CoreError, notExist } from '../../core/errors.js';
import { MAX_NAMED_UNKNOWN } from '../../core/limits.js';
import type {
  DeliveryState,
  DeliveryStatus,
  InboxItem,
  Notification,
  NotificationFields,
  RecipientFacts,
  RecipientView,
  SendMethod,
  Translation,
} from '../../core/notifications/model.js';
import { usernameOf } from '../../core/notifications/model.js';
import type { FanoutBatch, NewNotification, NotificationStore, Page, RecipientFilter } from '../../core/ports/notifications.js';
import type { NewJob } from '../../core/ports/outbox.js';
import { DELETED, READ, toItem, toNotification, type ItemRow, type NotificationRow as Row } from '../rows/notifications.js';
import type { SqliteContext } from './context.js';
import { insertEffects } from './outbox-rows.js';


const BY_ID = 'SELECT * FROM notifications WHERE id = ?';
const INBOX_SELECT = `SELECT i.state, n.id, n.title, n.body, n.message_type, n.lng, n.translations, n.send_at
  FROM notification_inbox i JOIN notifications n ON n.send_seq = i.seq`;
const INSERT_ROW = `INSERT OR IGNORE INTO notification_inbox(user_id, seq, state) SELECT ?, ?, 0 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?)`;

/** The SQLite notification centre: see NotificationStore for the contract. */
export class SqliteNotifications implements NotificationStore {
  constructor(private readonly ctx: SqliteContext) {}

  private row(id: string): Row | undefined {
    return this.ctx.stmt(BY_ID).get(id) as Row | undefined;
  }

  private mustRow(id: string): Row {
    const r = this.row(id);
    if (!r) throw notExist('notification does not exist');
    return r;
  }

  /**
   * Refuse unknown recipients, naming them. Inside a writer command; `json` is the ids as a JSON
   * array, walked inside SQLite (json_each) rather than one call per id.
   */
  private checkUsers(json: string): void {
    const unknown = this.ctx
      .stmt('SELECT j.value FROM json_each(?) j WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = j.value) ORDER BY j.key LIMIT ?')
      .pluck()
      .all(json, MAX_NAMED_UNKNOWN) as string[];
    if (unknown.length === 0) return;
    const count =
      unknown.length < MAX_NAMED_UNKNOWN
        ? unknown.length
        : (this.ctx.stmt('SELECT COUNT(*) FROM json_each(?) j WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = j.value)').pluck().get(json) as number);
    const more = count > unknown.length ? ` and ${count - unknown.length} more` : '';
    throw notExist(`unknown recipients: ${unknown.join(', ')}${more}`);
  }

  /** Write the recipient rows (`json`: the distinct ids as a JSON array). */
  private insertRecipients(n: number, json: string): void {
    this.ctx.stmt('INSERT OR IGNORE INTO notification_recipients(n, user_id) SELECT ?, j.value FROM json_each(?) j').run(n, json);
  }

  create(x: NewNotification): Promise<Notification> {
    return this.ctx.write(() => {
      const ids = [...new Set(x.sendTo)];
      const json = JSON.stringify(ids);
      this.checkUsers(json);
      const n = Number(
        this.ctx
          .stmt(
            `INSERT INTO notifications(id, creator, title, body, message_type, send_method, use_web_when_miss, lng, translations, options,
               recipient_count, date_created, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            x.id,
            x.creator,
            x.title,
            x.body,
            x.messageType,
            x.sendMethod,
            x.useWebWhenMiss ? 1 : 0,
            x.lng,
            JSON.stringify(x.translations),
            JSON.stringify(x.options),
            ids.length,
            x.dateCreated,
            x.dateCreated,
          ).lastInsertRowid,
      );
      this.insertRecipients(n, json);
      return toNotification(this.mustRow(x.id));
    });
  }

  update(id: string, f: Partial<NotificationFields>, now: number): Promise<Notification> {
    return this.ctx.write(() => {
      const r = this.mustRow(id);
      if (r.has_send === 1) throw new CoreError('no_right', 'a sent notification cannot be modified');
      const sets: string[] = [];
      const args: unknown[] = [];
      const set = (col: string, v: unknown): void => {
        sets.push(`${col} = ?`);
        args.push(v);
      };
      if (f.title !== undefined) set('title', f.title);
      if (f.body !== undefined) set('body', f.body);
      if (f.messageType !== undefined) set('message_type', f.messageType);
      if (f.sendMethod !== undefined) set('send_method', f.sendMethod);
      if (f.useWebWhenMiss !== undefined) set('use_web_when_miss', f.useWebWhenMiss ? 1 : 0);
      if (f.lng !== undefined) set('lng', f.lng);
      if (f.translations !== undefined) set('translations', JSON.stringify(f.translations));
      if (f.options !== undefined) set('options', JSON.stringify(f.options));
      if (f.sendTo !== undefined) {
        const ids = [...new Set(f.sendTo)];
        const json = JSON.stringify(ids);
        this.checkUsers(json);
        this.ctx.stmt('DELETE FROM notification_recipients WHERE n = ?').run(r.n);
        this.insertRecipients(r.n, json);
        set('recipient_count', ids.length);
      }
      set('updated_at', now);
      // Column names come from the fixed list above, never from input.
      this.ctx.db.prepare(`UPDATE notifications SET ${sets.join(', ')} WHERE n = ?`).run(...args, r.n);
      return toNotification(this.mustRow(id));
    });
  }

  remove(id: string): Promise<{ users: string[] }> {
    return this.ctx.write(() => {
      const r = this.mustRow(id);
      let users: string[] = [];
      if (r.send_seq !== null) {
        users = (
          this.ctx
            .stmt(
              `SELECT r.user_id AS u FROM notification_recipients r JOIN notification_inbox i ON i.user_id = r.user_id AND i.seq = ?
               WHERE r.n = ? AND (i.state & ${DELETED}) = 0`,
            )
            .all(r.send_seq, r.n) as Array<{ u: string }>
        ).map((x) => x.u);
        const del = this.ctx.stmt('DELETE FROM notification_inbox WHERE user_id = ? AND seq = ?');
        // Every recipient's row, read one: rows of a fallback are recipients' rows too.
        for (const u of this.ctx.stmt('SELECT user_id FROM notification_recipients WHERE n = ?').pluck().all(r.n) as string[]) del.run(u, r.send_seq);
      }
      this.ctx.stmt('DELETE FROM notification_recipients WHERE n = ?').run(r.n);
      this.ctx.stmt('DELETE FROM notification_deliveries WHERE n = ?').run(r.n);
      this.ctx.stmt('DELETE FROM notifications WHERE n = ?').run(r.n);
      return { users };
    });
  }

  get(id: string): Promise<Notification | null> {
    return this.ctx.read(() => {
      const r = this.row(id);
      return r ? toNotification(r) : null;
    });
  }

  list(offset: number, limit: number): Promise<Page<Notification>> {
    return this.ctx.read(() => {
      const total = (this.ctx.stmt('SELECT COUNT(*) AS c FROM notifications').get() as { c: number }).c;
      const items = (this.ctx.stmt('SELECT * FROM notifications ORDER BY n DESC LIMIT ? OFFSET ?').all(limit, offset) as Row[]).map(toNotification);
      return { total, items };
    });
  }

  recipients(id: string, filter: RecipientFilter, offset: number, limit: number): Promise<Page<RecipientView>> {
    return this.ctx.read(() => {
      const r = this.mustRow(id);
      const total = filter === 'all' ? r.recipient_count : filter === 'read' ? r.read_count : r.recipient_count - r.read_count;
      type Rec = { user_id: string; name: string | null; email: string | null };
      const view = (rows: Rec[]): Page<RecipientView> => ({
        total,
        items: rows.map((x) => ({ userId: x.user_id, username: usernameOf({ userId: x.user_id, name: x.name ?? '', email: x.email ?? '' }) })),
      });
      if (filter === 'read') {
        if (r.send_seq === null || r.read_count === 0) return { total, items: [] };
        // The read rows through their partial index: no scan of the recipients.
        return view(
          this.ctx
            .stmt(
              `SELECT i.user_id, u.name, u.email FROM notification_inbox i LEFT JOIN users u ON u.id = i.user_id
               WHERE i.seq = ? AND (i.state & 1) = 1 ORDER BY i.user_id LIMIT ? OFFSET ?`,
            )
            .all(r.send_seq, limit, offset) as Rec[],
        );
      }
      const cond = filter === 'all' ? '' : `AND (i.state IS NULL OR (i.state & ${READ}) = 0)`;
      const rows = this.ctx
        .stmt(
          `SELECT r.user_id, u.name, u.email FROM notification_recipients r
           LEFT JOIN notification_inbox i ON i.user_id = r.user_id AND i.seq = ?
           LEFT JOIN users u ON u.id = r.user_id
           WHERE r.n = ? ${cond} ORDER BY r.user_id LIMIT ? OFFSET ?`,
        )
        .all(r.send_seq ?? -1, r.n, limit, offset) as Rec[];
      return view(rows);
    });
  }

  recountRead(id: string): Promise<number> {
    return this.ctx.read(() => {
      const r = this.mustRow(id);
      if (r.send_seq === null) return 0;
      return (
        this.ctx
          .stmt(
            `SELECT COUNT(*) AS c FROM notification_recipients r JOIN notification_inbox i ON i.user_id = r.user_id AND i.seq = ?
             WHERE r.n = ? AND (i.state & ${READ}) <> 0`,
          )
          .get(r.send_seq, r.n) as { c: number }
      ).c;
    });
  }

  markSent(id: string, now: number, ifUpdatedAt?: number, jobs?: NewJob[]): Promise<Notification> {
    return this.ctx.write(() => {
      const r = this.mustRow(id);
      if (r.has_send === 1) throw new CoreError('no_right', 'the notification was sent already');
      if (ifUpdatedAt !== undefined && r.updated_at !== ifUpdatedAt) throw new CoreError('no_right', 'the notification was modified meanwhile');
      insertEffects(this.ctx, jobs, {});
      const seq = (this.ctx.stmt('SELECT COALESCE(MAX(send_seq), 0) + 1 AS s FROM notifications').get() as { s: number }).s;
      this.ctx
        .stmt(`UPDATE notifications SET has_send = 1, send_at = ?, send_seq = ?, fanout_cursor = '', fanout_done = 0, updated_at = ? WHERE n = ?`)
        .run(now, seq, now, r.n);
      return toNotification(this.mustRow(id));
    });
  }

  nextRecipients(id: string, limit: number, facts: boolean): Promise<{ cursor: string; recipients: RecipientFacts[] } | null> {
    return this.ctx.read(() => {
      const r = this.row(id);
      if (!r || r.has_send !== 1 || r.fanout_done === 1) return null;
      if (!facts) {
        const ids = this.ctx
          .stmt('SELECT user_id AS u FROM notification_recipients WHERE n = ? AND user_id > ? ORDER BY user_id LIMIT ?')
          .pluck()
          .all(r.n, r.fanout_cursor, limit) as string[];
        return { cursor: r.fanout_cursor, recipients: ids.map((u) => ({ userId: u, exists: true, name: '', email: '', mobile: '' })) };
      }
      const rows = this.ctx
        .stmt(
          `SELECT r.user_id, u.id AS found, u.name, u.email, u.mobile FROM notification_recipients r LEFT JOIN users u ON u.id = r.user_id
           WHERE r.n = ? AND r.user_id > ? ORDER BY r.user_id LIMIT ?`,
        )
        .all(r.n, r.fanout_cursor, limit) as Array<{ user_id: string; found: string | null; name: string | null; email: string | null; mobile: string | null }>;
      return {
        cursor: r.fanout_cursor,
        recipients: rows.map((x) => ({ userId: x.user_id, exists: x.found !== null, name: x.name ?? '', email: x.email ?? '', mobile: x.mobile ?? '' })),
      };
    });
  }

  commitBatch(id: string, b: FanoutBatch): Promise<{ inserted: string[] } | null> {
    return this.ctx.write(() => {
      const r = this.row(id);
      if (!r || r.has_send !== 1 || r.fanout_done === 1 || r.fanout_cursor !== b.from || r.send_seq === null) return null;
      const ins = this.ctx.stmt(INSERT_ROW);
      const inserted: string[] = [];
      for (const u of b.inbox) if (ins.run(u, r.send_seq, u).changes > 0) inserted.push(u);
      insertEffects(this.ctx, b.jobs, {});
      const st = this.ctx.stmt(
        'INSERT OR REPLACE INTO notification_deliveries(n, user_id, channel, status, error, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      );
      const now = Date.now();
      for (const s of b.statuses) st.run(r.n, s.userId, s.channel, s.status, s.error, now);
      this.ctx.stmt('UPDATE notifications SET fanout_cursor = ?, fanout_done = ? WHERE n = ?').run(b.to, b.done ? 1 : 0, r.n);
      return { inserted };
    });
  }

  fanoutWeb(id: string, limit: number): Promise<{ inserted: string[]; done: boolean } | null> {
    return this.ctx.write(() => {
      const r = this.row(id);
      if (!r || r.has_send !== 1 || r.fanout_done === 1 || r.send_seq === null) return null;
      // The batch is the recipients after the cursor up to the limit-th one (or to the last: done).
      // One statement writes its rows inside SQLite (no call per row), skipping recipients destroyed
      // since, and returns those actually inserted.
      const upTo = this.ctx
        .stmt('SELECT user_id FROM notification_recipients WHERE n = ? AND user_id > ? ORDER BY user_id LIMIT 1 OFFSET ?')
        .pluck()
        .get(r.n, r.fanout_cursor, limit - 1) as string | undefined;
      const done = upTo === undefined;
      const last = upTo ?? (this.ctx.stmt('SELECT MAX(user_id) FROM notification_recipients WHERE n = ?').pluck().get(r.n) as string | null) ?? r.fanout_cursor;
      const inserted =
        last > r.fanout_cursor
          ? (this.ctx
              .stmt(
                `INSERT OR IGNORE INTO notification_inbox(user_id, seq, state)
                 SELECT r.user_id, ?, 0 FROM notification_recipients r
                 WHERE r.n = ? AND r.user_id > ? AND r.user_id <= ? AND EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id)
                 ORDER BY r.user_id
                 RETURNING user_id`,
              )
              .pluck()
              .all(r.send_seq, r.n, r.fanout_cursor, last) as string[])
          : [];
      this.ctx.stmt('UPDATE notifications SET fanout_cursor = ?, fanout_done = ? WHERE n = ?').run(last, done ? 1 : 0, r.n);
      return { inserted, done };
    });
  }

  unfinished(): Promise<string[]> {
    return this.ctx.read(() => this.ctx.stmt('SELECT id FROM notifications WHERE has_send = 1 AND fanout_done = 0 ORDER BY n').pluck().all() as string[]);
  }

  addToInbox(id: string, userIds: string[]): Promise<string[]> {
    return this.ctx.write(() => {
      const r = this.mustRow(id);
      if (r.send_seq === null) throw new CoreError('no_right', 'the notification has not been sent');
      const isRecipient = this.ctx.stmt('SELECT 1 FROM notification_recipients WHERE n = ? AND user_id = ?');
      const ins = this.ctx.stmt(INSERT_ROW);
      const inserted: string[] = [];
      for (const u of new Set(userIds)) {
        if (isRecipient.get(r.n, u) === undefined) continue;
        if (ins.run(u, r.send_seq, u).changes > 0) inserted.push(u);
      }
      return inserted;
    });
  }

  inbox(userId: string, offset: number, limit: number, unreadOnly: boolean): Promise<Page<InboxItem> & { unread: number }> {
    return this.ctx.read(() => {
      const visible = unreadOnly ? `(i.state & ${READ | DELETED}) = 0` : `(i.state & ${DELETED}) = 0`;
      const total = (this.ctx.stmt(`SELECT COUNT(*) AS c FROM notification_inbox i WHERE i.user_id = ? AND ${visible}`).get(userId) as { c: number }).c;
      const unread = unreadOnly ? total : this.unread(userId);
      const items = (
        this.ctx.stmt(`${INBOX_SELECT} WHERE i.user_id = ? AND ${visible} ORDER BY i.seq DESC LIMIT ? OFFSET ?`).all(userId, limit, offset) as ItemRow[]
      ).map(toItem);
      return { total, unread, items };
    });
  }

  private unread(userId: string): number {
    return (this.ctx.stmt(`SELECT COUNT(*) AS c FROM notification_inbox WHERE user_id = ? AND (state & ${READ | DELETED}) = 0`).get(userId) as { c: number }).c;
  }

  unreadCount(userId: string): Promise<number> {
    return this.ctx.read(() => this.unread(userId));
  }

  /** The user's visible row of a notification, or not_exist (unknown id, another user's, deleted). */
  private mustOwnRow(userId: string, id: string): { seq: number; state: number; n: number } {
    const r = this.row(id);
    const row =
      r && r.send_seq !== null
        ? (this.ctx.stmt('SELECT state FROM notification_inbox WHERE user_id = ? AND seq = ?').get(userId, r.send_seq) as { state: number } | undefined)
        : undefined;
    if (!r || !row || (row.state & DELETED) !== 0) throw notExist('no such message in your inbox');
    return { seq: r.send_seq!, state: row.state, n: r.n };
  }

  readOne(userId: string, id: string): Promise<boolean> {
    return this.ctx.write(() => {
      const row = this.mustOwnRow(userId, id);
      if ((row.state & READ) !== 0) return false;
      this.ctx.stmt(`UPDATE notification_inbox SET state = state | ${READ} WHERE user_id = ? AND seq = ?`).run(userId, row.seq);
      this.ctx.stmt('UPDATE notifications SET read_count = read_count + 1 WHERE n = ?').run(row.n);
      return true;
    });
  }

  readAll(userId: string): Promise<string[]> {
    return this.ctx.write(() => {
      const seqs = this.ctx.stmt('SELECT seq FROM notification_inbox WHERE user_id = ? AND state = 0').pluck().all(userId) as number[];
      const mark = this.ctx.stmt(`UPDATE notification_inbox SET state = state | ${READ} WHERE user_id = ? AND seq = ?`);
      const count = this.ctx.stmt('UPDATE notifications SET read_count = read_count + 1 WHERE send_seq = ? RETURNING id');
      const ids: string[] = [];
      for (const s of seqs) {
        mark.run(userId, s);
        const r = count.get(s) as { id: string } | undefined;
        if (r) ids.push(r.id);
      }
      return ids;
    });
  }

  deleteOne(userId: string, id: string): Promise<void> {
    return this.ctx.write(() => {
      const row = this.mustOwnRow(userId, id);
      this.ctx.stmt(`UPDATE notification_inbox SET state = state | ${DELETED} WHERE user_id = ? AND seq = ?`).run(userId, row.seq);
    });
  }

  deleteAll(userId: string): Promise<number> {
    return this.ctx.write(
      () =>
        this.ctx.stmt(`UPDATE notification_inbox SET state = state | ${DELETED} WHERE user_id = ? AND (state & ${DELETED}) = 0`).run(userId).changes,
    );
  }

  setDelivery(id: string, userId: string, channel: string, status: DeliveryState, error: string, now: number): Promise<void> {
    return this.ctx.write(() => {
      const r = this.mustRow(id);
      this.ctx
        .stmt('INSERT OR REPLACE INTO notification_deliveries(n, user_id, channel, status, error, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(r.n, userId, channel, status, error, now);
    });
  }

  deliveries(id: string, offset: number, limit: number): Promise<Page<DeliveryStatus>> {
    return this.ctx.read(() => {
      const r = this.mustRow(id);
      const total = (this.ctx.stmt('SELECT COUNT(*) AS c FROM notification_deliveries WHERE n = ?').get(r.n) as { c: number }).c;
      const rows = this.ctx
        .stmt('SELECT user_id, channel, status, error, updated_at FROM notification_deliveries WHERE n = ? ORDER BY user_id, channel LIMIT ? OFFSET ?')
        .all(r.n, limit, offset) as Array<{ user_id: string; channel: string; status: string; error: string; updated_at: number }>;
      return {
        total,
        items: rows.map((x) => ({ userId: x.user_id, channel: x.channel, status: x.status as DeliveryState, error: x.error, updatedAt: x.updated_at })),
      };
    });
  }
}
