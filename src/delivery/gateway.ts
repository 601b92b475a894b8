import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Hub } from '../core/hub.js';
import type { Presence, SessionInfo } from '../core/ports/presence.js';
import type { BusGap } from '../core/ports/bus.js';
import type { UpgradeEndpoint } from '../http/surface.js';
import { refuseUpgrade } from '../http/upgrade-router.js';
import type { Logger } from '../log.js';
import { AudienceCache } from './audience-cache.js';
import { ChatroomSessions } from './chatroom-sessions.js';
import { ClientConnection, type ConnectionSettings } from './connection.js';
import { Fanout } from './fanout.js';
import { GroupHints } from './group-hints.js';
import { clientAddressOf, type ClientAddress } from '../http/client-address.js';
import { Limiter } from './limiter.js';
import { LocalPresence } from './local-presence.js';
import { CloseCode } from './protocol.js';
import { ConnectionRegistry } from './registry.js';
import { closeWithDeadline, guard } from './ws-guard.js';

export interface GatewayOptions {
  /** URL path of the WebSocket endpoint. */
  path: string;
  /** Largest client frame (bytes); larger ones close the socket with 1009. */
  maxFrameBytes: number;
  maxBufferedBytes: number;
  heartbeatMs: number;
  replayPageSize: number;
  liveBufferMax: number;
  ratePerSecond: number;
  rateBurst: number;
  /** Total members kept by the audience cache, over all cached groups and channels (default 1 000 000). */
  audienceCacheMaxMembers?: number;
  /** Events that may wait on this node for an audience load (default 100 000); see Fanout. */
  maxWaitingEvents?: number;
  /** Delays before each retry of a failed audience load (default 50, 250, 1000 ms). */
  audienceRetryDelaysMs?: readonly number[];
  /** Cursor events of several nodes are held this long and put back in order (reorder.ts; default 0). */
  reorderWindowMs?: number;
  /** The device's address (callbacks report it as ClientIP); default the socket's peer. */
  clientAddress?: ClientAddress;
  /** Connections one user may hold on this node (default unlimited); one more is closed with 4011. */
  maxConnectionsPerUser?: number;
}

export interface GatewayMetrics {
  connections(n: number): void;
  delivered(frames: number): void;
  /** One live event frame was serialised (at most once per event, and only when a connection here gets it). */
  serialised?(): void;
}

/**
 * The real-time edge: WebSocket upgrade with token auth, the per-user connection registry, and
 * bus → socket fan-out (fanout.ts: per-user bus order, each event's frame serialised at most once and
 * only when a connection here receives it).
 *
 * Served through the HTTP server's upgrade router (endpoint()), which has already given the raw socket
 * its 'error' listener and answered malformed URLs and other paths. Nothing a client sends may throw
 * out of the upgrade or frame handlers: a handshake `ws` refuses is answered by `ws` (400), a store
 * failure before the upgrade 503, after it a close with 1011. Every socket has an 'error' listener
 * from the moment it reaches the gateway — the raw socket from the router, the WebSocket from the handshake —
 * whichever path it then takes (refused, accepted, closing, shutting down): see ws-guard.ts.
 */
export class Gateway {
  readonly registry = new ConnectionRegistry<ClientConnection>();
  /** Who is online: this node's connections are recorded there (cluster-wide with Redis). */
  readonly presence: Presence;
  private readonly wss: WebSocketServer;
  private readonly audiences: AudienceCache;
  private readonly hints: GroupHints;
  private readonly fanout: Fanout;
  private readonly chatrooms: ChatroomSessions<ClientConnection>;
  private readonly settings: ConnectionSettings;
  private readonly unsubscribe: () => void;
  private readonly unsubscribeGaps: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private closing = false;
  /** Each connection's token, checked again after missed bus traffic (a revocation may have been lost). */
  private readonly tokens = new WeakMap<ClientConnection, string>();
  /** Replays after missed bus traffic: every connection resyncs, at most this many at once. */
  private readonly resyncs = new Limiter(64);
  private readonly clientAddress: ClientAddress;

