/**
 * The outbox jobs through which notifications leave the process by e-mail and SMS: their channels and
 * the JSON body core writes and the channels' senders read (src/channels/email, src/channels/sms).
 * One job is one message to one recipient.
 */

/** Outbox channel of notification e-mails. */
export const EMAIL_CHANNEL = 'email';
/** Outbox channel of notification SMS. */
export const SMS_CHANNEL = 'sms';

/** Job kinds: what the message is (a send, or an escalation of an unread web notification). */
export const EMAIL_KIND = 'Notify.Email';
export const SMS_KIND = 'Notify.Sms';
export const EMAIL_ESCALATION_KIND = 'Notify.Email.Escalation';
export const SMS_ESCALATION_KIND = 'Notify.Sms.Escalation';

/**
 * Outbox channel of the notification centre's durable timers, delivered inside the process
 * (core/notify-channels/timers.ts): a scheduled send, and the escalation check of a web notification.
 */
export const TIMER_CHANNEL = 'notify-timer';
export const SCHEDULED_KIND = 'Notify.Scheduled';
export const ESCALATE_KIND = 'Notify.Escalate';

/** The body of an e-mail or SMS job. */
export interface ChannelJobBody {
  /** The notification's id. */
  notification: string;
  /** The recipient's user id. */
  user: string;
  /** Address: e-mail address or phone number, as stored on the user when the job was written. */
  to: string;
  /** The notification's title (e-mail subject). */
  title: string;
  /** The text to deliver (e-mail body; SMS text). */
  text: string;
  /** use_web_when_miss: when this message fails for good, the notification goes to the web inbox. */
  fallback?: boolean;
}

/** The body of a job as its sender reads it, or null when it is not one (a non-retryable failure). */
export function parseChannelJob(raw: string): ChannelJobBody | null {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  for (const k of ['notification', 'user', 'to', 'title', 'text'] as const) if (typeof o[k] !== 'string') return null;
  return {
    notification: o.notification as string,
    user: o.user as string,
    to: o.to as string,
    title: o.title as string,
    text: o.text as string,
    ...(o.fallback === true ? { fallback: true } : {}),
  };
}
