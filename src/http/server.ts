import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '../log.js';
import { drainBeforeReply } from './drain.js';
import type { Metrics } from './metrics.js';
import type { Surface } from './surface.js';
import { routeUpgrades } from './upgrade-router.js';

export interface HttpDeps {
  /** The API surfaces, in registration order (composed in main.ts). */
  surfaces: readonly Surface[];
  /** Largest request body (bytes); a surface may narrow it for its routes. */
  bodyLimit: number;
  /** config `trustedProxies` (client-address.ts): request.ip is read through them (default none). */
  trustedProxies?: readonly string[];
  log: Logger;
  metrics: Metrics;
  /** Whether the store answers (GET /ready). */
  ready: () => Promise<boolean>;
  version: string;
}

/**
 * A reply sent before its request body was read waits for the rest of the body, up to this many
 * times the body limit and this long (drain.ts); a client sending more or for longer is cut off.
 */
export const DRAIN_BODY_LIMITS = 4;
export const DRAIN_MS = 3000;
/**
 * A whole request (headers and body) must arrive within this long, else 408 and the socket is closed:
 * a client trickling its body cannot hold a socket forever. Node does not apply it to upgraded
 * (WebSocket) sockets. Fastify's default is no limit.
 */
export const REQUEST_TIMEOUT_MS = 60_000;

function baseApp(bodyLimit: number, trustedProxies: readonly string[], surfaces: readonly Surface[] = []): FastifyInstance {
  const app = Fastify({
    // A path whose parameter cannot be decoded ("%zz") or is longer than the router's limit matches no
    // route: it gets the 404 of the surface whose prefix it is under (in that surface's envelope), as
    // any other unknown path there; elsewhere Fastify's own 400 / 414.
    frameworkErrors: (err, req: FastifyRequest, reply: FastifyReply) => {
      const s = surfaces.find((x) => x.notFound && x.prefix !== '' && (req.url === x.prefix || req.url.startsWith(`${x.prefix}/`)));
      if (s?.notFound) {
        s.notFound(req, reply);
        return;
      }
      const status = err.statusCode ?? 400;
      const body = JSON.stringify({ error: 'Bad Request', code: err.code, message: err.message, statusCode: status });
      void reply.code(status).header('content-type', 'application/json').send(body);
    },
    // No Fastify logger: a per-request child logger costs ~20 µs on the hot path, and request logging
    // would risk writing signatures and tokens. Our code logs through its own pino instance.
    logger: false,
    bodyLimit,
    // request.ip: the client behind trusted proxies, the same rule as WebSocket upgrades (client-address.ts).
    trustProxy: trustedProxies.length > 0 ? [...trustedProxies] : false,
    // In-flight and keep-alive requests during a graceful close are served, not answered 503.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    requestTimeout: REQUEST_TIMEOUT_MS,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
  });
  // Root hook, added before any route or plugin: every route, error and 404 reply inherits it.
  drainBeforeReply(app, { maxBytes: DRAIN_BODY_LIMITS * bodyLimit, maxMs: DRAIN_MS });
  return app;
}

const NOT_FOUND_BODY = JSON.stringify({ status: 'not found' });

type Handler = (req: FastifyRequest, reply: FastifyReply) => void;

/**
 * `notFound` answers every request for no route of this app's root context, including one whose body
 * fails to parse or is too large before the 404 handler would run (Fastify parses it first). Other
 * errors keep Fastify's default handling.
 */
function notFoundEverywhere(app: FastifyInstance, notFound: Handler): void {
  app.setNotFoundHandler(notFound);
  app.setErrorHandler((err, req, reply) => {
    if (req.routeOptions.url === undefined) notFound(req, reply);
    else void reply.send(err);
  });
}

/** Mount each surface served on `port` in its own encapsulated context at its prefix. */
async function mountSurfaces(app: FastifyInstance, surfaces: readonly Surface[], port: 'main' | 'admin'): Promise<void> {
  for (const s of surfaces) {
    if (!(s.ports ?? ['main']).includes(port)) continue;
    await app.register(async (scope) => s.register(scope), { prefix: s.prefix });
  }
}

/** The main port: health, readiness, metrics, OpenAPI docs and every surface served on it. */
export async function buildMainApp(deps: HttpDeps): Promise<FastifyInstance> {
  const app = baseApp(deps.bodyLimit, deps.trustedProxies ?? [], deps.surfaces.filter((s) => (s.ports ?? ['main']).includes('main')));
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Switchboard',
        description:
          'Admin API compatible with Wildfire IM (seed 001). Every admin call is a POST with a JSON body, signed with the headers ' +
          'nonce, timestamp (ms) and sign = sha1(nonce|secret|timestamp) in lowercase hex; replies are HTTP 200 with {code, msg, result}.',
        version: deps.version,
      },
      components: {
        securitySchemes: {
          nonce: { type: 'apiKey', in: 'header', name: 'nonce' },
          timestamp: { type: 'apiKey', in: 'header', name: 'timestamp' },
          sign: { type: 'apiKey', in: 'header', name: 'sign' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Unknown paths outside every surface's prefix (each surface answers its own in its envelope): a
  // JSON 404 in the style of /health and /ready, with a Content-Length like every reply.
  notFoundEverywhere(app, (_req, reply) => {
    void reply.code(404).header('content-type', 'application/json; charset=utf-8').send(NOT_FOUND_BODY);
  });
  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/ready', { schema: { hide: true } }, async (_req, reply) => {
    const ok = await deps.ready();
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable' });
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.header('content-type', deps.metrics.registry.contentType).send(body);
  });
  await mountSurfaces(app, deps.surfaces, 'main');
  routeUpgrades(app.server, deps.surfaces.flatMap((s) => s.upgrades ?? []), deps.log);
  return app;
}

/**
 * The optional separate admin port: only the surfaces that ask for it (the admin API), so operators can
 * firewall it. Unknown paths get the 404 of the first of them (Wildfire's envelope for the admin API).
 */
export async function buildAdminApp(deps: HttpDeps): Promise<FastifyInstance> {
  const served = deps.surfaces.filter((s) => (s.ports ?? ['main']).includes('admin'));
  const app = baseApp(deps.bodyLimit, deps.trustedProxies ?? [], served);
  const notFound = served.find((s) => s.notFound)?.notFound;
  if (notFound) notFoundEverywhere(app, notFound);
  await mountSurfaces(app, served, 'admin');
  return app;
}
