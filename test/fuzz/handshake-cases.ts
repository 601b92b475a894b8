import crypto from 'node:crypto';
import type { Header } from '../helpers/raw-http.js';
import { handshakeHeaders, Opcode, RawWsConnection, upgradeBytes } from '../helpers/raw-ws.js';
import { REPLY_DEADLINE_MS } from './config.js';
import { FX } from './fixtures.js';
import { CURSORS, expectedOf, PATHS, type HandshakeCase, type HeaderMode, type TokenMode } from './handshake-arbitraries.js';
import { guardedCase } from './invariants.js';
import type { FuzzServer } from './target.js';

/**
 * The handshake server's token lifetime (SWITCHBOARD_TOKEN_TTL_SECONDS): short, so that expired tokens
 * exist after a few seconds; long enough that a live token issued for a case is still live when the
 * case connects on a loaded machine.
 */
export const TOKEN_TTL_SECONDS = 3;

/**
 * Tokens of every kind for the current server: revoked (kicked off) and expired ones are made once
 * per server start; live ones are issued per case (they expire within a second).
 */
export class HandshakeTokens {
  private forStart = -1;
  private revoked = '';
  private expired = '';
  private expiresAt = 0;

  constructor(private readonly server: FuzzServer) {}

  private async prepare(): Promise<void> {
    if (this.forStart === this.server.starts) return;
    this.expired = await this.server.token(FX.member2, 'exp-dev');
    this.expiresAt = Date.now() + TOKEN_TTL_SECONDS * 1000;
    this.revoked = await this.server.token(FX.member2, 'rev-dev');
    await this.server.admin.ok('/user/kickoff_client', { first: FX.member2, second: 'rev-dev' });
    this.forStart = this.server.starts;
  }

  /** A token issued longer ago than its lifetime (the first call after a server start waits for it to lapse). */
  async expiredToken(): Promise<string> {
    await this.prepare();
    const left = this.expiresAt + 50 - Date.now();
    if (left > 0) await new Promise<void>((resolve) => setTimeout(resolve, left));
    return this.expired;
  }

  async query(mode: TokenMode): Promise<string | undefined> {
    await this.prepare();
    const live = async () => encodeURIComponent(await this.server.token(FX.member2, 'hs-dev'));
    const forged = encodeURIComponent(crypto.randomBytes(32).toString('base64url'));
    switch (mode) {
      case 'valid':
        return `token=${await live()}`;
      case 'forged':
        return `token=${forged}`;
      case 'expired':
        return `token=${encodeURIComponent(await this.expiredToken())}`;
      case 'revoked':
        return `token=${encodeURIComponent(this.revoked)}`;
      case 'missing':
        return undefined;
      case 'empty':
        return 'token=';
      case 'validThenForged':
        return `token=${await live()}&token=${forged}`;
      case 'forgedThenValid':
        return `token=${forged}&token=${await live()}`;
      case 'huge':
        return `token=${'a'.repeat(6000)}`;
      case 'unicode':
        return 'token=%F0%9F%98%80%00';
      case 'percentGarbage':
        return 'token=%zz%';
    }
  }
}

