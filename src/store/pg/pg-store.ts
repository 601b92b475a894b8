import type pg from 'pg';
import { UidGenerator } from '../../core/ids.js';
import type { ChannelAppStore } from '../../core/ports/channel-apps.js';
import type { NotificationStore } from '../../core/ports/notifications.js';
import type { NotifyDeliveryStore } from '../../core/ports/notify-delivery.js';
import type { OutboxStore } from '../../core/ports/outbox.js';
import type { ServiceSessionStore } from '../../core/ports/service-sessions.js';
import type {
  ChannelStore,
  ChatroomStore,
  ConversationStore,
  DeviceStore,
  GroupStore,
  MessageStore,
  RelationStore,
  RobotStore,
  SensitiveWordStore,
  SettingsStore,
  Store,
  SyncStore,
  TokenStore,
  UserSettingStore,
  UserStore,
} from '../../core/ports/store.js';
import { PgChannels } from './channels.js';
import { PgChatrooms } from './chatrooms.js';
import { PgChannelApps } from './channel-apps.js';
import { PgContext } from './context.js';
import { PgDevices } from './devices.js';
import { PgConversations } from './conversations.js';
import { PgMessages } from './messages.js';
import { PgSync } from './sync.js';
import { PgGroups } from './groups.js';
import { migrate } from './migrations.js';
import { NodeLease } from './node-lease.js';
import { PgOutbox } from './outbox.js';
import { PgNotifications } from './notifications.js';
import { PgNotifyDelivery } from './notify-delivery.js';
import { checkSchemaName, openPool } from './pool.js';
import { PgRelations, PgSensitiveWords, PgUserSettings } from './relations.js';
import { PgRobots } from './robots.js';
import { PgSettings } from './settings.js';
import { PgTokens, PgUsers } from './users.js';
import { PgServiceSessions } from './service-sessions.js';
import { MAX_IN_FLIGHT, PgWriter } from './writer.js';

export interface PgStoreOptions {
  /** postgres://… */
  url: string;
  /** Schema of the tables (default public). */
  schema?: string;
  /** Connections of this node's pool. */
  poolSize?: number;
  /** Preferred node id; the one actually used is leased (see node-lease.ts). */
  nodeId: number;
  /** Node id lease duration (ms). */
  leaseTtlMs?: number;
  commitMaxBatch: number;
  inlineFanoutMax: number;
  onCommit?: (size: number, ms: number) => void;
  onError?: (err: unknown) => void;
}

/** The clustered backend: every node shares one PostgreSQL database (docs/scaling.md). */
export class PgStore implements Store {
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
  readonly notifications: NotificationStore;
  readonly notifyDelivery: NotifyDeliveryStore;
  readonly channelApps: ChannelAppStore;
  readonly serviceSessions: ServiceSessionStore;
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly writerPool: pg.Pool,
    private readonly writer: PgWriter,
    private readonly lease: NodeLease,
    readonly ctx: PgContext,
    onError: (err: unknown) => void,
  ) {
    this.outbox = new PgOutbox(ctx, onError);
    this.users = new PgUsers(ctx);
    this.tokens = new PgTokens(ctx);
    this.groups = new PgGroups(ctx);
    this.channels = new PgChannels(ctx);
    this.chatrooms = new PgChatrooms(ctx);
    this.settings = new PgSettings(ctx);
    this.robots = new PgRobots(ctx);
    this.devices = new PgDevices(ctx);
    this.relations = new PgRelations(ctx);
    this.sensitiveWords = new PgSensitiveWords(ctx);
    this.userSettings = new PgUserSettings(ctx);
    this.notifications = new PgNotifications(ctx);
    this.notifyDelivery = new PgNotifyDelivery(ctx);
    this.channelApps = new PgChannelApps(ctx);
    this.serviceSessions = new PgServiceSessions(ctx);
    this.messages = new PgMessages(ctx);
    this.conversations = new PgConversations(ctx);
    this.sync = new PgSync(ctx);
  }

  /** The node id this store leased (part of every uid it issues). */
  get nodeId(): number {
    return this.lease.nodeId;
  }

  /** Connect, migrate, lease a node id. Throws when the database is unreachable. */
  static async open(opts: PgStoreOptions): Promise<PgStore> {
    const schema = checkSchemaName(opts.schema ?? 'public');
    // The writer's connections (one per batch in flight) come from a pool of their own, pipelined (writer.ts); reads get the rest.
    const size = Math.max(2, opts.poolSize ?? 10);
    const pool = openPool({ url: opts.url, schema, max: size - 1, onError: opts.onError });
    const writerPool = openPool({ url: opts.url, schema, max: MAX_IN_FLIGHT, pipeline: true, genericPlans: true, onError: opts.onError });
    try {
      await migrate(pool, schema);
      let store: PgStore | undefined;
      const lease = await NodeLease.acquire(pool, {
        preferred: opts.nodeId,
        ttlMs: opts.leaseTtlMs ?? 30_000,
        onError: opts.onError,
        onLost: () => opts.onError?.(new Error(`node id lease lost: writes refused`)),
      });
      const writer = new PgWriter(writerPool, {
        maxBatch: opts.commitMaxBatch,
        mayWrite: () => lease.valid(),
        ...(opts.onCommit ? { onCommit: opts.onCommit } : {}),
        ...(opts.onError ? { onError: opts.onError } : {}),
      });
      const uids = new UidGenerator(lease.nodeId);
      const maxUid = (await pool.query<{ u: number | null }>('SELECT MAX(uid) AS u FROM messages')).rows[0]?.u ?? 0;
      uids.seed(maxUid ?? 0);
      const ctx = new PgContext(pool, writer, uids, { inlineFanoutMax: opts.inlineFanoutMax });
      store = new PgStore(pool, writerPool, writer, lease, ctx, (err) => opts.onError?.(err));
      return store;
    } catch (err) {
      await pool.end().catch(() => undefined);
      await writerPool.end().catch(() => undefined);
      throw err;
    }
  }

  async ping(): Promise<boolean> {
    if (this.closed || !this.lease.valid()) return false;
    try {
      await this.pool.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.close();
    await this.lease.release();
    await this.pool.end();
    await this.writerPool.end();
  }
}
