import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeCallbackAgents, postCallback } from '../../src/callbacks/http.js';
import type { CallbackTarget } from '../../src/callbacks/targets.js';

/**
 * The callback client (src/callbacks/http.ts, undici's dispatch with our handler) against a receiver
 * that answers with whatever bytes a hostile or broken server could send. undici reports a
 * handler that throws as an 'error' event on its connection pool, which nobody listens to: the
 * process would exit. Every answer here must settle the attempt (resolve or reject) and throw
 * nothing in the process (vitest fails the run on an uncaught error).
 */

const ANSWERS: Array<[string, string]> = [
  ['101 Switching Protocols to a POST', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'],
  ['103 Early Hints then 200', 'HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'],
  ['100 Continue then 200', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'],
  ['not HTTP', 'SSH-2.0-OpenSSH_9.0\r\n'],
  ['a bad status line', 'HTTP/1.1 abc Nope\r\n\r\n'],
  ['two Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}'],
  ['a negative Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}'],
  ['a body shorter than its Content-Length, then close', 'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{}'],
  ['a bad chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
  ['headers over 64 KB', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70_000)}\r\nContent-Length: 2\r\n\r\n{}`],
  ['HTTP/1.0 without length, body until close', 'HTTP/1.0 200 OK\r\n\r\n{"ActionStatus":"OK"}'],
  ['a NUL in a header', 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\n{}'],
  ['an answer before the request is read, then a reset', ''],
];

let server: net.Server;
let base: string;
const byPath = new Map<string, string>();

beforeAll(async () => {
  server = net.createServer((sock) => {
    sock.on('error', () => undefined);
    let got = '';
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const m = /^POST \/(\d+)/.exec(got);
      if (!m) return;
      const answer = byPath.get(m[1]!) ?? '';
      if (answer === '') {
        sock.resetAndDestroy();
        return;
      }
      sock.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
afterAll(async () => {
  await closeCallbackAgents();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function target(i: number): CallbackTarget {
  return { id: 't', url: `${base}/${i}`, sdkAppId: '1', commands: [], timeoutMs: 2000, beforeSendPolicy: 'allow', enabled: true, source: 'config' };
}

describe('postCallback against hostile receivers', () => {
  ANSWERS.forEach(([name, answer], i) => {
    it(`${name}: the attempt settles`, async () => {
      byPath.set(String(i), answer);
      const outcome = await postCallback(target(i), 'C2C.CallbackAfterSendMsg', '{}', { ClientIP: '127.0.0.1' }).then(
        (r) => `status ${r.status}`,
        (e: unknown) => `error ${e instanceof Error ? e.message : String(e)}`,
      );
      expect(outcome).toMatch(/^(status \d+|error .+)$/);
    });
  });
});
