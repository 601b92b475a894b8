import type { ChannelDeliveryStatus, ChatroomLeftReason, Conversation, FriendRelation, FriendRequest, Message, ServiceSession, UserSetting } from './protocol.js';

/**
 * Every event the client emits, with its data. Cursor-bearing events (message, recall, update,
 * delete, clear, conversation_delete, read) are emitted in cursor order, each once per stream: a
 * frame at or below the stream's position is dropped (a `sync(olderCursor)` replays on purpose).
 * There are no presence events: online status is an admin API (`/admin/user/onlinestatus`).
 */
export interface ClientEvents {
  /** A socket was accepted (sent before any replay). */
  hello: { userId: string; clientId: string };
  /** A new message, from replay or live. `transparent` (persistFlag 4) ones are never stored and carry the current cursor. */
  message: { cursor: number; message: Message; transparent: boolean };
  /** A message was recalled; `message` is the type-80 recall notification (absent if the user cannot see it). */
  recall: { cursor: number; messageUid: number; message?: Message };
  /** A message's content was replaced; `message` is the new content (absent if the user cannot see it). */
  update: { cursor: number; messageUid: number; message?: Message };
  /** A message was deleted. */
  delete: { cursor: number; messageUid: number };
  /** Messages of `conv` with timestamps in [startTime, endTime] are hidden for this user. */
  clear: { cursor: number; conv: Conversation; startTime: number; endTime: number };
  /** The conversation was deleted for this user (messages up to `endTime` hidden, off the list). */
  conversation_delete: { cursor: number; conv: Conversation; endTime: number };
  /**
   * A read mark: `userId` read `conv` up to `timestamp`. Either this user on another device, or a
   * read receipt from the other party of a single chat (`conv.target` = the reader) or a group member.
   */
  read: { cursor: number; userId: string; conv: Conversation; timestamp: number };
  /**
   * A message in the chatroom this device is in (conversation type 2), live only: chatroom messages
   * have no cursor, are not replayed and are not acknowledged.
   */
  chatroom_message: { chatroomId: string; message: Message };
  /** The device is no longer in its chatroom, although it did not call `leaveChatroom()`. */
  chatroom_left: { chatroomId: string; reason: ChatroomLeftReason; code?: number };
  /**
   * What this user keeps about another changed (friendship, blacklist, alias, extra), live only: after
   * a reconnect, `friends()` gives the whole list.
   */
  friend: { relation: FriendRelation };
  /** A friend request to this user, live only: after a reconnect, `friendRequests()` lists them. */
  friend_request: { request: FriendRequest };
  /** One of this user's settings was put, live only: after a reconnect, `userSettings()` lists them. */
  user_setting: { setting: UserSetting };
  /**
   * Agents (channel gateway): the delivery status of a reply sent through a channel app changed. Live
   * only (no cursor, not replayed): read the current status with `/admin/channel_message/delivery`.
   */
  channel_delivery: {
    messageUid: number;
    conv: Conversation;
    guid: string;
    status: ChannelDeliveryStatus;
    error: string;
    originalMessageId: string;
    originalMessageUrl: string;
  };
  /**
   * Agents (channel gateway): a customer-service session of one of your accounts was opened (queued),
   * assigned, transferred or closed. Live only; `/admin/channel_session/list` has the current state.
   */
  service_session: { event: 'opened' | 'assigned' | 'transferred' | 'closed'; session: ServiceSession; conv?: Conversation; previousAgent?: string };
  /** A replay (after connecting, or asked for with `sync()`) is complete; live from here. */
  synced: { cursor: number };
  /** The socket closed (or could not be opened: code 0); `reconnecting` tells whether the client will retry. */
  disconnected: { code: number; reason: string; reconnecting: boolean };
  /** A reconnect is scheduled: attempt number (1 = first retry) and the delay chosen (backoff with jitter). */
  reconnecting: { attempt: number; delayMs: number };
  /**
   * A failure not tied to a request of yours: a server error frame without an id (e.g. 250 rate
   * limited, which drops the frame that caused it), or a cursorStore.save that failed (code 0).
   */
  error: { code: number; msg: string; detail?: string };
}

export type ClientEvent = keyof ClientEvents;

export type Handler<E extends ClientEvent> = (data: ClientEvents[E]) => void;

/**
 * A tiny typed emitter. A handler that throws does not break the client's state: the error is
 * rethrown on a fresh microtask (so it still surfaces as an uncaught error) and the other handlers run.
 */
export class Emitter {
  private readonly handlers = new Map<ClientEvent, Set<(data: never) => void>>();

  on<E extends ClientEvent>(event: E, handler: Handler<E>): () => void {
    let set = this.handlers.get(event);
    if (!set) {
      set = new Set();
      this.handlers.set(event, set);
    }
    const h = handler as (data: never) => void;
    set.add(h);
    return () => {
      set.delete(h);
    };
  }

  emit<E extends ClientEvent>(event: E, data: ClientEvents[E]): void {
    const set = this.handlers.get(event);
    if (!set) return;
    for (const h of [...set]) {
      try {
        (h as Handler<E>)(data);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
