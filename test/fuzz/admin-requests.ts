import fc from 'fast-check';
import { sdkSign } from '../helpers/admin-client.js';
import { requestBytes, type Header } from '../helpers/raw-http.js';
import { repeatTo } from './arbitraries.js';
import type { AdminExpectation } from './invariants.js';

/**
 * How a fuzzed admin request is framed: its signature headers, Content-Type and length framing, as
 * symbolic modes drawn by fast-check and turned into bytes at send time (nonces and timestamps must
 * be fresh on every run, replays included).
 */

export const SIGN_MODES = [
  'valid',
  'validUpperSign',
  'headerNamesUpper',
  'missingNonce',
  'missingTimestamp',
  'missingSign',
  'emptyNonce',
  'dupNonce',
  'dupTimestamp',
  'dupSign',
  'unicodeNonce',
  'longNonce',
  'tsFloat',
  'tsNegative',
  'tsOld',
  'tsFuture',
  'tsHuge',
  'tsSpaces',
  'tsSeconds',
  'tsHex',
  'signWrong',
  'signShort',
  'signNonHex',
  'signOtherSecret',
  'signLong',
] as const;
export type SignMode = (typeof SIGN_MODES)[number];

/** Modes that sign correctly (the request runs): the docs set no length limit on the nonce. */
const AUTHENTIC: ReadonlySet<SignMode> = new Set(['valid', 'validUpperSign', 'headerNamesUpper', 'longNonce']);

export const CONTENT_TYPES = ['json', 'sdk', 'missing', 'text', 'form', 'multipart', 'invalidMedia', 'latin1', 'long', 'dup', 'gzip', 'controlChars'] as const;
export type ContentTypeMode = (typeof CONTENT_TYPES)[number];

export const LENGTH_MODES = [
  'exact',
  'short',
  'long',
  'missing',
  'negative',
  'nonNumeric',
  'dupConflict',
  'dupSame',
  'chunked',
  'chunkedAndLength',
  'badChunk',
  'huge',
  'expect100',
  'spaces',
] as const;
export type LengthMode = (typeof LENGTH_MODES)[number];

export interface Framing {
  sign: SignMode;
  contentType: ContentTypeMode;
  length: LengthMode;
  /** Many extra headers, a very long header, or none. */
  extra: 'none' | 'many' | 'longHeader' | 'hugeHeader' | 'connectionClose';
}

export const framingArb: fc.Arbitrary<Framing> = fc.record({
  sign: fc.oneof({ arbitrary: fc.constant<SignMode>('valid'), weight: 3 }, { arbitrary: fc.constantFrom(...SIGN_MODES), weight: 4 }),
  contentType: fc.oneof({ arbitrary: fc.constant<ContentTypeMode>('sdk'), weight: 2 }, { arbitrary: fc.constantFrom(...CONTENT_TYPES), weight: 3 }),
  length: fc.oneof({ arbitrary: fc.constant<LengthMode>('exact'), weight: 3 }, { arbitrary: fc.constantFrom(...LENGTH_MODES), weight: 3 }),
  extra: fc.constantFrom('none', 'none', 'many', 'longHeader', 'hugeHeader', 'connectionClose'),
});

/** The framing of an ordinary SDK request (signed, SDK content type, exact length). */
export const SDK_FRAMING: Framing = { sign: 'valid', contentType: 'sdk', length: 'exact', extra: 'none' };

let nonceCounter = 1_000_000 + Math.floor(Math.random() * 1_000_000);

