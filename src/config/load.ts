import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { ConfigSchema, type Config } from './schema.js';

/** The outbox channel of callbacks, whose policy is configured under `callbacks` (not `outbox.channels`). */
const WEBHOOK_CHANNEL = 'webhook';

/** A configuration problem: start-up stops and prints the message. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Kind = 'string' | 'int' | 'number' | 'bool' | 'list';

/** One setting reachable from the environment and/or the command line. */
interface Binding {
  path: string;
  kind: Kind;
  env?: string[];
  flag?: string;
}

/** Env variables and flags, lowest to highest precedence: file < env < flags. */
export const BINDINGS: Binding[] = [
  { path: 'host', kind: 'string', env: ['SWITCHBOARD_HOST'], flag: 'host' },
  { path: 'port', kind: 'int', env: ['SWITCHBOARD_PORT'], flag: 'port' },
  { path: 'dataDir', kind: 'string', env: ['SWITCHBOARD_DATA_DIR'], flag: 'data' },
  { path: 'nodeId', kind: 'int', env: ['SWITCHBOARD_NODE_ID'], flag: 'node-id' },
  { path: 'logLevel', kind: 'string', env: ['SWITCHBOARD_LOG_LEVEL', 'LOG_LEVEL'], flag: 'log-level' },
  { path: 'shutdownTimeoutMs', kind: 'int', env: ['SWITCHBOARD_SHUTDOWN_TIMEOUT_MS'] },
  { path: 'trustedProxies', kind: 'list', env: ['SWITCHBOARD_TRUSTED_PROXIES'] },
  { path: 'admin.secret', kind: 'string', env: ['SWITCHBOARD_ADMIN_SECRET'] },
  { path: 'admin.port', kind: 'int', env: ['SWITCHBOARD_ADMIN_PORT'], flag: 'admin-port' },
  { path: 'admin.host', kind: 'string', env: ['SWITCHBOARD_ADMIN_HOST'], flag: 'admin-host' },
  { path: 'admin.timestampWindowMs', kind: 'int', env: ['SWITCHBOARD_ADMIN_TIMESTAMP_WINDOW_MS'] },
  { path: 'admin.replayCacheMaxEntries', kind: 'int', env: ['SWITCHBOARD_ADMIN_REPLAY_CACHE_MAX'] },
  { path: 'admin.rateLimitPerSecond', kind: 'number', env: ['SWITCHBOARD_ADMIN_RATE_LIMIT'] },
  { path: 'admin.rateLimitBurst', kind: 'int', env: ['SWITCHBOARD_ADMIN_RATE_BURST'] },
  { path: 'admin.bodyLimitBytes', kind: 'int', env: ['SWITCHBOARD_ADMIN_BODY_LIMIT'] },
  { path: 'admin.strictSend', kind: 'bool', env: ['SWITCHBOARD_ADMIN_STRICT_SEND'] },
  { path: 'robots.timeoutMs', kind: 'int', env: ['SWITCHBOARD_ROBOT_TIMEOUT_MS'] },
  { path: 'robots.callbackWithClientInfo', kind: 'bool', env: ['SWITCHBOARD_ROBOT_CLIENT_INFO'] },
  { path: 'store.file', kind: 'string', env: ['SWITCHBOARD_DB_FILE'], flag: 'db' },
  { path: 'store.synchronous', kind: 'string', env: ['SWITCHBOARD_SYNCHRONOUS'], flag: 'synchronous' },
  { path: 'store.url', kind: 'string', env: ['SWITCHBOARD_STORE_URL'], flag: 'store-url' },
  { path: 'store.schema', kind: 'string', env: ['SWITCHBOARD_STORE_SCHEMA'] },
  { path: 'store.poolSize', kind: 'int', env: ['SWITCHBOARD_STORE_POOL_SIZE'] },
  { path: 'store.writerThread', kind: 'bool', env: ['SWITCHBOARD_STORE_THREAD'] },
  { path: 'store.commitMaxBatch', kind: 'int', env: ['SWITCHBOARD_COMMIT_MAX_BATCH'] },
  { path: 'store.commitMaxDelayMs', kind: 'int', env: ['SWITCHBOARD_COMMIT_MAX_DELAY_MS'] },
  { path: 'bus.url', kind: 'string', env: ['SWITCHBOARD_BUS_URL'], flag: 'bus-url' },
  { path: 'bus.prefix', kind: 'string', env: ['SWITCHBOARD_BUS_PREFIX'] },
  { path: 'bus.heartbeatMs', kind: 'int', env: ['SWITCHBOARD_BUS_HEARTBEAT_MS'] },
  { path: 'bus.reorderWindowMs', kind: 'int', env: ['SWITCHBOARD_BUS_REORDER_WINDOW_MS'] },
  { path: 'bus.presenceTtlMs', kind: 'int', env: ['SWITCHBOARD_BUS_PRESENCE_TTL_MS'] },
  { path: 'bus.connectTimeoutMs', kind: 'int', env: ['SWITCHBOARD_BUS_CONNECT_TIMEOUT_MS'] },
  { path: 'messaging.inlineFanoutMax', kind: 'int', env: ['SWITCHBOARD_INLINE_FANOUT_MAX'] },
  { path: 'messaging.maxGroupMembers', kind: 'int', env: ['SWITCHBOARD_MAX_GROUP_MEMBERS'] },
  { path: 'relations.blacklistStrategy', kind: 'string', env: ['SWITCHBOARD_BLACKLIST_STRATEGY'] },
  { path: 'relations.disableStrangerChat', kind: 'bool', env: ['SWITCHBOARD_DISABLE_STRANGER_CHAT'] },
  { path: 'relations.sensitiveFilter', kind: 'string', env: ['SWITCHBOARD_SENSITIVE_FILTER'] },
  { path: 'tokens.ttlSeconds', kind: 'int', env: ['SWITCHBOARD_TOKEN_TTL_SECONDS'] },
  { path: 'notifications.bodyLimitBytes', kind: 'int', env: ['SWITCHBOARD_NOTIFY_BODY_LIMIT'] },
  { path: 'notifications.corsOrigins', kind: 'list', env: ['SWITCHBOARD_NOTIFY_CORS_ORIGINS'] },
  { path: 'notifications.fanoutBatch', kind: 'int', env: ['SWITCHBOARD_NOTIFY_FANOUT_BATCH'] },
  { path: 'notifications.recipientsPreview', kind: 'int', env: ['SWITCHBOARD_NOTIFY_RECIPIENTS_PREVIEW'] },
  { path: 'notifications.backlogMax', kind: 'int', env: ['SWITCHBOARD_NOTIFY_BACKLOG_MAX'] },
  { path: 'notifications.heartbeatMs', kind: 'int', env: ['SWITCHBOARD_NOTIFY_HEARTBEAT_MS'] },
  { path: 'notifications.maxBufferedBytes', kind: 'int', env: ['SWITCHBOARD_NOTIFY_MAX_BUFFERED'] },
  { path: 'serviceSessions.idleTimeoutMs', kind: 'int', env: ['SWITCHBOARD_SESSION_IDLE_TIMEOUT_MS'] },
  { path: 'serviceSessions.sweepIntervalMs', kind: 'int', env: ['SWITCHBOARD_SESSION_SWEEP_MS'] },
  { path: 'serviceSessions.maxPerAgent', kind: 'int', env: ['SWITCHBOARD_SESSION_MAX_PER_AGENT'] },
  { path: 'callbacks.url', kind: 'string', env: ['SWITCHBOARD_CALLBACK_URL'] },
  { path: 'callbacks.token', kind: 'string', env: ['SWITCHBOARD_CALLBACK_TOKEN'] },
  { path: 'callbacks.sdkAppId', kind: 'string', env: ['SWITCHBOARD_SDK_APP_ID'] },
  { path: 'callbacks.hmacSecret', kind: 'string', env: ['SWITCHBOARD_CALLBACK_HMAC_SECRET'] },
  { path: 'callbacks.commands', kind: 'list', env: ['SWITCHBOARD_CALLBACK_COMMANDS'] },
  { path: 'callbacks.timeoutMs', kind: 'int', env: ['SWITCHBOARD_CALLBACK_TIMEOUT_MS'] },
  { path: 'callbacks.beforeSendPolicy', kind: 'string', env: ['SWITCHBOARD_CALLBACK_BEFORE_SEND_POLICY'] },
  { path: 'callbacks.beforeSendConcurrency', kind: 'int', env: ['SWITCHBOARD_CALLBACK_BEFORE_SEND_CONCURRENCY'] },
  { path: 'callbacks.maxAttempts', kind: 'int', env: ['SWITCHBOARD_CALLBACK_MAX_ATTEMPTS'] },
  { path: 'callbacks.firstRetryMs', kind: 'int', env: ['SWITCHBOARD_CALLBACK_FIRST_RETRY_MS'] },
  { path: 'callbacks.maxRetryMs', kind: 'int', env: ['SWITCHBOARD_CALLBACK_MAX_RETRY_MS'] },
  { path: 'callbacks.concurrency', kind: 'int', env: ['SWITCHBOARD_CALLBACK_CONCURRENCY'] },
  { path: 'callbacks.leaseMs', kind: 'int', env: ['SWITCHBOARD_CALLBACK_LEASE_MS'] },
  { path: 'callbacks.pollMs', kind: 'int', env: ['SWITCHBOARD_CALLBACK_POLL_MS'] },
  { path: 'callbacks.perTargetConcurrency', kind: 'int', env: ['SWITCHBOARD_CALLBACK_PER_TARGET_CONCURRENCY'] },
  { path: 'callbacks.breakerThreshold', kind: 'int', env: ['SWITCHBOARD_CALLBACK_BREAKER_THRESHOLD'] },
  { path: 'callbacks.breakerMaxOpenMs', kind: 'int', env: ['SWITCHBOARD_CALLBACK_BREAKER_MAX_OPEN_MS'] },
  { path: 'callbacks.deliveredRetentionMs', kind: 'int', env: ['SWITCHBOARD_CALLBACK_DELIVERED_RETENTION_MS'] },
  { path: 'callbacks.deadRetentionMs', kind: 'int', env: ['SWITCHBOARD_CALLBACK_DEAD_RETENTION_MS'] },
  { path: 'callbacks.claimAhead', kind: 'int', env: ['SWITCHBOARD_CALLBACK_CLAIM_AHEAD'] },
  { path: 'email.smtpUrl', kind: 'string', env: ['SWITCHBOARD_SMTP_URL'] },
  { path: 'email.from', kind: 'string', env: ['SWITCHBOARD_MAIL_FROM'] },
  { path: 'email.requireTls', kind: 'bool', env: ['SWITCHBOARD_SMTP_REQUIRE_TLS'] },
  { path: 'email.maxConnections', kind: 'int', env: ['SWITCHBOARD_SMTP_MAX_CONNECTIONS'] },
  { path: 'email.timeoutMs', kind: 'int', env: ['SWITCHBOARD_SMTP_TIMEOUT_MS'] },
  { path: 'sms.url', kind: 'string', env: ['SWITCHBOARD_SMS_URL'] },
  { path: 'sms.authHeader', kind: 'string', env: ['SWITCHBOARD_SMS_AUTH_HEADER'] },
  { path: 'sms.authHeaderName', kind: 'string', env: ['SWITCHBOARD_SMS_AUTH_HEADER_NAME'] },
  { path: 'sms.bodyTemplate', kind: 'string', env: ['SWITCHBOARD_SMS_BODY_TEMPLATE'] },
  { path: 'sms.timeoutMs', kind: 'int', env: ['SWITCHBOARD_SMS_TIMEOUT_MS'] },
  { path: 'channelGateway.platformKey', kind: 'string', env: ['SWITCHBOARD_PLATFORM_KEY'] },
  { path: 'channelGateway.platformAllowIps', kind: 'list', env: ['SWITCHBOARD_PLATFORM_ALLOW_IPS'] },
  { path: 'channelGateway.signatureWindowMs', kind: 'int', env: ['SWITCHBOARD_CHANNEL_SIGNATURE_WINDOW_MS'] },
  { path: 'channelGateway.humanKeys', kind: 'list', env: ['SWITCHBOARD_CHANNEL_HUMAN_KEYS'] },
  { path: 'channelGateway.contactInfoTimeoutMs', kind: 'int', env: ['SWITCHBOARD_CONTACT_INFO_TIMEOUT_MS'] },
  { path: 'channelGateway.contactInfoMaxBytes', kind: 'int', env: ['SWITCHBOARD_CONTACT_INFO_MAX_BYTES'] },
  { path: 'channelGateway.contactInfoAllowPrivate', kind: 'bool', env: ['SWITCHBOARD_CONTACT_INFO_ALLOW_PRIVATE'] },
  { path: 'gateway.path', kind: 'string', env: ['SWITCHBOARD_WS_PATH'] },
  { path: 'gateway.maxFrameBytes', kind: 'int', env: ['SWITCHBOARD_WS_MAX_FRAME'] },
  { path: 'gateway.maxBufferedBytes', kind: 'int', env: ['SWITCHBOARD_WS_MAX_BUFFERED'] },
  { path: 'gateway.heartbeatMs', kind: 'int', env: ['SWITCHBOARD_WS_HEARTBEAT_MS'] },
  { path: 'gateway.replayPageSize', kind: 'int', env: ['SWITCHBOARD_WS_REPLAY_PAGE'] },
  { path: 'gateway.liveBufferMax', kind: 'int', env: ['SWITCHBOARD_WS_LIVE_BUFFER'] },
  { path: 'gateway.rateLimitPerSecond', kind: 'number', env: ['SWITCHBOARD_WS_RATE_LIMIT'] },
  { path: 'gateway.rateLimitBurst', kind: 'int', env: ['SWITCHBOARD_WS_RATE_BURST'] },
  { path: 'gateway.audienceCacheMaxMembers', kind: 'int', env: ['SWITCHBOARD_WS_AUDIENCE_CACHE_MAX_MEMBERS'] },
  { path: 'gateway.maxWaitingEvents', kind: 'int', env: ['SWITCHBOARD_WS_MAX_WAITING_EVENTS'] },
  { path: 'gateway.maxConnectionsPerUser', kind: 'int', env: ['SWITCHBOARD_WS_MAX_CONNECTIONS_PER_USER'] },
];

