import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { Metrics } from '../../src/http/metrics.js';
import { buildAdminApp, buildMainApp } from '../../src/http/server.js';
import type { Surface } from '../../src/http/surface.js';
import { createLogger } from '../../src/log.js';

/**
 * The server knows no surface: it mounts what it is given. A test surface with its own envelope,
 * auth, 404 and a WebSocket endpoint proves what docs/architecture.md's recipe promises.
 */
function echoSurface(): Surface {
  const wss = new WebSocketServer({ noServer: true });
  return {
    name: 'echo',
    prefix: '/v2/echo',
    ports: ['main', 'admin'],
    notFound: (_req, reply) => void reply.code(404).send({ ok: false, why: 'no such echo' }),
    register: async (app) => {
      app.addHook('onRequest', async (req, reply) => {
        if (req.headers['x-key'] !== 'k') await reply.code(401).send({ ok: false, why: 'key' });
      });
      app.setErrorHandler((err, _req, reply) => void reply.code(200).send({ ok: false, why: (err as Error).message.slice(0, 40) }));
      app.setNotFoundHandler((_req, reply) => void reply.code(404).send({ ok: false, why: 'no such echo' }));
      app.post(
        '/say',
        { schema: { body: { type: 'object', required: ['text'], properties: { text: { type: 'string', maxLength: 8 } } } } },
        async (req) => ({ ok: true, said: (req.body as { text: string }).text }),
      );
    },
    upgrades: [
      {
        path: '/v2/echo/ws',
        handle: (req, socket, head) =>
          wss.handleUpgrade(req, socket, head, (ws) => {
            ws.on('error', () => undefined);
            ws.on('message', (m) => ws.send(`echo:${String(m)}`));
          }),
      },
      {
        path: '/v2/echo/throws',
        handle: () => {
          throw new Error('endpoint bug');
        },
      },
    ],
  };
}

function port(app: FastifyInstance): number {
  return (app.server.address() as AddressInfo).port;
}

/** The status line of the answer to a raw upgrade request. */
function rawUpgrade(p: number, requestLine: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(p, '127.0.0.1', () => {
      s.write(`${requestLine}\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    let data = '';
    s.on('data', (d) => (data += String(d)));
    s.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
    s.on('error', reject);
  });
}

describe('surfaces', () => {
  let main: FastifyInstance;
  let admin: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    const deps = {
      surfaces: [echoSurface()],
      bodyLimit: 1024,
      log: createLogger('silent'),
      metrics: new Metrics(),
      ready: async () => true,
      version: 'test',
    };
    main = await buildMainApp(deps);
    admin = await buildAdminApp(deps);
    await main.listen({ host: '127.0.0.1', port: 0 });
    await admin.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${port(main)}`;
  });
  afterAll(async () => {
    await main.close();
    await admin.close();
  });

  const post = (url: string, body: string, key = 'k') =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-key': key }, body });

  it('serves a surface at its prefix, with its own auth, validation envelope and 404', async () => {
    const ok = await post(`${base}/v2/echo/say`, '{"text":"hi"}');
    expect(await ok.json()).toEqual({ ok: true, said: 'hi' });
    const noKey = await post(`${base}/v2/echo/say`, '{"text":"hi"}', 'wrong');
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toEqual({ ok: false, why: 'key' });
    const tooLong = await post(`${base}/v2/echo/say`, '{"text":"123456789"}');
    expect(tooLong.status).toBe(200);
    expect((await tooLong.json()) as { ok: boolean }).toMatchObject({ ok: false });
    const unknown = await post(`${base}/v2/echo/nope`, '{}');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ ok: false, why: 'no such echo' });
  });

  it('keeps the main port’s own routes and plain 404 outside every prefix', async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const other = await fetch(`${base}/elsewhere`);
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({ status: 'not found' });
  });

  it('serves the surfaces that ask for the admin port there, with the first one’s 404 everywhere', async () => {
    const a = `http://127.0.0.1:${port(admin)}`;
    expect(await (await post(`${a}/v2/echo/say`, '{"text":"yo"}')).json()).toEqual({ ok: true, said: 'yo' });
    const unknown = await fetch(`${a}/anything`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ ok: false, why: 'no such echo' });
  });

  it('routes upgrades by exact path; other paths 404, non-URLs 400, a throwing endpoint 400', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port(main)}/v2/echo/ws?x=1`);
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('ping'));
      ws.on('message', (m) => resolve(String(m)));
      ws.on('error', reject);
    });
    expect(reply).toBe('echo:ping');
    ws.close();
    expect(await rawUpgrade(port(main), 'GET /v2/echo/other HTTP/1.1')).toBe('HTTP/1.1 404 Not Found');
    expect(await rawUpgrade(port(main), 'GET //[ HTTP/1.1')).toBe('HTTP/1.1 400 Bad Request');
    expect(await rawUpgrade(port(main), 'GET /v2/echo/throws HTTP/1.1')).toBe('HTTP/1.1 400 Bad Request');
    // The server still serves after all of them.
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });
});
