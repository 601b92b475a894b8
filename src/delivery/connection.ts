import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import { CoreError, isCoreError } from '../core/errors.js';
import type { Hub } from '../core/hub.js';
import { MAX_ID_LENGTH } from '../core/limits.js';
import { longerThan, normalizeConversation, normalizePayload, stringList } from '../core/payload.js';
import type { SyncEvent } from '../core/ports/store.js';
import { codeOf } from '../core/codes.js';
import type { Logger } from '../log.js';
import type { ChatroomSessions } from './chatroom-sessions.js';
import {
  chatroomInfo,
  chatroomLeftFrame,
  CloseCode,
  eventFrame,
  frameIdProblem,
  syncedFrame,
  transparentFrame,
  unknownTypeMessage,
  type ClientFrame,
} from './protocol.js';
import type { Limiter } from './limiter.js';
import { LiveRing } from './live-ring.js';
import { answerRequest, isRequestFrame } from './requests.js';
import type { Session } from './registry.js';
import { closeWithDeadline } from './ws-guard.js';

/** Settings shared by every connection of a gateway. */
export interface ConnectionSettings {
  hub: Hub;
  log: Logger;
  /** Send-buffer cap (bytes): a connection past it is closed with 4009 and must resync. */
  maxBufferedBytes: number;
  /** Events per replay page; each page is flushed to the socket before the next is read. */
  replayPageSize: number;
  /** Live events held while a connection replays; past it they are dropped and replay runs again. */
  liveBufferMax: number;
  /** Client frames per second, and burst. */
  ratePerSecond: number;
  rateBurst: number;
  /** Once per connection; `why`: revoked (4003), timeout (no pong), server (shutting down) or closed. */
  onClose: (c: ClientConnection, why: 'revoked' | 'timeout' | 'server' | 'closed') => void;
  /** This node's connections by chatroom (joins attach, leaves detach). */
  chatrooms: ChatroomSessions<ClientConnection>;
  /** This node's id: the prefix of connection ids (sessions). */
  nodeId: number;
}

/**
 * One device connection. Cursor invariant: frames carry cursors that never decrease, and every event
 * of the user with a cursor above the one the device connected with is sent exactly once — by replay
 * first (from the store, in pages, under flow control), then live (from the bus). Live events that
 * arrive during a replay are held and sent after it unless the replay already covered them.
 *
 * A replay runs at connect, for a `sync` frame, and — silently, without `synced` — when a live recall
 * or update carries content: the store decides what this user may see of it (hidden messages stay
 * hidden), so the connection reads it back through replay instead of sending the shared frame.
 * A replay that fails closes the connection with 1011: the device reconnects and resyncs.
 */
export class ClientConnection implements Session {
  readonly connectedAt = Date.now();
  /** Last cursor sent (or covered by replay). */
  lastSeq = 0;
  /** Every event of this user up to this cursor was read from the store (replay) or is older than the connection. */
  private coveredTo = 0;
  /**
   * The last cursors sent live. A live event at or below `lastSeq` and above `coveredTo` that is not
   * here arrived late — published by another node after a later event — and is sent rather than
   * dropped (see push). One older than the ring is sent too: a rare repeat is preferred to a loss.
   */
  private readonly ring = new LiveRing();
  /** Events that arrived after a later one and were sent late (tests, diagnostics). */
  lateEvents = 0;
  /** Heartbeat: set by any pong or frame, cleared by each ping round. */
  alive = true;
  /** Its login was reported (so its end is reported too). */
  announced = false;
  /** This connection's id for chatroom membership: unique across nodes and restarts. */
  readonly session: string;
  /** The chatroom it is in (kept by ChatroomSessions), or null. */
  room: string | null = null;
  /**
   * Live frames held while replaying (null when live). A transparent message is held as its message
   * JSON (seq 0) and framed when sent, with the cursor of that moment.
   */
  private held: Array<{ seq: number; frame: string }> | null = [];
  /**
   * The store has events the held frames lack (they overflowed, or one must be read as this user sees
   * it): the running replay reads on before going live.
   */
  private rescan = false;
  /** Who asked for the running replay: the device (ends with `synced`) or the server (silent). */
  private replayBy: 'device' | 'server' | null = 'device';
  /** A chatroom join in progress (sends wait for it: they must find the device in the room). */
  private joining: Promise<void> | null = null;
  /** A `sync` frame received during a server-initiated replay: served when that replay ends. */
  private pendingSync: number | null = null;
  private closed = false;
  private tokens: number;
  private tokensAt = Date.now();
  private strikes = 0;

