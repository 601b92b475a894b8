import { backoffDelay } from './backoff.js';
import { CLIENT_CODE, SwitchboardError, TIMEOUT_CODE } from './errors.js';
import { Emitter, type ClientEvent, type ClientEvents, type Handler } from './events.js';
import { checkCursor, checkTimestamp, settingsOf, type ClientOptions, type CursorStore, type Settings, type WebSocketLike } from './options.js';
import type { ChannelDeliveryStatus, ChatroomInfo, ChatroomLeftReason, Conversation, FriendRelation, FriendRequest, Message, Payload, UserSetting, ReadResult, SendResult, ServiceSession, SyncResult } from './protocol.js';

/** Close codes after which reconnecting with the same token cannot help. */
const FATAL_WITH_STATIC_TOKEN = new Set([4001, 4003]);
/** Close codes after which reconnecting cannot help at all (a malformed connection request). */
const FATAL = new Set([4000]);
/** The server closed the socket over a frame larger than its limit. */
const TOO_BIG = 1009;
/** Reported when the client itself gives up on a silent socket. */
const ABNORMAL = 1006;
const OPEN = 1;

type Frame = Record<string, unknown>;

/** A `send` or `read` waiting for its reply (`sent` / `read_ok` / `error` with its id). */
interface Request {
  id: string;
  text: string;
  /** The socket it was last written on: each request is written at most once per socket. */
  socket: WebSocketLike | null;
  timer: ReturnType<typeof setTimeout> | null;
  resolve: (reply: Frame) => void;
  reject: (e: Error) => void;
}

/** An explicit `sync()` waiting for its `synced`. */
interface PendingSync {
  id: string;
  resolve: (r: SyncResult) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout> | null;
}

/**
 * A device connection to Switchboard's gateway (docs/client-protocol.md), for browsers and Node.
 *
 * Contracts:
 * - Events with a cursor are emitted in cursor order, each once: a frame at or below `lastCursor`
 *   is dropped. The one exception is `sync(olderCursor)`, which emits the events after that cursor
 *   up to `lastCursor` once more (newer events still once).
 * - `lastCursor` never decreases; `cursorStore.save` is called with each new value, in order.
 * - After a disconnect the client reconnects (backoff with jitter and a cap) from `lastCursor`,
 *   so nothing is skipped or repeated; `close()` stops it for good, including a pending retry.
 * - Each `send`/`read` frame is written exactly once per socket. Queued while no socket is
 *   accepted, they go out in call order when the next one is (its `hello`); one unanswered when a
 *   socket drops is written again on the next, with the same clientMsgId (the server stores it once;
 *   persistFlag 4 transparent sends are not deduplicated, so one whose reply was lost may arrive twice).
 */
export class SwitchboardClient {
  private readonly s: Settings;
  private readonly store: CursorStore | undefined;
  private readonly events = new Emitter();

  /** Bumped by every connect() that starts and every stop: async work of an older run gives up. */
  private run = 0;
  private started: Promise<void> | null = null;
  private firstSync: { resolve: () => void; reject: (e: Error) => void } | null = null;

  private ws: WebSocketLike | null = null;
  /** The current socket's `hello` arrived: requests may be written. */
  private accepted = false;
  /** The current socket finished its replay and no `sync` is outstanding. */
  private live = false;
  /** Something arrived on the current socket since the last ping round. */
  private heard = false;

  private cursor: number | undefined;
  /** An explicit sync from an older cursor: events in (next, until] are emitted once more. */
  private window: { next: number; until: number } | null = null;

  private nextId = 1;
  private readonly requests = new Map<string, Request>();
  private pendingSync: PendingSync | null = null;
  private readonly syncedWaiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();

  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;

  /**
   * The chatroom this device wants to be in (set by joinChatroom, cleared by leaveChatroom or by the
   * server removing it): rejoined automatically on every new socket.
   */
  private room: string | null = null;
  /** Unanswered chatroom_join requests: request id → room. */
  private readonly joins = new Map<string, string>();

