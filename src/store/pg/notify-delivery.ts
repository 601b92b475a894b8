import type { RecipientFacts } from '../../core/notifications/model.js';
import type { EscalationItem, NotifyDeliveryStore } from '../../core/ports/notify-delivery.js';
import type { PgContext } from './context.js';
import { insertEffects } from './effects.js';
import { toFacts } from './notifications.js';
import type { PgTx } from './writer.js';

/**
 * The delivery side of the notification centre on PostgreSQL, over the tables of notifications.ts:
 * see NotifyDeliveryStore for the contract. Inbox state bits as there: 1 read, 2 deleted by the user.
 */
const READ = 1;

const NOTIFICATION = 'SELECT n, send_seq FROM notifications WHERE id = $1';

export class PgNotifyDelivery implements NotifyDeliveryStore {
  constructor(private readonly ctx: PgContext) {}

  async hasRead(id: string, userId: string): Promise<boolean> {
    const r = await this.ctx.db.row<{ state: number }>(
      'SELECT i.state FROM notifications n JOIN notification_inbox i ON i.user_id = $2 AND i.seq = n.send_seq WHERE n.id = $1',
      [id, userId],
    );
    return r !== undefined && (r.state & READ) !== 0;
  }

  async escalationCandidates(id: string, after: string, limit: number): Promise<RecipientFacts[] | null> {
    const n = await this.ctx.db.row<{ n: number; send_seq: number | null }>(NOTIFICATION, [id]);
    if (!n || n.send_seq === null) return null;
    const rows = await this.ctx.db.rows<{ user_id: string; found: string | null; name: string | null; email: string | null; mobile: string | null }>(
      `SELECT r.user_id, u.id AS found, u.name, u.email, u.mobile FROM notification_recipients r
       LEFT JOIN notification_inbox i ON i.user_id = r.user_id AND i.seq = $1
       LEFT JOIN users u ON u.id = r.user_id
       WHERE r.n = $2 AND r.user_id > $3 AND (i.state IS NULL OR (i.state & ${READ}) = 0)
       ORDER BY r.user_id LIMIT $4`,
      [n.send_seq, n.n, after, limit],
    );
    return rows.map(toFacts);
  }

  commitEscalation(id: string, items: EscalationItem[]): Promise<number> {
    return this.ctx.write(async (tx: PgTx) => {
      const n = await tx.row<{ n: number; send_seq: number | null }>(NOTIFICATION, [id]);
      if (!n || n.send_seq === null || items.length === 0) return 0;
      // Written only for a recipient who still has not read it and has no status on the channel yet
      // (the first of duplicate items wins); the jobs of the items written, in item order.
      const first = new Map<string, EscalationItem>();
      for (const it of items) if (!first.has(`${it.userId}\u0000${it.channel}`)) first.set(`${it.userId}\u0000${it.channel}`, it);
      const list = [...first.values()];
      const written = await tx.rows<{ user_id: string; channel: string }>(
        `INSERT INTO notification_deliveries(n, user_id, channel, status, error, updated_at)
         SELECT $1, x.u, x.c, x.s, x.e, $7 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS x(u, c, s, e)
         WHERE EXISTS (SELECT 1 FROM notification_recipients WHERE n = $1 AND user_id = x.u)
           AND NOT EXISTS (SELECT 1 FROM notification_inbox WHERE user_id = x.u AND seq = $6 AND (state & ${READ}) <> 0)
         ON CONFLICT DO NOTHING
         RETURNING user_id, channel`,
        [n.n, list.map((i) => i.userId), list.map((i) => i.channel), list.map((i) => i.status), list.map((i) => i.error), n.send_seq, Date.now()],
      );
      const done = new Set(written.map((w) => `${w.user_id}\u0000${w.channel}`));
      const jobs = list.flatMap((it) => (it.job && done.has(`${it.userId}\u0000${it.channel}`) ? [it.job] : []));
      await insertEffects(tx, jobs);
      return written.length;
    });
  }
}
