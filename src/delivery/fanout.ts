import type { HubEvent } from '../core/events.js';
import type { EventOrigin } from '../core/ports/bus.js';
import type { Audience } from '../core/ports/store.js';
import type { Logger } from '../log.js';
import type { AudienceCache, AudienceKind, Members } from './audience-cache.js';
import type { ChatroomSessions } from './chatroom-sessions.js';
import type { ClientConnection } from './connection.js';
import { Deque } from './deque.js';
import type { GroupHints } from './group-hints.js';
import { CloseCode, eventFrame, friendRequestFrame, needsUserView, noticeFrame, once, relationFrame, userSettingFrame, wireMessage } from './protocol.js';
import type { ConnectionRegistry } from './registry.js';
import { Reorder } from './reorder.js';

export interface FanoutOptions {
  /**
   * Most events that may wait at once on this node: parked until their audience is loaded, or held for
   * a user behind a parked event (per-user order). Past it, see `Fanout` for what is closed.
   */
  maxWaiting: number;
  /** Delay before each retry of a failed audience load; after the last retry fails, the event is abandoned. */
  retryDelaysMs: readonly number[];
  /**
   * While several nodes publish, cursor events are held this long and put back in cursor order
   * (reorder.ts); 0 turns it off. Default 0 (one node).
   */
  reorderWindowMs?: number;
}

export interface FanoutHooks {
  delivered(frames: number): void;
  /** An event's frame was serialised (once per event at most, only when a connection here takes it). */
  serialised(): void;
}

/** One bus event on its way to this node's connections. */
interface Delivery {
  /** Arrival order on this node (bus order). */
  readonly ord: number;
  readonly audience: Audience;
  /**
   * The seq of the message the event is about (its own for a message event): it reaches the users who
   * were members when that message was sent (Members.reaches), never a later member, never a former
   * member for a message sent after it left.
   */
  readonly origin: number;
  /** A cursor event: skipping it would lose it for good. Transparent messages are best effort. */
  readonly durable: boolean;
  /** Hand the event to one connection (frames are serialised on first use, once); true when written. */
  readonly send: (c: ClientConnection) => boolean;
  /** Group/channel members, once known. */
  members?: Members;
  /** The audience could not be loaded even after the retries. */
  failed?: boolean;
  attempts: number;
  timer?: NodeJS.Timeout;
}

/**
 * Bus → socket fan-out for one node.
 *
 * Order: every event for user U reaches U's connections in bus order (= commit order), so cursors
 * never go back. An event whose audience (group/channel members) is not cached is *parked* while the
 * members load; parked events are delivered strictly in arrival order, each load running in parallel.
 * Events behind a parked one still go out at once to every user that the parked event certainly does
 * not reach (by the intervals of a loaded audience, or a user whose current and past groups prove it
 * was never in the group); for any other user they wait in that user's queue and follow the parked
 * event. Who an event of a group or channel reaches is decided exactly as replay decides it (see
 * Members): live delivery and replay give a user the same events.
 *
 * Failure and bounds (nothing is skipped silently):
 * - a failed load is retried (`retryDelaysMs`); if it keeps failing, every local connection the event
 *   might reach is closed with 4010 (resync) and reconnects from its cursor;
 * - at most `maxWaiting` events wait in total. An event that cannot be parked closes the connections
 *   it might reach with 4010; an event that cannot wait for a user closes that user's connections
 *   with 4010. Transparent messages (never stored, best effort) are dropped instead.
 * - a throw while handling one event is logged and the next event proceeds; a connection that throws
 *   while being written to is closed with 1011.
 */
export class Fanout {
  /**
   * Bus events not yet routed. Routing is synchronous, so this holds only events published while one
   * is being routed (e.g. by a close it causes); everything that waits longer is counted in `waiting`.
   */
  private readonly inbox = new Deque<HubEvent>();
  private draining = false;
  private ord = 0;
  private readonly parked = new Deque<Delivery>();
  private readonly stalled = new Map<string, Deque<Delivery>>();
  /** parked.length + every stalled item. */
  private waiting = 0;
  private stopped = false;
  private readonly reorder: Reorder<HubEvent>;

