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
import type { PgContext } from './context.js';
import { insertEffects } from './effects.js';
import type { Queryable } from './pool.js';


type FactsRow = { user_id: string; found: string | null; name: string | null; email: string | null; mobile: string | null };

/** Recipient facts as core reads them (a recipient destroyed since has `exists` false). */
export function toFacts(x: FactsRow): RecipientFacts {
  return { userId: x.user_id, exists: x.found !== null, name: x.name ?? '', email: x.email ?? '', mobile: x.mobile ?? '' };
}

const BY_ID = 'SELECT * FROM notifications WHERE id = $1';

async function row(q: Queryable, id: string): Promise<Row | undefined> {
  return q.row<Row>(BY_ID, [id]);
}

async function mustRow(q: Queryable, id: string): Promise<Row> {
  const r = await row(q, id);
  if (!r) throw notExist('notification does not exist');
  return r;
}

/** Inside a write: refuse unknown recipients (`ids` distinct), naming at most MAX_NAMED_UNKNOWN of them in input order. */
async function checkUsers(tx: Queryable, ids: string[]): Promise<void> {
  const unknown = await tx.rows<{ v: string; c: number }>(
    `SELECT v, COUNT(*) OVER () AS c FROM unnest($1::text[]) WITH ORDINALITY AS j(v, o)
     WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = j.v) ORDER BY o LIMIT $2`,
    [ids, MAX_NAMED_UNKNOWN],
  );
  if (unknown.length === 0) return;
  const count = unknown[0]!.c;
  const more = count > unknown.length ? ` and ${count - unknown.length} more` : '';
  throw notExist(`unknown recipients: ${unknown.map((u) => u.v).join(', ')}${more}`);
}

/** Delivery status rows (n, user, channel) replaced; the last of duplicate keys wins, as one statement. */
export async function putStatuses(
  tx: Queryable,
  n: number,
  statuses: ReadonlyArray<{ userId: string; channel: string; status: DeliveryState; error: string }>,
  now: number,
): Promise<void> {
  if (statuses.length === 0) return;
  const last = new Map<string, { userId: string; channel: string; status: DeliveryState; error: string }>();
  for (const s of statuses) last.set(`${s.userId}\u0000${s.channel}`, s);
  const list = [...last.values()];
  await tx.run(
    `INSERT INTO notification_deliveries(n, user_id, channel, status, error, updated_at)
     SELECT $1, u, c, s, e, $6 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS x(u, c, s, e)
     ON CONFLICT (n, user_id, channel) DO UPDATE SET status = excluded.status, error = excluded.error, updated_at = excluded.updated_at`,
    [n, list.map((s) => s.userId), list.map((s) => s.channel), list.map((s) => s.status), list.map((s) => s.error), now],
  );
}

/**
 * The notification centre on PostgreSQL (same tables as SQLite's notifications.ts): see
 * NotificationStore for the contract.
 *
 * Ordering: a notification's inbox rows carry its `send_seq`, allocated at markSent as the highest one
 * plus one, like SQLite. Write commands are serialized cluster-wide by the writer (each batch first
 * locks the `meta.seq` row), so send_seq order is commit order on every node, as with SQLite's single
 * writer. Sets of rows (recipients, inbox rows, statuses) are written by one statement each
 * (unnest / INSERT … SELECT), never one statement per row.
 */
export class PgNotifications implements NotificationStore {
  constructor(private readonly ctx: PgContext) {}

  create(x: NewNotification): Promise<Notification> {
    return this.ctx.write(async (tx) => {
      const ids = [...new Set(x.sendTo)];
      await checkUsers(tx, ids);
      const r = await tx.row<Row>(
        `WITH n AS (
           INSERT INTO notifications(id, creator, title, body, message_type, send_method, use_web_when_miss, lng, translations, options,
             recipient_count, date_created, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
           RETURNING *
         ), r AS (
           INSERT INTO notification_recipients(n, user_id) SELECT n.n, u FROM n, unnest($13::text[]) AS u ON CONFLICT DO NOTHING
         )
         SELECT * FROM n`,
        [
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
          ids,
        ],
      );
      return toNotification(r!);
    });
  }

