import type { HubEvent } from '../core/events.js';
import type { Logger } from '../log.js';
import { CloseCode, chatroomLeftFrame, chatroomMessageFrame, once, wireMessage } from './protocol.js';

/** What this index needs of a connection. */
export interface ChatroomConnection {
  readonly userId: string;
  /** The connection's id, as the membership port knows it. */
  readonly session: string;
  /** The room this connection is in here (null: none); kept by this index only. */
  room: string | null;
  /** Write a frame now (no cursor, not held by a replay); false when it was not written. */
  pushChatroom(frame: () => string): boolean;
  close(code: number, reason: string): void;
}

export interface ChatroomHooks {
  delivered(frames: number): void;
  serialised(): void;
}

/**
 * This node's connections by chatroom: which local devices get a room's messages. It mirrors, for the
 * connections of this node, the membership port (core): a connection is attached once its join was
 * recorded there, and detached when it leaves, its connection ends, or the bus says it was removed
 * (`chatroom.leave`: replaced, kicked, or the room destroyed) — the device is then told.
 *
 * Bus events are handled synchronously; a frame is serialised once per event, and only when a
 * connection here takes it. A connection that throws while being written to is closed with 1011.
 */
export class ChatroomSessions<C extends ChatroomConnection> {
  private readonly rooms = new Map<string, Map<string, C>>();

  constructor(
    private readonly hooks: ChatroomHooks,
    private readonly log: Logger,
  ) {}

  /** Connections attached here (tests, metrics). */
  get size(): number {
    let n = 0;
    for (const r of this.rooms.values()) n += r.size;
    return n;
  }

  /** `c` is in `chatroomId` now (and in no other room). */
  attach(chatroomId: string, c: C): void {
    if (c.room !== null && c.room !== chatroomId) this.detach(c);
    let room = this.rooms.get(chatroomId);
    if (!room) {
      room = new Map();
      this.rooms.set(chatroomId, room);
    }
    room.set(c.session, c);
    c.room = chatroomId;
  }

  /** Take `c` out of its room; returns the room it was in (null: none). */
  detach(c: C): string | null {
    const id = c.room;
    if (id === null) return null;
    c.room = null;
    const room = this.rooms.get(id);
    if (room?.get(c.session) === c) room.delete(c.session);
    if (room && room.size === 0) this.rooms.delete(id);
    return id;
  }

  /** The bus's chatroom events; never throws. */
  handle(e: HubEvent): void {
    try {
      if (e.type === 'chatroom.message') this.deliver(e.chatroomId, e.message, e.only);
      else if (e.type === 'chatroom.leave') this.removed(e.chatroomId, e.session, e.reason);
    } catch (err) {
      this.log.error({ err, chatroomId: (e as { chatroomId?: string }).chatroomId }, 'chatroom fan-out failed');
    }
  }

  private deliver(chatroomId: string, message: Parameters<typeof wireMessage>[0], only: string[] | undefined): void {
    const room = this.rooms.get(chatroomId);
    if (!room) return;
    const to = only ? new Set(only) : null;
    const frame = once(() => {
      this.hooks.serialised();
      return chatroomMessageFrame(chatroomId, JSON.stringify(wireMessage(message)));
    });
    let n = 0;
    for (const c of [...room.values()]) {
      if (to && !to.has(c.userId)) continue;
      try {
        if (c.pushChatroom(frame)) n++;
      } catch (err) {
        this.log.error({ err, userId: c.userId }, 'writing a chatroom message failed');
        c.close(CloseCode.internalError, 'internal error: reconnect');
      }
    }
    if (n > 0) this.hooks.delivered(n);
  }

  /** Devices removed from a room (one session, or all): detach them and tell them why. */
  private removed(chatroomId: string, session: string | undefined, reason: string): void {
    const room = this.rooms.get(chatroomId);
    if (!room) return;
    const gone = session === undefined ? [...room.values()] : [room.get(session)].filter((c): c is C => c !== undefined);
    for (const c of gone) {
      this.detach(c);
      c.pushChatroom(() => chatroomLeftFrame(chatroomId, reason));
    }
  }
}
