import crypto from 'node:crypto';
import { sign002 } from '../../channel-apps/signature.js';

/** Seed 002's signature, both directions: lowercase_hex(sha1(appid + key + timestamp)) (one construction: sign002). */
export { sign002 as staffSignature } from '../../channel-apps/signature.js';

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

/** Apps whose last expected signature is remembered, at most (past it, all are forgotten). */
const REMEMBERED_APPS = 1_000;

/**
 * The expected signature of (appid, secret, timestamp), remembered per app for its latest timestamp:
 * seed 002's clients sign the timestamp only (not the body) and reuse one signed query for every
 * request within a second, so most requests need no SHA-1. Keyed by app and checked against the
 * secret, so a changed secret is never matched by the old signature.
 */
export class StaffSignatures {
  private readonly last = new Map<string, { secret: string; timestamp: string; expected: Buffer }>();

  matches(appId: string, secret: string, timestamp: string, given: string): boolean {
    let e = this.last.get(appId);
    if (!e || e.secret !== secret || e.timestamp !== timestamp) {
      if (this.last.size >= REMEMBERED_APPS) this.last.clear();
      e = { secret, timestamp, expected: Buffer.from(sign002(appId, secret, timestamp), 'utf8') };
      this.last.set(appId, e);
    }
    const b = Buffer.from(given, 'utf8');
    return e.expected.length === b.length && crypto.timingSafeEqual(e.expected, b);
  }
}
