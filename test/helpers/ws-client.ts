import WebSocket from 'ws';
import { SwitchboardClient, type ClientEvent, type ClientEvents, type ClientOptions, type WebSocketConstructor } from '../../sdk/src/index.js';
import { AdminClient } from './admin-client.js';
import { startTestServer, type TestServer } from './server.js';

/**
 * Device-side helpers for the gateway tests: a raw `ws` client that records every parsed frame, an
 * SDK wrapper that records every event, and a few fixtures (tokens, URLs, polling the admin API).
 * Waiting is always on a recorded frame/event or a close; timeouts only fail the test.
 */

/**
 * Older names, kept for files written before the fixture (test/helpers/use-server.ts): AdminClient's
 * nonces already never repeat within the test process, and every test server is started one way.
 */
export const UniqueNonceAdmin = AdminClient;
export type UniqueNonceAdmin = AdminClient;
export function startWsServer(...args: Parameters<typeof startTestServer>): Promise<TestServer> {
  return startTestServer(...args);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Frame = { type: string; cursor?: number; [k: string]: any };

export const DEFAULT_WAIT_MS = 5000;

export interface WaitOptions {
  /** Only items at or after this index (default 0: everything recorded so far counts). */
  from?: number;
  timeoutMs?: number;
  /** Named in the failure message. */
  label?: string;
}

interface Waiter<T> {
  pred: (x: T) => boolean;
  from: number;
  resolve: (x: T) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  label: string;
}

/** An append-only log with `waitFor(predicate)` that resolves on the first match (past or future). */
export class Recorder<T> {
  readonly items: T[] = [];
  private readonly waiters = new Set<Waiter<T>>();
  private failure: string | undefined;

  constructor(private readonly describe: (items: T[]) => string) {}

  push(x: T): void {
    this.items.push(x);
    const i = this.items.length - 1;
    for (const w of [...this.waiters]) {
      if (i >= w.from && w.pred(x)) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(x);
      }
    }
  }

  /** Reject every pending and future wait (e.g. the connection closed). */
  fail(why: string): void {
    this.failure = why;
    for (const w of [...this.waiters]) {
      this.waiters.delete(w);
      clearTimeout(w.timer);
      w.reject(new Error(`${why} while waiting for ${w.label}; recorded: ${this.describe(this.items)}`));
    }
  }

  waitFor(pred: (x: T) => boolean, opts: WaitOptions = {}): Promise<T> {
    const from = opts.from ?? 0;
    const label = opts.label ?? String(pred);
    for (let i = from; i < this.items.length; i++) if (pred(this.items[i]!)) return Promise.resolve(this.items[i]!);
    if (this.failure) return Promise.reject(new Error(`${this.failure} while waiting for ${label}; recorded: ${this.describe(this.items)}`));
    return new Promise<T>((resolve, reject) => {
      const w: Waiter<T> = {
        pred,
        from,
        resolve,
        reject,
        label,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(new Error(`timed out after ${opts.timeoutMs ?? DEFAULT_WAIT_MS} ms waiting for ${label}; recorded: ${this.describe(this.items)}`));
        }, opts.timeoutMs ?? DEFAULT_WAIT_MS),
      };
      this.waiters.add(w);
    });
  }
}

