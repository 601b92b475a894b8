import type { RecipientFacts } from '../../core/notifications/model.js';
import type { EscalationItem, NotificationDeliveryRecord, NotifyDeliveryStore } from '../../core/ports/notify-delivery.js';
import type { SqliteContext } from './context.js';
import { insertEffects } from './outbox-rows.js';

/**
 * The delivery side of the notification centre over the tables of notifications.ts
 * (`notifications`, `notification_recipients`, `notification_inbox`, `notification_deliveries`): see
 * NotifyDeliveryStore for the contract. Inbox state bits as there: 1 read, 2 deleted by the user.
 */
const READ = 1;

const NOTIFICATION = `SELECT n, send_seq FROM notifications WHERE id = ?`;
/** A recipient's inbox row, only for a recipient that exists (as a fan-out writes it). */
const INSERT_ROW = `INSERT OR IGNORE INTO notification_inbox(user_id, seq, state)
  SELECT ?, ?, 0 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?) AND EXISTS (SELECT 1 FROM notification_recipients WHERE n = ? AND user_id = ?)`;

/** Apply a NotificationDeliveryRecord of a final outbox outcome. Inside the outbox's settle command (same transaction). */
export function applyNotificationDelivery(ctx: SqliteContext, r: NotificationDeliveryRecord, now: number): void {
  const n = ctx.stmt(NOTIFICATION).get(r.notification) as { n: number; send_seq: number | null } | undefined;
  if (!n) return;
  if (ctx.stmt('SELECT 1 FROM notification_recipients WHERE n = ? AND user_id = ?').get(n.n, r.userId) === undefined) return;
  ctx
    .stmt('INSERT OR REPLACE INTO notification_deliveries(n, user_id, channel, status, error, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
    .run(n.n, r.userId, r.channel, r.status, r.error, now);
  if (r.toInbox && n.send_seq !== null) ctx.stmt(INSERT_ROW).run(r.userId, n.send_seq, r.userId, n.n, r.userId);
}

export class SqliteNotifyDelivery implements NotifyDeliveryStore {
  constructor(private readonly ctx: SqliteContext) {}

  hasRead(id: string, userId: string): Promise<boolean> {
    return this.ctx.read(() => {
      const n = this.ctx.stmt(NOTIFICATION).get(id) as { n: number; send_seq: number | null } | undefined;
      if (!n || n.send_seq === null) return false;
      const row = this.ctx.stmt('SELECT state FROM notification_inbox WHERE user_id = ? AND seq = ?').get(userId, n.send_seq) as { state: number } | undefined;
      return row !== undefined && (row.state & READ) !== 0;
    });
  }

  escalationCandidates(id: string, after: string, limit: number): Promise<RecipientFacts[] | null> {
    return this.ctx.read(() => {
      const n = this.ctx.stmt(NOTIFICATION).get(id) as { n: number; send_seq: number | null } | undefined;
      if (!n || n.send_seq === null) return null;
      const rows = this.ctx
        .stmt(
          `SELECT r.user_id, u.id AS found, u.name, u.email, u.mobile FROM notification_recipients r
           LEFT JOIN notification_inbox i ON i.user_id = r.user_id AND i.seq = ?
           LEFT JOIN users u ON u.id = r.user_id
           WHERE r.n = ? AND r.user_id > ? AND (i.state IS NULL OR (i.state & ${READ}) = 0)
           ORDER BY r.user_id LIMIT ?`,
        )
        .all(n.send_seq, n.n, after, limit) as Array<{ user_id: string; found: string | null; name: string | null; email: string | null; mobile: string | null }>;
      return rows.map((x) => ({ userId: x.user_id, exists: x.found !== null, name: x.name ?? '', email: x.email ?? '', mobile: x.mobile ?? '' }));
    });
  }

  commitEscalation(id: string, items: EscalationItem[]): Promise<number> {
    return this.ctx.write(() => {
      const n = this.ctx.stmt(NOTIFICATION).get(id) as { n: number; send_seq: number | null } | undefined;
      if (!n || n.send_seq === null) return 0;
      // Written only for a recipient who still has not read it and has no status on the channel yet.
      const ins = this.ctx.stmt(
        `INSERT OR IGNORE INTO notification_deliveries(n, user_id, channel, status, error, updated_at)
         SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM notification_recipients WHERE n = ? AND user_id = ?)
           AND NOT EXISTS (SELECT 1 FROM notification_inbox WHERE user_id = ? AND seq = ? AND (state & ${READ}) <> 0)`,
      );
      const now = Date.now();
      let written = 0;
      for (const it of items) {
        if (ins.run(n.n, it.userId, it.channel, it.status, it.error, now, n.n, it.userId, it.userId, n.send_seq).changes === 0) continue;
        written++;
        if (it.job) insertEffects(this.ctx, [it.job], {});
      }
      return written;
    });
  }
}