  constructor(
    private readonly ws: WebSocket,
    readonly userId: string,
    readonly clientId: string,
    readonly platform: number,
    /** The cursor from which the user exists (broadcasts before it are not for this user). */
    readonly since: number,
    /** The device's address (callbacks report it as ClientIP). */
    readonly ip: string,
    private readonly s: ConnectionSettings,
  ) {
    this.tokens = s.rateBurst;
    this.session = `${s.nodeId}:${randomUUID()}`;
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('pong', () => (this.alive = true));
    ws.on('close', () => this.closedByPeer());
    ws.on('error', () => this.closedByPeer());
  }

  get live(): boolean {
    return this.held === null;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Replay from `cursor` (or, without one, start from the current head), then go live. A cursor ahead
   * of the store's durable head (e.g. the server was restored from a backup) is clamped to the head and
   * answered at once by `synced` with `reset: true`. Never rejects: a failure closes with 1011.
   */
  async start(cursor: number | null): Promise<void> {
    this.write(JSON.stringify({ type: 'hello', userId: this.userId, clientId: this.clientId }));
    await this.guarded(async () => {
      const head = await this.s.hub.store.sync.headSeq();
      if (this.closed) return;
      if (cursor !== null && cursor <= head) {
        this.covered(cursor); // the device has everything up to its cursor
        await this.replay(cursor, true);
        return;
      }
      this.lastSeq = head;
      this.covered(head);
      if (cursor !== null) this.write(syncedFrame(head, true));
      await this.finish(cursor === null);
    });
  }

  /** Run `work`; a failure closes the connection with 1011 (the device reconnects and resyncs). */
  private async guarded(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      if (this.closed) return;
      this.s.log.error({ err, userId: this.userId }, 'replay failed; closing the connection so the device resyncs');
      this.close(CloseCode.internalError, 'replay failed: reconnect with your cursor');
    }
  }

  /** Go live now, or read on first when the store has something the held frames lack. */
  private async finish(announce: boolean): Promise<void> {
    if (this.rescan) await this.replay(this.lastSeq, announce);
    else this.goLive(announce);
  }

  private async replay(from: number, announce: boolean): Promise<void> {
    const { hub, replayPageSize } = this.s;
    this.held ??= [];
    let after = from;
    this.lastSeq = Math.max(this.lastSeq, from);
    for (;;) {
      const page = await hub.store.sync.replay(this.userId, after, replayPageSize, Date.now());
      if (this.closed) return;
      let last: Promise<void> = Promise.resolve();
      for (const e of page.events) {
        last = this.sendReplayed(e);
        // Flow control: past half the cap, wait until the socket drains (replay never trips the cap).
        if (this.ws.bufferedAmount > this.s.maxBufferedBytes / 2) await last;
        if (this.closed) return;
      }
      after = page.next;
      if (after > this.lastSeq) this.lastSeq = after;
      this.covered(after);
      // The page is in the kernel before the next one is read.
      await last;
      if (this.closed) return;
      if (!page.done) continue;
      if (this.rescan) {
        // Live events were dropped or must be read as this user sees them: the store has them; read on.
        this.rescan = false;
        this.held = (this.held ?? []).filter((h) => h.seq === 0);
        continue;
      }
      this.goLive(announce);
      return;
    }
  }

  private goLive(announce: boolean): void {
    const held = this.held ?? [];
    this.held = null;
    this.replayBy = null;
    for (const h of held) {
      if (h.seq === 0) this.write(transparentFrame(this.lastSeq, h.frame));
      else if (h.seq > this.lastSeq) {
        this.lastSeq = h.seq;
        this.ring.add(h.seq);
        this.write(h.frame);
      }
    }
    if (announce) this.write(syncedFrame(this.lastSeq));
    if (this.pendingSync !== null && !this.closed) {
      const c = this.pendingSync;
      this.pendingSync = null;
      void this.deviceSync(c);
    }
  }

  /** The store was read up to `seq` for this user (or the device has everything up to it). */
  private covered(seq: number): void {
    if (seq > this.coveredTo) this.coveredTo = seq;
  }

  /**
   * Where a resync after missed bus traffic reads from: the last cursor up to which the store was read
   * (`coveredTo`), or the highest cursor that left the ring, whichever is higher. Above that point
   * every event sent live is in the ring (skipped by sendReplayed: never sent twice) and any other was
   * missed (sent late). An event missed below it — more than LiveRing.SIZE live events were sent after it
   * before the gap was noticed — is not recovered until the device syncs again.
   */
  private resyncFrom(): number {
    return Math.max(this.coveredTo, this.ring.floor);
  }