function summarize(frames: Frame[]): string {
  const tail = frames.slice(-12).map((f) => {
    const m = f['message'] as { messageId?: number; payload?: { searchableContent?: string } } | undefined;
    return `${f.type}${f.cursor !== undefined ? `@${f.cursor}` : ''}${m?.messageId ? `#${m.messageId}` : ''}${m?.payload?.searchableContent ? `(${m.payload.searchableContent.slice(0, 24)})` : ''}${f['code'] !== undefined ? `[${f['code']}]` : ''}`;
  });
  return `${frames.length} frames${frames.length > 12 ? ', last 12' : ''}: ${tail.join(' ')}`;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

/** ws://host:port/ws?token=…[&cursor=…] from the server's http:// base URL. */
export function wsUrl(baseUrl: string, token?: string, cursor?: number | string, path = '/ws'): string {
  const u = new URL(path, baseUrl.replace(/^http/, 'ws'));
  if (token !== undefined) u.searchParams.set('token', token);
  if (cursor !== undefined) u.searchParams.set('cursor', String(cursor));
  return u.toString();
}

/** A raw device: records every parsed JSON frame (and pings) in arrival order. */
export class WsClient {
  readonly ws: WebSocket;
  readonly log = new Recorder<Frame>(summarize);
  /** Every server ping seen (a count, for heartbeat tests). */
  pings = 0;
  private readonly pingLog = new Recorder<number>((x) => `${x.length} pings`);
  readonly opened: Promise<void>;
  readonly closed: Promise<CloseInfo>;
  closeInfo: CloseInfo | undefined;

  constructor(url: string, opts: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, opts);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('close', () => reject(new Error('closed before open')));
    });
    this.opened.catch(() => undefined);
    this.ws.on('error', () => {
      // the close event follows with the code
    });
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.log.push({ type: '(binary)' });
        return;
      }
      let f: Frame;
      try {
        f = JSON.parse(data.toString()) as Frame;
      } catch {
        f = { type: '(unparsable)', raw: data.toString() };
      }
      this.log.push(f);
    });
    this.ws.on('ping', () => {
      this.pings++;
      this.pingLog.push(this.pings);
    });
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        this.log.fail(`connection closed (${code} ${reason.toString()})`);
        this.pingLog.fail(`connection closed (${code})`);
        resolve(this.closeInfo);
      });
    });
  }

  get frames(): Frame[] {
    return this.log.items;
  }

  /** Number of frames recorded so far (a `from` for later waits). */
  get mark(): number {
    return this.log.items.length;
  }

  waitFor(pred: (f: Frame) => boolean, opts: WaitOptions = {}): Promise<Frame> {
    return this.log.waitFor(pred, opts);
  }

  /** The first frame of `type` (with `extra` also matching), at or after `from`. */
  waitType(type: string, extra: (f: Frame) => boolean = () => true, opts: WaitOptions = {}): Promise<Frame> {
    return this.log.waitFor((f) => f.type === type && extra(f), { label: `a ${type} frame`, ...opts });
  }

  /** The `message` frame of message `uid`. */
  waitMessage(uid: number, opts: WaitOptions = {}): Promise<Frame> {
    return this.waitType('message', (f) => f['message']?.messageId === uid, { label: `message ${uid}`, ...opts });
  }

  waitPing(after: number, opts: WaitOptions = {}): Promise<number> {
    return this.pingLog.waitFor((n) => n > after, { label: `ping #${after + 1}`, ...opts });
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  sendRaw(data: string | Buffer, opts: { binary?: boolean } = {}): void {
    this.ws.send(data, { binary: opts.binary ?? typeof data !== 'string' });
  }

  /** Every `message` frame's uid, in arrival order. */
  messageUids(from = 0, to = this.frames.length): number[] {
    return this.frames
      .slice(from, to)
      .filter((f) => f.type === 'message')
      .map((f) => f['message'].messageId as number);
  }

  /** Highest cursor seen on this connection. */
  get lastCursor(): number | undefined {
    let c: number | undefined;
    for (const f of this.frames) if (typeof f.cursor === 'number' && f['transparent'] !== true && (c === undefined || f.cursor > c)) c = f.cursor;
    return c;
  }

  async close(): Promise<CloseInfo> {
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, 'test done');
    return this.closed;
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** A raw device that has received `hello` (and, with replay, `synced`). */
export async function connectRaw(baseUrl: string, token: string, opts: { cursor?: number | string; ws?: WebSocket.ClientOptions; waitSynced?: boolean } = {}): Promise<WsClient> {
  const c = new WsClient(wsUrl(baseUrl, token, opts.cursor), opts.ws ?? {});
  track(c);
  if (opts.waitSynced ?? true) await c.waitType('synced', undefined, { label: 'the synced frame', timeoutMs: 10_000 });
  return c;
}

/** Open a connection that is expected to be refused; resolves with its close code and reason. */
export async function connectRefused(url: string): Promise<{ info: CloseInfo; frames: Frame[] }> {
  const c = new WsClient(url);
  track(c);
  const info = await withTimeout(c.closed, DEFAULT_WAIT_MS, `close of ${url}`);
  return { info, frames: c.frames };
}

export function withTimeout<T>(p: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${label}`)), ms);
    }),
  ]);
}

// Every client a test opened, so afterEach can close them all.
const open = new Set<{ close(): unknown }>();
function track(c: { close(): unknown }): void {
  open.add(c);
}

/** Close every raw and SDK client opened so far (call from afterEach / afterAll). */
export async function closeAllClients(): Promise<void> {
  const all = [...open];
  open.clear();
  await Promise.all(
    all.map(async (c) => {
      try {
        await withTimeout(Promise.resolve(c.close()), 2000, 'client close');
      } catch {
        if (c instanceof WsClient) c.terminate();
      }
    }),
  );
}

export async function getToken(admin: AdminClient, userId: string, clientId: string, platform = 1): Promise<string> {
  return (await admin.ok<{ userId: string; token: string }>('/user/get_token', { userId, clientId, platform })).token;
}

/** A fresh token for (userId, clientId), then a raw device, synced. */
export async function device(
  baseUrl: string,
  admin: AdminClient,
  userId: string,
  clientId = `${userId}-dev`,
  opts: { cursor?: number | string; ws?: WebSocket.ClientOptions; platform?: number } = {},
): Promise<WsClient> {
  const token = await getToken(admin, userId, clientId, opts.platform ?? 1);
  return connectRaw(baseUrl, token, opts);
}

/** Repeat `check` (back to back, no sleeps) until it returns true; fails after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean>, label: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

/** Cursors of the frames that carry one (transparent ones included), in order. */
export function cursorsOf(frames: Frame[]): number[] {
  return frames.filter((f) => typeof f.cursor === 'number').map((f) => f.cursor as number);
}

export function isNonDecreasing(xs: number[]): boolean {
  for (let i = 1; i < xs.length; i++) if (xs[i]! < xs[i - 1]!) return false;
  return true;
}

export function isIncreasing(xs: number[]): boolean {
  for (let i = 1; i < xs.length; i++) if (xs[i]! <= xs[i - 1]!) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// SDK

export type SdkEvent = { [E in ClientEvent]: { event: E; data: ClientEvents[E] } }[ClientEvent];

const SDK_EVENTS: ClientEvent[] = ['hello', 'message', 'recall', 'update', 'delete', 'clear', 'conversation_delete', 'read', 'synced', 'disconnected', 'error', 'friend', 'friend_request', 'user_setting'];

function summarizeEvents(events: SdkEvent[]): string {
  return `${events.length} events: ${events
    .slice(-12)
    .map((e) => `${e.event}${'cursor' in e.data ? `@${String(e.data.cursor)}` : ''}${e.event === 'message' ? `#${e.data.message.messageId}` : ''}${e.event === 'disconnected' ? `[${e.data.code}]` : ''}`)
    .join(' ')}`;
}

/** The SDK client plus a record of every event it emitted. */
export class SdkDevice {
  readonly client: SwitchboardClient;
  readonly log = new Recorder<SdkEvent>(summarizeEvents);

  constructor(opts: ClientOptions) {
    this.client = new SwitchboardClient(opts);
    for (const e of SDK_EVENTS) this.client.on(e, (data) => this.log.push({ event: e, data } as SdkEvent));
    track(this);
  }

  get events(): SdkEvent[] {
    return this.log.items;
  }

  get mark(): number {
    return this.log.items.length;
  }

  waitFor(pred: (e: SdkEvent) => boolean, opts: WaitOptions = {}): Promise<SdkEvent> {
    return this.log.waitFor(pred, opts);
  }

  waitMessage(uid: number, opts: WaitOptions = {}): Promise<ClientEvents['message']> {
    return this.log
      .waitFor((e) => e.event === 'message' && e.data.message.messageId === uid, { label: `SDK message ${uid}`, ...opts })
      .then((e) => e.data as ClientEvents['message']);
  }

  /** uids of every message event, in order. */
  messageUids(from = 0, to = this.events.length): number[] {
    const out: number[] = [];
    for (const e of this.events.slice(from, to)) if (e.event === 'message') out.push(e.data.message.messageId);
    return out;
  }

  close(): void {
    this.client.close();
  }
}

export const WS = WebSocket as unknown as WebSocketConstructor;

/** An SDK client of `url` (the server's http base URL) using `ws`; reconnect off unless given. */
export function sdkDevice(baseUrl: string, opts: Omit<ClientOptions, 'url'> & { url?: string }): SdkDevice {
  return new SdkDevice({ url: wsUrl(baseUrl), WebSocket: WS, reconnect: false, ...opts });
}

/** A CursorStore kept in memory. */
export function memoryCursorStore(initial?: number): { load(): number | undefined; save(c: number): void; value: number | undefined } {
  const s = {
    value: initial,
    load: () => s.value,
    save: (c: number) => {
      s.value = c;
    },
  };
  return s;
}
