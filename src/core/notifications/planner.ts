import type { NewJob } from '../ports/outbox.js';
import type { FanoutBatch } from '../ports/notifications.js';
import type { Notification, RecipientFacts } from './model.js';

/** What the channels want written for one batch of recipients (see NotificationChannelPlanner). */
export interface ChannelPlan {
  /** Outbox jobs (one per recipient reached: channel 'email' or 'sms', ref `notificationRef(id, user)`). */
  jobs: NewJob[];
  /** A delivery status per recipient handled: 'pending' with a job, 'failed' + error without one. */
  statuses: FanoutBatch['statuses'];
  /** Recipients who get a web inbox row now (use_web_when_miss and unreachable: no address). */
  inbox: string[];
}

/**
 * The seam between the notification model (part A) and its delivery channels (part B: email through
 * SMTP, SMS through a provider, fallbacks, escalation). NotificationService fans a sent notification
 * out in batches of recipients (ordered by user id, `notifications.fanoutBatch` each). For `web` it
 * writes the inbox rows itself. For `email` and `sms` it reads the batch's recipients with their
 * facts (name, email, mobile; `exists` false for a user destroyed since), asks `plan` on the main
 * thread, and writes the plan's jobs, statuses and inbox rows in the same transaction as the batch's
 * cursor move (NotificationStore.commitBatch): a job exists iff its batch committed, and a batch is
 * applied once (fenced by the cursor) even when a restart replays it — `plan` may then run again for
 * the same recipients, so it must be a pure function of its arguments (no side effects of its own).
 *
 * Later outcomes come back through the outbox settler (an OnSettled hook of the channel), whose
 * handlers call NotificationService.recordDelivery / deliverToInbox (fallback to the web inbox,
 * live-pushed like a web send).
 */
export interface NotificationChannelPlanner {
  plan(n: Notification, recipients: RecipientFacts[]): Promise<ChannelPlan>;
  /**
   * Jobs written once per send, in the same transaction as markSent (e.g. the escalation timer of a
   * web notification); `n` is the notification as it is being sent (sendAt set). Pure, like `plan`.
   */
  sentJobs?(n: Notification): NewJob[];
}

/** The outbox reference of a notification's jobs for one recipient (OutboxStore.byRef). */
export function notificationRef(id: string, userId: string): string {
  return `notification:${id}:user:${userId}`;
}

/**
 * Without channels configured: every recipient fails with "channel not configured" and, with
 * use_web_when_miss, lands in the web inbox.
 */
export const NO_CHANNELS: NotificationChannelPlanner = {
  plan: async (n, recipients) => {
    const live = recipients.filter((r) => r.exists);
    return {
      jobs: [],
      statuses: live.map((r) => ({ userId: r.userId, channel: n.sendMethod, status: 'failed' as const, error: `${n.sendMethod} channel not configured` })),
      inbox: n.useWebWhenMiss ? live.map((r) => r.userId) : [],
    };
  },
};
