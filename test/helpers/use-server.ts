import { afterAll, afterEach, beforeAll } from 'vitest';
import { startTestServer, type ConfigOverrides, type TestServer } from './server.js';
import { closeAllClients } from './ws-client.js';

/** What `useServer` returns: the test server, usable from the first hook or test on. */
export type ServerHandle = TestServer;

/**
 * The end-to-end fixture: `const t = useServer(overrides)` inside a `describe` (or at a file's top
 * level) starts a real server before the first test (beforeAll: 127.0.0.1 port 0, a fresh data
 * directory, the backend the environment names, `overrides` merged over the defaults) and closes it
 * after the last (afterAll). After each test, every raw and SDK client opened in it is closed.
 *
 * The handle is usable from the first hook or test on; touching it earlier (while the describe is
 * being collected) throws. Overrides that depend on something started in an earlier hook (a callback
 * receiver's URL) are given as a function, called when the server starts.
 */
export function useServer(overrides: ConfigOverrides | (() => ConfigOverrides) = {}): ServerHandle {
  let current: TestServer | undefined;
  beforeAll(async () => {
    current = await startTestServer(typeof overrides === 'function' ? overrides() : overrides);
  });
  afterEach(closeAllClients);
  afterAll(async () => {
    await closeAllClients();
    const s = current;
    current = undefined;
    await s?.close();
  });
  return handleOf(() => {
    if (!current) throw new Error('useServer: the server starts in beforeAll; use the handle inside hooks and tests');
    return current;
  });
}

/** A TestServer that forwards every member to whatever server `ready` returns at the time of use. */
function handleOf(ready: () => TestServer): ServerHandle {
  return {
    get server() {
      return ready().server;
    },
    get url() {
      return ready().url;
    },
    get secret() {
      return ready().secret;
    },
    get admin() {
      return ready().admin;
    },
    get dataDir() {
      return ready().dataDir;
    },
    stop: () => ready().stop(),
    restart: (opts) => ready().restart(opts),
    close: () => ready().close(),
    device: (userId, clientId, opts) => ready().device(userId, clientId, opts),
    token: (userId, clientId, platform) => ready().token(userId, clientId, platform),
    sdk: (opts) => ready().sdk(opts),
    users<const P extends readonly string[]>(...prefixes: P) {
      return ready().users<P>(...prefixes);
    },
  };
}
