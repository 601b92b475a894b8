import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookPolicy } from '../../src/callbacks/config.js';
import { BINDINGS, ConfigError, databaseFile, loadConfig } from '../../src/config/load.js';
import { OUTBOX_CHANNEL_DEFAULTS } from '../../src/config/outbox-schema.js';
import { channelPolicies } from '../../src/outbox/policy.js';

const dirs: string[] = [];
function writeConfig(content: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-config-'));
  dirs.push(dir);
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function configError(fn: () => unknown): ConfigError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a ConfigError').toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('loadConfig', () => {
  it('has a default for every setting', () => {
    const c = loadConfig({ env: {} });
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 18080,
      dataDir: './data',
      nodeId: 0,
      logLevel: 'info',
      shutdownTimeoutMs: 10000,
      admin: {
        timestampWindowMs: 300000,
        replayCacheMaxEntries: 8000000,
        rateLimitPerSecond: 0,
        rateLimitBurst: 0,
        bodyLimitBytes: 1048576,
      },
      store: { driver: 'sqlite', synchronous: 'FULL', commitMaxBatch: 512, commitMaxDelayMs: 0 },
      messaging: { inlineFanoutMax: 10, maxGroupMembers: 2000 },
      tokens: { ttlSeconds: 2592000 },
    });
  });

  it('does not read process.env unless given it', () => {
    const saved = process.env['SWITCHBOARD_PORT'];
    process.env['SWITCHBOARD_PORT'] = '1';
    try {
      expect(loadConfig({ env: {} }).port).toBe(18080);
    } finally {
      if (saved === undefined) delete process.env['SWITCHBOARD_PORT'];
      else process.env['SWITCHBOARD_PORT'] = saved;
    }
  });

  it('file < env < flags', () => {
    const file = writeConfig({ port: 1000, host: '127.0.0.1', nodeId: 1, store: { synchronous: 'NORMAL', commitMaxBatch: 64 } });
    const fromFile = loadConfig({ file, env: {} });
    expect(fromFile).toMatchObject({ port: 1000, host: '127.0.0.1', nodeId: 1, store: { synchronous: 'NORMAL', commitMaxBatch: 64, commitMaxDelayMs: 0 } });

    const env = { SWITCHBOARD_PORT: '2000', SWITCHBOARD_NODE_ID: '2', SWITCHBOARD_SYNCHRONOUS: 'FULL' };
    const fromEnv = loadConfig({ file, env });
    expect(fromEnv).toMatchObject({ port: 2000, host: '127.0.0.1', nodeId: 2, store: { synchronous: 'FULL', commitMaxBatch: 64 } });

    const fromFlags = loadConfig({ file, env, flags: { port: '3000', synchronous: 'NORMAL' } });
    expect(fromFlags).toMatchObject({ port: 3000, host: '127.0.0.1', nodeId: 2, store: { synchronous: 'NORMAL', commitMaxBatch: 64 } });
  });

  it('finds the file through SWITCHBOARD_CONFIG', () => {
    const file = writeConfig({ dataDir: '/srv/sb' });
    expect(loadConfig({ env: { SWITCHBOARD_CONFIG: file } }).dataDir).toBe('/srv/sb');
  });

  it('maps the operator contract env variables and flags', () => {
    const c = loadConfig({ env: { SWITCHBOARD_PORT: '0', SWITCHBOARD_DATA_DIR: '/d', SWITCHBOARD_ADMIN_SECRET: 's3cret' } });
    expect(c).toMatchObject({ port: 0, dataDir: '/d', admin: { secret: 's3cret' } });
    const f = loadConfig({ env: {}, flags: { port: '8080', data: '/x', db: '/x/other.db', 'admin-port': '9090', 'log-level': 'warn' } });
    expect(f).toMatchObject({ port: 8080, dataDir: '/x', store: { file: '/x/other.db' }, admin: { port: 9090 }, logLevel: 'warn' });
  });

  it('SWITCHBOARD_BUS_URL / --bus-url select the Redis bus; unset is the in-process bus; another scheme stops start-up', () => {
    expect(loadConfig({ env: {} }).bus.url).toBeUndefined();
    expect(loadConfig({ env: { SWITCHBOARD_BUS_URL: 'redis://127.0.0.1:6379' } }).bus).toMatchObject({ url: 'redis://127.0.0.1:6379', prefix: 'switchboard:' });
    expect(loadConfig({ env: {}, flags: { 'bus-url': 'rediss://r.example:6380' } }).bus.url).toBe('rediss://r.example:6380');
    const e = configError(() => loadConfig({ env: { SWITCHBOARD_BUS_URL: 'postgres://db/x' } }));
    expect(e.message).toContain('bus.url');
  });

  it('LOG_LEVEL is a fallback for SWITCHBOARD_LOG_LEVEL', () => {
    expect(loadConfig({ env: { LOG_LEVEL: 'debug' } }).logLevel).toBe('debug');
    expect(loadConfig({ env: { LOG_LEVEL: 'debug', SWITCHBOARD_LOG_LEVEL: 'error' } }).logLevel).toBe('error');
  });

  it('ignores empty env values', () => {
    expect(loadConfig({ env: { SWITCHBOARD_PORT: '' } }).port).toBe(18080);
  });

  it('every env binding reaches its key of the schema, converted to its kind', () => {
    const samples: Record<string, string> = { 'bus.url': 'redis://h:6379/0', 'store.url': 'postgres://u@h:5432/db', 'store.schema': 'sb_one', 'store.poolSize': '20', logLevel: 'warn', 'store.synchronous': 'NORMAL', nodeId: '7', 'store.commitMaxDelayMs': '7', 'gateway.path': '/socket', 'gateway.maxBufferedBytes': '65536', 'callbacks.beforeSendPolicy': 'reject', 'callbacks.timeoutMs': '3000', 'callbacks.maxAttempts': '12', 'callbacks.concurrency': '64', 'callbacks.perTargetConcurrency': '48', 'callbacks.breakerThreshold': '7', 'callbacks.commands': 'State.StateChange, C2C.CallbackAfterSendMsg', 'relations.blacklistStrategy': 'drop', 'relations.sensitiveFilter': 'replace', 'notifications.recipientsPreview': '50', 'notifications.backlogMax': '50', 'notifications.maxBufferedBytes': '65536' };
    for (const b of BINDINGS) {
      const kind = b.kind as string;
      const sample = samples[b.path] ?? (kind === 'string' ? 'x' : kind === 'bool' ? 'false' : '5000');
      const expected =
        kind === 'string' ? sample : kind === 'bool' ? false : kind === 'list' ? sample.split(',').map((x) => x.trim()) : Number(sample);
      for (const name of b.env ?? []) {
        const c = loadConfig({ env: { [name]: sample } }) as unknown as Record<string, unknown>;
        const v = b.path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], c);
        expect(v, `${name} -> ${b.path}`).toEqual(expected);
        if (kind !== 'string' && kind !== 'list') {
          const e = configError(() => loadConfig({ env: { [name]: 'not-a-value' } }));
          expect(e.message).toContain(name);
        }
      }
    }
  });

  it('programmatic overrides apply last', () => {
    const c = loadConfig({ env: { SWITCHBOARD_PORT: '2000' }, flags: { port: '3000' }, overrides: { port: 4000, store: { commitMaxBatch: 7 } } });
    expect(c.port).toBe(4000);
    expect(c.store).toMatchObject({ commitMaxBatch: 7, synchronous: 'FULL' });
  });

  describe('refuses bad input with a clear ConfigError', () => {
    it('an out-of-range port, from a file, naming the key', () => {
      const e = configError(() => loadConfig({ file: writeConfig({ port: 70000 }), env: {} }));
      expect(e.message).toMatch(/port/);
      expect(e.message).toMatch(/65535/);
    });

    it('a non-integer env value, naming the variable and the value', () => {
      const e = configError(() => loadConfig({ env: { SWITCHBOARD_PORT: 'eighty' } }));
      expect(e.message).toContain('SWITCHBOARD_PORT');
      expect(e.message).toContain('eighty');
      configError(() => loadConfig({ env: { SWITCHBOARD_NODE_ID: '1.5' } }));
      configError(() => loadConfig({ env: { SWITCHBOARD_PORT: '   ' } }));
    });

    it('a non-numeric flag, naming the flag', () => {
      const e = configError(() => loadConfig({ env: {}, flags: { port: 'x' } }));
      expect(e.message).toContain('--port');
    });

    it('a value outside an enum, listing the allowed values', () => {
      const e = configError(() => loadConfig({ env: { SWITCHBOARD_SYNCHRONOUS: 'OFF' } }));
      expect(e.message).toContain('store.synchronous');
      expect(e.message).toContain('FULL');
      expect(e.message).toContain('NORMAL');
      const l = configError(() => loadConfig({ env: { LOG_LEVEL: 'loud' } }));
      expect(l.message).toContain('logLevel');
    });

    it('a node id outside 0..31', () => {
      expect(configError(() => loadConfig({ env: { SWITCHBOARD_NODE_ID: '32' } })).message).toContain('nodeId');
      expect(configError(() => loadConfig({ env: { SWITCHBOARD_NODE_ID: '-1' } })).message).toContain('nodeId');
    });

    it('unknown keys at the top level and nested, naming them', () => {
      const top = configError(() => loadConfig({ file: writeConfig({ prot: 8080 }), env: {} }));
      expect(top.message).toContain("'prot'");
      const nested = configError(() => loadConfig({ file: writeConfig({ store: { synchronus: 'FULL' } }), env: {} }));
      expect(nested.message).toContain("'synchronus'");
      expect(nested.message).toContain('store');
    });

    it('a wrongly typed value in the file', () => {
      const e = configError(() => loadConfig({ file: writeConfig({ port: '8080' }), env: {} }));
      expect(e.message).toContain('port');
      configError(() => loadConfig({ file: writeConfig({ store: 'sqlite' }), env: {} }));
    });

    it('reports every problem at once', () => {
      const e = configError(() => loadConfig({ file: writeConfig({ port: -1, nodeId: 99, extraThing: 1 }), env: {} }));
      expect(e.message).toContain('port');
      expect(e.message).toContain('nodeId');
      expect(e.message).toContain('extraThing');
    });

    it('a missing file, a file that is not JSON, a file that is not an object', () => {
      const missing = path.join(os.tmpdir(), 'sb-no-such-dir', 'nope.json');
      expect(configError(() => loadConfig({ file: missing, env: {} })).message).toContain(missing);
      const bad = writeConfig('{ port: 1');
      expect(configError(() => loadConfig({ file: bad, env: {} })).message).toMatch(/not valid JSON/);
      const arr = writeConfig([1, 2]);
      expect(configError(() => loadConfig({ file: arr, env: {} })).message).toMatch(/JSON object/);
    });

    it('values below their minimum', () => {
      expect(configError(() => loadConfig({ env: { SWITCHBOARD_COMMIT_MAX_BATCH: '0' } })).message).toContain('store.commitMaxBatch');
      expect(configError(() => loadConfig({ env: { SWITCHBOARD_TOKEN_TTL_SECONDS: '0' } })).message).toContain('tokens.ttlSeconds');
      expect(configError(() => loadConfig({ env: { SWITCHBOARD_ADMIN_BODY_LIMIT: '10' } })).message).toContain('admin.bodyLimitBytes');
    });
  });
});

