import { describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/admin-client.js';
import { members } from '../helpers/cms.js';
import { useServer } from '../helpers/use-server.js';

/** notifications.corsOrigins: browser front ends on other origins calling /v1/cms (seed 004's "front end"). */

const CONSOLE = 'https://cms.example.com';

const preflight = (url: string, origin: string, method = 'POST') =>
  rawRequest(url, {
    method: 'OPTIONS',
    path: '/v1/cms/notify/add',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' },
  });

describe('CORS of /v1/cms with allowed origins', () => {
  const t = useServer({ notifications: { corsOrigins: [CONSOLE] } });

  it('answers a preflight from an allowed origin without a token, and only for it', async () => {
    const ok = await preflight(t.url, CONSOLE);
    expect(ok.status).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe(CONSOLE);
    expect(String(ok.headers['access-control-allow-methods'])).toMatch(/POST/);
    expect(String(ok.headers['access-control-allow-headers']).toLowerCase()).toMatch(/authorization/);
    expect(ok.headers['access-control-max-age']).toBe('600');
    expect(ok.headers['access-control-allow-credentials']).toBeUndefined();
    const other = await preflight(t.url, 'https://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('adds the headers to answers and to refusals, so the page can read them', async () => {
    const [u] = await members(t, 1);
    const list = await rawRequest(t.url, { method: 'GET', path: '/v1/cms/message/list', headers: { origin: CONSOLE, authorization: u!.token } });
    expect(list.status).toBe(200);
    expect(list.headers['access-control-allow-origin']).toBe(CONSOLE);
    const refused = await rawRequest(t.url, { method: 'GET', path: '/v1/cms/message/list', headers: { origin: CONSOLE } });
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.raw)).toMatchObject({ error_code: 40100 });
    expect(refused.headers['access-control-allow-origin']).toBe(CONSOLE);
    // Another origin's page gets no grant (the browser keeps the answer from it).
    const foreign = await rawRequest(t.url, { method: 'GET', path: '/v1/cms/message/list', headers: { origin: 'https://evil.example', authorization: u!.token } });
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('CORS of /v1/cms without allowed origins (the default)', () => {
  const t = useServer();

  it('sends no CORS headers; a preflight is an unknown route', async () => {
    const p = await preflight(t.url, CONSOLE);
    expect(p.status).toBe(404);
    expect(JSON.parse(p.raw)).toMatchObject({ error_code: 40402 });
    expect(p.headers['access-control-allow-origin']).toBeUndefined();
    const [u] = await members(t, 1);
    const list = await rawRequest(t.url, { method: 'GET', path: '/v1/cms/message/list', headers: { origin: CONSOLE, authorization: u!.token } });
    expect(list.status).toBe(200);
    expect(list.headers['access-control-allow-origin']).toBeUndefined();
  });
});
