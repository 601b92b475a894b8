/**
 * The live inbox across two nodes over Redis: node A is the test server (Redis bus on a prefix of its
 * own), node B an in-process node over the same store with its own Redis bus, Hub and live inbox
 * endpoint. Pushes of a send through A, reads and deletes through A, and an operator's delete through
 * A reach a socket on B through Redis only.
 *
 * Needs the Redis at SWITCHBOARD_TEST_REDIS_URL (default redis://127.0.0.1:6379).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveInbox } from '../../src/api/cms/live.js';
import type { RedisBus } from '../../src/bus/redis-bus.js';
import { Hub } from '../../src/core/hub.js';
import { routeUpgrades } from '../../src/http/upgrade-router.js';
import { createLogger } from '../../src/log.js';
import { openRedisBus, testPrefix, testRedisUrl } from '../helpers/backends.js';
import { CmsClient, LiveInboxClient, members, operator } from '../helpers/cms.js';
import { useServer } from '../helpers/use-server.js';

const redisUrl = testRedisUrl();
const prefix = testPrefix();

describe('notification centre: the live inbox on two nodes over Redis', () => {
  const t = useServer({ bus: { url: redisUrl, prefix, heartbeatMs: 200 } });
  let b: { url: string; bus: RedisBus; hub: Hub; live: LiveInbox; server: http.Server };

  beforeAll(async () => {
    const log = createLogger('silent');
    const bus = await openRedisBus(redisUrl, prefix);
    const hub = new Hub(t.server.hub.store, bus, { tokenTtlMs: 3_600_000, maxGroupMembers: 2000 });
    const live = new LiveInbox(hub, { path: '/v1/cms/getMessageRealTime', heartbeatMs: 30_000, backlogMax: 200, maxBufferedBytes: 1 << 22, maxFrameBytes: 4096 }, log);
    const server = http.createServer((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    routeUpgrades(server, [live.endpoint()], log);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    b = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bus, hub, live, server };
  });
  afterAll(async () => {
    b.live.close();
    b.hub.close();
    b.server.closeAllConnections();
    await new Promise<void>((resolve) => b.server.close(() => resolve()));
    await b.bus.close();
  });

  it('a send, a read, a delete and a retraction through node A reach the socket on node B', async () => {
    const cms = new CmsClient(t.url);
    const op = await operator(t);
    const [a] = await members(t, 1);
    const onB = await LiveInboxClient.open(b.url, a!.token);
    const onA = await LiveInboxClient.open(t.url, a!.token);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const id = await cms.add(op.token, { title: `n${i}`, send_to: [a!.userId] });
        await cms.send(op.token, id);
        ids.push(id);
        expect(await onB.waitItem(id)).toMatchObject({ id, title: `n${i}`, has_read: false });
        await onA.waitItem(id);
      }
      await cms.ok('PUT', `/message/${ids[0]}/readOneNotifyMessage`, a!.token);
      expect(await onB.waitEvent('read')).toEqual({ event: 'read', ids: [ids[0]], unread: 2 });
      await cms.ok('DELETE', `/message/${ids[1]}/deleteOne`, a!.token);
      expect(await onB.waitEvent('delete')).toEqual({ event: 'delete', ids: [ids[1]], unread: 1 });
      const from = onB.frames.items.length;
      await cms.ok('DELETE', `/notify/${ids[2]}/delete`, op.token);
      expect(await onB.waitEvent('delete', { from })).toEqual({ event: 'delete', ids: [ids[2]] });
      // A new socket on B gets the backlog from the shared store: nothing unread left.
      const again = await LiveInboxClient.open(b.url, a!.token);
      expect(again.backlog()).toEqual([]);
      again.close();
    } finally {
      onA.close();
      onB.close();
    }
  });
});
