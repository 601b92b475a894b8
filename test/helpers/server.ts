import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/main.js';
import { AdminClient } from './admin-client.js';

export const TEST_SECRET = 'test-secret-0123456789';

export interface TestServer {
  server: RunningServer;
  url: string;
  admin: AdminClient;
  dataDir: string;
  close(): Promise<void>;
}

export function tempDir(prefix = 'sb-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)
        ? merge(cur as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** A real server on 127.0.0.1, port 0, in a fresh data directory, with a known admin secret. */
export async function startTestServer(overrides: Record<string, unknown> = {}, opts: { dataDir?: string } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir();
  const base: Record<string, unknown> = {
    host: '127.0.0.1',
    port: 0,
    dataDir,
    logLevel: 'silent',
    admin: { secret: TEST_SECRET },
    store: { synchronous: 'NORMAL' },
  };
  const config = loadConfig({ env: {}, overrides: merge(base, overrides) });
  const server = await startServer(config);
  return {
    server,
    url: server.url,
    admin: new AdminClient(server.url, server.secret),
    dataDir,
    close: async () => {
      await server.close();
      if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
