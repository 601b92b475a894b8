import { describe, expect, it } from 'vitest';
import { adminSign } from '../../src/api/admin/signing.js';
import { AdminClient, rawRequest, sdkSign } from '../helpers/admin-client.js';
import { TEST_SECRET } from '../helpers/server.js';
import { useServer } from '../helpers/use-server.js';

describe('admin signing (reference test vector)', () => {
  it('signs the reference vector exactly', () => {
    expect(sdkSign('76616', '123456', '1558350862502')).toBe('b98f9b0717f59febccf1440067a7f50d9b31bdde');
    expect(adminSign('76616', '123456', '1558350862502')).toBe('b98f9b0717f59febccf1440067a7f50d9b31bdde');
  });
});

describe('admin auth over HTTP', () => {
  const t = useServer();

  const signed = (nonce: string, ts: string, secret = TEST_SECRET) => ({ nonce, timestamp: ts, sign: sdkSign(nonce, secret, ts) });
  const post = (headers: Record<string, string>, body = '{"userId":"nobody"}', path = '/admin/user/get_info') =>
    rawRequest(t.url, { path, headers: { 'content-type': 'application/json', ...headers }, body });

  it('accepts an SDK-signed request and answers with Wildfire headers', async () => {
    const r = await t.admin.post('/user/get_info', { userId: 'nobody' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json;charset=utf-8');
    expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.raw));
    expect(r.body).toEqual({ code: 253, msg: 'not exist' });
  });

  it('answers 239 when a header is missing or the timestamp is not a number', async () => {
    const ts = String(Date.now());
    const variants: Array<Record<string, string>> = [
      {},
      { nonce: '1', timestamp: ts },
      { nonce: '1', sign: 'x' },
      { timestamp: ts, sign: 'x' },
      { nonce: '1', timestamp: 'abc', sign: sdkSign('1', TEST_SECRET, 'abc') },
    ];
    for (const h of variants) {
      const r = await post(h);
      expect(r.status).toBe(200);
      expect(JSON.parse(r.raw)).toEqual({ code: 239, msg: 'api not signed or sign parameter not completion' });
    }
  });

  it('answers 243 for a timestamp outside the window, in the past or the future', async () => {
    for (const skew of [-6 * 60_000, 6 * 60_000]) {
      const r = await post(signed('42', String(Date.now() + skew)));
      expect(JSON.parse(r.raw)).toEqual({ code: 243, msg: 'sign expired' });
    }
    const inside = await post(signed('43', String(Date.now() - 4 * 60_000)));
    expect(JSON.parse(inside.raw).code).toBe(253);
  });

  it('answers 244 for a wrong signature, wrong secret or upper-case garbage', async () => {
    const ts = String(Date.now());
    expect(JSON.parse((await post({ nonce: '7', timestamp: ts, sign: 'deadbeef' })).raw)).toEqual({ code: 244, msg: 'auth failure' });
    expect(JSON.parse((await post(signed('8', ts, 'other-secret'))).raw).code).toBe(244);
    // Same request, the sign's hex in upper case, is still the same signature.
    const upper = signed('9', ts);
    expect(JSON.parse((await post({ ...upper, sign: upper.sign.toUpperCase() })).raw).code).toBe(253);
  });

  it('refuses a replay of the same (nonce, timestamp, sign) with 244, but not the same nonce with another timestamp', async () => {
    const ts = Date.now();
    const h = signed('12345', String(ts));
    expect(JSON.parse((await post(h)).raw).code).toBe(253);
    expect(JSON.parse((await post(h)).raw)).toEqual({ code: 244, msg: 'auth failure' });
    // The SDK reuses nonces (100 000 values): same nonce, another timestamp, is a different request.
    expect(JSON.parse((await post(signed('12345', String(ts + 1)))).raw).code).toBe(253);
  });

  it('accepts header names in any case (the SDK sends Nonce, Timestamp, Sign)', async () => {
    const ts = String(Date.now());
    const r = await post({ Nonce: '555', Timestamp: ts, Sign: sdkSign('555', TEST_SECRET, ts) });
    expect(JSON.parse(r.raw).code).toBe(253);
  });

  it('ignores Content-Encoding: UTF-8 and accepts bodies whatever their content type, or none', async () => {
    const c = new AdminClient(t.url, TEST_SECRET);
    const r = await c.post('/user/get_blocked_list', undefined);
    expect(r.body).toEqual({ code: 0, msg: 'success', result: { statusList: [] } });
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/json']) {
      const ts = String(Date.now());
      const nonce = String(Math.random());
      const res = await rawRequest(t.url, {
        path: '/admin/user/get_info',
        headers: { 'content-type': ct, 'content-encoding': 'UTF-8', nonce, timestamp: ts, sign: sdkSign(nonce, TEST_SECRET, ts) },
        body: '{"userId":"x"}',
      });
      expect(JSON.parse(res.raw).code).toBe(253);
    }
  });

  it('serves /admin/health without a signature', async () => {
    const g = await rawRequest(t.url, { method: 'GET', path: '/admin/health' });
    expect(g.status).toBe(200);
    // Wildfire's HealthAction answers [{node, cpu, memory, disk}] (see http-surface.test.ts).
    expect(JSON.parse(g.raw)).toEqual({ code: 0, msg: 'success', result: [expect.objectContaining({ node: '1', cpu: expect.any(Object) })] });
    const p = await rawRequest(t.url, { method: 'POST', path: '/admin/health' });
    expect(JSON.parse(p.raw).code).toBe(0);
  });

  it('answers unknown paths with 404 and the envelope, signed or not', async () => {
    const r = await t.admin.post('/no/such/route', {});
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ code: 254, msg: 'not implement' });
    const u = await rawRequest(t.url, { method: 'GET', path: '/admin/message/send' });
    expect(u.status).toBe(404);
    expect(JSON.parse(u.raw).code).toBe(254);
    expect(u.headers['content-length']).toBeDefined();
  });
});

describe('admin rate limit', () => {
  const t = useServer({ admin: { rateLimitPerSecond: 1, rateLimitBurst: 3 } });

  it('answers 250 past the configured rate, and is off by default', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push(await t.admin.code('/user/get_info', { userId: 'x' }));
    expect(codes.slice(0, 3)).toEqual([253, 253, 253]);
    expect(codes.slice(3)).toContain(250);
    const r = await t.admin.post('/user/get_info', { userId: 'x' });
    if (r.body.code === 250) expect(r.body.msg).toBe('over frequency');
  });
});

describe('admin body limit', () => {
  const t = useServer({ admin: { bodyLimitBytes: 2048 } });

  it('answers 251 for a body over the limit, on a 200 with Content-Length', async () => {
    const big = { userId: 'x', name: 'y'.repeat(4096) };
    const r = await t.admin.post('/user/create', big);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ code: 251, msg: 'Invalid parameter' });
    expect(r.headers['content-length']).toBeDefined();
    // The server still serves the next request.
    expect(await t.admin.code('/user/get_info', { userId: 'x' })).toBe(253);
  });
});
