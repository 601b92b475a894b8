/** The store's ports for messages, per-user conversation state and sync (ports/store.ts holds the Store and its contract). */
import type { ChannelMessage } from '../channel-apps/model.js';
import type { ChannelAppStore } from './channel-apps.js';
import type { EffectSpec } from './outbox.js';
import type { ServiceSession } from '../service-session-rules.js';
import type { SessionActivity } from './service-sessions.js';
import type { Conversation, Group, MessageKindValue, Payload, StoredMessage } from '../model.js';
import type { RelationCheck } from './user-stores.js';

// ---------------------------------------------------------------- messages

/** Who receives an event: listed users (per-user rows) or a whole audience read by membership. */
export type Audience =
  | { kind: 'users'; users: string[] }
  | { kind: 'group'; groupId: string; only?: string[] }
  | { kind: 'channel'; channelId: string }
  /**
   * The devices in a chatroom at that moment (`only`: those of these users): no per-user rows, no
   * shared timeline, nothing replayed; delivered live through the bus's `chatroom.message`.
   */
  | { kind: 'chatroom'; chatroomId: string; only?: string[] }
  | { kind: 'all' };

export interface MessageDraft {
  sender: string;
  conv: Conversation;
  payload: Payload;
  kind: MessageKindValue;
  /** Group/channel: restrict receivers. Multicast: the targets. */
  toUsers: string[];
  /** Client origin (device sends); empty for admin sends. */
  clientId?: string;
  platform?: number;
  /** Client-side message id: a resend with the same (sender, clientMsgId) returns the first result. */
  clientMsgId?: string;
  /** System notifications (group events) skip the sender's membership and mute checks. */
  system?: boolean;
  /**
   * Trusted sends (the admin API unless admin.strictSend): the sender is not checked (it may be
   * blocked, muted, not a member, or never created); only the conversation's target must exist (the
   * user of a single chat, the group, the channel; multicast targets).
   */
  trusted?: boolean;
  /** Outbox jobs committed with the message (message key and unread counts filled in). */
  effects?: EffectSpec[];
  /**
   * A channel conversation's message: its external metadata (ports/channel-apps.ts), recorded with
   * the message's uid in the same transaction, as ChannelAppStore.recordMessage would (nothing for a
   * duplicate, a discarded or a transparent message).
   */
  channel?: Omit<ChannelMessage, 'uid'>;
  /**
   * A contact's message in a channel conversation: the activity of the contact's open session, applied
   * in the same transaction (ports/service-sessions.ts SessionActivity; nothing for a duplicate, a
   * discarded or a transparent message, which get no `session` in their result).
   */
  session?: SessionActivity;
  /** Check and give a uid, but store nothing (a before-send hook dropped it). */
  discard?: boolean;
  /** An identity reserved earlier with reserveUid (before-send hooks announce it first). */
  identity?: { uid: number; timestamp: number };
  /**
   * A device's single-chat message: the receiver's relation to the sender is checked in the write
   * (core's privateSendDecision with this policy): in_blacklist, no_right, or dropped (`dropped`).
   */
  relations?: RelationCheck;
}

export interface AppendResult {
  message: StoredMessage;
  /** Cursor of the message event; 0 for transparent messages, which are never stored. */
  seq: number;
  audience: Audience;
  /** Number of receivers other than the sender (broadcast: every other user). */
  count: number;
  /** True when a resend with a known clientMsgId returned the first result. */
  duplicate: boolean;
  /** True when the relation check dropped it (blacklist strategy drop): given a uid, not stored or delivered. */
  dropped?: boolean;
  /**
   * With draft.session, for a message stored now: the contact's open session as this write left it
   * (touched or not), or null when it has none. Absent otherwise.
   */
  session?: ServiceSession | null;
}

export interface MutationResult {
  /** Message state after the change (the original, for delete). */
  message: StoredMessage;
  /** Cursor of the event devices learn it from; 0 when nothing changed. */
  seq: number;
  audience: Audience;
  /** For recall: true when the message was already recalled (nothing changed). */
  unchanged: boolean;
  /** The cursor of the message itself: receivers who joined after it must not learn of the change. */
  messageSeq: number;
}

export interface MessageScope {
  /** When set, the message must be of this kind, else not_exist. */
  kind?: MessageKindValue;
  /** When set, apply only for these receivers (multicast); others keep the message. */
  receivers?: string[];
}

