import { backoffOptions, type Backoff, type BackoffOptions } from './backoff.js';

/**
 * A handler slot that accepts any handler whose event type is a subtype or a supertype of `E`
 * (method-style bivariance), so the browser's WebSocket and the `ws` package both fit without casts.
 */
type Slot<E> = { bivarianceHack(event: E): void }['bivarianceHack'] | null;

/** The part of the WebSocket API the client uses (browsers' WebSocket and the `ws` package both fit). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Slot<unknown>;
  onmessage: Slot<{ data: unknown }>;
  onclose: Slot<{ code: number; reason: string }>;
  onerror: Slot<unknown>;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * Where the cursor is kept between runs, so a restarted app resumes where it stopped (e.g.
 * localStorage, a file, a table). `load` runs once per `connect()`; `save` after every event that
 * moves the cursor forward, in order, with non-decreasing values.
 */
export interface CursorStore {
  load(): number | undefined | Promise<number | undefined>;
  save(cursor: number): void | Promise<void>;
}

export interface ClientOptions {
  /** ws(s)://host:port/ws */
  url: string;
  /** The token from /admin/user/get_token, or a function fetching one for each connection attempt. */
  token: string | (() => string | Promise<string>);
  /** Resume after this cursor (wins over `cursorStore`). Without either the device gets only new events. */
  cursor?: number;
  /** Where the cursor is kept between runs; loaded by `connect()`, saved as events arrive. */
  cursorStore?: CursorStore;
  /** The WebSocket implementation; defaults to globalThis.WebSocket (in Node, pass the `ws` package's). */
  WebSocket?: WebSocketConstructor;
  /** Reconnect with exponential backoff, jitter and a cap (default on), or false. */
  reconnect?: false | BackoffOptions;
  /** Acknowledge delivered messages automatically, batched (default true). With false, call `ack()`. */
  autoAck?: boolean;
  /** Automatic delivery acks go at most this often (ms). Default 1000. */
  ackIntervalMs?: number;
  /** Liveness check: a ping this often (ms); no frame at all by the next one drops the socket and reconnects. Default 25 000. */
  pingIntervalMs?: number;
  /** A `send`/`read` written without a reply in this time (ms) fails with code 249; so does a `sync` that hears nothing. Default 30 000. */
  requestTimeoutMs?: number;
}

/** The options, checked, with defaults filled in. */
export interface Settings {
  url: string;
  token: ClientOptions['token'];
  WS: WebSocketConstructor;
  reconnect: Backoff | false;
  autoAck: boolean;
  ackIntervalMs: number;
  pingIntervalMs: number;
  requestTimeoutMs: number;
}

/** Check the options; throws a TypeError/RangeError naming the first bad one. */
export function settingsOf(opts: ClientOptions): Settings {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('options are required: { url, token }');
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new TypeError(`options.url is not a URL: ${String(opts.url)}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new TypeError(`options.url must be ws:// or wss://, got ${url.protocol}`);
  if (typeof opts.token !== 'function' && (typeof opts.token !== 'string' || opts.token === '')) {
    throw new TypeError('options.token must be a non-empty string or a function returning one');
  }
  if (opts.cursor !== undefined) checkCursor(opts.cursor, 'options.cursor');
  const store = opts.cursorStore;
  if (store !== undefined && (typeof store !== 'object' || store === null || typeof store.load !== 'function' || typeof store.save !== 'function')) {
    throw new TypeError('options.cursorStore must have load() and save(cursor)');
  }
  const WS = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof WS !== 'function') throw new TypeError('no WebSocket implementation: pass one (in Node, the `ws` package) as options.WebSocket');
  if (opts.autoAck !== undefined && typeof opts.autoAck !== 'boolean') throw new TypeError('options.autoAck must be a boolean');
  if (opts.reconnect !== undefined && opts.reconnect !== false && (typeof opts.reconnect !== 'object' || opts.reconnect === null)) {
    throw new TypeError('options.reconnect must be false or { initialDelayMs, maxDelayMs, factor, jitter }');
  }
  return {
    url: opts.url,
    token: opts.token,
    WS,
    reconnect: opts.reconnect === false ? false : backoffOptions(opts.reconnect ?? {}),
    autoAck: opts.autoAck ?? true,
    ackIntervalMs: interval(opts.ackIntervalMs, 1000, 'options.ackIntervalMs'),
    pingIntervalMs: interval(opts.pingIntervalMs, 25_000, 'options.pingIntervalMs'),
    requestTimeoutMs: interval(opts.requestTimeoutMs, 30_000, 'options.requestTimeoutMs'),
  };
}

/** A cursor is a non-negative safe integer (opaque otherwise). */
export function checkCursor(c: unknown, what: string): asserts c is number {
  if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 0) throw new RangeError(`${what} must be a non-negative integer, got ${String(c)}`);
}

/** A timestamp in ms is a non-negative safe integer. */
export function checkTimestamp(t: unknown, what: string): asserts t is number {
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) throw new RangeError(`${what} must be a non-negative integer (ms), got ${String(t)}`);
}

function interval(v: number | undefined, dflt: number, what: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 2_147_483_647) throw new RangeError(`${what} must be a positive number of ms, got ${String(v)}`);
  return v;
}
