import type { Surface } from '../../http/surface.js';
import { adminRoutes, type AdminApiOptions } from './index.js';
import { adminNotFound, adminPlugin } from './plugin.js';

/**
 * The admin API (seed 001 and the rest of Wildfire's admin family) as a surface under /admin: signed
 * with nonce/timestamp/sign, answered in Wildfire's envelope `{code, msg[, result]}`. Served on the
 * main port and, when configured, on the separate admin port, where every unknown path also gets the
 * envelope's 404.
 */
export function adminSurface(opts: AdminApiOptions): Surface {
  return {
    name: 'admin',
    prefix: '/admin',
    ports: ['main', 'admin'],
    notFound: adminNotFound(opts.metrics),
    register: (app) =>
      adminPlugin(app, { hub: opts.hub, auth: opts.auth, bodyLimit: opts.bodyLimit, metrics: opts.metrics, log: opts.log, routes: adminRoutes(opts) }),
  };
}
