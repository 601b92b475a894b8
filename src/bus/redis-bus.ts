import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { HubEvent } from '../core/events.js';
import type { Bus, BusGap, EventOrigin } from '../core/ports/bus.js';
import { decodeFrame, encodeEvent, encodeHeartbeat } from './wire.js';

export interface RedisBusOptions {
  /** redis://[user:password@]host:port[/db] (rediss:// for TLS). */
  url: string;
  /** Prefix of every key and channel this bus uses (several clusters or test runs share one Redis). */
  prefix: string;
  /** Heartbeat period: each bus announces its last sequence number this often (default 1000 ms). */
  heartbeatMs?: number;
  /**
   * A subscription that has not received this bus's own heartbeat this long after Redis acknowledged
   * it is considered cut off (a half-open TCP connection, a partition): it is reconnected, and the
   * reconnection is a gap. Default: 3 heartbeats.
   */
  staleAfterMs?: number;
  /** Publishes queued while Redis is unreachable; past it, events are dropped (receivers see a gap). Default 10 000. */
  maxPending?: number;
  /** Start-up fails when Redis cannot be reached within this (default 10 000 ms). */
  connectTimeoutMs?: number;
  /** A subscriber threw, or the transport failed; the bus carries on. */
  onError?: (err: unknown, what: string) => void;
}

/** What this bus knows of another publisher: its last sequence number and when it was last heard. */
interface Peer {
  seq: number;
  heardAt: number;
}

/** Publishers not heard from for this long are forgotten (a node that left); a few hundred entries at most. */
const FORGET_PEER_MS = 3_600_000;
const MAX_PEERS = 4096;

/**
 * The Bus over Redis pub/sub, for several nodes (docs/scaling.md).
 *
 * - One channel, `<prefix>bus`. Each bus instance is a *publisher* with a random id and a sequence
 *   number incremented by every publish, carried in the frame (`wire.ts`). Publish order per publisher
 *   is kept: one command connection, commands pipelined in call order, and Redis delivers a channel's
 *   messages to each subscriber in the order it received them.
 * - Own events are delivered to this node's subscribers synchronously inside `publish` (as the memory
 *   bus does) and skipped when they come back from Redis: a node never waits on Redis for itself, and
 *   keeps working for its own devices while Redis is away.
 * - Missed traffic is detected: a sequence number that skips (a publish lost while a publisher was cut
 *   off), a heartbeat announcing a sequence number this node never received (the tail of a burst
 *   lost), the subscription reconnecting (Redis restarted, CLIENT KILL, a network cut: pub/sub keeps
 *   nothing for absent subscribers), or a subscription silent for `staleAfterMs` (own heartbeats stopped
 *   coming back although Redis took them: it is reconnected). Each calls the `onGap` handlers, after the subscription is active
 *   again.
 * - `publish` never waits for Redis and never rejects: the command is queued (bounded by `maxPending`
 *   while Redis is unreachable); a publish that fails is lost for remote nodes, and they see the gap.
 * - Subscriber handlers run synchronously as each message is parsed; one that throws is reported
 *   (`onError`) and the others still run.
 */
export class RedisBus implements Bus {
  readonly publisher = randomUUID();
  private readonly channel: string;
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly handlers = new Set<{ fn: (event: HubEvent, origin?: EventOrigin) => void }>();
  private readonly gapHandlers = new Set<{ fn: (gap: BusGap) => void }>();
  private readonly peers = new Map<string, Peer>();
  private readonly localOrigin: EventOrigin;
  /** How every frame of this publisher starts (wire.ts): own frames coming back are skipped unparsed. */
  private readonly ownPrefix: Buffer;
  private readonly heartbeatMs: number;
  private readonly staleAfterMs: number;
  private readonly maxPending: number;
  private readonly onError: (err: unknown, what: string) => void;
  private seq = 0;
  private pending = 0;
  /** Last time anything arrived on the subscription (own heartbeats included). */
  private heardAt = Date.now();
  /**
   * When Redis acknowledged a heartbeat of ours that has not come back yet (0: none). Every echo
   * resets it; one still unanswered after `staleAfterMs` means the subscription no longer receives
   * although Redis delivers (a half-open connection). Publishes that Redis does not acknowledge (it is
   * away, or paused) never make the subscription look stale.
   */
  private echoDueSince = 0;
  /** The subscription was active once: every later activation follows a loss. */
  private subscribedOnce = false;
  /** The subscription is active now. */
  private subscribed = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly ready: Promise<void>;

