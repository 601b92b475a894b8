import type {
  DeliveryState,
  DeliveryStatus,
  InboxItem,
  Notification,
  NotificationFields,
  RecipientFacts,
  RecipientView,
} from '../notifications/model.js';
import type { NewJob } from './outbox.js';

/** A notification to create: its fields, id, creator and creation time (decided by core). */
export interface NewNotification extends NotificationFields {
  id: string;
  creator: string;
  dateCreated: number;
}

/** Which recipients of a notification a view lists. */
export type RecipientFilter = 'all' | 'read' | 'unread';

/** A page of a list with the total it is taken from. */
export interface Page<T> {
  total: number;
  items: T[];
}

/** One batch of a notification's fan-out, as core planned it (see NotificationStore.commitBatch). */
export interface FanoutBatch {
  /** The fan-out cursor this batch starts after (`cursor` of nextRecipients): the write's fence. */
  from: string;
  /** The last recipient of the batch (the new cursor). */
  to: string;
  /** No recipient after `to`: the fan-out is complete. */
  done: boolean;
  /** Recipients who get an inbox row (every one for web; the fallback ones for email/SMS). */
  inbox: string[];
  /** Outbox jobs of the channels (email, SMS), written with the batch. */
  jobs: NewJob[];
  /** Delivery status rows written (or replaced) with the batch. */
  statuses: Array<{ userId: string; channel: string; status: DeliveryState; error: string }>;
}

/**
 * The notification centre's persistence (seed 004): notifications, their recipients, every user's
 * inbox and the per-recipient delivery statuses.
 *
 * Contract (every backend; test/contract/notification-store.contract.ts):
 * - Every method is async; a resolved write is durable. Each write is atomic, its checks (existence,
 *   already sent, recipients exist, whose inbox) inside its own transaction.
 * - Inbox rows exist only for sent notifications; a user's inbox lists rows newest first (the order
 *   the notifications were sent in; rows a fallback adds later sort with their notification).
 * - Counts never drift: `inbox` answers `total` and `unread` from the rows themselves, and a
 *   notification's `readCount` equals `recountRead` after every mutation.
 * - A user only ever reads and changes its own rows: another user's id is not_exist, nothing changed.
 * - Removing a notification removes its recipients, every inbox row of it and its delivery statuses.
 * - The fan-out is resumable and idempotent: a batch applies only when the stored cursor still equals
 *   its `from` (so two runners, or a runner after the notification was removed, never apply twice), and
 *   writing an inbox row that exists changes nothing.
 */
export interface NotificationStore {
  /** Create with its recipients. Throws not_exist naming the unknown recipients (every id must be a user). */
  create(n: NewNotification): Promise<Notification>;
  /**
   * Replace the given fields (`sendTo` replaces the recipient set). Throws not_exist (unknown
   * notification, or unknown recipients, named), no_right when it was sent already.
   */
  update(id: string, fields: Partial<NotificationFields>, now: number): Promise<Notification>;
  /**
   * Remove the notification and everything of it. Returns the users whose inbox held it visibly (not
   * deleted by them), for the live retraction. Throws not_exist.
   */
  remove(id: string): Promise<{ users: string[] }>;
  get(id: string): Promise<Notification | null>;
  /** Notifications newest first (creation order). */
  list(offset: number, limit: number): Promise<Page<Notification>>;
  /** A notification's recipients, all / those who read it / those who did not, ordered by user id. */
  recipients(id: string, filter: RecipientFilter, offset: number, limit: number): Promise<Page<RecipientView>>;
  /** The recipients' inbox rows that are read, counted from the rows (audit: equals readCount). */
  recountRead(id: string): Promise<number>;

  /**
   * Mark sent now (has_send, send_at) and open its fan-out at the start; throws not_exist, no_right
   * when sent already (a notification is sent once), and no_right when `ifUpdatedAt` is given and the
   * notification was modified since (its updatedAt differs: e.g. a scheduled send was cancelled).
   * `jobs` (the send's own outbox jobs, e.g. an escalation timer) are written in the same transaction.
   */
  markSent(id: string, now: number, ifUpdatedAt?: number, jobs?: NewJob[]): Promise<Notification>;
  /**
   * The next at most `limit` recipients after the fan-out cursor, ordered by user id, with their facts
   * when `facts` (else only ids, `exists` true). `cursor` is the batch's `from`. Null when the
   * notification is gone or its fan-out is done.
   */
  nextRecipients(id: string, limit: number, facts: boolean): Promise<{ cursor: string; recipients: RecipientFacts[] } | null>;
  /**
   * Apply one planned batch atomically: inbox rows (only for recipients that still exist), jobs,
   * statuses, and the cursor moved to `to` (fan-out done when `done`). Returns the users who got a new
   * inbox row (for the live push), or null when the fence refused the batch (cursor moved, or the
   * notification is gone): nothing is written then.
   */
  commitBatch(id: string, batch: FanoutBatch): Promise<{ inserted: string[] } | null>;
  /**
   * One batch of a `web` fan-out in one command: the next at most `limit` recipients after the
   * stored cursor get an inbox row (those that still exist), the cursor moves past them (done when
   * fewer were left). Reading the cursor inside the command makes consecutive calls sequential, so a
   * runner may submit the next one before the previous resolved. Returns the users who got a new row,
   * or null when there is nothing to do (unknown, not sent, or done).
   */
  fanoutWeb(id: string, limit: number): Promise<{ inserted: string[]; done: boolean } | null>;
  /** Sent notifications whose fan-out is not done (resumed at start-up). */
  unfinished(): Promise<string[]>;
  /**
   * Put a sent notification into these recipients' inboxes now (a channel's fallback, escalation):
   * returns those who got a new row. Non-recipients and existing rows are skipped. Throws not_exist.
   */
  addToInbox(id: string, userIds: string[]): Promise<string[]>;

  /** The user's inbox (rows it did not delete), newest first; `unread` counts all its unread rows. */
  inbox(userId: string, offset: number, limit: number, unreadOnly: boolean): Promise<Page<InboxItem> & { unread: number }>;
  /** Number of unread rows in the user's inbox. */
  unreadCount(userId: string): Promise<number>;
  /** Mark one row read; false when it was read already. Throws not_exist when the user has no such row. */
  readOne(userId: string, id: string): Promise<boolean>;
  /** Mark every unread row read; returns the notification ids that changed. */
  readAll(userId: string): Promise<string[]>;
  /** Delete one row from the user's inbox. Throws not_exist when the user has no such row. */
  deleteOne(userId: string, id: string): Promise<void>;
  /** Delete every row of the user's inbox; returns how many were deleted. */
  deleteAll(userId: string): Promise<number>;

  /** Record a recipient's delivery status on a channel (replaces the previous one). Throws not_exist for an unknown notification. */
  setDelivery(id: string, userId: string, channel: string, status: DeliveryState, error: string, now: number): Promise<void>;
  /** A notification's delivery statuses, ordered by user id then channel. */
  deliveries(id: string, offset: number, limit: number): Promise<Page<DeliveryStatus>>;
}