  constructor(
    private readonly registry: ConnectionRegistry<ClientConnection>,
    private readonly audiences: AudienceCache,
    private readonly hints: GroupHints,
    private readonly opts: FanoutOptions,
    private readonly hooks: FanoutHooks,
    private readonly log: Logger,
    /** This node's chatroom connections: chatroom messages and removals go there. */
    private readonly chatrooms?: ChatroomSessions<ClientConnection>,
  ) {
    this.reorder = new Reorder(opts.reorderWindowMs ?? 0, (e) => this.accept(e));
  }

  /** Events waiting (parked or held for a user); for tests and metrics. */
  get pending(): number {
    return this.waiting;
  }

  /**
   * Called synchronously by the bus: never throws, never blocks. Cursor events go through the reorder
   * stage (several publishers: held briefly and put back in cursor order); the rest straight on.
   */
  enqueue(e: HubEvent, origin?: EventOrigin): void {
    if (this.stopped) return;
    try {
      if (e.type === 'sync') this.reorder.offer(e.event.seq, origin?.publisher ?? '', e);
      else {
        this.reorder.note(origin?.publisher ?? '');
        this.accept(e);
      }
    } catch (err) {
      this.log.error({ err }, 'fan-out of a bus event failed');
    }
  }

  /** Events held for reordering (tests, metrics). */
  get reordering(): number {
    return this.reorder.size;
  }

  /** Before a resync (missed bus traffic): what is held goes out now, in order; the connections then read the store. */
  resetOrder(): void {
    this.reorder.drain();
  }

