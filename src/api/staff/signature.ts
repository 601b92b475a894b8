import crypto from 'node:crypto';

/** Seed 002's signature, both directions: lowercase_hex(sha1(appid + key + timestamp)) (one construction: sign002). */
export { sign002 as staffSignature } from '../../channel-apps/signature.js';

/** Exact comparison (lowercase hex as sent), in constant time for equal lengths. */
export function signatureMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/**
 * The signed timestamp as epoch ms: callers send milliseconds (`Date.now()`) or seconds (`time()`).
 * A value below 10^11 is taken as seconds (10^11 s is the year 5138; 10^11 ms is 1973). Undefined for
 * anything but 1 to 16 digits.
 */
export function timestampMs(ts: string): number | undefined {
  if (!/^[0-9]{1,16}$/.test(ts)) return undefined;
  const n = Number(ts);
  return n < 1e11 ? n * 1000 : n;
}
