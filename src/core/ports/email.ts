/**
 * An e-mail provider: how Switchboard hands one message to a mail system (the outbox channel `email`
 * is delivered through one; src/channels/email/). The bundled provider is SMTP through nodemailer
 * (src/channels/email/smtp-provider.ts).
 *
 * Contract (every provider): as SmsProvider's (core/ports/sms.ts) — one attempt per call, never a
 * retry of its own, no throw (a throw is a retryable failure), done within `attempt.timeoutMs`,
 * `retryable: false` only when another attempt cannot succeed (the mail system refused the recipient
 * or the message permanently, e.g. an SMTP 5xx), and `attempt.deliveryId` stable across attempts (the
 * SMTP provider derives the Message-ID from it, so a message sent twice can be recognised).
 */
export interface EmailProvider {
  /** Short name for logs and the delivery log (e.g. "smtp"). Also the outbox target of its jobs. */
  readonly name: string;
  send(message: EmailMessage, attempt: EmailAttempt): Promise<EmailResult>;
  /** Release connections (shutdown). */
  close?(): Promise<void>;
}

/** One e-mail to one recipient. */
export interface EmailMessage {
  /** The recipient's address as stored on the user (`email` of /admin/user/create). */
  to: string;
  subject: string;
  /** Plain text body. */
  text: string;
}

export interface EmailAttempt {
  /** Stable across attempts of one message (the outbox job id). */
  deliveryId: number;
  /** 1 for the first attempt. */
  attempt: number;
  /** The attempt's deadline. */
  timeoutMs: number;
}

export interface EmailResult {
  ok: boolean;
  /** What the mail system answered, for the delivery log. */
  response: string;
  error?: string;
  /** False: retrying cannot help (dead-letter now). Default true. */
  retryable?: boolean;
}
