import type { EmailProvider, EmailResult } from '../core/ports/email.js';
import type { SmsProvider, SmsResult } from '../core/ports/sms.js';

/**
 * The provider of a channel that is not configured on this node: every attempt is a permanent failure
 * naming the missing setting, so the job is dead-lettered at once, the recipient's status says why and
 * `use_web_when_miss` falls back to the web inbox — rather than jobs waiting forever for a sender.
 */
export class UnconfiguredProvider implements EmailProvider, SmsProvider {
  readonly name = 'unconfigured';
  constructor(private readonly what: string) {}

  async send(): Promise<EmailResult & SmsResult> {
    return { ok: false, response: '', error: `${this.what} is not configured`, retryable: false };
  }
}
