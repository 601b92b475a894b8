import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { HubEvent } from '../core/events.js';
import type { Hub } from '../core/hub.js';
import type { Presence, SessionInfo } from '../core/ports/presence.js';
import type { Audience } from '../core/ports/store.js';
import type { Logger } from '../log.js';
import { AudienceCache, type Members } from './audience-cache.js';
import { ClientConnection, type ConnectionSettings } from './connection.js';
import { CloseCode, eventFrame, wireMessage } from './protocol.js';
import { ConnectionRegistry } from './registry.js';

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
}

export interface GatewayMetrics {
  connections(n: number): void;
  delivered(frames: number): void;
}

/**
 * The real-time edge: WebSocket upgrade with token auth, the per-user connection registry, and
 * bus → socket fan-out. Events are handled strictly in bus order (a pump that waits only when an
 * audience must be loaded), so every connection sees cursors in commit order; each event's frame is
 * serialised once for all its receivers.
 */
export class Gateway implements Presence {
  readonly registry = new ConnectionRegistry<ClientConnection>();
  private readonly wss: WebSocketServer;
  private readonly audiences: AudienceCache;
  private readonly settings: ConnectionSettings;
  private readonly queue: HubEvent[] = [];
  private pumping = false;
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private closing = false;

  constructor(
    private readonly hub: Hub,
    readonly nodeId: number,
    private readonly opts: GatewayOptions,
    private readonly log: Logger,
    private readonly metrics: GatewayMetrics,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    this.audiences = new AudienceCache(hub.store);
    this.settings = {
      hub,
      log,
      maxBufferedBytes: opts.maxBufferedBytes,
      replayPageSize: opts.replayPageSize,
      liveBufferMax: opts.liveBufferMax,
      ratePerSecond: opts.ratePerSecond,
      rateBurst: opts.rateBurst,
      onClose: (c, why) => {
        this.registry.remove(c);
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
    this.unsubscribe = hub.bus.subscribe((e) => this.enqueue(e));
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Serve upgrades on `server` at the configured path. */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== this.opts.path) {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      socket.on('error', () => socket.destroy());
      this.upgrade(req, socket, head, url).catch((err: unknown) => {
        this.log.error({ err }, 'websocket upgrade failed');
        socket.destroy();
      });
    });
  }

