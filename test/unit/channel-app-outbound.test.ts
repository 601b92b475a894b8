/**
 * The outbound half of the channel gateway, without a server: signatures (known vectors computed with
 * sha1sum and openssl), both protocols' bodies and requests, the reply verdict, and the channel-app
 * Sender against fake apps (real HTTP servers on port 0) that check the signatures.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { normaliseSendResult } from '../../src/api/platform/send-result.js';
import { closeCallbackAgents } from '../../src/callbacks/http.js';
import { accepted, body000, body002, contents000, request000, request002, url002, type OutboundFacts, type OutboundRequest } from '../../src/channel-apps/outbound.js';

/** The full URL a request goes to. */
function href(r: OutboundRequest): string {
  return r.target instanceof URL ? r.target.href : `${r.target.origin}${r.target.path}`;
}
import { workerNumOf } from '../../src/channel-apps/planner.js';
import { ChannelAppSender, KIND_000, KIND_002, type AppEndpoint } from '../../src/channel-apps/sender.js';
import { sameSignature, sign000, sign002 } from '../../src/channel-apps/signature.js';
import { normalizePayload } from '../../src/core/payload.js';
import type { OutboxJob } from '../../src/core/ports/outbox.js';
import { FakeChannelApp } from '../helpers/fake-channel-app.js';

const facts = (payload: unknown, extra: Partial<OutboundFacts> = {}): OutboundFacts => ({
  guid: '4242',
  timestamp: Date.UTC(2026, 0, 2, 3, 4, 5),
  payload: normalizePayload(payload),
  contact: { account: 'wx-123', name: 'Ann' },
  channelAccountId: 'acc-1',
  channelId: 'wechat',
  ...extra,
});

function job(kind: string, target: string, body: unknown, id = 7, attempts = 1): OutboxJob {
  return {
    id,
    channel: 'channel-app',
    target,
    orderKey: `${target}|c`,
    kind,
    body: JSON.stringify(body),
    meta: { idempotencyKey: 'switchboard-msg-4242' },
    status: 'in_flight',
    attempts,
    createdAt: 0,
    nextAt: 0,
    lastError: '',
    lastResponse: '',
    deliveredAt: 0,
  };
}

describe('signatures', () => {
  it('002: lowercase hex sha1 of appid + token + timestamp, no separator', () => {
    expect(sign002('1001', 'tok', '1407812629434')).toBe('7e04efb8f5dc1a2fe6e1bd4d720e4be34c43186e');
    expect(sign002('1001', 'tok', 1407812629434)).toBe('7e04efb8f5dc1a2fe6e1bd4d720e4be34c43186e');
  });
  it('000: hmac-sha256 of timestamp "." body with the secret', () => {
    expect(sign000('s3cret', '1407812629434', '{"a":1}')).toBe('b31b1117de7551aae173d22dfc2a0f98df9cb9ee375985e0df8eafa53b2f8df8');
  });
  it('compares in constant time, unequal lengths included', () => {
    expect(sameSignature('abc', 'abc')).toBe(true);
    expect(sameSignature('abc', 'abd')).toBe(false);
    expect(sameSignature('abc', 'abcd')).toBe(false);
  });
});

