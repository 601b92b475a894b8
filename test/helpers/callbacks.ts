import { afterAll, beforeAll, expect } from 'vitest';
import { bodySignature, CallbackReceiver, isUint32, tencentSign, type CallbackRequest, type Handler, type Json } from './callback-receiver.js';
import { startTestServer, type ConfigOverrides, type TestServer } from './server.js';
import { useServer, type ServerHandle } from './use-server.js';

/** Shared fixtures of test/callbacks: the default target's settings and the checks every request gets. */

export const TOKEN = 'tok';
export const APP_ID = '1400000001';
export const HMAC_KEY = 'key';

/** Every after-callback command, as the reference lists them. */
export const AFTER_COMMANDS = [
  'C2C.CallbackAfterSendMsg',
  'Group.CallbackAfterSendMsg',
  'C2C.CallbackAfterMsgWithDraw',
  'C2C.CallbackAfterMsgReport',
  'State.StateChange',
  'Group.CallbackAfterNewMemberJoin',
  'Group.CallbackAfterMemberExit',
  'Group.CallbackAfterCreateGroup',
  'Group.CallbackAfterGroupDestroyed',
];
export const BEFORE_COMMANDS = ['C2C.CallbackBeforeSendMsg', 'Group.CallbackBeforeSendMsg'];

/** Tencent's group type names. */
export const GROUP_TYPES = ['Public', 'Private', 'ChatRoom', 'AVChatRoom', 'Community'];

/** The `callbacks` config section pointing the default target at `receiver` + /cb, fast retries. */
export function callbackConfig(receiver: CallbackReceiver, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    callbacks: {
      url: `${receiver.url}/cb`,
      token: TOKEN,
      sdkAppId: APP_ID,
      hmacSecret: HMAC_KEY,
      firstRetryMs: 20,
      maxRetryMs: 200,
      pollMs: 20,
      ...extra,
    },
  };
}

/** A real server (port 0, fresh data dir) whose default callback target is `receiver`. */
export function startCallbackServer(receiver: CallbackReceiver, extra: Record<string, unknown> = {}, overrides: ConfigOverrides = {}): Promise<TestServer> {
  return startTestServer({ ...overrides, ...callbackConfig(receiver, extra) });
}

/**
 * A callback receiver as a fixture: started in beforeAll, closed in afterAll. The returned object is
 * the receiver itself once started (members used earlier throw); register it before the server that
 * calls it (`useCallbackServer`), so it starts first and closes last.
 */
export function useReceiver(handler?: Handler): CallbackReceiver {
  let current: CallbackReceiver | undefined;
  beforeAll(async () => {
    current = await CallbackReceiver.start(handler);
  });
  afterAll(async () => {
    const r = current;
    current = undefined;
    await r?.close();
  });
  const ready = (): CallbackReceiver => {
    if (!current) throw new Error('useReceiver: the receiver starts in beforeAll; use it inside hooks and tests');
    return current;
  };
  return new Proxy({} as CallbackReceiver, {
    get: (_target, key) => {
      const r = ready();
      const v: unknown = Reflect.get(r, key, r);
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(r) : v;
    },
    set: (_target, key, value) => Reflect.set(ready(), key, value),
  });
}

/** useServer whose default callback target is `receiver` (callbackConfig(receiver, extra)) over `overrides`. */
export function useCallbackServer(receiver: CallbackReceiver, extra: Record<string, unknown> = {}, overrides: ConfigOverrides = {}): ServerHandle {
  return useServer(() => ({ ...overrides, ...callbackConfig(receiver, extra) }));
}

/** `obj` has every key of `required`, and no key outside `required` ∪ `optional`. */
export function expectKeys(obj: Json, required: string[], optional: string[] = [], label = ''): void {
  expect(typeof obj, label).toBe('object');
  const keys = Object.keys(obj as object);
  expect(required.filter((k) => !keys.includes(k)), `${label}: missing keys`).toEqual([]);
  expect(keys.filter((k) => !required.includes(k) && !optional.includes(k)), `${label}: unexpected keys`).toEqual([]);
}

