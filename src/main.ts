import type { FastifyInstance } from 'fastify';
import { resolveAdminSecret } from './admin-secret.js';
import { TokenBucket } from './api/admin/rate-limit.js';
import { ReplayGuard } from './api/admin/replay-guard.js';
import { AdminAuth } from './api/admin/signing.js';
import { MemoryBus } from './bus/memory-bus.js';
import { RedisBus, redactUrl } from './bus/redis-bus.js';
import { RedisPresence } from './bus/redis-presence.js';
import { RedisChatroomMembership } from './bus/redis-chatroom-membership.js';
import type { ChatroomMembership } from './core/ports/chatroom-membership.js';
import type { Bus } from './core/ports/bus.js';
import type { Presence } from './core/ports/presence.js';
import { LocalPresence } from './delivery/local-presence.js';
import { MemoryChatroomMembership } from './chatrooms/memory-membership.js';
import { databaseFile } from './config/load.js';
import type { Config } from './config/schema.js';
import { Hub } from './core/hub.js';
import { presenceRoutes } from './api/admin/routes/presence.js';
import { Gateway } from './delivery/gateway.js';
import { callbackRoutes } from './api/admin/routes/callbacks.js';
import { configuredTargets, webhookPolicy } from './callbacks/config.js';
import { WebhookSender } from './callbacks/sender.js';
import { CallbackTargets } from './callbacks/targets.js';
import { TencentCallbacks, WEBHOOK } from './callbacks/tencent.js';
import { OutboxDispatcher } from './outbox/dispatcher.js';
import { OutboxJanitor } from './outbox/janitor.js';
import { channelPolicies } from './outbox/policy.js';
import { OutboxSettler } from './outbox/settler.js';
import { notificationSenders } from './channels/config.js';
import { EMAIL_CHANNEL, SMS_CHANNEL, TIMER_CHANNEL } from './core/notify-channels/jobs.js';
import { closeCallbackAgents } from './callbacks/http.js';
import { Metrics } from './http/metrics.js';
import { buildAdminApp, buildMainApp, type HttpDeps } from './http/server.js';
import type { Surface } from './http/surface.js';
import { adminSurface } from './api/admin/surface.js';
import { channelAuth, robotAuth } from './api/robot/auth.js';
import { channelApiSurface, robotSurface } from './api/robot/surface.js';
import { cmsSurface } from './api/cms/surface.js';
import { devicesSurface } from './delivery/surface.js';
import { checkAllowList } from './api/platform/auth.js';
import { clientAddressOf } from './http/client-address.js';
import { platformSurface } from './api/platform/surface.js';
import { sendResultRoute } from './api/platform/send-result.js';
import { staffSurface } from './api/staff/surface.js';
import { HttpContactInfo } from './channel-apps/contact-info.js';
import { createLogger, type Logger } from './log.js';
import { SqliteStore, type SqliteStoreOptions } from './store/sqlite/sqlite-store.js';
import { ThreadedSqliteStore } from './store/sqlite/threaded-store.js';
import { PgStore, type PgStoreOptions } from './store/pg/pg-store.js';
import type { Sender } from './core/ports/sender.js';
import { ChannelAppPlanner, type ConfigRecords } from './channel-apps/planner.js';
import { CHANNEL_APP, ChannelAppSender, endpointsFrom } from './channel-apps/sender.js';
import { SessionSweeper } from './channel-apps/session-sweeper.js';
import type { Store } from './core/ports/store.js';
import { VERSION } from './version.js';
import { ROBOT_CHANNEL, RobotService } from './core/services/robots.js';
import { RobotPlanner } from './robots/planner.js';
import { RobotSender } from './robots/sender.js';

export interface RunningServer {
  /** Base URL of the main port, e.g. http://127.0.0.1:18080 */
  url: string;
  /** Base URL of the separate admin port, when configured. */
  adminUrl: string | undefined;
  /** The admin secret in force, and whether it was generated on this start. */
  secret: string;
  secretGenerated: boolean;
  secretFile: string | undefined;
  hub: Hub;
  gateway: Gateway;
  log: Logger;
  /** Graceful: stop accepting, finish in-flight requests, flush and close the store. */
  close(): Promise<void>;
}

/**
 * The bus and presence: in process by default; Redis when `bus.url` is set (several nodes). Redis
 * errors repeat on every reconnect attempt: each kind is logged at most every 10 s.
 */