describe('002 body', () => {
  it('text with worker and session, Tag {} when none', () => {
    expect(body002(facts({ type: 1, searchableContent: 'hello' }, { serviceId: 'S1', workerNum: '007', workerName: 'Bo' }))).toEqual({
      ToUserId: 'wx-123',
      WorkerNum: '007',
      WorkerName: 'Bo',
      ServiceId: 'S1',
      MsgType: 'text',
      Content: 'hello',
      Tag: {},
    });
  });
  it('media as download URLs; Tag from a JSON-object extra; a location as text', () => {
    expect(body002(facts({ type: 3, remoteMediaUrl: 'https://cdn/x.png', extra: '{"k":1}' }))).toMatchObject({ MsgType: 'image', Content: 'https://cdn/x.png', Tag: { k: 1 } });
    expect(body002(facts({ type: 2, remoteMediaUrl: 'https://cdn/a.amr' }))).toMatchObject({ MsgType: 'voice' });
    expect(body002(facts({ type: 6, remoteMediaUrl: 'https://cdn/v.mp4' }))).toMatchObject({ MsgType: 'video' });
    expect(body002(facts({ type: 5, remoteMediaUrl: 'https://cdn/f.pdf', searchableContent: 'f.pdf' }))).toMatchObject({ MsgType: 'file', Content: 'https://cdn/f.pdf' });
    expect(body002(facts({ type: 4, searchableContent: 'Main St', content: '{"lat":1,"long":2}' }))).toMatchObject({ MsgType: 'text', Content: 'Main St' });
    expect(body002(facts({ type: 1, searchableContent: 'x', extra: '[1]' }))).toMatchObject({ Tag: {} });
    expect(body002(facts({ type: 1, searchableContent: 'x', extra: 'not json' }))).toMatchObject({ Tag: {} });
  });
  it('url: one slash between path_prefix and the path, query kept', () => {
    expect(url002('http://app/qmtapi/').href).toBe('http://app/qmtapi/staffService/message');
    expect(url002('http://app/qmtapi?x=1').href).toBe('http://app/qmtapi/staffService/message?x=1');
    expect(url002('http://app').href).toBe('http://app/staffService/message');
  });
  it('request: timestamp and signature query parameters, body as stored, idempotency headers', () => {
    const r = request002('http://app/qmtapi', '1001', 'tok', '{"ToUserId":"1"}', 1407812629434, { idempotencyKey: 'k', deliveryId: 3, attempt: 2 });
    expect(new URL(href(r)).searchParams.get('timestamp')).toBe('1407812629434');
    expect(new URL(href(r)).searchParams.get('signature')).toBe('7e04efb8f5dc1a2fe6e1bd4d720e4be34c43186e');
    expect(href(r)).toBe('http://app/qmtapi/staffService/message?timestamp=1407812629434&signature=7e04efb8f5dc1a2fe6e1bd4d720e4be34c43186e');
    // Built again from the remembered endpoint: the same request for the same inputs.
    expect(href(request002('http://app/qmtapi', '1001', 'tok', '{}', 1407812629434, { idempotencyKey: 'k', deliveryId: 3, attempt: 2 }))).toBe(href(r));
    // A prefix with a query of its own keeps it; a timestamp or signature in it is replaced, not repeated.
    const q = request002('http://app/qmtapi?tenant=a%20b&timestamp=1', '1001', 'tok', '{}', 1407812629434, { idempotencyKey: 'k', deliveryId: 3, attempt: 2 });
    const qu = new URL(href(q));
    expect(qu.pathname).toBe('/qmtapi/staffService/message');
    expect(qu.searchParams.get('tenant')).toBe('a b');
    expect(qu.searchParams.getAll('timestamp')).toEqual(['1407812629434']);
    expect(qu.searchParams.get('signature')).toBe('7e04efb8f5dc1a2fe6e1bd4d720e4be34c43186e');
    expect(r.body).toBe('{"ToUserId":"1"}');
    expect(r.headers).toMatchObject({ 'idempotency-key': 'k', 'x-switchboard-delivery-id': '3', 'x-switchboard-attempt': '2' });
  });
});

describe('WorkerNum of an agent', () => {
  it('is workerNum of the user\'s extra (a string, or a number as text), else the user id', () => {
    expect(workerNumOf({ userId: 'a1', extra: '{"workerNum":"007"}' })).toBe('007');
    expect(workerNumOf({ userId: 'a1', extra: '{"workerNum":7}' })).toBe('7');
    for (const extra of ['', '{}', '{"workerNum":""}', '{"workerNum":null}', 'not json', '[1]', 'null']) expect(workerNumOf({ userId: 'a1', extra }), extra).toBe('a1');
  });
});

