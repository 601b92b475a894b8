import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useChildServer } from '../helpers/child-server.js';
import type { AdminClient } from '../helpers/admin-client.js';
import { closeAllClients, device, getToken, withTimeout, type WsClient } from '../helpers/ws-client.js';

/**
 * Issue 8, "the same class of bug anywhere else": the HTTP sockets of both ports. Requests Node's
 * parser rejects (Fastify's clientError handler answers them), sockets reset in the middle of a
 * request, a body or a WebSocket handshake, upgrades on the port without a gateway, CONNECT. The
 * server is a child process (`npm run build` first): after each batch it must still be running,
 * answer an admin call and deliver a live message to a connected device; SIGTERM then ends it with 0.
 */

const SECRET = 'http-sockets-secret';

const child = useChildServer({ secret: SECRET, config: { admin: { port: 0 } }, args: ['--synchronous', 'NORMAL'] });
let admin: AdminClient;
let adminUrl: string;
let observer: WsClient;
let n = 0;

beforeAll(async () => {
  adminUrl = child.adminUrl!;
  expect(adminUrl).toBeDefined();
  admin = child.admin;
  for (const u of ['sender', 'observer', 'u']) await admin.ok('/user/create', { userId: u, name: u });
  observer = await device(child.url, admin, 'observer');
});
afterAll(async () => {
  await closeAllClients();
});

async function stillServing(): Promise<void> {
  expect(child.proc.exitCode, child.output().slice(-2000)).toBeNull();
  expect(await admin.code('/user/get_info', { userId: 'observer' })).toBe(0);
  const m = await admin.send('sender', { type: 0, target: 'observer' }, { type: 1, searchableContent: `alive ${++n}`, persistFlag: 3 });
  await observer.waitMessage(m.messageUid);
}

/**
 * Write each piece in turn, then wait for the server to close the connection ('wait'), or for the
 * head of its answer and close it ourselves ('answer': a kept-alive connection), or reset it at once
 * ('reset'); resolves with what the server answered.
 */
function exchange(baseUrl: string, pieces: Array<string | Buffer>, end: 'wait' | 'answer' | 'reset'): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return withTimeout(
    new Promise<string>((resolve) => {
      const sock = net.connect(Number(port), hostname);
      let got = '';
      sock.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (end === 'answer' && got.includes('\r\n\r\n')) sock.destroy();
      });
      sock.on('error', () => undefined);
      sock.on('close', () => resolve(got));
      sock.on('connect', () => {
        const write = (i: number): void => {
          if (i === pieces.length) {
            if (end === 'reset') sock.resetAndDestroy();
            return;
          }
          sock.write(pieces[i]!, () => write(i + 1));
        };
        write(0);
      });
    }),
    10_000,
    `the exchange ${JSON.stringify(String(pieces[0]).slice(0, 40))}`,
  );
}

const MALFORMED: Array<[string, string]> = [
  ['not HTTP at all', 'HELLO\r\n\r\n'],
  ['binary garbage', '\x00\x01\x02\xff\xfe\r\n\r\n'],
  ['a header line without a colon', 'POST /admin/user/create HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n'],
  ['a NUL in a header value', 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n'],
  ['headers over 16 KB', `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
  ['Content-Length and Transfer-Encoding together', 'POST /admin/user/create HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['a negative Content-Length', 'POST /admin/user/create HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'],
  ['two different Content-Lengths', 'POST /admin/user/create HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'],
  ['a bad chunk size', 'POST /admin/user/create HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
  ['a chunk longer than announced', 'POST /admin/user/create HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}xxxx\r\n0\r\n\r\n'],
  ['HTTP/9.9', 'GET /health HTTP/9.9\r\nHost: x\r\n\r\n'],
  ['CONNECT', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n'],
];

describe('requests the HTTP parser rejects are answered and closed, on both ports', () => {
  for (const [name, bytes] of MALFORMED) {
    it(name, async () => {
      for (const base of [child.url, adminUrl]) {
        const answer = await exchange(base, [bytes], 'wait');
        expect(answer, `${base}: ${answer.slice(0, 80)}`).toMatch(/^(HTTP\/1\.1 4\d\d |$)/);
      }
      await stillServing();
    });
  }
});

describe('sockets reset half-way', () => {
  const signed = (body: string) => `POST /admin/user/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length + 100}\r\n\r\n${body}`;

  it('in the middle of the request line, the headers, the body', async () => {
    for (const base of [child.url, adminUrl]) {
      await exchange(base, ['POST /admin/us'], 'reset');
      await exchange(base, ['POST /admin/user/create HTTP/1.1\r\nHost: x\r\nContent-Ty'], 'reset');
      await exchange(base, [signed('{"userId":"x"')], 'reset');
      await exchange(base, [`POST /admin/user/create HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"userId"`], 'reset');
    }
    await stillServing();
  });

  it('during a WebSocket handshake: before the answer, right after it, after the refusal', async () => {
    const token = await getToken(admin, 'u', 'u-reset');
    const upgrade = (query: string) =>
      `GET /ws?${query} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    for (const query of [`token=${encodeURIComponent(token)}`, 'token=forged', `token=${encodeURIComponent(token)}&cursor=-1`, 'token=forged&cursor=x']) {
      // Reset while the server verifies the token (the request is complete, nothing answered yet).
      await exchange(child.url, [upgrade(query)], 'reset');
      // Half a request, then a reset.
      await exchange(child.url, [upgrade(query).slice(0, 60)], 'reset');
    }
    await stillServing();
  });
});

describe('upgrades that are not for the gateway', () => {
  const upgradeTo = (p: string, protocol = 'websocket') =>
    `GET ${p} HTTP/1.1\r\nHost: x\r\nUpgrade: ${protocol}\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

  it('an unknown path (404), another protocol (400), the admin port (no gateway): answered or closed', async () => {
    expect(await exchange(child.url, [upgradeTo('/nosuch')], 'wait')).toMatch(/^HTTP\/1\.1 404 /);
    expect(await exchange(child.url, [upgradeTo('/ws?token=forged', 'h2c')], 'wait')).toMatch(/^HTTP\/1\.1 400 /);
    // Without an 'upgrade' listener Node serves the request as plain HTTP: the envelope 404 (or 200
    // from the route, unsigned: 239), and the connection stays HTTP.
    for (const p of ['/ws', '/admin/user/create', '/nosuch']) {
      const answer = await exchange(adminUrl, [upgradeTo(p)], 'answer');
      expect(answer, answer.slice(0, 80)).toMatch(/^HTTP\/1\.1 (404|200) /);
    }
    await stillServing();
  });
});

describe('shutdown', () => {
  it('SIGTERM still ends the process with 0', async () => {
    await closeAllClients();
    child.proc.kill('SIGTERM');
    const exit = await withTimeout(child.exited, 15_000, 'exit');
    expect(exit, child.output().slice(-2000)).toEqual({ code: 0, signal: null });
  });
});
