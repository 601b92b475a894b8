import type { NotificationStore } from './notifications.js';
import type { NotifyDeliveryStore } from './notify-delivery.js';
import type { ChannelAppStore } from './channel-apps.js';
import type { OutboxStore } from './outbox.js';
import type { ServiceSessionStore } from './service-sessions.js';
import type { SettingsStore, RelationStore, SensitiveWordStore, UserSettingStore, UserStore, TokenStore, RobotStore, DeviceStore } from './user-stores.js';
import type { GroupStore, ChannelStore, ChatroomStore } from './group-stores.js';
import type { MessageStore, ConversationStore, SyncStore } from './message-stores.js';

// The stores' ports, by area: what every backend implements (each file states its contracts).
export type * from './user-stores.js';
export type * from './group-stores.js';
export type * from './message-stores.js';

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