  private constructor(private readonly opts: RedisBusOptions) {
    this.channel = `${opts.prefix}bus`;
    this.heartbeatMs = opts.heartbeatMs ?? 1000;
    this.staleAfterMs = opts.staleAfterMs ?? 3 * this.heartbeatMs;
    this.maxPending = opts.maxPending ?? 10_000;
    this.onError = opts.onError ?? (() => undefined);
    this.localOrigin = { publisher: this.publisher, local: true };
    this.ownPrefix = Buffer.from(`{"p":${JSON.stringify(this.publisher)},`);
    const base: RedisOptions = {
      connectTimeout: Math.min(opts.connectTimeoutMs ?? 10_000, 10_000),
      // Reconnect forever, backing off to 1 s: a bus is useless without Redis and must come back by itself.
      retryStrategy: (times) => Math.min(50 * times, 1000),
      lazyConnect: true,
    };
    this.pub = new Redis(opts.url, { ...base, connectionName: `switchboard-bus-pub-${this.publisher}` });
    // Subscriptions are made by hand on every 'ready' so that the gap is reported only once Redis has
    // confirmed the subscription (ioredis's autoResubscribe does not tell when that happened).
    this.sub = new Redis(opts.url, { ...base, autoResubscribe: false, connectionName: `switchboard-bus-sub-${this.publisher}` });
    this.pub.on('error', (err) => this.onError(err, 'redis bus (publish connection)'));
    this.sub.on('error', (err) => this.onError(err, 'redis bus (subscription)'));
    this.sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.received(message));
    this.sub.on('close', () => {
      this.subscribed = false;
    });
    this.ready = new Promise((resolve) => {
      this.sub.on('ready', () => {
        this.activate().then(resolve, (err: unknown) => this.onError(err, 'redis bus: subscribing'));
      });
    });
  }

  /** Connect and subscribe; rejects when Redis cannot be reached within `connectTimeoutMs`. */
  static async connect(opts: RedisBusOptions): Promise<RedisBus> {
    const bus = new RedisBus(opts);
    const limit = opts.connectTimeoutMs ?? 10_000;
    let timeout: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all([bus.pub.connect(), bus.sub.connect(), bus.ready]),
        new Promise<never>((_, reject) => {
          timeout = setTimeout(() => reject(new Error(`cannot reach Redis at ${redactUrl(opts.url)} within ${limit} ms`)), limit);
        }),
      ]);
    } catch (err) {
      await bus.close();
      throw err instanceof Error && err.message.startsWith('cannot reach') ? err : new Error(`cannot reach Redis at ${redactUrl(opts.url)}: ${String(err)}`);
    } finally {
      if (timeout) clearTimeout(timeout);
    }
    bus.timer = setInterval(() => bus.beat(), bus.heartbeatMs);
    bus.timer.unref();
    return bus;
  }

  async publish(event: HubEvent): Promise<void> {
    if (this.closed) return;
    const n = ++this.seq;
    for (const h of this.handlers) {
      try {
        h.fn(event, this.localOrigin);
      } catch (err) {
        this.onError(err, 'bus subscriber');
      }
    }
    let frame: string;
    try {
      frame = encodeEvent(this.publisher, n, event);
    } catch (err) {
      // Not serialisable (a bug upstream): lost for remote nodes, whose sequence check sees the gap.
      this.onError(err, 'redis bus: an event could not be serialised');
      return;
    }
    this.send(frame);
  }

  subscribe(handler: (event: HubEvent, origin?: EventOrigin) => void): () => void {
    const entry = { fn: handler };
    this.handlers.add(entry);
    return () => {
      this.handlers.delete(entry);
    };
  }

  onGap(handler: (gap: BusGap) => void): () => void {
    const entry = { fn: handler };
    this.gapHandlers.add(entry);
    return () => {
      this.gapHandlers.delete(entry);
    };
  }

  /** The subscription is active (tests, /ready). */
  get connected(): boolean {
    return this.subscribed && !this.closed;
  }

  /** Other publishers heard from (tests, diagnostics). */
  get knownPublishers(): number {
    return this.peers.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.handlers.clear();
    this.gapHandlers.clear();
    await Promise.all([quit(this.pub), quit(this.sub)]);
  }

  /** The frame goes to Redis in call order; a failure loses it for remote nodes (they see the gap). */
  private send(frame: string, acked?: () => void): void {
    if (this.pending >= this.maxPending) {
      this.onError(new Error(`${this.pending} publishes waiting for Redis: event dropped (remote nodes resync)`), 'redis bus: publish');
      return;
    }
    this.pending++;
    this.pub.publish(this.channel, frame).then(
      () => {
        this.pending--;
        acked?.();
      },
      (err: unknown) => {
        this.pending--;
        if (!this.closed) this.onError(err, 'redis bus: publish');
      },
    );
  }

  private async activate(): Promise<void> {
    if (this.closed) return;
    await this.sub.subscribe(this.channel);
    if (this.closed) return;
    this.subscribed = true;
    this.heardAt = Date.now();
    this.echoDueSince = 0;
    if (this.subscribedOnce) {
      // Pub/sub keeps nothing for an absent subscriber: everything published meanwhile is gone, and
      // sequence numbers seen before say nothing about what follows.
      this.peers.clear();
      this.gap({ reason: 'reconnect' });
    }
    this.subscribedOnce = true;
  }

  private received(message: Buffer): void {
    if (this.closed) return;
    this.heardAt = Date.now();
    this.echoDueSince = 0;
    // Own events were delivered locally inside publish; their echo only proves the subscription lives.
    if (message.length > this.ownPrefix.length && message.compare(this.ownPrefix, 0, this.ownPrefix.length, 0, this.ownPrefix.length) === 0) return;
    const frame = decodeFrame(message);
    if (!frame) {
      this.onError(new Error('malformed bus frame ignored'), 'redis bus: receive');
      return;
    }
    if (frame.publisher === this.publisher) return; // (a frame not written by encodeEvent)
    const peer = this.peers.get(frame.publisher);
    if (frame.event === undefined) {
      // Heartbeat: the publisher's last sequence number. One above what this node got: a lost tail.
      if (peer && frame.seq > peer.seq) {
        peer.seq = frame.seq;
        peer.heardAt = this.heardAt;
        this.gap({ reason: 'heartbeat', publisher: frame.publisher });
      } else this.remember(frame.publisher, peer, frame.seq);
      return;
    }
    if (peer && frame.seq <= peer.seq) return; // a resent command already delivered
    const skipped = peer !== undefined && frame.seq > peer.seq + 1;
    this.remember(frame.publisher, peer, frame.seq);
    if (skipped) this.gap({ reason: 'sequence', publisher: frame.publisher });
    const origin: EventOrigin = { publisher: frame.publisher, local: false };
    for (const h of this.handlers) {
      try {
        h.fn(frame.event, origin);
      } catch (err) {
        this.onError(err, 'bus subscriber');
      }
    }
  }

  private remember(publisher: string, peer: Peer | undefined, seq: number): void {
    if (peer) {
      if (seq > peer.seq) peer.seq = seq;
      peer.heardAt = this.heardAt;
      return;
    }
    // A publisher first heard now: what it published before this node subscribed was for nobody here.
    if (this.peers.size >= MAX_PEERS) this.forgetOldPeers(0);
    this.peers.set(publisher, { seq, heardAt: this.heardAt });
  }

  private gap(gap: BusGap): void {
    for (const h of this.gapHandlers) {
      try {
        h.fn(gap);
      } catch (err) {
        this.onError(err, 'bus gap handler');
      }
    }
  }

  /** Timer: announce this publisher's position, and check that the subscription still receives. */
  private beat(): void {
    if (this.closed) return;
    try {
      this.send(encodeHeartbeat(this.publisher, this.seq), () => {
        if (this.echoDueSince === 0) this.echoDueSince = Date.now();
      });
      const now = Date.now();
      if (this.subscribed && this.echoDueSince > 0 && now - this.echoDueSince > this.staleAfterMs) {
        // Redis took our heartbeats but they do not come back: the subscription is dead without
        // knowing it. Reconnect; the new subscription reports the gap.
        this.subscribed = false;
        this.echoDueSince = 0;
        this.heardAt = now;
        this.onError(new Error(`nothing received for ${this.staleAfterMs} ms; reconnecting the subscription`), 'redis bus: stale');
        this.sub.disconnect(true);
      }
      if (this.peers.size > 0) this.forgetOldPeers(now - FORGET_PEER_MS);
    } catch (err) {
      this.onError(err, 'redis bus: heartbeat');
    }
  }

  /** Forget publishers last heard before `before` (0: the oldest half, when the table is full). */
  private forgetOldPeers(before: number): void {
    if (before === 0) {
      const byAge = [...this.peers.entries()].sort((a, b) => a[1].heardAt - b[1].heardAt);
      for (const [id] of byAge.slice(0, byAge.length / 2)) this.peers.delete(id);
      return;
    }
    for (const [id, p] of this.peers) if (p.heardAt < before) this.peers.delete(id);
  }
}

/** Close a connection politely, or cut it when Redis does not answer. Never rejects. */
async function quit(r: Redis): Promise<void> {
  if (r.status === 'end' || r.status === 'wait') {
    r.disconnect();
    return;
  }
  if (r.status !== 'ready') {
    r.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([r.quit(), new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
  } catch {
    // already closing
  } finally {
    if (timer) clearTimeout(timer);
    r.disconnect();
  }
}

/** A Redis URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}
