import crypto from 'node:crypto';
import { CoreError } from '../../core/errors.js';
import type { TokenBucket } from './rate-limit.js';
import type { ReplayGuard } from './replay-guard.js';

/*
 * crypto.hash (Node >= 20.12; package.json requires >= 20.18.1 anyway, for undici 7) rather than
 * createHash: one-shot hashing skips the Hash object, ~0.64 us instead of ~1.0 us per signature check
 * on Node 20.20 (300 000 sha1 digests of a typical nonce|secret|timestamp, 3 runs).
 */

/** Wildfire's admin signature: lowercase hex sha1 of `nonce|secret|timestamp`. */
export function adminSign(nonce: string, secret: string, timestamp: string): string {
  return crypto.hash('sha1', `${nonce}|${secret}|${timestamp}`, 'hex');
}

/** Why a request's signature headers were refused. */
export type AdminAuthFailure = 'sign_missing' | 'sign_expired' | 'auth_failure' | 'replayed' | 'channel_no_exist' | 'channel_no_secret';

/** Wildfire's code and message for each failure of the admin signature. */
const AUTH_CODES: Record<AdminAuthFailure, readonly [number, string]> = {
  sign_missing: [239, 'api not signed or sign parameter not completion'],
  sign_expired: [243, 'sign expired'],
  auth_failure: [244, 'auth failure'],
  replayed: [244, 'auth failure'],
  // The channel API's (a channel signing with its own id and secret, src/api/robot/).
  channel_no_exist: [236, 'channel no exist'],
  channel_no_secret: [237, 'channel no secret'],
};

/** A refused admin signature: the admin surface's own error, answered in Wildfire's envelope. */
export class AdminAuthError extends Error {
  readonly code: number;
  readonly msg: string;
  constructor(readonly reason: AdminAuthFailure) {
    super(reason);
    this.name = 'AdminAuthError';
    [this.code, this.msg] = AUTH_CODES[reason];
  }
}

type HeaderValue = string | string[] | undefined;

function first(v: HeaderValue): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export interface AdminAuthOptions {
  secret: string;
  /** Accepted distance between the timestamp header and now, either way (ms). */
  windowMs: number;
  replay: ReplayGuard;
  /** Absent: no rate limit. */
  rate?: TokenBucket | undefined;
}

/**
 * Checks the nonce/timestamp/sign headers of an admin request, in this order:
 * 239 a header is missing or the timestamp is not a decimal number; 243 the timestamp is outside the
 * window; 244 the sign does not match; 250 over the rate limit (or the replay cache is full);
 * 244 the same (nonce, timestamp, sign) was already accepted.
 * Accepts every request the Java SDK sends: its nonces, ms timestamps and lowercase hex signs.
 */
export class AdminAuth {
  constructor(private readonly opts: AdminAuthOptions) {}

  check(headers: { nonce?: HeaderValue; timestamp?: HeaderValue; sign?: HeaderValue }, now: number): void {
    const nonce = first(headers.nonce);
    const timestamp = first(headers.timestamp);
    const sign = first(headers.sign);
    if (!nonce || !timestamp || !sign || !/^[0-9]{1,16}$/.test(timestamp)) throw new AdminAuthError('sign_missing');
    const ts = Number(timestamp);
    if (Math.abs(now - ts) > this.opts.windowMs) throw new AdminAuthError('sign_expired');
    const expected = crypto.hash('sha1', `${nonce}|${this.opts.secret}|${timestamp}`, 'buffer');
    if (sign.length !== 40 || !/^[0-9a-fA-F]{40}$/.test(sign) || !crypto.timingSafeEqual(expected, Buffer.from(sign, 'hex'))) {
      throw new AdminAuthError('auth_failure');
    }
    if (this.opts.rate && !this.opts.rate.take(now)) throw new CoreError('over_frequency');
    // The digest identifies the whole (nonce, timestamp, sign) triple: its first 64 bits are the key.
    const verdict = this.opts.replay.remember(ts, expected.readUInt32BE(0), expected.readUInt32BE(4), now);
    if (verdict === 'replay') throw new AdminAuthError('replayed');
    if (verdict === 'full') throw new CoreError('over_frequency', 'replay cache full');
  }
}
