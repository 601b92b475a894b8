import { NotificationService, type NotificationServiceOptions } from './notifications/service.js';
import { checkDeliveryOptions } from './notify-channels/options.js';
import { NotificationDelivery } from './notify-channels/service.js';
import type { Bus } from './ports/bus.js';
import type { ChatroomMembership } from './ports/chatroom-membership.js';
import { combinePlanners, type EffectsPlanner } from './ports/effects.js';
import type { Store } from './ports/store.js';
import type { ChannelHooks } from './ports/channel-hooks.js';
import type { ContactInfoSource } from './ports/contact-info.js';
import { ChannelAppService } from './services/channel-apps.js';
import { ChannelService } from './services/channels.js';
import { ChatroomService } from './services/chatrooms.js';
import { ConversationPeers } from './services/conversation-peers.js';
import { DeviceService } from './services/devices.js';
import { RobotService } from './services/robots.js';
import { GroupService } from './services/groups.js';
import { MessageService } from './services/messages.js';
import { OutboxService, type Redeliverer } from './services/outbox.js';
import { PRIVATE_SEND_POLICY_DEFAULTS, type FriendRequestPolicy, type PrivateSendPolicy } from './relations.js';
import { RelationService } from './services/relations.js';
import { SensitiveWordService, type SensitiveMode } from './services/sensitive-words.js';
import { UserSettingService } from './services/user-settings.js';
import { MAX_SENSITIVE_WORDS } from './limits.js';
import { SendRulesCache, type SendRulesCacheOptions } from './services/send-rules-cache.js';
import { SessionService } from './services/sessions.js';
import { ChannelDeliveryService } from './services/channel-deliveries.js';
import { ServiceSessionService, type ServiceSessionOptions } from './services/service-sessions.js';
import { SettingsService } from './services/settings.js';
import { UserService } from './services/users.js';

export interface HubOptions {
  tokenTtlMs: number;
  maxGroupMembers: number;
  now?: () => number;
  /**
   * Before-send hooks and outbox jobs for changes, one planner per concern (callbacks today; channel
   * apps, notifications, robots next), combined in this order (see combinePlanners); none by default.
   */
  effects?: readonly EffectsPlanner[];
  /**
   * How dead outbox jobs are made pending again (the outbox settler, so that channels' onSettled hooks
   * see it); default: the store directly.
   */
  redeliverer?: Redeliverer;
  /** Bounds of the send-rules cache (defaults in send-rules-cache.ts). */
  rulesCache?: Partial<Omit<SendRulesCacheOptions, 'now'>>;
  /** Who is in which chatroom (in memory on one node, shared in a cluster); without it, chatroom joins and device sends answer 254. */
  chatroomMembership?: ChatroomMembership;
  /** Check admin sends like device sends (config admin.strictSend); default false: trusted, as in Wildfire. */
  strictAdminSend?: boolean;
  /**
   * The robots service, when the composition root made it before the Hub (its directory routes robot
   * callbacks in an effects planner); made here otherwise.
   */
  robots?: RobotService;
  /** How device sends between users honour blacklists and friendship (Wildfire's message.*). */
  privateSend?: Partial<PrivateSendPolicy>;
  /** What a device message with a sensitive word becomes (default reject, Wildfire's default). */
  sensitiveMode?: SensitiveMode;
  /** Friend request repeat rules (Wildfire's friend.*_duration). */
  friendRequests?: Partial<FriendRequestPolicy>;
  /** The notification centre: fan-out batch size, the email/SMS planner (part B), error reporting. */
  notifications?: Partial<Omit<NotificationServiceOptions, 'now'>>;
  /** Customer-service sessions of the channel gateway (defaults: 30 min idle, no per-agent limit). */
  serviceSessions?: Partial<ServiceSessionOptions>;
  /** The channel gateway: seed 002 event keys asking for a human agent (default ['RG']), contact info reader, session hooks. */
  channelGateway?: { humanKeys?: readonly string[]; contactInfo?: ContactInfoSource; hooks?: ChannelHooks };
}

/** The core use cases wired to one store and one bus; what every API surface calls. */
export class Hub {
  readonly messages: MessageService;
  readonly users: UserService;
  readonly groups: GroupService;
  readonly channels: ChannelService;
  readonly chatrooms: ChatroomService;
  /** The channel gateway (seeds 000 and 002): records, contacts, inbound messages. */
  readonly channelApps: ChannelAppService;
  readonly sessions: SessionService;
  readonly settings: SettingsService;
  readonly outbox: OutboxService;
  readonly robots: RobotService;
  readonly devices: DeviceService;
  readonly relations: RelationService;
  readonly sensitiveWords: SensitiveWordService;
  readonly userSettings: UserSettingService;
  readonly notifications: NotificationService;
  /** The notification centre's e-mail/SMS side: planner, outcome hooks, timers (docs/notifications-delivery.md). */
  readonly notifyDelivery: NotificationDelivery;
  /** Customer-service sessions (channel gateway): the ChannelHooks of the inbound side. */
  readonly serviceSessions: ServiceSessionService;
  /** Delivery status of replies sent through channel apps. */
  readonly channelDeliveries: ChannelDeliveryService;
  /** Send-path facts, invalidated through the bus (subscribed for the hub's lifetime). */
  readonly rules: SendRulesCache;
  private readonly peers: ConversationPeers;
  private readonly unsubscribe: () => void;
  private readonly unsubscribeGaps: () => void;
  private readonly ownRobots: boolean;

