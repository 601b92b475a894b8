import { handshakeHeaders, RawWsConnection, upgradeBytes, type CloseFrameInfo } from '../helpers/raw-ws.js';
import { withTimeout, wsUrl, WsClient, type Frame } from '../helpers/ws-client.js';
import { REPLY_DEADLINE_MS } from './config.js';
import { FX } from './fixtures.js';
import { guardedCase } from './invariants.js';
import { jsonText } from './json-text.js';
import { MAX_FRAME_BYTES, type Abuse, type FrameCase } from './ws-arbitraries.js';
import type { FuzzServer } from './target.js';

/**
 * Running WebSocket cases: JSON frames on the fuzzed device's connection (a member of the fixture
 * group), and protocol abuse over raw sockets, each under the invariants of invariants.ts plus the
 * device protocol's own: every frame that asks for a reply gets it within the deadline, no frame
 * gets an internal error (code 4) or a 1011 close, only a frame over the size limit closes (1009).
 */

let nextId = 1;

/** The fuzzed device: reconnected (fresh token) whenever a case closed it. */
export class FuzzDevice {
  private client: WsClient | undefined;
  private forServer = -1;
  private stale = false;
  constructor(private readonly server: FuzzServer) {}

  /**
   * The next case gets a new connection: the last frame may still be answered late (a refusal found
   * in the store), and that answer must not be taken for the next frame's.
   */
  recycle(): void {
    this.stale = true;
  }

  async ready(): Promise<WsClient> {
    if (this.client && !this.client.closeInfo && this.forServer === this.server.starts && !this.stale) return this.client;
    this.stale = false;
    this.client?.terminate();
    const token = await this.server.token(FX.member1, FX.client);
    const c = new WsClient(wsUrl(this.server.url, token));
    await c.waitType('synced', undefined, { label: 'the fuzzed device synced', timeoutMs: 10_000 });
    this.client = c;
    this.forServer = this.server.starts;
    return c;
  }

  close(): void {
    this.client?.terminate();
  }
}

interface Expectation {
  /** Reply frame types that settle the case; with `id` when the frame carried a valid one. */
  replies: ReadonlySet<string>;
  /** The id as the reply echoes it (JSON: 1e400 parses to Infinity and is written back as null). */
  id: string | number | null | undefined;
  /** No reply may come (ack, a read without id): the case settles on a ping barrier. */
  mayBeSilent: boolean;
  /** The frame is over the size limit: the server must close 1009. */
  tooBig: boolean;
}

/** What the server must answer to `text` (by docs/client-protocol.md and connection.ts's contract). */
function expectationOf(text: string | undefined, binary: boolean, bytes: number): Expectation {
  const none = { id: undefined, mayBeSilent: false, tooBig: false };
  if (bytes > MAX_FRAME_BYTES) return { ...none, replies: new Set(), tooBig: true };
  if (binary || text === undefined) return { ...none, replies: new Set(['error']) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ...none, replies: new Set(['error']) };
  }
  if (parsed === null || typeof parsed !== 'object' || typeof (parsed as { type?: unknown }).type !== 'string') return { ...none, replies: new Set(['error']) };
  const f = parsed as { type: string; id?: unknown };
  if (f.id !== undefined && typeof f.id !== 'string' && typeof f.id !== 'number') return { ...none, replies: new Set(['error']) };
  // An id string over 128 code points is refused without it (docs/client-protocol.md, Limits of a frame).
  if (typeof f.id === 'string' && [...f.id].length > 128) return { ...none, replies: new Set(['error']) };
  const id = f.id === undefined ? undefined : (JSON.parse(JSON.stringify({ id: f.id })) as { id: string | number | null }).id;
  switch (f.type) {
    case 'ping':
      return { ...none, id, replies: new Set(['pong']) };
    case 'send':
      return { ...none, id, replies: new Set(['sent', 'error']) };
    case 'read':
      return { ...none, id, replies: new Set(id === undefined ? ['error'] : ['read_ok', 'error']), mayBeSilent: id === undefined };
    case 'ack':
      return { ...none, id, replies: new Set(['error']), mayBeSilent: true };
    case 'sync':
      return { ...none, id, replies: new Set(['synced', 'error']) };
    case 'friends':
    case 'friend_requests':
    case 'user_settings':
      return { ...none, id, replies: new Set([f.type, 'error']) };
    case 'friend_add':
    case 'friend_answer':
    case 'friend_delete':
    case 'blacklist':
      return { ...none, id, replies: new Set(['relation_ok', 'error']) };
    default:
      return { ...none, id, replies: new Set(['error']) };
  }
}

