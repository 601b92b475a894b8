import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { smsProvider } from '../../src/channels/config.js';
import { HttpSmsProvider, MAX_SMS_RESPONSE } from '../../src/channels/sms/http-provider.js';
import { SmsSender } from '../../src/channels/sms/sender.js';
import { DEFAULT_SMS_TEMPLATE, SmsBodyTemplate } from '../../src/channels/sms/template.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { OutboxJob } from '../../src/core/ports/outbox.js';
import type { SmsMessage } from '../../src/core/ports/sms.js';
import { CallbackReceiver } from '../helpers/callback-receiver.js';

/**
 * The configurable HTTP SMS provider and the `sms` channel's sender against a fake SMS gateway (a real
 * HTTP server on port 0): the rendered JSON template (placeholders, escaping), the auth header and the
 * delivery id, and the verdicts that decide retries (2xx accepted; 408/425/429/5xx, resets and
 * timeouts retried; other statuses refused for good).
 */

let gateway: CallbackReceiver;
const providers: HttpSmsProvider[] = [];

beforeAll(async () => {
  gateway = await CallbackReceiver.start();
});
afterAll(async () => {
  await gateway.close();
});
afterEach(async () => {
  gateway.handler = () => undefined;
  for (const p of providers.splice(0)) await p.close();
});

function provider(template = DEFAULT_SMS_TEMPLATE, auth: { name: string; value: string } | null = { name: 'Authorization', value: 'Bearer k3y' }): HttpSmsProvider {
  const p = new HttpSmsProvider({ url: `${gateway.url}/sms/send`, authHeader: auth ?? undefined, template: SmsBodyTemplate.parse(template), connectTimeoutMs: 2_000 });
  providers.push(p);
  return p;
}

const msg = (over: Partial<SmsMessage> = {}): SmsMessage => ({ to: '+8613800000000', text: 'platform updated', notificationId: 'n1', title: 'Update', userId: 'u1', ...over });
const attempt = (deliveryId = 5, timeoutMs = 3_000) => ({ deliveryId, attempt: 1, timeoutMs });

