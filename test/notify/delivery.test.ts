import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleRef } from '../../src/core/notify-channels/service.js';
import { notificationRef } from '../../src/core/notifications/planner.js';
import type { OutboxJob } from '../../src/core/ports/outbox.js';
import { CallbackReceiver } from '../helpers/callback-receiver.js';
import { CmsClient, LiveInboxClient, operator } from '../helpers/cms.js';
import { fresh } from '../helpers/messages.js';
import { SmtpSink } from '../helpers/smtp-sink.js';
import type { TestServer } from '../helpers/server.js';
import { useServer } from '../helpers/use-server.js';
import { eventually } from '../helpers/ws-client.js';

/**
 * The notification centre's e-mail and SMS delivery end to end (docs/notifications-delivery.md): a real
 * server on port 0 sending through a real SMTP server (smtp-server) and a fake SMS gateway (a real HTTP
 * server), both on port 0; /v1/cms routes and the live inbox WebSocket as the seed's clients use them.
 * Delivery retries are shortened (2 attempts, 10 ms apart) and the outbox polls every 50 ms, so delayed
 * jobs (scheduled sends, escalations) are picked up promptly; delays are seconds, not minutes.
 * Synchronisation: waits on recorded mails, gateway requests, socket frames and stored state.
 */

let smtp: SmtpSink;
let gateway: CallbackReceiver;
beforeAll(async () => {
  smtp = await SmtpSink.start();
  gateway = await CallbackReceiver.start();
});
afterAll(async () => {
  await smtp.close();
  await gateway.close();
});

const FAST = { maxAttempts: 2, firstRetryMs: 10, maxRetryMs: 10, leaseMs: 5000, breakerThreshold: 0 };
const t = useServer(() => ({
  email: { smtpUrl: smtp.url(), from: 'Ops <ops@example.com>', requireTls: true },
  sms: { url: `${gateway.url}/sms`, authHeader: 'Bearer gw-key', bodyTemplate: '{"phone":"{{to}}","message":"{{text}}","ref":"{{notification_id}}"}' },
  outbox: { channels: { email: FAST, sms: FAST, 'notify-timer': { ...FAST, maxAttempts: 5 } } },
  callbacks: { pollMs: 50 },
}));
const cms = (): CmsClient => new CmsClient(t.url);

/** A fresh user with these profile fields and a web token. */
async function user(s: TestServer, profile: { email?: string; mobile?: string }): Promise<{ userId: string; token: string; email: string }> {
  const userId = fresh('r');
  await s.admin.createUser(userId, profile);
  return { userId, token: await s.token(userId, 'web'), email: profile.email ?? '' };
}

type Delivery = { id: string; channel: string; status: string; error: string };
const deliveries = async (token: string, id: string): Promise<Delivery[]> => (await cms().detail(token, id))['deliveries'] as Delivery[];
const statusOf = (ds: Delivery[], userId: string): Delivery | undefined => ds.find((d) => d.id === userId);

/** Wait until every recipient's status on the channel is final (sent or failed). */
async function settled(token: string, id: string, users: string[]): Promise<Delivery[]> {
  let last: Delivery[] = [];
  await eventually(async () => {
    last = await deliveries(token, id);
    return users.every((u) => ['sent', 'failed'].includes(statusOf(last, u)?.status ?? ''));
  }, `final statuses of ${users.join(', ')}`, 15_000);
  return last;
}

async function inboxIds(token: string): Promise<string[]> {
  return ((await cms().inbox(token))['data'] as Array<{ id: string }>).map((i) => i.id);
}

async function jobsOf(ref: string): Promise<OutboxJob[]> {
  return t.server.hub.outbox.byRef(ref, 100);
}

