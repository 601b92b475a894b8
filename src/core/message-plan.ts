import { CoreError } from './errors.js';
import type { Conversation, StoredMessage } from './model.js';
import { ConvType, MessageKind, PersistFlag } from './model.js';
import type { Audience } from './ports/store.js';
import { channelSendScope, checkGroupSend } from './rules.js';

/**
 * What a message means for its receivers, the same for every store backend: who receives it (a list
 * of users holding per-user rows, or a shared audience read by membership), the conversation as each
 * user sees it, which per-user conversation rows it touches, who gets a read receipt. Pure: a store
 * supplies the facts (DeliveryFacts) read in its own transaction and persists what these functions
 * decide.
 */

/** What a send checks: every send rule, only that the target exists (trusted admin sends), or nothing (notifications). */
export type SendChecks = 'rules' | 'target' | 'none';

/** Who receives a message, plus per-user rows owed to users outside a shared audience. */
export interface Delivery {
  audience: Audience;
  /** Users that get per-user event rows in addition to a shared audience's row (a channel's owner). */
  extraUsers: string[];
  /** Receivers other than the sender (broadcast: every other user). */
  count: number;
  /** The number the message took in its group (see `takesGroupSeq`). */
  groupSeq?: number;
}

/** A group as the delivery rules need it. */
export interface GroupFacts {
  memberCount: number;
  mute: number;
  /** The group's message number (after taking one, when asked to). */
  msgSeq: number;
}

/** A channel as the delivery rules need it. */
export interface ChannelFacts {
  owner: string;
  subscriberCount: number;
}

/**
 * The facts the delivery rules read, as the store's transaction sees them. A store answers lazily
 * (SQLite: one statement per call) or from rows it loaded beforehand (PostgreSQL); a rule asks only
 * for what its case needs, in the order written here.
 */
export interface DeliveryFacts {
  userExists(userId: string): boolean;
  /** Number of users (broadcast receivers are every other user). */
  userCount(): number;
  /** The group, with its next message number taken when `takeSeq` (the write is the store's). */
  group(groupId: string, takeSeq: boolean): GroupFacts | null;
  /** A membership row of any type, or null. */
  groupMember(groupId: string, userId: string): { type: number } | null;
  /** Every member of a group with at most inlineFanoutMax members. */
  groupMemberIds(groupId: string): readonly string[];
  channel(channelId: string): ChannelFacts | null;
  isSubscriber(channelId: string, userId: string): boolean;
  /** Every subscriber of a channel with at most inlineFanoutMax subscribers. */
  subscriberIds(channelId: string): string[];
}

type Routed = Pick<StoredMessage, 'sender' | 'conv' | 'kind' | 'toUsers'>;

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}

function listed(users: readonly string[], sender: string): Delivery {
  const all = unique([sender, ...users]);
  return { audience: { kind: 'users', users: all }, extraUsers: [], count: all.length - 1 };
}

/** A send that takes its group's next message number (Tencent's MsgSeq): a stored or checked group message that is not a notification. */
/** Which send checks a draft gets: trusted sends (admin, not strict) accept any sender, even one never created (Wildfire's). */
export function sendChecksOf(d: { system?: boolean | undefined; trusted?: boolean | undefined }): SendChecks {
  return d.system ? 'none' : d.trusted ? 'target' : 'rules';
}

export function takesGroupSeq(d: { kind: number; system?: boolean | undefined; discard?: boolean | undefined }): boolean {
  return !d.system && !d.discard && d.kind === MessageKind.conversation;
}

/**
 * Who receives a new message. With checks `rules`, the sender's right to send in a group or channel is
 * enforced here (membership, mute, channel scope: CoreErrors); with `target` only that the target (and
 * multicast targets) exist; `none` checks nothing. A group or channel larger than `inlineFanoutMax`
 * becomes a shared audience; a channel's owner who is not subscribed then gets per-user rows of its own.
 * The sender's own status is checked by the caller (checkSender) before.
 */
