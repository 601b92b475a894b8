import { Type, type Static } from '@sinclair/typebox';
import { ChannelPolicy } from './outbox-schema.js';

/**
 * The one configuration schema. Every key has a default here; docs/configuration.md documents each
 * with its env variable and flag. Unknown keys and out-of-range values stop start-up.
 */
const Port = Type.Integer({ minimum: 0, maximum: 65535 });

/** A string enum that validates with a readable message ("must be equal to one of the allowed values"). */
function StringEnum<const T extends string>(values: readonly T[], opts: { default: T; description?: string }) {
  return Type.Unsafe<T>({ type: 'string', enum: values, ...opts });
}

export const ConfigSchema = Type.Object(
  {
    host: Type.String({ default: '0.0.0.0', minLength: 1, description: 'Address the main port binds to.' }),
    port: Type.Integer({ default: 18080, minimum: 0, maximum: 65535, description: 'Main port (HTTP, admin API, WebSocket); 0 picks a free port.' }),
    dataDir: Type.String({ default: './data', minLength: 1, description: 'Directory for the database and the generated admin secret.' }),
    nodeId: Type.Integer({ default: 0, minimum: 0, maximum: 31, description: 'Distinct per node; part of every message uid.' }),
    logLevel: StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, { default: 'info' }),
    shutdownTimeoutMs: Type.Integer({ default: 10000, minimum: 0, description: 'Longest graceful shutdown before exiting anyway.' }),
    trustedProxies: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      default: [],
      maxItems: 1000,
      description:
        'Load balancers and proxies (addresses, CIDR ranges, or loopback / linklocal / uniquelocal) whose X-Forwarded-For is believed for the client address; empty: the header is ignored.',
    }),
    admin: Type.Object(
      {
        secret: Type.Optional(Type.String({ minLength: 1, description: 'Admin API secret; generated and kept in dataDir when unset.' })),
        port: Type.Optional(Type.Union([Port, Type.Null()], { description: 'Also serve /admin on this port (null: main port only).' })),
        host: Type.Optional(Type.String({ minLength: 1, description: 'Address the admin port binds to (default: host).' })),
        timestampWindowMs: Type.Integer({ default: 300000, minimum: 1000, description: 'Accepted clock skew of the timestamp header, both ways.' }),
        replayCacheMaxEntries: Type.Integer({ default: 8000000, minimum: 1000, description: 'Most signatures remembered for replay detection; past it requests get 250.' }),
        rateLimitPerSecond: Type.Number({ default: 0, minimum: 0, description: 'Signed requests per second per secret; 0 disables the limit.' }),
        rateLimitBurst: Type.Integer({ default: 0, minimum: 0, description: 'Burst allowance of the rate limit (0: one second of rate).' }),
        callerRateLimitPerSecond: Type.Number({
          default: 0,
          minimum: 0,
          description: 'Signed requests per second per robot (/robot) or channel (/channel), burst one second of it; 0 disables the limit.',
        }),
        bodyLimitBytes: Type.Integer({ default: 1048576, minimum: 1024, description: 'Largest admin request body.' }),
        strictSend: Type.Boolean({
          default: false,
          description:
            "Check admin sends like device sends (sender exists and may send, membership, mute). Default false: admin sends are trusted, as in Wildfire.",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    store: Type.Object(
      {
        driver: StringEnum(['sqlite'] as const, { default: 'sqlite', description: 'Store backend when no url is set.' }),
        url: Type.Optional(
          Type.String({
            pattern: '^postgres(ql)?://',
            description: 'postgres://[user:password@]host:port/database: the PostgreSQL store shared by every node of a cluster; unset: SQLite in dataDir.',
          }),
        ),
        schema: Type.String({
          default: 'public',
          pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$',
          description: 'PostgreSQL schema holding the tables (created and migrated at start).',
        }),
        poolSize: Type.Integer({ default: 10, minimum: 2, maximum: 200, description: 'PostgreSQL connections per node (one is the writer).' }),
        file: Type.Optional(Type.String({ minLength: 1, description: 'SQLite file (default: <dataDir>/switchboard.db).' })),
        synchronous: StringEnum(['FULL', 'NORMAL'] as const, {
          default: 'FULL',
          description: 'FULL: fsync every group commit (survives power loss). NORMAL: survives process crashes.',
        }),
        writerThread: Type.Boolean({
          default: true,
          description: 'Run the SQLite connection (statements, commits, fsync) in its own thread, off the event loop.',
        }),
        commitMaxBatch: Type.Integer({ default: 512, minimum: 1, maximum: 100000, description: 'Most writes per group commit.' }),
        commitMaxDelayMs: Type.Integer({ default: 0, minimum: 0, maximum: 1000, description: 'Longest wait to fill a group commit (0: end of the event-loop turn).' }),
      },
      { default: {}, additionalProperties: false },
    ),
    bus: Type.Object(
      {
        url: Type.Optional(
          Type.String({
            pattern: '^rediss?://',
            description: 'redis://[user:password@]host:port[/db] (rediss:// for TLS): the Redis bus and cluster-wide presence; unset: the in-process bus (one node).',
          }),
        ),
        prefix: Type.String({
          default: 'switchboard:',
          maxLength: 128,
          description: 'Prefix of every Redis key and channel; nodes of one cluster share it, other clusters on the same Redis use another.',
        }),
        heartbeatMs: Type.Integer({
          default: 1000,
          minimum: 50,
          maximum: 60000,
          description: "Each node announces its last bus sequence number this often; a subscription silent for 3 heartbeats is reconnected (missed traffic).",
        }),
        reorderWindowMs: Type.Integer({
          default: 50,
          minimum: 0,
          maximum: 5000,
          description: 'While several nodes publish, device events are held this long and put back in cursor order (0: off).',
        }),
        presenceTtlMs: Type.Integer({
          default: 15000,
          minimum: 1000,
          description: "A node that stops refreshing its presence entry for this long (killed) drops out of the online status.",
        }),
        connectTimeoutMs: Type.Integer({ default: 10000, minimum: 100, maximum: 600000, description: 'Start-up fails when Redis cannot be reached within this.' }),
      },
      { default: {}, additionalProperties: false },
    ),
    messaging: Type.Object(
      {
        inlineFanoutMax: Type.Integer({
          default: 10,
          minimum: 0,
          description: 'Groups/channels up to this size get per-user rows (exact unread counters); larger ones one shared timeline row per message.',
        }),
        maxGroupMembers: Type.Integer({ default: 2000, minimum: 1, description: 'Default member limit of a group (a group may set its own).' }),
      },
      { default: {}, additionalProperties: false },
    ),
    gateway: Type.Object(
      {
        path: Type.String({ default: '/ws', pattern: '^/', description: 'URL path of the WebSocket endpoint on the main port.' }),
        maxFrameBytes: Type.Integer({ default: 65536, minimum: 1024, description: 'Largest device frame; larger ones close the socket (1009).' }),
        maxBufferedBytes: Type.Integer({
          default: 1048576,
          minimum: 16384,
          description: 'Send buffer per connection; a device that falls further behind is closed (4009) and resyncs.',
        }),
        heartbeatMs: Type.Integer({ default: 30000, minimum: 1000, description: 'Ping interval; a connection silent for two intervals is dropped.' }),
        replayPageSize: Type.Integer({ default: 200, minimum: 1, maximum: 10000, description: 'Events per replay page (each page is flushed before the next).' }),
        liveBufferMax: Type.Integer({ default: 2000, minimum: 10, description: 'Live events held per connection while it replays.' }),
        rateLimitPerSecond: Type.Number({ default: 50, minimum: 1, description: 'Device frames per second per connection.' }),
        rateLimitBurst: Type.Integer({ default: 100, minimum: 1, description: 'Burst of the per-connection rate limit.' }),
        audienceCacheMaxMembers: Type.Integer({
          default: 1000000,
          minimum: 1000,
          description: 'Group and channel members kept in the fan-out cache, in total (least recently used audiences are dropped first).',
        }),
        maxWaitingEvents: Type.Integer({
          default: 100000,
          minimum: 100,
          description: 'Events waiting per node for an audience to load; past it the affected connections are closed (4010) and resync.',
        }),
        maxConnectionsPerUser: Type.Integer({
          default: 64,
          minimum: 1,
          maximum: 100000,
          description:
            "Device connections one user may hold on a node (and live-inbox sockets, counted apart); one more is closed at once (4011) and the user's others are kept.",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    callbacks: Type.Object(
      {
        url: Type.Optional(Type.String({ minLength: 1, description: 'Default callback target URL (with only url, sdkAppId and token set, every after-callback is on).' })),
        sdkAppId: Type.String({ default: '0', description: 'SdkAppid sent with every callback of the default target.' }),
        token: Type.Optional(Type.String({ minLength: 1, description: "Tencent callback token: adds RequestTime and Sign = sha256(token + RequestTime)." })),
        hmacSecret: Type.Optional(Type.String({ minLength: 1, description: 'Key of the X-Switchboard-Signature body HMAC (default target).' })),
        commands: Type.Optional(Type.Array(Type.String(), { description: 'Commands of the default target (default: every after-callback; before-send ones only when listed).' })),
        timeoutMs: Type.Integer({ default: 2000, minimum: 100, maximum: 60000, description: 'Per request: before-send calls and each delivery attempt.' }),
        beforeSendPolicy: StringEnum(['allow', 'reject'] as const, { default: 'allow', description: 'A before-send callback that fails or times out allows or rejects the message.' }),
        beforeSendConcurrency: Type.Optional(
          Type.Integer({ minimum: 1, maximum: 10000, description: 'Before-send requests in flight per target per node; past it the failure policy applies at once (default 64).' }),
        ),
        targets: Type.Array(
          Type.Object(
            {
              id: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9_.-]+$' }),
              url: Type.String({ minLength: 1 }),
              sdkAppId: Type.String({ default: '0' }),
              token: Type.Optional(Type.String({ minLength: 1 })),
              hmacSecret: Type.Optional(Type.String({ minLength: 1 })),
              commands: Type.Optional(Type.Array(Type.String())),
              timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60000 })),
              beforeSendPolicy: Type.Optional(StringEnum(['allow', 'reject'] as const, { default: 'allow' })),
              beforeSendConcurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
              enabled: Type.Optional(Type.Boolean()),
            },
            { additionalProperties: false },
          ),
          { default: [], description: 'More callback targets (config file only; the admin API manages others at runtime).' },
        ),
        maxAttempts: Type.Integer({ default: 8, minimum: 1, maximum: 100, description: 'Delivery attempts before a job is dead-lettered.' }),
        firstRetryMs: Type.Integer({ default: 1000, minimum: 10, description: 'Delay before the first retry; doubles per attempt.' }),
        maxRetryMs: Type.Integer({ default: 300000, minimum: 10, description: 'Longest delay between retries.' }),
        concurrency: Type.Integer({ default: 256, minimum: 1, maximum: 10000, description: 'Deliveries in flight per node.' }),
        leaseMs: Type.Integer({ default: 10000, minimum: 1000, description: 'A claimed job not reported within this is claimed again (crash recovery); keep it above the longest timeout.' }),
        pollMs: Type.Integer({ default: 1000, minimum: 10, description: 'Claim due jobs (retries) at least this often.' }),
        perTargetConcurrency: Type.Integer({
          default: 192,
          minimum: 1,
          maximum: 10000,
          description: 'Deliveries in flight per node to one target (capped by concurrency): a slow target cannot take every slot.',
        }),
        breakerThreshold: Type.Integer({
          default: 5,
          minimum: 0,
          maximum: 1000,
          description: 'Consecutive failed attempts that open a target\'s circuit breaker (its jobs wait, attempts untouched, until a probe succeeds); 0 turns it off.',
        }),
        breakerMaxOpenMs: Type.Integer({ default: 60000, minimum: 100, description: 'Longest a breaker stays open before the next probe (it starts at 1 s and doubles).' }),
        deliveredRetentionMs: Type.Integer({ default: 86400000, minimum: 0, description: 'Delivered jobs stay in the delivery log this long, then are pruned.' }),
        deadRetentionMs: Type.Integer({ default: 2592000000, minimum: 0, description: 'Dead-lettered jobs stay this long (for redelivery), then are pruned.' }),
        claimAhead: Type.Optional(
          Type.Integer({
            minimum: 0,
            maximum: 10000,
            description: 'Fresh callback jobs leased by the write that creates them (capped by concurrency; default: half of it).',
          }),
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    robots: Type.Object(
      {
        timeoutMs: Type.Integer({
          default: 5000,
          minimum: 100,
          maximum: 60000,
          description: "One robot callback attempt (connect, request, reply); capped below outbox.channels.robot.leaseMs.",
        }),
        callbackWithClientInfo: Type.Boolean({
          default: false,
          description: "Add client: {platform, clientId} of the sending device to robot callbacks (Wildfire's robot.callback_with_client_info).",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    channelGateway: Type.Object(
      {
        platformKey: Type.Optional(
          Type.String({ minLength: 1, description: "Seed 000's platform key (Authorization: Bearer KEY); its routes are off while unset." }),
        ),
        platformAllowIps: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description: "Addresses or CIDR ranges allowed to call seed 000's routes (empty: any address with the key).",
        }),
        signatureWindowMs: Type.Integer({
          default: 86400000,
          minimum: 0,
          description: 'Seed 002: largest distance of the signed timestamp from the server clock, both ways (0: not checked).',
        }),
        humanKeys: Type.Array(Type.String({ minLength: 1 }), {
          default: ['RG'],
          description: 'Seed 002 event keys asking for a human agent (event.CLICK.<key>, or an event.* whose Content is the key).',
        }),
        contactInfoTimeoutMs: Type.Integer({ default: 5000, minimum: 100, maximum: 60000, description: "Whole deadline of reading a contact's info URL." }),
        contactInfoMaxBytes: Type.Integer({ default: 65536, minimum: 1024, maximum: 1048576, description: "Largest answer of a contact's info URL." }),
        contactInfoAllowPrivate: Type.Boolean({
          default: false,
          description: 'Allow contact info URLs resolving to loopback, private, link-local or other non-public addresses.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    outbox: Type.Object(
      {
        channels: Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$' }), ChannelPolicy, {
          default: {},
          additionalProperties: false,
          description: "Delivery policy per outbox channel other than webhook (whose policy is callbacks.*); config file only.",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    relations: Type.Object(
      {
        blacklistStrategy: StringEnum(['reject', 'drop'] as const, {
          default: 'reject',
          description: "A device's message to a user who blacklisted its sender: refused with 246, or answered as sent and dropped (Wildfire's message.blacklist.strategy 0 / 1).",
        }),
        blacklistExceptionTypes: Type.Array(Type.Integer({ minimum: 0, maximum: 2147483647 }), {
          default: [401, 402, 403, 404, 405, 407, 408, 410, 411],
          maxItems: 1000,
          description: 'Content types a blacklist does not stop (call signalling, as in Wildfire).',
        }),
        disableStrangerChat: Type.Boolean({ default: false, description: 'Only friends may send each other single-chat messages from devices (248 otherwise).' }),
        strangerChatAllowList: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
          default: [],
          maxItems: 1000,
          description: 'Users who may chat with anyone, either way, when disableStrangerChat is on.',
        }),
        friendRequestRepeatMs: Type.Integer({
          default: 604800000,
          minimum: 0,
          description: 'A pending friend request blocks another one to the same user for this long (0: until answered).',
        }),
        friendRequestRejectMs: Type.Integer({ default: 2592000000, minimum: 0, description: 'A rejected friend request blocks another one for this long (0: not at all).' }),
        friendRequestExpirationMs: Type.Integer({ default: 604800000, minimum: 0, description: 'A friend request can be answered from a device for this long (0: no end).' }),
        sensitiveFilter: StringEnum(['reject', 'drop', 'replace', 'pass'] as const, {
          default: 'reject',
          description: "A device message whose searchableContent has a sensitive word: refused (242), dropped (answered as sent), sent with each word as *** or sent as is (Wildfire's sensitive.filter.type 0-3).",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    email: Type.Object(
      {
        smtpUrl: Type.Optional(
          Type.String({ minLength: 1, description: 'SMTP relay of notification e-mails: smtp://user:pass@host:port (STARTTLS when offered) or smtps://… (TLS).' }),
        ),
        from: Type.String({ default: 'Switchboard <switchboard@localhost>', minLength: 1, description: 'From header and envelope sender of notification e-mails.' }),
        requireTls: Type.Boolean({ default: false, description: 'Send only over an encrypted connection (STARTTLS required on smtp://).' }),
        maxConnections: Type.Integer({ default: 5, minimum: 1, maximum: 10000, description: 'Connections kept open to the SMTP relay at most.' }),
        timeoutMs: Type.Integer({ default: 20000, minimum: 100, maximum: 600000, description: 'Deadline of one delivery attempt (cut below the email channel lease).' }),
      },
      { default: {}, additionalProperties: false },
    ),
    sms: Type.Object(
      {
        url: Type.Optional(Type.String({ minLength: 1, description: 'HTTP SMS gateway: every SMS is one POST of bodyTemplate to this URL.' })),
        authHeader: Type.Optional(Type.String({ minLength: 1, description: 'Value of the authentication header sent to the SMS gateway.' })),
        authHeaderName: Type.String({ default: 'Authorization', pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description: 'Name of that header.' }),
        bodyTemplate: Type.String({
          default: '{"to":"{{to}}","text":"{{text}}"}',
          minLength: 1,
          description: 'JSON body of each SMS request; placeholders {{to}} {{text}} {{title}} {{notification_id}} {{user_id}} {{delivery_id}} {{attempt}} in string values.',
        }),
        timeoutMs: Type.Integer({ default: 10000, minimum: 100, maximum: 600000, description: 'Deadline of one delivery attempt (cut below the sms channel lease).' }),
      },
      { default: {}, additionalProperties: false },
    ),
    notifications: Type.Object(
      {
        corsOrigins: Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), {
          default: [],
          maxItems: 1000,
          description:
            'Browser origins (e.g. https://cms.example.com, or * for any) allowed to call /v1/cms from their pages (CORS); empty: no CORS headers, same-origin pages only.',
        }),
        bodyLimitBytes: Type.Integer({
          default: 8388608,
          minimum: 1024,
          description: 'Largest /v1/cms request body (an add with 100 000 recipients is about 3 MB).',
        }),
        fanoutBatch: Type.Integer({
          default: 2000,
          minimum: 1,
          maximum: 100000,
          description: 'Recipients per fan-out batch of a sent notification (one short writer transaction each).',
        }),
        recipientsPreview: Type.Integer({
          default: 100,
          minimum: 0,
          maximum: 1000,
          description: "Recipients shown per list (recipients, has_read, unread) of each item of the operator's notify/list; the totals give the counts.",
        }),
        backlogMax: Type.Integer({ default: 200, minimum: 0, maximum: 1000, description: 'Unread items a live inbox socket receives on connect (newest first).' }),
        heartbeatMs: Type.Integer({ default: 30000, minimum: 1000, description: 'Live inbox ping interval; a socket that answered no ping for a whole interval is dropped.' }),
        maxBufferedBytes: Type.Integer({
          default: 4194304,
          minimum: 16384,
          description: 'Unsent bytes per live inbox socket; a socket that falls further behind is dropped.',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    serviceSessions: Type.Object(
      {
        idleTimeoutMs: Type.Integer({
          default: 1800000,
          minimum: 100,
          description: 'A customer-service session with no message either way for this long is closed.',
        }),
        sweepIntervalMs: Type.Integer({ default: 5000, minimum: 10, maximum: 3600000, description: 'How often idle sessions are looked for (the deadline itself is stored).' }),
        maxPerAgent: Type.Integer({ default: 0, minimum: 0, maximum: 100000, description: 'Most open sessions assigned to one agent (0: no limit); past it new sessions queue.' }),
      },
      { default: {}, additionalProperties: false },
    ),
    tokens: Type.Object(
      {
        ttlSeconds: Type.Integer({ default: 2592000, minimum: 1, description: 'Lifetime of a device token from user/get_token.' }),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
