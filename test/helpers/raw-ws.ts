import crypto from 'node:crypto';
import net from 'node:net';
import { parseResponse, type Header, type RawHttpResponse } from './raw-http.js';
import { Recorder } from './ws-client.js';

/**
 * A WebSocket client written by hand over TCP (RFC 6455), for what the `ws` client will not send:
 * a handshake with any request line and headers, then frames with reserved opcodes, RSV bits, no mask,
 * lying lengths, fragmented control frames, invalid UTF-8. Server frames are parsed and recorded;
 * the end of the connection (close by the server, reset) is a promise.
 */

export interface FrameSpec {
  fin?: boolean;
  /** RSV1..3 as bits 4, 2, 1 (0..7). */
  rsv?: number;
  opcode: number;
  payload?: Buffer;
  /** Client frames must be masked; false sends it unmasked. Default true. */
  masked?: boolean;
  /**
   * The length written in the header when it is not the payload's (a lie), e.g. 2^63 in the 64-bit
   * form. The payload bytes actually sent stay `payload`.
   */
  declaredLength?: bigint;
  /** Force the 16-bit or 64-bit length form even for short payloads (non-minimal encoding). */
  lengthForm?: 'auto' | '16' | '64';
}

export const Opcode = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** The bytes of one client frame. */
export function encodeFrame(f: FrameSpec): Buffer {
  const payload = f.payload ?? Buffer.alloc(0);
  const masked = f.masked ?? true;
  const len = f.declaredLength ?? BigInt(payload.length);
  const form = f.lengthForm ?? 'auto';
  const b0 = ((f.fin ?? true) ? 0x80 : 0) | (((f.rsv ?? 0) & 7) << 4) | (f.opcode & 0x0f);
  let head: Buffer;
  if (form === 'auto' && len < 126n) {
    head = Buffer.from([b0, (masked ? 0x80 : 0) | Number(len)]);
  } else if (form !== '64' && len < 65536n) {
    head = Buffer.alloc(4);
    head[0] = b0;
    head[1] = (masked ? 0x80 : 0) | 126;
    head.writeUInt16BE(Number(len), 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = (masked ? 0x80 : 0) | 127;
    head.writeBigUInt64BE(BigInt.asUintN(64, len), 2);
  }
  if (!masked) return Buffer.concat([head, payload]);
  const key = crypto.randomBytes(4);
  const body = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) body[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([head, key, body]);
}

/** A close frame's payload: a 16-bit code and a reason (raw bytes: may be invalid UTF-8). */
export function closePayload(code: number, reason: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code & 0xffff);
  return Buffer.concat([b, reason]);
}

export interface ServerFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  payload: Buffer;
}

/** Incremental parser of (unmasked) server frames. */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): ServerFrame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: ServerFrame[] = [];
    for (;;) {
      if (this.buf.length < 2) return out;
      const b0 = this.buf[0]!;
      const b1 = this.buf[1]!;
      let len = b1 & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buf.length < 4) return out;
        len = this.buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return out;
        len = Number(this.buf.readBigUInt64BE(2));
        at = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const keyAt = at;
      if (masked) at += 4;
      if (this.buf.length < at + len) return out;
      let payload = this.buf.subarray(at, at + len);
      if (masked) {
        const key = this.buf.subarray(keyAt, keyAt + 4);
        payload = Buffer.from(payload.map((x, i) => x ^ key[i & 3]!));
      }
      out.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, payload: Buffer.from(payload) });
      this.buf = this.buf.subarray(at + len);
    }
  }
}

export interface UpgradeRequest {
  /** Request target, verbatim. */
  path: string;
  /** Replaces the standard handshake headers entirely when given. */
  headers?: Header[];
  method?: string;
  httpVersion?: string;
}

/** The standard handshake headers (Host, Upgrade, Connection, a fresh key, version 13). */
export function handshakeHeaders(baseUrl: string): Header[] {
  return [
    ['Host', new URL(baseUrl).host],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', crypto.randomBytes(16).toString('base64')],
    ['Sec-WebSocket-Version', '13'],
  ];
}