/** Replace a valid `id` by a fresh one (string or number, alternately), so the reply can be matched. */
function withUniqueId(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const id = (value as { id?: unknown }).id;
  if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') return value;
  const n = nextId++;
  return { ...(value as Record<string, unknown>), id: n % 2 === 0 ? `f${n}` : n };
}

function isInternal(f: Frame): boolean {
  return f.type === 'error' && f['code'] === 4;
}

/** Send one frame case on the fuzzed device and check its reply. Returns whether it was refused. */
async function sendFrame(server: FuzzServer, device: FuzzDevice, c: FrameCase, label: string): Promise<{ refused: boolean }> {
  const ws = await device.ready();
  let payload: string | Buffer;
  if (c.raw) payload = c.kind === 'binary' ? c.raw : c.raw.toString('utf8');
  else payload = jsonText(c.uniqueId ? withUniqueId(c.value) : c.value, server.resolve);
  const binary = typeof payload !== 'string';
  const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const exp = expectationOf(typeof payload === 'string' ? payload : undefined, binary, bytes);
  const from = ws.mark;
  const started = performance.now();
  ws.sendRaw(payload, { binary });

  if (exp.tooBig) {
    const info = await withTimeout(ws.closed, REPLY_DEADLINE_MS, `the 1009 close of a ${bytes}-byte frame`);
    if (info.code !== 1009) throw new Error(`${label}: a ${bytes}-byte frame closed the connection with ${info.code} (want 1009)`);
    return { refused: true };
  }
  const matches = (f: Frame): boolean => exp.replies.has(f.type) && (exp.id === undefined ? f['id'] === undefined : f['id'] === exp.id || f.type === 'synced');
  let reply: Frame | undefined;
  try {
    if (exp.mayBeSilent) {
      // Settles on a barrier: a ping sent after the frame is answered after the frame's own synchronous refusal.
      const barrier = `barrier-${nextId++}`;
      ws.send({ type: 'ping', id: barrier });
      await ws.waitFor((f) => f.type === 'pong' && f['id'] === barrier, { from, timeoutMs: REPLY_DEADLINE_MS, label: 'the barrier pong' });
      reply = ws.frames.slice(from).find(matches);
      if (!reply) device.recycle();
    } else {
      reply = await ws.waitFor(matches, { from, timeoutMs: REPLY_DEADLINE_MS, label: `a reply of type ${[...exp.replies].join('|')}${exp.id !== undefined ? ` with id ${JSON.stringify(exp.id)}` : ''}` });
    }
  } catch (err) {
    if (ws.closeInfo) throw new Error(`${label}: the server closed the connection (${ws.closeInfo.code} ${ws.closeInfo.reason}) instead of answering`);
    throw new Error(`${label}: ${(err as Error).message}`);
  }
  const elapsed = performance.now() - started;
  if (elapsed > REPLY_DEADLINE_MS) throw new Error(`${label}: replied after ${Math.round(elapsed)} ms`);
  const internal = ws.frames.slice(from).find(isInternal);
  if (internal) throw new Error(`${label}: internal error frame ${JSON.stringify(internal)}`);
  if (ws.closeInfo) throw new Error(`${label}: the connection was closed (${ws.closeInfo.code} ${ws.closeInfo.reason})`);
  return { refused: reply?.type === 'error' };
}

export async function frameCase(server: FuzzServer, device: FuzzDevice, c: FrameCase): Promise<void> {
  const label = `${c.kind} frame`;
  await guardedCase(server, label, () => sendFrame(server, device, c, label));
}

export function describeFrameCase(c: FrameCase): string {
  const body = c.raw ? `<${c.raw.length} bytes ${c.raw.toString('hex').slice(0, 64)}>` : summarizeValue(c.value);
  return `${c.kind}${c.uniqueId ? '' : ' (id as generated)'}${c.notes.length ? ` [${c.notes.join('; ')}]` : ''} ${body}`;
}