  private sendReplayed(e: SyncEvent): Promise<void> {
    if (e.seq <= this.lastSeq && this.replayBy === 'server') {
      // A resync reading below the cursor (see resyncFrom): what was sent live is skipped, what the bus
      // lost goes now as a late event, with the current cursor (cursors never decrease).
      // Not put in the ring: the replay's page end covers it (`coveredTo`), and the ring (so its floor)
      // stays as it was when the replay started.
      if (e.seq <= this.resyncFrom() || this.ring.has(e.seq)) return Promise.resolve();
      this.lateEvents++;
      const late = { ...e, seq: this.lastSeq };
      return new Promise((resolve) => {
        if (!this.write(eventFrame(late), () => resolve(), false)) resolve();
      });
    }
    // A device's `sync` from an older cursor gets every event again, each with its own cursor.
    if (e.seq > this.lastSeq) this.lastSeq = e.seq;
    return new Promise((resolve) => {
      if (!this.write(eventFrame(e), () => resolve(), false)) resolve();
    });
  }

  /**
   * A live event for this connection. `frame` is shared by all receivers and serialised on first use;
   * `userView`: the event's content depends on the receiver, so it is read back through replay rather
   * than sent as is. Returns true when a frame was written (false: held during replay, already
   * covered, read back from the store, or the connection is gone).
   */
  push(ev: SyncEvent, frame: () => string, userView = false): boolean {
    if (this.closed) return false;
    const seq = ev.seq;
    if (this.held) {
      if (userView || this.held.length >= this.s.liveBufferMax) this.rescan = true;
      else this.held.push({ seq, frame: frame() });
      return false;
    }
    if (seq <= this.lastSeq) {
      // Already sent (by replay, or live) — or late: another node published it after a later event
      // this connection already sent. A late event is sent now, with the current cursor (cursors never
      // decrease), rather than lost.
      if (seq <= this.coveredTo || this.ring.has(seq)) return false;
      this.lateEvents++;
      this.ring.add(seq);
      // A recall or update whose content depends on the reader cannot be read back by replay (the
      // cursor is past it): it goes without its content, as a notice that the message changed.
      return this.write(eventFrame(userView ? { ...ev, seq: this.lastSeq, message: undefined } : { ...ev, seq: this.lastSeq }));
    }
    if (userView) {
      // Read it (and anything after it) as this user sees it; live frames are held meanwhile.
      this.held = [];
      this.replayBy = 'server';
      void this.guarded(() => this.replay(this.lastSeq, false));
      return false;
    }
    const text = frame();
    this.lastSeq = seq;
    this.ring.add(seq);
    return this.write(text);
  }

  /**
   * The bus may have lost events for this connection (Gateway.missed): read the store from the cursor
   * (silently: no `synced`), holding live events meanwhile. A replay already running reads on.
   * `limiter` bounds how many connections of the node replay at once (every one resyncs after a gap).
   */
  resync(limiter?: Limiter): void {
    if (this.closed) return;
    if (this.held) {
      this.rescan = true;
      return;
    }
    this.held = [];
    this.replayBy = 'server';
    // From below the cursor: the bus may have lost an event older than one already sent live (another
    // node's, while this node's own events still arrived).
    const replay = (): Promise<void> => (this.closed ? Promise.resolve() : this.replay(this.resyncFrom(), false));
    void this.guarded(() => (limiter ? limiter.run(replay) : replay()));
  }

  /** A transparent message (never stored): delivered only to connections that are live now. */
  pushTransparent(messageJson: () => string): boolean {
    if (this.closed) return false;
    if (this.held) {
      if (this.held.length < this.s.liveBufferMax) this.held.push({ seq: 0, frame: messageJson() });
      return false;
    }
    return this.write(transparentFrame(this.lastSeq, messageJson()));
  }

  /**
   * A chatroom frame (a message of the room, or a removal): written now, replay or not — it has no
   * cursor, so it cannot be out of order with the sync log.
   */
  pushChatroom(frame: () => string): boolean {
    if (this.closed) return false;
    return this.write(frame());
  }

  /**
   * A notice without a cursor — a relation or friend-request change, or an agent's notice
   * (channel_delivery, service_session): written now, replay or not, like a chatroom frame; never
   * replayed (a reconnecting device reads the current state). `frame` is serialised only when needed.
   */
  pushNotice(frame: () => string): boolean {
    if (this.closed) return false;
    return this.write(frame());
  }

