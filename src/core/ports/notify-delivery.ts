import type { DeliveryState, RecipientFacts } from '../notifications/model.js';
import type { NewJob } from './outbox.js';

/**
 * A notification's delivery outcome on one channel for one recipient, written by the outbox in the
 * same transaction as the final outcome of the job it is about (SettleReaction.records): the
 * recipient's delivery status, and — for a fallback — the web inbox row.
 */
export interface NotificationDeliveryRecord {
  kind: 'notification.delivery';
  /** The notification's id. */
  notification: string;
  userId: string;
  /** 'email' | 'sms'. */
  channel: string;
  status: DeliveryState;
  error: string;
  /** Also put the notification in the recipient's web inbox (use_web_when_miss after a failure). */
  toInbox: boolean;
}

/** One recipient of an escalation, as core planned it (see NotifyDeliveryStore.commitEscalation). */
export interface EscalationItem {
  userId: string;
  channel: string;
  /** 'pending' with a job; 'failed' + error without one (no address). */
  status: DeliveryState;
  error: string;
  job?: NewJob;
}

/**
 * The delivery side of the notification centre (e-mail, SMS, fallback, escalation) over the same data
 * as NotificationStore (ports/notifications.ts).
 *
 * Contract (every backend; test/contract/notify-delivery.contract.ts):
 * - A NotificationDeliveryRecord given with a final outbox outcome (SettleReaction.records) is
 *   applied in the outcome's transaction and only if the outcome is applied (the outbox's fence): the
 *   status row (notification, user, channel) is replaced; with `toInbox`, the recipient gets an inbox
 *   row unless it has one (a user it deleted stays deleted). A record about a notification removed
 *   since, or a user who is not (or no longer) a recipient, writes nothing and fails nothing.
 * - `escalationCandidates` lists, after `after` in user id order, the recipients of a sent notification
 *   who have not read it (no inbox row, or an unread one — deleted or not), with their facts; null when
 *   the notification is gone or not sent.
 * - `commitEscalation` is idempotent per (notification, user, channel) and checks inside its write:
 *   an item is written only if the recipient still has not read the notification and has no status on
 *   that channel yet; its job is written only with its status. Returns how many items were written.
 * - `hasRead` answers whether the user's inbox row of the notification is read (false when it has
 *   none, or the notification is gone).
 */
export interface NotifyDeliveryStore {
  hasRead(id: string, userId: string): Promise<boolean>;
  escalationCandidates(id: string, after: string, limit: number): Promise<RecipientFacts[] | null>;
  commitEscalation(id: string, items: EscalationItem[]): Promise<number>;
}
