import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RedisBus } from '../../src/bus/redis-bus.js';
import { RedisPresence } from '../../src/bus/redis-presence.js';
import { Hub } from '../../src/core/hub.js';
import type { Store } from '../../src/core/ports/store.js';
import { Gateway, type GatewayOptions } from '../../src/delivery/gateway.js';
import { routeUpgrades } from '../../src/http/upgrade-router.js';
import { createLogger } from '../../src/log.js';
import { openRedisBus } from '../helpers/backends.js';
import { GATEWAY_DEFAULTS } from './gateway-harness.js';

/**
 * Another node of a cluster, in process: its own Redis bus and presence on the test server's prefix,
 * its own Hub (caches, services) and gateway on its own port 0, over the test server's store (the one
 * store of the cluster, as PostgreSQL will be). Messages sent through the test server (node A) reach
 * this node's devices through Redis only.
 */
export interface ClusterNode {
  url: string;
  nodeId: number;
  bus: RedisBus;
  hub: Hub;
  gateway: Gateway;
  close(): Promise<void>;
}

export async function startNode(
  store: Store,
  redis: { url: string; prefix: string },
  nodeId: number,
  opts: Partial<GatewayOptions> = {},
): Promise<ClusterNode> {
  const log = createLogger('silent');
  const bus = await openRedisBus(redis.url, redis.prefix);
  const presence = await RedisPresence.connect({ url: redis.url, prefix: redis.prefix, nodeId });
  const hub = new Hub(store, bus, { tokenTtlMs: 3_600_000, maxGroupMembers: 2000 });
  const gateway = new Gateway(hub, nodeId, { ...GATEWAY_DEFAULTS, ...opts }, log, { connections: () => undefined, delivered: () => undefined }, presence);
  const server = http.createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  routeUpgrades(server, [gateway.endpoint()], log);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    nodeId,
    bus,
    hub,
    gateway,
    close: async () => {
      gateway.close();
      hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await presence.close();
      await bus.close();
    },
  };
}