export function expectUint32(v: unknown, label: string): void {
  expect(isUint32(v), `${label} = ${JSON.stringify(v)} is a 32-bit unsigned integer`).toBe(true);
}

/** A unix time in seconds (integer) within [fromMs, toMs]. */
export function expectSeconds(v: unknown, fromMs: number, toMs: number, label: string): void {
  expect(Number.isInteger(v), `${label} = ${JSON.stringify(v)} is an integer`).toBe(true);
  expect(v as number, label).toBeGreaterThanOrEqual(Math.floor(fromMs / 1000));
  expect(v as number, label).toBeLessThanOrEqual(Math.floor(toMs / 1000));
}

/** A unix time in milliseconds (integer) within [fromMs, toMs]. */
export function expectMillis(v: unknown, fromMs: number, toMs: number, label: string): void {
  expect(Number.isInteger(v), `${label} = ${JSON.stringify(v)} is an integer`).toBe(true);
  expect(v as number, label).toBeGreaterThanOrEqual(fromMs);
  expect(v as number, label).toBeLessThanOrEqual(toMs);
}

/**
 * The request line, query string and signatures Tencent's receivers check: POST /cb?SdkAppid=…
 * &CallbackCommand=…&contenttype=json&ClientIP=…&OptPlatform=…&RequestTime=…&Sign=…, JSON body,
 * Sign = sha256(token + RequestTime), and our X-Switchboard-Signature over the exact body.
 */
export function expectTencentRequest(
  r: CallbackRequest,
  want: { command: string; optPlatform: string; clientIp?: string; appId?: string; token?: string | null; hmacKey?: string | null; path?: string },
): void {
  const token = want.token === undefined ? TOKEN : want.token;
  const hmacKey = want.hmacKey === undefined ? HMAC_KEY : want.hmacKey;
  expect(r.method).toBe('POST');
  expect(r.path).toBe(want.path ?? '/cb');
  const keys = ['SdkAppid', 'CallbackCommand', 'contenttype', 'ClientIP', 'OptPlatform', ...(token ? ['RequestTime', 'Sign'] : [])];
  expect([...r.queryKeys].sort(), 'query parameters (each once)').toEqual([...keys].sort());
  expect(r.query['SdkAppid']).toBe(want.appId ?? APP_ID);
  expect(r.query['CallbackCommand']).toBe(want.command);
  expect(r.query['contenttype']).toBe('json');
  expect(r.query['ClientIP']).toBe(want.clientIp ?? '127.0.0.1');
  expect(r.query['OptPlatform']).toBe(want.optPlatform);
  if (token) {
    const rt = r.query['RequestTime'] ?? '';
    expect(rt).toMatch(/^[0-9]{10}$/);
    // Computed when the attempt was made: not after it arrived, not more than a minute before.
    expect(Number(rt)).toBeLessThanOrEqual(Math.floor(r.receivedAt / 1000));
    expect(Number(rt)).toBeGreaterThanOrEqual(Math.floor(r.receivedAt / 1000) - 60);
    expect(r.query['Sign']).toMatch(/^[0-9a-f]{64}$/);
    expect(r.query['Sign']).toBe(tencentSign(token, rt));
  }
  expect(String(r.headers['content-type'])).toMatch(/^application\/json/);
  if (hmacKey) expect(r.headers['x-switchboard-signature']).toBe(bodySignature(hmacKey, r.raw));
  else expect(r.headers['x-switchboard-signature']).toBeUndefined();
  expect(r.json, 'the body is JSON').toBeTypeOf('object');
  expect(r.json.CallbackCommand).toBe(want.command);
}

/** The Text of the first MsgBody element of a callback body ('' when there is none). */
export function textOf(body: Json): string {
  return body?.MsgBody?.[0]?.MsgContent?.Text ?? '';
}
