import crypto from 'node:crypto';
import { Agent, type Dispatcher } from 'undici';
import { CallbackTimeoutError, deadlines, type Deadline } from './deadline.js';
import type { CallbackTarget } from './targets.js';

export interface CallbackResponse {
  status: number;
  /** The reply body as text: at most MAX_RESPONSE bytes of it (the rest is never read). */
  text: string;
  /** The body was longer than MAX_RESPONSE: reading stopped there and the connection was closed. */
  truncated: boolean;
}

/** Bytes of a reply body read at most. Tencent's replies are a few dozen bytes. */
export const MAX_RESPONSE = 64 * 1024;

/**
 * POST one callback the way Tencent IM does: `url?SdkAppid=…&CallbackCommand=…&contenttype=json
 * &ClientIP=…&OptPlatform=…`, plus `RequestTime` and `Sign = sha256(token + RequestTime)` when the
 * target has a token (computed afresh for every attempt: receivers refuse a RequestTime over a minute
 * old). Switchboard adds `X-Switchboard-Delivery-Id` (stable across attempts, absent for before-send
 * calls), `X-Switchboard-Attempt`, `X-Switchboard-Created-At` (ms, when the change committed) and,
 * with an HMAC key, `X-Switchboard-Signature: sha256=<hex>` over the exact body bytes.
 *
 * One deadline bounds the whole attempt: `timeoutMs` (default: the target's) after the call, whatever
 * phase it is in — waiting for a connection, connecting, sending, waiting for the headers, reading the
 * body — the promise rejects with a CallbackTimeoutError and the request is aborted (its socket is
 * destroyed). The connection itself is bounded too: its dispatcher's connect timeout is at most `timeoutMs`
 * (see connectTimeoutFor).
 * Also rejects on network errors. Never reads more than MAX_RESPONSE bytes of the reply.
 */
export function postCallback(
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
  url.searchParams.set('ClientIP', ipv4Form(meta['ClientIP'] ?? ''));
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
  return postJson(url, headers, body, extra.timeoutMs ?? target.timeoutMs);
}

/** Where a request goes, already split: `origin` (scheme, host, port) and `path` (path and query). */
export interface PostTarget {
  origin: string;
  path: string;
}

/**
 * POST `body` to `url` with `headers` under one deadline of `timeoutMs` (every phase: connection,
 * sending, headers, body), on the shared keep-alive dispatchers, no redirects; reads at most
 * MAX_RESPONSE bytes of the reply. Rejects with a CallbackTimeoutError at the deadline, or on a network
 * error. Used by every outbound HTTP sender (callbacks, channel apps).
 */
export function postJson(url: URL | PostTarget, headers: Record<string, string>, body: string, timeout: number): Promise<CallbackResponse> {
  const timeoutMs = Math.max(1, Math.floor(timeout));
  return new Promise<CallbackResponse>((resolve, reject) => {
    const attempt = new Attempt(timeoutMs, resolve, reject);
    try {
      // undici's dispatch() with our own handler (keep-alive pool per origin, no redirects): cheaper per
      // request than request() or fetch(), and its controller lets the shared deadline abort any phase.
      // undici's own headers/body timers are off: the deadline covers both.
      agentFor(timeoutMs).dispatch(
        { origin: url.origin, path: url instanceof URL ? `${url.pathname}${url.search}` : url.path, method: 'POST', headers, body, headersTimeout: 0, bodyTimeout: 0 },
        attempt,
      );
    } catch (err) {
      attempt.fail(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

/**
 * The handler of one attempt: settles once (response, error or deadline, whichever comes first), and
 * aborts the request when it settles before the response has ended (deadline, oversized body).
 */
class Attempt implements Dispatcher.DispatchHandler {
  private settled = false;
  private controller: Dispatcher.DispatchController | null = null;
  private status = 0;
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  private readonly deadline: Deadline;

  constructor(
    private readonly timeoutMs: number,
    private readonly resolve: (r: CallbackResponse) => void,
    private readonly reject: (e: Error) => void,
  ) {
    this.deadline = deadlines.add(timeoutMs, () => this.expire());
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    // Dispatched after the deadline (it waited for a connection): never send it.
    if (this.settled) controller.abort(new CallbackTimeoutError(this.timeoutMs));
    else this.controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    const room = MAX_RESPONSE - this.bytes;
    if (chunk.length <= room) {
      this.chunks.push(chunk);
      this.bytes += chunk.length;
      return;
    }
    // The cap is reached: the reply is what we have; the rest is never read.
    this.chunks.push(chunk.subarray(0, room));
    this.bytes += room;
    this.succeed(true);
    controller.abort(new Error(`reply body longer than ${MAX_RESPONSE} bytes`));
  }

  onResponseEnd(): void {
    this.succeed(false);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    deadlines.cancel(this.deadline);
    this.reject(error);
  }

  private succeed(truncated: boolean): void {
    if (this.settled) return;
    this.settled = true;
    deadlines.cancel(this.deadline);
    this.resolve({ status: this.status, text: Buffer.concat(this.chunks, this.bytes).toString('utf8'), truncated });
  }

  private expire(): void {
    if (this.settled) return;
    const err = new CallbackTimeoutError(this.timeoutMs);
    this.fail(err);
    // Aborting a dispatched request destroys its socket; one still waiting for a connection is aborted
    // in onRequestStart, and the connection attempt itself ends at the connect timeout (≤ timeoutMs).
    this.controller?.abort(err);
  }
}

/**
 * Keep-alive dispatchers by connect timeout, so that connecting never outlives an attempt's deadline
 * (undici's default connect timeout is 10 s): an attempt uses the largest CONNECT_TIMEOUTS value not
 * above its timeout (the smallest one below that). A handful of dispatchers, whatever the timeouts.
 */
export const CONNECT_TIMEOUTS = [50, 100, 200, 500, 1000, 2000, 5000, 10000] as const;
const agents = new Map<number, Agent>();

export function connectTimeoutFor(timeoutMs: number): number {
  let pick: number = CONNECT_TIMEOUTS[0];
  for (const c of CONNECT_TIMEOUTS) if (c <= timeoutMs) pick = c;
  return pick;
}

function agentFor(timeoutMs: number): Agent {
  const connect = connectTimeoutFor(timeoutMs);
  let a = agents.get(connect);
  if (!a) agents.set(connect, (a = new Agent({ connect: { timeout: connect } })));
  return a;
}

/** Close every keep-alive connection (tests, shutdown). */
export async function closeCallbackAgents(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map((a) => a.close()));
}

/** An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, from a dual-stack listener) in its IPv4 form. */
export function ipv4Form(ip: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  return m ? m[1]! : ip;
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
