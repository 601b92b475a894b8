import type { Notification, RecipientFacts } from '../notifications/model.js';
import { notificationRef, type ChannelPlan, type NotificationChannelPlanner } from '../notifications/planner.js';
import type { EscalationItem } from '../ports/notify-delivery.js';
import type { NewJob } from '../ports/outbox.js';
import {
  EMAIL_CHANNEL,
  EMAIL_ESCALATION_KIND,
  EMAIL_KIND,
  ESCALATE_KIND,
  SMS_CHANNEL,
  SMS_ESCALATION_KIND,
  SMS_KIND,
  TIMER_CHANNEL,
  type ChannelJobBody,
} from './jobs.js';
import { deliveryOptions } from './options.js';

/** The outbox target of notification e-mail and SMS jobs (one relay / gateway per node's config). */
const TARGET = 'default';

/** The address of a recipient on a channel ("" when it has none). */
export function addressOf(r: RecipientFacts, channel: string): string {
  return (channel === EMAIL_CHANNEL ? r.email : r.mobile).trim();
}

/** What a message says on a channel: e-mail = title as subject and body as text; SMS = title, then body. */
export function textOf(n: Notification, channel: string): string {
  if (channel === EMAIL_CHANNEL) return n.body;
  return n.body === '' ? n.title : `${n.title}\n${n.body}`;
}

/** The outbox job of one message to one recipient on `channel` (`escalation`: kind of the escalation). */
export function channelJob(n: Notification, r: RecipientFacts, channel: string, escalation: boolean): NewJob {
  const body: ChannelJobBody = {
    notification: n.id,
    user: r.userId,
    to: addressOf(r, channel),
    title: n.title,
    text: textOf(n, channel),
    ...(!escalation && n.useWebWhenMiss ? { fallback: true } : {}),
  };
  const kind = channel === EMAIL_CHANNEL ? (escalation ? EMAIL_ESCALATION_KIND : EMAIL_KIND) : escalation ? SMS_ESCALATION_KIND : SMS_KIND;
  return {
    channel,
    target: TARGET,
    // One key per message: no message waits behind another's retries.
    orderKey: `notify:${n.id}:${r.userId}:${channel}${escalation ? ':esc' : ''}`,
    kind,
    body: body as unknown as Record<string, unknown>,
    meta: {},
    ref: notificationRef(n.id, r.userId),
  };
}

const missing = (channel: string): string => (channel === EMAIL_CHANNEL ? 'no e-mail address' : 'no mobile number');

/**
 * The e-mail/SMS side of a send (NotificationChannelPlanner, a pure function of its arguments): one job
 * per existing recipient with an address (status pending); a recipient without one fails with
 * "no e-mail address" / "no mobile number" and, with use_web_when_miss, gets a web inbox row now.
 * Recipients destroyed since the notification was added are skipped. `sentJobs`: written once with the
 * fan-out's first batch — the escalation check of a web notification that asks for one, due
 * `escalate_after_minutes` after its send.
 */
export const channelsPlanner: NotificationChannelPlanner & { sentJobs(n: Notification): NewJob[] } = {
  async plan(n: Notification, recipients: RecipientFacts[]): Promise<ChannelPlan> {
    const channel = n.sendMethod === 'email' ? EMAIL_CHANNEL : SMS_CHANNEL;
    const plan: ChannelPlan = { jobs: [], statuses: [], inbox: [] };
    for (const r of recipients) {
      if (!r.exists) continue;
      if (addressOf(r, channel) === '') {
        plan.statuses.push({ userId: r.userId, channel, status: 'failed', error: missing(channel) });
        if (n.useWebWhenMiss) plan.inbox.push(r.userId);
        continue;
      }
      plan.jobs.push(channelJob(n, r, channel, false));
      plan.statuses.push({ userId: r.userId, channel, status: 'pending', error: '' });
    }
    return plan;
  },

  sentJobs(n: Notification): NewJob[] {
    const esc = deliveryOptions(n.options).escalate;
    if (!esc || n.sendMethod !== 'web' || n.sendAt === null) return [];
    return [
      {
        channel: TIMER_CHANNEL,
        target: TARGET,
        orderKey: `notify:${n.id}:escalate`,
        kind: ESCALATE_KIND,
        body: { notification: n.id },
        meta: {},
        notBefore: n.sendAt + esc.afterMs,
        ref: `notification:${n.id}:escalate`,
      },
    ];
  },
};

/** The escalation of one page of recipients who have not read a web notification. */
export function escalationItems(n: Notification, channel: string, recipients: RecipientFacts[]): EscalationItem[] {
  const out: EscalationItem[] = [];
  for (const r of recipients) {
    if (!r.exists) continue;
    if (addressOf(r, channel) === '') out.push({ userId: r.userId, channel, status: 'failed', error: missing(channel) });
    else out.push({ userId: r.userId, channel, status: 'pending', error: '', job: channelJob(n, r, channel, true) });
  }
  return out;
}
