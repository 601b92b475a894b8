import type { ChannelDelivery, ChannelDeliveryStore, DeliveryStatus, RehostedMedia } from '../../core/ports/channel-deliveries.js';
import type { SqliteContext } from './context.js';

interface Row {
  uid: number;
  app_id: string;
  status: string;
  error: string;
  original_message_id: string;
  original_message_url: string;
  media: string;
  updated_at: number;
}

function toDelivery(r: Row): ChannelDelivery {
  return {
    uid: r.uid,
    appId: r.app_id,
    status: r.status as DeliveryStatus,
    error: r.error,
    originalMessageId: r.original_message_id,
    originalMessageUrl: r.original_message_url,
    media: JSON.parse(r.media) as RehostedMedia[],
    updatedAt: r.updated_at,
  };
}

const SELECT = 'SELECT uid, app_id, status, error, original_message_id, original_message_url, media, updated_at FROM channel_deliveries WHERE uid = ?';

/** Delivery status of replies to channel apps (table channel_deliveries; contract in the port). */
export class SqliteChannelDeliveries implements ChannelDeliveryStore {
  constructor(private readonly ctx: SqliteContext) {}

  get(uid: number): Promise<ChannelDelivery | null> {
    return this.ctx.read(() => {
      const r = this.ctx.stmt(SELECT).get(uid) as Row | undefined;
      return r ? toDelivery(r) : null;
    });
  }

  put(d: ChannelDelivery, replace: readonly DeliveryStatus[]): Promise<{ delivery: ChannelDelivery; written: boolean }> {
    return this.ctx.write(() => {
      const cur = this.ctx.stmt(SELECT).get(d.uid) as Row | undefined;
      if (cur && !replace.includes(cur.status as DeliveryStatus)) return { delivery: toDelivery(cur), written: false };
      this.ctx
        .stmt(
          `INSERT INTO channel_deliveries(uid, app_id, status, error, original_message_id, original_message_url, media, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(uid) DO UPDATE SET app_id = excluded.app_id, status = excluded.status, error = excluded.error,
             original_message_id = excluded.original_message_id, original_message_url = excluded.original_message_url,
             media = excluded.media, updated_at = excluded.updated_at`,
        )
        .run(d.uid, d.appId, d.status, d.error, d.originalMessageId, d.originalMessageUrl, JSON.stringify(d.media), d.updatedAt);
      return { delivery: toDelivery(this.ctx.stmt(SELECT).get(d.uid) as Row), written: true };
    });
  }
}