describe('000 body', () => {
  it("seed 000's shape with guid, isReceive false and the contact under both spellings", () => {
    const b = body000(facts({ type: 1, searchableContent: 'hi' }, { serviceId: 'S1', workerNum: '7', workerName: 'Bo', originalConversationId: 'oc', originalParentId: 'op', subject: 'Re: x' }));
    expect(b).toEqual({
      guid: '4242',
      channelAccountId: 'acc-1',
      isReceive: false,
      createTime: '2026-01-02T03:04:05.000Z',
      channelAppContactIdentity: { account: 'wx-123', channelaccount: 'wx-123', name: 'Ann' },
      message: { channelId: 'wechat', originalConversationId: 'oc', originalParentId: 'op', subject: 'Re: x', contents: [{ id: '4242-0', type: 'text', text: 'hi' }] },
      serviceId: 'S1',
      workerNum: '7',
      workerName: 'Bo',
    });
  });
  it('contents by payload type', () => {
    expect(contents000('1', normalizePayload({ type: 3, remoteMediaUrl: 'https://cdn/x.png' }))).toEqual([{ id: '1-0', type: 'picture', url: 'https://cdn/x.png' }]);
    expect(contents000('1', normalizePayload({ type: 2, remoteMediaUrl: 'https://cdn/a' }))[0]!.type).toBe('audio');
    expect(contents000('1', normalizePayload({ type: 6, remoteMediaUrl: 'https://cdn/v' }))[0]!.type).toBe('video');
    expect(contents000('1', normalizePayload({ type: 5, remoteMediaUrl: 'https://cdn/f', searchableContent: 'f.pdf' }))).toEqual([{ id: '1-0', type: 'file', url: 'https://cdn/f', name: 'f.pdf' }]);
    expect(contents000('1', normalizePayload({ type: 4, searchableContent: 'Main St', content: '{"lat":1.5,"long":2}' }))).toEqual([
      { id: '1-0', type: 'location', latitude: '1.5', longitude: '2', title: 'Main St' },
    ]);
    expect(contents000('1', normalizePayload({ type: 3 }))).toEqual([{ id: '1-0', type: 'text', text: '' }]);
  });
  it('request: timestamp and body HMAC headers', () => {
    const r = request000('http://app/hook', 'app1', 's3cret', '{"a":1}', 1407812629434, { idempotencyKey: 'k', deliveryId: 3, attempt: 1 });
    expect(href(r)).toBe('http://app/hook');
    expect(href(request000('http://app:8080/hook?x=1', 'app1', 's3cret', '{}', 1, { idempotencyKey: 'k', deliveryId: 3, attempt: 1 }))).toBe('http://app:8080/hook?x=1');
    expect(r.headers).toMatchObject({
      'x-switchboard-timestamp': '1407812629434',
      'x-switchboard-signature': 'sha256=b31b1117de7551aae173d22dfc2a0f98df9cb9ee375985e0df8eafa53b2f8df8',
      'x-switchboard-app-id': 'app1',
      'idempotency-key': 'k',
    });
  });
});

describe('reply verdict', () => {
  it('non-2xx fails; errcode other than 0 fails; 002 needs {errcode: 0}', () => {
    expect(accepted('002', 200, '{"errcode":0,"errmsg":"ok"}')).toEqual({ ok: true });
    expect(accepted('002', 200, '{"errcode":"0"}')).toEqual({ ok: true });
    expect(accepted('002', 200, '{"errcode":30003,"errmsg":"bad sig"}')).toEqual({ ok: false, error: 'errcode 30003: bad sig' });
    expect(accepted('002', 200, 'OK')).toEqual({ ok: false, error: 'reply is not {errcode, errmsg}' });
    expect(accepted('002', 502, '{"errcode":0}')).toEqual({ ok: false, error: 'HTTP 502' });
    expect(accepted('000', 204, '')).toEqual({ ok: true });
    expect(accepted('000', 200, '{"errcode":1}')).toEqual({ ok: false, error: 'errcode 1' });
  });
});