export interface ConfigSources {
  /** Path of a JSON config file (flag --config or env SWITCHBOARD_CONFIG). */
  file?: string | undefined;
  env?: Record<string, string | undefined>;
  /** Parsed command-line flags by name (without dashes). */
  flags?: Record<string, string | undefined>;
  /** Programmatic overrides (tests), applied last. */
  overrides?: Record<string, unknown>;
}

function convert(raw: string, kind: Kind, source: string): string | number | boolean | string[] {
  if (kind === 'string') return raw;
  if (kind === 'list') return raw.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (kind === 'bool') {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new ConfigError(`${source}: expected true or false, got '${raw}'`);
  }
  // Plain decimal only: no hex, exponents or blanks sneaking into ports and limits.
  const t = raw.trim();
  const n = Number(t);
  if (!(kind === 'int' ? /^-?[0-9]+$/ : /^-?[0-9]+(\.[0-9]+)?$/).test(t) || !Number.isFinite(n)) {
    throw new ConfigError(`${source}: expected ${kind === 'int' ? 'an integer' : 'a number'}, got '${raw}'`);
  }
  return n;
}

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (next === undefined) cur[k] = {};
    else if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      throw new ConfigError(`${k}: must be an object (found ${JSON.stringify(next)})`);
    }
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = value;
}

