import crypto from 'node:crypto';
import { CoreError, isCoreError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import { MAX_ID_LENGTH } from '../../core/limits.js';
import { AdminAuthError } from '../admin/signing.js';
import { TokenBucket } from '../admin/rate-limit.js';
import type { ReplayGuard } from '../admin/replay-guard.js';
import type { RequestAuth } from '../admin/plugin.js';

type HeaderValue = string | string[] | undefined;

function first(v: HeaderValue): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export interface CallerAuthOptions {
  /** The header naming the caller: `rid` (a robot) or `cid` (a channel). */
  header: 'rid' | 'cid';
  /** The caller's secret; rejects with the surface's error when the caller is unknown or has none. */
  secretOf: (id: string) => Promise<string>;
  /** Accepted distance between the timestamp header and now, either way (ms). */
  windowMs: number;
  replay: ReplayGuard;
  /** Requests per second allowed to each caller id (burst: one second of it); absent or 0: no limit. */
  ratePerSecond?: number | undefined;
}

/** Most callers with a rate bucket at once; past it the oldest bucket is dropped (it starts full again). */
const MAX_BUCKETS = 10_000;

/**
 * The signature of Wildfire's RobotService and ChannelServiceApi SDKs: headers `rid` (the robot's
 * user id) or `cid` (the channel's id), `nonce`, `timestamp` (ms) and `sign` = lowercase hex sha1 of
 * `nonce|secret|timestamp` with the caller's own secret. Checked in this order: 239 a header is missing
 * or the timestamp is not decimal; 251 the id is over 128 characters; 243 the timestamp is outside the
 * window; the caller unknown or without a secret (robot: 253 / 248; channel: 236 / 237); 244 the sign
 * does not match; 250 over the rate limit; 244 the same signed request was already accepted (replay).
 */
export class CallerAuth implements RequestAuth {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly opts: CallerAuthOptions) {}

  /** One token of the caller's own bucket (Wildfire limits each robot and channel separately). */
  private take(id: string, now: number): boolean {
    const rate = this.opts.ratePerSecond ?? 0;
    if (rate <= 0) return true;
    let b = this.buckets.get(id);
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
      b = new TokenBucket(rate, Math.max(1, Math.ceil(rate)), now);
      this.buckets.set(id, b);
    }
    return b.take(now);
  }

  async check(headers: Record<string, HeaderValue>, now: number): Promise<void> {
    const nonce = first(headers['nonce']);
    const timestamp = first(headers['timestamp']);
    const sign = first(headers['sign']);
    const rid = first(headers[this.opts.header]);
    if (!nonce || !timestamp || !sign || !rid || !/^[0-9]{1,16}$/.test(timestamp)) throw new AdminAuthError('sign_missing');
    if (rid.length > MAX_ID_LENGTH) throw new CoreError('invalid_parameter', `${this.opts.header} is too long`);
    const ts = Number(timestamp);
    if (Math.abs(now - ts) > this.opts.windowMs) throw new AdminAuthError('sign_expired');
    const secret = await this.opts.secretOf(rid);
    const expected = crypto.hash('sha1', `${nonce}|${secret}|${timestamp}`, 'buffer');
    if (sign.length !== 40 || !/^[0-9a-fA-F]{40}$/.test(sign) || !crypto.timingSafeEqual(expected, Buffer.from(sign, 'hex'))) {
      throw new AdminAuthError('auth_failure');
    }
    if (!this.take(rid, now)) throw new CoreError('over_frequency');
    const verdict = this.opts.replay.remember(ts, expected.readUInt32BE(0), expected.readUInt32BE(4), now);
    if (verdict === 'replay') throw new AdminAuthError('replayed');
    if (verdict === 'full') throw new CoreError('over_frequency', 'replay cache full');
  }
}

/** A robot's signature (`rid`, its robot secret). */
export function robotAuth(hub: Hub, opts: Omit<CallerAuthOptions, 'header' | 'secretOf'>): CallerAuth {
  return new CallerAuth({ ...opts, header: 'rid', secretOf: (id) => hub.robots.secretOf(id) });
}

/** A channel's signature (`cid`, the channel's secret): 236 unknown channel, 237 no secret. */
export function channelAuth(hub: Hub, opts: Omit<CallerAuthOptions, 'header' | 'secretOf'>): CallerAuth {
  return new CallerAuth({
    ...opts,
    header: 'cid',
    secretOf: async (id) => {
      const c = await hub.channels.get(id).catch((err: unknown) => {
        if (isCoreError(err) && err.kind === 'not_exist') throw new AdminAuthError('channel_no_exist');
        throw err;
      });
      if (c.secret === '') throw new AdminAuthError('channel_no_secret');
      return c.secret;
    },
  });
}

/** The robot a request was signed by (its `rid` header; only called after its CallerAuth accepted it). */
export function robotOf(headers: Record<string, HeaderValue>): string {
  const rid = first(headers['rid']);
  if (!rid) throw new AdminAuthError('sign_missing');
  return rid;
}

/** The channel a request was signed by (its `cid` header; only called after its CallerAuth accepted it). */
export function channelOf(headers: Record<string, HeaderValue>): string {
  const cid = first(headers['cid']);
  if (!cid) throw new AdminAuthError('sign_missing');
  return cid;
}
