import fc from 'fast-check';
import { RawJson } from './json-text.js';

/**
 * Shared generators of hostile values: strings that trip parsers and normalisers, numbers outside
 * every range the API documents, numeric strings that are almost integers, and raw bytes.
 */

/** Strings every text field should survive: control characters, lone surrogates, RTL, zero-width, NUL, combining marks. */
export const UNICODE_SAMPLES: readonly string[] = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  '😀',
  '👩‍👩‍👧‍👦',
  '\u202eevil\u202c',
  '\u200b\u200c\u200d\ufeff',
  'e\u0301\u0301\u0301\u0301',
  'İı',
  'ß',
  '\r\n',
  '\t',
  '%00',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  "'; DROP TABLE users; --",
  '${jndi:ldap://x}',
  '__proto__',
  'constructor',
  '\\u0000',
  '"',
  '\\',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '٣',
  '５',
];

/** Almost integers: the forms a loose parser (trim, Number(), parseInt) accepts and a strict one refuses. */
export const NUMERIC_STRINGS: readonly string[] = [
  ' 5',
  '5 ',
  '\t7',
  '5\n',
  '\n1',
  ' 1 ',
  '+1',
  '-1',
  '01',
  '0x10',
  '1e3',
  '1.0',
  '1.5',
  '',
  ' ',
  'NaN',
  'Infinity',
  '9007199254740993',
  '2147483648',
  '１',
  '٣',
  '1_000',
  '0b1',
  '\u00a01',
  '1\u0000',
];

/** Numbers out of every documented range, and JSON number forms JSON.stringify never writes. */
export const OUT_OF_RANGE: readonly unknown[] = [
  -1,
  0.5,
  -0.5,
  2147483648,
  -2147483649,
  4294967296,
  9007199254740992,
  -9007199254740992,
  1e300,
  -1e300,
  Number.MIN_VALUE,
  new RawJson('1e400', '1e400'),
  new RawJson('-1e400', '-1e400'),
  new RawJson('9223372036854775808', '2^63'),
  new RawJson('-0', '-0'),
  new RawJson('1.0', '1.0'),
  new RawJson('1E2', '1E2'),
  new RawJson('0.0000000000000000000000001e25', 'tiny*big'),
  new RawJson(`1${'0'.repeat(400)}`, '10^400 in digits'),
];

/** A short string that is often unicode-hostile. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...UNICODE_SAMPLES), weight: 3 },
  { arbitrary: fc.string({ maxLength: 16, unit: 'binary' }), weight: 2 },
  { arbitrary: fc.string({ maxLength: 16 }), weight: 2 },
);

/** `n` characters of `unit` repeated (a large string built in linear time). */
export function repeatTo(unit: string, n: number): string {
  if (unit.length === 0) return '';
  return unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
}

/** Units of huge strings: ASCII, multi-byte, characters JSON must escape. */
export const HUGE_UNITS: readonly string[] = ['a', 'é', '😀', '"\\', '\u0000', '\ud800', ' '];

/** Bytes that are not UTF-8 (overlong forms, surrogates, stray continuation bytes, 0xFF). */
export const INVALID_UTF8: readonly Buffer[] = [
  Buffer.from([0xff]),
  Buffer.from([0xc0, 0xaf]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0x80]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
  Buffer.from([0xe2, 0x82]),
];

/** Garbage a body, frame or header may carry: random bytes, invalid UTF-8, truncated JSON, wrong top-level values. */
export const garbageBytes: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  fc.constantFrom(...INVALID_UTF8).map((b) => Buffer.concat([Buffer.from('{"a":"'), b, Buffer.from('"}')])),
  fc.constantFrom(
    '',
    ' ',
    '\r\n\r\n',
    '{',
    '}',
    '{"',
    '{"a":',
    '{"a":1,}',
    "{'a':1}",
    '[]',
    '[1,2]',
    '"text"',
    '123',
    'null',
    'true',
    'NaN',
    '{"a":NaN}',
    '{"a":undefined}',
    '{"a":1}{"b":2}',
    '{"a":1} trailing',
    '\ufeff{}',
    '/*c*/{}',
    '{"__proto__":{"polluted":1}}',
    '{"constructor":{"prototype":{"polluted":1}}}',
    'a=1&b=2',
    '--boundary\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--boundary--',
    '\u0000\u0000\u0000',
  ).map((s) => Buffer.from(s, 'utf8')),
  fc.constant(Buffer.from('{"a":1}', 'utf16le')),
);
