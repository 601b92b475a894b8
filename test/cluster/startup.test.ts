/**
 * Start-up of a node whose PostgreSQL cannot be reached: `switchboard serve` stops with exit code 1 and
 * one line naming the store it could not open (password hidden) and why — before it listens.
 */
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startChild } from '../helpers/child-server.js';
import { removeDir, tempDir } from '../helpers/temp.js';

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe('start-up without PostgreSQL', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) removeDir(d);
  });

  it('exits with code 1 and names the unreachable store, password hidden', async () => {
    const port = await closedPort();
    const dir = tempDir('sb-nopg-');
    dirs.push(dir);
    const url = `postgres://postgres:hunter2@127.0.0.1:${port}/test`;
    const err = await startChild(['--port', '0', '--host', '127.0.0.1', '--data', dir], {
      SWITCHBOARD_ADMIN_SECRET: 'startup-secret',
      SWITCHBOARD_STORE_URL: url,
    }).then(
      () => new Error('the server started without its database'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(/server exited \(1\) before listening/);
    expect(err.message).toContain(`cannot open the PostgreSQL store at postgres://postgres:***@127.0.0.1:${port}/test: `);
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(err.message).not.toContain('hunter2');
  });
});