describe('e-mail', () => {
  it('each recipient with an address gets one mail (recipient, subject, body); one without fails "no e-mail address"', async () => {
    const op = await operator(t);
    const a = await user(t, { email: `a-${fresh('m')}@example.org` });
    const b = await user(t, { email: `b-${fresh('m')}@example.org` });
    const none = await user(t, {});
    const id = await cms().add(op.token, {
      title: 'Maintenance tonight — 22:00',
      body: 'The platform is down from 22:00 to 22:30.\nSorry for the trouble. Café ☕',
      send_method: 'email',
      send_to: [a.userId, b.userId, none.userId],
    });
    expect(await cms().send(op.token, id)).toMatchObject({ error_code: 10002 });
    const ds = await settled(op.token, id, [a.userId, b.userId, none.userId]);
    expect(statusOf(ds, a.userId)).toMatchObject({ channel: 'email', status: 'sent', error: '' });
    expect(statusOf(ds, b.userId)).toMatchObject({ channel: 'email', status: 'sent', error: '' });
    expect(statusOf(ds, none.userId)).toMatchObject({ channel: 'email', status: 'failed', error: 'no e-mail address' });

    for (const u of [a, b]) {
      const mails = smtp.to(u.email);
      expect(mails, `mails to ${u.email}`).toHaveLength(1);
      expect(mails[0]).toMatchObject({
        rcptTo: [u.email],
        mailFrom: 'ops@example.com',
        subject: 'Maintenance tonight — 22:00',
        text: 'The platform is down from 22:00 to 22:30.\nSorry for the trouble. Café ☕',
        secure: true,
        user: 'mailer',
      });
    }
    // E-mail is not the web inbox: nobody got a row (use_web_when_miss is off).
    for (const u of [a, b, none]) expect(await inboxIds(u.token)).not.toContain(id);
    // Each job is traceable by its reference.
    expect((await jobsOf(notificationRef(id, a.userId))).map((j) => [j.channel, j.kind, j.status])).toEqual([['email', 'Notify.Email', 'delivered']]);
    // Counted in the metrics.
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const delivered = /switchboard_notify_attempts_total\{channel="email",result="delivered"\} (\d+)/.exec(metrics);
    expect(Number(delivered?.[1])).toBeGreaterThanOrEqual(2);
  });

  it('a recipient the relay refuses for good (550): failed at once with the reason; with use_web_when_miss it lands in the web inbox, live', async () => {
    const op = await operator(t);
    const gone = await user(t, { email: `gone-${fresh('m')}@example.org` });
    smtp.refuse = (addr) => (addr.startsWith('gone-') ? 550 : undefined);
    const live = await LiveInboxClient.open(t.url, gone.token);
    const id = await cms().add(op.token, { title: 'Invoice', body: 'Your invoice is ready', send_method: 'email', send_to: [gone.userId], use_web_when_miss: true });
    await cms().send(op.token, id);
    const item = await live.waitItem(id, { timeoutMs: 15_000 });
    expect(item).toEqual({ body: 'Your invoice is ready', has_read: false, id, title: 'Invoice', type: 'm' });
    const ds = await settled(op.token, id, [gone.userId]);
    expect(statusOf(ds, gone.userId)).toMatchObject({ status: 'failed' });
    expect(statusOf(ds, gone.userId)!.error).toMatch(/550/);
    expect(await inboxIds(gone.token)).toContain(id);
    // Refused for good: one attempt, no retry.
    expect((await jobsOf(notificationRef(id, gone.userId))).map((j) => [j.status, j.attempts])).toEqual([['dead', 1]]);
    smtp.refuse = () => undefined;
    live.close();
  });
});