export function planDelivery(msg: Routed, checks: SendChecks, facts: DeliveryFacts, inlineFanoutMax: number, takeGroupSeq = false): Delivery {
  const check = checks === 'rules';
  const target = checks !== 'none';
  if (msg.kind === MessageKind.broadcast) {
    // Every other user (a sender that no longer exists is not subtracted).
    return { audience: { kind: 'all' }, extraUsers: [], count: facts.userCount() - (facts.userExists(msg.sender) ? 1 : 0) };
  }
  if (msg.kind === MessageKind.multicast) {
    if (target) {
      for (const t of msg.toUsers) if (!facts.userExists(t)) throw new CoreError('not_exist', `user ${t} does not exist`);
    }
    return listed(msg.toUsers, msg.sender);
  }
  const { conv } = msg;
  switch (conv.type) {
    case ConvType.single: {
      if (target && !facts.userExists(conv.target)) throw new CoreError('not_exist', `user ${conv.target} does not exist`);
      return listed([conv.target], msg.sender);
    }
    case ConvType.group: {
      const group = facts.group(conv.target, takeGroupSeq);
      if (check) checkGroupSend(group, facts.groupMember(conv.target, msg.sender), conv.target);
      else if (target && !group) throw new CoreError('not_exist', `group ${conv.target} does not exist`);
      if (!group) return listed([], msg.sender);
      const seq = takeGroupSeq ? { groupSeq: group.msgSeq } : {};
      if (msg.toUsers.length > 0) {
        return { ...listed(msg.toUsers.filter((u) => facts.groupMember(conv.target, u) !== null), msg.sender), ...seq };
      }
      if (group.memberCount <= inlineFanoutMax) return { ...listed(facts.groupMemberIds(conv.target), msg.sender), ...seq };
      return { audience: { kind: 'group', groupId: conv.target }, extraUsers: [], count: group.memberCount - 1, ...seq };
    }
    case ConvType.channel: {
      const channel = facts.channel(conv.target);
      if (target && !check && !channel) throw new CoreError('not_exist', `channel ${conv.target} does not exist`);
      const scope = check
        ? channelSendScope(channel, msg.sender, facts.isSubscriber(conv.target, msg.sender), conv.target)
        : channel && channel.owner === msg.sender
          ? 'subscribers'
          : 'owner';
      if (!channel) return listed([], msg.sender);
      if (scope === 'owner') return listed([channel.owner], msg.sender);
      if (msg.toUsers.length > 0) return listed(msg.toUsers.filter((u) => facts.isSubscriber(conv.target, u)), msg.sender);
      if (channel.subscriberCount <= inlineFanoutMax) return listed(facts.subscriberIds(conv.target), msg.sender);
      const ownerSubscribed = facts.isSubscriber(conv.target, channel.owner);
      return {
        audience: { kind: 'channel', channelId: conv.target },
        extraUsers: ownerSubscribed ? [] : [channel.owner],
        count: channel.subscriberCount - (ownerSubscribed ? 1 : 0),
      };
    }
    case ConvType.chatroom:
      // The devices in the room now: no per-user rows, no shared event; the message row alone is stored.
      return { audience: { kind: 'chatroom', chatroomId: conv.target, ...(msg.toUsers.length > 0 ? { only: msg.toUsers } : {}) }, extraUsers: [], count: 0 };
    default:
      throw new CoreError('not_implement', `conversation type ${conv.type} is not supported`);
  }
}

/**
 * Who learns of a change (recall, update, delete) of a stored message, or of a resend of it: the
 * receivers it got per-user rows for when sent (`recipients`: what listedRecipients answers); else the
 * shared timeline it went to, whatever the audience's size now, so that exactly the users who could
 * see the message (current and former members, by their intervals) see the change — a channel's owner
 * also gets a per-user row (it may have received the message as one; replay merges both); else (a
 * broadcast) who a new one would reach.
 */
export function planChange(msg: Routed, recipients: string[] | null, facts: DeliveryFacts, inlineFanoutMax: number): Delivery {
  if (recipients) return { audience: { kind: 'users', users: recipients }, extraUsers: [], count: recipients.length - 1 };
  const shared = sharedChange(msg, facts);
  return shared ?? planDelivery(msg, 'none', facts, inlineFanoutMax);
}

function sharedChange(msg: Routed, facts: DeliveryFacts): Delivery | null {
  if (msg.kind !== MessageKind.conversation) return null;
  if (msg.conv.type === ConvType.group) {
    const group = facts.group(msg.conv.target, false);
    return { audience: { kind: 'group', groupId: msg.conv.target }, extraUsers: [], count: group ? group.memberCount - 1 : 0 };
  }
  if (msg.conv.type === ConvType.channel) {
    const channel = facts.channel(msg.conv.target);
    return {
      audience: { kind: 'channel', channelId: msg.conv.target },
      extraUsers: channel ? [channel.owner] : [],
      count: channel ? channel.subscriberCount : 0,
    };
  }
  return null;
}