function deepMerge(target: Record<string, unknown>, src: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(src)) {
    const t = target[k];
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof t === 'object' && t !== null && !Array.isArray(t)) {
      deepMerge(t as Record<string, unknown>, v as Record<string, unknown>);
    } else {
      target[k] = v;
    }
  }
}

const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false });
const validate = ajv.compile<Config>(ConfigSchema);

/** Build the validated configuration from defaults, a file, the environment and flags. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? {};
  const flags = sources.flags ?? {};
  const raw: Record<string, unknown> = {};

  const file = sources.file ?? env['SWITCHBOARD_CONFIG'];
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(path.resolve(file), 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`config file ${file} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`config file ${file} must hold a JSON object`);
    }
    deepMerge(raw, parsed as Record<string, unknown>);
  }
  for (const b of BINDINGS) {
    for (const name of b.env ?? []) {
      const v = env[name];
      if (v !== undefined && v !== '') {
        setPath(raw, b.path, convert(v, b.kind, `env ${name}`));
        break;
      }
    }
  }
  for (const b of BINDINGS) {
    if (!b.flag) continue;
    const v = flags[b.flag];
    if (v !== undefined) setPath(raw, b.path, convert(v, b.kind, `--${b.flag}`));
  }
  if (sources.overrides) deepMerge(raw, sources.overrides);

  if (!validate(raw)) {
    const problems = (validate.errors ?? []).map((e) => {
      const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(root)';
      const params = e.params as { additionalProperty?: string; allowedValues?: unknown[] };
      const extra =
        e.keyword === 'additionalProperties'
          ? ` '${String(params.additionalProperty)}'`
          : e.keyword === 'enum'
            ? ` (${(params.allowedValues ?? []).join(', ')})`
            : '';
      return `${where}: ${e.message ?? 'invalid'}${extra}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${[...new Set(problems)].join('\n  ')}`);
  }
  const config = raw as Config;
  if (Object.hasOwn(config.outbox.channels, WEBHOOK_CHANNEL)) {
    // One place for the webhook channel's policy: the callbacks section (and its env variables).
    throw new ConfigError(
      `invalid configuration:\n  outbox.channels.${WEBHOOK_CHANNEL}: the webhook channel's policy is set with callbacks.maxAttempts, firstRetryMs, maxRetryMs, leaseMs, concurrency, perTargetConcurrency, breakerThreshold, breakerMaxOpenMs and claimAhead`,
    );
  }
  return config;
}

/** Where the SQLite database lives under this configuration. */
export function databaseFile(config: Config): string {
  return config.store.file ?? path.join(config.dataDir, 'switchboard.db');
}
