import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Hub } from '../../core/hub.js';
import type { InboxEvent } from '../../core/notifications/service.js';
import { CloseCode } from '../../delivery/protocol.js';
import { closeWithDeadline, guard } from '../../delivery/ws-guard.js';
import { refuseUpgrade } from '../../http/upgrade-router.js';
import type { UpgradeEndpoint } from '../../http/surface.js';
import type { Logger } from '../../log.js';
import { authenticate, tokenOf } from './auth.js';
import { CMS_ERRORS, CmsError } from './envelope.js';
import { wireInboxItem, wireItem } from './mappers.js';

export interface LiveInboxOptions {
  /** Exact path, e.g. "/v1/cms/getMessageRealTime". */
  path: string;
  /** Ping interval; a socket that answered no ping for a whole interval is dropped as dead. */
  heartbeatMs: number;
  /** Unread items sent on connect (newest first). */
  backlogMax: number;
  /** A socket whose unsent frames pass this is dropped (it cannot keep up). */
  maxBufferedBytes: number;
  /** Largest frame a client may send (clients send nothing meaningful). */
  maxFrameBytes: number;
  /** Sockets one user may hold on this node (default unlimited); one more is closed with 4011. */
  maxConnectionsPerUser?: number;
}

/** A frame's text, or its UTF-8 bytes when shared by many sockets (sent as a text frame). */
type Frame = string | Buffer;

/** Close code of a socket whose token was revoked (as the device gateway's). */
const REVOKED = 4003;

/** Socket writes per event-loop turn (see LiveInbox.drain). */
const WRITE_SLICE = 64;

/** A FIFO of pending writes: two arrays, O(1) amortised per operation. */
class FrameQueue {
  private head: Array<{ live: Live; frame: Frame }> = [];
  private tail: Array<{ live: Live; frame: Frame }> = [];
  private i = 0;

  get length(): number {
    return this.head.length - this.i + this.tail.length;
  }

  push(live: Live, frame: Frame): void {
    this.tail.push({ live, frame });
  }

  shift(): { live: Live; frame: Frame } | undefined {
    if (this.i >= this.head.length) {
      if (this.tail.length === 0) return undefined;
      this.head = this.tail;
      this.tail = [];
      this.i = 0;
    }
    return this.head[this.i++];
  }
}

/** One live inbox socket of a user. */
interface Live {
  ws: WebSocket;
  userId: string;
  clientId: string;
  lng: string | undefined;
  alive: boolean;
  /** Frames held while the backlog loads (null once live); pushes of ids in the backlog are dropped. */
  held: Array<{ frame: Frame; pushId?: string }> | null;
}

/**
 * The live inbox (seed 004 "user get message in real time"): `GET /v1/cms/getMessageRealTime?auth_token=T`
 * upgraded to a WebSocket. On connect the user's unread backlog is sent as one JSON array (possibly
 * empty), newest first; then every notification reaching the inbox as a single item object
 * `{body, has_read, id, title, type}`, and every change of the inbox made elsewhere (another device of
 * the user, an operator's delete) as an object `{event, ids, unread?}` (event: read, read_all, delete,
 * delete_all). The server never closes a socket on its own, except a peer that stopped answering
 * pings, one that cannot keep up (maxBufferedBytes), one whose token is revoked (4003: the user was
 * destroyed, blocked or its client kicked off) and at shutdown (1001).
 *
 * The socket is registered before its backlog is read and frames arriving meanwhile are held, so
 * nothing published during the connect is missed nor sent twice. Events come from the bus (through
 * NotificationService.subscribe): changes committed on any node reach the sockets of this one.
 */
export class LiveInbox {
  private readonly wss: WebSocketServer;
  private readonly byUser = new Map<string, Set<Live>>();
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private closing = false;

  constructor(
    private readonly hub: Hub,
    private readonly opts: LiveInboxOptions,
    private readonly log: Logger,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    this.unsubscribe = hub.notifications.subscribe((e) => this.onEvent(e));
    this.timer = setInterval(() => this.heartbeat(), opts.heartbeatMs);
    this.timer.unref();
  }

  /** Sockets open on this node (all users). */
  get size(): number {
    let n = 0;
    for (const s of this.byUser.values()) n += s.size;
    return n;
  }

  endpoint(): UpgradeEndpoint {
    return { path: this.opts.path, handle: (req, socket, head, url) => this.handle(req, socket, head, url) };
  }

  private handle(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    if (this.closing) {
      refuseUpgrade(socket, 503);
      return;
    }
    this.open(req, socket, head, url).catch((err: unknown) => {
      const status = err instanceof CmsError ? CMS_ERRORS[err.error][0] : 503;
      if (status === 503) this.log.error({ err }, 'live inbox upgrade failed');
      refuseUpgrade(socket, status);
    });
  }

