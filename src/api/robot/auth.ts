import crypto from 'node:crypto';
import { CoreError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import { MAX_ID_LENGTH } from '../../core/limits.js';
import { AdminAuthError } from '../admin/signing.js';
import type { TokenBucket } from '../admin/rate-limit.js';
import type { ReplayGuard } from '../admin/replay-guard.js';
import type { RequestAuth } from '../admin/plugin.js';

type HeaderValue = string | string[] | undefined;

function first(v: HeaderValue): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export interface RobotAuthOptions {
  hub: Hub;
  /** Accepted distance between the timestamp header and now, either way (ms). */
  windowMs: number;
  replay: ReplayGuard;
  rate?: TokenBucket | undefined;
}

/**
 * The signature of Wildfire's RobotService SDK: headers `rid` (the robot's user id), `nonce`,
 * `timestamp` (ms) and `sign` = lowercase hex sha1 of `nonce|robotSecret|timestamp`. Checked in this
 * order: 239 a header is missing or the timestamp is not decimal; 243 the timestamp is outside the
 * window; 253 `rid` is not a robot; 248 the robot has no secret; 244 the sign does not match;
 * 250 over the rate limit; 244 the same signed request was already accepted (replay).
 */
export class RobotAuth implements RequestAuth {
  constructor(private readonly opts: RobotAuthOptions) {}

  async check(headers: Record<string, HeaderValue>, now: number): Promise<void> {
    const nonce = first(headers['nonce']);
    const timestamp = first(headers['timestamp']);
    const sign = first(headers['sign']);
    const rid = first(headers['rid']);
    if (!nonce || !timestamp || !sign || !rid || !/^[0-9]{1,16}$/.test(timestamp)) throw new AdminAuthError('sign_missing');
    if (rid.length > MAX_ID_LENGTH) throw new CoreError('invalid_parameter', 'rid is too long');
    const ts = Number(timestamp);
    if (Math.abs(now - ts) > this.opts.windowMs) throw new AdminAuthError('sign_expired');
    const secret = await this.opts.hub.robots.secretOf(rid);
    const expected = crypto.hash('sha1', `${nonce}|${secret}|${timestamp}`, 'buffer');
    if (sign.length !== 40 || !/^[0-9a-fA-F]{40}$/.test(sign) || !crypto.timingSafeEqual(expected, Buffer.from(sign, 'hex'))) {
      throw new AdminAuthError('auth_failure');
    }
    if (this.opts.rate && !this.opts.rate.take(now)) throw new CoreError('over_frequency');
    const verdict = this.opts.replay.remember(ts, expected.readUInt32BE(0), expected.readUInt32BE(4), now);
    if (verdict === 'replay') throw new AdminAuthError('replayed');
    if (verdict === 'full') throw new CoreError('over_frequency', 'replay cache full');
  }
}

/** The robot a request was signed by (its `rid` header; only called after RobotAuth accepted it). */
export function robotOf(headers: Record<string, HeaderValue>): string {
  const rid = first(headers['rid']);
  if (!rid) throw new AdminAuthError('sign_missing');
  return rid;
}