/** What a change needs of DeliveryFacts: nothing for a listed message, else the shared audience's row. */
export function changeNeeds(msg: Routed, recipients: string[] | null): 'nothing' | 'group' | 'channel' | 'users' {
  if (recipients) return 'nothing';
  if (msg.kind === MessageKind.conversation && msg.conv.type === ConvType.group) return 'group';
  if (msg.kind === MessageKind.conversation && msg.conv.type === ConvType.channel) return 'channel';
  return msg.kind === MessageKind.broadcast ? 'users' : 'nothing';
}

/**
 * The receivers holding per-user rows of a stored message: the stored list, or for a plain single chat
 * the sender and the target (not stored: derivable). Null for a shared-audience message.
 */
export function listedRecipients(m: { sender: string; conv: Conversation; kind: number }, stored: string[] | null): string[] | null {
  if (stored !== null) return stored;
  if (m.kind === MessageKind.conversation && m.conv.type === ConvType.single) {
    return m.sender === m.conv.target ? [m.sender] : [m.sender, m.conv.target];
  }
  return null;
}

/** The recipient list a store keeps with a listed message; null when listedRecipients derives it. */
export function recipientsToStore(m: { sender: string; conv: Conversation; kind: number }, users: string[]): string[] | null {
  const derived = listedRecipients(m, null);
  if (derived && derived.length === users.length && derived.every((u, i) => users[i] === u)) return null;
  return users;
}

/**
 * The conversation as `userId` sees it: a single chat (and a multicast or broadcast, which arrive as
 * single chats from the sender) is keyed by the other party.
 */
export function perspective(msg: { sender: string; conv: Conversation; kind: number }, userId: string): Conversation {
  if (msg.kind !== MessageKind.conversation) {
    return { type: ConvType.single, target: userId === msg.sender ? msg.conv.target : msg.sender, line: msg.conv.line };
  }
  if (msg.conv.type === ConvType.single && userId !== msg.sender) {
    return { type: ConvType.single, target: msg.sender, line: msg.conv.line };
  }
  return msg.conv;
}

/**
 * The per-user conversation rows a listed message moves (last message, unread, visibility): `fn` is
 * called once per receiver whose conversation list shows it, with the conversation as that receiver
 * sees it. None for a message that is not persisted (persist flag none or transparent); a multicast
 * or broadcast is a chat with the sender for each receiver, and the sender has no such chat.
 */
export function forEachConversationRow(
  m: { sender: string; conv: Conversation; kind: number; persistFlag: number },
  recipients: readonly string[],
  fn: (userId: string, conv: Conversation) => void,
): void {
  if (m.persistFlag === PersistFlag.none || m.persistFlag === PersistFlag.transparent) return;
  for (const u of recipients) {
    if (u === m.sender && m.kind !== MessageKind.conversation) continue;
    fn(u, perspective(m, u));
  }
}

/** Facts readReceiptReceivers reads (only for the conversation type at hand). */
export interface ReceiptFacts {
  userExists(userId: string): boolean;
  /** The group's member count, or null when there is no such group. */
  groupMemberCount(groupId: string): number | null;
  /** The group's members other than removed ones (type 4). */
  groupMembersNotRemoved(groupId: string): string[];
}

/**
 * Who gets a read receipt when `reader` reads `conv`, with the conversation as each sees it: the other
 * party of a single chat (when it exists); the other members of a group small enough for per-user rows
 * (the reader being a member). Larger groups, channels and the rest get none (their receipts would
 * cost O(members) per read).
 */
export function readReceiptReceivers(reader: string, conv: Conversation, facts: ReceiptFacts, inlineFanoutMax: number): Array<{ userId: string; conv: Conversation }> {
  if (conv.type === ConvType.single) {
    if (conv.target === reader || !facts.userExists(conv.target)) return [];
    return [{ userId: conv.target, conv: { type: ConvType.single, target: reader, line: conv.line } }];
  }
  if (conv.type === ConvType.group) {
    const n = facts.groupMemberCount(conv.target);
    if (n === null || n > inlineFanoutMax) return [];
    const members = facts.groupMembersNotRemoved(conv.target);
    if (!members.includes(reader)) return [];
    return members.filter((m) => m !== reader).map((userId) => ({ userId, conv }));
  }
  return [];
}
