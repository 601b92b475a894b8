import fc from 'fast-check';
import { abuseArb, type Abuse } from './ws-arbitraries.js';

/**
 * WebSocket handshakes (docs/client-protocol.md, "Connecting"): the request path, the token and
 * cursor query parameters and the handshake headers, each drawn from valid and hostile forms, plus
 * what the client does once upgraded. `expectedOf` says what the gateway must answer.
 */

export const PATHS = {
  ws: { path: '/ws', ok: true },
  dotSegments: { path: '/x/../ws', ok: true },
  absoluteForm: { path: 'http://127.0.0.1/ws', ok: true },
  trailingSlash: { path: '/ws/', ok: false },
  upperCase: { path: '/WS', ok: false },
  doubleSlash: { path: '//ws', ok: false },
  percentEncoded: { path: '/%77s', ok: false },
  root: { path: '/', ok: false },
  deep: { path: `/ws${'/a'.repeat(2000)}`, ok: false },
  notAUrl: { path: '//[', ok: false },
  admin: { path: '/admin/message/send', ok: false },
} as const;
export type PathMode = keyof typeof PATHS;

export const TOKEN_MODES = ['valid', 'forged', 'expired', 'revoked', 'missing', 'empty', 'validThenForged', 'forgedThenValid', 'huge', 'unicode', 'percentGarbage'] as const;
export type TokenMode = (typeof TOKEN_MODES)[number];
/** Token modes whose first `token` parameter is a live token. */
export const TOKEN_OK: ReadonlySet<TokenMode> = new Set(['valid', 'validThenForged']);

/** Cursor query values (raw, already URL-encoded) and whether the gateway accepts them. */
export const CURSORS = {
  none: { q: undefined, ok: true },
  zero: { q: '0', ok: true },
  one: { q: '1', ok: true },
  ahead: { q: '999999999', ok: true },
  maxSafe: { q: '9007199254740991', ok: true },
  firstOfTwoOk: { q: '1&cursor=-1', ok: true },
  overSafe: { q: '9007199254740992', ok: false },
  negative: { q: '-1', ok: false },
  float: { q: '1.5', ok: false },
  hex: { q: '0x10', ok: false },
  exponent: { q: '1e3', ok: false },
  leadingSpace: { q: '%201', ok: false },
  plus: { q: '+1', ok: false },
  empty: { q: '', ok: false },
  digits25: { q: '1234567890123456789012345', ok: false },
  digits5000: { q: '1'.repeat(5000), ok: false },
  unicodeDigits: { q: '%EF%BC%91', ok: false },
  nul: { q: '1%00', ok: false },
} as const;
export type CursorMode = keyof typeof CURSORS;

/**
 * Handshake header variants: true, a valid WebSocket handshake; false, refused over HTTP (4xx);
 * 'either' where the RFCs leave room (HTTP/1.0, no Host).
 */
export const HEADER_MODES = {
  standard: true,
  lowerCaseNames: true,
  extensionsGarbage: true,
  subprotocols: true,
  duplicateSubprotocols: false,
  originWeird: true,
  noUpgrade: false,
  noConnection: false,
  noKey: false,
  badKey: false,
  twoKeys: false,
  // `ws` speaks versions 13 and 8 (hybi-08); others are refused.
  version7: false,
  noVersion: false,
  post: false,
  hugeHeader: false,
  // HTTP/1.1 requires Host, but the upgrade path may not insist.
  noHost: 'either',
  http10: 'either',
} as const;
export type HeaderMode = keyof typeof HEADER_MODES;

export type AfterMode = 'nothing' | 'ping' | 'abuse';

export interface HandshakeCase {
  path: PathMode;
  token: TokenMode;
  cursor: CursorMode;
  headers: HeaderMode;
  after: AfterMode;
  abuse: Abuse;
}

export const handshakeArb: fc.Arbitrary<HandshakeCase> = fc.record({
  path: fc.oneof({ arbitrary: fc.constant<PathMode>('ws'), weight: 4 }, { arbitrary: fc.constantFrom(...(Object.keys(PATHS) as PathMode[])), weight: 1 }),
  token: fc.oneof({ arbitrary: fc.constant<TokenMode>('valid'), weight: 2 }, { arbitrary: fc.constantFrom(...TOKEN_MODES), weight: 3 }),
  cursor: fc.oneof({ arbitrary: fc.constant<CursorMode>('none'), weight: 2 }, { arbitrary: fc.constantFrom(...(Object.keys(CURSORS) as CursorMode[])), weight: 3 }),
  headers: fc.oneof({ arbitrary: fc.constant<HeaderMode>('standard'), weight: 4 }, { arbitrary: fc.constantFrom(...(Object.keys(HEADER_MODES) as HeaderMode[])), weight: 1 }),
  after: fc.constantFrom<AfterMode>('nothing', 'ping', 'abuse', 'abuse'),
  abuse: abuseArb,
});

export type Expected =
  | { kind: 'http' }
  | { kind: 'refused'; code: 4000 | 4001 }
  | { kind: 'open' }
  | { kind: 'either' };

/** What the gateway must answer (order of its checks: path, handshake, cursor, token). */
export function expectedOf(c: HandshakeCase): Expected {
  const headers = HEADER_MODES[c.headers];
  if (!PATHS[c.path].ok) return { kind: 'http' };
  if (headers === false) return { kind: 'http' };
  if (headers === 'either') return { kind: 'either' };
  if (!CURSORS[c.cursor].ok) return { kind: 'refused', code: 4000 };
  if (!TOKEN_OK.has(c.token)) return { kind: 'refused', code: 4001 };
  return { kind: 'open' };
}