  private async open(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> {
    const who = await authenticate(this.hub, tokenOf(req.headers, url.searchParams));
    const lng = url.searchParams.get('lng')?.slice(0, 64) || undefined;
    const ws = await new Promise<WebSocket | null>((resolve) => {
      if (socket.destroyed) return resolve(null);
      const gone = (): void => resolve(null);
      socket.once('close', gone);
      this.wss.handleUpgrade(req, socket, head, (w) => {
        guard(w, this.log);
        socket.off('close', gone);
        resolve(w);
      });
    });
    if (!ws) return;
    if (this.closing) {
      closeWithDeadline(ws, 1001, 'server shutting down');
      return;
    }
    // Checked right before the socket is registered (no await between), as the device gateway does.
    if ((this.byUser.get(who.userId)?.size ?? 0) >= (this.opts.maxConnectionsPerUser ?? Infinity)) {
      closeWithDeadline(ws, CloseCode.tooManyConnections, 'too many connections for this user');
      return;
    }
    const live: Live = { ws, userId: who.userId, clientId: who.clientId, lng, alive: true, held: [] };
    this.add(live);
    // A revocation published between the token check and the registration found nothing to close.
    if (!(await this.stillValid(req, url))) {
      this.remove(live);
      closeWithDeadline(ws, REVOKED, 'token revoked');
      return;
    }
    ws.on('pong', () => {
      live.alive = true;
    });
    // Any frame from the client proves it alive too; its content means nothing here.
    ws.on('message', () => {
      live.alive = true;
    });
    ws.on('close', () => this.remove(live));
    try {
      const page = await this.hub.notifications.inbox(who.userId, 0, this.opts.backlogMax, true);
      const backlog = page.items.map((i) => wireInboxItem(i, lng));
      this.write(live, JSON.stringify(backlog));
      const inBacklog = new Set(backlog.map((i) => i.id));
      const held = live.held ?? [];
      live.held = null;
      for (const h of held) if (!h.pushId || !inBacklog.has(h.pushId)) this.write(live, h.frame);
    } catch (err) {
      this.log.error({ err, userId: who.userId }, 'reading the live inbox backlog failed');
      closeWithDeadline(ws, 1011, 'internal error: reconnect');
    }
  }

  private async stillValid(req: IncomingMessage, url: URL): Promise<boolean> {
    const token = tokenOf(req.headers, url.searchParams);
    return token !== undefined && (await this.hub.users.verifyToken(token)) !== null;
  }

  private add(l: Live): void {
    let s = this.byUser.get(l.userId);
    if (!s) this.byUser.set(l.userId, (s = new Set()));
    s.add(l);
  }

  private remove(l: Live): void {
    const s = this.byUser.get(l.userId);
    if (!s) return;
    s.delete(l);
    if (s.size === 0) this.byUser.delete(l.userId);
  }

  private write(l: Live, frame: Frame): void {
    if (l.ws.readyState !== l.ws.OPEN) return;
    if (l.ws.bufferedAmount > this.opts.maxBufferedBytes) {
      this.log.warn({ userId: l.userId }, 'live inbox socket cannot keep up: dropped');
      l.ws.terminate();
      return;
    }
    // A text frame either way; a shared frame is UTF-8 encoded once, not once per socket.
    l.ws.send(frame, { binary: false });
  }

  private deliver(l: Live, frame: Frame, pushId?: string): void {
    if (l.held) l.held.push(pushId === undefined ? { frame } : { frame, pushId });
    else {
      this.queue.push(l, frame);
      if (!this.draining) {
        this.draining = true;
        setImmediate(() => this.drain());
      }
    }
  }

  /**
   * Frames to write, in event order (one FIFO for every socket, so a socket's frames never overtake
   * each other). A fan-out batch can reach thousands of sockets here: writing them in slices of
   * WRITE_SLICE per event-loop turn keeps the loop responsive (each write is a syscall).
   */
  private readonly queue = new FrameQueue();
  private draining = false;

  private drain(): void {
    for (let i = 0; i < WRITE_SLICE; i++) {
      const next = this.queue.shift();
      if (!next) break;
      this.write(next.live, next.frame);
    }
    if (this.queue.length > 0) setImmediate(() => this.drain());
    else this.draining = false;
  }

  private onEvent(e: InboxEvent): void {
    if (e.type === 'session.revoke') {
      for (const l of [...(this.byUser.get(e.userId) ?? [])]) {
        if (e.clientId !== undefined && e.clientId !== l.clientId) continue;
        this.remove(l);
        closeWithDeadline(l.ws, REVOKED, 'token revoked');
      }
      return;
    }
    if (e.type === 'notify.push') {
      // One serialisation per language asked for, at most, whatever the number of sockets.
      const frames = new Map<string, Buffer>();
      for (const u of e.users) {
        const socks = this.byUser.get(u);
        if (!socks) continue;
        for (const l of socks) {
          const key = l.lng ?? '';
          let f = frames.get(key);
          if (f === undefined) frames.set(key, (f = Buffer.from(JSON.stringify(wireItem(e.item, false, l.lng)), 'utf8')));
          this.deliver(l, f, e.item.id);
        }
      }
      return;
    }
    const frame = Buffer.from(JSON.stringify({ event: e.change, ids: e.ids, ...(e.unread !== undefined ? { unread: e.unread } : {}) }), 'utf8');
    for (const u of e.users) for (const l of this.byUser.get(u) ?? []) this.deliver(l, frame);
  }

  private heartbeat(): void {
    for (const s of this.byUser.values()) {
      for (const l of s) {
        if (!l.alive) {
          l.ws.terminate();
          continue;
        }
        l.alive = false;
        try {
          l.ws.ping();
        } catch {
          l.ws.terminate();
        }
      }
    }
  }

  /** Stop: refuse new sockets, close the open ones (1001). */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.timer);
    this.unsubscribe();
    for (const s of this.byUser.values()) for (const l of s) closeWithDeadline(l.ws, 1001, 'server shutting down');
    this.byUser.clear();
  }
}