  /** Newest message timestamp received, the newest to acknowledge, and the newest acknowledged. */
  private newestTimestamp = 0;
  private ackWanted = 0;
  private acked = 0;
  private ackTimer: ReturnType<typeof setTimeout> | null = null;

  /** Throws a TypeError/RangeError for a bad option (URL, token, cursor, store, timings, no WebSocket). */
  constructor(opts: ClientOptions) {
    this.s = settingsOf(opts);
    this.store = opts.cursorStore;
    this.cursor = opts.cursor;
  }

  /** Subscribe to an event; returns the unsubscribe function. */
  on<E extends ClientEvent>(event: E, handler: Handler<E>): () => void {
    return this.events.on(event, handler);
  }

  /** The last cursor seen (persist it, or use `cursorStore`): reconnecting with it resumes exactly after it. */
  get lastCursor(): number | undefined {
    return this.cursor;
  }

  /**
   * Open the connection: loads the cursor from `cursorStore` (unless one is known), connects, and
   * resolves once the first replay is complete (`synced`). While connecting or connected it returns
   * the same promise; after `close()` or a fatal close it starts anew. Retries with backoff until the
   * first sync; rejects on a fatal close (4000, or 4001/4003 with a static token), with reconnect
   * off on any close, or on `close()`.
   */
  connect(): Promise<void> {
    if (this.started) return this.started;
    const run = ++this.run;
    const p = new Promise<void>((resolve, reject) => {
      this.firstSync = { resolve, reject };
    });
    // The outcome is also reported by events: an unawaited connect() must not crash the app.
    p.catch(() => undefined);
    this.started = p;
    void this.begin(run);
    return p;
  }

  /** Close for good: no reconnect, pending acks flushed, unanswered requests and connect() rejected (code 0), no chatroom rejoined later. */
  close(): void {
    this.room = null;
    if (!this.started && !this.ws) return;
    this.flushAck();
    this.stop(new SwitchboardError(CLIENT_CODE, 'client closed'));
  }

  /**
   * Send a message; resolves once it is stored. Queued while disconnected (sent in call order after
   * reconnecting), resent with the same clientMsgId if a disconnect interrupts it. Rejects with the
   * server's code (9 not in group, 241 muted, 245 blocked, 253 unknown target, 251 bad input…), 249
   * without a reply in `requestTimeoutMs`, 1009 if the server refused the frame's size, or on close.
   */
  send(conv: Conversation, payload: Payload, opts: { toUsers?: string[]; clientMsgId?: string } = {}): Promise<SendResult> {
    const id = `s${this.nextId++}`;
    const frame = {
      type: 'send',
      id,
      conv,
      payload,
      clientMsgId: opts.clientMsgId ?? randomId(),
      ...(opts.toUsers ? { toUsers: opts.toUsers } : {}),
    };
    return this.request(id, frame, (f) => ({ messageUid: Number(f['messageUid']), timestamp: Number(f['timestamp']), duplicate: f['duplicate'] === true }));
  }

  /**
   * Report that the user read `conv` up to `timestamp` (ms): feeds conv_read and the unread counts,
   * tells the user's other devices and the other party. Queued while disconnected like `send`.
   * Resolves with the read mark (it never moves back); await it to see failures (an unawaited
   * read that fails is dropped silently).
   */
  read(conv: Conversation, timestamp: number): Promise<ReadResult> {
    let p: Promise<ReadResult>;
    try {
      checkTimestamp(timestamp, 'read timestamp');
      const id = `r${this.nextId++}`;
      p = this.request(id, { type: 'read', id, conv, timestamp }, (f) => ({ timestamp: Number(f['timestamp']) }));
    } catch (err) {
      p = Promise.reject(err as Error);
    }
    p.catch(() => undefined);
    return p;
  }

  /** The chatroom this device is in (or joining); null when none. */
  get chatroom(): string | null {
    return this.room;
  }

