import type { NotificationStore } from './notifications.js';
import type { NotifyDeliveryStore } from './notify-delivery.js';
import type { ChannelMessage } from '../channel-apps/model.js';
import type { ChannelAppStore } from './channel-apps.js';
import type { EffectSpec, OutboxStore } from './outbox.js';
import type { ServiceSession } from '../service-session-rules.js';
import type { ServiceSessionStore, SessionActivity } from './service-sessions.js';
import type {
  Channel,
  Chatroom,
  ChatroomBlackEntry,
  Conversation,
  Device,
  Group,
  GroupMember,
  MessageKindValue,
  Payload,
  Robot,
  StoredMessage,
  TokenRecord,
  User,
  UserRole,
} from '../model.js';
import type { FriendRelation, FriendRequest, FriendRequestPolicy, PrivateSendPolicy, UserSetting } from '../relations.js';

/**
 * The store: the one durable state of Switchboard.
 *
 * Contract (every backend; checked by test/contract/store.contract.ts):
 * - Every method is async; a resolved write is durable (committed, and fsynced when the backend is
 *   configured for it) before the promise resolves. Callers publish side effects only after that.
 * - Each write command is atomic: its checks (existence, membership, block, mute) are evaluated in the
 *   same transaction as its writes, never read-then-write across awaits.
 * - A command that fails throws a CoreError and leaves no trace; it never fails other callers' writes
 *   (a backend that batches commits isolates each command, e.g. with savepoints).
 * - `seq` values (cursors) are allocated in commit order: a reader that has seen seq N will never later
 *   observe a committed event with seq <= N that it has not seen.
 */
