import type { Audience, SyncEvent } from './ports/store.js';
import type { StoredMessage } from './model.js';
import type { FriendRelation, FriendRequest, UserSetting } from './relations.js';
import type { NotificationContent } from './notifications/model.js';

/**
 * Why a device left a chatroom without asking: the room was destroyed, the user was banned from it,
 * or the user joined (this or another room) from another connection.
 */
export type ChatroomLeaveReason = 'destroyed' | 'kicked' | 'replaced';

/**
 * Events carried by the bus, from whichever node committed a change to every node. Published only
 * after the change committed. Delivery is at most once: a node that misses one recovers from the
 * store (devices resync by cursor; caches reload).
 */
export type HubEvent =
  /** A committed change devices must learn of, addressed to an audience; `event.seq` is its cursor. */
  | { type: 'sync'; audience: Audience; event: SyncEvent }
  /** A transparent message (persistFlag 4): never stored, delivered only to devices online now. */
  | { type: 'transparent'; audience: Audience; message: StoredMessage }
  /** Tokens were revoked: connected devices of the user (one client, or all) must be closed. */
  | { type: 'session.revoke'; userId: string; clientId?: string; reason: 'destroyed' | 'blocked' | 'kicked' }
  /**
   * A chatroom message (stored or transparent), for the devices in the room now (`only`: those of
   * these users). No cursor: it is not part of any user's sync log.
   */
  | { type: 'chatroom.message'; chatroomId: string; message: StoredMessage; only?: string[] }
  /**
   * Devices are no longer in a chatroom: the one of `session`, or every one when absent (the room was
   * destroyed). The node holding such a connection tells its device why.
   */
  | { type: 'chatroom.leave'; chatroomId: string; session?: string; reason: ChatroomLeaveReason }
  /**
   * What `relation.userId` keeps about `relation.friendUid` changed (friendship, blacklist, alias,
   * extra): for that user's devices online now. No cursor: devices read the whole list with a
   * `friends` frame after a reconnect.
   */
  | { type: 'relation.changed'; relation: FriendRelation }
  /**
   * A friend request was recorded (for its target) or answered (for both users): for the devices of
   * `users` online now (no cursor).
   */
  | { type: 'relation.request'; request: FriendRequest; users: string[] }
  /** One of the user's settings was put: for the devices of `setting.userId` online now (no cursor). */
  | { type: 'user.setting'; setting: UserSetting }
  /** Cached facts about a user, group, channel or chatroom, the sensitive words (id ''), are stale. */
  | { type: 'cache.invalidate'; scope: 'user' | 'group' | 'channel' | 'chatroom' | 'settings' | 'robot' | 'sensitive'; id: string }
  /** Outbox jobs were committed: dispatchers should claim now rather than at their next poll. */
  | { type: 'outbox.wake' }
  /** A notification reached these users' inboxes (committed): their live inbox sockets get it. */
  | { type: 'notify.push'; users: string[]; item: NotificationContent }
  /**
   * Inbox rows of these users changed (committed): read or deleted, some (`ids`) or all. `unread` is
   * the user's unread count after the change when it was computed (a user's own change).
   */
  | { type: 'notify.change'; users: string[]; change: InboxChange; ids: string[]; unread?: number };

/** How inbox rows changed: read or deleted by their user, or retracted by an operator's delete. */
export type InboxChange = 'read' | 'read_all' | 'delete' | 'delete_all';