describe('SMS', () => {
  it('send_method "mobile": the gateway receives one SMS per recipient with a number (template, auth header)', async () => {
    const op = await operator(t);
    const a = await user(t, { mobile: '+15550000001' });
    const b = await user(t, { mobile: '+15550000002' });
    const from = gateway.mark;
    const id = await cms().add(op.token, { title: 'Code', body: 'Your code is 1234', send_method: 'mobile', send_to: [a.userId, b.userId] });
    await cms().send(op.token, id);
    const ds = await settled(op.token, id, [a.userId, b.userId]);
    expect(ds.map((d) => [d.channel, d.status])).toEqual([
      ['sms', 'sent'],
      ['sms', 'sent'],
    ]);
    const reqs = gateway.requests.slice(from).filter((r) => r.json?.ref === id);
    expect(reqs.map((r) => r.json).sort((x, y) => String(x.phone).localeCompare(String(y.phone)))).toEqual([
      { phone: '+15550000001', message: 'Code\nYour code is 1234', ref: id },
      { phone: '+15550000002', message: 'Code\nYour code is 1234', ref: id },
    ]);
    for (const r of reqs) {
      expect(r.path).toBe('/sms');
      expect(r.headers['authorization']).toBe('Bearer gw-key');
      expect(r.deliveryId).toMatch(/^\d+$/);
    }
    expect(await cms().detail(op.token, id)).toMatchObject({ send_method: 'sms', has_send: true });
  });

  it('the provider failing: after the retries the notification falls back to the web inbox, seen live and in the list; a missing number falls back at once', async () => {
    const op = await operator(t);
    const failing = await user(t, { mobile: '+15559999999' });
    const fine = await user(t, { mobile: '+15550000003' });
    const noNumber = await user(t, {});
    gateway.handler = (r) => (r.json?.phone === '+15559999999' ? { status: 503, body: { error: 'gateway overloaded' } } : undefined);
    const lives = await Promise.all([failing, fine, noNumber].map((u) => LiveInboxClient.open(t.url, u.token)));
    const id = await cms().add(op.token, { title: 'Alert', body: 'Disk almost full', send_method: 'sms', send_to: [failing.userId, fine.userId, noNumber.userId], use_web_when_miss: true });
    await cms().send(op.token, id);

    // The failing number: two attempts (policy), then the fallback, pushed live.
    const pushed = await lives[0]!.waitItem(id, { timeoutMs: 15_000 });
    expect(pushed).toMatchObject({ id, title: 'Alert', body: 'Disk almost full', has_read: false });
    await lives[2]!.waitItem(id, { timeoutMs: 15_000 });
    const ds = await settled(op.token, id, [failing.userId, fine.userId, noNumber.userId]);
    expect(statusOf(ds, failing.userId)).toMatchObject({ channel: 'sms', status: 'failed', error: 'HTTP 503' });
    expect(statusOf(ds, fine.userId)).toMatchObject({ channel: 'sms', status: 'sent' });
    expect(statusOf(ds, noNumber.userId)).toMatchObject({ channel: 'sms', status: 'failed', error: 'no mobile number' });
    expect(gateway.requests.filter((r) => r.json?.ref === id && r.json?.phone === '+15559999999')).toHaveLength(2);
    expect((await jobsOf(notificationRef(id, failing.userId))).map((j) => [j.status, j.attempts, j.lastError])).toEqual([['dead', 2, 'HTTP 503']]);

    expect(await inboxIds(failing.token)).toContain(id);
    expect(await inboxIds(noNumber.token)).toContain(id);
    // Reached by SMS: no web row, nothing pushed.
    expect(await inboxIds(fine.token)).not.toContain(id);
    expect(lives[1]!.frames.items.slice(1)).toEqual([]);
    // The fallback row is a row like any other: readable, counted.
    await cms().ok('PUT', `/message/${id}/readOneNotifyMessage`, failing.token);
    expect(await cms().detail(op.token, id)).toMatchObject({ has_read_total: 1 });
    gateway.handler = () => undefined;
    for (const l of lives) l.close();
  });
});

describe('deleting a sent notification', () => {
  it('withdraws its messages that have not gone out yet', async () => {
    const op = await operator(t);
    const slow = await user(t, { mobile: '+15557770001' });
    const from = gateway.mark;
    // The gateway holds the first attempt (its deadline is the sms lease − 2 s = 3 s).
    let held = false;
    gateway.handler = (r) => {
      if (r.json?.phone !== '+15557770001' || held) return undefined;
      held = true;
      return { hang: true };
    };
    const id = await cms().add(op.token, { title: 'Soon gone', body: 'x', send_method: 'sms', send_to: [slow.userId], use_web_when_miss: true });
    await cms().send(op.token, id);
    await gateway.waitFor((r) => r.json?.ref === id, { from, timeoutMs: 10_000 });
    expect(await cms().ok('DELETE', `/notify/${id}/delete`, op.token)).toMatchObject({ error_code: '1004' });
    await eventually(async () => (await jobsOf(notificationRef(id, slow.userId)))[0]?.status === 'delivered', 'the job settled', 15_000);
    const [job] = await jobsOf(notificationRef(id, slow.userId));
    expect(job).toMatchObject({ status: 'delivered', attempts: 2, lastResponse: 'cancelled: notification deleted' });
    expect(gateway.requests.slice(from).filter((r) => r.json?.ref === id)).toHaveLength(1);
    expect(await inboxIds(slow.token)).not.toContain(id);
    gateway.handler = () => undefined;
  });
});