export interface Store {
  readonly users: UserStore;
  readonly tokens: TokenStore;
  readonly groups: GroupStore;
  readonly channels: ChannelStore;
  readonly chatrooms: ChatroomStore;
  readonly messages: MessageStore;
  readonly conversations: ConversationStore;
  readonly sync: SyncStore;
  readonly outbox: OutboxStore;
  readonly settings: SettingsStore;
  readonly robots: RobotStore;
  readonly devices: DeviceStore;
  readonly relations: RelationStore;
  readonly sensitiveWords: SensitiveWordStore;
  readonly userSettings: UserSettingStore;
  /** The notification centre (seed 004): see ports/notifications.ts. */
  readonly notifications: NotificationStore;
  /** The notification centre's e-mail/SMS side (fallback records, escalation): see ports/notify-delivery.ts. */
  readonly notifyDelivery: NotifyDeliveryStore;
  /** The channel gateway's records, contacts, conversations and message metadata (ports/channel-apps.ts). */
  readonly channelApps: ChannelAppStore;
  /** Customer-service sessions of the channel gateway. */
  readonly serviceSessions: ServiceSessionStore;
  /** True when the backend answers a trivial query. */
  ping(): Promise<boolean>;
  /** Flush pending writes and release resources. Later calls reject. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------- settings

/** Runtime settings as JSON documents by key; changes are announced with cache.invalidate 'settings'. */
export interface SettingsStore {
  get(key: string): Promise<unknown>;
  /** Every document whose key starts with `prefix`. */
  list(prefix: string): Promise<Array<{ key: string; value: unknown }>>;
  put(key: string, value: unknown): Promise<void>;
  /** Returns whether the key existed. */
  remove(key: string): Promise<boolean>;
}

// ---------------------------------------------------------------- relations

/**
 * Friends, blacklists and friend requests (core/relations.ts), one row per ordered pair of users.
 * Users are not required to exist (Wildfire's admin API does not check either); destroying a user
 * removes every row naming it, either side. Every write stamps `updateDt` with the store's clock.
 */
export interface RelationStore {
  /**
   * Wildfire's admin friend/status: userId → friendUid takes `state` and `extra` (created when
   * missing); unless `state` is 2, friendUid → userId takes `state` too (and `extra` when it is
   * created). Returns the rows written, userId's first.
   */
  setFriendState(userId: string, friendUid: string, state: number, extra: string): Promise<FriendRelation[]>;
  /** Put `targetUid` on userId's blacklist (or take it off); a missing row is created as "not friends". */
  setBlacked(userId: string, targetUid: string, blacked: boolean): Promise<FriendRelation>;
  /** userId's alias for targetUid; a missing row is created as "not friends". */
  setAlias(userId: string, targetUid: string, alias: string): Promise<FriendRelation>;
  /** userId's extra about targetUid; a missing row is created as "not friends". */
  setExtra(userId: string, targetUid: string, extra: string): Promise<FriendRelation>;
  /** What userId keeps about targetUid, or null. */
  getRelation(userId: string, targetUid: string): Promise<FriendRelation | null>;
  /** Every row userId keeps, oldest change first (ties by friendUid). */
  listRelations(userId: string): Promise<FriendRelation[]>;
  /**
   * Record a friend request (replacing the last one from fromUid to toUid) after core's
   * checkFriendRequest, evaluated in the same transaction. Throws what the rule throws.
   */
  addFriendRequest(fromUid: string, toUid: string, reason: string, extra: string, force: boolean, policy: FriendRequestPolicy): Promise<FriendRequest>;
  /** Requests sent to userId and sent by it, newest change first, at most `limit`. */
  listFriendRequests(userId: string, limit: number): Promise<FriendRequest[]>;
  /**
   * userId answers the request fromUid sent it (core's checkFriendAnswer, in the transaction): its
   * status becomes accepted (1) or rejected (2). Accepting makes them friends both ways (aliases and
   * extras kept) unless they are already, and accepts a pending request of userId to fromUid too.
   * Returns the request as stored and the relations written.
   */
  answerFriendRequest(userId: string, fromUid: string, accept: boolean, policy: FriendRequestPolicy): Promise<{ request: FriendRequest; relations: FriendRelation[] }>;
  /** They are friends no more, both ways: existing rows take state 1 (none is created). Returns the rows written. */
  deleteFriend(userId: string, friendUid: string): Promise<FriendRelation[]>;
}

/**
 * How the store checks a device's message between users (MessageDraft.relations): the receiver's
 * relation to the sender, read in the send's transaction, decided by core's privateSendDecision.
 */
export type RelationCheck = PrivateSendPolicy;

/** The sensitive words, lower-cased, each once. */
export interface SensitiveWordStore {
  /** Add words (lower-cased; known ones are ignored). Throws invalid_parameter past `maxWords` in all. Returns how many were new. */
  addWords(words: string[], maxWords: number): Promise<number>;
  /** Remove words (compared lower-cased). Returns how many were removed. */
  removeWords(words: string[]): Promise<number>;
  /** Every word, sorted. */
  listWords(): Promise<string[]>;
}

/** Per-user settings by (scope, key) (Wildfire's user settings; scope 3: conversation top). */
export interface UserSettingStore {
  /** Create or overwrite. Throws invalid_parameter when the user would have more than `maxPerUser`. */
  putSetting(userId: string, scope: number, key: string, value: string, maxPerUser: number): Promise<UserSetting>;
  getSetting(userId: string, scope: number, key: string): Promise<UserSetting | null>;
  /** Every setting of the user, by scope then key. */
  listSettings(userId: string): Promise<UserSetting[]>;
}

// ---------------------------------------------------------------- users

/** Profile fields a caller may set; absent fields keep their value (update) or default to "" / 0. */
export interface UserFields {
  name?: string;
  displayName?: string;
  portrait?: string;
  gender?: number;
  mobile?: string;
  email?: string;
  address?: string;
  company?: string;
  social?: string;
  extra?: string;
  type?: number;
}

export type UserLookup = { userId: string } | { name: string } | { mobile: string } | { email: string };

/** What destroyUser removed the user from. */
export interface DestroyedUser {
  groups: string[];
  channels?: string[];
  past?: { groups: string[]; channels: string[] };
}

export interface UserStore {
  /** Create the user, or overwrite the given fields of an existing one. Throws name_taken. */
  upsertUser(userId: string, fields: UserFields & { name: string }): Promise<User>;
  /** Throws not_exist; name_taken when the new name belongs to someone else. */
  updateUser(userId: string, fields: UserFields): Promise<User>;
  /**
   * Remove the user: profile, tokens, memberships, subscriptions, past memberships, its robot or
   * device record and the devices ownerships it held. Messages stay.
   * Returns the groups the user was removed from; `channels`, the channels it was unsubscribed from;
   * `past`, the groups and channels whose past memberships of the user were forgotten (see
   * `memberSeqs`). The audiences of all three lists changed (their caches are stale). Throws not_exist.
   */
  destroyUser(userId: string): Promise<DestroyedUser>;
  getUser(by: UserLookup): Promise<User | null>;
  getUsers(userIds: string[]): Promise<User[]>;
  /** Every user with this (non-empty) email, oldest first, at most `limit`. */
  usersByEmail(email: string, limit: number): Promise<User[]>;
  listUsers(offset: number, count: number): Promise<User[]>;
  countUsers(): Promise<number>;
  /** 0 normal, 1 muted, 2 blocked; blocking revokes every token of the user. Throws not_exist. */
  setUserStatus(userId: string, status: number): Promise<void>;
  listUserStatuses(): Promise<Array<{ userId: string; status: number }>>;
  setUserRole(userId: string, role: UserRole): Promise<void>;
  /** The cursor at which the user was created (it sees no broadcast from before); null when unknown. */
  sinceSeq(userId: string): Promise<number | null>;
}

// ---------------------------------------------------------------- tokens

export interface TokenStore {
  /**
   * Store a token hash. Throws user_blocked for a blocked user. A user id that does not exist is
   * accepted (Wildfire issues tokens for any id): the token is stored and is usable (findToken finds
   * it) but a device presenting it is refused until a user with that id is created.
   */
  insertToken(hash: string, record: TokenRecord): Promise<void>;
  /** The live record of a token hash, or null (unknown, revoked or expired at `now`). */
  findToken(hash: string, now: number): Promise<TokenRecord | null>;
  /** Revoke the user's tokens (of one client when given). Returns how many were revoked. */
  revokeTokens(userId: string, clientId?: string): Promise<number>;
  /** The clients of the user holding a live token at `now`, each once (its latest platform), by client id. */
  sessionClients(userId: string, now: number): Promise<Array<{ clientId: string; platform: number }>>;
}

// ---------------------------------------------------------------- groups

export interface GroupFields {
  name?: string;
  portrait?: string;
  owner?: string;
  type?: number;
  extra?: string;
  mute?: number;
  joinType?: number;
  privateChat?: number;
  searchable?: number;
  historyMessage?: number;
  maxMemberCount?: number;
}

export interface MemberInput {
  memberId: string;
  alias?: string;
  type?: number;
  extra?: string;
}

export interface GroupStore {
  /**
   * Create a group with its members (the owner is added as type 2 when missing).
   * Throws group_already_exist, not_exist (owner or a member unknown), group_full.
   */
  createGroup(
    groupId: string,
    fields: GroupFields & { owner: string },
    members: MemberInput[],
    maxMembers: number,
    effects?: EffectSpec[],
  ): Promise<Group>;
  deleteGroup(groupId: string, effects?: EffectSpec[]): Promise<{ members: string[] }>;
  getGroup(groupId: string): Promise<Group | null>;
  updateGroup(groupId: string, fields: GroupFields): Promise<Group>;
  /** The new owner must be a member (not_in_group); the old owner becomes a normal member. */
  transferGroup(groupId: string, newOwner: string): Promise<void>;
  listMembers(groupId: string): Promise<GroupMember[]>;
  getMember(groupId: string, userId: string): Promise<GroupMember | null>;
  /** Add or update members. Throws not_exist (group or a user), group_full. */
  addMembers(groupId: string, members: MemberInput[], maxMembers: number, effects?: EffectSpec[]): Promise<void>;
  /** Remove members. The owner cannot be removed (no_right). Unknown ids are ignored. */
  removeMembers(groupId: string, userIds: string[], effects?: EffectSpec[]): Promise<string[]>;
  /** Set the member type of existing members (not_in_group for a non-member; never the owner). */
  setMemberType(groupId: string, userIds: string[], type: number): Promise<void>;
  groupsOfUser(userId: string): Promise<string[]>;
  /** The groups where the user is a member of one of `types` (every type but removed when empty), by id. */
  groupsOfUserByType(userId: string, types: number[]): Promise<string[]>;
  /**
   * Set a member's alias and/or extra (absent fields keep theirs). Throws not_exist for an unknown
   * group, not_in_group when the user is not a member (or a removed one).
   */
  updateMember(groupId: string, userId: string, fields: { alias?: string; extra?: string }): Promise<GroupMember>;
  /**
   * Groups the user left (removed, quit, dismissed) that keep a past membership of it (see
   * `memberSeqs`): changes of messages sent while it was a member still reach it. In no order.
   */
  pastGroupsOfUser(userId: string): Promise<string[]>;
  /**
   * Everyone who may learn of the group's shared timeline, as membership intervals, read atomically:
   * each current member once, with the cursor at which it joined (`since`, no `until`: it sees the
   * messages with seq > since), and each past membership kept for replay with `until` (the cursor at
   * which it ended: it saw the messages with since < seq <= until). A user may appear several times
   * (left and joined again). A message with seq M, and every later change of it (recall, update,
   * delete), is for exactly the users with an interval since < M (<= until): the rule replay applies.
   * A dismissed group keeps its past memberships.
   */
  memberSeqs(groupId: string): Promise<MemberInterval[]>;
}

/** One membership of a shared audience: messages with since < seq (<= until, when given). */
export interface MemberInterval {
  userId: string;
  since: number;
  /** Absent for a current membership; the cursor at which a past one ended. */
  until?: number;
}

// ---------------------------------------------------------------- robots and devices

export interface RobotFields {
  owner: string;
  secret: string;
  callback: string;
  extra: string;
}

/** Robots: users of type 1 with an owner, a secret and a callback. */
export interface RobotStore {
  /**
   * Create or update the robot's user (type 1, the given profile fields) and its robot record, in one
   * transaction (Wildfire's create-or-update). Throws name_taken when the name is another user's.
   */
  upsertRobot(userId: string, user: UserFields & { name: string }, robot: RobotFields): Promise<Robot>;
  /** The robot record of a user that still exists; null otherwise. */
  getRobot(userId: string): Promise<Robot | null>;
  /** Every robot with a callback, at most `limit` (routing their incoming messages). */
  robotsWithCallback(limit: number): Promise<Robot[]>;
}

export interface DeviceFields {
  owners: string[];
  extra: string;
}

/** Devices: users of type 2 (id = device id) with owners, extra and a secret. */
export interface DeviceStore {
  /**
   * Create the device (its user of type 2 named after it, a fresh `secret`) or update an existing one
   * (owners replaced, extra overwritten, the secret kept). Throws no_right when the id belongs to a user
   * that is not a device, name_taken when its name is another user's.
   */
  upsertDevice(deviceId: string, fields: DeviceFields, secret: string): Promise<Device>;
  getDevice(deviceId: string): Promise<Device | null>;
  /** The devices the user owns, by id. */
  devicesOfUser(userId: string): Promise<Device[]>;
}

// ---------------------------------------------------------------- channels

export interface ChannelFields {
  name: string;
  owner: string;
  portrait?: string;
  desc?: string;
  extra?: string;
  secret?: string;
  callback?: string;
  automatic?: number;
  state?: number;
}

export interface ChannelStore {
  /** Create or overwrite a channel. Throws not_exist when the owner is unknown. */
  upsertChannel(channelId: string, fields: ChannelFields): Promise<Channel>;
  getChannel(channelId: string): Promise<Channel | null>;
  destroyChannel(channelId: string): Promise<void>;
  /** Throws not_exist for an unknown channel or user. */
  subscribe(channelId: string, userId: string, on: boolean): Promise<void>;
  isSubscribed(channelId: string, userId: string): Promise<boolean>;
  /**
   * The owner (since 0) and the subscribers with the cursor at which each subscribed, plus past
   * subscriptions with `until`, as for GroupStore.memberSeqs (a destroyed channel keeps its past ones).
   */
  audienceSeqs(channelId: string): Promise<MemberInterval[]>;
}

// ---------------------------------------------------------------- chatrooms

export interface ChatroomFields {
  title: string;
  desc?: string;
  portrait?: string;
  extra?: string;
  state: number;
}

/** A chatroom and the facts its send and join rules need, read together. */
export interface ChatroomFacts {
  chatroom: Chatroom;
  managers: string[];
  /** Every entry, expired ones included (the caller compares expiredTime with its clock). */
  blacklist: ChatroomBlackEntry[];
}

/**
 * Chatroom records, their managers and blacklists (durable). Who is in a room is not stored here: it
 * lives with the connections (ChatroomMembership).
 */
export interface ChatroomStore {
  /**
   * Create the room, or update an existing one: the given non-empty texts overwrite, the state always
   * does (Wildfire's create-or-update). Returns the room as stored.
   */
  upsertChatroom(chatroomId: string, fields: ChatroomFields): Promise<Chatroom>;
  /** State 2 (ended) and a fresh updateDt; false when there is no such room (nothing changes). */
  endChatroom(chatroomId: string): Promise<boolean>;
  getChatroom(chatroomId: string): Promise<Chatroom | null>;
  /** The room with its managers and blacklist; null when there is no such room. */
  chatroomFacts(chatroomId: string): Promise<ChatroomFacts | null>;
  /** Blacklist state 1 or 2 until `expiredTime` (0: no end); state 0 removes the entry. Throws not_exist for an unknown room. */
  setBlackStatus(chatroomId: string, userId: string, state: number, expiredTime: number): Promise<void>;
  /** Add (on) or remove a manager. Throws not_exist for an unknown room. */
  setManager(chatroomId: string, userId: string, on: boolean): Promise<void>;
  /** Mute (1: only managers send) or unmute (0). Throws not_exist for an unknown room. */
  setMute(chatroomId: string, mute: number): Promise<void>;
}

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