  /**
   * Join a chatroom (a user is in at most one, from one device: joining elsewhere leaves the previous
   * one, and the device that was there gets `chatroom_left` "replaced"). Resolves with the room once
   * joined; from then on its messages arrive as `chatroom_message` events, live only. After a
   * reconnect the client joins the room again by itself (a refusal is reported as `chatroom_left`
   * "rejoin_failed"). Queued while disconnected like `send`. Rejects with the server's code: 253 no
   * such room (or it ended), 246 banned from it, 251 a bad id.
   */
  joinChatroom(chatroomId: string): Promise<ChatroomInfo> {
    const id = `j${this.nextId++}`;
    this.room = chatroomId;
    this.joins.set(id, chatroomId);
    const p = this.request(id, { type: 'chatroom_join', id, chatroomId }, (f) => f['chatroom'] as ChatroomInfo);
    p.then(
      () => this.joins.delete(id),
      () => {
        this.joins.delete(id);
        if (this.room === chatroomId) this.room = null;
      },
    );
    return p;
  }

  /**
   * Leave the chatroom (default: the one joined). Resolves once the server confirmed it; no rejoin
   * after a reconnect. Leaving a room the device is not in succeeds too.
   */
  leaveChatroom(chatroomId: string | null = this.room): Promise<void> {
    if (chatroomId === null) return Promise.resolve();
    if (this.room === chatroomId) this.room = null;
    const id = `l${this.nextId++}`;
    return this.request(id, { type: 'chatroom_leave', id, chatroomId }, () => undefined);
  }

  /**
   * Everything this user keeps about other users (friends, blacklisted, with an alias or extra),
   * oldest change first. Changes arrive live as `friend` events. Queued while disconnected like `send`.
   */
  friends(): Promise<FriendRelation[]> {
    const id = `f${this.nextId++}`;
    return this.request(id, { type: 'friends', id }, (f) => (Array.isArray(f['relations']) ? (f['relations'] as FriendRelation[]) : []));
  }

  /** Friend requests sent to and by this user, newest first (at most 500). New ones arrive live as `friend_request` events. */
  friendRequests(): Promise<FriendRequest[]> {
    const id = `r${this.nextId++}`;
    return this.request(id, { type: 'friend_requests', id }, (f) => (Array.isArray(f['requests']) ? (f['requests'] as FriendRequest[]) : []));
  }

  /**
   * Ask `userId` to be friends (a `friend_request` event on its devices). Rejects with 16 (a request
   * still pending), 18 (rejected recently), 23 (friends already), 246 (it blacklisted this user), 251.
   */
  addFriend(userId: string, reason = ''): Promise<void> {
    return this.relationRequest({ type: 'friend_add', userId, reason });
  }

  /**
   * Accept (or reject) the friend request `userId` sent this user: both users get a `friend_request`
   * event with the new status, and accepting makes them friends (`friend` events). Rejects with 253
   * (no such request), 19 (expired), 251.
   */
  answerFriendRequest(userId: string, accept: boolean): Promise<void> {
    return this.relationRequest({ type: 'friend_answer', userId, accept });
  }

  /** Be friends with `userId` no more, both ways (`friend` events on both sides). */
  deleteFriend(userId: string): Promise<void> {
    return this.relationRequest({ type: 'friend_delete', userId });
  }

  /** Put `userId` on this user's blacklist (its single-chat messages to this user are refused) or take it off. */
  setBlacklist(userId: string, blacked: boolean): Promise<void> {
    return this.relationRequest({ type: 'blacklist', userId, blacked });
  }

  private relationRequest(frame: Frame): Promise<void> {
    const id = `x${this.nextId++}`;
    return this.request(id, { ...frame, id }, () => undefined);
  }