describe('HTTP SMS provider', () => {
  it('posts the rendered template with the auth header and the delivery id; 200 is accepted', async () => {
    const from = gateway.mark;
    const tpl = '{"account":"acme","messages":[{"phone":"{{to}}","content":"{{title}}: {{text}}"}],"ref":"{{notification_id}}/{{user_id}}/{{delivery_id}}#{{attempt}}","n":1,"flag":true}';
    gateway.handler = () => ({ status: 200, body: { code: 0, id: 'sms-77' } });
    const text = 'He said "hi"\nthen \\left 😀 </script>';
    const r = await provider(tpl).send(msg({ text }), { deliveryId: 9, attempt: 2, timeoutMs: 3_000 });
    expect(r).toMatchObject({ ok: true });
    expect(r.response).toBe('200 {"code":0,"id":"sms-77"}');
    const req = await gateway.waitFor(() => true, { from });
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/sms/send');
    expect(req.headers['authorization']).toBe('Bearer k3y');
    expect(req.headers['content-type']).toMatch(/^application\/json/);
    expect(req.headers['x-switchboard-delivery-id']).toBe('9');
    expect(req.headers['x-switchboard-attempt']).toBe('2');
    expect(req.json).toEqual({ account: 'acme', messages: [{ phone: '+8613800000000', content: `Update: ${text}` }], ref: 'n1/u1/9#2', n: 1, flag: true });
  });

  it('the default template is {"to","text"}; a custom auth header name; no auth header when none is set', async () => {
    let from = gateway.mark;
    await provider(DEFAULT_SMS_TEMPLATE, { name: 'X-Api-Key', value: 'abc' }).send(msg(), attempt());
    let req = await gateway.waitFor(() => true, { from });
    expect(req.json).toEqual({ to: '+8613800000000', text: 'platform updated' });
    expect(req.headers['x-api-key']).toBe('abc');
    from = gateway.mark;
    await provider(DEFAULT_SMS_TEMPLATE, null).send(msg(), attempt());
    req = await gateway.waitFor(() => true, { from });
    expect(req.headers['authorization']).toBeUndefined();
  });

  it.each([
    [500, true],
    [503, true],
    [429, true],
    [408, true],
    [400, false],
    [401, false],
    [404, false],
    [302, false],
  ])('HTTP %i: failed, retryable %s', async (status, retryable) => {
    gateway.handler = () => ({ status, body: { error: 'nope' } });
    const r = await provider().send(msg(), attempt());
    expect(r.ok).toBe(false);
    expect(r.error).toBe(`HTTP ${status}`);
    expect(r.response).toBe(`${status} {"error":"nope"}`);
    if (retryable) expect(r.retryable).not.toBe(false);
    else expect(r.retryable).toBe(false);
  });

  it('a reset connection: retryable', async () => {
    gateway.handler = () => ({ reset: true });
    const r = await provider().send(msg(), attempt());
    expect(r.ok).toBe(false);
    expect(r.retryable).not.toBe(false);
  });

  it('a gateway that never answers: the attempt ends at its deadline, retryable', async () => {
    gateway.handler = () => ({ hang: true });
    const started = performance.now();
    const r = await provider().send(msg(), attempt(5, 300));
    expect(r).toMatchObject({ ok: false, error: 'timeout after 300 ms' });
    expect(r.retryable).not.toBe(false);
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('a gateway trickling an endless body: ends at the deadline', async () => {
    gateway.handler = () => ({ trickle: { intervalMs: 20 } });
    const r = await provider().send(msg(), attempt(5, 300));
    expect(r).toMatchObject({ ok: false, error: 'timeout after 300 ms' });
  });

  it('a huge reply: at most MAX_SMS_RESPONSE bytes of it are kept', async () => {
    gateway.handler = () => ({ stream: { bytes: Infinity, status: 200 } });
    const r = await provider().send(msg(), attempt());
    expect(r.ok).toBe(true);
    expect(r.response.length).toBeLessThanOrEqual(MAX_SMS_RESPONSE + 4);
  });

  it('a gateway that is down: retryable', async () => {
    const down = await CallbackReceiver.start();
    const url = down.url;
    await down.close();
    const p = new HttpSmsProvider({ url, template: SmsBodyTemplate.parse(DEFAULT_SMS_TEMPLATE), connectTimeoutMs: 1_000 });
    providers.push(p);
    const r = await p.send(msg(), attempt());
    expect(r.ok).toBe(false);
    expect(r.retryable).not.toBe(false);
  });
});

describe('SMS body template', () => {
  it('refuses what is not a JSON object or array, and unknown placeholders', () => {
    expect(() => SmsBodyTemplate.parse('{"to":')).toThrow(/not valid JSON/);
    expect(() => SmsBodyTemplate.parse('"{{to}}"')).toThrow(/object or array/);
    expect(() => SmsBodyTemplate.parse('{"to":"{{phone}}","x":"{{ text }}"}')).toThrow(/\{\{phone\}\}/);
  });

  it('fills placeholders inside longer strings and leaves keys and other values alone', () => {
    const t = SmsBodyTemplate.parse('{"{{to}}":"[{{ to }}] {{text}}{{text}}","list":["{{user_id}}",3,null]}');
    expect(JSON.parse(t.render({ to: '1', text: 'a"b', title: '', notification_id: '', user_id: 'u', delivery_id: '', attempt: '' }))).toEqual({
      '{{to}}': '[1] a"ba"b',
      list: ['u', 3, null],
    });
  });
});

describe('sms channel sender and configuration', () => {
  const job = (body: unknown): OutboxJob => ({
    id: 31,
    channel: 'sms',
    target: 'http',
    orderKey: 'k',
    kind: 'Notify.Sms',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    meta: {},
    status: 'in_flight',
    attempts: 3,
    createdAt: Date.now(),
    nextAt: Date.now() + 30_000,
    lastError: '',
    lastResponse: '',
    deliveredAt: 0,
  });

  it('delivers a job through the provider with its id and attempt', async () => {
    const from = gateway.mark;
    const sender = new SmsSender(provider('{"to":"{{to}}","text":"{{text}}","id":"{{delivery_id}}","try":"{{attempt}}","n":"{{notification_id}}"}'), 3_000);
    const r = await sender.deliver(job({ notification: 'n9', user: 'u9', to: '+100', title: 'T', text: 'hello' }));
    expect(r.ok).toBe(true);
    const req = await gateway.waitFor(() => true, { from });
    expect(req.json).toEqual({ to: '+100', text: 'hello', id: '31', try: '3', n: 'n9' });
  });

  it('a job whose body is not an SMS job is dead-lettered at once', async () => {
    const sender = new SmsSender(provider(), 3_000);
    expect(await sender.deliver(job('{'))).toMatchObject({ ok: false, retryable: false, error: 'not an SMS job' });
  });

  it('configuration: SWITCHBOARD_SMS_URL, auth header, template; bad values stop start-up; unset fails jobs for good', async () => {
    const c = loadConfig({
      env: { SWITCHBOARD_SMS_URL: `${gateway.url}/x`, SWITCHBOARD_SMS_AUTH_HEADER: 'Token t', SWITCHBOARD_SMS_AUTH_HEADER_NAME: 'X-Token', SWITCHBOARD_SMS_BODY_TEMPLATE: '{"p":"{{to}}"}' },
    });
    expect(c.sms).toMatchObject({ url: `${gateway.url}/x`, authHeader: 'Token t', authHeaderName: 'X-Token', bodyTemplate: '{"p":"{{to}}"}' });
    const p = smsProvider(c);
    expect(p.name).toBe('http');
    await p.close?.();
    expect(() => smsProvider(loadConfig({ env: { SWITCHBOARD_SMS_URL: 'ftp://x' } }))).toThrow(ConfigError);
    expect(() => smsProvider(loadConfig({ env: { SWITCHBOARD_SMS_URL: 'http://x', SWITCHBOARD_SMS_BODY_TEMPLATE: '{"a":"{{nope}}"}' } }))).toThrow(/sms.bodyTemplate/);
    expect(() => loadConfig({ env: { SWITCHBOARD_SMS_AUTH_HEADER_NAME: 'Bad Header' } })).toThrow(ConfigError);
    const none = await new SmsSender(smsProvider(loadConfig({ env: {} })), 1_000).deliver(job({ notification: 'n', user: 'u', to: '+1', title: 't', text: 'x' }));
    expect(none).toMatchObject({ ok: false, retryable: false });
    expect(none.error).toContain('SWITCHBOARD_SMS_URL');
  });
});