  constructor(
    private readonly hub: Hub,
    readonly nodeId: number,
    private readonly opts: GatewayOptions,
    private readonly log: Logger,
    private readonly metrics: GatewayMetrics,
    presence?: Presence,
  ) {
    this.presence = presence ?? new LocalPresence(nodeId);
    this.clientAddress = opts.clientAddress ?? clientAddressOf([]);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    this.audiences = new AudienceCache(hub.store, opts.audienceCacheMaxMembers);
    this.hints = new GroupHints(hub.store, log);
    const hooks = { delivered: (n: number) => this.metrics.delivered(n), serialised: () => this.metrics.serialised?.() };
    this.chatrooms = new ChatroomSessions(hooks, log);
    this.fanout = new Fanout(
      this.registry,
      this.audiences,
      this.hints,
      {
        maxWaiting: opts.maxWaitingEvents ?? 100_000,
        retryDelaysMs: opts.audienceRetryDelaysMs ?? [50, 250, 1000],
        reorderWindowMs: opts.reorderWindowMs ?? 0,
      },
      hooks,
      log,
      this.chatrooms,
    );
    this.settings = {
      hub,
      log,
      maxBufferedBytes: opts.maxBufferedBytes,
      replayPageSize: opts.replayPageSize,
      liveBufferMax: opts.liveBufferMax,
      ratePerSecond: opts.ratePerSecond,
      rateBurst: opts.rateBurst,
      chatrooms: this.chatrooms,
      nodeId,
      onClose: (c, why) => {
        this.registry.remove(c);
        this.presence.disconnected(c.session);
        this.leaveChatroom(c);
        this.hints.untrack(c.userId);
        if (!this.registry.of(c.userId)) this.fanout.forget(c.userId);
        this.metrics.connections(this.registry.size);
        if (!c.announced) return;
        const state =
          why === 'revoked'
            ? ({ action: 'logout', reason: 'unregister' } as const)
            : why === 'timeout'
              ? ({ action: 'disconnect', reason: 'timeout' } as const)
              : ({ action: 'disconnect', reason: 'link_close' } as const);
        this.reportState(c, state.action, state.reason);
      },
    };
    this.unsubscribe = hub.bus.subscribe((e, origin) => this.fanout.enqueue(e, origin));
    this.unsubscribeGaps = hub.bus.onGap?.((gap) => this.missed(gap)) ?? (() => undefined);
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Events waiting for an audience load on this node (tests, metrics). */
  get pendingEvents(): number {
    return this.fanout.pending;
  }

  /** Members held by the audience cache (tests, metrics). */
  get cachedMembers(): number {
    return this.audiences.size;
  }

  /** The device WebSocket endpoint (at the configured path), for the server's upgrade router. */
  endpoint(): UpgradeEndpoint {
    return { path: this.opts.path, handle: (req, socket, head, url) => this.onUpgrade(req, socket, head, url) };
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    if (this.closing) {
      refuseUpgrade(socket, 503);
      return;
    }
    const upgraded: { ws: WebSocket | null; conn: ClientConnection | null } = { ws: null, conn: null };
    this.upgrade(req, socket, head, url, upgraded).catch((err: unknown) => {
      this.log.error({ err }, 'websocket upgrade failed');
      if (upgraded.conn) upgraded.conn.close(CloseCode.internalError, 'internal error: reconnect');
      else if (upgraded.ws) closeWithDeadline(upgraded.ws, CloseCode.internalError, 'internal error: reconnect');
      else refuseUpgrade(socket, 503);
    });
  }

  /**
   * Complete the handshake; null when `ws` refused it (it answered 400) or the socket went away, so an
   * upgrade never waits forever. The WebSocket it resolves with already has its 'error' listener.
   */
  private accept(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<WebSocket | null> {
    return new Promise((resolve) => {
      if (socket.destroyed) {
        resolve(null);
        return;
      }
      const gone = (): void => resolve(null);
      socket.once('close', gone);
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        guard(ws, this.log);
        socket.off('close', gone);
        resolve(ws);
      });
    });
  }

