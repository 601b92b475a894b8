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
  return { notification: o.notification as string, user: o.user as string, to: o.to as string, title: o.title as string, text: o.text as string };
}
