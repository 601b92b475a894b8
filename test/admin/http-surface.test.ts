import { beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, sdkHeaders } from '../helpers/admin-client.js';
import { TEST_SECRET } from '../helpers/server.js';
import { useServer } from '../helpers/use-server.js';

/**
 * The HTTP edges of the admin surface: unknown paths on the main port and on the separate admin port,
 * and /admin/health whatever the request carries.
 */

const NOT_IMPLEMENT = { code: 254, msg: 'not implement' };

const t = useServer({ admin: { port: 0, bodyLimitBytes: 1024 } });
let adminUrl: string;

beforeAll(async () => {
  adminUrl = t.server.adminUrl!;
  expect(adminUrl).toBeDefined();
});

type Req = { method?: string; headers?: Record<string, string>; body?: string };
/** Requests an unknown path may come with: no body, JSON, malformed JSON, too large, a bad Content-Type, signed. */
const VARIANTS: Req[] = [
  { method: 'POST' },
  { method: 'GET' },
  { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' },
  { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' },
  { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'null' },
  { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"x":"${'y'.repeat(4096)}"}` },
  { method: 'POST', headers: { 'content-type': '!!!' }, body: '{}' },
  { method: 'POST', headers: { 'content-type': 'application/json', ...sdkHeaders(TEST_SECRET) }, body: '{}' },
];

async function expectEnvelope404(base: string, path: string, r: Req): Promise<void> {
  const res = await rawRequest(base, { path, ...r });
  const what = `${r.method} ${path} ${r.body?.slice(0, 20) ?? ''}`;
  expect(res.status, what).toBe(404);
  expect(res.headers['content-type'], what).toBe('application/json;charset=utf-8');
  expect(Number(res.headers['content-length']), what).toBe(Buffer.byteLength(res.raw));
  expect(JSON.parse(res.raw), what).toEqual(NOT_IMPLEMENT);
}

describe('unknown paths', () => {
  it('on the separate admin port: every unknown path is HTTP 404 with the Wildfire envelope, whatever the body', async () => {
    for (const path of ['/nosuch', '/', '/health', '/metrics', '/admin', '/admin/nosuch', '/admin/message/nosuch']) {
      for (const r of VARIANTS) await expectEnvelope404(adminUrl, path, r);
    }
    // A known route with a method it does not take is unknown too.
    await expectEnvelope404(adminUrl, '/admin/message/send', { method: 'GET' });
  });

  it('on the main port: unknown /admin/* paths get the envelope, whatever the body', async () => {
    for (const path of ['/admin', '/admin/', '/admin/nosuch', '/admin/user/nosuch']) {
      for (const r of VARIANTS) await expectEnvelope404(t.url, path, r);
    }
    await expectEnvelope404(t.url, '/admin/message/send', { method: 'GET' });
  });

  it('on the main port: other unknown paths get a JSON 404 with a Content-Length, whatever the body', async () => {
    for (const path of ['/nosuch', '/adminx', '/health/x', '/admin-nosuch']) {
      for (const r of VARIANTS) {
        const res = await rawRequest(t.url, { path, ...r });
        const what = `${r.method} ${path} ${r.body?.slice(0, 20) ?? ''}`;
        expect(res.status, what).toBe(404);
        expect(res.headers['content-type'], what).toMatch(/^application\/json/);
        expect(Number(res.headers['content-length']), what).toBe(Buffer.byteLength(res.raw));
        expect(JSON.parse(res.raw), what).toEqual({ status: 'not found' });
      }
    }
    // The main port's own routes are unaffected.
    expect(JSON.parse((await rawRequest(t.url, { method: 'GET', path: '/health' })).raw)).toEqual({ status: 'ok' });
    expect((await rawRequest(t.url, { method: 'GET', path: '/ready' })).status).toBe(200);
  });
});

/** Wildfire's HealthAction result: an array with one entry per node. */
type Health = Array<{
  node: string;
  cpu: { load: number; cores: number };
  memory: { free: number; max: number; avail: number };
  disk: { space: number; free: number; usable: number };
}>;

describe('/admin/health', () => {
  const bodies: Req[] = [
    { method: 'GET' },
    { method: 'POST' },
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'null' },
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' },
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1,2]' },
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: '"text"' },
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"anything":1}' },
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"x":"${'y'.repeat(4096)}"}` },
    { method: 'POST', headers: { 'content-type': '!!!' }, body: '{}' },
    // Signed, or with a signature that would fail: health checks neither.
    { method: 'POST', headers: { 'content-type': 'application/json', ...sdkHeaders(TEST_SECRET) }, body: '{}' },
    { method: 'POST', headers: { nonce: '1', timestamp: '1', sign: 'f'.repeat(40) }, body: '{}' },
  ];

  it('answers code 0 with the node figures on both ports, signed or not, whatever the body', async () => {
    for (const base of [t.url, adminUrl]) {
      for (const r of bodies) {
        const res = await rawRequest(base, { path: '/admin/health', ...r });
        const what = `${base} ${r.method} ${r.body?.slice(0, 20) ?? ''}`;
        expect(res.status, what).toBe(200);
        expect(res.headers['content-type'], what).toBe('application/json;charset=utf-8');
        expect(Number(res.headers['content-length']), what).toBe(Buffer.byteLength(res.raw));
        const body = JSON.parse(res.raw) as { code: number; msg: string; result: Health };
        expect(body.code, what).toBe(0);
        expect(body.msg, what).toBe('success');
        expect(body.result, what).toHaveLength(1);
        const n = body.result[0]!;
        expect(Object.keys(n).sort()).toEqual(['cpu', 'disk', 'memory', 'node']);
        expect(n.node, 'nodeId 0 is Wildfire\'s node "1"').toBe('1');
        expect(n.cpu.cores).toBeGreaterThanOrEqual(1);
        expect(n.cpu.load).toBeGreaterThanOrEqual(0);
        expect(n.memory.max).toBeGreaterThan(0);
        expect(n.memory.avail).toBeGreaterThan(0);
        expect(n.memory.free).toBeLessThanOrEqual(n.memory.avail);
        expect(n.disk.space).toBeGreaterThan(0);
        expect(n.disk.free).toBeLessThanOrEqual(n.disk.space);
        expect(n.disk.usable).toBeLessThanOrEqual(n.disk.free);
      }
    }
  });

  it('is not counted against the replay cache: the same signed headers twice both answer 0', async () => {
    const headers = { 'content-type': 'application/json', ...sdkHeaders(TEST_SECRET) };
    for (let i = 0; i < 2; i++) {
      expect(JSON.parse((await rawRequest(t.url, { path: '/admin/health', headers, body: '{}' })).raw).code).toBe(0);
    }
    // And a signed route still refuses the second use of one triple.
    const first = await rawRequest(t.url, { path: '/admin/user/get_blocked_list', headers, body: '{}' });
    const second = await rawRequest(t.url, { path: '/admin/user/get_blocked_list', headers, body: '{}' });
    expect(JSON.parse(first.raw).code).toBe(0);
    expect(JSON.parse(second.raw)).toEqual({ code: 244, msg: 'auth failure' });
  });
});
