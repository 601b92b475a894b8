import type { SettleRecord } from '../../core/ports/outbox.js';
import type { NotificationDeliveryRecord } from '../../core/ports/notify-delivery.js';
import { changeDeliveries } from './channel-apps.js';
import type { Queryable } from './pool.js';

/**
 * Apply the records of final outbox outcomes (SettleReaction.records; ports/notify-delivery.ts gives
 * each record's contract) inside the outbox's settle command, in its transaction: one statement for
 * all of them. A record about a notification removed since, or a user who is not (or no longer) one of
 * its recipients, writes nothing and fails nothing. As if applied in order: for one (notification,
 * user, channel) the last record's status stands, and any of them may add the inbox row.
 */
export async function applySettleRecords(q: Queryable, records: SettleRecord[], now: number): Promise<void> {
  // Replies' delivery changes (ChannelDeliveryRecord), as if in order; an unknown guid writes nothing.
  await changeDeliveries(q, records.filter((r) => r.kind === 'channel.delivery'));
  const last = new Map<string, NotificationDeliveryRecord>();
  for (const r of records) {
    if (r.kind !== 'notification.delivery') continue;
    const key = JSON.stringify([r.notification, r.userId, r.channel]);
    // An earlier record's inbox row is written even when a later one replaces its status.
    last.set(key, { ...r, toInbox: r.toInbox || (last.get(key)?.toInbox ?? false) });
  }
  if (last.size === 0) return;
  const rs = [...last.values()];
  await q.run(
    `WITH x AS (
       SELECT n.n, n.send_seq, x.user_id, x.channel, x.status, x.error, x.to_inbox
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[]) AS x(id, user_id, channel, status, error, to_inbox)
         JOIN notifications n ON n.id = x.id
        WHERE EXISTS (SELECT 1 FROM notification_recipients r WHERE r.n = n.n AND r.user_id = x.user_id)),
     d AS (
       INSERT INTO notification_deliveries(n, user_id, channel, status, error, updated_at)
       SELECT n, user_id, channel, status, error, $7 FROM x
       ON CONFLICT (n, user_id, channel) DO UPDATE SET status = excluded.status, error = excluded.error, updated_at = excluded.updated_at)
     INSERT INTO notification_inbox(user_id, seq, state)
     SELECT DISTINCT user_id, send_seq, 0 FROM x
      WHERE to_inbox AND send_seq IS NOT NULL AND EXISTS (SELECT 1 FROM users u WHERE u.id = x.user_id)
     ON CONFLICT DO NOTHING`,
    [rs.map((r) => r.notification), rs.map((r) => r.userId), rs.map((r) => r.channel), rs.map((r) => r.status), rs.map((r) => r.error), rs.map((r) => r.toInbox), now],
  );
}
