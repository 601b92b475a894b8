import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { EMAIL_CHANNEL, SMS_CHANNEL } from '../core/notify-channels/jobs.js';
import type { EmailProvider } from '../core/ports/email.js';
import type { Sender } from '../core/ports/sender.js';
import type { SmsProvider } from '../core/ports/sms.js';
import type { ChannelPolicy } from '../outbox/policy.js';
import { EmailSender } from './email/sender.js';
import { SmtpEmailProvider } from './email/smtp-provider.js';
import { HttpSmsProvider } from './sms/http-provider.js';
import { SmsSender } from './sms/sender.js';
import { SmsBodyTemplate } from './sms/template.js';
import { UnconfiguredProvider } from './unconfigured.js';

/** The e-mail provider the configuration names: SMTP when `email.smtpUrl` is set. */
export function emailProvider(config: Config): EmailProvider {
  const c = config.email;
  if (!c.smtpUrl) return new UnconfiguredProvider('e-mail (SWITCHBOARD_SMTP_URL)');
  let u: URL;
  try {
    u = new URL(c.smtpUrl);
  } catch {
    throw new ConfigError('email.smtpUrl: not a URL (expected smtp://user:pass@host:port or smtps://…)');
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') throw new ConfigError('email.smtpUrl: must be an smtp:// or smtps:// URL');
  if (!/@/.test(c.from)) throw new ConfigError(`email.from: not an e-mail address: ${c.from}`);
  return new SmtpEmailProvider({ url: c.smtpUrl, from: c.from, requireTls: c.requireTls, maxConnections: c.maxConnections, socketTimeoutMs: c.timeoutMs });
}

/** The SMS provider the configuration names: the HTTP provider when `sms.url` is set. */
export function smsProvider(config: Config): SmsProvider {
  const c = config.sms;
  let template: SmsBodyTemplate;
  try {
    template = SmsBodyTemplate.parse(c.bodyTemplate);
  } catch (e) {
    throw new ConfigError(`sms.bodyTemplate: ${(e as Error).message}`);
  }
  if (!c.url) return new UnconfiguredProvider('SMS (SWITCHBOARD_SMS_URL)');
  let u: URL;
  try {
    u = new URL(c.url);
  } catch {
    throw new ConfigError(`sms.url: not a URL: ${c.url}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError('sms.url: must be an http(s) URL');
  return new HttpSmsProvider({
    url: c.url,
    authHeader: c.authHeader ? { name: c.authHeaderName, value: c.authHeader } : undefined,
    template,
    connectTimeoutMs: Math.min(c.timeoutMs, 10_000),
  });
}

/**
 * The notification channels' senders: `email` and `sms`, always (an unconfigured one fails each job
 * permanently, naming the setting). Each attempt's deadline is the channel's timeout cut to
 * max(500 ms, lease − 2 s), so a job is never delivered twice at once.
 */
export function notificationSenders(
  config: Config,
  policies: (channel: string) => ChannelPolicy,
): { senders: Record<string, Sender>; close(): Promise<void> } {
  const email = emailProvider(config);
  const sms = smsProvider(config);
  const cut = (ms: number, channel: string): number => Math.min(ms, Math.max(500, policies(channel).leaseMs - 2000));
  return {
    senders: {
      [EMAIL_CHANNEL]: new EmailSender(email, cut(config.email.timeoutMs, EMAIL_CHANNEL)),
      [SMS_CHANNEL]: new SmsSender(sms, cut(config.sms.timeoutMs, SMS_CHANNEL)),
    },
    close: async () => {
      await email.close?.();
      await sms.close?.();
    },
  };
}