function headersFor(mode: HeaderMode, baseUrl: string): { headers: Header[]; method: string; httpVersion: string } {
  const std = handshakeHeaders(baseUrl);
  const without = (name: string) => std.filter(([k]) => k.toLowerCase() !== name);
  const out = { headers: std, method: 'GET', httpVersion: '1.1' };
  switch (mode) {
    case 'standard':
      return out;
    case 'lowerCaseNames':
      return { ...out, headers: std.map(([k, v]) => [k.toLowerCase(), v] as Header) };
    case 'extensionsGarbage':
      return { ...out, headers: [...std, ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits=99; x, ;;, \u00ff']] };
    case 'subprotocols':
      return { ...out, headers: [...std, ['Sec-WebSocket-Protocol', 'chat, superchat']] };
    case 'duplicateSubprotocols':
      return { ...out, headers: [...std, ['Sec-WebSocket-Protocol', 'chat, chat']] };
    case 'originWeird':
      return { ...out, headers: [...std, ['Origin', 'null']] };
    case 'noUpgrade':
      return { ...out, headers: without('upgrade') };
    case 'noConnection':
      return { ...out, headers: without('connection') };
    case 'noKey':
      return { ...out, headers: without('sec-websocket-key') };
    case 'badKey':
      return { ...out, headers: [...without('sec-websocket-key'), ['Sec-WebSocket-Key', 'not a key']] };
    case 'twoKeys':
      return { ...out, headers: [...std, ['Sec-WebSocket-Key', crypto.randomBytes(16).toString('base64')]] };
    case 'version7':
      return { ...out, headers: [...without('sec-websocket-version'), ['Sec-WebSocket-Version', '7']] };
    case 'noVersion':
      return { ...out, headers: without('sec-websocket-version') };
    case 'post':
      return { ...out, method: 'POST' };
    case 'hugeHeader':
      return { ...out, headers: [...std, ['X-Fuzz', 'a'.repeat(20_000)]] };
    case 'noHost':
      return { ...out, headers: without('host') };
    case 'http10':
      return { ...out, httpVersion: '1.0' };
  }
}

export function describeHandshake(c: HandshakeCase): string {
  return `path=${c.path} token=${c.token} cursor=${c.cursor} headers=${c.headers} then=${c.after}${c.after === 'abuse' ? ` (${c.abuse.name})` : ''} → expect ${JSON.stringify(expectedOf(c))}`;
}

/** One handshake case under the invariants. */
export async function handshakeCase(server: FuzzServer, tokens: HandshakeTokens, c: HandshakeCase): Promise<void> {
  const label = describeHandshake(c);
  await server.ready();
  const tokenQuery = await tokens.query(c.token);
  const cursor = CURSORS[c.cursor].q;
  const query = [tokenQuery, cursor === undefined ? undefined : `cursor=${cursor}`].filter((x) => x !== undefined).join('&');
  const target = `${PATHS[c.path].path}${query ? `?${query}` : ''}`;
  const h = headersFor(c.headers, server.url);
  const exp = expectedOf(c);
  await guardedCase(server, label, async () => {
    const conn = new RawWsConnection(server.url, upgradeBytes(server.url, { path: target, headers: h.headers, method: h.method, httpVersion: h.httpVersion }));
    try {
      let res;
      try {
        res = await conn.handshake(REPLY_DEADLINE_MS);
      } catch (err) {
        throw new Error(`${label}: ${(err as Error).message}`);
      }
      const status = res?.status;
      if (status === undefined) {
        // Closed without an answer: only acceptable where the request was not a valid handshake.
        if (exp.kind === 'http' || exp.kind === 'either') return { refused: true };
        throw new Error(`${label}: the connection was closed without an answer`);
      }
      if (status >= 500) throw new Error(`${label}: HTTP ${status}`);
      if (status !== 101) {
        if (exp.kind === 'http' || exp.kind === 'either') {
          if (status < 400) throw new Error(`${label}: answered HTTP ${status} (want a 4xx)`);
          return { refused: true };
        }
        throw new Error(`${label}: answered HTTP ${status} (want 101)`);
      }
      if (exp.kind === 'http') throw new Error(`${label}: upgraded (101) a request the gateway must refuse over HTTP`);
      if (c.after === 'abuse') {
        for (const w of c.abuse.writes) {
          if (Buffer.isBuffer(w)) conn.write(w);
          else conn.send(w);
        }
        if (c.abuse.halfClose) conn.endWrites();
      } else if (c.after === 'ping') {
        conn.send({ opcode: Opcode.text, payload: Buffer.from('{"type":"ping","id":"hs"}') });
      }
      if (exp.kind === 'refused') {
        const cf = await conn.answerClose(REPLY_DEADLINE_MS).catch((err: Error) => {
          throw new Error(`${label}: ${err.message}`);
        });
        if (cf.code !== exp.code) throw new Error(`${label}: closed with ${cf.code ?? 'no code'} (want ${exp.code})`);
        if (c.after !== 'abuse' || c.abuse.expect !== 'either') await waitClosed(conn, label);
        return { refused: true };
      }
      if (exp.kind === 'either' || c.after === 'abuse') {
        // Protocol abuse on an accepted connection is ws-frames.fuzz.test.ts's subject: here it must
        // end or be answered, in time, without an internal error.
        const settled = await conn.frames
          .waitFor((f) => f.opcode === Opcode.close || (f.opcode === Opcode.text && f.payload.includes('"synced"')), { timeoutMs: REPLY_DEADLINE_MS })
          .then(() => 'answered')
          .catch(() => (conn.isEnded ? 'ended' : 'timeout'));
        if (settled === 'timeout' && !conn.closeFrame) throw new Error(`${label}: neither synced nor closed within ${REPLY_DEADLINE_MS} ms`);
        if (conn.closeFrame?.code === 1011) throw new Error(`${label}: closed with 1011 (internal error)`);
        return { refused: false };
      }
      await conn.frames.waitFor((f) => f.opcode === Opcode.text && f.payload.includes('"synced"'), { timeoutMs: REPLY_DEADLINE_MS, label: 'hello and synced' }).catch((err: Error) => {
        throw new Error(`${label}: ${err.message}`);
      });
      if (c.after === 'ping') {
        await conn.frames.waitFor((f) => f.opcode === Opcode.text && f.payload.includes('"pong"'), { timeoutMs: REPLY_DEADLINE_MS, label: 'pong' }).catch((err: Error) => {
          throw new Error(`${label}: ${err.message}`);
        });
      }
      return { refused: false };
    } finally {
      conn.destroy();
    }
  });
}

async function waitClosed(conn: RawWsConnection, label: string): Promise<void> {
  try {
    await conn.waitEnded(REPLY_DEADLINE_MS);
  } catch (err) {
    throw new Error(`${label}: ${(err as Error).message}`);
  }
}