function summarizeValue(v: unknown): string {
  const s = jsonText(v);
  return s.length > 600 ? `${s.slice(0, 600)}…(${s.length} chars)` : s;
}

/** Close codes a server may send on its own account after an abuse (any other, 1011 above all, is a failure). */
export function closeCodeOk(info: CloseFrameInfo | undefined, allowed: readonly number[]): boolean {
  if (!info) return true;
  return allowed.includes(info.code ?? 1005);
}

/**
 * A raw connection upgraded with `path` (a fresh handshake), then `abuse` written. `refusedWith`: the
 * close code the server answers the handshake with (4000/4001) when the upgrade is refused after the
 * handshake; undefined for an accepted connection.
 */
export async function abuseCase(server: FuzzServer, path: string, a: Abuse, refusedWith: number | undefined): Promise<void> {
  const label = `${refusedWith ? `refused (${refusedWith})` : 'accepted'} connection, then ${a.name}`;
  await guardedCase(server, label, async () => {
    const conn = new RawWsConnection(server.url, upgradeBytes(server.url, { path, headers: handshakeHeaders(server.url) }));
    try {
      const res = await conn.handshake(REPLY_DEADLINE_MS);
      if (res?.status !== 101) throw new Error(`${label}: the upgrade was answered ${res?.status ?? 'nothing'}`);
      if (!refusedWith) await conn.frames.waitFor((f) => f.opcode === 1 && f.payload.toString().includes('"synced"'), { timeoutMs: REPLY_DEADLINE_MS, label: 'synced' });
      for (const w of a.writes) {
        if (Buffer.isBuffer(w)) conn.write(w);
        else conn.send(w);
      }
      if (a.halfClose) conn.endWrites();
      if (refusedWith) {
        // Whatever the frames, the server closes with its refusal (and the process lives). Once the
        // client answers the close, the connection ends, unless the abuse left the server's parser
        // inside a frame that never completes (then `ws` cuts it off after its own close timeout).
        let cf: CloseFrameInfo;
        try {
          cf = await conn.answerClose(REPLY_DEADLINE_MS);
        } catch (err) {
          if (conn.isEnded) return { refused: true };
          throw new Error(`${label}: ${(err as Error).message}`);
        }
        if (cf.code !== refusedWith) throw new Error(`${label}: closed with ${cf.code ?? 'no code'} (want ${refusedWith})`);
        if (a.expect !== 'either') await conn.waitEnded(REPLY_DEADLINE_MS);
        return { refused: true };
      }
      if (a.halfClose) {
        // Nothing more will come: whatever the bytes, the server ends the connection.
        await conn.waitEnded(REPLY_DEADLINE_MS).catch((err: Error) => {
          throw new Error(`${label}: ${err.message}`);
        });
        if (conn.closeFrame?.code === 1011) throw new Error(`${label}: closed with 1011 (internal error)`);
        return { refused: true };
      }
      if (a.expect === 'stay' || a.expect === 'either') {
        if (!(a.expect === 'either' && (conn.isEnded || conn.closeFrame))) {
          conn.send({ opcode: 1, payload: Buffer.from('{"type":"ping","id":"after-abuse"}') });
          try {
            await conn.frames.waitFor((f) => f.opcode === 1 && f.payload.toString().includes('"after-abuse"'), { timeoutMs: REPLY_DEADLINE_MS, label: 'the pong after the abuse' });
          } catch (err) {
            if (a.expect === 'stay' || !(conn.isEnded || conn.closeFrame)) throw new Error(`${label}: ${(err as Error).message}`);
          }
        }
        const cf = conn.closeFrame;
        if (cf && (cf.code === 1011 || cf.code === undefined || cf.code < 1000)) throw new Error(`${label}: closed with ${cf.code ?? 'no code'}`);
        if (a.expect === 'stay' && cf) throw new Error(`${label}: closed with ${cf.code ?? 'no code'} (want it open)`);
        return { refused: false };
      }
      await conn.waitEnded(REPLY_DEADLINE_MS);
      if (!closeCodeOk(conn.closeFrame, a.expect.close)) throw new Error(`${label}: closed with ${conn.closeFrame?.code ?? 'no code'} (want ${a.expect.close.join(' or ')})`);
      return { refused: true };
    } finally {
      conn.destroy();
    }
  });
}