  /**
   * A `sync` frame: replay from `cursor`, ended by `synced`. A cursor ahead of the store's head is
   * answered at once by `synced` with this connection's position and `reset: true`. Never rejects.
   */
  private async deviceSync(cursor: number): Promise<void> {
    this.held ??= [];
    this.replayBy = 'device';
    await this.guarded(async () => {
      const head = await this.s.hub.store.sync.headSeq();
      if (this.closed) return;
      if (cursor > head) {
        this.write(syncedFrame(this.lastSeq, true));
        await this.finish(false);
      } else await this.replay(cursor, true);
    });
  }

  /**
   * Write a frame without waiting (`written`, if given, runs once it is handed to the kernel).
   * Over the send-buffer cap: close with 4009 instead.
   */
  private write(frame: string, written?: () => void, capped = true): boolean {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return false;
    if (capped && this.ws.bufferedAmount > this.s.maxBufferedBytes) {
      this.close(CloseCode.tooSlow, 'too slow: reconnect with your cursor');
      return false;
    }
    if (written) this.ws.send(frame, written);
    else this.ws.send(frame);
    return true;
  }

  /** Write a frame; resolves once it is handed to the kernel (flow control for replay and replies). */
  private send(frame: string): Promise<void> {
    return new Promise((resolve) => {
      if (!this.write(frame, () => resolve())) resolve();
    });
  }

  /** Close with `code`; a peer that never answers the closing handshake is cut off. Never throws. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ended(code === CloseCode.revoked ? 'revoked' : code === CloseCode.goingAway ? 'server' : 'closed');
    closeWithDeadline(this.ws, code, reason);
  }

  /** Cut off a connection that stopped answering pings. */
  terminate(): void {
    if (!this.closed) {
      this.closed = true;
      this.ended('timeout');
    }
    this.ws.terminate();
  }

  ping(): void {
    this.alive = false;
    try {
      this.ws.ping();
    } catch {
      this.terminate();
    }
  }

  /** The socket's 'close' or 'error' event (a frame `ws` rejected: it closes the socket itself). */
  private closedByPeer(): void {
    if (this.closed) return;
    this.closed = true;
    this.ended('closed');
  }

  /**
   * Report the end once. It runs inside socket events and timers, where a throw would end the
   * process: a failing onClose is logged instead.
   */
  private ended(why: 'revoked' | 'timeout' | 'server' | 'closed'): void {
    try {
      this.s.onClose(this, why);
    } catch (err) {
      this.s.log.error({ err, userId: this.userId }, 'cleaning up after a connection failed');
    }
  }

  /** Where this device's changes come from, for callbacks. */
  get origin(): { kind: 'device'; ip: string; clientId: string; platform: number } {
    return { kind: 'device', ip: this.ip, clientId: this.clientId, platform: this.platform };
  }

  private takeToken(): boolean {
    const now = Date.now();
    if (now > this.tokensAt) {
      this.tokens = Math.min(this.s.rateBurst, this.tokens + ((now - this.tokensAt) * this.s.ratePerSecond) / 1000);
      this.tokensAt = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Every device frame; nothing a device sends may throw out of here (it would crash the process). */
  private onFrame(data: WebSocket.RawData, isBinary: boolean): void {
    try {
      this.frame(data, isBinary);
    } catch (err) {
      this.s.log.error({ err, userId: this.userId }, 'handling a device frame failed');
      this.close(CloseCode.internalError, 'internal error');
    }
  }

  private frame(data: WebSocket.RawData, isBinary: boolean): void {
    this.alive = true;
    if (!this.takeToken()) {
      // Consecutive frames over the limit: persisting past a burst's worth closes the socket.
      this.strikes++;
      if (this.strikes > this.s.rateBurst) this.close(CloseCode.rateLimited, 'rate limit exceeded');
      else void this.send(errorFrame(undefined, new CoreError('over_frequency')));
      return;
    }
    this.strikes = 0;
    let frame: ClientFrame;
    try {
      if (isBinary) throw new Error('binary');
      const parsed: unknown = JSON.parse(data.toString());
      if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { type?: unknown }).type !== 'string') throw new Error('shape');
      frame = parsed as ClientFrame;
    } catch {
      void this.send(errorFrame(undefined, new CoreError('invalid_parameter', 'frames are JSON objects with a type')));
      return;
    }
    // The id is echoed in replies: only a bounded string or a number (see frameIdProblem).
    const id: unknown = (frame as { id?: unknown }).id;
    const idProblem = frameIdProblem(id);
    if (idProblem !== undefined) {
      void this.send(errorFrame(undefined, new CoreError('invalid_parameter', idProblem)));
      return;
    }
    const replyId = id as string | number | undefined;
    this.handle(frame).catch((err: unknown) => {
      if (!isCoreError(err)) this.s.log.error({ err, userId: this.userId }, 'device frame failed');
      void this.send(errorFrame(replyId, err));
    });
  }

