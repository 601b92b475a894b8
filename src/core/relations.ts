import { CoreError } from './errors.js';

/**
 * Friends, blacklists, friend requests and sensitive words: the domain types and the rules, as pure
 * functions of facts. Wildfire's semantics (its open-source server's MemoryMessagesStore and
 * SendMessageHandler); departures are listed in docs/admin-api.md §15.
 */

/** A relation's friend state (Wildfire's FriendData.state): 0 friends, 1 not (never were, or deleted). */
export const FriendState = { friend: 0, none: 1 } as const;

/**
 * What one user keeps about another (Wildfire's FriendData): one row per ordered pair (userId →
 * friendUid). Friendship is stored both ways (admin friend/status writes both rows); the blacklist,
 * the alias and the extra are one-sided.
 */
export interface FriendRelation {
  userId: string;
  friendUid: string;
  alias: string;
  extra: string;
  /** FriendState: 0 friends, 1 not. */
  state: number;
  /** 1: userId has friendUid on its blacklist (friendUid's private messages to userId are refused). */
  blacked: number;
  /** Last change (ms). */
  updateDt: number;
}

/** A friend request's status (Wildfire's FriendRequestStatus). */
export const FriendRequestStatus = { sent: 0, accepted: 1, rejected: 2 } as const;

/** A friend request from `fromUid` to `toUid`: one per ordered pair, a new request replaces the last. */
export interface FriendRequest {
  fromUid: string;
  toUid: string;
  reason: string;
  extra: string;
  status: number;
  updateDt: number;
}

/** Wildfire's friend.repeat_request_duration, reject_request_duration, request_expiration_duration (ms; 0: no end). */
export interface FriendRequestPolicy {
  /** A request not yet accepted blocks another one to the same user for this long (Wildfire: 7 days). */
  repeatMs: number;
  /** A rejected request blocks another one for this long (Wildfire: 30 days). */
  rejectMs: number;
  /** A request can be answered for this long (Wildfire: 7 days). */
  expirationMs: number;
}

export const FRIEND_REQUEST_POLICY_DEFAULTS: FriendRequestPolicy = { repeatMs: 7 * 86_400_000, rejectMs: 30 * 86_400_000, expirationMs: 7 * 86_400_000 };

/**
 * May the target of `request` answer it (Wildfire's handleFriendRequest from a device)? Throws
 * not_exist (253) without a request, friend_request_expired (19) for one older than the expiration
 * unless the two are friends already (answering then changes nothing but the request's status).
 */
export function checkFriendAnswer(request: FriendRequest | null, alreadyFriends: boolean, now: number, policy: FriendRequestPolicy): FriendRequest {
  if (!request) throw new CoreError('not_exist', 'no friend request from this user');
  if (!alreadyFriends && policy.expirationMs > 0 && now - request.updateDt > policy.expirationMs) throw new CoreError('friend_request_expired');
  return request;
}

/**
 * May `fromUid` send a friend request to `toUid`? Facts: the last request between them in that
 * direction, and the relation each keeps of the other. `force` (the admin API's flag) skips the
 * repeat and blacklist checks, as in Wildfire; being friends already is refused either way.
 * Throws friend_request_blocked (18), already_requested (16), already_friends (23), in_blacklist (246).
 */
export function checkFriendRequest(
  facts: { last: FriendRequest | null; mine: FriendRelation | null; theirs: FriendRelation | null },
  force: boolean,
  now: number,
  policy: FriendRequestPolicy,
): void {
  const { last, mine, theirs } = facts;
  if (!force && last && last.status !== FriendRequestStatus.accepted) {
    const age = now - last.updateDt;
    if (last.status === FriendRequestStatus.rejected && policy.rejectMs > 0 && age < policy.rejectMs) {
      throw new CoreError('friend_request_blocked');
    }
    if (last.status === FriendRequestStatus.sent && (policy.repeatMs === 0 || age <= policy.repeatMs)) {
      throw new CoreError('already_requested');
    }
  }
  if (mine && mine.state === FriendState.friend) throw new CoreError('already_friends');
  if (!force && theirs && theirs.blacked === 1) throw new CoreError('in_blacklist');
}