  update(id: string, f: Partial<NotificationFields>, now: number): Promise<Notification> {
    return this.ctx.write(async (tx) => {
      const r = await mustRow(tx, id);
      if (r.has_send === 1) throw new CoreError('no_right', 'a sent notification cannot be modified');
      const sets: string[] = [];
      const args: unknown[] = [];
      const set = (col: string, v: unknown): void => {
        args.push(v);
        sets.push(`${col} = $${args.length}`);
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
        await checkUsers(tx, ids);
        // The kept recipients are not deleted (a row deleted and re-inserted by one statement's parts
        // is undefined in PostgreSQL); the dropped ones go, the new ones come.
        await tx.run(
          `WITH d AS (DELETE FROM notification_recipients WHERE n = $1 AND NOT (user_id = ANY($2::text[])))
           INSERT INTO notification_recipients(n, user_id) SELECT $1, u FROM unnest($2::text[]) AS u ON CONFLICT DO NOTHING`,
          [r.n, ids],
        );
        set('recipient_count', ids.length);
      }
      set('updated_at', now);
      args.push(r.n);
      // Column names come from the fixed list above, never from input.
      const out = await tx.row<Row>(`UPDATE notifications SET ${sets.join(', ')} WHERE n = $${args.length} RETURNING *`, args);
      return toNotification(out!);
    });
  }

  remove(id: string): Promise<{ users: string[] }> {
    return this.ctx.write(async (tx) => {
      const r = await mustRow(tx, id);
      // Every recipient's row goes, read or not (rows of a fallback are recipients' rows too); the
      // users whose row was still visible are returned for the live retraction.
      const rows = await tx.rows<{ user_id: string; state: number }>(
        `WITH gone AS (
           DELETE FROM notification_inbox i USING notification_recipients r
           WHERE $2::bigint IS NOT NULL AND r.n = $1 AND i.user_id = r.user_id AND i.seq = $2
           RETURNING i.user_id, i.state
         ), r AS (DELETE FROM notification_recipients WHERE n = $1),
         d AS (DELETE FROM notification_deliveries WHERE n = $1),
         n AS (DELETE FROM notifications WHERE n = $1)
         SELECT user_id, state FROM gone`,
        [r.n, r.send_seq],
      );
      return { users: rows.filter((x) => (x.state & DELETED) === 0).map((x) => x.user_id) };
    });
  }

  async get(id: string): Promise<Notification | null> {
    const r = await row(this.ctx.db, id);
    return r ? toNotification(r) : null;
  }

  async list(offset: number, limit: number): Promise<Page<Notification>> {
    const rows = await this.ctx.db.rows<Row & { total: number | null }>(
      `SELECT c.total, n.* FROM (SELECT COUNT(*) AS total FROM notifications) c
       LEFT JOIN LATERAL (SELECT * FROM notifications ORDER BY n DESC LIMIT $1 OFFSET $2) n ON true`,
      [limit, offset],
    );
    const total = rows[0]?.total ?? 0;
    return { total, items: rows.filter((x) => x.n !== null).map(toNotification) };
  }

