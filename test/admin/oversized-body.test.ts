import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sdkHeaders, type SignedHeaders } from '../helpers/admin-client.js';
import { useChildServer } from '../helpers/child-server.js';
import { DRAIN_BODY_LIMITS, DRAIN_MS } from '../../src/http/server.js';

/**
 * Issue 8, item 4: a client that streams a body over the limit without waiting for `100 Continue`
 * (Node's fetch does) used to get a connection reset now and then instead of the reply, because the
 * reply and the close came before the body was read. Every reply now waits for the rest of the body
 * (up to DRAIN_BODY_LIMITS × the limit, and DRAIN_MS): such a client gets the envelope, every time.
 * A client that goes on sending past those bounds is still cut off.
 *
 * The server runs as a child process (`npm run build` first): with client and server on one event
 * loop the reset never shows, with two processes it did for about one request in five.
 */

const SECRET = 'oversized-body-secret';
const LIMIT = 1024 * 1024; // the default
const BIG = 3 * LIMIT; // over the limit, within what is drained
const INVALID = { code: 251, msg: 'Invalid parameter' };
const NOT_IMPLEMENT = { code: 254, msg: 'not implement' };
const ROUNDS = 8; // the reset was a race: repeat each case

const t = useChildServer({ secret: SECRET, config: { admin: { port: 0, bodyLimitBytes: LIMIT } } });
let adminUrl: string;
beforeAll(() => {
  adminUrl = t.adminUrl!;
  expect(adminUrl).toBeDefined();
});

/** A request body as a stream of `total` bytes in 16 KB chunks: fetch sends it chunked, without waiting. */
function streamed(total: number): ReadableStream<Uint8Array> {
  let left = total;
  return new ReadableStream({
    pull(c) {
      const n = Math.min(16 * 1024, left);
      c.enqueue(new Uint8Array(n).fill(0x61));
      left -= n;
      if (left === 0) c.close();
    },
  });
}

type Body = 'stream' | 'buffer';

async function post(url: string, body: Body, headers: Record<string, string> | SignedHeaders = {}): Promise<{ status: number; json: unknown }> {
  const init: RequestInit & { duplex?: 'half' } =
    body === 'stream'
      ? { method: 'POST', body: streamed(BIG), duplex: 'half', headers: { 'content-type': 'application/json', ...headers } }
      : { method: 'POST', body: Buffer.alloc(BIG, 0x61), headers: { 'content-type': 'application/json', ...headers } };
  const res = await fetch(url, init);
  return { status: res.status, json: JSON.parse(await res.text()) as unknown };
}

describe('a body over the limit sent without waiting for 100 Continue (Node fetch)', () => {
  for (const body of ['stream', 'buffer'] as const) {
    it(`${body}: a signed admin route answers HTTP 200 with the 251 envelope`, async () => {
      for (let i = 0; i < ROUNDS; i++) {
        expect(await post(`${t.url}/admin/user/create`, body, sdkHeaders(SECRET))).toEqual({ status: 200, json: INVALID });
        expect(await post(`${adminUrl}/admin/user/create`, body, sdkHeaders(SECRET))).toEqual({ status: 200, json: INVALID });
      }
    });

    it(`${body}: an unknown admin path answers 404 with the envelope`, async () => {
      for (let i = 0; i < ROUNDS; i++) {
        expect(await post(`${t.url}/admin/nosuch`, body)).toEqual({ status: 404, json: NOT_IMPLEMENT });
        expect(await post(`${adminUrl}/nosuch`, body)).toEqual({ status: 404, json: NOT_IMPLEMENT });
      }
    });

    it(`${body}: the main port's other paths answer their own reply`, async () => {
      for (let i = 0; i < ROUNDS; i++) {
        expect(await post(`${t.url}/nosuch`, body)).toEqual({ status: 404, json: { status: 'not found' } });
        expect(await post(`${t.url}/health`, body)).toEqual({ status: 404, json: { status: 'not found' } });
        expect((await post(`${t.url}/admin/health`, body)).json).toMatchObject({ code: 0 });
      }
    });

    it(`${body}: a request refused before its body is read (bad signature) gets its envelope`, async () => {
      for (let i = 0; i < ROUNDS; i++) {
        const r = await post(`${t.url}/admin/user/create`, body, { nonce: '5', timestamp: String(Date.now()), sign: 'f'.repeat(40) });
        expect(r.status).toBe(200);
        expect(r.json).toEqual({ code: 244, msg: 'auth failure' });
      }
    });
  }

  it('a fully drained connection stays open for the next request', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sockets = new Set<unknown>();
      for (let i = 0; i < 3; i++) {
        const r = await new Promise<{ status: number; connection: string | undefined; raw: string }>((resolve, reject) => {
          const req = http.request(`${t.url}/admin/user/create`, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...sdkHeaders(SECRET) } }, (res) => {
            let raw = '';
            res.on('data', (d: Buffer) => (raw += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, raw }));
          });
          req.on('error', reject);
          req.on('socket', (s) => sockets.add(s));
          req.end(Buffer.alloc(BIG, 0x61));
        });
        expect(r.status).toBe(200);
        expect(JSON.parse(r.raw)).toEqual(INVALID);
        expect(r.connection).not.toBe('close');
      }
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });
});