  /** Every setting of this user, by scope then key. Changes arrive live as `user_setting` events. */
  userSettings(): Promise<UserSetting[]> {
    const id = `u${this.nextId++}`;
    return this.request(id, { type: 'user_settings', id }, (f) => (Array.isArray(f['settings']) ? (f['settings'] as UserSetting[]) : []));
  }

  /**
   * Acknowledge delivery up to `timestamp` (default: the newest message received): feeds
   * `/admin/message/delivery`. Sent now, or when the next socket is accepted. With `autoAck` (the
   * default) this happens by itself at most every `ackIntervalMs`; call it with `autoAck: false` to
   * acknowledge only what the app has really handled. Throws a RangeError for a bad timestamp.
   */
  ack(timestamp?: number): void {
    if (timestamp !== undefined) checkTimestamp(timestamp, 'ack timestamp');
    const ts = timestamp ?? this.newestTimestamp;
    if (ts > this.ackWanted) this.ackWanted = ts;
    this.flushAck();
  }

  /**
   * Ask for a replay from `cursor` (default `lastCursor`: a barrier that resolves once everything
   * committed before it has been emitted). From an older cursor, the events after it up to
   * `lastCursor` are emitted once more, in order. Waits for a replay under way to finish first;
   * survives a reconnect (it resumes where the replay was). Resolves at its `synced`; rejects if
   * not connected, for a cursor that is not a non-negative integer or is ahead of `lastCursor`,
   * with 249 if the server says nothing for `requestTimeoutMs`, or on close.
   */
  async sync(cursor?: number): Promise<SyncResult> {
    if (cursor !== undefined) checkCursor(cursor, 'sync cursor');
    if (!this.started) throw new SwitchboardError(CLIENT_CODE, 'not connected: call connect() first');
    while (!this.live || !this.ws) await this.nextSynced();
    const ws = this.ws;
    const from = cursor ?? this.cursor ?? 0;
    if (from > (this.cursor ?? 0)) throw new RangeError(`sync cursor ${from} is ahead of lastCursor ${String(this.cursor)}`);
    const id = `y${this.nextId++}`;
    this.window = from < (this.cursor ?? 0) ? { next: from, until: this.cursor ?? 0 } : null;
    this.live = false;
    return new Promise<SyncResult>((resolve, reject) => {
      this.pendingSync = { id, resolve, reject, timer: null };
      this.armSyncTimer();
      this.write(ws, { type: 'sync', id, cursor: from });
    });
  }

  // -------------------------------------------------------------------------------------------
  // Connection lifecycle

  private async begin(run: number): Promise<void> {
    if (this.cursor === undefined && this.store) {
      try {
        const c = await this.store.load();
        if (run !== this.run) return;
        if (c !== undefined) checkCursor(c, 'cursorStore.load()');
        this.cursor = c;
      } catch (err) {
        if (run === this.run) this.stop(err instanceof Error ? err : new TypeError(String(err)));
        return;
      }
    }
    await this.open(run);
  }