async function openBus(
  config: Config,
  nodeId: number,
  log: Logger,
): Promise<{ bus: Bus; presence: Presence; chatroomMembership: ChatroomMembership & { close?(): Promise<void> } }> {
  if (!config.bus.url) {
    return {
      bus: new MemoryBus((err) => log.error({ err }, 'bus subscriber failed')),
      presence: new LocalPresence(nodeId),
      chatroomMembership: new MemoryChatroomMembership(),
    };
  }
  const lastLogged = new Map<string, number>();
  const onError = (err: unknown, what: string): void => {
    const now = Date.now();
    if (now - (lastLogged.get(what) ?? 0) < 10_000) return;
    lastLogged.set(what, now);
    log.warn({ err }, what);
  };
  const b = config.bus;
  const url = b.url!;
  const bus = await RedisBus.connect({ url, prefix: b.prefix, heartbeatMs: b.heartbeatMs, connectTimeoutMs: b.connectTimeoutMs, onError });
  let presence: RedisPresence | undefined;
  try {
    presence = await RedisPresence.connect({ url, prefix: b.prefix, nodeId, ttlMs: b.presenceTtlMs, connectTimeoutMs: b.connectTimeoutMs, onError });
    const chatroomMembership = await RedisChatroomMembership.connect({ url, prefix: b.prefix, nodeId, connectTimeoutMs: b.connectTimeoutMs, onError });
    return { bus, presence, chatroomMembership };
  } catch (err) {
    await presence?.close();
    await bus.close();
    throw err;
  }
}

/**
 * The PostgreSQL store, or an error that says what failed where (password hidden): an unreachable
 * server, refused credentials, a missing database or a failed migration stop start-up with it.
 */
async function openPgStore(url: string, opts: Omit<PgStoreOptions, 'url'>): Promise<PgStore> {
  try {
    return await PgStore.open({ url, ...opts });
  } catch (err) {
    throw new Error(`cannot open the PostgreSQL store at ${redactUrl(url)}: ${describeError(err)}`, { cause: err });
  }
}

/** A driver error in one line (node's connect errors may be an AggregateError with no message). */
function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return [...new Set(err.errors.map(describeError))].join('; ');
  if (err instanceof Error) return err.message || (err as NodeJS.ErrnoException).code || err.name;
  return String(err);
}

/** How often a node looks for notification fan-outs that no node runs (one whose node died). */
const FANOUT_RESUME_MS = 30_000;

