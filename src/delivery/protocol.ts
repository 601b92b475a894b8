import type { AgentNotice } from '../core/events.js';
import type { Chatroom, Conversation, StoredMessage } from '../core/model.js';
import { longerThan } from '../core/payload.js';
import type { SyncEvent } from '../core/ports/store.js';
import type { FriendRelation, FriendRequest, UserSetting } from '../core/relations.js';

/**
 * The device protocol over WebSocket (docs/client-protocol.md): JSON text frames.
 *
 * Server → device frames carry a `cursor` (opaque, non-decreasing per connection, following commit
 * order); a device that reconnects with the last cursor it saw gets everything after it, once.
 */

/** Close codes (RFC 6455 private range 4000-4999, plus the standard ones we use). */
export const CloseCode = {
  /** Server shutting down: reconnect (elsewhere) with your cursor. */
  goingAway: 1001,
  /** A frame larger than the limit. */
  tooBig: 1009,
  /** Internal error (e.g. a replay failed): reconnect with your cursor and resync. */
  internalError: 1011,
  /** Malformed connection request (e.g. a cursor that is not a non-negative safe integer). */
  badRequest: 4000,
  /** Token missing, unknown, forged, expired or revoked at connect time. */
  unauthorized: 4001,
  /** The session was revoked while connected: user destroyed, blocked, or client kicked off. */
  revoked: 4003,
  /** Too many frames: the per-connection rate limit was exceeded repeatedly. */
  rateLimited: 4008,
  /** The device does not read fast enough: its send buffer passed the cap. Reconnect and resync. */
  tooSlow: 4009,
  /**
   * This node could not deliver an event to the device in order (its audience could not be loaded,
   * or too many events were waiting): reconnect with your cursor and resync; nothing is lost.
   */
  resync: 4010,
  /**
   * The user holds gateway.maxConnectionsPerUser connections on this node already: this one is closed
   * at once, the others are kept. The SDK retries with backoff (a stale connection is cut off by the
   * heartbeat within two intervals).
   */
  tooManyConnections: 4011,
} as const;

/**
 * End of a replay. `reset`: the cursor the device gave is ahead of this server's head (e.g. the server
 * was restored from a backup); the device must adopt `cursor` as its own, even though it is lower.
 */
export function syncedFrame(cursor: number, reset = false): string {
  return reset ? `{"type":"synced","cursor":${cursor},"reset":true}` : `{"type":"synced","cursor":${cursor}}`;
}

/**
 * A live event whose content depends on the receiver (a recall or update carrying the message): the
 * receiver may have hidden the message (clear_by_user, conversation delete, delete or recall for some
 * receivers), which only the store knows, so each receiver reads it as it sees it — through replay.
 */
export function needsUserView(e: SyncEvent): boolean {
  return (e.type === 'recall' || e.type === 'update') && e.message !== undefined;
}

/** A value computed on first use, then reused (a frame serialised once for all its receivers). */
export function once<T>(make: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = make();
      done = true;
    }
    return value;
  };
}

/** A message as get_one returns it. */
export interface WireMessage {
  messageId: number;
  sender: string;
  conv: Conversation;
  payload: StoredMessage['payload'];
  toUsers: string[];
  timestamp: number;
}

export function wireMessage(m: StoredMessage): WireMessage {
  return { messageId: m.uid, sender: m.sender, conv: m.conv, payload: m.payload, toUsers: m.toUsers, timestamp: m.timestamp };
}

/**
 * The frame for a sync event, serialised once and sent as is to every receiver:
 * - message:            {"type":"message","cursor":C,"message":{…}}
 * - recall/update:      {"type":"recall"|"update","cursor":C,"messageUid":U,"message":{…}}
 * - delete:             {"type":"delete","cursor":C,"messageUid":U}
 * - clear:              {"type":"clear","cursor":C,"conv":{…},"startTime":S,"endTime":E}
 * - conversation delete {"type":"conversation_delete","cursor":C,"conv":{…},"endTime":E}
 * - read:               {"type":"read","cursor":C,"userId":READER,"conv":{…},"timestamp":T}
 */