function signHeaders(mode: SignMode, secret: string): Header[] {
  const nonce = String(nonceCounter++);
  const ts = String(Date.now());
  const sign = sdkSign(nonce, secret, ts);
  const h = (n: string, t: string, s: string): Header[] => [
    ['nonce', n],
    ['timestamp', t],
    ['sign', s],
  ];
  switch (mode) {
    case 'valid':
      return h(nonce, ts, sign);
    case 'validUpperSign':
      return h(nonce, ts, sign.toUpperCase());
    case 'headerNamesUpper':
      return [
        ['NONCE', nonce],
        ['TimeStamp', ts],
        ['SIGN', sign],
      ];
    case 'missingNonce':
      return h(nonce, ts, sign).filter(([k]) => k !== 'nonce');
    case 'missingTimestamp':
      return h(nonce, ts, sign).filter(([k]) => k !== 'timestamp');
    case 'missingSign':
      return h(nonce, ts, sign).filter(([k]) => k !== 'sign');
    case 'emptyNonce':
      return h('', ts, sdkSign('', secret, ts));
    case 'dupNonce':
      return [...h(nonce, ts, sign), ['nonce', String(nonceCounter++)]];
    case 'dupTimestamp':
      return [...h(nonce, ts, sign), ['timestamp', ts]];
    case 'dupSign':
      return [...h(nonce, ts, sign), ['sign', sign]];
    case 'unicodeNonce': {
      // Header bytes are latin1 on the wire: the server sees these as mojibake, never as the signed text.
      const n = `${nonce}\u00e9\u00ff`;
      return h(n, ts, sdkSign(Buffer.from(n, 'latin1').toString('utf8'), secret, ts));
    }
    case 'longNonce': {
      const n = repeatTo('9', 8000);
      return h(n, ts, sdkSign(n, secret, ts));
    }
    case 'tsFloat':
      return h(nonce, `${ts}.5`, sdkSign(nonce, secret, `${ts}.5`));
    case 'tsNegative':
      return h(nonce, `-${ts}`, sdkSign(nonce, secret, `-${ts}`));
    case 'tsOld': {
      const t = String(Date.now() - 3_600_000);
      return h(nonce, t, sdkSign(nonce, secret, t));
    }
    case 'tsFuture': {
      const t = String(Date.now() + 3_600_000);
      return h(nonce, t, sdkSign(nonce, secret, t));
    }
    case 'tsHuge':
      return h(nonce, '99999999999999999999', sdkSign(nonce, secret, '99999999999999999999'));
    case 'tsSpaces':
      return h(nonce, ` ${ts}\t`, sdkSign(nonce, secret, ` ${ts}\t`));
    case 'tsSeconds': {
      const t = String(Math.floor(Date.now() / 1000));
      return h(nonce, t, sdkSign(nonce, secret, t));
    }
    case 'tsHex': {
      const t = `0x${Date.now().toString(16)}`;
      return h(nonce, t, sdkSign(nonce, secret, t));
    }
    case 'signWrong':
      return h(nonce, ts, sdkSign(nonce, `${secret}x`, ts).replace(/^./, (c) => (c === 'a' ? 'b' : 'a')));
    case 'signShort':
      return h(nonce, ts, sign.slice(0, 39));
    case 'signNonHex':
      return h(nonce, ts, `${sign.slice(0, 38)}zz`);
    case 'signOtherSecret':
      return h(nonce, ts, sdkSign(nonce, 'not-the-secret', ts));
    case 'signLong':
      return h(nonce, ts, `${sign}${sign}`);
  }
}

function contentTypeHeaders(mode: ContentTypeMode): Header[] {
  switch (mode) {
    case 'json':
      return [['Content-Type', 'application/json']];
    case 'sdk':
      return [
        ['Content-Type', 'application/json; charset=utf-8'],
        ['Content-Encoding', 'UTF-8'],
      ];
    case 'missing':
      return [];
    case 'text':
      return [['Content-Type', 'text/plain']];
    case 'form':
      return [['Content-Type', 'application/x-www-form-urlencoded']];
    case 'multipart':
      return [['Content-Type', 'multipart/form-data; boundary=xyz']];
    case 'invalidMedia':
      return [['Content-Type', 'not a media type']];
    case 'latin1':
      return [['Content-Type', 'application/json; charset=latin1']];
    case 'long':
      return [['Content-Type', `application/json; ${repeatTo('x=y; ', 6000)}`]];
    case 'dup':
      return [
        ['Content-Type', 'application/json'],
        ['Content-Type', 'text/plain'],
      ];
    case 'gzip':
      return [
        ['Content-Type', 'application/json'],
        ['Content-Encoding', 'gzip'],
      ];
    case 'controlChars':
      return [['Content-Type', 'application/json\u0001\u007f']];
  }
}

