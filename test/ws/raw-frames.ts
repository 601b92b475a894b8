import crypto from 'node:crypto';
import net from 'node:net';
import { Recorder, withTimeout } from '../helpers/ws-client.js';

/**
 * A WebSocket client written by hand over a raw TCP socket, for frames no well-behaved library sends:
 * reserved opcodes, RSV bits, unmasked client frames, bad close codes, oversized or fragmented
 * control frames, orphan continuations, invalid UTF-8, lengths over the server's maxPayload. It never
 * answers the server's close frame, so the server stays in its closing handshake for as long as the
 * test needs.
 */

export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  /** Default true. */
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  /** Default true (clients must mask). */
  mask?: boolean;
  /** Length announced in the header when it differs from the payload's (only the header is sent). */
  declaredLength?: number;
}

/** Encode one client frame. */
export function frame(spec: FrameSpec): Buffer {
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload) : (spec.payload ?? Buffer.alloc(0));
  const len = spec.declaredLength ?? payload.length;
  const mask = spec.mask ?? true;
  const b0 = ((spec.fin ?? true) ? 0x80 : 0) | (spec.rsv1 ? 0x40 : 0) | (spec.rsv2 ? 0x20 : 0) | (spec.opcode & 0x0f);
  const m = mask ? 0x80 : 0;
  let header: Buffer;
  if (len < 126) header = Buffer.from([b0, m | len]);
  else if (len < 0x10000) {
    header = Buffer.alloc(4);
    header[0] = b0;
    header[1] = m | 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = b0;
    header[1] = m | 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  if (!mask) return Buffer.concat([header, spec.declaredLength === undefined ? payload : Buffer.alloc(0)]);
  const key = crypto.randomBytes(4);
  if (spec.declaredLength !== undefined) return Buffer.concat([header, key]);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!;
  return Buffer.concat([header, key, body]);
}

/** A close frame's payload: the code, then the reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code, 0);
  return Buffer.concat([b, Buffer.from(reason)]);
}

export interface BadFrame {
  name: string;
  /** The bytes to send (one or more frames). */
  bytes: (maxFrameBytes: number) => Buffer;
  /** The close code an accepted connection gets for it. */
  closeCode: number;
  /** The code of the error `ws` raises for it (logged at debug level by the gateway). */
  wsError: string;
}

const text = (s: string): FrameSpec => ({ opcode: 1, payload: s });

