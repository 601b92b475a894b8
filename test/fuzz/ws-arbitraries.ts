import fc from 'fast-check';
import { closePayload, Opcode, type FrameSpec } from '../helpers/raw-ws.js';
import { garbageBytes, hostileString, INVALID_UTF8 } from './arbitraries.js';
import { POOLS } from './fixtures.js';
import { applyMutations, mutationsArb, type Mutation } from './mutations.js';
import { validArb, type GenContext, type JsonSchema } from './schema-arbitrary.js';

/**
 * Device → server frames of docs/client-protocol.md (src/delivery/protocol.ts ClientFrame) as JSON
 * schemas, so that the schema generator and the mutations of the admin fuzzing apply to them too;
 * and the protocol-level abuse (RFC 6455 violations) sent over a raw socket.
 */

const INT32_MAX = 2147483647;
const Id: JsonSchema = { anyOf: [{ type: 'string', minLength: 1, maxLength: 16 }, { type: 'integer', minimum: 0, maximum: 1e9 }] };
const Conv: JsonSchema = {
  type: 'object',
  required: ['type', 'target'],
  properties: { type: { type: 'integer', minimum: 0, maximum: 3 }, target: { type: 'string', minLength: 1 }, line: { type: 'integer', minimum: 0, maximum: INT32_MAX } },
};
const Payload: JsonSchema = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'integer', minimum: 0, maximum: INT32_MAX },
    searchableContent: { type: 'string' },
    pushContent: { type: 'string' },
    pushData: { type: 'string' },
    content: { type: 'string' },
    base64edData: { type: 'string' },
    mediaType: { type: 'integer', minimum: -2147483648, maximum: INT32_MAX },
    remoteMediaUrl: { type: 'string' },
    persistFlag: { type: 'integer', enum: [0, 1, 3, 4] },
    expireDuration: { type: 'integer', minimum: 0, maximum: INT32_MAX },
    mentionedType: { type: 'integer', minimum: 0, maximum: 2 },
    mentionedTarget: { type: 'array', items: { type: 'string' } },
    extra: { type: 'string' },
  },
};
const Timestamp: JsonSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const Cursor: JsonSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };

export const FRAME_KINDS = ['send', 'ack', 'read', 'sync', 'ping', 'friends', 'friend_requests', 'user_settings', 'friend_add', 'friend_answer', 'friend_delete', 'blacklist', 'unknown'] as const;
export type FrameKind = (typeof FRAME_KINDS)[number];

export const FRAME_SCHEMAS: Record<FrameKind, JsonSchema> = {
  send: {
    type: 'object',
    required: ['type', 'conv', 'payload'],
    properties: {
      type: { enum: ['send'] },
      id: Id,
      conv: Conv,
      payload: Payload,
      toUsers: { type: 'array', items: { type: 'string' } },
      clientMsgId: { type: 'string', minLength: 1, maxLength: 128 },
    },
  },
  ack: { type: 'object', required: ['type', 'timestamp'], properties: { type: { enum: ['ack'] }, cursor: Cursor, timestamp: Timestamp } },
  read: { type: 'object', required: ['type', 'conv', 'timestamp'], properties: { type: { enum: ['read'] }, id: Id, conv: Conv, timestamp: Timestamp } },
  sync: { type: 'object', required: ['type', 'cursor'], properties: { type: { enum: ['sync'] }, id: Id, cursor: Cursor } },
  ping: { type: 'object', required: ['type'], properties: { type: { enum: ['ping'] }, id: Id } },
  friends: { type: 'object', required: ['type'], properties: { type: { enum: ['friends'] }, id: Id } },
  friend_requests: { type: 'object', required: ['type'], properties: { type: { enum: ['friend_requests'] }, id: Id } },
  user_settings: { type: 'object', required: ['type'], properties: { type: { enum: ['user_settings'] }, id: Id } },
  friend_add: { type: 'object', required: ['type', 'userId'], properties: { type: { enum: ['friend_add'] }, id: Id, userId: { type: 'string', minLength: 1 }, reason: { type: 'string' } } },
  friend_answer: { type: 'object', required: ['type', 'userId', 'accept'], properties: { type: { enum: ['friend_answer'] }, id: Id, userId: { type: 'string', minLength: 1 }, accept: { type: 'boolean' } } },
  friend_delete: { type: 'object', required: ['type', 'userId'], properties: { type: { enum: ['friend_delete'] }, id: Id, userId: { type: 'string', minLength: 1 } } },
  blacklist: { type: 'object', required: ['type', 'userId', 'blacked'], properties: { type: { enum: ['blacklist'] }, id: Id, userId: { type: 'string', minLength: 1 }, blacked: { type: 'boolean' } } },
  unknown: { type: 'object', required: ['type'], properties: { type: { type: 'string' }, id: Id } },
};

/** One fuzzed text or binary frame on an accepted connection. */
export interface FrameCase {
  kind: FrameKind | 'garbage' | 'binary';
  /** A JSON value (mutated), serialised at send time. */
  value?: unknown;
  /** Raw text or bytes instead. */
  raw?: Buffer;
  /** Give a frame whose `id` is a string or number a unique one (so its reply can be matched). */
  uniqueId: boolean;
  notes: string[];
}