  private async open(run: number): Promise<void> {
    let token: string;
    try {
      const t = this.s.token;
      token = typeof t === 'function' ? await t() : t;
      if (typeof token !== 'string' || token === '') throw new TypeError('the token function returned no token');
    } catch (err) {
      if (run === this.run) this.lost(run, CLIENT_CODE, `token: ${errorText(err)}`);
      return;
    }
    // close() or a new connect() while the token was being fetched: open nothing.
    if (run !== this.run) return;
    const url = new URL(this.s.url);
    url.searchParams.set('token', token);
    const from = this.window ? this.window.next : this.cursor;
    if (from !== undefined) url.searchParams.set('cursor', String(from));
    let ws: WebSocketLike;
    try {
      ws = new this.s.WS(url.toString());
    } catch (err) {
      this.lost(run, CLIENT_CODE, `WebSocket: ${errorText(err)}`);
      return;
    }
    this.ws = ws;
    this.accepted = false;
    this.live = false;
    this.heard = false;
    ws.onopen = () => {
      if (this.ws === ws) this.startPing(ws);
    };
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.onFrame(ws, ev.data);
    };
    ws.onerror = () => {
      // onclose follows with the code
    };
    ws.onclose = (ev) => {
      if (this.ws === ws) this.dropped(ws, ev.code, ev.reason);
    };
  }

  /** The current socket is gone (closed by the peer, or given up on): keep requests, maybe reconnect. */
  private dropped(ws: WebSocketLike, code: number, reason: string): void {
    this.ws = null;
    this.accepted = false;
    this.live = false;
    this.stopPing();
    for (const r of this.requests.values()) {
      if (r.socket !== ws) continue;
      if (r.timer) clearTimeout(r.timer);
      r.timer = null;
      // Resending a frame the server refused for its size would loop: fail the ones in flight instead.
      if (code === TOO_BIG) {
        this.requests.delete(r.id);
        r.reject(new SwitchboardError(TOO_BIG, 'frame too big', reason || undefined));
      }
    }
    if (this.pendingSync?.timer) clearTimeout(this.pendingSync.timer);
    if (this.pendingSync) this.pendingSync.timer = null;
    this.lost(this.run, code, reason);
  }

  /** No connection now: retry after a backoff delay, or stop for good. */
  private lost(run: number, code: number, reason: string): void {
    const fatal = FATAL.has(code) || (FATAL_WITH_STATIC_TOKEN.has(code) && typeof this.s.token !== 'function');
    const backoff = this.s.reconnect;
    const reconnecting = backoff !== false && !fatal;
    this.events.emit('disconnected', { code, reason, reconnecting });
    if (run !== this.run) return; // a handler called close()
    if (!reconnecting) {
      this.stop(new SwitchboardError(code, reason || 'connection closed'));
      return;
    }
    const delayMs = backoffDelay(this.attempt, backoff);
    this.attempt++;
    this.events.emit('reconnecting', { attempt: this.attempt, delayMs });
    if (run !== this.run) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.open(run);
    }, delayMs);
  }

  /** Terminal: no socket, no timers, everything waiting rejected with `err`. connect() may start anew. */
  private stop(err: Error): void {
    this.run++;
    this.started = null;
    this.accepted = false;
    this.live = false;
    this.window = null;
    this.attempt = 0;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    this.stopPing();
    const ws = this.ws;
    this.ws = null;
    if (ws) release(ws, 'client closed');
    this.firstSync?.reject(err);
    this.firstSync = null;
    const requests = [...this.requests.values()];
    this.requests.clear();
    for (const r of requests) {
      if (r.timer) clearTimeout(r.timer);
      r.reject(err);
    }
    const ps = this.pendingSync;
    this.pendingSync = null;
    if (ps) {
      if (ps.timer) clearTimeout(ps.timer);
      ps.reject(err);
    }
    const waiters = [...this.syncedWaiters];
    this.syncedWaiters.clear();
    for (const w of waiters) w.reject(err);
  }

  /** Liveness: every interval, a socket that delivered nothing since the last one is given up on. */
  private startPing(ws: WebSocketLike): void {
    this.stopPing();
    this.heard = true;
    this.pingTimer = setInterval(() => {
      if (this.ws !== ws) return;
      if (!this.heard) {
        release(ws, 'ping timeout');
        this.dropped(ws, ABNORMAL, 'ping timeout');
        return;
      }
      this.heard = false;
      if (this.accepted) this.write(ws, { type: 'ping' });
    }, this.s.pingIntervalMs);
  }

  private stopPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  // -------------------------------------------------------------------------------------------
  // Frames

  private onFrame(ws: WebSocketLike, data: unknown): void {
    let f: Frame;
    try {
      const v: unknown = JSON.parse(typeof data === 'string' ? data : String(data));
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return;
      f = v as Frame;
    } catch {
      return; // not JSON: not a frame of this protocol
    }
    this.heard = true;
    if (this.pendingSync) this.armSyncTimer();
    const cursor = typeof f['cursor'] === 'number' ? f['cursor'] : undefined;
    switch (f['type']) {
      case 'hello':
        this.onHello(ws);
        this.events.emit('hello', { userId: String(f['userId']), clientId: String(f['clientId']) });
        return;
      case 'synced':
        this.onSynced(cursor, f['reset'] === true);
        return;
      case 'sent':
      case 'read_ok':
      case 'chatroom_joined':
      case 'friends':
      case 'friend_requests':
      case 'user_settings':
      case 'relation_ok':
        this.settle(String(f['id']), f, null);
        return;
      case 'user_setting':
        if (isObject(f['setting'])) this.events.emit('user_setting', { setting: f['setting'] as UserSetting });
        return;
      case 'friend':
        if (isObject(f['relation'])) this.events.emit('friend', { relation: f['relation'] as FriendRelation });
        return;
      case 'friend_request':
        if (isObject(f['request'])) this.events.emit('friend_request', { request: f['request'] as FriendRequest });
        return;
      case 'chatroom_left':
        this.onChatroomLeft(f);
        return;
      case 'chatroom_message':
        if (isObject(f['message'])) this.events.emit('chatroom_message', { chatroomId: String(f['chatroomId']), message: f['message'] as Message });
        return;
      case 'channel_delivery':
        if (isObject(f['conv']))
          this.events.emit('channel_delivery', {
            messageUid: Number(f['messageUid']),
            conv: f['conv'] as Conversation,
            guid: String(f['guid']),
            status: String(f['status']) as ChannelDeliveryStatus,
            error: String(f['error'] ?? ''),
            originalMessageId: String(f['originalMessageId'] ?? ''),
            originalMessageUrl: String(f['originalMessageUrl'] ?? ''),
          });
        return;
      case 'service_session':
        if (isObject(f['session']))
          this.events.emit('service_session', {
            event: String(f['event']) as ClientEvents['service_session']['event'],
            session: f['session'] as ServiceSession,
            ...(isObject(f['conv']) ? { conv: f['conv'] as Conversation } : {}),
            ...(typeof f['previousAgent'] === 'string' ? { previousAgent: f['previousAgent'] } : {}),
          });
        return;
      case 'error':
        this.onError(f);
        return;
      case 'pong':
        return;
      case 'message':
        if (f['transparent'] === true) {
          if (isObject(f['message'])) this.events.emit('message', { cursor: cursor ?? this.cursor ?? 0, message: f['message'] as Message, transparent: true });
          return;
        }
    }
    if (cursor === undefined || !this.accept(cursor)) return;
    switch (f['type']) {
      case 'message': {
        if (!isObject(f['message'])) return;
        const message = f['message'] as Message;
        this.noteDelivered(message.timestamp);
        this.events.emit('message', { cursor, message, transparent: false });
        return;
      }
      case 'recall':
      case 'update':
        this.events.emit(f['type'], { cursor, messageUid: Number(f['messageUid']), ...(isObject(f['message']) ? { message: f['message'] as Message } : {}) });
        return;
      case 'delete':
        this.events.emit('delete', { cursor, messageUid: Number(f['messageUid']) });
        return;
      case 'clear':
        this.events.emit('clear', { cursor, conv: f['conv'] as Conversation, startTime: Number(f['startTime']), endTime: Number(f['endTime']) });
        return;
      case 'conversation_delete':
        this.events.emit('conversation_delete', { cursor, conv: f['conv'] as Conversation, endTime: Number(f['endTime']) });
        return;
      case 'read':
        this.events.emit('read', { cursor, userId: String(f['userId']), conv: f['conv'] as Conversation, timestamp: Number(f['timestamp']) });
        return;
    }
    // Unknown frame types are ignored (newer servers may add some).
  }

  /**
   * The socket is accepted: rejoin the chatroom (first, so that queued sends into it find the device
   * there), then write every queued request (in call order) and the pending ack.
   */
  private onHello(ws: WebSocketLike): void {
    this.accepted = true;
    this.rejoin();
    for (const r of [...this.requests.values()]) if (r.socket !== ws) this.writeRequest(r, ws);
    this.flushAck();
  }

  /** A new socket is not in the room the device was in: join it again, unless a join for it is queued. */
  private rejoin(): void {
    const room = this.room;
    if (room === null || [...this.joins.values()].includes(room)) return;
    const id = `j${this.nextId++}`;
    this.joins.set(id, room);
    this.request(id, { type: 'chatroom_join', id, chatroomId: room }, () => undefined).then(
      () => this.joins.delete(id),
      (err: unknown) => {
        this.joins.delete(id);
        if (this.room !== room || !(err instanceof SwitchboardError) || err.code === CLIENT_CODE) return;
        this.room = null;
        this.events.emit('chatroom_left', { chatroomId: room, reason: 'rejoin_failed', code: err.code });
      },
    );
  }

  /** `chatroom_left`: the reply to a leave (with its id), or a removal the device did not ask for. */
  private onChatroomLeft(f: Frame): void {
    if (f['id'] !== undefined) {
      this.settle(String(f['id']), f, null);
      return;
    }
    const chatroomId = String(f['chatroomId']);
    // A removal from a room this device has since left or replaced concerns it no more.
    if (this.room !== chatroomId) return;
    this.room = null;
    this.events.emit('chatroom_left', { chatroomId, reason: String(f['reason']) as ChatroomLeftReason });
  }

  /**
   * `reset`: the server's head is behind the cursor we sent (its data was restored or reset); adopt
   * its cursor even though it is lower, or nothing newer would ever be accepted.
   */
  private onSynced(cursor: number | undefined, reset = false): void {
    if (cursor !== undefined) this.advance(cursor, reset);
    this.window = null;
    this.attempt = 0;
    this.live = true;
    const c = this.cursor ?? 0;
    this.events.emit('synced', { cursor: c });
    this.firstSync?.resolve();
    this.firstSync = null;
    const ps = this.pendingSync;
    this.pendingSync = null;
    if (ps) {
      if (ps.timer) clearTimeout(ps.timer);
      ps.resolve({ cursor: c });
    }
    const waiters = [...this.syncedWaiters];
    this.syncedWaiters.clear();
    for (const w of waiters) w.resolve();
  }

  private onError(f: Frame): void {
    const detail = typeof f['detail'] === 'string' ? f['detail'] : undefined;
    const err = new SwitchboardError(Number(f['code']), String(f['msg']), detail);
    const id = f['id'] === undefined ? undefined : String(f['id']);
    if (id !== undefined && this.requests.has(id)) {
      this.settle(id, null, err);
      return;
    }
    const ps = this.pendingSync;
    if (id !== undefined && ps && ps.id === id) {
      // Refused: the server stays live and replays nothing.
      this.pendingSync = null;
      if (ps.timer) clearTimeout(ps.timer);
      this.window = null;
      this.live = true;
      ps.reject(err);
      return;
    }
    this.events.emit('error', { code: err.code, msg: String(f['msg']), ...(detail ? { detail } : {}) });
  }

  /** Whether a cursor-bearing frame is new (or re-replayed by an explicit sync); moves the cursor. */
  private accept(c: number): boolean {
    if (this.cursor === undefined || c > this.cursor) {
      this.advance(c);
      return true;
    }
    const w = this.window;
    if (w && c > w.next && c <= w.until) {
      w.next = c;
      return true;
    }
    return false;
  }

  private advance(c: number, reset = false): void {
    if (!reset && this.cursor !== undefined && c <= this.cursor) return;
    this.cursor = c;
    if (!this.store) return;
    try {
      Promise.resolve(this.store.save(c)).catch((err: unknown) => this.storeFailed(err));
    } catch (err) {
      this.storeFailed(err);
    }
  }

  private storeFailed(err: unknown): void {
    this.events.emit('error', { code: CLIENT_CODE, msg: 'cursorStore.save failed', detail: errorText(err) });
  }

  // -------------------------------------------------------------------------------------------
  // Requests and acks

  private request<T>(id: string, frame: Frame, map: (reply: Frame) => T): Promise<T> {
    if (!this.started) return Promise.reject(new SwitchboardError(CLIENT_CODE, 'not connected: call connect() first'));
    let text: string;
    try {
      text = JSON.stringify(frame);
    } catch (err) {
      return Promise.reject(new TypeError(`the ${String(frame['type'])} frame cannot be serialised: ${errorText(err)}`));
    }
    return new Promise<T>((resolve, reject) => {
      const r: Request = { id, text, socket: null, timer: null, resolve: (reply) => resolve(map(reply)), reject };
      this.requests.set(id, r);
      if (this.ws && this.accepted) this.writeRequest(r, this.ws);
    });
  }

  private writeRequest(r: Request, ws: WebSocketLike): void {
    if (!this.writeText(ws, r.text)) return;
    r.socket = ws;
    if (r.timer) clearTimeout(r.timer);
    r.timer = setTimeout(() => {
      this.settle(r.id, null, new SwitchboardError(TIMEOUT_CODE, 'timeout', `no reply within ${this.s.requestTimeoutMs} ms`));
    }, this.s.requestTimeoutMs);
  }

  private settle(id: string, reply: Frame | null, err: Error | null): void {
    const r = this.requests.get(id);
    if (!r) return; // a late reply to a request that timed out, or not ours
    this.requests.delete(id);
    if (r.timer) clearTimeout(r.timer);
    if (err) r.reject(err);
    else r.resolve(reply ?? {});
  }

  /** A sync hears nothing for requestTimeoutMs: give up on it (the server keeps the connection). */
  private armSyncTimer(): void {
    const ps = this.pendingSync;
    if (!ps || !this.ws) return;
    if (ps.timer) clearTimeout(ps.timer);
    ps.timer = setTimeout(() => {
      if (this.pendingSync !== ps) return;
      this.pendingSync = null;
      this.window = null;
      this.live = true;
      ps.reject(new SwitchboardError(TIMEOUT_CODE, 'timeout', `no sync progress within ${this.s.requestTimeoutMs} ms`));
    }, this.s.requestTimeoutMs);
  }

  private nextSynced(): Promise<void> {
    return new Promise((resolve, reject) => this.syncedWaiters.add({ resolve, reject }));
  }

  private noteDelivered(timestamp: number): void {
    if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp)) return;
    if (timestamp > this.newestTimestamp) this.newestTimestamp = timestamp;
    if (!this.s.autoAck) return;
    if (timestamp > this.ackWanted) this.ackWanted = timestamp;
    this.ackTimer ??= setTimeout(() => {
      this.ackTimer = null;
      this.flushAck();
    }, this.s.ackIntervalMs);
  }

  /** Send the newest wanted ack if it is newer than the last one sent and a socket is accepted. */
  private flushAck(): void {
    if (this.ackWanted <= this.acked || !this.ws || !this.accepted) return;
    if (this.write(this.ws, { type: 'ack', cursor: this.cursor, timestamp: this.ackWanted })) this.acked = this.ackWanted;
  }

  private write(ws: WebSocketLike, frame: Frame): boolean {
    return this.writeText(ws, JSON.stringify(frame));
  }

  private writeText(ws: WebSocketLike, text: string): boolean {
    if (ws.readyState !== OPEN) return false;
    try {
      ws.send(text);
      return true;
    } catch {
      return false; // the socket is closing: its onclose follows
    }
  }
}

/** Detach our handlers and close the socket (errors it may still emit go to a no-op handler). */
function release(ws: WebSocketLike, reason: string): void {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = () => undefined;
  try {
    ws.close(1000, reason);
  } catch {
    // already closed
  }
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID ? c.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