/** Every kind of frame `ws` rejects, each with what an accepted connection is closed with. */
export const BAD_FRAMES: BadFrame[] = [
  { name: 'reserved data opcode 0x3', bytes: () => frame({ opcode: 0x3, payload: 'x' }), closeCode: 1002, wsError: 'WS_ERR_INVALID_OPCODE' },
  { name: 'reserved control opcode 0xB', bytes: () => frame({ opcode: 0xb }), closeCode: 1002, wsError: 'WS_ERR_INVALID_OPCODE' },
  { name: 'RSV1 set (no extension negotiated)', bytes: () => frame({ ...text('{"type":"ping"}'), rsv1: true }), closeCode: 1002, wsError: 'WS_ERR_UNEXPECTED_RSV_1' },
  { name: 'RSV2 set', bytes: () => frame({ ...text('{"type":"ping"}'), rsv2: true }), closeCode: 1002, wsError: 'WS_ERR_UNEXPECTED_RSV_2_3' },
  { name: 'unmasked client frame', bytes: () => frame({ ...text('{"type":"ping"}'), mask: false }), closeCode: 1002, wsError: 'WS_ERR_EXPECTED_MASK' },
  { name: 'close code 999', bytes: () => frame({ opcode: 0x8, payload: closePayload(999) }), closeCode: 1002, wsError: 'WS_ERR_INVALID_CLOSE_CODE' },
  { name: 'close frame with a 1-byte payload', bytes: () => frame({ opcode: 0x8, payload: Buffer.from([3]) }), closeCode: 1002, wsError: 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH' },
  { name: '126-byte ping', bytes: () => frame({ opcode: 0x9, payload: Buffer.alloc(126, 1) }), closeCode: 1002, wsError: 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH' },
  { name: 'fragmented ping', bytes: () => frame({ opcode: 0x9, payload: 'p', fin: false }), closeCode: 1002, wsError: 'WS_ERR_EXPECTED_FIN' },
  { name: 'orphan continuation', bytes: () => frame({ opcode: 0x0, payload: 'x' }), closeCode: 1002, wsError: 'WS_ERR_INVALID_OPCODE' },
  {
    name: 'new text frame inside a fragmented message',
    bytes: () => Buffer.concat([frame({ opcode: 0x1, payload: '{"ty', fin: false }), frame(text('{"type":"ping"}'))]),
    closeCode: 1002,
    wsError: 'WS_ERR_INVALID_OPCODE',
  },
  { name: 'invalid UTF-8 text', bytes: () => frame({ opcode: 0x1, payload: Buffer.from([0x7b, 0xff, 0xfe, 0xfd, 0x7d]) }), closeCode: 1007, wsError: 'WS_ERR_INVALID_UTF8' },
  { name: 'message over maxPayload (header only)', bytes: (max) => frame({ opcode: 0x2, declaredLength: max + 1 }), closeCode: 1009, wsError: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' },
  {
    name: 'fragments adding up to more than maxPayload',
    bytes: (max) => Buffer.concat([frame({ opcode: 0x1, payload: Buffer.alloc(max - 10, 0x61), fin: false }), frame({ opcode: 0x0, payload: Buffer.alloc(20, 0x61) })]),
    closeCode: 1009,
    wsError: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
  },
];

/** A raw WebSocket after a successful handshake (101). */
export class RawWs {
  readonly frames = new Recorder<ServerFrame>((fs) => fs.map((f) => `op${f.opcode}`).join(' '));
  /** Resolves when the TCP connection is closed (by either side). */
  readonly ended: Promise<void>;
  private buf = Buffer.alloc(0);

  constructor(readonly sock: net.Socket, rest: Buffer) {
    this.ended = new Promise((resolve) => sock.once('close', () => resolve()));
    sock.on('error', () => undefined); // a reset is an ending like any other: 'close' follows
    sock.on('close', () => this.frames.fail('socket closed'));
    sock.on('data', (d: Buffer) => this.feed(d));
    if (rest.length > 0) this.feed(rest);
  }

  send(bytes: Buffer): void {
    if (!this.sock.destroyed) this.sock.write(bytes);
  }

  /** The code of the server's close frame (waits for it). */
  async closeCode(timeoutMs = 5000): Promise<number> {
    const f = await this.frames.waitFor((x) => x.opcode === 0x8, { label: 'a close frame', timeoutMs });
    return f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
  }

  /** The first text frame whose JSON has this `type`. */
  async textOfType(type: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const f = await this.frames.waitFor((x) => x.opcode === 0x1 && parse(x.payload)?.['type'] === type, { label: `a ${type} frame`, timeoutMs });
    return parse(f.payload) ?? {};
  }

  destroy(): void {
    this.sock.destroy();
  }

  private feed(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      const b0 = this.buf[0]!;
      const b1 = this.buf[1]!;
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      this.frames.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload: this.buf.subarray(off, off + len) });
      this.buf = this.buf.subarray(off + len);
    }
  }
}

function parse(b: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(b.toString('utf8'));
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The upgrade request for `pathAndQuery` (e.g. "/ws?token=…"). */
export function upgradeRequest(pathAndQuery: string): Buffer {
  return Buffer.from(
    [
      `GET ${pathAndQuery} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      '',
      '',
    ].join('\r\n'),
  );
}

/**
 * Open a TCP connection, send the upgrade request (followed, in the same write, by `head` when
 * given) and resolve once the server answered 101. Rejects with the answer otherwise.
 */
export function rawUpgrade(baseUrl: string, pathAndQuery: string, head?: Buffer): Promise<RawWs> {
  const { hostname, port } = new URL(baseUrl);
  const sock = net.connect(Number(port), hostname);
  return withTimeout(
    new Promise<RawWs>((resolve, reject) => {
      let got = Buffer.alloc(0);
      const onData = (d: Buffer): void => {
        got = Buffer.concat([got, d]);
        const end = got.indexOf('\r\n\r\n');
        if (end < 0) return;
        sock.off('data', onData);
        sock.off('close', onClose);
        const status = got.subarray(0, end).toString('latin1');
        if (!status.startsWith('HTTP/1.1 101 ')) {
          sock.destroy();
          reject(new Error(`upgrade refused: ${status}`));
          return;
        }
        resolve(new RawWs(sock, got.subarray(end + 4)));
      };
      const onClose = (): void => reject(new Error(`closed during the handshake: ${got.toString('latin1')}`));
      sock.on('data', onData);
      sock.on('close', onClose);
      sock.on('error', () => undefined);
      sock.write(head ? Buffer.concat([upgradeRequest(pathAndQuery), head]) : upgradeRequest(pathAndQuery));
    }),
    5000,
    `the handshake of ${pathAndQuery.slice(0, 40)}`,
  );
}