export interface BuiltRequest {
  bytes: Buffer;
  exp: AdminExpectation;
  halfClose: boolean;
}

/** The bytes of `body` POSTed to `path` with `framing`, and what the reply may be. */
export function buildAdminRequest(
  baseUrl: string,
  route: { path: string; signed: boolean; known: boolean | 'either' },
  body: Buffer,
  framing: Framing,
  secret: string,
): BuiltRequest {
  const headers: Header[] = [['Host', new URL(baseUrl).host], ...signHeaders(framing.sign, secret), ...contentTypeHeaders(framing.contentType)];
  let payload = body;
  let halfClose = false;
  // Framing a parser may refuse before any route sees it (Node answers 400 itself, or closes).
  let malformed = framing.contentType === 'controlChars';
  let mayClose = false;
  switch (framing.length) {
    case 'exact':
      headers.push(['Content-Length', String(body.length)]);
      break;
    case 'short':
      headers.push(['Content-Length', String(Math.max(0, body.length - 3))]);
      malformed = true; // the rest is parsed as a next request
      break;
    case 'long':
      headers.push(['Content-Length', String(body.length + 10)]);
      halfClose = true;
      mayClose = true;
      malformed = true; // the body ends early: Node may answer 400 itself
      break;
    case 'missing':
      malformed = true; // the body is parsed as a next request
      break;
    case 'negative':
      headers.push(['Content-Length', '-1']);
      malformed = true;
      break;
    case 'nonNumeric':
      headers.push(['Content-Length', 'abc']);
      malformed = true;
      break;
    case 'dupConflict':
      headers.push(['Content-Length', String(body.length)], ['Content-Length', String(body.length + 1)]);
      malformed = true;
      break;
    case 'dupSame':
      headers.push(['Content-Length', String(body.length)], ['Content-Length', String(body.length)]);
      malformed = true;
      break;
    case 'chunked':
      headers.push(['Transfer-Encoding', 'chunked']);
      payload = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
      break;
    case 'chunkedAndLength':
      headers.push(['Transfer-Encoding', 'chunked'], ['Content-Length', String(body.length)]);
      payload = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
      malformed = true;
      break;
    case 'badChunk':
      headers.push(['Transfer-Encoding', 'chunked']);
      payload = Buffer.concat([Buffer.from('zz\r\n'), body, Buffer.from('\r\n0\r\n\r\n')]);
      malformed = true;
      mayClose = true;
      break;
    case 'huge':
      headers.push(['Content-Length', '99999999999']);
      halfClose = true;
      mayClose = true;
      malformed = true;
      break;
    case 'expect100':
      headers.push(['Content-Length', String(body.length)], ['Expect', '100-continue']);
      break;
    case 'spaces':
      headers.push(['Content-Length', ` ${body.length} `]);
      break;
  }
  switch (framing.extra) {
    case 'none':
      break;
    case 'many':
      for (let i = 0; i < 90; i++) headers.push([`X-Fuzz-${i}`, String(i)]);
      break;
    case 'longHeader':
      headers.push(['X-Fuzz', repeatTo('a', 8000)]);
      break;
    case 'hugeHeader':
      // Past Node's 16 KiB header limit: 431 from the parser.
      headers.push(['X-Fuzz', repeatTo('a', 20_000)]);
      malformed = true;
      break;
    case 'connectionClose':
      headers.push(['Connection', 'close']);
      break;
  }
  // Node's parser refuses a header section over 16 KiB (431), and may refuse non-ASCII header bytes.
  if (headers.reduce((n, [k, v]) => n + k.length + v.length + 4, 0) > 15_000) malformed = true;
  if (framing.sign === 'unicodeNonce') malformed = true;
  const authentic = !route.signed || AUTHENTIC.has(framing.sign);
  return {
    bytes: requestBytes({ method: 'POST', path: route.path, headers, body: payload }),
    exp: { known: route.known, authentic, mayClose, mayBare4xx: malformed },
    halfClose,
  };
}
