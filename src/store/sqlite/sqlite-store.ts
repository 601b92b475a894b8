import type Database from 'better-sqlite3';
import { UidGenerator } from '../../core/ids.js';
import type { Store } from '../../core/ports/store.js';
import { SqliteContext, type FanoutOptions, type WriteBehindOptions } from './context.js';
import { SqliteChannelApps } from './channel-apps.js';
import { SqliteChatrooms } from './chatrooms.js';
import { SqliteConversations } from './conversations.js';
import { openDatabase, type Synchronous } from './db.js';
import { SqliteChannels, SqliteGroups } from './groups.js';
import { SqliteMessages } from './messages.js';
import { SqliteNotifications } from './notifications.js';
import { SqliteNotifyDelivery } from './notify-delivery.js';
import { SqliteOutbox } from './outbox.js';
import { SqliteRelations, SqliteSensitiveWords, SqliteUserSettings } from './relations.js';
import { SqliteSettings } from './settings.js';
import { SqliteRobots } from './robots.js';
import { SqliteDevices } from './devices.js';
import { SqliteServiceSessions } from './service-sessions.js';
import { SqliteSync } from './sync.js';
import { SqliteTokens, SqliteUsers } from './users.js';
import { SqliteUnread } from './unread.js';
import { UndoLog } from './undo-log.js';
import { Checkpointer } from './checkpointer.js';
import { WalSyncer } from './wal-sync.js';
import { WriteBehind } from './write-behind.js';
import { SqliteWriter } from './writer.js';

export interface SqliteStoreOptions extends FanoutOptions, Partial<WriteBehindOptions> {
  file: string;
  synchronous: Synchronous;
  nodeId: number;
  commitMaxBatch: number;
  commitMaxDelayMs: number;
  /** See WriterOptions.minBatchWhileSyncing. */
  minBatchWhileSyncing?: number;
  onCommit?: (size: number, ms: number) => void;
  onError?: (err: unknown) => void;
}

/** The embedded backend: one SQLite file in WAL mode, one connection, group commit. */
export class SqliteStore implements Store {
  readonly users: SqliteUsers;
  readonly tokens: SqliteTokens;
  readonly groups: SqliteGroups;
  readonly channels: SqliteChannels;
  readonly chatrooms: SqliteChatrooms;
  readonly messages: SqliteMessages;
  readonly conversations: SqliteConversations;
  readonly sync: SqliteSync;
  readonly outbox: SqliteOutbox;
  readonly settings: SqliteSettings;
  readonly robots: SqliteRobots;
  readonly devices: SqliteDevices;
  readonly relations: SqliteRelations;
  readonly sensitiveWords: SqliteSensitiveWords;
  readonly userSettings: SqliteUserSettings;
  readonly notifications: SqliteNotifications;
  readonly notifyDelivery: SqliteNotifyDelivery;
  readonly channelApps: SqliteChannelApps;
  readonly serviceSessions: SqliteServiceSessions;
  private readonly db: Database.Database;
  private readonly writer: SqliteWriter;
  private readonly ctx: SqliteContext;
  private readonly syncer: WalSyncer | undefined;
  private readonly checkpointer: Checkpointer | undefined;
  private readonly onError: ((err: unknown) => void) | undefined;
  private closed = false;

  constructor(opts: SqliteStoreOptions) {
    this.onError = opts.onError;
    // FULL durability is SQLite's NORMAL plus our own pipelined fsync of the WAL before each
    // acknowledgement (wal-sync.ts): same guarantee, without blocking the writer during the fsync.
    const pipelined = opts.synchronous === 'FULL' && opts.file !== ':memory:';
    this.db = openDatabase({ file: opts.file, synchronous: pipelined ? 'NORMAL' : opts.synchronous });
    this.syncer = pipelined ? new WalSyncer(`${opts.file}-wal`) : undefined;
    this.checkpointer =
      opts.file === ':memory:'
        ? undefined
        : new Checkpointer({
            file: opts.file,
            intervalMs: 500,
            restartFrames: 50_000,
            ...(opts.onError ? { onError: opts.onError } : {}),
          });
    // Rows derived from messages committed before an unclean stop are rebuilt before anything else.
    WriteBehind.recover(this.db);
    // Refresh the planner's statistics where they are missing or stale (SQLite bounds the work of
    // PRAGMA optimize with its own analysis limit), so plans follow the data as tables grow.
    this.db.pragma('optimize=0x10002');
    const undo = new UndoLog();
    this.writer = new SqliteWriter(this.db, {
      maxBatch: opts.commitMaxBatch,
      maxDelayMs: opts.commitMaxDelayMs,
      undo,
      ...(this.syncer ? { syncer: this.syncer, minBatchWhileSyncing: opts.minBatchWhileSyncing ?? 32 } : {}),
      epilogue: { wanted: () => this.outbox.epilogueWanted(), run: () => this.outbox.epilogue() },
      commitToken: () => this.ctx.commitMark(),
      onDurable: (n) => this.ctx.markDurable(n),
      ...(opts.onCommit ? { onCommit: opts.onCommit } : {}),
      ...(opts.onError ? { onError: opts.onError } : {}),
    });
    const ctx = new SqliteContext(this.db, this.writer, new UidGenerator(opts.nodeId), { inlineFanoutMax: opts.inlineFanoutMax }, undo, {
      flushIntervalMs: opts.flushIntervalMs ?? 200,
      flushMaxRows: opts.flushMaxRows ?? 20000,
    });
    this.ctx = ctx;
    this.users = new SqliteUsers(ctx);
    this.tokens = new SqliteTokens(ctx, this.users);
    this.groups = new SqliteGroups(ctx, this.users);
    this.channels = new SqliteChannels(ctx, this.users);
    this.chatrooms = new SqliteChatrooms(ctx);
    const unread = new SqliteUnread(ctx);
    this.relations = new SqliteRelations(ctx);
    this.sensitiveWords = new SqliteSensitiveWords(ctx);
    this.userSettings = new SqliteUserSettings(ctx);
    this.messages = new SqliteMessages(ctx, this.users, this.groups, this.channels, unread, this.relations);
    this.conversations = new SqliteConversations(ctx, this.users, unread);
    this.sync = new SqliteSync(ctx);
    this.outbox = new SqliteOutbox(ctx);
    this.settings = new SqliteSettings(ctx);
    this.robots = new SqliteRobots(ctx, this.users);
    this.devices = new SqliteDevices(ctx, this.users);
    this.notifications = new SqliteNotifications(ctx);
    this.notifyDelivery = new SqliteNotifyDelivery(ctx);
    this.channelApps = new SqliteChannelApps(ctx);
    this.serviceSessions = new SqliteServiceSessions(ctx);
  }

  async ping(): Promise<boolean> {
    if (this.closed || !this.writer.healthy) return false;
    try {
      this.db.prepare('SELECT 1').get();
      return true;
    } catch {
      return false;
    }
  }

  /** The SQL of every statement the store has prepared (diagnostics: query-plan checks). */
  preparedSql(): string[] {
    return this.ctx.preparedSql();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.ctx.flushNow();
    await this.writer.close();
    this.closed = true;
    await this.checkpointer?.close();
    try {
      // Cheap when nothing changed much: analyses only tables whose statistics are stale.
      this.db.pragma('optimize');
    } catch (err) {
      this.onError?.(err);
    }
    this.db.close();
    this.syncer?.close();
  }
}
