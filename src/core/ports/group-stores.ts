/** The store's ports for groups, channels and chatrooms (ports/store.ts holds the Store and its contract). */
import type { EffectSpec } from './outbox.js';
import type { Channel, Chatroom, ChatroomBlackEntry, Group, GroupMember } from '../model.js';

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
