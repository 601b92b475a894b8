import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { single, text } from '../helpers/messages.js';
import { connectRefused, withTimeout, wsUrl } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';

/**
 * Input no client should be able to crash the server with: request lines that are not URLs, handshakes
 * `ws` refuses, cursors past 2^53, frames whose `id` cannot be echoed. The server runs in the test's
 * process, so a crash fails the test; each case then checks the server still serves.
 */

/** Send raw request bytes over TCP; resolves with everything the server answered once it closed the socket. */
function rawExchange(baseUrl: string, request: string): Promise<{ response: string; closed: boolean }> {
  const { hostname, port } = new URL(baseUrl);
  return withTimeout(
    new Promise((resolve) => {
      const sock = net.connect(Number(port), hostname);
      let response = '';
      sock.setEncoding('utf8');
      sock.on('data', (chunk: string) => (response += chunk));
      sock.on('error', () => undefined); // a reset after the answer is fine: 'close' follows
      sock.on('close', () => resolve({ response, closed: true }));
      sock.write(request);
    }),
    5000,
    `the answer to ${JSON.stringify(request.split('\r\n')[0])}`,
  );
}

function upgradeRequest(requestLine: string, extraHeaders: string[] = []): string {
  return [
    requestLine,
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    ...extraHeaders,
    '',
    '',
  ].join('\r\n');
}

describe('hostile input on /ws', () => {
  const t = useServer();

  /** The server still upgrades, authenticates and delivers. */
  async function stillServes(): Promise<void> {
    const [a, b] = await t.users('a', 'b');
    const d = await t.device(b);
    const m = await t.admin.send(a, single(b), text('still here'));
    await d.waitMessage(m.messageUid);
  }

  it('answers 400 to upgrade request lines that are not URLs, closes the socket, and keeps serving', async () => {
    for (const line of ['GET //[ HTTP/1.1', 'GET http://[ HTTP/1.1', 'GET //[/ws?token=x HTTP/1.1', 'GET http://[::1/ws HTTP/1.1']) {
      const { response, closed } = await rawExchange(t.url, upgradeRequest(line));
      expect(response.startsWith('HTTP/1.1 400 '), `${line}: ${response}`).toBe(true);
      expect(closed).toBe(true);
    }
    await stillServes();
  });

  it('a handshake ws refuses (bad key, wrong version) is answered 400 and the server keeps serving', async () => {
    const [u] = await t.users('u');
    const token = await t.token(u, 'c1');
    const path = `/ws?token=${encodeURIComponent(token)}`;
    const bad = [
      ['GET ' + path + ' HTTP/1.1', 'Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: not-a-key', 'Sec-WebSocket-Version: 13'],
      ['GET ' + path + ' HTTP/1.1', 'Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 7'],
    ];
    for (const lines of bad) {
      const { response } = await rawExchange(t.url, [...lines, '', ''].join('\r\n'));
      expect(response.startsWith('HTTP/1.1 400 '), response).toBe(true);
    }
    // Nothing was registered for those attempts.
    expect((await t.admin.ok<{ sessions: unknown[] }>('/user/onlinestatus', { userId: u })).sessions).toEqual([]);
    await stillServes();
  });

  it('refuses cursors that are not safe integers with 4000, and accepts the largest safe one', async () => {
    const [u] = await t.users('u');
    const token = await t.token(u, 'c1');
    for (const cursor of ['9007199254740992', '9007199254740993', '99999999999999999', '123456789012345678901234567890']) {
      const { info } = await connectRefused(wsUrl(t.url, token, cursor));
      expect(info.code, `cursor=${cursor}`).toBe(4000);
    }
    // 2^53 - 1 is a valid cursor (ahead of the head: answered with a reset).
    const d = await t.device(u, 'c2', { cursor: Number.MAX_SAFE_INTEGER });
    expect(d.frames[1]).toMatchObject({ type: 'synced', reset: true });
  });

  it('a frame whose id is not a string or number gets error 251; a deeply nested id does not crash the server', async () => {
    const [u] = await t.users('u');
    const d = await t.device(u);
    const depth = 20_000; // nests far deeper than JSON.stringify can serialise back
    for (const type of ['ping', 'send', 'bogus', 'sync']) {
      const mark = d.mark;
      d.sendRaw(`{"type":"${type}","id":${'['.repeat(depth)}${']'.repeat(depth)}}`);
      const err = await d.waitType('error', undefined, { from: mark });
      expect(err).toEqual({ type: 'error', code: 251, msg: 'Invalid parameter', detail: 'id must be a string or a number' });
    }
    for (const id of [{ a: 1 }, [1], true, null]) {
      const mark = d.mark;
      d.send({ type: 'ping', id });
      expect((await d.waitType('error', undefined, { from: mark }))['code']).toBe(251);
    }
    // The connection is still usable, and so is the server.
    d.send({ type: 'ping', id: 'p1' });
    expect(await d.waitType('pong')).toEqual({ type: 'pong', id: 'p1' });
    await stillServes();
  });
});
