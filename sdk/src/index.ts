/**
 * @switchboard/client — a device client for Switchboard's real-time gateway (docs/client-protocol.md).
 *
 *   const client = new SwitchboardClient({ url: 'ws://127.0.0.1:18080/ws', token, WebSocket: WS });
 *   client.on('message', ({ message }) => console.log(message.payload.searchableContent));
 *   await client.connect();                       // resolves once synced
 *   await client.send({ type: 0, target: 'bob', line: 0 }, { type: 1, searchableContent: 'hi' });
 *   client.read({ type: 0, target: 'bob', line: 0 }, Date.now());
 *
 * Guarantees: events are emitted in cursor order, each once (frames at or below the current cursor
 * are dropped); after a disconnect the client reconnects with backoff and resumes from its cursor;
 * a send interrupted by a disconnect is resent with the same clientMsgId, which the server dedupes.
 */

export interface Conversation {
  type: number;
  target: string;
  line: number;
}

/** Seed 001 message content; only `type` is required when sending. */
export interface Payload {
  type: number;
  searchableContent?: string;
  pushContent?: string;
  pushData?: string;
  content?: string;
  base64edData?: string;
  mediaType?: number;
  remoteMediaUrl?: string;
  persistFlag?: number;
  expireDuration?: number;
  mentionedType?: number;
  mentionedTarget?: string[];
  extra?: string;
}

export interface Message {
  messageId: number;
  sender: string;
  conv: Conversation;
  payload: Required<Payload>;
  toUsers: string[];
  timestamp: number;
}

export interface ClientEvents {
  /** The server accepted the connection. */
  hello: { userId: string; clientId: string };
  /** A new message (from replay or live). `transparent` messages are not stored and have no own cursor. */
  message: { cursor: number; message: Message; transparent: boolean };
  recall: { cursor: number; messageUid: number; message?: Message };
  update: { cursor: number; messageUid: number; message?: Message };
  delete: { cursor: number; messageUid: number };
  clear: { cursor: number; conv: Conversation; startTime: number; endTime: number };
  conversation_delete: { cursor: number; conv: Conversation; endTime: number };
  /** A read mark: of this user's other device, or a receipt from the other party. */
  read: { cursor: number; userId: string; conv: Conversation; timestamp: number };
  /** Replay is complete; live from here. */
  synced: { cursor: number };
  /** The socket closed; `reconnecting` tells whether the client will retry. */
  disconnected: { code: number; reason: string; reconnecting: boolean };
  error: { code: number; msg: string; detail?: string };
}

export type ClientEvent = keyof ClientEvents;

/** The part of the WebSocket API the client uses (browsers' WebSocket and the `ws` package both fit). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface CursorStore {
  load(): number | undefined | Promise<number | undefined>;
  save(cursor: number): void | Promise<void>;
}

export interface ClientOptions {
  /** ws(s)://host:port/ws */
  url: string;
  /** The token from /admin/user/get_token (or a function fetching a fresh one per connection). */
  token: string | (() => string | Promise<string>);
  /** Resume after this cursor. Without it (and without a stored one) the device gets only new events. */
  cursor?: number;
  /** Where the cursor is kept between runs (e.g. localStorage); saved as events arrive. */
  cursorStore?: CursorStore;
  /** The WebSocket implementation; defaults to globalThis.WebSocket (pass `ws` in Node < 22). */
  WebSocket?: WebSocketConstructor;
  /** Reconnect with exponential backoff (default on), or false. */
  reconnect?: false | { initialDelayMs?: number; maxDelayMs?: number; factor?: number; jitter?: number };
  /** Delivery acks are sent at most this often (ms). Default 1000. */
  ackIntervalMs?: number;
  /** Client-side liveness check: a ping every this many ms; no answer within it reconnects. Default 25000. */
  pingIntervalMs?: number;
}

/** A failure reported by the server, with Wildfire's code (e.g. 9 not in group, 241 muted, 245 blocked). */
export class SwitchboardError extends Error {
  constructor(
    readonly code: number,
    msg: string,
    readonly detail?: string,
  ) {
    super(detail ? `${msg} (${code}): ${detail}` : `${msg} (${code})`);
    this.name = 'SwitchboardError';
  }
}

/** Close codes after which reconnecting cannot help. */
const FATAL_CLOSE = new Set([4001, 4003]);
const OPEN = 1;

interface PendingSend {
  frame: Record<string, unknown>;
  resolve: (r: { messageUid: number; timestamp: number; duplicate: boolean }) => void;
  reject: (e: Error) => void;
}

type Handler<E extends ClientEvent> = (data: ClientEvents[E]) => void;

