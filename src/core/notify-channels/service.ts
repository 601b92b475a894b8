import { CoreError } from '../errors.js';
import { contentOf, type Notification } from '../notifications/model.js';
import type { NotificationService } from '../notifications/service.js';
import type { Bus } from '../ports/bus.js';
import type { NotificationStore } from '../ports/notifications.js';
import type { NotifyDeliveryStore } from '../ports/notify-delivery.js';
import type { FinalOutcome, OnSettled, OutboxJob, OutboxStore, SettleReaction } from '../ports/outbox.js';
import type { SendResult, Sender } from '../ports/sender.js';
import { EMAIL_ESCALATION_KIND, ESCALATE_KIND, parseChannelJob, SCHEDULED_KIND, SMS_ESCALATION_KIND, TIMER_CHANNEL } from './jobs.js';
import { deliveryOptions } from './options.js';
import { channelsPlanner, escalationItems } from './planner.js';

const ESCALATION_KINDS = new Set([EMAIL_ESCALATION_KIND, SMS_ESCALATION_KIND]);
/** The response of a message withdrawn before its attempt (settled as delivered, nothing sent). */
const WITHDRAWN = 'cancelled: ';

export interface NotificationDeliveryOptions {
  /** Recipients per escalation write. */
  escalationBatch: number;
  now: () => number;
}

/**
 * The notification centre's e-mail and SMS side (part B): what a send writes for those channels (the
 * planner given to NotificationService), what their final outcomes record (`onSettled`, registered for
 * the `email` and `sms` channels with the outbox settler), sends scheduled for later and escalation of
 * unread web notifications (durable timers: outbox jobs of channel `notify-timer` with notBefore,
 * delivered in-process by `timers`).
 *
 * Invariants:
 * - A recipient's status on a channel is written with the change that causes it: `pending` (or
 *   `failed`: no address) with the fan-out batch that writes its job; `sent` / `failed` + error with the
 *   job's final outcome (SettleReaction.records, same transaction, same fence); a failed job of a
 *   `use_web_when_miss` notification puts it in the recipient's web inbox in that transaction too, and
 *   after the commit it is pushed live.
 * - A scheduled send fires once: the timer sends only a notification not sent yet and not modified
 *   since it was scheduled (the store's markSent is fenced by updatedAt); deleting or modifying it
 *   cancels the timer. Timers are outbox jobs: they survive restarts and run on one node.
 * - Escalation writes a recipient's message at most once per channel, only while the recipient still
 *   has not read the notification (checked inside the write); its timer is written with markSent.
 * - A message that must no longer go out (its notification deleted; an escalation read meanwhile) is
 *   withdrawn just before its attempt (`guard`) and recorded as failed `cancelled: …`, never as sent.
 */
export class NotificationDelivery {
  readonly planner = channelsPlanner;

  constructor(
    private readonly stores: { notifications: NotificationStore; notifyDelivery: NotifyDeliveryStore; outbox: OutboxStore },
    private readonly bus: Bus,
    private readonly notifications: () => NotificationService,
    private readonly opts: NotificationDeliveryOptions,
  ) {}

  /**
   * Before a send: when the notification's schedule_at is still ahead, write its timer (one durable
   * job) and answer true — the send happens then. Otherwise false: send now.
   */
  async schedule(n: Notification): Promise<boolean> {
    const at = deliveryOptions(n.options).scheduleAt;
    if (at === null || at <= this.opts.now()) return false;
    await this.stores.outbox.enqueue([
      {
        channel: TIMER_CHANNEL,
        target: 'default',
        orderKey: `notify:${n.id}:schedule:${n.updatedAt}`,
        kind: SCHEDULED_KIND,
        body: { notification: n.id, updatedAt: n.updatedAt },
        meta: {},
        notBefore: at,
        ref: scheduleRef(n.id),
      },
    ]);
    return true;
  }

