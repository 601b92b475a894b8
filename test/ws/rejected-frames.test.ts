import net from 'node:net';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useChildServer, type ChildHandle, type ChildServer } from '../helpers/child-server.js';
import { closeAllClients, device, eventually, getToken, withTimeout, wsUrl, type WsClient } from '../helpers/ws-client.js';
import { BAD_FRAMES, rawUpgrade, upgradeRequest, type BadFrame, type RawWs } from './raw-frames.js';
import { text } from '../helpers/payloads.js';

/**
 * Issue 8, item 1: a frame `ws` rejects (reserved opcode, RSV bits, unmasked, close code 999,
 * oversized or fragmented control frame, orphan continuation, invalid UTF-8, over maxPayload) raised
 * an 'error' on a WebSocket with no listener when the gateway had refused the connection (4001, 4000)
 * or was shutting down (1001), and the process exited. Each kind is sent by hand over a raw socket
 * against a refused upgrade, an accepted connection and a server shutting down; the server runs as a
 * child process (`node dist/cli.js serve`, so `npm run build` first), since the point is that the
 * process does not exit. After each case the process must still answer an admin call and deliver a
 * live message to another connected device. With LOG_LEVEL=debug the gateway logs each rejected frame
 * by `ws`'s error code: the test checks that code appears, so the frame really reached the parser.
 */

const SECRET = 'rejected-frames-secret';
const MAX_FRAME = 65536; // gateway.maxFrameBytes default

/** The server of a describe: a child process logging at debug level, so rejected frames show. */
function useFixture(config: Record<string, unknown> = {}): ChildHandle {
  return useChildServer({ secret: SECRET, config, args: ['--synchronous', 'NORMAL'], env: { LOG_LEVEL: 'debug' } });
}

function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** Resolves once the child logged `wsError` more than `before` times. */
async function logged(child: ChildServer, wsError: string, before: number): Promise<void> {
  const needle = `"code":"${wsError}"`;
  await eventually(async () => occurrences(child.output(), needle) > before, `the gateway logging ${wsError}`);
}

function countLogged(child: ChildServer, wsError: string): number {
  return occurrences(child.output(), `"code":"${wsError}"`);
}