  private accept(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<WebSocket> {
    return new Promise((resolve) => this.wss.handleUpgrade(req, socket, head, (ws) => resolve(ws)));
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> {
    if (this.closing) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const rawCursor = url.searchParams.get('cursor');
    if (rawCursor !== null && !/^[0-9]{1,16}$/.test(rawCursor)) {
      (await this.accept(req, socket, head)).close(CloseCode.badRequest, 'cursor must be a non-negative integer');
      return;
    }
    const token = url.searchParams.get('token');
    const rec = token ? await this.hub.users.verifyToken(token) : null;
    const since = rec ? await this.hub.store.users.sinceSeq(rec.userId) : null;
    const ws = await this.accept(req, socket, head);
    if (!rec || since === null) {
      ws.close(CloseCode.unauthorized, 'unauthorized');
      return;
    }
    const conn = new ClientConnection(ws, rec.userId, rec.clientId, rec.platform, since, req.socket.remoteAddress ?? '', this.settings);
    // Registered before replay starts, so no event published meanwhile is missed.
    this.registry.add(conn);
    this.metrics.connections(this.registry.size);
    // A revocation published between the token check and the registration found nothing to close:
    // check again now that later revocations will find this connection.
    if (!token || !(await this.hub.users.verifyToken(token))) {
      conn.close(CloseCode.unauthorized, 'unauthorized');
      return;
    }
    conn.announced = true;
    this.reportState(conn, 'login', 'register');
    await conn.start(rawCursor === null ? null : Number(rawCursor));
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

  private enqueue(e: HubEvent): void {
    this.queue.push(e);
    if (!this.pumping) void this.pump();
  }

  /** Handle queued events in order; only an audience load makes it wait. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const e = this.queue[0]!;
        const wait = this.handle(e);
        if (wait) {
          try {
            await wait;
          } catch (err) {
            this.log.error({ err }, 'loading an audience failed; event dropped for it (devices resync from the store)');
            this.queue.shift();
            continue;
          }
          continue; // audience now cached: handle the same event again
        }
        this.queue.shift();
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Deliver one event, or return the load to wait for before it can be delivered. */
  private handle(e: HubEvent): Promise<unknown> | undefined {
    switch (e.type) {
      case 'sync': {
        // Receivers who joined after the message must not learn of it (nor of its changes).
        const origin = e.event.messageSeq || e.event.seq;
        const frame = eventFrame(e.event);
        return this.fanout(e.audience, origin, (c) => c.push(e.event.seq, frame));
      }
      case 'transparent': {
        const json = JSON.stringify(wireMessage(e.message));
        return this.fanout(e.audience, Number.MAX_SAFE_INTEGER, (c) => c.pushTransparent(json));
      }
      case 'session.revoke':
        for (const c of [...(this.registry.of(e.userId) ?? [])]) {
          if (e.clientId === undefined || c.clientId === e.clientId) c.close(CloseCode.revoked, e.reason);
        }
        return undefined;
      case 'cache.invalidate':
        if (e.scope === 'group' || e.scope === 'channel') this.audiences.invalidate(e.scope, e.id);
        return undefined;
    }
  }

  private fanout(audience: Audience, origin: number, deliver: (c: ClientConnection) => boolean): Promise<unknown> | undefined {
    let n = 0;
    switch (audience.kind) {
      case 'users':
        for (const u of audience.users) for (const c of this.registry.of(u) ?? []) if (deliver(c)) n++;
        break;
      case 'all':
        for (const c of this.registry.all()) if (origin > c.since && deliver(c)) n++;
        break;
      case 'group':
      case 'channel': {
        const id = audience.kind === 'group' ? audience.groupId : audience.channelId;
        const members = this.audiences.peek(audience.kind, id);
        if (!members) return this.audiences.load(audience.kind, id);
        n = this.toMembers(members, origin, deliver);
        break;
      }
    }
    if (n > 0) this.metrics.delivered(n);
    return undefined;
  }

  /** Iterate the smaller side: members of the audience or users online. */
  private toMembers(members: Members, origin: number, deliver: (c: ClientConnection) => boolean): number {
    let n = 0;
    if (members.size <= this.registry.users) {
      for (const [u, since] of members) {
        if (origin <= since) continue;
        for (const c of this.registry.of(u) ?? []) if (deliver(c)) n++;
      }
    } else {
      for (const c of this.registry.all()) {
        const since = members.get(c.userId);
        if (since !== undefined && origin > since && deliver(c)) n++;
      }
    }
    return n;
  }

  sessions(userId: string): SessionInfo[] {
    return [...(this.registry.of(userId) ?? [])].map(info);
  }

  count(): number {
    return this.registry.size;
  }

  list(offset: number, count: number): { sessions: SessionInfo[]; total: number } {
    const out: SessionInfo[] = [];
    let i = 0;
    for (const c of this.registry.all()) {
      if (i >= offset && out.length < count) out.push(info(c));
      i++;
    }
    return { sessions: out, total: this.registry.size };
  }

  private beat(): void {
    for (const c of [...this.registry.all()]) {
      if (!c.alive) c.terminate();
      else c.ping();
    }
  }

  /** Stop accepting, close every connection with 1001 and stop listening to the bus. */
  close(): void {
    this.closing = true;
    clearInterval(this.heartbeat);
    this.unsubscribe();
    for (const c of [...this.registry.all()]) c.close(CloseCode.goingAway, 'server shutting down');
    this.wss.close();
  }
}

function info(c: ClientConnection): SessionInfo {
  return { userId: c.userId, clientId: c.clientId, platform: c.platform, connectedAt: c.connectedAt };
}