export function eventFrame(e: SyncEvent): string {
  switch (e.type) {
    case 'message':
      return JSON.stringify({ type: 'message', cursor: e.seq, message: e.message ? wireMessage(e.message) : undefined });
    case 'recall':
    case 'update':
      return JSON.stringify({ type: e.type, cursor: e.seq, messageUid: e.uid, ...(e.message ? { message: wireMessage(e.message) } : {}) });
    case 'delete':
      return JSON.stringify({ type: 'delete', cursor: e.seq, messageUid: e.uid });
    case 'clear':
      return JSON.stringify({ type: 'clear', cursor: e.seq, conv: e.conv, startTime: e.start, endTime: e.end });
    case 'conv_delete':
      return JSON.stringify({ type: 'conversation_delete', cursor: e.seq, conv: e.conv, endTime: e.end });
    case 'read':
      return JSON.stringify({ type: 'read', cursor: e.seq, userId: e.reader, conv: e.conv, timestamp: e.end });
  }
}

/**
 * A transparent message (persistFlag 4, never stored): carries the connection's current cursor so
 * cursors stay non-decreasing, and `transparent: true`. `messageJson` is serialised once per event.
 */
export function transparentFrame(cursor: number, messageJson: string): string {
  return `{"type":"message","cursor":${cursor},"transparent":true,"message":${messageJson}}`;
}

/** A chatroom as the join reply (and /admin/chatroom/info) gives it. */
export function chatroomInfo(c: Chatroom & { memberCount: number }): Record<string, string | number> {
  return {
    chatroomId: c.chatroomId,
    title: c.title,
    desc: c.desc,
    portrait: c.portrait,
    extra: c.extra,
    state: c.state,
    memberCount: c.memberCount,
    createDt: c.createDt,
    updateDt: c.updateDt,
  };
}

/**
 * A chatroom message for a device in the room: `{"type":"chatroom_message","chatroomId":R,"message":{…}}`.
 * No cursor: chatroom messages are not part of the user's sync log (never replayed).
 */
export function chatroomMessageFrame(chatroomId: string, messageJson: string): string {
  return `{"type":"chatroom_message","chatroomId":${JSON.stringify(chatroomId)},"message":${messageJson}}`;
}

/**
 * The device is no longer in a chatroom: the reply to its own `chatroom_leave` (with its `id`, reason
 * `left`), or a removal it did not ask for (no `id`; reason destroyed, kicked or replaced).
 */
export function chatroomLeftFrame(chatroomId: string, reason: string, id?: string | number): string {
  return JSON.stringify({ type: 'chatroom_left', ...(id !== undefined ? { id } : {}), chatroomId, reason });
}

/**
 * What this user keeps about another changed (friendship, blacklist, alias, extra):
 * `{"type":"friend","relation":{userId, friendUid, alias, extra, state, blacked, updateDt}}`. Live
 * only, no cursor; the `friends` frame lists every relation (after a reconnect).
 */
export function relationFrame(r: FriendRelation): string {
  return JSON.stringify({ type: 'friend', relation: relationOut(r) });
}

export function relationOut(r: FriendRelation): FriendRelation {
  return { userId: r.userId, friendUid: r.friendUid, alias: r.alias, extra: r.extra, state: r.state, blacked: r.blacked, updateDt: r.updateDt };
}

/**
 * A friend request to this user: `{"type":"friend_request","request":{fromUid, toUid, reason, extra,
 * status, updateDt}}`. Live only, no cursor; the `friend_requests` frame lists them.
 */
export function friendRequestFrame(r: FriendRequest): string {
  return JSON.stringify({ type: 'friend_request', request: requestOut(r) });
}