describe('frames ws rejects never end the process', () => {
  const f = useFixture();
  let observer: WsClient;
  let token: string;
  let n = 0;

  beforeAll(async () => {
    for (const u of ['sender', 'observer', 'u']) await f.admin.ok('/user/create', { userId: u, name: u });
    observer = await device(f.child.url, f.admin, 'observer');
    token = await getToken(f.admin, 'u', 'u-raw');
  });
  afterAll(async () => {
    await closeAllClients();
  });

  /** The process is alive, answers an admin call, and another device still receives live messages. */
  async function stillServing(): Promise<void> {
    expect(f.child.proc.exitCode, f.child.output().slice(-2000)).toBeNull();
    expect(await f.admin.code('/user/get_info', { userId: 'observer' })).toBe(0);
    const m = await f.admin.send('sender', { type: 0, target: 'observer' }, text(`still here ${++n}`));
    await observer.waitMessage(m.messageUid);
  }

  /** Send `bad` on `ws` (whose server side is in `state`), then check the outcome. */
  async function sendAndCheck(ws: RawWs, bad: BadFrame, expectedClose: number): Promise<void> {
    const before = countLogged(f.child, bad.wsError);
    ws.send(bad.bytes(MAX_FRAME));
    expect(await ws.closeCode()).toBe(expectedClose);
    await withTimeout(ws.ended, 5000, 'the server ending the socket');
    await logged(f.child, bad.wsError, before);
    await stillServing();
  }

  describe('refused with 4001 (forged token), frame sent during the closing handshake', () => {
    for (const bad of BAD_FRAMES) {
      it(bad.name, async () => {
        const ws = await rawUpgrade(f.child.url, '/ws?token=forged');
        expect(await ws.closeCode()).toBe(4001);
        await sendAndCheck(ws, bad, 4001);
      });
    }
  });

  describe('refused with 4001 (no token), frame sent in the same packet as the handshake', () => {
    for (const bad of BAD_FRAMES) {
      it(bad.name, async () => {
        const before = countLogged(f.child, bad.wsError);
        const ws = await rawUpgrade(f.child.url, '/ws', bad.bytes(MAX_FRAME));
        // `ws` parses the bytes that came with the handshake on the next tick, before the gateway's
        // refusal runs: whichever close is sent first is the one the client sees.
        expect([4001, bad.closeCode]).toContain(await ws.closeCode());
        await withTimeout(ws.ended, 5000, 'the server ending the socket');
        await logged(f.child, bad.wsError, before);
        await stillServing();
      });
    }
  });

  describe('refused with 4000 (cursor=-1), frame sent during the closing handshake', () => {
    for (const bad of BAD_FRAMES) {
      it(bad.name, async () => {
        const ws = await rawUpgrade(f.child.url, `/ws?token=${encodeURIComponent(token)}&cursor=-1`);
        expect(await ws.closeCode()).toBe(4000);
        await sendAndCheck(ws, bad, 4000);
      });
    }
  });

  describe('accepted connection: closed with 1002/1007/1009', () => {
    for (const bad of BAD_FRAMES) {
      it(`${bad.name} → ${bad.closeCode}`, async () => {
        const ws = await rawUpgrade(f.child.url, `/ws?token=${encodeURIComponent(token)}`);
        await ws.textOfType('synced');
        await sendAndCheck(ws, bad, bad.closeCode);
        // Its session is gone.
        await eventually(
          async () => (await f.admin.ok<{ sessions: unknown[] }>('/user/onlinestatus', { userId: 'u' })).sessions.length === 0,
          'the session to end',
        );
      });
    }
  });

  it('an ordinary ws client with a forged token that sends one 100 KB message on open', async () => {
    const before = countLogged(f.child, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    const ws = new WebSocket(wsUrl(f.child.url, 'forged'));
    ws.on('error', () => undefined);
    ws.on('open', () => ws.send('x'.repeat(100 * 1024)));
    const code = await withTimeout(new Promise<number>((resolve) => ws.once('close', (c) => resolve(c))), 5000, 'close');
    expect(code).toBe(4001);
    await logged(f.child, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', before);
    await stillServing();
  });
});

describe('a device whose token expired while it had a large message queued', () => {
  const f = useFixture({ tokens: { ttlSeconds: 1 } });
  beforeAll(async () => {
    for (const u of ['sender', 'observer', 'u']) await f.admin.ok('/user/create', { userId: u, name: u });
  });
  afterAll(async () => {
    await closeAllClients();
  });

  /**
   * The device flushes its queue (one `send` of ~100 KB, over maxFrameBytes) as soon as the socket
   * opens, before it reads anything. While the token is valid that is an accepted connection closed
   * with 1009; once it expired, a refused one (4001) — the case that crashed. Connect until refused.
   */
  function reconnectAndFlush(token: string): Promise<number> {
    const ws = new WebSocket(wsUrl(f.child.url, token));
    ws.on('error', () => undefined);
    const queued = JSON.stringify({ type: 'send', id: 1, conv: { type: 0, target: 'sender', line: 0 }, payload: text('y'.repeat(100 * 1024)) });
    ws.on('open', () => ws.send(queued));
    return withTimeout(new Promise<number>((resolve) => ws.once('close', (c) => resolve(c))), 5000, 'close');
  }

  it('is refused with 4001 and the server keeps serving', { timeout: 30_000 }, async () => {
    const observer = await device(f.child.url, f.admin, 'observer');
    const token = await getToken(f.admin, 'u', 'u-phone');
    const codes: number[] = [];
    for (;;) {
      const code = await reconnectAndFlush(token);
      codes.push(code);
      if (code === 4001) break;
      expect(code).toBe(1009);
      expect(codes.length, 'the token never expired').toBeLessThan(100);
      await new Promise<void>((r) => setTimeout(r, 100)); // poll interval while the token ages, not a synchronisation
    }
    expect(f.child.proc.exitCode).toBeNull();
    // The observer's token (issued just now with the same 1 s TTL) may expire too: the connection
    // opened before expiry stays open, so it still receives live messages.
    const m = await f.admin.send('sender', { type: 0, target: 'observer' }, text('after the expired flush'));
    await observer.waitMessage(m.messageUid);
    expect(await f.admin.code('/user/get_info', { userId: 'u' })).toBe(0);
  });
});

describe('during shutdown', () => {
  const f = useFixture();
  beforeAll(async () => {
    await f.admin.ok('/user/create', { userId: 'u', name: 'u' });
  });

  it('frames ws rejects on connections being closed with 1001 (and on refused ones) let SIGTERM end the process with 0', async () => {
    const accepted: RawWs[] = [];
    const refused: RawWs[] = [];
    for (const [i] of BAD_FRAMES.entries()) {
      const token = await getToken(f.admin, 'u', `u-${i}`);
      const ws = await rawUpgrade(f.child.url, `/ws?token=${encodeURIComponent(token)}`);
      await ws.textOfType('synced');
      accepted.push(ws);
      const r = await rawUpgrade(f.child.url, i % 2 === 0 ? '/ws?token=forged' : `/ws?token=${encodeURIComponent(token)}&cursor=-1`);
      await r.closeCode();
      refused.push(r);
    }
    // An upgrade whose request is still arriving when the shutdown starts: answered 503.
    const { hostname, port } = new URL(f.child.url);
    const late = net.connect(Number(port), hostname);
    late.on('error', () => undefined);
    let lateAnswer = '';
    late.on('data', (d: Buffer) => (lateAnswer += d.toString('latin1')));
    const req = upgradeRequest(`/ws?token=forged`);
    await new Promise<void>((resolve) => late.write(req.subarray(0, req.length - 2), () => resolve()));

    f.child.proc.kill('SIGTERM');
    for (const ws of accepted) expect(await ws.closeCode()).toBe(1001);
    for (const [i, bad] of BAD_FRAMES.entries()) {
      accepted[i]!.send(bad.bytes(MAX_FRAME));
      refused[i]!.send(bad.bytes(MAX_FRAME));
    }
    late.write(req.subarray(req.length - 2));
    await eventually(async () => lateAnswer.includes('\r\n\r\n'), 'the answer to the late upgrade');
    expect(lateAnswer.startsWith('HTTP/1.1 503 '), lateAnswer).toBe(true);
    late.resetAndDestroy();

    const exit = await withTimeout(f.child.exited, 15_000, 'the process to exit');
    const out = f.child.output();
    expect(exit, out.slice(-3000)).toEqual({ code: 0, signal: null });
    expect(out).not.toMatch(/Unhandled 'error' event|RangeError|uncaught/i);
    for (const bad of BAD_FRAMES) expect(countLogged(f.child, bad.wsError), bad.name).toBeGreaterThan(0);
  });
});
