#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/load.js';
import { startServer, type RunningServer } from './main.js';
import { VERSION } from './version.js';

const HELP = `switchboard ${VERSION} — self-hosted messaging hub (Wildfire-compatible admin API)

Usage:
  switchboard serve [options]     start the server
  switchboard --help              show this help
  switchboard --version           print the version

Options of serve (each also settable by env and in the config file; see docs/configuration.md):
  --port N            main port (env SWITCHBOARD_PORT, default 18080; 0 picks a free port)
  --host ADDR         bind address (env SWITCHBOARD_HOST, default 0.0.0.0)
  --data DIR          data directory (env SWITCHBOARD_DATA_DIR, default ./data)
  --config FILE       JSON config file (env SWITCHBOARD_CONFIG)
  --admin-port N      also serve /admin on this port (env SWITCHBOARD_ADMIN_PORT)
  --admin-host ADDR   bind address of the admin port (env SWITCHBOARD_ADMIN_HOST)
  --db FILE           SQLite file (env SWITCHBOARD_DB_FILE, default DIR/switchboard.db)
  --synchronous MODE  FULL (default: fsync per group commit) or NORMAL (env SWITCHBOARD_SYNCHRONOUS)
  --node-id N         node id 0..31, distinct per node (env SWITCHBOARD_NODE_ID; on PostgreSQL the preferred one of a lease)
  --store-url URL     postgres://… : the PostgreSQL store, for several nodes (env SWITCHBOARD_STORE_URL; default SQLite in DIR)
  --bus-url URL       redis://… : the Redis bus, for several nodes (env SWITCHBOARD_BUS_URL; default in-process)
  --log-level LEVEL   fatal|error|warn|info|debug|trace|silent (env LOG_LEVEL)

The admin secret comes from SWITCHBOARD_ADMIN_SECRET (or admin.secret in the config file); when unset,
one is generated on first start, kept in DIR/admin-secret and printed once.
Once ready, serve prints one line: "listening on http://HOST:PORT".`;

const FLAGS = ['port', 'host', 'data', 'config', 'admin-port', 'admin-host', 'db', 'synchronous', 'node-id', 'store-url', 'bus-url', 'log-level'] as const;

function fail(message: string, code = 2): never {
  process.stderr.write(`switchboard: ${message}\n`);
  process.exit(code);
}

async function serve(args: string[]): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        ...Object.fromEntries(FLAGS.map((f) => [f, { type: 'string' as const }])),
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    fail(`${(e as Error).message}\n\n${HELP}`);
  }
  if (values['help']) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const flags: Record<string, string | undefined> = {};
  for (const f of FLAGS) {
    const v = values[f];
    if (typeof v === 'string') flags[f] = v;
  }
  let config;
  try {
    config = loadConfig({ file: flags['config'], env: process.env, flags });
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message, 1);
    throw e;
  }

  let server: RunningServer;
  try {
    server = await startServer(config);
  } catch (e) {
    fail(`cannot start: ${(e as Error).message}`, 1);
  }
  if (server.secretGenerated) {
    process.stdout.write(
      `admin secret generated and kept in ${server.secretFile}: ${server.secret}\n` +
        `admin API: ${server.adminUrl ?? server.url}/admin/ (sign each request with it; see docs/admin-api.md)\n`,
    );
  }
  if (server.adminUrl) process.stdout.write(`admin API also on ${server.adminUrl}/admin/\n`);
  // Last line of start-up: scripts wait for it.
  process.stdout.write(`listening on ${server.url}\n`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    server.log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      server.log.error('graceful shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        server.log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Policy for a bug that escapes every handler: Node's default stays (stack on stderr, exit code 1,
  // for uncaught exceptions and unhandled rejections alike) — a process in an unknown state is not
  // kept running; a supervisor restarts it and devices resync from their cursors. This monitor only
  // puts the error in the JSON log first, where operators look. It handles nothing.
  process.on('uncaughtExceptionMonitor', (err, origin) => {
    server.log.fatal({ err, origin }, 'uncaught error: the process exits (code 1)');
  });
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  if (cmd === '--version' || cmd === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (cmd === 'serve') return serve(rest);
  fail(`unknown command '${cmd}'\n\n${HELP}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`switchboard: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