  async recipients(id: string, filter: RecipientFilter, offset: number, limit: number): Promise<Page<RecipientView>> {
    const r = await mustRow(this.ctx.db, id);
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
        await this.ctx.db.rows<Rec>(
          `SELECT i.user_id, u.name, u.email FROM notification_inbox i LEFT JOIN users u ON u.id = i.user_id
           WHERE i.seq = $1 AND (i.state & ${READ}) = ${READ} ORDER BY i.user_id LIMIT $2 OFFSET $3`,
          [r.send_seq, limit, offset],
        ),
      );
    }
    const cond = filter === 'all' ? '' : `AND (i.state IS NULL OR (i.state & ${READ}) = 0)`;
    return view(
      await this.ctx.db.rows<Rec>(
        `SELECT r.user_id, u.name, u.email FROM notification_recipients r
         LEFT JOIN notification_inbox i ON i.user_id = r.user_id AND i.seq = $1
         LEFT JOIN users u ON u.id = r.user_id
         WHERE r.n = $2 ${cond} ORDER BY r.user_id LIMIT $3 OFFSET $4`,
        [r.send_seq ?? -1, r.n, limit, offset],
      ),
    );
  }

  async recountRead(id: string): Promise<number> {
    const r = await mustRow(this.ctx.db, id);
    if (r.send_seq === null) return 0;
    const c = await this.ctx.db.row<{ c: number }>(
      `SELECT COUNT(*) AS c FROM notification_recipients r JOIN notification_inbox i ON i.user_id = r.user_id AND i.seq = $1
       WHERE r.n = $2 AND (i.state & ${READ}) <> 0`,
      [r.send_seq, r.n],
    );
    return c!.c;
  }

  markSent(id: string, now: number, ifUpdatedAt?: number, jobs?: NewJob[]): Promise<Notification> {
    return this.ctx.write(async (tx) => {
      const r = await mustRow(tx, id);
      if (r.has_send === 1) throw new CoreError('no_right', 'the notification was sent already');
      if (ifUpdatedAt !== undefined && r.updated_at !== ifUpdatedAt) throw new CoreError('no_right', 'the notification was modified meanwhile');
      await insertEffects(tx, jobs);
      const out = await tx.row<Row>(
        `UPDATE notifications SET has_send = 1, send_at = $1, send_seq = (SELECT COALESCE(MAX(send_seq), 0) + 1 FROM notifications),
           fanout_cursor = '', fanout_done = 0, updated_at = $1
         WHERE n = $2 RETURNING *`,
        [now, r.n],
      );
      return toNotification(out!);
    });
  }

  async nextRecipients(id: string, limit: number, facts: boolean): Promise<{ cursor: string; recipients: RecipientFacts[] } | null> {
    const r = await row(this.ctx.db, id);
    if (!r || r.has_send !== 1 || r.fanout_done === 1) return null;
    if (!facts) {
      const ids = await this.ctx.db.rows<{ u: string }>(
        'SELECT user_id AS u FROM notification_recipients WHERE n = $1 AND user_id > $2 ORDER BY user_id LIMIT $3',
        [r.n, r.fanout_cursor, limit],
      );
      return { cursor: r.fanout_cursor, recipients: ids.map((x) => ({ userId: x.u, exists: true, name: '', email: '', mobile: '' })) };
    }
    const rows = await this.ctx.db.rows<FactsRow>(
      `SELECT r.user_id, u.id AS found, u.name, u.email, u.mobile FROM notification_recipients r LEFT JOIN users u ON u.id = r.user_id
       WHERE r.n = $1 AND r.user_id > $2 ORDER BY r.user_id LIMIT $3`,
      [r.n, r.fanout_cursor, limit],
    );
    return { cursor: r.fanout_cursor, recipients: rows.map(toFacts) };
  }

  commitBatch(id: string, b: FanoutBatch): Promise<{ inserted: string[] } | null> {
    return this.ctx.write(async (tx) => {
      const r = await row(tx, id);
      if (!r || r.has_send !== 1 || r.fanout_done === 1 || r.fanout_cursor !== b.from || r.send_seq === null) return null;
      const inserted =
        b.inbox.length === 0
          ? []
          : (
              await tx.rows<{ user_id: string }>(
                `INSERT INTO notification_inbox(user_id, seq, state)
                 SELECT u, $2, 0 FROM unnest($1::text[]) WITH ORDINALITY AS x(u, o)
                 WHERE EXISTS (SELECT 1 FROM users WHERE id = x.u) ORDER BY o
                 ON CONFLICT DO NOTHING RETURNING user_id`,
                [b.inbox, r.send_seq],
              )
            ).map((x) => x.user_id);
      await insertEffects(tx, b.jobs);
      await putStatuses(tx, r.n, b.statuses, Date.now());
      await tx.run('UPDATE notifications SET fanout_cursor = $1, fanout_done = $2 WHERE n = $3', [b.to, b.done ? 1 : 0, r.n]);
      return { inserted };
    });
  }

  fanoutWeb(id: string, limit: number): Promise<{ inserted: string[]; done: boolean } | null> {
    return this.ctx.write(async (tx) => {
      const r = await row(tx, id);
      if (!r || r.has_send !== 1 || r.fanout_done === 1 || r.send_seq === null) return null;
      // The batch is the next `limit` recipients after the cursor (fewer: the last batch, done). One
      // statement writes their rows (skipping recipients destroyed since), moves the cursor past them
      // and returns those actually inserted.
      const out = await tx.row<{ c: number; inserted: string[] }>(
        `WITH b AS (
           SELECT user_id FROM notification_recipients WHERE n = $1 AND user_id > $2 ORDER BY user_id LIMIT $3
         ), ins AS (
           INSERT INTO notification_inbox(user_id, seq, state)
           SELECT b.user_id, $4, 0 FROM b WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = b.user_id) ORDER BY b.user_id
           ON CONFLICT DO NOTHING RETURNING user_id
         ), agg AS (SELECT COUNT(*) AS c, MAX(user_id) AS last FROM b
         ), upd AS (
           UPDATE notifications SET fanout_cursor = COALESCE((SELECT last FROM agg), fanout_cursor),
             fanout_done = CASE WHEN (SELECT c FROM agg) < $3 THEN 1 ELSE 0 END
           WHERE n = $1
         )
         SELECT (SELECT c FROM agg) AS c, COALESCE((SELECT array_agg(user_id ORDER BY user_id) FROM ins), '{}'::text[]) AS inserted`,
        [r.n, r.fanout_cursor, limit, r.send_seq],
      );
      return { inserted: out!.inserted, done: out!.c < limit };
    });
  }

  async unfinished(): Promise<string[]> {
    return (await this.ctx.db.rows<{ id: string }>('SELECT id FROM notifications WHERE has_send = 1 AND fanout_done = 0 ORDER BY n')).map((x) => x.id);
  }

  addToInbox(id: string, userIds: string[]): Promise<string[]> {
    return this.ctx.write(async (tx) => {
      const r = await mustRow(tx, id);
      if (r.send_seq === null) throw new CoreError('no_right', 'the notification has not been sent');
      const ids = [...new Set(userIds)];
      if (ids.length === 0) return [];
      const rows = await tx.rows<{ user_id: string }>(
        `INSERT INTO notification_inbox(user_id, seq, state)
         SELECT u, $2, 0 FROM unnest($1::text[]) WITH ORDINALITY AS x(u, o)
         WHERE EXISTS (SELECT 1 FROM notification_recipients WHERE n = $3 AND user_id = x.u) AND EXISTS (SELECT 1 FROM users WHERE id = x.u)
         ORDER BY o
         ON CONFLICT DO NOTHING RETURNING user_id`,
        [ids, r.send_seq, r.n],
      );
      return rows.map((x) => x.user_id);
    });
  }

  async inbox(userId: string, offset: number, limit: number, unreadOnly: boolean): Promise<Page<InboxItem> & { unread: number }> {
    const visible = unreadOnly ? `(i.state & ${READ | DELETED}) = 0` : `(i.state & ${DELETED}) = 0`;
    // Counts and page in one statement: one snapshot.
    const rows = await this.ctx.db.rows<Partial<ItemRow> & { total: number; unread: number }>(
      `SELECT c.total, c.unread, p.* FROM (
         SELECT COUNT(*) FILTER (WHERE ${visible}) AS total, COUNT(*) FILTER (WHERE (i.state & ${READ | DELETED}) = 0) AS unread
         FROM notification_inbox i WHERE i.user_id = $1
       ) c LEFT JOIN LATERAL (
         SELECT i.state, n.id, n.title, n.body, n.message_type, n.lng, n.translations, n.send_at
         FROM notification_inbox i JOIN notifications n ON n.send_seq = i.seq
         WHERE i.user_id = $1 AND ${visible} ORDER BY i.seq DESC LIMIT $2 OFFSET $3
       ) p ON true`,
      [userId, limit, offset],
    );
    const first = rows[0]!;
    return { total: first.total, unread: first.unread, items: rows.filter((x) => x.id != null).map((x) => toItem(x as ItemRow)) };
  }

  async unreadCount(userId: string): Promise<number> {
    const c = await this.ctx.db.row<{ c: number }>(`SELECT COUNT(*) AS c FROM notification_inbox WHERE user_id = $1 AND (state & ${READ | DELETED}) = 0`, [
      userId,
    ]);
    return c!.c;
  }

  /** Inside a write: the user's visible row of a notification, or not_exist (unknown id, another user's, deleted). */
  private async mustOwnRow(tx: Queryable, userId: string, id: string): Promise<{ seq: number; state: number; n: number }> {
    const row = await tx.row<{ seq: number; state: number; n: number }>(
      `SELECT i.seq, i.state, n.n FROM notifications n JOIN notification_inbox i ON i.user_id = $1 AND i.seq = n.send_seq WHERE n.id = $2`,
      [userId, id],
    );
    if (!row || (row.state & DELETED) !== 0) throw notExist('no such message in your inbox');
    return row;
  }

  readOne(userId: string, id: string): Promise<boolean> {
    return this.ctx.write(async (tx) => {
      const row = await this.mustOwnRow(tx, userId, id);
      if ((row.state & READ) !== 0) return false;
      await tx.run(
        `WITH m AS (UPDATE notification_inbox SET state = state | ${READ} WHERE user_id = $1 AND seq = $2)
         UPDATE notifications SET read_count = read_count + 1 WHERE n = $3`,
        [userId, row.seq, row.n],
      );
      return true;
    });
  }

  readAll(userId: string): Promise<string[]> {
    return this.ctx.write(async (tx) => {
      const rows = await tx.rows<{ id: string }>(
        `WITH m AS (
           UPDATE notification_inbox SET state = state | ${READ} WHERE user_id = $1 AND state = 0 RETURNING seq
         ), c AS (
           UPDATE notifications n SET read_count = n.read_count + 1 FROM m WHERE n.send_seq = m.seq RETURNING n.id, n.send_seq
         )
         SELECT id FROM c ORDER BY send_seq`,
        [userId],
      );
      return rows.map((x) => x.id);
    });
  }

  deleteOne(userId: string, id: string): Promise<void> {
    return this.ctx.write(async (tx) => {
      const row = await this.mustOwnRow(tx, userId, id);
      await tx.run(`UPDATE notification_inbox SET state = state | ${DELETED} WHERE user_id = $1 AND seq = $2`, [userId, row.seq]);
    });
  }

  deleteAll(userId: string): Promise<number> {
    return this.ctx.write((tx) =>
      tx.run(`UPDATE notification_inbox SET state = state | ${DELETED} WHERE user_id = $1 AND (state & ${DELETED}) = 0`, [userId]),
    );
  }

  setDelivery(id: string, userId: string, channel: string, status: DeliveryState, error: string, now: number): Promise<void> {
    return this.ctx.write(async (tx) => {
      const r = await mustRow(tx, id);
      await putStatuses(tx, r.n, [{ userId, channel, status, error }], now);
    });
  }

  async deliveries(id: string, offset: number, limit: number): Promise<Page<DeliveryStatus>> {
    const r = await mustRow(this.ctx.db, id);
    const rows = await this.ctx.db.rows<{ total: number; user_id: string | null; channel: string; status: string; error: string; updated_at: number }>(
      `SELECT c.total, p.* FROM (SELECT COUNT(*) AS total FROM notification_deliveries WHERE n = $1) c
       LEFT JOIN LATERAL (
         SELECT user_id, channel, status, error, updated_at FROM notification_deliveries WHERE n = $1 ORDER BY user_id, channel LIMIT $2 OFFSET $3
       ) p ON true`,
      [r.n, limit, offset],
    );
    return {
      total: rows[0]?.total ?? 0,
      items: rows
        .filter((x) => x.user_id !== null)
        .map((x) => ({ userId: x.user_id!, channel: x.channel, status: x.status as DeliveryState, error: x.error, updatedAt: x.updated_at })),
    };
  }
}