export function requestOut(r: FriendRequest): FriendRequest {
  return { fromUid: r.fromUid, toUid: r.toUid, reason: r.reason, extra: r.extra, status: r.status, updateDt: r.updateDt };
}

/**
 * One of this user's settings was put (`/admin/user/put_setting`):
 * `{"type":"user_setting","setting":{scope, key, value, updateDt}}`. Live only, no cursor; the
 * `user_settings` frame lists them.
 */
export function userSettingFrame(s: UserSetting): string {
  return JSON.stringify({ type: 'user_setting', setting: settingOut(s) });
}

export function settingOut(s: UserSetting): Omit<UserSetting, 'userId'> {
  return { scope: s.scope, key: s.key, value: s.value, updateDt: s.updateDt };
}

/** Longest frame `id` string (ids are echoed in replies; a number is any JSON number). */
export const MAX_FRAME_ID_LENGTH = 128;
/** Longest frame `type` echoed back in an "unknown frame type" error. */
const MAX_ECHOED_TYPE = 32;

/**
 * Why a frame's `id` cannot be used, or undefined when it can: absent, a number, or a string of at
 * most MAX_FRAME_ID_LENGTH characters. Any other JSON value can be nested thousands deep within
 * gateway.maxFrameBytes, and serialising it back would overflow the stack.
 */
export function frameIdProblem(id: unknown): string | undefined {
  if (id === undefined || typeof id === 'number') return undefined;
  if (typeof id !== 'string') return 'id must be a string or a number';
  return longerThan(id, MAX_FRAME_ID_LENGTH) ? `id must have at most ${MAX_FRAME_ID_LENGTH} characters` : undefined;
}

/** The refusal of a frame of unknown `type`, quoting at most MAX_ECHOED_TYPE characters of it. */
export function unknownTypeMessage(type: unknown): string {
  const t = String(type);
  return `unknown frame type ${t.length > MAX_ECHOED_TYPE ? `${t.slice(0, MAX_ECHOED_TYPE)}…` : t}`;
}

/**
 * Device → server frames. Their strings and lists are bounded where the core reads them
 * (core/payload.ts: conversation target, payload fields, toUsers) and here (id); `clientMsgId` is
 * 1..128 characters; the whole frame is at most gateway.maxFrameBytes.
 */
export type ClientFrame =
  | { type: 'send'; id?: string | number; conv: unknown; payload: unknown; toUsers?: unknown; clientMsgId?: unknown }
  | { type: 'ack'; cursor?: unknown; timestamp?: unknown }
  | { type: 'read'; id?: string | number; conv: unknown; timestamp: unknown }
  | { type: 'sync'; cursor: unknown }
  | { type: 'ping'; id?: string | number }
  | { type: 'chatroom_join'; id?: string | number; chatroomId: unknown }
  | { type: 'chatroom_leave'; id?: string | number; chatroomId?: unknown }
  | { type: 'friends'; id?: string | number }
  | { type: 'friend_requests'; id?: string | number }
  | { type: 'user_settings'; id?: string | number }
  | { type: 'friend_add'; id?: string | number; userId: unknown; reason?: unknown }
  | { type: 'friend_answer'; id?: string | number; userId: unknown; accept: unknown }
  | { type: 'friend_delete'; id?: string | number; userId: unknown }
  | { type: 'blacklist'; id?: string | number; userId: unknown; blacked: unknown };

/**
 * A live notice for agents (channel gateway; never replayed, no cursor):
 * - {"type":"channel_delivery","messageUid":U,"conv":{…},"guid":G,"status":"pending"|"sent"|"delivered"|"failed","error":E,"originalMessageId":…,"originalMessageUrl":…}
 * - {"type":"service_session","event":"opened"|"assigned"|"transferred"|"closed","session":{…},"conv":{…}?,"previousAgent":A?}
 */
export function noticeFrame(n: AgentNotice): string {
  return JSON.stringify(n);
}
