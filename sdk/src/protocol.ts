/**
 * The wire shapes of docs/client-protocol.md that the SDK exposes: conversations, payloads and
 * messages as `/admin/message/get_one` returns them.
 */

/** A conversation key: type 0 single, 1 group, 2 chatroom, 3 channel; `line` 0 unless you use lines. */
export interface Conversation {
  type: number;
  target: string;
  line: number;
}

/** Message content (Wildfire's payload); only `type` is required when sending. */
export interface Payload {
  type: number;
  searchableContent?: string;
  pushContent?: string;
  pushData?: string;
  content?: string;
  base64edData?: string;
  mediaType?: number;
  remoteMediaUrl?: string;
  /**
   * 0 (the default): delivered and kept, but not counted as unread and no conversation entry (so no
   * read reports for it); 1 stored; 3 stored and counted as unread (a normal chat message);
   * 4 transparent: never stored, only to devices live at that moment.
   */
  persistFlag?: number;
  expireDuration?: number;
  mentionedType?: number;
  mentionedTarget?: string[];
  extra?: string;
}

/** A delivered message (the shape of `/admin/message/get_one`'s result). */
export interface Message {
  /** The message uid. */
  messageId: number;
  sender: string;
  /** For a single chat, as the sender sent it (`target` = the receiver). */
  conv: Conversation;
  payload: Required<Payload>;
  toUsers: string[];
  timestamp: number;
}

/** What `send()` resolves with. `duplicate`: a resend of a stored clientMsgId (the first uid). */
export interface SendResult {
  messageUid: number;
  timestamp: number;
  duplicate: boolean;
}

/** What `read()` resolves with: the user's read mark for the conversation (it never moves back). */
export interface ReadResult {
  timestamp: number;
}

/** What `sync()` resolves with: the cursor of the `synced` frame that ended the replay. */
export interface SyncResult {
  cursor: number;
}

/** A chatroom as `joinChatroom()` resolves with it (the shape of `/admin/chatroom/info`'s result). */
export interface ChatroomInfo {
  chatroomId: string;
  title: string;
  desc: string;
  portrait: string;
  extra: string;
  /** 0 normal, 1 not started yet (ended rooms cannot be joined). */
  state: number;
  /** Devices in the room, this one included. */
  memberCount: number;
  createDt: number;
  updateDt: number;
}

/**
 * Why the device is no longer in its chatroom although it did not leave: the room was destroyed, the
 * user was banned from it, the user joined a chatroom from another device, or the automatic rejoin
 * after a reconnect was refused (`code` says why).
 */
export type ChatroomLeftReason = 'destroyed' | 'kicked' | 'replaced' | 'rejoin_failed';

/**
 * What this user keeps about another (Wildfire's FriendData): `state` 0 friends, 1 not; `blacked` 1
 * when `friendUid` is on this user's blacklist (its single-chat messages to this user are refused).
 */
export interface FriendRelation {
  userId: string;
  friendUid: string;
  alias: string;
  extra: string;
  state: number;
  blacked: number;
  updateDt: number;
}

/** A friend request: `status` 0 sent, 1 accepted, 2 rejected. */
export interface FriendRequest {
  fromUid: string;
  toUid: string;
  reason: string;
  extra: string;
  status: number;
  updateDt: number;
}

/**
 * One of this user's settings (Wildfire's user settings, put by the back end with
 * `/admin/user/put_setting`): scope 3 with key "type-line-target" is the conversation-top flag ("1"/"0").
 */
export interface UserSetting {
  scope: number;
  key: string;
  value: string;
  updateDt: number;
}

/** A reply's delivery through a channel app (channel gateway): pending → sent → delivered | failed. */
export type ChannelDeliveryStatus = 'pending' | 'sent' | 'delivered' | 'failed';

/** A customer-service session (channel gateway, seed 002's ServiceId). */
export interface ServiceSession {
  serviceId: string;
  channelAccountId: string;
  /** The contact's user id (`cu_…`). */
  contact: string;
  state: 'queued' | 'assigned' | 'closed';
  /** The assigned agent ('' while queued). */
  agent: string;
  openedAt: number;
  lastActivityAt: number;
  idleAt: number;
  closedAt: number;
  closeReason: '' | 'idle' | 'admin' | 'agent';
}
