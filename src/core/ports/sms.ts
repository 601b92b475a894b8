/**
 * An SMS provider: how Switchboard hands one text message to an SMS gateway (the outbox channel `sms`
 * is delivered through one; src/channels/sms/). The bundled provider is a configurable HTTP POST
 * (src/channels/sms/http-provider.ts); docs/notifications-delivery.md tells how to add another.
 *
 * Contract (every provider):
 * - `send` makes exactly one attempt to hand the message to the gateway and reports it. It never
 *   retries (the outbox retries with the `sms` channel's policy) and should not throw: a throw counts
 *   as a failed, retryable attempt.
 * - It finishes within `attempt.timeoutMs` (whatever the gateway does), else the outbox may claim the
 *   job again and the message could be sent twice at once.
 * - `ok: true` means the gateway accepted the message (not that the phone received it).
 * - `retryable: false` means another attempt cannot succeed (the gateway refused the number or the
 *   request as such): the job is dead-lettered at once and core's fallback runs. Temporary trouble
 *   (network, timeout, 5xx, rate limiting) is retryable.
 * - Delivery is at least once: `attempt.deliveryId` is stable across attempts of one message; a
 *   provider whose gateway takes an idempotency key passes it on.
 * - `response` is kept (truncated) in the delivery log; it must not hold credentials.
 */
export interface SmsProvider {
  /** Short name for logs and the delivery log (e.g. "http"). Also the outbox target of its jobs. */
  readonly name: string;
  send(message: SmsMessage, attempt: SmsAttempt): Promise<SmsResult>;
  /** Release connections (shutdown). */
  close?(): Promise<void>;
}

/** One text message. */
export interface SmsMessage {
  /** The recipient's number as stored on the user (`mobile` of /admin/user/create). */
  to: string;
  text: string;
  /** Context a template may use: the notification's id and title, the recipient's user id. */
  notificationId: string;
  title: string;
  userId: string;
}

export interface SmsAttempt {
  /** Stable across attempts of one message (the outbox job id). */
  deliveryId: number;
  /** 1 for the first attempt. */
  attempt: number;
  /** The attempt's deadline. */
  timeoutMs: number;
}

export interface SmsResult {
  ok: boolean;
  /** What the gateway answered (status and body), for the delivery log. */
  response: string;
  error?: string;
  /** False: retrying cannot help (dead-letter now). Default true. */
  retryable?: boolean;
}
