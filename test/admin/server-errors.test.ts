import net, { type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useServer } from '../helpers/use-server.js';

/**
 * After listen, Fastify leaves no 'error' listener on its HTTP servers, so an error emitted by a
 * listening server (accept failing with EMFILE/ENFILE when libuv cannot shed the connection) would
 * throw and end the process. Both ports now log it and keep serving. The error is emitted by hand on
 * the real server object: exhausting descriptors reliably enough to hit that path is not possible.
 */

const t = useServer({ admin: { port: 0 } });

function listeningServer(baseUrl: string): net.Server {
  const port = Number(new URL(baseUrl).port);
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  const found = handles.filter((h): h is net.Server => h instanceof net.Server && (h.address() as AddressInfo | null)?.port === port);
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('errors on a listening server', () => {
  it('are logged, not thrown, on the main and the admin port; both keep serving', async () => {
    for (const base of [t.url, t.server.adminUrl!]) {
      const server = listeningServer(base);
      expect(server.listenerCount('error')).toBeGreaterThan(0);
      server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' }));
      const r = await fetch(`${base}/admin/health`);
      expect(r.status).toBe(200);
    }
    expect(await t.admin.code('/user/get_info', { userId: 'nobody' })).toBe(253);
  });
});