const UNKNOWN_TYPES = fc.oneof(
  fc.constantFrom('Send', 'PING', 'send ', ' ping', 'sent', 'pong', 'message', 'hello', 'synced', 'error', '', 'constructor', '__proto__', 'toString', 'hasOwnProperty'),
  hostileString,
);

export function frameCaseArb(): fc.Arbitrary<FrameCase> {
  const ctx: GenContext = { pools: POOLS, happy: 0.5 };
  const structured = fc.constantFrom(...FRAME_KINDS).chain((kind) =>
    fc
      .tuple(validArb(FRAME_SCHEMAS[kind], '', ctx), mutationsArb, fc.boolean(), kind === 'unknown' ? UNKNOWN_TYPES : fc.constant(kind))
      .map(([value, muts, uniqueId, type]: [unknown, Mutation[], boolean, string]) => {
        const v = value !== null && typeof value === 'object' ? { ...(value as Record<string, unknown>), type } : value;
        const { value: mutated, notes } = applyMutations(v, FRAME_SCHEMAS[kind], muts);
        return { kind, value: mutated, uniqueId: uniqueId || kind === 'ping', notes } satisfies FrameCase;
      }),
  );
  return fc.oneof(
    { arbitrary: structured, weight: 8 },
    { arbitrary: garbageBytes.map((raw) => ({ kind: 'garbage' as const, raw, uniqueId: false, notes: ['text garbage'] })), weight: 1 },
    { arbitrary: garbageBytes.map((raw) => ({ kind: 'binary' as const, raw, uniqueId: false, notes: ['binary frame'] })), weight: 1 },
  );
}

/**
 * Protocol-level abuse after a handshake. `expect`: what a server that follows RFC 6455 (and `ws`)
 * does on an accepted connection: close with one of `codes` (or just end the TCP connection), or
 * stay open and keep answering.
 */
export interface Abuse {
  name: string;
  /** Frames, or raw bytes, written in order. */
  writes: Array<FrameSpec | Buffer>;
  expect: { close: readonly number[] } | 'stay' | 'either';
  /** Half-close the socket after writing (a truncated frame never completes otherwise). */
  halfClose?: boolean;
}

const text = (s: string) => Buffer.from(s, 'utf8');
const PING_JSON = text('{"type":"ping","id":"abuse"}');

/** The limit the fuzz servers keep (gateway.maxFrameBytes default). */
export const MAX_FRAME_BYTES = 65536;