  /** Core's reaction to the final outcomes of `email` and `sms` jobs (see the invariants above). */
  readonly onSettled: OnSettled = {
    react: (job, outcome): SettleReaction | undefined => {
      const b = parseChannelJob(job.body);
      if (!b) return undefined;
      // A message withdrawn before it went out (see guard) is settled as delivered but was not sent.
      const withdrawn = outcome.status === 'delivered' && outcome.response.startsWith(WITHDRAWN);
      const failed = outcome.status === 'dead' || withdrawn;
      return {
        records: [
          {
            kind: 'notification.delivery',
            notification: b.notification,
            userId: b.user,
            channel: job.channel,
            status: failed ? 'failed' : 'sent',
            error: withdrawn ? outcome.response : outcome.status === 'dead' ? outcome.error || 'failed' : '',
            toInbox: outcome.status === 'dead' && b.fallback === true,
          },
        ],
      };
    },
    settled: async (job: OutboxJob, outcome: FinalOutcome) => {
      const b = parseChannelJob(job.body);
      if (!b || outcome.status !== 'dead' || b.fallback !== true) return;
      // The fallback row committed with the outcome; push it live (clients dedupe by id).
      const n = await this.stores.notifications.get(b.notification);
      if (n) await this.bus.publish({ type: 'notify.push', users: [b.user], item: contentOf(n) });
    },
    redelivered: async (job: OutboxJob) => {
      const b = parseChannelJob(job.body);
      if (!b) return;
      try {
        await this.notifications().recordDelivery(b.notification, b.user, job.channel, 'pending', '');
      } catch (err) {
        if (!(err instanceof CoreError && err.kind === 'not_exist')) throw err;
      }
    },
  };

  /**
   * The sender of an e-mail or SMS channel, skipping messages that must no longer go out: those of a
   * notification deleted since the job was written (deleting a sent notification withdraws what has
   * not gone out yet), and escalations to a recipient who has read the notification meanwhile (e.g.
   * while the relay was down). Such a job is settled as delivered with a `cancelled: …` response, and
   * nothing is sent.
   */
  guard(sender: Sender): Sender {
    return {
      deliver: async (job: OutboxJob): Promise<SendResult> => {
        const b = parseChannelJob(job.body);
        if (b && (await this.stores.notifications.get(b.notification)) === null) return { ok: true, response: `${WITHDRAWN}notification deleted` };
        if (b && ESCALATION_KINDS.has(job.kind) && (await this.stores.notifyDelivery.hasRead(b.notification, b.user))) {
          return { ok: true, response: `${WITHDRAWN}read meanwhile` };
        }
        return sender.deliver(job);
      },
    };
  }

  /** Delivers the `notify-timer` jobs in this process: scheduled sends and escalation checks. */
  readonly timers: Sender = {
    deliver: async (job: OutboxJob): Promise<SendResult> => {
      let body: { notification?: unknown; updatedAt?: unknown };
      try {
        body = JSON.parse(job.body) as typeof body;
      } catch {
        return { ok: false, response: '', error: 'not a timer job', retryable: false };
      }
      if (typeof body.notification !== 'string') return { ok: false, response: '', error: 'not a timer job', retryable: false };
      try {
        if (job.kind === SCHEDULED_KIND && typeof body.updatedAt === 'number') {
          return { ok: true, response: await this.fireSchedule(body.notification, body.updatedAt) };
        }
        if (job.kind === ESCALATE_KIND) return { ok: true, response: await this.escalate(body.notification) };
        return { ok: false, response: '', error: `unknown timer ${job.kind}`, retryable: false };
      } catch (err) {
        return { ok: false, response: '', error: err instanceof CoreError ? err.message : String((err as Error).message ?? err) };
      }
    },
  };

  /** A scheduled send is due: send it unless it was deleted, modified or sent since. */
  private async fireSchedule(id: string, updatedAt: number): Promise<string> {
    try {
      await this.notifications().sendScheduled(id, updatedAt);
      return 'sent';
    } catch (err) {
      if (err instanceof CoreError && (err.kind === 'not_exist' || err.kind === 'no_right')) return `cancelled: ${err.detail ?? err.kind}`;
      throw err;
    }
  }

  /**
   * Escalate a web notification: every recipient who has not read it gets it by its escalate_method,
   * in pages (each one write, idempotent). Returns what it did, for the delivery log.
   */
  async escalate(id: string): Promise<string> {
    const n = await this.stores.notifications.get(id);
    const esc = n ? deliveryOptions(n.options).escalate : null;
    if (!n || !n.hasSend || !esc) return 'cancelled: no such sent notification with an escalation';
    let after = '';
    let written = 0;
    for (;;) {
      const page = await this.stores.notifyDelivery.escalationCandidates(id, after, this.opts.escalationBatch);
      if (!page || page.length === 0) break;
      written += await this.stores.notifyDelivery.commitEscalation(id, escalationItems(n, esc.method, page));
      after = page[page.length - 1]!.userId;
      if (page.length < this.opts.escalationBatch) break;
    }
    if (written > 0) await this.bus.publish({ type: 'outbox.wake' });
    return `escalated by ${esc.method} to ${written} recipient(s)`;
  }
}

/** The outbox reference of a notification's scheduled-send timers. */
export function scheduleRef(id: string): string {
  return `notification:${id}:schedule`;
}
