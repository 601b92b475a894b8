import type { Static, TSchema } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CoreError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../http/metrics.js';
import { OK_MSG, toEnvelope, WILDFIRE_CODES } from './envelope.js';
import type { AdminAuth } from './signing.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Admin routes served without a signature (only /admin/health). */
    unsigned?: boolean;
    /** A body that is a bare JSON string is taken as `{[bareString]: that string}` (user/get_info_by_email). */
    bareString?: string;
  }
}

/** Exactly the content type Wildfire answers with. */
export const JSON_CT = 'application/json;charset=utf-8';

export interface AdminRouteDef {
  path: string;
  summary: string;
  tags: string[];
  body: TSchema;
  result?: TSchema;
  /** Only /admin/health: no signature. */
  unsigned?: boolean;
  /** The SDK posts this route's one field as a bare JSON string: accept it as `{[bareString]: …}`. */
  bareString?: string;
  handler: (body: unknown, req: FastifyRequest) => Promise<unknown>;
}

/**
 * Declare an admin route. `handler` gets the validated body and returns the `result` of the envelope
 * (or nothing, for routes whose reply is just `{code: 0, msg: "success"}`).
 */
export function adminRoute<B extends TSchema, R extends TSchema | undefined = undefined>(def: {
  path: string;
  summary: string;
  tags: string[];
  body: B;
  result?: R;
  unsigned?: boolean;
  bareString?: string;
  handler: (body: Static<B>, req: FastifyRequest) => Promise<R extends TSchema ? Static<R> : void>;
}): AdminRouteDef {
  return def as unknown as AdminRouteDef;
}

/**
 * What checks a request's signature headers: throws (or rejects) with the surface's own error or a
 * CoreError. The admin API's AdminAuth is synchronous; the robot API's looks the robot's secret up.
 */
export interface RequestAuth {
  check(headers: Record<string, string | string[] | undefined>, now: number): void | Promise<void>;
}

export interface AdminPluginOptions {
  hub: Hub;
  auth: AdminAuth | RequestAuth;
  bodyLimit: number;
  metrics: Metrics;
  log: Logger;
  routes: AdminRouteDef[];
  /**
   * Prepended to a route's path in its success metric label, for surfaces other than /admin that
   * reuse this plugin (e.g. "/robot"), so their routes are not counted as the admin route of that path.
   */
  metricPrefix?: string;
}

function sendError(reply: FastifyReply, err: unknown, log: Logger, metrics: Metrics, route: string): void {
  const env = toEnvelope(err);
  if (env.internal) log.error({ err, route }, 'admin request failed');
  metrics.adminRequests.inc({ route, code: String(env.code) });
  if (env.detail) reply.header('x-switchboard-error', env.detail.replace(/[^\x20-\x7e]/g, '?').slice(0, 200));
  void reply.code(200).header('content-type', JSON_CT).send({ code: env.code, msg: env.msg });
}

/**
 * Unknown paths (and known paths with a method they do not accept): HTTP 404 with Wildfire's envelope
 * `{"code":254,"msg":"not implement"}`, signed or not. Used under /admin on the main port and for
 * every path of the separate admin port.
 */
export function adminNotFound(metrics: Metrics): (req: FastifyRequest, reply: FastifyReply) => void {
  const [code, msg] = WILDFIRE_CODES.not_implement;
  const body = JSON.stringify({ code, msg });
  return (_req, reply) => {
    metrics.adminRequests.inc({ route: 'unknown', code: String(code) });
    void reply.code(404).header('content-type', JSON_CT).send(body);
  };
}

/**
 * The admin API (seed 001 and the rest of Wildfire's admin family) as one encapsulated plugin, mounted
 * under /admin. Every reply on a known route is HTTP 200 with `{code, msg[, result]}` and a
 * Content-Length; unknown paths are 404 with the envelope.
 */
