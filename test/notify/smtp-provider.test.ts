import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { emailProvider } from '../../src/channels/config.js';
import { EmailSender } from '../../src/channels/email/sender.js';
import { SmtpEmailProvider, type SmtpOptions } from '../../src/channels/email/smtp-provider.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { OutboxJob } from '../../src/core/ports/outbox.js';
import { SmtpSink } from '../helpers/smtp-sink.js';

/**
 * The SMTP e-mail provider (nodemailer) and the `email` channel's sender against a real SMTP server
 * (smtp-server on port 0): authentication, STARTTLS and TLS, the message as received (envelope, From,
 * Subject and body in UTF-8, Message-ID from the delivery id), and the verdicts that decide retries:
 * permanent refusals (5xx) dead-letter, everything temporary (4xx, wrong credentials, a relay that is
 * down or silent) is retried.
 */

const FROM = 'Switchboard <noreply@example.com>';
const providers: SmtpEmailProvider[] = [];
const sinks: SmtpSink[] = [];

function provider(opts: Partial<SmtpOptions> & { url: string }): SmtpEmailProvider {
  const p = new SmtpEmailProvider({ from: FROM, requireTls: false, maxConnections: 2, socketTimeoutMs: 5_000, ...opts });
  providers.push(p);
  return p;
}

async function sink(opts: Parameters<typeof SmtpSink.start>[0] = {}): Promise<SmtpSink> {
  const s = await SmtpSink.start(opts);
  sinks.push(s);
  return s;
}

const attempt = (deliveryId = 1) => ({ deliveryId, attempt: 1, timeoutMs: 5_000 });

afterEach(async () => {
  for (const p of providers.splice(0)) await p.close();
  for (const s of sinks.splice(0)) await s.close();
});