export interface MessageStore {
  /**
   * Check and store a message in one transaction: sender exists and may send (user_blocked), the
   * conversation exists (not_exist), membership (not_in_group / not_in_channel), mute (group_muted);
   * then write the message and its per-receiver rows and unread counters.
   * A transparent payload (persistFlag 4) is checked and given a uid but not written.
   */
  appendMessage(draft: MessageDraft): Promise<AppendResult>;
  /** A stored, not deleted, not expired message; null otherwise. */
  getMessage(uid: number, now: number): Promise<StoredMessage | null>;
  /**
   * Recall in place: the content becomes core's `recallPayload(original, operator)` (type 80), for
   * everyone or, with scope.receivers, for those receivers only. Recalling a recalled message changes
   * nothing (`unchanged`). Throws not_exist for an unknown, deleted or wrong-kind message.
   */
  recallMessage(uid: number, operator: string, scope: MessageScope, effects?: EffectSpec[]): Promise<MutationResult>;
  /** Replace the content. `distribute` records an update event devices receive. */
  updateMessage(uid: number, payload: Payload, distribute: boolean, updatedAt: number): Promise<MutationResult>;
  /** Tombstone the message (or hide it for some receivers). Throws not_exist when already gone. */
  deleteMessage(uid: number, scope: MessageScope): Promise<MutationResult>;
  /** The user's total unread count over the visible conversations of a type (see ConversationState.unread). */
  unreadTotal(userId: string, convType: number): Promise<number>;
  /** A stored message by its key (MsgKey "seq_random_time": see core/ids.ts messageKey). */
  uidOfKey(key: string): Promise<number | null>;
  /** A fresh uid and timestamp for a message that will be appended with draft.identity. */
  reserveUid(): Promise<{ uid: number; timestamp: number }>;
}

// ---------------------------------------------------------------- per-user conversation state

export interface ConversationState {
  conv: Conversation;
  /**
   * The messages of the conversation, among those the user received with per-user rows, that core's
   * rule counts as unread (src/core/unread.ts): the same after every mutation as `recountUnread`.
   */
  unread: number;
  lastUid: number;
  lastTimestamp: number;
  readTimestamp: number;
}

/**
 * A page of a user's conversation list, in its total order: lastTimestamp descending, then the
 * conversation's type, target and line ascending. `after`: the last entry of the previous page (its
 * lastTimestamp and conversation); the page holds the entries after it in that order, at most `limit`.
 */
export interface ConversationPage {
  limit: number;
  after?: { lastTimestamp: number; conv: Conversation } | undefined;
}

export interface ConversationStore {
  /** Hide the user's messages of a conversation with timestamps in [start, end]. Throws not_exist for an unknown user. */
  clearUserMessages(userId: string, conv: Conversation, start: number, end: number): Promise<{ seq: number }>;
  /** Remove the conversation from the user's list and hide its messages up to now. */
  deleteConversation(userId: string, conv: Conversation, now: number): Promise<{ seq: number }>;
  /** The user's visible conversations in ConversationPage's order: every one, or the page asked for. */
  listConversations(userId: string, page?: ConversationPage): Promise<ConversationState[]>;
  /** Read timestamp of the user in a conversation (0 when never read). */
  getReadTimestamp(userId: string, conv: Conversation): Promise<number>;
  /**
   * The user's unread count in `conv` (as the user sees it) recomputed from the stored messages, read
   * mark, hides and per-receiver states by core's rule, ignoring the maintained counter — which must
   * always equal it (0 for a conversation not in the user's list). An audit: it reads the user's rows
   * after the read mark.
   */
  recountUnread(userId: string, conv: Conversation): Promise<number>;
  /**
   * Raise the read timestamp (never lowers it); messages at or before it no longer count as unread. Records a read event for the
   * reader's devices and a read receipt for the other party (single chat) or the other members (a
   * group with per-user rows); `receipts` lists them with the conversation as each sees it.
   * `seq` is 0 when nothing changed.
   */
  markRead(
    userId: string,
    conv: Conversation,
    timestamp: number,
    effects?: EffectSpec[],
  ): Promise<{ timestamp: number; seq: number; receipts: Array<{ userId: string; conv: Conversation }> }>;
  getDeliveryTimestamp(userId: string): Promise<number>;
  /** Raise the delivery timestamp (never lowers it). Returns the stored value. */
  markDelivered(userId: string, timestamp: number): Promise<number>;
}

// ---------------------------------------------------------------- sync

export type SyncEventType = 'message' | 'recall' | 'update' | 'delete' | 'clear' | 'conv_delete' | 'read';

export interface SyncEvent {
  seq: number;
  type: SyncEventType;
  uid: number;
  /** recall/update/delete: the cursor of the message changed (0 when unknown). */
  messageSeq?: number;
  /** read: who read. */
  reader?: string;
  /** The message as this user should see it now (absent for clear/conv_delete/read, and when gone). */
  message?: StoredMessage;
  /** clear / conv_delete / read: which conversation and range. */
  conv?: Conversation;
  start?: number;
  end?: number;
}

export interface ReplayPage {
  events: SyncEvent[];
  /** Resume after this cursor: the last seq examined (>= the last event's seq). */
  next: number;
  /** True when nothing after `next` was committed when the page was read. */
  done: boolean;
}

export interface SyncStore {
  /** The largest committed cursor. */
  headSeq(): Promise<number>;
  /**
   * The events of `userId` with seq > `after`, in seq order, examining at most `limit` events, with
   * per-user state applied: a message event carries the message as this user sees it now (recalled
   * content, updated content) and is omitted when deleted, hidden for the user or expired.
   */
  replay(userId: string, after: number, limit: number, now: number): Promise<ReplayPage>;
}