describe('scheduling', () => {
  it('a send scheduled for later survives a restart and fires once', async () => {
    const op = await operator(t);
    const a = await user(t, {});
    const at = new Date(Date.now() + 4_000);
    const id = await cms().add(op.token, { title: 'Later', body: 'scheduled', send_method: 'web', send_to: [a.userId], schedule_at: at.toISOString() });
    expect(await cms().send(op.token, id)).toMatchObject({ error_code: 10002, msg: 'send message success' });
    const before = await cms().detail(op.token, id);
    expect(before).toMatchObject({ has_send: false, send_at: null });
    expect(Date.parse(before['schedule_at'] as string)).toBe(at.getTime());
    const timer = await jobsOf(scheduleRef(id));
    expect(timer.map((j) => [j.kind, j.status])).toEqual([['Notify.Scheduled', 'pending']]);
    expect(timer[0]!.nextAt).toBe(at.getTime());
    expect(await inboxIds(a.token)).not.toContain(id);

    await t.restart();
    const live = await LiveInboxClient.open(t.url, a.token);
    const item = await live.waitItem(id, { timeoutMs: 20_000 });
    expect(Date.now()).toBeGreaterThanOrEqual(at.getTime());
    expect(item).toMatchObject({ id, title: 'Later' });
    await eventually(async () => (await jobsOf(scheduleRef(id)))[0]?.status === 'delivered', 'the timer recorded');
    expect((await jobsOf(scheduleRef(id))).map((j) => [j.status, j.lastResponse])).toEqual([['delivered', 'sent']]);
    const after = await cms().detail(op.token, id);
    expect(after['has_send']).toBe(true);
    expect(Date.parse(after['send_at'] as string)).toBeGreaterThanOrEqual(at.getTime());
    expect((await inboxIds(a.token)).filter((x) => x === id)).toHaveLength(1);
    expect(live.frames.items.filter((f) => !Array.isArray(f) && f['id'] === id)).toHaveLength(1);
    // Sent once: a second send is refused.
    expect((await cms().call('GET', `/notify/${id}/send`, { token: op.token })).status).toBe(409);
    live.close();
  });

  it('modifying or deleting a scheduled notification cancels its timer', async () => {
    const op = await operator(t);
    const a = await user(t, {});
    const soon = new Date(Date.now() + 1_500).toISOString();
    const modified = await cms().add(op.token, { title: 'M', send_to: [a.userId], schedule_at: soon });
    const deleted = await cms().add(op.token, { title: 'D', send_to: [a.userId], schedule_at: soon });
    await cms().send(op.token, modified);
    await cms().send(op.token, deleted);
    expect(await cms().ok('PUT', `/notify/${modified}/update`, op.token, { title: 'M2' })).toMatchObject({ error_code: '1003' });
    expect(await cms().ok('DELETE', `/notify/${deleted}/delete`, op.token)).toMatchObject({ error_code: '1004' });
    for (const id of [modified, deleted]) {
      await eventually(async () => (await jobsOf(scheduleRef(id)))[0]?.status === 'delivered', `the timer of ${id} ran`, 15_000);
      expect((await jobsOf(scheduleRef(id)))[0]!.lastResponse).toMatch(/^cancelled: /);
    }
    expect(await cms().detail(op.token, modified)).toMatchObject({ has_send: false, title: 'M2' });
    expect(await inboxIds(a.token)).toEqual([]);
    // The modified one can be scheduled again (or sent now).
    await cms().ok('PUT', `/notify/${modified}/update`, op.token, { schedule_at: null });
    await cms().send(op.token, modified);
    await eventually(async () => (await inboxIds(a.token)).includes(modified), 'sent now');
  });

  it('schedule_at and escalation fields are checked: bad values answer 400 in the envelope', async () => {
    const op = await operator(t);
    const a = await user(t, {});
    for (const bad of [
      { schedule_at: 'tomorrow' },
      { schedule_at: '2026-12-02T10:00:00' },
      { schedule_at: new Date(Date.now() + 400 * 86_400_000).toISOString() },
      { escalate_after_minutes: 5 },
      { escalate_after_minutes: 0, escalate_method: 'email' },
      { escalate_after_minutes: 'ten', escalate_method: 'email' },
      { escalate_after_minutes: 5, escalate_method: 'pigeon' },
      { options: { schedule_at: -1 } },
    ]) {
      const r = await cms().call('POST', '/notify/add', { token: op.token, body: { title: 't', send_method: 'web', send_to: [a.userId], ...bad } });
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body['error_code'], JSON.stringify(bad)).toBe(40000);
    }
    const id = await cms().add(op.token, { send_to: [a.userId], options: { escalate_after_minutes: 90, escalate_method: 'mobile' } });
    expect(await cms().detail(op.token, id)).toMatchObject({ schedule_at: null, escalate_after_minutes: 90, escalate_method: 'sms' });
  });
});