describe('ChannelAppSender against fake apps', () => {
  const apps: FakeChannelApp[] = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
    await closeCallbackAgents();
  });
  const endpoints = (m: Record<string, AppEndpoint>) => ({ endpoint: async (id: string) => m[id] ?? null });

  it('002: signed with the outbound token, accepted once, failed while down and on errcode', async () => {
    const app = await FakeChannelApp.start('002', 'app2', 'out-token');
    apps.push(app);
    const sender = new ChannelAppSender(endpoints({ app2: { protocol: '002', baseUrl: app.url, secret: 'sec', outboundToken: 'out-token' } }), 2000);
    const j = job(KIND_002, 'app2', body002(facts({ type: 1, searchableContent: 'hi' })));
    await app.down();
    const down = await sender.deliver(j);
    expect(down.ok).toBe(false);
    await app.up();
    app.failNext(1);
    expect(await sender.deliver(j)).toMatchObject({ ok: false, error: 'errcode 30004: refused' });
    expect(await sender.deliver(j)).toMatchObject({ ok: true });
    expect(await sender.deliver(j)).toMatchObject({ ok: true });
    expect(app.shown).toEqual(['switchboard-msg-4242']);
    expect(app.requests.items.every((r) => r.signed)).toBe(true);
    expect(app.requests.items[0]!.json).toMatchObject({ ToUserId: 'wx-123', MsgType: 'text', Content: 'hi', Tag: {} });
  });

  it('002 without an outbound token signs with the secret; a wrong key is refused by the app', async () => {
    const app = await FakeChannelApp.start('002', 'app2', 'sec');
    apps.push(app);
    const ok = new ChannelAppSender(endpoints({ app2: { protocol: '002', baseUrl: app.url, secret: 'sec' } }), 2000);
    expect(await ok.deliver(job(KIND_002, 'app2', { ToUserId: 'u' }))).toMatchObject({ ok: true });
    const bad = new ChannelAppSender(endpoints({ app2: { protocol: '002', baseUrl: app.url, secret: 'other' } }), 2000);
    expect(await bad.deliver(job(KIND_002, 'app2', { ToUserId: 'u' }))).toMatchObject({ ok: false, error: 'errcode 30003: refused' });
  });

  it('000: the body HMAC checks out at the app', async () => {
    const app = await FakeChannelApp.start('000', 'app0', 'sec0');
    apps.push(app);
    const sender = new ChannelAppSender(endpoints({ app0: { protocol: '000', baseUrl: app.url, secret: 'sec0' } }), 2000);
    expect(await sender.deliver(job(KIND_000, 'app0', body000(facts({ type: 1, searchableContent: 'hi' }))))).toMatchObject({ ok: true });
    expect(app.requests.items[0]).toMatchObject({ signed: true, errcode: 0 });
    expect(app.requests.items[0]!.json).toMatchObject({ guid: '4242', isReceive: false });
  });

  it('dead-letters at once an unknown app, a protocol mismatch, a bad URL or an unknown kind', async () => {
    const sender = new ChannelAppSender(
      endpoints({ a: { protocol: '000', baseUrl: 'http://127.0.0.1:1/x', secret: 's' }, bad: { protocol: '002', baseUrl: 'not a url', secret: 's' } }),
      500,
    );
    expect(await sender.deliver(job(KIND_002, 'nope', {}))).toMatchObject({ ok: false, retryable: false });
    expect(await sender.deliver(job(KIND_002, 'a', {}))).toMatchObject({ ok: false, retryable: false });
    expect(await sender.deliver(job(KIND_002, 'bad', {}))).toMatchObject({ ok: false, retryable: false });
    expect(await sender.deliver(job('Other', 'a', {}))).toMatchObject({ ok: false, retryable: false });
  });
});

describe('send results: both revisions as one input', () => {
  it('older sendStatus (any case) with content[], newer isSuccessful with urls[]', () => {
    expect(normaliseSendResult({ sendStatus: 'SUCCESS', content: [{ id: 'a', url: 'u' }], originalMessageId: 'o' })).toEqual({ success: true, originalMessageId: 'o', urls: [{ id: 'a', url: 'u' }] });
    expect(normaliseSendResult({ sendStatus: 'failed', errorMessage: 'x' })).toEqual({ success: false, errorMessage: 'x' });
    expect(normaliseSendResult({ isSuccessful: true, urls: [{ id: 'b', url: 'v' }], isSync: true, errorMessage: null })).toEqual({ success: true, urls: [{ id: 'b', url: 'v' }] });
    expect(normaliseSendResult({ sendStatus: 'success', isSuccessful: true })).toEqual({ success: true });
    expect(() => normaliseSendResult({})).toThrow(/required/);
    expect(() => normaliseSendResult({ sendStatus: 'maybe' })).toThrow(/success/);
    expect(() => normaliseSendResult({ sendStatus: 'failed', isSuccessful: true })).toThrow(/disagree/);
    expect(() => normaliseSendResult({ sendStatus: null, isSuccessful: null })).toThrow(/required/);
  });
});
