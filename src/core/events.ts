import type { Audience, SyncEvent } from './ports/store.js';
import type { ChannelConfigKind } from './channel-apps/model.js';
import type { Conversation, StoredMessage } from './model.js';
import type { FriendRelation, FriendRequest, UserSetting } from './relations.js';
import type { NotificationContent } from './notifications/model.js';
import type { DeliveryStatus } from './channel-apps/model.js';
import type { ServiceSession } from './service-session-rules.js';

/**
 * A live notice for agents' devices (channel gateway, outbound side): never stored, no cursor; a
 * device that was offline reads the current state through the admin API instead.
 * - channel_delivery: the delivery status of a reply sent through a channel app changed;
 * - service_session: a customer-service session was opened, assigned, transferred or closed.
 */
export type AgentNotice =
  | {
      type: 'channel_delivery';
      messageUid: number;
      conv: Conversation;
      guid: string;
      status: DeliveryStatus;
      error: string;
      originalMessageId: string;
      originalMessageUrl: string;
    }
  | {
      type: 'service_session';
      event: 'opened' | 'assigned' | 'transferred' | 'closed';
      session: ServiceSession;
      /** The IM conversation of the contact with the account, when known (`{type: 1, target: cc_…}`). */
      conv?: Conversation;
      /** transferred: the agent it left. */
      previousAgent?: string;
    };

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
  /**
   * Cached channel-gateway records are stale on every node (seed 000 `PUT caches`, admin changes):
   * one record (`id`) or every record of the item (no id).
   */
  | { type: 'channel-apps.invalidate'; item: ChannelConfigKind | 'contact'; id?: string }
  /** A live notice for these users' devices (agents), see AgentNotice. */
  | { type: 'agent.notice'; users: string[]; notice: AgentNotice }
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
