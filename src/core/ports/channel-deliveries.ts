/**
 * Delivery status of the replies sent to channel apps, per message:
 * - pending   — the outbox job is queued or being retried;
 * - sent      — the app accepted the post (errcode 0 / 2xx);
 * - delivered — the app reported that the channel delivered it (seed 000's send-result callback);
 * - failed    — the job was dead-lettered, or the app reported a failure (`error` says why).
 */
export type DeliveryStatus = 'pending' | 'sent' | 'delivered' | 'failed';

/** A re-hosted file: the app's URL for one content of the message (by content id). */
export interface RehostedMedia {
  id: string;
  url: string;
}

export interface ChannelDelivery {
  uid: number;
  appId: string;
  status: DeliveryStatus;
  error: string;
  /** What the app reported: the message's id and URL on the original channel, re-hosted media. */
  originalMessageId: string;
  originalMessageUrl: string;
  media: RehostedMedia[];
  updatedAt: number;
}

/**
 * The recorded status of replies to channel apps (the outbox job, found by its ref `msg:<uid>`, stands
 * for the status until a record exists: see ChannelDeliveryService). The store persists; core decides
 * which transitions are allowed and passes them as `replace`.
 *
 * Contract (every backend; test/contract/channel-deliveries.contract.ts):
 * - `put` inserts the record, or replaces the existing one only when its status is one of `replace`
 *   (compare-and-set in one command); it returns the record as stored afterwards and whether it wrote.
 */
export interface ChannelDeliveryStore {
  get(uid: number): Promise<ChannelDelivery | null>;
  put(d: ChannelDelivery, replace: readonly DeliveryStatus[]): Promise<{ delivery: ChannelDelivery; written: boolean }>;
}
