import type { Hub } from '../../core/hub.js';
import type { Metrics } from '../../http/metrics.js';
import type { Surface } from '../../http/surface.js';
import type { Logger } from '../../log.js';
import { adminNotFound, adminPlugin } from '../admin/plugin.js';
import type { RobotAuth } from './auth.js';
import { robotApiRoutes } from './routes.js';

export interface RobotSurfaceOptions {
  hub: Hub;
  auth: RobotAuth;
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
      adminPlugin(app, { hub: opts.hub, auth: opts.auth, bodyLimit: opts.bodyLimit, metrics: opts.metrics, log: opts.log, routes: robotApiRoutes(opts.hub) }),
  };
}