export function upgradeBytes(baseUrl: string, req: UpgradeRequest): Buffer {
  const headers = req.headers ?? handshakeHeaders(baseUrl);
  const text = [`${req.method ?? 'GET'} ${req.path} HTTP/${req.httpVersion ?? '1.1'}`, ...headers.map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
  return Buffer.from(text, 'latin1');
}

export interface CloseFrameInfo {
  code: number | undefined;
  reason: string;
}

/**
 * One raw connection. `handshake` resolves once the server answered the upgrade (or gave up); after a
 * 101, server frames are recorded in `frames`, and `ended` resolves when the TCP connection is gone.
 */
export class RawWsConnection {
  readonly frames = new Recorder<ServerFrame>((fs) => `${fs.length} frames: ${fs.map((f) => describeFrame(f)).join(' ').slice(0, 400)}`);
  /** The upgrade answer (status 101, or an HTTP error). */
  response: RawHttpResponse | undefined;
  /** 'reset' when the connection ended with an error (ECONNRESET, EPIPE), else 'closed'. */
  readonly ended: Promise<'closed' | 'reset'>;
  endedAt: number | undefined;
  private readonly sock: net.Socket;
  private readonly parser = new FrameParser();
  private head: Buffer = Buffer.alloc(0);
  private upgraded = false;
  private readonly answered: Promise<void>;

  constructor(baseUrl: string, request: Buffer) {
    const { hostname, port } = new URL(baseUrl);
    this.sock = net.connect(Number(port), hostname);
    let endedWith: 'closed' | 'reset' = 'closed';
    let onAnswer: () => void = () => undefined;
    this.answered = new Promise((r) => (onAnswer = r));
    this.ended = new Promise((resolve) => {
      this.sock.on('error', () => (endedWith = 'reset'));
      this.sock.on('close', () => {
        this.endedAt = performance.now();
        if (!this.response) this.response = parseResponse(this.head, true);
        this.frames.fail('connection ended');
        onAnswer();
        resolve(endedWith);
      });
    });
    this.sock.on('data', (c: Buffer) => {
      if (this.upgraded) {
        for (const f of this.parser.push(c)) this.frames.push(f);
        return;
      }
      this.head = Buffer.concat([this.head, c]);
      const end = this.head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const res = parseResponse(this.head, false);
      if (res && res.status !== 101) {
        this.response = res;
        onAnswer();
        return;
      }
      const first = this.head.subarray(0, this.head.indexOf('\r\n')).toString('latin1');
      if (!/^HTTP\/1\.1 101 /.test(first)) return;
      this.response = parseResponse(this.head.subarray(0, end + 4), false);
      this.upgraded = true;
      const rest = this.head.subarray(end + 4);
      this.head = Buffer.alloc(0);
      onAnswer();
      if (rest.length > 0) for (const f of this.parser.push(rest)) this.frames.push(f);
    });
    this.sock.on('connect', () => this.sock.write(request));
  }

  /** Resolves with the upgrade answer, undefined if the server ended the connection without one, or rejects after `timeoutMs`. */
  async handshake(timeoutMs = 5000): Promise<RawHttpResponse | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.answered,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer to the upgrade within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    return this.response;
  }

  get isUpgraded(): boolean {
    return this.upgraded;
  }

  get isEnded(): boolean {
    return this.endedAt !== undefined;
  }

  /** Write bytes; errors surface through `ended`. */
  write(bytes: Buffer): void {
    if (!this.sock.destroyed && this.sock.writable) this.sock.write(bytes);
  }

  /** Half-close: nothing more will be written. */
  endWrites(): void {
    if (!this.sock.destroyed) this.sock.end();
  }

  send(f: FrameSpec): void {
    this.write(encodeFrame(f));
  }

  /** The server's close frame, if one arrived. */
  get closeFrame(): CloseFrameInfo | undefined {
    const f = this.frames.items.find((x) => x.opcode === Opcode.close);
    if (!f) return undefined;
    return { code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : undefined, reason: f.payload.subarray(2).toString('utf8') };
  }

  /** Text frames parsed as JSON (unparsable ones as `{type: '(unparsable)'}`). */
  json(): Array<Record<string, unknown>> {
    return this.frames.items
      .filter((f) => f.opcode === Opcode.text)
      .map((f) => {
        try {
          return JSON.parse(f.payload.toString('utf8')) as Record<string, unknown>;
        } catch {
          return { type: '(unparsable)' };
        }
      });
  }

  /**
   * As a well-behaved client does: wait for the server's close frame (rejects after `timeoutMs`) and
   * answer it with one of the same code, completing the closing handshake.
   */
  async answerClose(timeoutMs = 5000): Promise<CloseFrameInfo> {
    await this.frames.waitFor((f) => f.opcode === Opcode.close, { timeoutMs, label: 'the close frame' }).catch((err: Error) => {
      if (!this.closeFrame) throw err;
    });
    const cf = this.closeFrame!;
    this.send({ opcode: Opcode.close, payload: cf.code === undefined ? Buffer.alloc(0) : closePayload(cf.code) });
    return cf;
  }

  /** Resolves with how the connection ended, or rejects after `timeoutMs`. */
  async waitEnded(timeoutMs = 5000): Promise<'closed' | 'reset'> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.ended,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms; frames: ${this.frames.items.map(describeFrame).join(' ').slice(0, 300)}`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  destroy(): void {
    this.sock.destroy();
  }
}

export function describeFrame(f: ServerFrame): string {
  if (f.opcode === Opcode.close) return `close(${f.payload.length >= 2 ? f.payload.readUInt16BE(0) : '-'})`;
  if (f.opcode === Opcode.text) return `text(${f.payload.toString('utf8').slice(0, 60)})`;
  return `op${f.opcode}[${f.payload.length}]`;
}