export const ABUSES: readonly Abuse[] = [
  ...[3, 4, 5, 6, 7, 11, 12, 13, 14, 15].map((op) => ({ name: `reserved opcode ${op}`, writes: [{ opcode: op, payload: text('x') }], expect: { close: [1002] } })),
  ...[1, 2, 4, 7].map((rsv) => ({ name: `RSV bits ${rsv}`, writes: [{ opcode: Opcode.text, rsv, payload: PING_JSON }], expect: { close: [1002] } })),
  { name: 'unmasked text frame', writes: [{ opcode: Opcode.text, masked: false, payload: PING_JSON }], expect: { close: [1002] } },
  ...[0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535].map((code) => ({
    name: `close code ${code}`,
    writes: [{ opcode: Opcode.close, payload: closePayload(code) }],
    expect: { close: [1002] },
  })),
  { name: 'close with a 1-byte payload', writes: [{ opcode: Opcode.close, payload: Buffer.from([3]) }], expect: { close: [1002] } },
  { name: 'close reason not UTF-8', writes: [{ opcode: Opcode.close, payload: closePayload(1000, INVALID_UTF8[0]) }], expect: { close: [1007] } },
  { name: 'close 1000 (normal)', writes: [{ opcode: Opcode.close, payload: closePayload(1000, text('bye')) }], expect: { close: [1000] } },
  { name: 'close 4999 (private range)', writes: [{ opcode: Opcode.close, payload: closePayload(4999) }], expect: { close: [4999] } },
  { name: 'close without a code', writes: [{ opcode: Opcode.close }], expect: { close: [1005, 1000] } },
  { name: '126-byte ping', writes: [{ opcode: Opcode.ping, payload: Buffer.alloc(126, 1) }], expect: { close: [1002] } },
  { name: 'fragmented ping', writes: [{ opcode: Opcode.ping, fin: false, payload: text('a') }], expect: { close: [1002] } },
  { name: 'fragmented close', writes: [{ opcode: Opcode.close, fin: false, payload: closePayload(1000) }], expect: { close: [1002] } },
  { name: 'orphan continuation', writes: [{ opcode: Opcode.continuation, payload: text('x') }], expect: { close: [1002] } },
  {
    name: 'new message inside a fragmented one',
    writes: [
      { opcode: Opcode.text, fin: false, payload: text('{"type":') },
      { opcode: Opcode.text, payload: text('"ping"}') },
    ],
    expect: { close: [1002] },
  },
  ...INVALID_UTF8.map((b, i) => ({ name: `invalid UTF-8 text #${i}`, writes: [{ opcode: Opcode.text, payload: Buffer.concat([text('{"type":"ping","id":"'), b, text('"}')]) }], expect: { close: [1007] } })),
  {
    name: 'invalid UTF-8 split across fragments',
    writes: [
      { opcode: Opcode.text, fin: false, payload: Buffer.from([0x22, 0xe2]) },
      { opcode: Opcode.continuation, payload: Buffer.from([0x28, 0xa1]) },
    ],
    expect: { close: [1007] },
  },
  { name: 'text frame over the payload limit', writes: [{ opcode: Opcode.text, payload: Buffer.alloc(MAX_FRAME_BYTES + 1, 0x61) }], expect: { close: [1009] } },
  { name: 'binary frame 4x the payload limit', writes: [{ opcode: Opcode.binary, payload: Buffer.alloc(4 * MAX_FRAME_BYTES, 0) }], expect: { close: [1009] } },
  {
    name: 'fragments adding up past the payload limit',
    writes: [
      { opcode: Opcode.text, fin: false, payload: Buffer.alloc(MAX_FRAME_BYTES / 2, 0x61) },
      { opcode: Opcode.continuation, fin: false, payload: Buffer.alloc(MAX_FRAME_BYTES / 2, 0x61) },
      { opcode: Opcode.continuation, payload: Buffer.alloc(16, 0x61) },
    ],
    expect: { close: [1009] },
  },
  { name: 'declared length 2^63', writes: [{ opcode: Opcode.text, declaredLength: 1n << 63n, payload: text('x') }], expect: { close: [1009, 1002] } },
  { name: 'declared length 2^53', writes: [{ opcode: Opcode.text, declaredLength: 1n << 53n, payload: text('x') }], expect: { close: [1009, 1002] } },
  { name: 'non-minimal 64-bit length', writes: [{ opcode: Opcode.text, lengthForm: '64', payload: PING_JSON }], expect: 'either' },
  { name: 'non-minimal 16-bit length', writes: [{ opcode: Opcode.text, lengthForm: '16', payload: PING_JSON }], expect: 'either' },
  { name: 'truncated frame, then half-close', writes: [Buffer.from([0x81, 0xfe, 0x01])], expect: 'either', halfClose: true },
  { name: 'ping burst (20 pings)', writes: Array.from({ length: 20 }, () => ({ opcode: Opcode.ping, payload: Buffer.alloc(125, 7) })), expect: 'stay' },
  // `ws` cuts off a peer with more than 60 pongs pending (maxPendingAutoPongs): answered or cut off.
  { name: 'ping flood (200 pings)', writes: Array.from({ length: 200 }, () => ({ opcode: Opcode.ping, payload: Buffer.alloc(125, 7) })), expect: 'either' },
  { name: 'unsolicited pongs', writes: Array.from({ length: 20 }, () => ({ opcode: Opcode.pong, payload: text('p') })), expect: 'stay' },
  { name: 'empty text frame', writes: [{ opcode: Opcode.text }], expect: 'stay' },
  { name: 'empty binary frame', writes: [{ opcode: Opcode.binary }], expect: 'stay' },
  {
    name: 'valid fragmented text message',
    writes: [
      { opcode: Opcode.text, fin: false, payload: text('{"type":') },
      { opcode: Opcode.ping, payload: text('mid') },
      { opcode: Opcode.continuation, payload: text('"ping","id":"frag"}') },
    ],
    expect: 'stay',
  },
  {
    name: '1000 one-byte fragments',
    writes: [
      { opcode: Opcode.text, fin: false, payload: text('"') },
      ...Array.from({ length: 998 }, () => ({ opcode: Opcode.continuation, fin: false, payload: text('a') })),
      { opcode: Opcode.continuation, payload: text('"') },
    ],
    expect: 'stay',
  },
];

/**
 * The frames issue 8 lists as killing the process on a refused upgrade: a reserved opcode, RSV1, an
 * unmasked frame, close code 999, a 126-byte ping, a fragmented ping, an orphan continuation,
 * invalid UTF-8 text, a message over the payload limit.
 */
export const ISSUE8_FRAMES: readonly string[] = [
  'reserved opcode 3',
  'RSV bits 4',
  'unmasked text frame',
  'close code 999',
  '126-byte ping',
  'fragmented ping',
  'orphan continuation',
  'invalid UTF-8 text #0',
  'text frame over the payload limit',
];

/** One abuse by name (regression tests). */
export function abuse(name: string): Abuse {
  const a = ABUSES.find((x) => x.name === name);
  if (!a) throw new Error(`no abuse named ${name}`);
  return a;
}

/** An abuse from the list, or random bytes after the handshake. */
export const abuseArb: fc.Arbitrary<Abuse> = fc.oneof(
  { arbitrary: fc.constantFrom(...ABUSES), weight: 9 },
  // Random bytes may start a frame that never completes: the client half-closes, and the server must end the connection.
  { arbitrary: garbageBytes.map((b) => ({ name: `random bytes ${b.toString('hex').slice(0, 32)}`, writes: [b], expect: 'either' as const, halfClose: true })), weight: 1 },
);