export async function adminPlugin(app: FastifyInstance, opts: AdminPluginOptions): Promise<void> {
  const { auth, metrics, log } = opts;

  // Bodies are JSON whatever the Content-Type says (hand-written clients vary); the SDK's
  // "Content-Encoding: UTF-8" names a charset and is ignored. An empty body is an empty object.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: opts.bodyLimit }, (req, body, done) => {
    // Unsigned routes (health) ignore their body, and unknown paths answer 404 whatever they carry.
    if (req.routeOptions.url === undefined || req.routeOptions.config.unsigned) {
      done(null, {});
      return;
    }
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, {});
      return;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      const bare = req.routeOptions.config.bareString;
      if (bare !== undefined && typeof parsed === 'string') {
        done(null, { [bare]: parsed });
        return;
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        done(new CoreError('invalid_parameter', 'body must be a JSON object'), undefined);
        return;
      }
      done(null, parsed);
    } catch {
      done(new CoreError('invalid_parameter', 'body is not valid JSON'), undefined);
    }
  });

  app.addHook('onRequest', (req, reply, done) => {
    if (req.routeOptions.url === undefined || req.routeOptions.config.unsigned) {
      done();
      return;
    }
    const url = req.routeOptions.url;
    try {
      const pending = auth.check(req.headers as Record<string, string | undefined>, Date.now());
      if (pending === undefined) {
        done();
        return;
      }
      pending.then(
        () => done(),
        (err: unknown) => sendError(reply, err, log, metrics, url),
      );
    } catch (err) {
      sendError(reply, err, log, metrics, url);
    }
  });

  const notFound = adminNotFound(metrics);
  app.setErrorHandler((err, req, reply) => {
    // A request for no route can fail before the 404 handler (body too large, bad Content-Type):
    // it is still an unknown path.
    if (req.routeOptions.url === undefined) notFound(req, reply);
    else sendError(reply, err, log, metrics, req.routeOptions.url);
  });

  app.setNotFoundHandler(notFound);

  for (const r of opts.routes) {
    const envelope = Type.Object({
      code: Type.Integer(),
      msg: Type.String(),
      ...(r.result ? { result: Type.Optional(r.result) } : {}),
    });
    const methods: Array<'GET' | 'POST'> = r.unsigned ? ['GET', 'POST'] : ['POST'];
    const ok = metrics.adminRequests.labels((opts.metricPrefix ?? '') + r.path, '0');
    // A request without a body (the SDK sends none for some calls) is an empty object; only routes
    // with no required field can accept that, so only they pay for the hook.
    const required = (r.body as { required?: string[] }).required ?? [];
    app.route({
      ...(required.length === 0
        ? {
            preValidation: (req: FastifyRequest, _reply: FastifyReply, done: () => void) => {
              if (req.body === undefined || req.body === null) req.body = {};
              done();
            },
          }
        : {}),
      method: methods,
      url: r.path,
      bodyLimit: opts.bodyLimit,
      config: { unsigned: r.unsigned ?? false, ...(r.bareString !== undefined ? { bareString: r.bareString } : {}) },
      // An unsigned route (health) answers code 0 whatever the request: an oversized body or a
      // malformed Content-Type fails before the handler, so the error handler answers for it.
      ...(r.unsigned
        ? {
            errorHandler: (_err: unknown, req: FastifyRequest, reply: FastifyReply) => {
              void r.handler({}, req).then(
                (result) => {
                  ok.inc();
                  const body = result === undefined ? { code: 0, msg: OK_MSG } : { code: 0, msg: OK_MSG, result };
                  void reply.code(200).header('content-type', JSON_CT).send(body);
                },
                (err: unknown) => sendError(reply, err, log, metrics, r.path),
              );
            },
          }
        : {}),
      schema: {
        summary: r.summary,
        tags: r.tags,
        ...(r.unsigned ? {} : { body: r.body, security: [{ nonce: [], timestamp: [], sign: [] }] }),
        response: { 200: envelope },
      },
      handler: async (req, reply) => {
        const result = await r.handler(req.body, req);
        ok.inc();
        void reply.header('content-type', JSON_CT);
        return result === undefined ? { code: 0, msg: OK_MSG } : { code: 0, msg: OK_MSG, result };
      },
    });
  }
}
