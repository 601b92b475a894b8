import crypto from 'node:crypto';
import { request } from 'undici';
import type { CallbackTarget } from './targets.js';

export interface CallbackResponse {
  status: number;
  text: string;
}

const MAX_RESPONSE = 64 * 1024;

/**
 * POST one callback the way Tencent IM does: `url?SdkAppid=…&CallbackCommand=…&contenttype=json
 * &ClientIP=…&OptPlatform=…`, plus `RequestTime` and `Sign = sha256(token + RequestTime)` when the
 * target has a token (computed afresh for every attempt: receivers refuse a RequestTime over a minute
 * old). Switchboard adds `X-Switchboard-Delivery-Id` (stable across attempts, absent for before-send
 * calls), `X-Switchboard-Attempt`, `X-Switchboard-Created-At` (ms, when the change committed) and,
 * with an HMAC key, `X-Switchboard-Signature: sha256=<hex>` over the exact body bytes. Rejects on network errors and on timeout (AbortError/TimeoutError).
 */
export async function postCallback(
  target: CallbackTarget,
  command: string,
  body: string,
  meta: Record<string, string>,
  extra: { deliveryId?: number; attempt?: number; createdAt?: number; timeoutMs?: number } = {},
): Promise<CallbackResponse> {
  const url = new URL(target.url);
  url.searchParams.set('SdkAppid', target.sdkAppId);
  url.searchParams.set('CallbackCommand', command);
  url.searchParams.set('contenttype', 'json');
  url.searchParams.set('ClientIP', meta['ClientIP'] ?? '');
  url.searchParams.set('OptPlatform', meta['OptPlatform'] ?? 'RESTAPI');
  if (target.token) {
    const requestTime = String(Math.floor(Date.now() / 1000));
    url.searchParams.set('RequestTime', requestTime);
    url.searchParams.set('Sign', crypto.createHash('sha256').update(target.token + requestTime).digest('hex'));
  }
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (extra.deliveryId !== undefined) headers['x-switchboard-delivery-id'] = String(extra.deliveryId);
  if (extra.attempt !== undefined) headers['x-switchboard-attempt'] = String(extra.attempt);
  if (extra.createdAt !== undefined) headers['x-switchboard-created-at'] = String(extra.createdAt);
  if (target.hmacSecret) headers['x-switchboard-signature'] = `sha256=${crypto.createHmac('sha256', target.hmacSecret).update(body).digest('hex')}`;
  // undici's request (keep-alive pool per origin, no redirects): several times cheaper than fetch().
  // Its own timers bound the wait for the reply's headers, and then for its body, each to the timeout.
  const timeout = extra.timeoutMs ?? target.timeoutMs;
  const res = await request(url, { method: 'POST', headers, body, headersTimeout: timeout, bodyTimeout: timeout });
  const text = (await res.body.text()).slice(0, MAX_RESPONSE);
  return { status: res.statusCode, text };
}

/** Tencent's OptPlatform for a Wildfire platform number (devices), RESTAPI for the admin API. */
export function optPlatform(platform: number | undefined): string {
  switch (platform) {
    case undefined:
      return 'RESTAPI';
    case 1:
      return 'iOS';
    case 2:
    case 9:
      return 'Android';
    case 3:
      return 'Windows';
    case 4:
      return 'Mac';
    case 5:
    case 6:
      return 'Web';
    case 8:
      return 'iPad';
    default:
      return 'Unknown';
  }
}