  private accept(e: HubEvent): void {
    if (this.stopped) return;
    this.inbox.push(e);
    if (this.draining) return; // an event handled now published another: it follows in order
    this.draining = true;
    try {
      for (let next = this.inbox.shift(); next !== undefined; next = this.inbox.shift()) {
        try {
          this.route(next);
        } catch (err) {
          this.log.error({ err, event: (next as { type?: unknown } | null)?.type }, 'fan-out of a bus event failed');
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** A user has no connection left on this node: what waited for it is not needed (replay covers it). */
  forget(userId: string): void {
    const q = this.stalled.get(userId);
    if (!q) return;
    this.waiting -= q.length;
    this.stalled.delete(userId);
  }

  stop(): void {
    this.stopped = true;
    this.reorder.stop();
    for (const d of this.parked) if (d.timer) clearTimeout(d.timer);
    this.parked.clear();
    this.stalled.clear();
    this.inbox.clear();
    this.waiting = 0;
  }

  private route(e: HubEvent): void {
    switch (e.type) {
      case 'sync': {
        const ev = e.event;
        const frame = once(() => {
          this.hooks.serialised();
          return eventFrame(ev);
        });
        const userView = needsUserView(ev);
        this.dispatch({
          ord: ++this.ord,
          audience: e.audience,
          // A change reaches whoever was a member when its message was sent (current or former);
          // receivers who joined after the message must not learn of it (nor of its changes).
          origin: ev.messageSeq || ev.seq,
          durable: true,
          send: (c) => c.push(ev, frame, userView),
          attempts: 0,
        });
        return;
      }
      case 'transparent': {
        const json = once(() => {
          this.hooks.serialised();
          return JSON.stringify(wireMessage(e.message));
        });
        this.dispatch({
          ord: ++this.ord,
          audience: e.audience,
          origin: Number.MAX_SAFE_INTEGER,
          durable: false,
          send: (c) => c.pushTransparent(json),
          attempts: 0,
        });
        return;
      }
      case 'session.revoke':
        for (const c of [...(this.registry.of(e.userId) ?? [])]) {
          if (e.clientId === undefined || c.clientId === e.clientId) c.close(CloseCode.revoked, e.reason);
        }
        return;
      case 'cache.invalidate':
        if (e.scope === 'group' || e.scope === 'channel') this.audiences.invalidate(e.scope, e.id);
        if (e.scope === 'group') this.hints.invalidate(e.id);
        return;
      case 'chatroom.message':
      case 'chatroom.leave':
        // No cursor and no audience to load: straight to the devices in the room on this node.
        this.chatrooms?.handle(e);
        return;
      case 'relation.changed': {
        // Live only (no cursor): the owner's devices here; a reconnecting device reads its list.
        const frame = once(() => relationFrame(e.relation));
        for (const c of this.registry.of(e.relation.userId) ?? []) c.pushNotice(frame);
        return;
      }
      case 'relation.request': {
        const frame = once(() => friendRequestFrame(e.request));
        for (const u of new Set(e.users)) for (const c of this.registry.of(u) ?? []) c.pushNotice(frame);
        return;
      }
      case 'user.setting': {
        const frame = once(() => userSettingFrame(e.setting));
        for (const c of this.registry.of(e.setting.userId) ?? []) c.pushNotice(frame);
        return;
      }
      case 'agent.notice': {
        // Live only, to the named users' connections on this node; serialised once, if anyone is here.
        const frame = once(() => noticeFrame(e.notice));
        for (const u of new Set(e.users)) for (const c of this.registry.of(u) ?? []) c.pushNotice(frame);
        return;
      }
      case 'outbox.wake':
        return;
    }
  }

  private dispatch(d: Delivery): void {
    const key = audienceKey(d.audience);
    if (key) {
      d.members = this.audiences.peek(key.kind, key.id);
      if (!d.members) {
        this.park(d, key.kind, key.id);
        return;
      }
    }
    this.deliver(d, this.waiting === 0);
  }

  private park(d: Delivery, kind: AudienceKind, id: string): void {
    if (this.waiting >= this.opts.maxWaiting) {
      this.abandon(d, 'too many events waiting');
      return;
    }
    this.parked.push(d);
    this.waiting++;
    this.load(d, kind, id);
  }

  private load(d: Delivery, kind: AudienceKind, id: string): void {
    this.audiences.load(kind, id).then(
      (m) => {
        d.members = m;
        this.settle();
      },
      (err: unknown) => {
        if (this.stopped) return;
        const delay = this.opts.retryDelaysMs[d.attempts];
        if (delay !== undefined) {
          d.attempts++;
          this.log.warn({ err, audience: `${kind}:${id}`, attempt: d.attempts }, 'loading an audience failed; retrying');
          d.timer = setTimeout(() => {
            d.timer = undefined;
            if (!this.stopped) this.load(d, kind, id);
          }, delay);
          d.timer.unref();
          return;
        }
        this.log.error({ err, audience: `${kind}:${id}` }, 'loading an audience failed; its online receivers are closed to resync');
        d.failed = true;
        this.settle();
      },
    );
  }

  /** Deliver parked events from the head while their audience is known, then release what waited. */
  private settle(): void {
    if (this.stopped) return;
    try {
      for (let head = this.parked.peek(); head !== undefined; head = this.parked.peek()) {
        if (!head.members && !head.failed) {
          const key = audienceKey(head.audience);
          const m = key ? this.audiences.peek(key.kind, key.id) : undefined;
          if (!m) break;
          head.members = m;
        }
        // Held events that waited only for heads delivered earlier in this loop go first: each of them
        // precedes this head (its ord is lower). What is still held after this waits behind the head.
        this.release();
        this.parked.shift();
        this.waiting--;
        if (head.timer) clearTimeout(head.timer);
        // Every held event for a receiver now comes after the head: deliver it directly.
        if (head.failed) this.abandon(head, 'audience load failed');
        else this.deliver(head, true);
      }
      this.release();
    } catch (err) {
      this.log.error({ err }, 'fan-out of a parked event failed');
    }
  }

  /** Hand each user's held events over as soon as no earlier parked event might reach the user. */
  private release(): void {
    for (const [userId, q] of this.stalled) {
      for (let first = q.peek(); first !== undefined; first = q.peek()) {
        if (this.blockedByParked(userId, first.ord)) break;
        q.shift();
        this.waiting--;
        this.toUser(userId, first);
        if (this.stalled.get(userId) !== q) break; // the user's last connection closed meanwhile (forget)
      }
      if (q.length === 0 && this.stalled.get(userId) === q) this.stalled.delete(userId);
    }
  }

  /**
   * Deliver to every receiver online here. `direct`: nothing earlier waits for any receiver (no parked
   * event ahead of it, or it is the parked head).
   */
  private deliver(d: Delivery, direct: boolean): void {
    this.forEachReceiver(d, (userId) => {
      if (direct || !this.mustWait(userId, d)) this.toUser(userId, d);
      else this.hold(userId, d);
    });
  }

  private mustWait(userId: string, d: Delivery): boolean {
    return this.stalled.has(userId) || this.blockedByParked(userId, d.ord);
  }

  private blockedByParked(userId: string, ord: number): boolean {
    for (const p of this.parked) {
      if (p.ord >= ord) break;
      if (this.mightReach(userId, p)) return true;
    }
    return false;
  }

  /** False only when `d` certainly does not reach `userId`. */
  private mightReach(userId: string, d: Delivery): boolean {
    const key = audienceKey(d.audience);
    if (!key) {
      if (d.audience.kind === 'users') return d.audience.users.includes(userId);
      return true;
    }
    const m = d.members ?? this.audiences.known(key.kind, key.id);
    if (m) return m.reaches(userId, d.origin);
    return !(key.kind === 'group' && this.hints.certainlyNotReached(userId, key.id));
  }

  private hold(userId: string, d: Delivery): void {
    if (this.waiting >= this.opts.maxWaiting) {
      if (!d.durable) return; // a transparent message is best effort
      this.log.warn({ userId }, 'too many events waiting; closing the user’s connections to resync');
      this.forget(userId);
      this.resync(userId, 'too many events waiting: reconnect with your cursor');
      return;
    }
    let q = this.stalled.get(userId);
    if (!q) {
      q = new Deque();
      this.stalled.set(userId, q);
    }
    q.push(d);
    this.waiting++;
  }

  /**
   * The event cannot be delivered in order: close every connection it might reach, so each reconnects
   * and replays from its cursor (the store has the event). A transparent message is dropped.
   */
  private abandon(d: Delivery, why: string): void {
    if (!d.durable) {
      this.log.warn({ why }, 'transparent message dropped');
      return;
    }
    for (const userId of [...this.registry.userIds()]) {
      if (!this.mightReach(userId, d)) continue;
      this.forget(userId);
      this.resync(userId, `${why}: reconnect with your cursor`);
    }
  }

  private resync(userId: string, reason: string): void {
    for (const c of [...(this.registry.of(userId) ?? [])]) c.close(CloseCode.resync, reason);
  }

  private toUser(userId: string, d: Delivery): void {
    const conns = this.registry.of(userId);
    if (!conns) return;
    let n = 0;
    for (const c of conns) {
      if (d.audience.kind === 'all' && d.origin <= c.since) continue;
      try {
        if (d.send(c)) n++;
      } catch (err) {
        this.log.error({ err, userId }, 'writing an event to a connection failed');
        c.close(CloseCode.internalError, 'internal error: reconnect with your cursor');
      }
    }
    if (n > 0) this.hooks.delivered(n);
  }

  /** Users with a connection here that the event is for; iterates the smaller side for audiences. */
  private forEachReceiver(d: Delivery, fn: (userId: string) => void): void {
    const a = d.audience;
    switch (a.kind) {
      case 'users':
        for (const u of a.users) if (this.registry.of(u)) fn(u);
        return;
      case 'all':
        for (const u of this.registry.userIds()) fn(u);
        return;
      case 'group':
      case 'channel': {
        const m = d.members;
        if (!m) return;
        if (m.users <= this.registry.users) {
          m.forEachReached(d.origin, (u) => {
            if (this.registry.of(u)) fn(u);
          });
        } else {
          for (const u of this.registry.userIds()) if (m.reaches(u, d.origin)) fn(u);
        }
      }
    }
  }
}

function audienceKey(a: Audience): { kind: AudienceKind; id: string } | undefined {
  if (a.kind === 'group') return { kind: 'group', id: a.groupId };
  if (a.kind === 'channel') return { kind: 'channel', id: a.channelId };
  return undefined;
}