describe('escalation when unread', () => {
  it('a web notification still unread after the delay goes out by e-mail to those who have not read it, not to those who have', async () => {
    const op = await operator(t);
    const reader = await user(t, { email: `reader-${fresh('m')}@example.org` });
    const ignorer = await user(t, { email: `ignorer-${fresh('m')}@example.org` });
    const id = await cms().add(op.token, {
      title: 'Please confirm',
      body: 'Confirm your address',
      send_method: 'web',
      send_to: [reader.userId, ignorer.userId],
      escalate_after_minutes: 0.03,
      escalate_method: 'email',
    });
    await cms().send(op.token, id);
    await eventually(async () => (await inboxIds(reader.token)).includes(id), 'the reader has it');
    await cms().ok('PUT', `/message/${id}/readOneNotifyMessage`, reader.token);

    const ignorerMail = ignorer;
    const readerMail = reader;
    const mail = await smtp.waitFor((m) => m.rcptTo.includes(ignorerMail.email), { timeoutMs: 20_000 });
    expect(mail).toMatchObject({ subject: 'Please confirm', text: 'Confirm your address' });
    await eventually(async () => (await jobsOf(`notification:${id}:escalate`))[0]?.status === 'delivered', 'the escalation ran');
    expect((await jobsOf(`notification:${id}:escalate`))[0]!.lastResponse).toBe('escalated by email to 1 recipient(s)');
    const ds = await settled(op.token, id, [ignorer.userId]);
    expect(statusOf(ds, ignorer.userId)).toMatchObject({ channel: 'email', status: 'sent' });
    expect(statusOf(ds, reader.userId)).toBeUndefined();
    expect(smtp.to(readerMail.email)).toEqual([]);
    expect(smtp.to(ignorerMail.email)).toHaveLength(1);
    expect((await jobsOf(notificationRef(id, ignorer.userId))).map((j) => j.kind)).toEqual(['Notify.Email.Escalation']);
  });

  it('by SMS; nobody is escalated when everyone read it', async () => {
    const op = await operator(t);
    const a = await user(t, { mobile: '+15551110001' });
    const b = await user(t, { mobile: '+15551110002' });
    const from = gateway.mark;
    const esc = await cms().add(op.token, { title: 'Ping', body: 'unread?', send_to: [a.userId], escalate_after_minutes: 0.02, escalate_method: 'sms' });
    const allRead = await cms().add(op.token, { title: 'Read', body: 'all read', send_to: [b.userId], escalate_after_minutes: 0.02, escalate_method: 'sms' });
    await cms().send(op.token, esc);
    await cms().send(op.token, allRead);
    await eventually(async () => (await inboxIds(b.token)).includes(allRead), 'b has it');
    await cms().ok('PUT', '/message/readAllNotifyMessage', b.token);
    const sms = await gateway.waitFor((r) => r.json?.ref === esc, { from, timeoutMs: 20_000 });
    expect(sms.json).toEqual({ phone: '+15551110001', message: 'Ping\nunread?', ref: esc });
    await eventually(async () => (await jobsOf(`notification:${allRead}:escalate`))[0]?.status === 'delivered', 'the second escalation ran', 20_000);
    expect((await jobsOf(`notification:${allRead}:escalate`))[0]!.lastResponse).toBe('escalated by sms to 0 recipient(s)');
    expect(gateway.requests.slice(from).filter((r) => r.json?.ref === allRead)).toEqual([]);
  });
});