describe('SMTP provider', () => {
  it('sends over STARTTLS with authentication: recipient, From, subject and UTF-8 body as written', async () => {
    const relay = await sink();
    const p = provider({ url: relay.url(), requireTls: true });
    const r = await p.send({ to: 'alice@example.org', subject: 'Mise à jour — plateforme', text: 'Ligne 1: café ☕\nLigne 2 "quoted" = equals' }, attempt(42));
    expect(r, JSON.stringify(r)).toMatchObject({ ok: true });
    expect(r.response).toMatch(/^250 /);
    const m = await relay.waitFor(() => true);
    expect(m.rcptTo).toEqual(['alice@example.org']);
    expect(m.mailFrom).toBe('noreply@example.com');
    expect(m.headers['from']).toBe('Switchboard <noreply@example.com>');
    expect(m.headers['to']).toBe('alice@example.org');
    expect(m.subject).toBe('Mise à jour — plateforme');
    expect(m.text).toBe('Ligne 1: café ☕\nLigne 2 "quoted" = equals');
    expect(m.headers['message-id']).toBe('<notify-42@example.com>');
    expect(m.headers['x-switchboard-delivery-id']).toBe('42');
    expect(m.secure).toBe(true);
    expect(m.user).toBe('mailer');
  });

  it('sends over TLS from the first byte (smtps://)', async () => {
    const relay = await sink({ secure: true });
    const r = await provider({ url: relay.url() }).send({ to: 'bob@example.org', subject: 'tls', text: 'over tls' }, attempt());
    expect(r.ok, JSON.stringify(r)).toBe(true);
    const m = await relay.waitFor(() => true);
    expect(m.secure).toBe(true);
    expect(m.text).toBe('over tls');
  });

  it('requireTls: a relay without STARTTLS gets nothing; the attempt fails and may be retried', async () => {
    const relay = await sink({ noStartTls: true });
    const r = await provider({ url: relay.url(), requireTls: true }).send({ to: 'a@example.org', subject: 's', text: 't' }, attempt());
    expect(r.ok).toBe(false);
    expect(r.retryable).not.toBe(false);
    expect(relay.mails.items).toHaveLength(0);
    expect(relay.logins).toEqual([]);
  });

  it('wrong credentials: refused login, retryable (the credentials may be fixed)', async () => {
    const relay = await sink();
    const r = await provider({ url: relay.url({ pass: 'wrong' }) }).send({ to: 'a@example.org', subject: 's', text: 't' }, attempt());
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/535|Invalid/);
    expect(r.retryable).not.toBe(false);
    expect(relay.logins).toContain('mailer');
    expect(relay.mails.items).toHaveLength(0);
  });

  it('a recipient refused for good (550) is not retryable; a temporary refusal (451) is', async () => {
    const relay = await sink();
    relay.refuse = (a) => (a.startsWith('gone@') ? 550 : a.startsWith('busy@') ? 451 : undefined);
    const p = provider({ url: relay.url() });
    const gone = await p.send({ to: 'gone@example.org', subject: 's', text: 't' }, attempt(1));
    expect(gone).toMatchObject({ ok: false, retryable: false });
    expect(gone.error).toMatch(/550/);
    const busy = await p.send({ to: 'busy@example.org', subject: 's', text: 't' }, attempt(2));
    expect(busy.ok).toBe(false);
    expect(busy.retryable).not.toBe(false);
    expect(busy.error).toMatch(/451/);
    expect((await p.send({ to: 'ok@example.org', subject: 's', text: 't' }, attempt(3))).ok).toBe(true);
    expect(relay.mails.items.map((m) => m.rcptTo)).toEqual([['ok@example.org']]);
  });

  it('an address that is not one plain address (a list, a display name, blanks) is refused for good, nothing sent', async () => {
    const relay = await sink();
    const p = provider({ url: relay.url() });
    for (const to of ['a@example.org, b@example.org', 'Eve <eve@example.org>', 'a b@example.org', 'a@example.org\r\nBcc: x@example.org', 'nodomain', 'a@localhost']) {
      const r = await p.send({ to, subject: 's', text: 't' }, attempt());
      expect(r, to).toMatchObject({ ok: false, retryable: false });
      expect(r.error).toMatch(/^not a single e-mail address/);
    }
    expect(relay.mails.items).toHaveLength(0);
  });

  it('a relay that is down: retryable failure', async () => {
    const relay = await sink();
    const url = relay.url();
    await relay.close();
    sinks.splice(sinks.indexOf(relay), 1);
    const r = await provider({ url }).send({ to: 'a@example.org', subject: 's', text: 't' }, attempt());
    expect(r.ok).toBe(false);
    expect(r.retryable).not.toBe(false);
    expect(r.error).toBeTruthy();
  });

  describe('a relay that accepts the connection and never greets', () => {
    let silent: net.Server;
    let port = 0;
    const held: net.Socket[] = [];
    beforeAll(async () => {
      silent = net.createServer((s) => {
        s.on('error', () => undefined);
        held.push(s);
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
      port = (silent.address() as net.AddressInfo).port;
    });
    afterAll(async () => {
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });

    it('the attempt ends at its deadline, retryable', async () => {
      const p = provider({ url: `smtp://u:p@127.0.0.1:${port}` });
      const started = performance.now();
      const r = await p.send({ to: 'a@example.org', subject: 's', text: 't' }, { deliveryId: 1, attempt: 1, timeoutMs: 400 });
      const took = performance.now() - started;
      expect(r).toMatchObject({ ok: false, error: 'timeout after 400 ms' });
      expect(r.retryable).not.toBe(false);
      expect(took).toBeGreaterThanOrEqual(350);
      expect(took).toBeLessThan(4_000);
    });
  });
});

describe('email channel sender', () => {
  const job = (body: unknown, id = 7): OutboxJob => ({
    id,
    channel: 'email',
    target: 'smtp',
    orderKey: 'k',
    kind: 'Notify.Email',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    meta: {},
    status: 'in_flight',
    attempts: 1,
    createdAt: Date.now(),
    nextAt: Date.now() + 30_000,
    lastError: '',
    lastResponse: '',
    deliveredAt: 0,
  });

  it('delivers a job: subject = title, body = text, to = the address', async () => {
    const relay = await sink();
    const sender = new EmailSender(provider({ url: relay.url() }), 5_000);
    const r = await sender.deliver(job({ notification: 'n1', user: 'u1', to: 'carol@example.org', title: 'Outage', text: 'DB down 10:00-10:30' }, 99));
    expect(r.ok, JSON.stringify(r)).toBe(true);
    const m = await relay.waitFor(() => true);
    expect(m).toMatchObject({ rcptTo: ['carol@example.org'], subject: 'Outage', text: 'DB down 10:00-10:30' });
    expect(m.headers['message-id']).toBe('<notify-99@example.com>');
  });

  it('a job whose body is not an e-mail job is dead-lettered at once', async () => {
    const relay = await sink();
    const sender = new EmailSender(provider({ url: relay.url() }), 5_000);
    for (const bad of ['not json', '[]', { to: 'a@b.c' }, { notification: 'n', user: 'u', to: 5, title: 't', text: 'x' }]) {
      expect(await sender.deliver(job(bad))).toMatchObject({ ok: false, retryable: false, error: 'not an e-mail job' });
    }
    expect(relay.mails.items).toHaveLength(0);
  });

  it('without SWITCHBOARD_SMTP_URL every job fails for good, naming the setting', async () => {
    const p = emailProvider(loadConfig({ env: {} }));
    const r = await new EmailSender(p, 1_000).deliver(job({ notification: 'n', user: 'u', to: 'a@b.c', title: 't', text: 'x' }));
    expect(r).toMatchObject({ ok: false, retryable: false });
    expect(r.error).toContain('SWITCHBOARD_SMTP_URL');
  });

  it('configuration: SWITCHBOARD_SMTP_URL and SWITCHBOARD_MAIL_FROM; a URL that is not smtp(s) stops start-up', () => {
    const c = loadConfig({ env: { SWITCHBOARD_SMTP_URL: 'smtp://u:p@mail.example.com:587', SWITCHBOARD_MAIL_FROM: 'Ops <ops@example.com>', SWITCHBOARD_SMTP_REQUIRE_TLS: 'yes' } });
    expect(c.email).toMatchObject({ smtpUrl: 'smtp://u:p@mail.example.com:587', from: 'Ops <ops@example.com>', requireTls: true });
    const p = emailProvider(c);
    expect(p.name).toBe('smtp');
    void p.close?.();
    expect(() => emailProvider(loadConfig({ env: { SWITCHBOARD_SMTP_URL: 'http://mail.example.com' } }))).toThrow(ConfigError);
    expect(() => emailProvider(loadConfig({ env: { SWITCHBOARD_SMTP_URL: 'not a url' } }))).toThrow(/email.smtpUrl/);
    expect(() => emailProvider(loadConfig({ env: { SWITCHBOARD_SMTP_URL: 'smtp://h', SWITCHBOARD_MAIL_FROM: 'nobody' } }))).toThrow(/email.from/);
  });
});
