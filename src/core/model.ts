/**
 * Domain types shared by every layer. Field names follow seed 001 / Wildfire where a wire shape
 * exists, so the admin surface maps them without renaming.
 */

export const ConvType = { single: 0, group: 1, chatroom: 2, channel: 3, things: 4, secret: 5 } as const;
export type ConvTypeValue = (typeof ConvType)[keyof typeof ConvType];

/** A conversation key: `line` is part of the key (default 0). */
export interface Conversation {
  type: number;
  target: string;
  line: number;
}

export const PersistFlag = { none: 0, persist: 1, count: 3, transparent: 4 } as const;

/** Message content as seed 001 stores and returns it: every field present. */
export interface Payload {
  type: number;
  searchableContent: string;
  pushContent: string;
  pushData: string;
  content: string;
  base64edData: string;
  mediaType: number;
  remoteMediaUrl: string;
  persistFlag: number;
  expireDuration: number;
  mentionedType: number;
  mentionedTarget: string[];
  extra: string;
}

/** How a message was addressed; decides who receives it and which admin routes apply. */
export const MessageKind = { conversation: 0, multicast: 1, broadcast: 2 } as const;
export type MessageKindValue = (typeof MessageKind)[keyof typeof MessageKind];

export const MessageStatus = { normal: 0, recalled: 1, deleted: 2 } as const;
export type MessageStatusValue = (typeof MessageStatus)[keyof typeof MessageStatus];

/**
 * A message's state for one receiver alone (per-receiver recall or delete, seed 001's multicast
 * variants): the message itself stays as it is for everyone else. A state only ever rises.
 */
export const ReceiverState = { none: 0, recalled: 1, deleted: 2 } as const;

export interface StoredMessage {
  uid: number;
  sender: string;
  conv: Conversation;
  payload: Payload;
  /** Explicit recipients: toUsers of a group/channel send, or the targets of a multicast. */
  toUsers: string[];
  kind: MessageKindValue;
  status: MessageStatusValue;
  /** Server time (ms) the message was accepted. */
  timestamp: number;
  /** Set when the content was replaced by update (ms). */
  updatedAt: number;
  /** The sending device, when a client sent it (absent for admin sends). */
  clientId: string;
  platform: number;
}

export const UserStatus = { normal: 0, muted: 1, blocked: 2 } as const;
/** Wildfire's user types: 0 normal, 1 robot, 2 thing (device), 3 … , 100 admin. */
export const UserType = { normal: 0, robot: 1, thing: 2, admin: 100 } as const;
export type UserRole = 'user' | 'operator';

export interface User {
  userId: string;
  name: string;
  displayName: string;
  portrait: string;
  gender: number;
  mobile: string;
  email: string;
  address: string;
  company: string;
  social: string;
  extra: string;
  type: number;
  role: UserRole;
  /** 0 normal, 1 muted (cannot send), 2 blocked (cannot send or log in). */
  status: number;
  updateDt: number;
}

export const GroupMemberType = { normal: 0, manager: 1, owner: 2, silent: 3, removed: 4, allowed: 5 } as const;

export interface Group {
  groupId: string;
  name: string;
  portrait: string;
  owner: string;
  type: number;
  extra: string;
  mute: number;
  joinType: number;
  privateChat: number;
  searchable: number;
  historyMessage: number;
  maxMemberCount: number;
  memberCount: number;
  updateDt: number;
}

export interface GroupMember {
  memberId: string;
  alias: string;
  type: number;
  extra: string;
  createDt: number;
}

/**
 * A robot: a user of type 1 whose incoming messages are posted to `callback` (when set) through the
 * outbox channel `robot`; it answers through the admin API (message/send as the robot).
 */
export interface Robot {
  userId: string;
  /** The user who owns it (default: the robot itself, as in Wildfire). */
  owner: string;
  secret: string;
  /** Where its incoming messages are posted; "" for none. */
  callback: string;
  extra: string;
  state: number;
}

/**
 * A device (Wildfire professional edition's "thing"): a user of type 2 whose id is the device id,
 * owned by some users, with a secret; it logs in with a token like any client.
 */
export interface Device {
  deviceId: string;
  owners: string[];
  extra: string;
  secret: string;
  state: number;
  updateDt: number;
}

export interface Channel {
  channelId: string;
  name: string;
  owner: string;
  portrait: string;
  desc: string;
  extra: string;
  secret: string;
  callback: string;
  automatic: number;
  state: number;
  updateDt: number;
}

/** A device credential. Only the hash of the token is ever stored. */
export interface TokenRecord {
  userId: string;
  clientId: string;
  platform: number;
  expiresAt: number;
}

/** A chatroom's state (Wildfire's): 0 normal, 1 not started yet, 2 ended (destroyed rooms stay, ended). */
export const ChatroomState = { normal: 0, notStarted: 1, ended: 2 } as const;

/**
 * A chatroom (conversation type 2): a room devices join and leave, whose messages reach the devices in
 * it at that moment. The record is durable; who is in it is not (see ports/chatroom-membership.ts).
 */
export interface Chatroom {
  chatroomId: string;
  title: string;
  desc: string;
  portrait: string;
  extra: string;
  state: number;
  /** 1: only managers may send (mute_all). */
  mute: number;
  createDt: number;
  updateDt: number;
}

/** A chatroom blacklist entry's state: 1 may not send, 2 may neither join nor send (0 removes the entry). */
export const ChatroomBlackState = { none: 0, muted: 1, banned: 2 } as const;

export interface ChatroomBlackEntry {
  userId: string;
  state: number;
  /** When the entry ends (ms since the epoch); 0: never. */
  expiredTime: number;
}
