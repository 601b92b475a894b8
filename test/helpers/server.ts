import type WebSocket from 'ws';
import type { ClientOptions } from '../../sdk/src/index.js';
import { loadConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/main.js';
import { AdminClient } from './admin-client.js';
import { mergeConfig, serverBackend, type ProvisionedBackend } from './backends.js';
import { createUsers, fresh } from './messages.js';
import { removeDir, tempDir } from './temp.js';
import { device, getToken, sdkDevice, type SdkDevice, type WsClient } from './ws-client.js';

export { tempDir } from './temp.js';

export const TEST_SECRET = 'test-secret-0123456789';

export type ConfigOverrides = Record<string, unknown>;

/**
 * A real server in this process, on 127.0.0.1 port 0, in a fresh data directory, with a known admin
 * secret, on the backend the environment names (test/helpers/backends.ts). Its properties follow the
 * server in force: after `restart()` they describe the new one.
 */
export interface TestServer {
  readonly server: RunningServer;
  readonly url: string;
  readonly secret: string;
  /** Signs like Wildfire's Java SDK; its nonces never repeat within the test process. */
  readonly admin: AdminClient;
  readonly dataDir: string;
  /** Stop the server (clients see 1001); its data stays for `restart()`. */
  stop(): Promise<void>;
  /** Start again on the same data, on the same port unless `port: 'any'` (stops first if running). */
  restart(opts?: { port?: 'same' | 'any' }): Promise<void>;
  /** Stop and free everything (data directory, provisioned backend). Idempotent. */
  close(): Promise<void>;

  /** A raw device of `userId` on this server: a fresh token for `clientId`, connected and synced. */
  device(userId: string, clientId?: string, opts?: { cursor?: number | string; ws?: WebSocket.ClientOptions; platform?: number }): Promise<WsClient>;
  /** A token of `userId` for `clientId` (platform 1 unless given). */
  token(userId: string, clientId: string, platform?: number): Promise<string>;
  /** An SDK client of this server (its WebSocket URL; reconnect off unless given); not connected yet. */
  sdk(opts: Omit<ClientOptions, 'url'> & { url?: string }): SdkDevice;
  /** Users with ids fresh in this run (`fresh(prefix)` each), created through the admin API; their ids. */
  users<const P extends readonly string[]>(...prefixes: P): Promise<{ -readonly [K in keyof P]: string }>;
}

/** Everything a server of the tests starts from; `overrides` (a test's own) win over all of it. */
function baseConfig(dataDir: string): ConfigOverrides {
  return { host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', admin: { secret: TEST_SECRET } };
}

class InProcessServer implements TestServer {
  private running: { server: RunningServer; admin: AdminClient } | undefined;
  private port = 0;
  private closed = false;

  constructor(
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
    private readonly backend: ProvisionedBackend,
    private readonly overrides: ConfigOverrides,
  ) {}

  private get current(): { server: RunningServer; admin: AdminClient } {
    if (!this.running) throw new Error(this.closed ? 'the test server is closed' : 'the test server is stopped (restart() starts it again)');
    return this.running;
  }

  get server(): RunningServer {
    return this.current.server;
  }
  get url(): string {
    return this.current.server.url;
  }
  get secret(): string {
    return this.current.server.secret;
  }
  get admin(): AdminClient {
    return this.current.admin;
  }

  device(userId: string, clientId?: string, opts?: { cursor?: number | string; ws?: WebSocket.ClientOptions; platform?: number }): Promise<WsClient> {
    return device(this.url, this.admin, userId, clientId, opts);
  }

  token(userId: string, clientId: string, platform?: number): Promise<string> {
    return getToken(this.admin, userId, clientId, platform);
  }

  sdk(opts: Omit<ClientOptions, 'url'> & { url?: string }): SdkDevice {
    return sdkDevice(this.url, opts);
  }

  async users<const P extends readonly string[]>(...prefixes: P): Promise<{ -readonly [K in keyof P]: string }> {
    const ids = prefixes.map((p) => fresh(p));
    await createUsers(this.admin, ...ids);
    return ids as { -readonly [K in keyof P]: string };
  }

  async launch(port: number): Promise<void> {
    const merged = mergeConfig(mergeConfig(baseConfig(this.dataDir), this.backend.config), this.overrides);
    const config = loadConfig({ env: {}, overrides: port === 0 ? merged : { ...merged, port } });
    const server = await startServer(config);
    this.running = { server, admin: new AdminClient(server.url, server.secret) };
    this.port = Number(new URL(server.url).port);
  }

  async stop(): Promise<void> {
    const s = this.running;
    this.running = undefined;
    await s?.server.close();
  }

  async restart(opts: { port?: 'same' | 'any' } = {}): Promise<void> {
    if (this.closed) throw new Error('the test server is closed');
    await this.stop();
    await this.launch(opts.port === 'any' ? 0 : this.port);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.stop();
    } finally {
      await this.backend.dispose();
      if (this.ownsDataDir) removeDir(this.dataDir);
    }
  }
}

/**
 * Start a test server; the caller closes it. Inside a `describe`, prefer `useServer` (use-server.ts),
 * which starts and closes it around the tests. `opts.dataDir`: an existing directory the caller keeps.
 */
export async function startTestServer(overrides: ConfigOverrides = {}, opts: { dataDir?: string } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir();
  const owns = opts.dataDir === undefined;
  let backend: ProvisionedBackend | undefined;
  try {
    backend = await serverBackend().provision(dataDir);
    const s = new InProcessServer(dataDir, owns, backend, overrides);
    await s.launch(0);
    return s;
  } catch (err) {
    await backend?.dispose();
    if (owns) removeDir(dataDir);
    throw err;
  }
}
