import nodemailer from 'nodemailer';
import type { NodemailerError, SMTPPoolOptions } from 'nodemailer';
import type { EmailAttempt, EmailMessage, EmailProvider, EmailResult } from '../../core/ports/email.js';

export interface SmtpOptions {
  /**
   * Connection URL: `smtp://user:pass@host:port` (STARTTLS when the server offers it),
   * `smtps://…` (TLS from the start, port 465 by default); nodemailer's query options apply
   * (e.g. `?tls.rejectUnauthorized=false` for a self-signed relay in a lab).
   */
  url: string;
  /** The From header and envelope sender, e.g. `Switchboard <noreply@example.com>`. */
  from: string;
  /** Refuse to send unless the connection is encrypted (STARTTLS required on smtp://). */
  requireTls: boolean;
  /** Connections kept open to the relay at most. */
  maxConnections: number;
  /** Connect, greeting and idle-socket timeouts (ms); each attempt has its own deadline too. */
  socketTimeoutMs: number;
}

/**
 * The SMTP e-mail provider (nodemailer, pooled connections): one attempt = one message to one
 * recipient, bounded by the attempt's deadline (an AbortSignal: queued or in flight, the attempt ends
 * then). The relay's verdict decides retries: a permanent refusal (5xx except 503, nodemailer's
 * `permanent`) is not retryable; connection trouble, timeouts, 4xx and authentication failures are
 * (the relay or its credentials may be fixed meanwhile): only a refusal of the message or its
 * recipient (envelope or data) is final. The Message-ID is derived from the delivery
 * id, so a message delivered twice (at least once) carries the same id both times.
 */
export class SmtpEmailProvider implements EmailProvider {
  readonly name = 'smtp';
  private readonly transport: ReturnType<typeof nodemailer.createTransport>;
  private readonly domain: string;

  constructor(private readonly opts: SmtpOptions) {
    const pool: SMTPPoolOptions & { pool: true } = {
      pool: true,
      url: opts.url,
      maxConnections: opts.maxConnections,
      connectionTimeout: opts.socketTimeoutMs,
      greetingTimeout: opts.socketTimeoutMs,
      socketTimeout: opts.socketTimeoutMs,
      dnsTimeout: opts.socketTimeoutMs,
      ...(opts.requireTls ? { requireTLS: true } : {}),
    };
    this.transport = nodemailer.createTransport(pool);
    this.domain = domainOf(opts.from);
  }

  async send(message: EmailMessage, attempt: EmailAttempt): Promise<EmailResult> {
    // One recipient per message: an address that could name several (commas, angle brackets, blanks)
    // or none is refused for good rather than handed to the address parser.
    if (!SINGLE_ADDRESS.test(message.to)) return { ok: false, response: '', error: `not a single e-mail address: ${message.to.slice(0, 100)}`, retryable: false };
    try {
      const info = await this.transport.sendMail({
        from: this.opts.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        messageId: `<notify-${attempt.deliveryId}@${this.domain}>`,
        headers: { 'X-Switchboard-Delivery-Id': String(attempt.deliveryId) },
        signal: AbortSignal.timeout(attempt.timeoutMs),
      });
      const rejected = (info.rejected as unknown[] | undefined) ?? [];
      if (rejected.length > 0) return { ok: false, response: String(info.response ?? ''), error: `recipient refused: ${message.to}`, retryable: false };
      return { ok: true, response: `${String(info.response ?? '')} ${String(info.messageId ?? '')}`.trim() };
    } catch (err) {
      const e = err as NodemailerError;
      const aborted = e.name === 'AbortError' || e.code === 'EABORT';
      const error = aborted ? `timeout after ${attempt.timeoutMs} ms` : e.message || String(err);
      // Only a refusal of this message or its recipient is final; a refused login or TLS is the relay's
      // configuration, which may be fixed before the retries run out.
      const refused = e.permanent === true && (e.code === 'EENVELOPE' || e.code === 'EMESSAGE');
      return { ok: false, response: e.response ?? '', error, ...(refused ? { retryable: false } : {}) };
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

/** One plain address: local part @ domain, without blanks, separators, quotes or brackets. */
const SINGLE_ADDRESS = /^[^\s@,;:<>()[\]"\\]+@[^\s@,;:<>()[\]"\\]+\.[^\s@,;:<>()[\]"\\]+$/;

/** The domain of the From address (for Message-IDs), or `localhost`. */
function domainOf(from: string): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  return m ? m[1]! : 'localhost';
}
