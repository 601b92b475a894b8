import crypto from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { handshakeHeaders, Opcode, RawWsConnection, upgradeBytes } from '../helpers/raw-ws.js';
import { wsUrl } from '../helpers/ws-client.js';
import { REPLY_DEADLINE_MS, testTimeoutMs } from './config.js';
import { FX } from './fixtures.js';
import { handshakeArb, type HandshakeCase } from './handshake-arbitraries.js';
import { describeHandshake, handshakeCase, HandshakeTokens, TOKEN_TTL_SECONDS } from './handshake-cases.js';
import { guardedCase } from './invariants.js';
import { runProperty } from './run-property.js';
import { FuzzServer } from './target.js';
import { abuse, abuseArb, ISSUE8_FRAMES, type Abuse } from './ws-arbitraries.js';
import { abuseCase } from './ws-cases.js';

/**
 * Fuzzing the WebSocket handshake of a real server process: request path, token (live, forged,
 * expired, revoked, missing, repeated), cursor (malformed, huge, negative) and handshake headers; and
 * RFC 6455 abuse on connections the gateway refuses after the handshake (close 4000/4001), the class
 * of input that killed the process in issue 8. Invariants: invariants.ts.
 */

type Refusal = { name: string; code: 4000 | 4001; path: (t: HandshakeTokens, s: FuzzServer) => Promise<string> };

const REFUSALS: readonly Refusal[] = [
  { name: 'forged token', code: 4001, path: async () => `/ws?token=${crypto.randomBytes(32).toString('base64url')}` },
  { name: 'missing token', code: 4001, path: async () => '/ws' },
  { name: 'expired token', code: 4001, path: async (t) => `/ws?token=${encodeURIComponent(await t.expiredToken())}` },
  { name: 'cursor=-1', code: 4000, path: async (_t, s) => `/ws?token=${encodeURIComponent(await s.token(FX.member2, 'hs-dev'))}&cursor=-1` },
];