  constructor(
    readonly store: Store,
    readonly bus: Bus,
    opts: HubOptions,
  ) {
    const now = opts.now ?? Date.now;
    const effects = combinePlanners(opts.effects ?? []);
    this.rules = new SendRulesCache(store, { ...opts.rulesCache, now });
    this.peers = new ConversationPeers(store, { now });
    this.chatrooms = new ChatroomService(store, bus, opts.chatroomMembership, { now });
    this.sensitiveWords = new SensitiveWordService(store.sensitiveWords, bus, { mode: opts.sensitiveMode ?? 'reject', maxWords: MAX_SENSITIVE_WORDS, maxAgeMs: 60_000, now });
    this.serviceSessions = new ServiceSessionService(store, bus, { idleTimeoutMs: 30 * 60_000, maxPerAgent: 0, now, ...opts.serviceSessions });
    this.unsubscribe = bus.subscribe((e) => {
      this.rules.handle(e);
      this.peers.handle(e);
      this.chatrooms.handle(e);
      this.sensitiveWords.handle(e);
      this.serviceSessions.handle(e);
      this.channelApps?.handle(e);
    });
    // Missed bus traffic may include invalidations: every cache of the core is dropped and reloads.
    this.unsubscribeGaps =
      bus.onGap?.(() => {
        this.rules.invalidateAll();
        this.peers.invalidateAll();
        this.chatrooms.invalidateAll();
        this.sensitiveWords.handle({ type: 'cache.invalidate', scope: 'sensitive', id: '' });
        this.channelApps?.handle({ type: 'channel-apps.invalidate', item: 'contact' });
        this.serviceSessions.handle({ type: 'channel-apps.invalidate', item: 'channelAccount' });
      }) ?? (() => undefined);
    this.messages = new MessageService(store, bus, {
      rules: this.rules,
      peers: this.peers,
      now,
      effects,
      chatrooms: this.chatrooms,
      strictAdminSend: opts.strictAdminSend ?? false,
      sensitive: this.sensitiveWords,
      privateSend: { ...PRIVATE_SEND_POLICY_DEFAULTS, ...opts.privateSend },
    });
    this.relations = new RelationService(store.relations, bus, opts.friendRequests);
    this.userSettings = new UserSettingService(store.userSettings, bus);
    this.users = new UserService(store, bus, { tokenTtlMs: opts.tokenTtlMs }, now);
    this.groups = new GroupService(store, bus, this.messages, opts.maxGroupMembers, effects);
    this.channels = new ChannelService(store, bus);
    // A device login of an agent hands it the queued customer-service sessions of its accounts.
    this.sessions = new SessionService(store, bus, effects, (f) => (f.action === 'login' ? this.serviceSessions.agentConnected(f.userId) : undefined));
    this.settings = new SettingsService(store.settings, bus);
    const cg = opts.channelGateway ?? {};
    this.channelApps = new ChannelAppService(
      store,
      bus,
      { messages: this.messages, groups: this.groups, users: this.users },
      { ...(cg.humanKeys ? { humanKeys: cg.humanKeys } : {}), ...(cg.contactInfo ? { contactInfo: cg.contactInfo } : {}), now },
    );
    // Inbound messages open and refresh customer-service sessions (unless the caller brings its own hooks).
    this.channelApps.useHooks(cg.hooks ?? this.serviceSessions);
    this.outbox = new OutboxService(store.outbox, bus, opts.redeliverer ?? store.outbox, now);
    this.ownRobots = opts.robots === undefined;
    this.robots = opts.robots ?? new RobotService(store, bus);
    this.devices = new DeviceService(store, bus, this.users);
    this.notifyDelivery = new NotificationDelivery(store, bus, () => this.notifications, { escalationBatch: 500, now });
    this.notifications = new NotificationService(store.notifications, bus, {
      fanoutBatch: 2000,
      planner: this.notifyDelivery.planner,
      schedule: (n) => this.notifyDelivery.schedule(n),
      checkOptions: checkDeliveryOptions,
      ...opts.notifications,
      now,
    });
    this.channelDeliveries = new ChannelDeliveryService(store, bus, this.messages, now);
  }

  /** Stop listening to the bus (the store and the bus are closed by their owner). */
  close(): void {
    this.unsubscribe();
    this.unsubscribeGaps();
    if (this.ownRobots) this.robots.close();
  }
}