/** Headers of a chunked POST, written by hand. */
function chunkedHead(path: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
}

function chunk(bytes: number): Buffer {
  return Buffer.concat([Buffer.from(`${bytes.toString(16)}\r\n`), Buffer.alloc(bytes, 0x61), Buffer.from('\r\n')]);
}

/**
 * A client that never stops sending: resolves once the server closed the connection, with how long
 * that took, what it answered (if the answer was read before the reset) and how much was written.
 */
function neverEnding(baseUrl: string, path: string, pace: 'flood' | 'trickle'): Promise<{ ms: number; answer: string; written: number }> {
  const { hostname, port } = new URL(baseUrl);
  const started = Date.now();
  return new Promise((resolve) => {
    const sock = net.connect(Number(port), hostname);
    let answer = '';
    let written = 0;
    let timer: NodeJS.Timeout | undefined;
    sock.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearInterval(timer);
      resolve({ ms: Date.now() - started, answer, written });
    });
    sock.write(chunkedHead(path));
    if (pace === 'flood') {
      const piece = chunk(64 * 1024);
      const pump = (): void => {
        while (!sock.destroyed && sock.write(piece)) written += piece.length;
        if (!sock.destroyed) sock.once('drain', pump);
      };
      pump();
    } else {
      // 1 KB every 20 ms: far too slow to end within DRAIN_MS, never over the byte budget.
      const piece = chunk(1024);
      timer = setInterval(() => {
        if (sock.destroyed) return;
        sock.write(piece);
        written += piece.length;
      }, 20);
    }
  });
}

describe('a client that keeps sending forever is still cut off', () => {
  it('flooding: cut off once it passes the byte budget, long before the time budget', async () => {
    for (const path of ['/admin/user/create', '/admin/nosuch', '/nosuch']) {
      const r = await neverEnding(t.url, path, 'flood');
      expect(r.ms, path).toBeLessThan(DRAIN_MS);
      // What the server read is bounded by the budget; the rest sat in socket buffers.
      expect(r.written, path).toBeLessThan(DRAIN_BODY_LIMITS * LIMIT + 64 * 1024 * 1024);
    }
  });

  it('trickling: answered and cut off after the time budget', async () => {
    // Unsigned: refused (239) before the body is read, so the drain starts at once.
    const r = await neverEnding(t.url, '/admin/user/create', 'trickle');
    expect(r.ms).toBeGreaterThanOrEqual(DRAIN_MS - 50);
    expect(r.ms).toBeLessThan(DRAIN_MS + 3000);
    expect(r.answer.startsWith('HTTP/1.1 200 '), r.answer).toBe(true);
    expect(r.answer).toMatch(/connection: close/i);
    expect(r.answer).toContain('"code":239');
  });

  it('the server still serves afterwards', async () => {
    expect(await t.admin.code('/user/get_info', { userId: 'nobody' })).toBe(253);
  });
});