describe('databaseFile', () => {
  it('defaults to switchboard.db in the data directory', () => {
    expect(databaseFile(loadConfig({ env: {} }))).toBe(path.join('./data', 'switchboard.db'));
    expect(databaseFile(loadConfig({ env: { SWITCHBOARD_DATA_DIR: '/var/lib/sb' } }))).toBe('/var/lib/sb/switchboard.db');
  });

  it('uses store.file when set', () => {
    expect(databaseFile(loadConfig({ env: { SWITCHBOARD_DB_FILE: '/tmp/x.db' } }))).toBe('/tmp/x.db');
  });
});

describe('config number and shape strictness', () => {
  it('accepts only plain decimal numbers from env and flags', () => {
    for (const bad of ['0x50', '1e3', '12abc', ' ', '1.5']) {
      expect(() => loadConfig({ env: { SWITCHBOARD_PORT: bad } })).toThrow(ConfigError);
    }
    expect(loadConfig({ env: { SWITCHBOARD_PORT: ' 8080 ' } }).port).toBe(8080);
    expect(loadConfig({ env: { SWITCHBOARD_ADMIN_RATE_LIMIT: '2.5' } }).admin.rateLimitPerSecond).toBe(2.5);
  });

  it('reports a file value of the wrong shape even when env sets a key under it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-cfg-'));
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, JSON.stringify({ store: 'sqlite' }));
    expect(() => loadConfig({ file, env: { SWITCHBOARD_SYNCHRONOUS: 'NORMAL' } })).toThrow(/store: must be an object/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('outbox channel policies', () => {
  it('webhook\'s policy is the callbacks section (defaults, file and env), claim-ahead half the concurrency unless set', () => {
    expect(webhookPolicy(loadConfig({ env: {} }))).toEqual({
      maxAttempts: 8,
      firstRetryMs: 1000,
      maxRetryMs: 300000,
      leaseMs: 10000,
      concurrency: 256,
      perTargetConcurrency: 192,
      claimAhead: 128,
      breaker: { threshold: 5, maxOpenMs: 60000 },
    });
    const env = { SWITCHBOARD_CALLBACK_MAX_ATTEMPTS: '3', SWITCHBOARD_CALLBACK_CONCURRENCY: '10', SWITCHBOARD_CALLBACK_PER_TARGET_CONCURRENCY: '50', SWITCHBOARD_CALLBACK_LEASE_MS: '20000' };
    expect(webhookPolicy(loadConfig({ env }))).toMatchObject({ maxAttempts: 3, concurrency: 10, perTargetConcurrency: 10, claimAhead: 5, leaseMs: 20000 });
    expect(webhookPolicy(loadConfig({ env: { ...env, SWITCHBOARD_CALLBACK_CLAIM_AHEAD: '0' } })).claimAhead).toBe(0);
    expect(webhookPolicy(loadConfig({ env: { ...env, SWITCHBOARD_CALLBACK_CLAIM_AHEAD: '99' } })).claimAhead, 'capped by concurrency').toBe(10);
  });

  it('outbox.channels.<name> takes a policy per channel, each key defaulted', () => {
    const file = writeConfig({ outbox: { channels: { sms: { maxAttempts: 2, leaseMs: 5000, concurrency: 4 }, 'channel-app': {} } } });
    const c = loadConfig({ file, env: {} });
    expect(c.outbox.channels['sms']).toEqual({ ...OUTBOX_CHANNEL_DEFAULTS, maxAttempts: 2, leaseMs: 5000, concurrency: 4 });
    expect(c.outbox.channels['channel-app']).toEqual({ ...OUTBOX_CHANNEL_DEFAULTS });
    const p = channelPolicies(c, ['robot']);
    expect(Object.keys(p).sort()).toEqual(['channel-app', 'robot', 'sms']);
    expect(p['sms']).toEqual({
      maxAttempts: 2,
      firstRetryMs: 1000,
      maxRetryMs: 300000,
      leaseMs: 5000,
      concurrency: 4,
      perTargetConcurrency: 4,
      claimAhead: 2,
      breaker: { threshold: 5, maxOpenMs: 60000 },
    });
    expect(p['robot'], 'a channel with a sender but no configuration gets the defaults').toEqual(p['channel-app']);
    expect(loadConfig({ env: {} }).outbox).toEqual({ channels: {} });
  });

  it('refuses a bad channel name, an unknown or out-of-range policy key, and webhook under outbox.channels', () => {
    const bad = configError(() => loadConfig({ file: writeConfig({ outbox: { channels: { 'Bad Name': {} } } }), env: {} }));
    expect(bad.message).toContain('outbox.channels');
    expect(bad.message).toContain("'Bad Name'");
    const unknown = configError(() => loadConfig({ file: writeConfig({ outbox: { channels: { sms: { retries: 3 } } } }), env: {} }));
    expect(unknown.message).toContain('outbox.channels.sms');
    expect(unknown.message).toContain("'retries'");
    const range = configError(() => loadConfig({ file: writeConfig({ outbox: { channels: { sms: { leaseMs: 10, maxAttempts: 0 } } } }), env: {} }));
    expect(range.message).toContain('outbox.channels.sms.leaseMs');
    expect(range.message).toContain('outbox.channels.sms.maxAttempts');
    const webhook = configError(() => loadConfig({ file: writeConfig({ outbox: { channels: { webhook: { maxAttempts: 2 } } } }), env: {} }));
    expect(webhook.message).toContain('outbox.channels.webhook');
    expect(webhook.message).toContain('callbacks.maxAttempts');
  });
});