describe('fuzz: WebSocket handshake', () => {
  const server = new FuzzServer({ env: { SWITCHBOARD_TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS) } });
  const tokens = new HandshakeTokens(server);
  const file = import.meta.url;

  beforeAll(async () => {
    await server.ready();
  }, 60_000);
  afterAll(async () => {
    await server.dispose();
  });

  it(
    'handshake: path, token, cursor and headers, then nothing, a ping or protocol abuse',
    async () => {
      // A restart after an earlier failure is not charged to this property's time budget.
      await server.ready();
      await runProperty<HandshakeCase>({
        name: 'handshake: path, token, cursor and headers, then nothing, a ping or protocol abuse',
        file,
        arb: handshakeArb,
        runs: [80, 4000],
        budgetMs: [10_000, 900_000],
        finish: () => server.finalCheck(),
        describe: describeHandshake,
        check: (c) => handshakeCase(server, tokens, c),
      });
    },
    testTimeoutMs(10_000, 900_000),
  );

  it(
    'handshake: protocol abuse on connections refused after the handshake (forged, missing, expired token; cursor=-1)',
    async () => {
      // A restart after an earlier failure is not charged to this property's time budget.
      await server.ready();
      await runProperty<[Refusal, Abuse]>({
        name: 'handshake: protocol abuse on connections refused after the handshake (forged, missing, expired token; cursor=-1)',
        file,
        arb: fc.tuple(fc.constantFrom(...REFUSALS), abuseArb),
        runs: [25, 1500],
        budgetMs: [5_000, 300_000],
        finish: () => server.finalCheck(),
        describe: ([r, a]) => `${r.name}, then ${a.name}`,
        check: async ([r, a]) => {
          await server.ready();
          await abuseCase(server, await r.path(tokens, server), a, r.code);
        },
      });
    },
    testTimeoutMs(5_000, 300_000),
  );

  // Issue 8 #1, the crash, as fixed regressions.

  it('issue 8 #1 (crash): a ws client with a forged token that sends one 100 KB message on open does not kill the server', async () => {
    await server.ready();
    await guardedCase(server, 'forged token, 100 KB on open', async () => {
      const ws = new WebSocket(wsUrl(server.url, crypto.randomBytes(32).toString('base64url')));
      ws.on('error', () => undefined);
      ws.on('open', () => ws.send('x'.repeat(100_000)));
      const code = await new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`not closed within ${REPLY_DEADLINE_MS} ms`)), REPLY_DEADLINE_MS);
        ws.on('close', (c) => {
          clearTimeout(t);
          resolve(c);
        });
      });
      expect([4001, 1009, 1006]).toContain(code);
      return { refused: true };
    });
  });

  it('issue 8 #1 (crash): a device whose token expired with a large message queued does not kill the server', async () => {
    await server.ready();
    const token = await tokens.expiredToken();
    await guardedCase(server, 'expired token, large message queued', async () => {
      const ws = new WebSocket(wsUrl(server.url, token));
      ws.on('error', () => undefined);
      // What an SDK does with its queue when the socket opens.
      ws.on('open', () => {
        ws.send(JSON.stringify({ type: 'send', id: 'q1', conv: { type: 0, target: FX.owner, line: 0 }, payload: { type: 1, content: 'y'.repeat(200_000) } }));
      });
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`not closed within ${REPLY_DEADLINE_MS} ms`)), REPLY_DEADLINE_MS);
        ws.on('close', () => {
          clearTimeout(t);
          resolve();
        });
      });
      return { refused: true };
    });
  });

  it(
    'issue 8 #1 (crash): each frame kind of the report, on connections refused with 4001 (forged, missing, expired token) and 4000 (cursor=-1)',
    async () => {
      for (const r of REFUSALS) {
        for (const name of ISSUE8_FRAMES) {
          await server.ready();
          await abuseCase(server, await r.path(tokens, server), abuse(name), r.code);
        }
      }
    },
    180_000,
  );

  it('issue 8 #1 (crash): frames ws rejects, sent while the server shuts down (1001), do not turn a clean exit into a crash', async () => {
    await server.ready();
    const kinds = ISSUE8_FRAMES.map(abuse);
    const conns: RawWsConnection[] = [];
    for (let i = 0; i < kinds.length; i++) {
      const token = await server.token(FX.member2, `sd-${i}`);
      const c = new RawWsConnection(server.url, upgradeBytes(server.url, { path: `/ws?token=${encodeURIComponent(token)}`, headers: handshakeHeaders(server.url) }));
      expect((await c.handshake())?.status).toBe(101);
      await c.frames.waitFor((f) => f.opcode === Opcode.text && f.payload.includes('"synced"'), { timeoutMs: REPLY_DEADLINE_MS });
      conns.push(c);
    }
    // Handshakes racing the shutdown: answered 503, or upgraded and closed 1001, or refused by TCP.
    const tokensForRace = await Promise.all(kinds.map((_, i) => server.token(FX.member2, `race-${i}`)));
    const url = server.url;
    const exit = server.signal('SIGTERM');
    const racing = tokensForRace.map((t) => new RawWsConnection(url, upgradeBytes(url, { path: `/ws?token=${encodeURIComponent(t)}`, headers: handshakeHeaders(url) })));
    const abuseOn = async (c: RawWsConnection, i: number): Promise<void> => {
      await c.frames.waitFor((f) => f.opcode === Opcode.close, { timeoutMs: REPLY_DEADLINE_MS, label: 'the 1001 close' }).catch(() => undefined);
      for (const w of kinds[i]!.writes) {
        if (Buffer.isBuffer(w)) c.write(w);
        else c.send(w);
      }
    };
    await Promise.all([
      ...conns.map(abuseOn),
      ...racing.map(async (c, i) => {
        const res = await c.handshake(REPLY_DEADLINE_MS).catch(() => undefined);
        if (res?.status === 101) await abuseOn(c, i);
      }),
    ]);
    const status = await exit;
    for (const c of [...conns, ...racing]) c.destroy();
    expect(status, `exit status; output:\n${server.output().slice(-2000)}`).toEqual({ code: 0, signal: null });
  });
});