export class SwitchboardClient {
  private ws: WebSocketLike | null = null;
  private cursor: number | undefined;
  private readonly handlers = new Map<ClientEvent, Set<(data: never) => void>>();
  private readonly pending = new Map<string, PendingSend>();
  private nextId = 1;
  private stopped = false;
  private attempt = 0;
  private newestTimestamp = 0;
  private ackedTimestamp = 0;
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private awaitingPong = false;
  private firstSync: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private readonly WS: WebSocketConstructor;

  constructor(private readonly opts: ClientOptions) {
    const ctor = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!ctor) throw new Error('no WebSocket implementation: pass one (e.g. the `ws` package) as options.WebSocket');
    this.WS = ctor;
    this.cursor = opts.cursor;
  }

  on<E extends ClientEvent>(event: E, handler: Handler<E>): () => void {
    let set = this.handlers.get(event);
    if (!set) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(handler as (data: never) => void);
    return () => set.delete(handler as (data: never) => void);
  }

  private emit<E extends ClientEvent>(event: E, data: ClientEvents[E]): void {
    for (const h of this.handlers.get(event) ?? []) (h as Handler<E>)(data);
  }

  /** The last cursor seen: reconnecting with it resumes exactly after the last event. */
  get lastCursor(): number | undefined {
    return this.cursor;
  }

  /** Open the connection; resolves once the first replay is complete. */
  async connect(): Promise<void> {
    this.stopped = false;
    if (this.cursor === undefined && this.opts.cursorStore) this.cursor = await this.opts.cursorStore.load();
    return new Promise((resolve, reject) => {
      this.firstSync = { resolve, reject };
      void this.open();
    });
  }

  /** Close for good (no reconnect). Unanswered sends are rejected. */
  close(): void {
    this.stopped = true;
    this.clearTimers();
    this.flushAck();
    this.ws?.close(1000, 'client closed');
    this.ws = null;
    for (const p of this.pending.values()) p.reject(new Error('client closed'));
    this.pending.clear();
  }

  /**
   * Send a message; resolves with its uid once stored. Interrupted by a disconnect, it is resent
   * after reconnecting with the same clientMsgId, so it is stored once.
   */
  send(
    conv: Conversation,
    payload: Payload,
    opts: { toUsers?: string[]; clientMsgId?: string } = {},
  ): Promise<{ messageUid: number; timestamp: number; duplicate: boolean }> {
    const id = `s${this.nextId++}`;
    const frame = {
      type: 'send',
      id,
      conv,
      payload,
      clientMsgId: opts.clientMsgId ?? randomId(),
      ...(opts.toUsers ? { toUsers: opts.toUsers } : {}),
    };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { frame, resolve, reject });
      this.write(frame);
    });
  }

  /** Report that the user read `conv` up to `timestamp` (ms); other devices and the peer are told. */
  read(conv: Conversation, timestamp: number): void {
    this.write({ type: 'read', conv, timestamp });
  }

  private write(frame: Record<string, unknown>): boolean {
    if (this.ws?.readyState !== OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    let token: string;
    try {
      token = typeof this.opts.token === 'function' ? await this.opts.token() : this.opts.token;
    } catch (err) {
      this.scheduleReconnect(0, String(err));
      return;
    }
    const url = new URL(this.opts.url);
    url.searchParams.set('token', token);
    if (this.cursor !== undefined) url.searchParams.set('cursor', String(this.cursor));
    const ws = new this.WS(url.toString());
    this.ws = ws;
    ws.onopen = () => this.startPing();
    ws.onmessage = (ev) => this.onFrame(ev.data);
    ws.onerror = () => {
      // onclose follows with the code
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.clearTimers();
      this.scheduleReconnect(ev.code, ev.reason);
    };
  }

  private scheduleReconnect(code: number, reason: string): void {
    const fatal = FATAL_CLOSE.has(code) && typeof this.opts.token !== 'function';
    const reconnecting = !this.stopped && this.opts.reconnect !== false && !fatal;
    this.emit('disconnected', { code, reason, reconnecting });
    if (!reconnecting) {
      if (this.firstSync) {
        this.firstSync.reject(new SwitchboardError(code, reason || 'connection closed'));
        this.firstSync = null;
      }
      for (const p of this.pending.values()) p.reject(new SwitchboardError(code, reason || 'connection closed'));
      this.pending.clear();
      return;
    }
    const r = this.opts.reconnect || {};
    const base = Math.min((r.initialDelayMs ?? 500) * (r.factor ?? 2) ** this.attempt, r.maxDelayMs ?? 30000);
    const jitter = r.jitter ?? 0.3;
    const delay = base * (1 - jitter + Math.random() * 2 * jitter);
    this.attempt++;
    setTimeout(() => void this.open(), delay);
  }

  private startPing(): void {
    const every = this.opts.pingIntervalMs ?? 25000;
    this.pingTimer = setInterval(() => {
      if (this.awaitingPong) {
        // No answer to the last ping: the connection is dead.
        this.ws?.close(4000, 'ping timeout');
        return;
      }
      this.awaitingPong = this.write({ type: 'ping' });
    }, every);
  }

  private clearTimers(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.awaitingPong = false;
  }

  private onFrame(data: unknown): void {
    let f: Record<string, unknown>;
    try {
      f = JSON.parse(String(data)) as Record<string, unknown>;
    } catch {
      return;
    }
    this.awaitingPong = false;
    const cursor = typeof f['cursor'] === 'number' ? f['cursor'] : undefined;
    switch (f['type']) {
      case 'hello':
        this.emit('hello', { userId: String(f['userId']), clientId: String(f['clientId']) });
        return;
      case 'synced':
        this.advance(cursor);
        this.attempt = 0;
        this.emit('synced', { cursor: this.cursor ?? 0 });
        if (this.firstSync) {
          this.firstSync.resolve();
          this.firstSync = null;
        }
        // Sends interrupted by a disconnect go again (the server dedupes by clientMsgId).
        for (const p of this.pending.values()) this.write(p.frame);
        return;
      case 'sent': {
        const p = this.pending.get(String(f['id']));
        if (p) {
          this.pending.delete(String(f['id']));
          p.resolve({ messageUid: Number(f['messageUid']), timestamp: Number(f['timestamp']), duplicate: f['duplicate'] === true });
        }
        return;
      }
      case 'error': {
        const err = new SwitchboardError(Number(f['code']), String(f['msg']), typeof f['detail'] === 'string' ? f['detail'] : undefined);
        const p = f['id'] !== undefined ? this.pending.get(String(f['id'])) : undefined;
        if (p) {
          this.pending.delete(String(f['id']));
          p.reject(err);
        } else this.emit('error', { code: err.code, msg: String(f['msg']), ...(err.detail ? { detail: err.detail } : {}) });
        return;
      }
      case 'pong':
      case 'read_ok':
        return;
    }
    if (f['type'] === 'message' && f['transparent'] === true) {
      this.emit('message', { cursor: cursor ?? this.cursor ?? 0, message: f['message'] as Message, transparent: true });
      return;
    }
    // Cursor-bearing events: each once, in order.
    if (cursor === undefined || (this.cursor !== undefined && cursor <= this.cursor)) return;
    this.advance(cursor);
    switch (f['type']) {
      case 'message': {
        const message = f['message'] as Message;
        this.emit('message', { cursor, message, transparent: false });
        this.noteDelivered(message.timestamp);
        return;
      }
      case 'recall':
      case 'update':
        this.emit(f['type'], { cursor, messageUid: Number(f['messageUid']), ...(f['message'] ? { message: f['message'] as Message } : {}) });
        return;
      case 'delete':
        this.emit('delete', { cursor, messageUid: Number(f['messageUid']) });
        return;
      case 'clear':
        this.emit('clear', { cursor, conv: f['conv'] as Conversation, startTime: Number(f['startTime']), endTime: Number(f['endTime']) });
        return;
      case 'conversation_delete':
        this.emit('conversation_delete', { cursor, conv: f['conv'] as Conversation, endTime: Number(f['endTime']) });
        return;
      case 'read':
        this.emit('read', { cursor, userId: String(f['userId']), conv: f['conv'] as Conversation, timestamp: Number(f['timestamp']) });
        return;
    }
  }

  private advance(cursor: number | undefined): void {
    if (cursor === undefined || (this.cursor !== undefined && cursor <= this.cursor)) return;
    this.cursor = cursor;
    void this.opts.cursorStore?.save(cursor);
  }

  /** Delivery acks, batched: the newest message timestamp received, at most once per interval. */
  private noteDelivered(timestamp: number): void {
    if (timestamp > this.newestTimestamp) this.newestTimestamp = timestamp;
    if (this.ackTimer) return;
    this.ackTimer = setTimeout(() => this.flushAck(), this.opts.ackIntervalMs ?? 1000);
  }

  private flushAck(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (this.newestTimestamp > this.ackedTimestamp && this.write({ type: 'ack', cursor: this.cursor, timestamp: this.newestTimestamp })) {
      this.ackedTimestamp = this.newestTimestamp;
    }
  }
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID ? c.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
