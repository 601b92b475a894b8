import crypto from 'node:crypto';

/**
 * Signatures of the platform → channel app direction.
 *
 * - Seed 002 (both directions use the same construction): `lowercase_hex(sha1(appid + token + timestamp))`,
 *   plain concatenation, no separator. Outbound, `token` is the app's `outboundToken` (its secret when
 *   none is set): real 002 platforms sign this direction with a token of the app's own.
 * - Seed 000 has no outbound signature of its own; Switchboard's is an HMAC-SHA256 with the app's secret
 *   over `timestamp + "." + body` (the exact body bytes), sent as `X-Switchboard-Signature: sha256=<hex>`
 *   with `X-Switchboard-Timestamp: <ms>`. Covering the body (unlike 002's) means a captured request
 *   cannot be replayed with another body; covering the timestamp lets the app refuse stale ones.
 */
export function sign002(appId: string, token: string, timestamp: string | number): string {
  // crypto.hash: the one-shot digest, about a third of a createHash object's cost per call.
  return crypto.hash('sha1', `${appId}${token}${timestamp}`, 'hex');
}

/** HMAC-SHA256 (lowercase hex) of `${timestamp}.${body}` keyed with the app's secret (seed 000, outbound). */
export function sign000(secret: string, timestamp: string | number, body: string): string {
  return crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** Constant-time comparison of two lowercase hex signatures (false when the lengths differ). */
export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
