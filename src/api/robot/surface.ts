import type { Hub } from '../../core/hub.js';
import type { Metrics } from '../../http/metrics.js';
import type { Surface } from '../../http/surface.js';
import type { Logger } from '../../log.js';
import { adminPlugin } from '../admin/plugin.js';
import type { CallerAuth } from './auth.js';
import { channelApiRoutes } from './channel-routes.js';
import { robotApiRoutes } from './routes.js';

export interface RobotSurfaceOptions {
  hub: Hub;
  auth: CallerAuth;
  log: Logger;
  metrics: Metrics;
  bodyLimit: number;
}

/**
 * Wildfire's robot API (the RobotService SDK) as a surface under /robot on the main port: each call
 * signed by a robot with its own id and secret (RobotAuth), answered in Wildfire's envelope
 * `{code, msg[, result]}` exactly as the admin API (same body parsing, errors and 404).
 */
export function robotSurface(opts: RobotSurfaceOptions): Surface {
  return {
    name: 'robot',
    prefix: '/robot',
    ports: ['main'],
    register: (app) =>
      adminPlugin(app, { hub: opts.hub, auth: opts.auth, bodyLimit: opts.bodyLimit, metrics: opts.metrics, log: opts.log, routes: robotApiRoutes(opts.hub), metricPrefix: '/robot' }),
  };
}

/**
 * Wildfire's channel API (the ChannelServiceApi SDK) under /channel on the main port: each call signed
 * by a channel with its own id and secret (header `cid`), in the same envelope.
 */
export function channelApiSurface(opts: RobotSurfaceOptions): Surface {
  return {
    name: 'channel-api',
    prefix: '/channel',
    ports: ['main'],
    register: (app) =>
      adminPlugin(app, { hub: opts.hub, auth: opts.auth, bodyLimit: opts.bodyLimit, metrics: opts.metrics, log: opts.log, routes: channelApiRoutes(opts.hub), metricPrefix: '/channel' }),
  };
}