/** How device sends between users honour relations (config `messaging.*`, Wildfire's message.*). */
export interface PrivateSendPolicy {
  /** A blacklisted sender is refused (246) or told it was sent while nothing is stored (Wildfire's strategy 1). */
  blacklist: 'reject' | 'drop';
  /** Content types the blacklist does not stop (Wildfire's message.blacklist_exception_types: call signalling). */
  blacklistExceptionTypes: readonly number[];
  /** Only friends may send private messages (Wildfire's message.disable_stranger_chat); 248 otherwise. */
  disableStrangerChat: boolean;
  /** Users who may always chat, either way, when strangers may not (Wildfire's message.allow_stranger_chat_list). */
  strangerChatAllowList: readonly string[];
}

export const PRIVATE_SEND_POLICY_DEFAULTS: PrivateSendPolicy = {
  blacklist: 'reject',
  blacklistExceptionTypes: [401, 402, 403, 404, 405, 407, 408, 410, 411],
  disableStrangerChat: false,
  strangerChatAllowList: [],
};

/**
 * A device's private message from `sender` to `receiver` with content type `contentType`, decided on
 * the relation the receiver keeps of the sender: 'send', 'drop' (blacklisted under the drop strategy:
 * the sender is answered as if sent, nothing is stored or delivered), or throws in_blacklist (246) /
 * no_right (248, strangers when they may not chat). Admin sends are never checked.
 *
 * `userTypes` (Wildfire's user types: 0 normal, 1 robot, 2 device, 3 admin…) is read only when the
 * stranger rule applies (`strangerRuleApplies`): as in Wildfire, a user of another type than normal,
 * on either side, may chat with strangers. A user not found counts as normal.
 */
export function privateSendDecision(
  receiverView: Pick<FriendRelation, 'state' | 'blacked'> | null,
  sender: string,
  receiver: string,
  contentType: number,
  policy: PrivateSendPolicy,
  userTypes: () => { sender: number | undefined; receiver: number | undefined } = () => ({ sender: undefined, receiver: undefined }),
): 'send' | 'drop' {
  if (receiverView?.blacked === 1 && !policy.blacklistExceptionTypes.includes(contentType)) {
    if (policy.blacklist === 'drop') return 'drop';
    throw new CoreError('in_blacklist');
  }
  if (strangerRuleApplies(receiverView, sender, receiver, policy)) {
    const types = userTypes();
    if ((types.sender ?? 0) === 0 && (types.receiver ?? 0) === 0) throw new CoreError('no_right', 'only friends may chat');
  }
  return 'send';
}

/** Strangers may not chat, these two are not friends, and neither is on the allow list. */
function strangerRuleApplies(receiverView: Pick<FriendRelation, 'state'> | null, sender: string, receiver: string, policy: PrivateSendPolicy): boolean {
  return (
    policy.disableStrangerChat &&
    receiverView?.state !== FriendState.friend &&
    sender !== receiver &&
    !policy.strangerChatAllowList.includes(sender) &&
    !policy.strangerChatAllowList.includes(receiver)
  );
}

/** Wildfire's user setting scope of the conversation-top flag (the SDK's setConversationTop). */
export const USER_SETTING_CONVERSATION_TOP = 3;

/** The key of a conversation's user settings, as Wildfire's SDK builds it: "type-line-target". */
export function conversationSettingKey(type: number, line: number, target: string): string {
  return `${type}-${line}-${target}`;
}

/** A user setting (Wildfire's UserSettingPojo). */
export interface UserSetting {
  userId: string;
  scope: number;
  key: string;
  value: string;
  updateDt: number;
}
