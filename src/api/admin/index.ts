import { Type } from '@sinclair/typebox';
import { HealthResult, healthOf } from './health.js';
import type { Hub } from '../../core/hub.js';
import type { Metrics } from '../../http/metrics.js';
import type { Logger } from '../../log.js';
import { adminRoute, type AdminRouteDef } from './plugin.js';
import { channelRoutes, groupRoutes } from './routes/groups.js';
import { channelAppRoutes } from './routes/channel-apps.js';
import { channelSessionRoutes } from './routes/channel-sessions.js';
import { chatroomRoutes } from './routes/chatrooms.js';
import { messageRoutes } from './routes/messages.js';
import { relationRoutes } from './routes/relations.js';
import { userRoutes } from './routes/users.js';
import { deviceRoutes } from './routes/devices.js';
import { robotRoutes } from './routes/robots.js';
import { conferenceRoutes, systemRoutes } from './routes/system.js';
import type { AdminAuth } from './signing.js';

export interface AdminApiOptions {
  hub: Hub;
  auth: AdminAuth;
  bodyLimit: number;
  metrics: Metrics;
  log: Logger;
  /** Extra routes from other layers (e.g. the real-time gateway's online status). */
  extraRoutes?: AdminRouteDef[];
  /** This node's id (config `nodeId`); /admin/health reports it as `node<nodeId + 1>`. Default 0. */
  nodeId?: number;
  /** The data directory (config `dataDir`), whose file system /admin/health reports. Default: the working directory. */
  dataDir?: string;
}

/** Every route of the admin API (mounted under /admin by adminSurface). */
export function adminRoutes(opts: AdminApiOptions): AdminRouteDef[] {
  const health = adminRoute({
    path: '/health',
    summary: 'Liveness of the admin API (unsigned, as in Wildfire): always code 0, whatever the body; the result is [{node, cpu, memory, disk}]',
    tags: ['health'],
    unsigned: true,
    body: Type.Object({}),
    result: HealthResult,
    handler: () => healthOf(opts.nodeId ?? 0, opts.dataDir ?? process.cwd()),
  });
  const routes = [
    health,
    ...messageRoutes(opts.hub),
    ...userRoutes(opts.hub),
    ...groupRoutes(opts.hub),
    ...channelRoutes(opts.hub),
    ...chatroomRoutes(opts.hub),
    ...robotRoutes(opts.hub),
    ...deviceRoutes(opts.hub),
    ...systemRoutes(opts.hub),
    ...conferenceRoutes(),
    ...relationRoutes(opts.hub),
    ...channelAppRoutes(opts.hub),
    ...channelSessionRoutes(opts.hub),
    ...(opts.extraRoutes ?? []),
  ];
  return routes;
}
