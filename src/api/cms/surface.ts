import type { Hub } from '../../core/hub.js';
import type { Surface } from '../../http/surface.js';
import type { Logger } from '../../log.js';
import { LiveInbox, type LiveInboxOptions } from './live.js';
import { cmsNotFound, cmsPlugin } from './plugin.js';

export interface CmsSurfaceOptions extends Omit<LiveInboxOptions, 'path'> {
  hub: Hub;
  log: Logger;
  bodyLimit: number;
  recipientsPreview: number;
  /** config notifications.corsOrigins: browser origins allowed to call the routes (none: no CORS). */
  corsOrigins?: readonly string[];
}

export const CMS_PREFIX = '/v1/cms';

/**
 * The notification centre (seed 004) as a surface under /v1/cms: operators' notify/* and users'
 * message/* routes in the seed's envelope `{error_code, msg, …}`, authenticated by IM user tokens,
 * and the live inbox WebSocket /v1/cms/getMessageRealTime. docs/notifications.md.
 */
export function cmsSurface(opts: CmsSurfaceOptions): Surface & { live: LiveInbox } {
  const live = new LiveInbox(opts.hub, { ...opts, path: `${CMS_PREFIX}/getMessageRealTime` }, opts.log);
  return {
    name: 'notifications',
    prefix: CMS_PREFIX,
    live,
    notFound: cmsNotFound,
    register: (app) =>
      cmsPlugin(app, { hub: opts.hub, log: opts.log, bodyLimit: opts.bodyLimit, recipientsPreview: opts.recipientsPreview, corsOrigins: opts.corsOrigins ?? [] }),
    upgrades: [live.endpoint()],
  };
}