  private async handle(f: ClientFrame): Promise<void> {
    const hub = this.s.hub;
    if (isRequestFrame(f)) {
      const reply = await answerRequest(hub, this, f);
      if (reply !== undefined) await this.send(reply);
      return;
    }
    switch (f.type) {
      case 'ping':
        await this.send(JSON.stringify({ type: 'pong', ...(f.id !== undefined ? { id: f.id } : {}) }));
        return;
      case 'send': {
        // A send written right after a join (the SDK rejoins first, then writes queued sends) is handled
        // once the join is done, so it finds the device in the room, whatever the join's latency.
        while (this.joining) await this.joining;
        const clientMsgId = f.clientMsgId;
        if (clientMsgId !== undefined && (typeof clientMsgId !== 'string' || clientMsgId.length === 0 || clientMsgId.length > 128)) {
          throw new CoreError('invalid_parameter', 'clientMsgId must be a string of 1..128 characters');
        }
        const r = await hub.messages.send({
          sender: this.userId,
          conv: normalizeConversation(f.conv),
          payload: normalizePayload(f.payload),
          toUsers: stringList(f.toUsers, 'toUsers'),
          clientId: this.clientId,
          platform: this.platform,
          origin: this.origin,
          ...(clientMsgId !== undefined ? { clientMsgId } : {}),
        });
        await this.send(
          JSON.stringify({ type: 'sent', id: f.id, messageUid: r.message.uid, timestamp: r.message.timestamp, ...(r.duplicate ? { duplicate: true } : {}) }),
        );
        return;
      }
      case 'sync': {
        const c = f.cursor;
        if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 0) throw new CoreError('invalid_parameter', 'cursor must be a non-negative integer');
        if (this.replayBy === 'device') throw new CoreError('invalid_parameter', 'already syncing');
        if (this.replayBy === 'server') {
          // The device cannot know of a server-initiated replay: serve its sync right after it.
          this.pendingSync = c;
          return;
        }
        await this.deviceSync(c);
        return;
      }
      case 'chatroom_join': {
        const chatroomId = chatroomIdOf(f.chatroomId);
        const joining = hub.chatrooms.join(chatroomId, { userId: this.userId, clientId: this.clientId, platform: this.platform, session: this.session });
        const done = joining.then(
          () => undefined,
          () => undefined,
        );
        this.joining = done;
        let info: Awaited<typeof joining>;
        try {
          info = await joining;
        } finally {
          if (this.joining === done) this.joining = null;
        }
        if (this.closed) {
          // Ended while joining: its close found no room to leave.
          await hub.chatrooms.leave(chatroomId, this.userId, this.session);
          return;
        }
        this.s.chatrooms.attach(chatroomId, this);
        await this.send(JSON.stringify({ type: 'chatroom_joined', id: f.id, chatroom: chatroomInfo(info) }));
        return;
      }
      case 'chatroom_leave': {
        const chatroomId = chatroomIdOf(f.chatroomId);
        if (this.room === chatroomId) this.s.chatrooms.detach(this);
        await hub.chatrooms.leave(chatroomId, this.userId, this.session);
        await this.send(chatroomLeftFrame(chatroomId, 'left', f.id));
        return;
      }
      default:
        throw new CoreError('invalid_parameter', unknownTypeMessage((f as { type: unknown }).type));
    }
  }
}

/** A chatroom id from a frame: a string of 1..MAX_ID_LENGTH characters. */
function chatroomIdOf(v: unknown): string {
  if (typeof v !== 'string' || v === '') throw new CoreError('invalid_parameter', 'chatroomId must be a non-empty string');
  if (longerThan(v, MAX_ID_LENGTH)) throw new CoreError('invalid_parameter', `chatroomId must have at most ${MAX_ID_LENGTH} characters`);
  return v;
}

function errorFrame(id: string | number | undefined, err: unknown): string {
  const kind = isCoreError(err) ? err.kind : 'server_error';
  const [code, msg] = codeOf(kind, isCoreError(err) ? err.code : undefined, isCoreError(err) ? err.detail : undefined);
  const detail = isCoreError(err) && err.detail ? err.detail : undefined;
  return JSON.stringify({ type: 'error', ...(id !== undefined ? { id } : {}), code, msg, ...(detail ? { detail } : {}) });
}