function urlOf(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

function portOf(app: FastifyInstance): number {
  const addr = app.server.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

/**
 * Composition root: the only place where backends are chosen from configuration.
 * Embedded defaults: SQLite under dataDir and the in-process bus.
 */
export async function startServer(config: Config, opts: { log?: Logger } = {}): Promise<RunningServer> {
  const log = opts.log ?? createLogger(config.logLevel);
  // A malformed address of seed 000's allow-list stops start-up before anything is opened.
  checkAllowList(config.channelGateway.platformAllowIps);
  // So is a malformed trusted proxy.
  const clientAddress = clientAddressOf(config.trustedProxies);
  const { secret, generated, file } = resolveAdminSecret(config.admin.secret, config.dataDir);
  const metrics = new Metrics();
  // Outbox channel policies, and the notification e-mail and SMS senders (docs/notifications-delivery.md),
  // checked before anything is opened: a configuration problem stops start-up with nothing to undo.
  const webhook = webhookPolicy(config);
  const policies = channelPolicies(config, [ROBOT_CHANNEL, EMAIL_CHANNEL, SMS_CHANNEL, TIMER_CHANNEL, CHANNEL_APP]);
  policies[WEBHOOK] = webhook;
  const notify = notificationSenders(config, (channel) => policies[channel]!);
  const storeOptions: SqliteStoreOptions = {
    file: databaseFile(config),
    synchronous: config.store.synchronous,
    nodeId: config.nodeId,
    commitMaxBatch: config.store.commitMaxBatch,
    commitMaxDelayMs: config.store.commitMaxDelayMs,
    inlineFanoutMax: config.messaging.inlineFanoutMax,
    onCommit: (size, ms) => {
      metrics.commitBatch.observe(size);
      metrics.commitSeconds.observe(ms / 1000);
    },
    onError: (err) => log.error({ err }, 'store error'),
  };
  // The store first: on PostgreSQL it leases this node's id, which presence, chatroom membership and
  // /admin/health use too (nodes started with one configuration get distinct ids).
  const store: Store = config.store.url
    ? await openPgStore(config.store.url, {
        schema: config.store.schema,
        poolSize: config.store.poolSize,
        nodeId: config.nodeId,
        commitMaxBatch: config.store.commitMaxBatch,
        inlineFanoutMax: config.messaging.inlineFanoutMax,
        onCommit: storeOptions.onCommit,
        onError: storeOptions.onError,
      })
    : config.store.writerThread
      ? await ThreadedSqliteStore.open(storeOptions)
      : new SqliteStore(storeOptions);
  const nodeId = store instanceof PgStore ? store.nodeId : config.nodeId;
  let opened: Awaited<ReturnType<typeof openBus>>;
  try {
    opened = await openBus(config, nodeId, log);
  } catch (err) {
    await store.close();
    throw err;
  }
  const { bus, presence, chatroomMembership } = opened;
  bus.onGap?.((gap) => metrics.busGaps.labels(gap.reason).inc());
  const targets = new CallbackTargets(configuredTargets(config), store.settings, bus, (err) => log.error({ err }, 'loading callback targets failed'));
  await targets.load();
  // Every final outcome, redelivery included, goes through the settler: channels' onSettled hooks see it.
  const settler = new OutboxSettler(store.outbox, log);
  // Replies into contacts' conversations become channel-app jobs; records come from the hub's cache.
  const records: ConfigRecords = (kind, id) => hub.channelApps.record(kind, id);
  const channelAppPlanner = new ChannelAppPlanner(store, (kind, id) => records(kind, id));
  // Robots route their incoming messages from a directory the planner reads on the send path.
  const robots = new RobotService(store, bus);
  const hub: Hub = new Hub(store, bus, {
    tokenTtlMs: config.tokens.ttlSeconds * 1000,
    maxGroupMembers: config.messaging.maxGroupMembers,
    effects: [new TencentCallbacks(targets, store, log), new RobotPlanner(robots, { withClientInfo: config.robots.callbackWithClientInfo }), channelAppPlanner],
    robots,
    redeliverer: settler,
    chatroomMembership,
    strictAdminSend: config.admin.strictSend,
    privateSend: {
      blacklist: config.relations.blacklistStrategy,
      blacklistExceptionTypes: config.relations.blacklistExceptionTypes,
      disableStrangerChat: config.relations.disableStrangerChat,
      strangerChatAllowList: config.relations.strangerChatAllowList,
    },
    sensitiveMode: config.relations.sensitiveFilter,
    friendRequests: {
      repeatMs: config.relations.friendRequestRepeatMs,
      rejectMs: config.relations.friendRequestRejectMs,
      expirationMs: config.relations.friendRequestExpirationMs,
    },
    notifications: {
      fanoutBatch: config.notifications.fanoutBatch,
      onError: (err) => log.error({ err }, 'notification fan-out failed (resumed at the next start)'),
    },
    serviceSessions: {
      idleTimeoutMs: config.serviceSessions.idleTimeoutMs,
      maxPerAgent: config.serviceSessions.maxPerAgent,
      onError: (err) => log.error({ err }, 'customer-service session update failed'),
    },
    channelGateway: {
      humanKeys: config.channelGateway.humanKeys,
      contactInfo: new HttpContactInfo({
        timeoutMs: config.channelGateway.contactInfoTimeoutMs,
        maxBytes: config.channelGateway.contactInfoMaxBytes,
        allowPrivate: config.channelGateway.contactInfoAllowPrivate,
      }),
    },
  });
  // Delivery status of replies to channel apps follows their jobs' final outcomes.
  settler.register(CHANNEL_APP, hub.channelDeliveries.onSettled);
  hub.channelDeliveries.use({
    records: (kind, id) => hub.channelApps.record(kind, id),
    onError: (err) => log.error({ err }, 'updating the delivery status of a channel-app reply failed'),
  });
  const sweeper = new SessionSweeper(() => hub.serviceSessions.sweep(), config.serviceSessions.sweepIntervalMs, log);
  const cb = config.callbacks;
  // The channels this node sends, each with its policy (webhook's from callbacks.*; others from
  // outbox.channels). Jobs of channels without a sender here are left to nodes that have one.
  const robotSender = new RobotSender(robots, Math.max(100, Math.min(config.robots.timeoutMs, policies[ROBOT_CHANNEL]!.leaseMs - 2000)));
  const senders: Record<string, Sender> = {
    [WEBHOOK]: new WebhookSender(targets, Math.max(500, webhook.leaseMs - 2000)),
    [ROBOT_CHANNEL]: robotSender,
    // A deleted notification's messages that have not gone out are withdrawn.
    ...Object.fromEntries(Object.entries(notify.senders).map(([channel, s]) => [channel, hub.notifyDelivery.guard(s)])),
    [TIMER_CHANNEL]: hub.notifyDelivery.timers,
    // One attempt at most 10 s, and always well inside the channel's lease.
    [CHANNEL_APP]: new ChannelAppSender(endpointsFrom({ app: (id) => hub.channelApps.record('app', id), version: (id) => hub.channelApps.record('version', id) }), Math.max(500, Math.min(10_000, policies[CHANNEL_APP]!.leaseMs - 2000)), {
      beforeAttempt: (job) => hub.channelDeliveries.ensureRecorded(job),
    }),
  };
  // Notification e-mail and SMS outcomes: delivery status and the web fallback, with the outcome.
  settler.register(EMAIL_CHANNEL, hub.notifyDelivery.onSettled);
  settler.register(SMS_CHANNEL, hub.notifyDelivery.onSettled);
  const channels = Object.fromEntries(Object.entries(senders).map(([name, sender]) => [name, { sender, policy: policies[name]! }]));
  const dispatcher = new OutboxDispatcher(
    store.outbox,
    bus,
    channels,
    {
      pollMs: cb.pollMs,
      claimDelayMs: 2,
      // Lookahead pays where a key's settle round trip is long (PostgreSQL: +20-80% replies/s); on
      // SQLite it cost ~15% CPU per delivered reply for no gain (docs/benchmarks.md).
      lookahead: store instanceof PgStore,
      settler,
      onResult: (job, ok, dead) => {
        if (job.channel === EMAIL_CHANNEL || job.channel === SMS_CHANNEL) metrics.notifyAttempts.labels(job.channel, ok ? 'delivered' : dead ? 'dead' : 'retry').inc();
        if (job.channel !== WEBHOOK) return;
        metrics.callbackResult(job.kind, ok ? 'delivered' : dead ? 'dead' : 'retry').inc();
        if (ok) metrics.callbackLag.observe((Date.now() - job.createdAt) / 1000);
      },
    },
    log,
  );
  const janitor = new OutboxJanitor(
    store.outbox,
    { deliveredRetentionMs: cb.deliveredRetentionMs, deadRetentionMs: cb.deadRetentionMs, intervalMs: 60_000 },
    log,
  );
  const now = Date.now();
  const auth = new AdminAuth({
    secret,
    windowMs: config.admin.timestampWindowMs,
    replay: new ReplayGuard(config.admin.timestampWindowMs, config.admin.replayCacheMaxEntries),
    rate:
      config.admin.rateLimitPerSecond > 0
        ? new TokenBucket(config.admin.rateLimitPerSecond, config.admin.rateLimitBurst || Math.ceil(config.admin.rateLimitPerSecond), now)
        : undefined,
  });
  const g = config.gateway;
  const gateway = new Gateway(
    hub,
    nodeId,
    {
      path: g.path,
      maxFrameBytes: g.maxFrameBytes,
      maxBufferedBytes: g.maxBufferedBytes,
      heartbeatMs: g.heartbeatMs,
      replayPageSize: g.replayPageSize,
      liveBufferMax: g.liveBufferMax,
      ratePerSecond: g.rateLimitPerSecond,
      rateBurst: g.rateLimitBurst,
      audienceCacheMaxMembers: g.audienceCacheMaxMembers,
      maxWaitingEvents: g.maxWaitingEvents,
      reorderWindowMs: config.bus.url ? config.bus.reorderWindowMs : 0,
      clientAddress,
      maxConnectionsPerUser: g.maxConnectionsPerUser,
    },
    log,
    { connections: (n) => metrics.wsConnections.set(n), delivered: (n) => metrics.wsDelivered.inc(n) },
    presence,
  );
  const nc = config.notifications;
  const cms = cmsSurface({
    hub,
    log,
    bodyLimit: nc.bodyLimitBytes,
    recipientsPreview: nc.recipientsPreview,
    backlogMax: nc.backlogMax,
    heartbeatMs: nc.heartbeatMs,
    maxBufferedBytes: nc.maxBufferedBytes,
    maxFrameBytes: 4096,
    maxConnectionsPerUser: config.gateway.maxConnectionsPerUser,
    corsOrigins: nc.corsOrigins,
  });
  hub.serviceSessions.attachPresence(async (userId) => (await gateway.presence.sessions(userId)).length > 0);
  // The API surfaces, one line each (docs/architecture.md: adding a surface).
  const surfaces: Surface[] = [
    adminSurface({
      hub,
      auth,
      log,
      metrics,
      bodyLimit: config.admin.bodyLimitBytes,
      nodeId,
      dataDir: config.dataDir,
      extraRoutes: [...presenceRoutes(hub, gateway.presence), ...callbackRoutes(hub, targets)],
    }),
    // Robots calling with their own id and secret (Wildfire's RobotService SDK).
    robotSurface({
      hub,
      log,
      metrics,
      bodyLimit: config.admin.bodyLimitBytes,
      auth: robotAuth(hub, {
        windowMs: config.admin.timestampWindowMs,
        replay: new ReplayGuard(config.admin.timestampWindowMs, config.admin.replayCacheMaxEntries),
        ratePerSecond: config.admin.callerRateLimitPerSecond,
      }),
    }),
    // Channels calling with their own id and secret (Wildfire's ChannelServiceApi SDK).
    channelApiSurface({
      hub,
      log,
      metrics,
      bodyLimit: config.admin.bodyLimitBytes,
      auth: channelAuth(hub, {
        windowMs: config.admin.timestampWindowMs,
        replay: new ReplayGuard(config.admin.timestampWindowMs, config.admin.replayCacheMaxEntries),
        ratePerSecond: config.admin.callerRateLimitPerSecond,
      }),
    }),
    devicesSurface(gateway),
    cms,
    // Seed 000 (internal): mounted only with a platform key.
    ...(config.channelGateway.platformKey
      ? [
          platformSurface({
            hub,
            log,
            bodyLimit: config.admin.bodyLimitBytes,
            auth: { key: config.channelGateway.platformKey, allowIps: config.channelGateway.platformAllowIps },
            extraRoutes: [sendResultRoute(hub, config.admin.bodyLimitBytes)],
          }),
        ]
      : []),
    staffSurface({ hub, log, bodyLimit: config.admin.bodyLimitBytes, signatureWindowMs: config.channelGateway.signatureWindowMs }),
  ];
  const deps: HttpDeps = { surfaces, log, metrics, bodyLimit: config.admin.bodyLimitBytes, trustedProxies: config.trustedProxies, ready: () => store.ping(), version: VERSION };

  const apps: FastifyInstance[] = [];
  let fanoutResume: NodeJS.Timeout | undefined;
  const closeAll = async (): Promise<void> => {
    gateway.close();
    cms.live.close();
    for (const a of apps) await a.close();
    if (fanoutResume) clearInterval(fanoutResume);
    await hub.notifications.close();
    await dispatcher.stop();
    await janitor.stop();
    await sweeper.stop();
    await closeCallbackAgents();
    await robotSender.close();
    robots.close();
    await notify.close();
    await store.close();
    await chatroomMembership.close?.();
    await presence.close();
    await bus.close();
  };
  // After listen, Fastify leaves no 'error' listener on its servers: an error on a listening server
  // (accept failing with EMFILE when libuv cannot shed the connection) would throw and end the
  // process. It is logged instead; the server keeps accepting once descriptors are free again.
  const keepListening = (app: FastifyInstance, port: string): void => {
    app.server.on('error', (err) => log.error({ err, port }, 'http server error'));
  };
  try {
    const main = await buildMainApp(deps);
    apps.push(main);
    dispatcher.start();
    janitor.start();
    // Fan-outs a stop interrupted continue from their durable cursors: at start, and every
    // FANOUT_RESUME_MS, so that those of a node that died are taken over by the nodes still running
    // (a fan-out already running here is left alone; two nodes on one fan-out share or fence its batches).
    await hub.notifications.resume();
    fanoutResume = setInterval(() => {
      hub.notifications.resume().catch((err: unknown) => log.error({ err }, 'resuming notification fan-outs failed'));
    }, FANOUT_RESUME_MS);
    fanoutResume.unref();
    sweeper.start();
    await main.listen({ host: config.host, port: config.port });
    keepListening(main, 'main');
    let adminUrl: string | undefined;
    if (config.admin.port !== undefined && config.admin.port !== null) {
      const admin = await buildAdminApp(deps);
      apps.push(admin);
      const host = config.admin.host ?? config.host;
      await admin.listen({ host, port: config.admin.port });
      keepListening(admin, 'admin');
      adminUrl = urlOf(host, portOf(admin));
    }
    let closing: Promise<void> | undefined;
    return {
      url: urlOf(config.host, portOf(main)),
      adminUrl,
      secret,
      secretGenerated: generated,
      secretFile: file,
      hub,
      gateway,
      log,
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