  private async upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    upgraded: { ws: WebSocket | null; conn: ClientConnection | null },
  ): Promise<void> {
    const rawCursor = url.searchParams.get('cursor');
    const cursor = rawCursor === null ? null : parseCursor(rawCursor);
    if (cursor === undefined) {
      const ws = await this.accept(req, socket, head);
      if (ws) closeWithDeadline(ws, CloseCode.badRequest, 'cursor must be a non-negative safe integer');
      return;
    }
    const token = url.searchParams.get('token');
    const rec = token ? await this.hub.users.verifyToken(token) : null;
    const since = rec ? await this.hub.store.users.sinceSeq(rec.userId) : null;
    if (this.closing) {
      refuseUpgrade(socket, 503);
      return;
    }
    const ws = (upgraded.ws = await this.accept(req, socket, head));
    if (!ws) return;
    if (this.closing) {
      closeWithDeadline(ws, CloseCode.goingAway, 'server shutting down');
      return;
    }
    if (!rec || since === null) {
      closeWithDeadline(ws, CloseCode.unauthorized, 'unauthorized');
      return;
    }
    // Checked right before the connection is registered (no await between): concurrent upgrades of one
    // user cannot pass the cap together.
    if ((this.registry.of(rec.userId)?.size ?? 0) >= (this.opts.maxConnectionsPerUser ?? Infinity)) {
      closeWithDeadline(ws, CloseCode.tooManyConnections, 'too many connections for this user');
      return;
    }
    const conn = (upgraded.conn = new ClientConnection(ws, rec.userId, rec.clientId, rec.platform, since, this.clientAddress(req), this.settings));
    // Registered before replay starts, so no event published meanwhile is missed.
    this.registry.add(conn);
    if (token) this.tokens.set(conn, token);
    this.presence.connected(conn.session, info(conn, this.nodeId));
    this.hints.track(conn.userId);
    this.metrics.connections(this.registry.size);
    // A revocation published between the token check and the registration found nothing to close:
    // check again now that later revocations will find this connection.
    if (!token || !(await this.hub.users.verifyToken(token))) {
      conn.close(CloseCode.unauthorized, 'unauthorized');
      return;
    }
    // close() ran meanwhile: it closed every registered connection, this one included.
    if (this.closing || conn.isClosed) return;
    conn.announced = true;
    this.reportState(conn, 'login', 'register');
    await conn.start(cursor);
  }

  /** A connection that ends leaves its chatroom (membership follows connections); failures are logged. */
  private leaveChatroom(c: ClientConnection): void {
    const room = this.chatrooms.detach(c);
    if (room === null) return;
    this.hub.chatrooms.leave(room, c.userId, c.session).catch((err: unknown) => {
      this.log.error({ err, userId: c.userId, chatroomId: room }, 'leaving a chatroom after a disconnect failed');
    });
  }

  /** Session state changes go to the outbox (State.StateChange callbacks); failures are logged. */
  private reportState(
    c: ClientConnection,
    action: 'login' | 'logout' | 'disconnect',
    reason: 'register' | 'unregister' | 'link_close' | 'timeout',
  ): void {
    this.hub.sessions.changed({ userId: c.userId, action, reason, origin: c.origin }).catch((err: unknown) => {
      this.log.error({ err, userId: c.userId }, 'recording a session change failed');
    });
  }

  /**
   * The bus may have lost events for this node (bus.ts, onGap): the caches built from bus traffic are
   * dropped, and every connection reads what it may have missed from the store — a silent replay from
   * its cursor (no `synced`), as for a read-back; a connection already replaying reads on. Nothing else
   * changes for the device: the events it missed arrive as ordinary frames, in cursor order. Missed
   * transparent and chatroom messages (never stored) are not recovered.
   */
  private missed(gap: BusGap): void {
    this.log.warn({ reason: gap.reason, publisher: gap.publisher, connections: this.registry.size }, 'bus traffic may have been missed; devices resync from their cursors');
    this.audiences.invalidateAll();
    this.hints.invalidateAll();
    this.fanout.resetOrder();
    for (const c of [...this.registry.all()]) {
      try {
        c.resync(this.resyncs);
      } catch (err) {
        this.log.error({ err, userId: c.userId }, 'resyncing a connection after missed bus traffic failed');
        c.close(CloseCode.resync, 'resync: reconnect with your cursor');
      }
      this.recheck(c);
    }
  }

  /** A `session.revoke` may have been among the missed events: a connection whose token is no longer valid is closed (4003). */
  private recheck(c: ClientConnection): void {
    const token = this.tokens.get(c);
    if (!token) return;
    this.resyncs.run(() => this.hub.users.verifyToken(token)).then(
      (rec) => {
        if (!rec) c.close(CloseCode.revoked, 'revoked');
      },
      (err: unknown) => this.log.warn({ err, userId: c.userId }, 'checking a token after missed bus traffic failed; the connection stays'),
    );
  }

  /** A timer callback: nothing may throw out of it (one connection's failure must not skip the rest). */
  private beat(): void {
    for (const c of [...this.registry.all()]) {
      try {
        if (!c.alive) c.terminate();
        else c.ping();
      } catch (err) {
        this.log.error({ err, userId: c.userId }, 'heartbeat failed for a connection');
      }
    }
  }

  /** Stop accepting, close every connection with 1001 and stop listening to the bus. */
  close(): void {
    this.closing = true;
    clearInterval(this.heartbeat);
    this.unsubscribe();
    this.unsubscribeGaps();
    this.fanout.stop();
    for (const c of [...this.registry.all()]) c.close(CloseCode.goingAway, 'server shutting down');
    this.wss.close();
  }
}

/** A device cursor: a non-negative safe integer in decimal; undefined when malformed. */
export function parseCursor(raw: string): number | undefined {
  if (!/^[0-9]{1,20}$/.test(raw)) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : undefined;
}

function info(c: ClientConnection, node: number): SessionInfo {
  return { userId: c.userId, clientId: c.clientId, platform: c.platform, connectedAt: c.connectedAt, node };
}
