import type { SettleRecord } from '../../core/ports/outbox.js';
import { applyNotificationDelivery } from './notify-delivery.js';
import type { Queryable } from './pool.js';

/**
 * Apply the domain records of a final outbox outcome (SettleReaction.records), inside the outbox's
 * settle command: same transaction, and only when its fence accepted the outcome. The PostgreSQL
 * outbox calls this where SQLite's applies its records; every record kind is handled here (the switch
 * is exhaustive: a new kind does not compile until it is).
 */
export async function applySettleRecords(tx: Queryable, records: readonly SettleRecord[], now: number): Promise<void> {
  for (const r of records) {
    switch (r.kind) {
      case 'notification.delivery':
        await applyNotificationDelivery(tx, r, now);
        break;
      default: {
        const never: never = r.kind;
        throw new Error(`unknown settle record ${String(never)}`);
      }
    }
  }
}
