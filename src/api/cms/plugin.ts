import { DELIVERY_OPTION_KEYS } from '../../core/notify-channels/options.js';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Hub } from '../../core/hub.js';
import { MAX_NOTIFY_PAGE } from '../../core/limits.js';
import { isNotificationId } from '../../core/notifications/ids.js';
import { parseSendMethod, type Notification, type NotificationFields } from '../../core/notifications/model.js';
import type { Logger } from '../../log.js';
import cors from '@fastify/cors';
import { authenticate, tokenOf, type CmsCaller } from './auth.js';
import { corsOptions } from './cors.js';
import { CmsError, toCmsEnvelope } from './envelope.js';
import { wireInboxItem, wireNotification, type RecipientPages } from './mappers.js';
import { AddBody, UpdateBody } from './schemas.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** /v1/cms routes: operators only. */
    cmsOperator?: boolean;
    /** /v1/cms routes: the 404 of an unknown id (an operator's notification or a user's message). */
    cmsObject?: 'notification_not_found' | 'message_not_found';
    /** /v1/cms routes that read a JSON body. */
    cmsBody?: boolean;
  }
  interface FastifyRequest {
    cmsCaller?: CmsCaller;
  }
}

export interface CmsPluginOptions {
  hub: Hub;
  log: Logger;
  /** Largest request body (add and update carry up to 100 000 recipients). */
  bodyLimit: number;
  /** Recipients shown per list in the operator's list (the totals say how many there are). */
  recipientsPreview: number;
  /** Browser origins allowed by CORS (cors.ts); empty: none. */
  corsOrigins: readonly string[];
}

const JSON_CT = 'application/json; charset=utf-8';

/** `page` (1-based, default 1) and `page_size` (1..1000, default `size`) of a list query. */
export function paging(q: Record<string, string | undefined>, size: number): { offset: number; limit: number } {
  const int = (name: string, v: string | undefined, def: number, min: number, max: number): number => {
    if (v === undefined || v === '') return def;
    if (!/^\d{1,9}$/.test(v)) throw new CmsError('invalid_parameter', `${name} must be an integer`);
    const n = Number(v);
    if (n < min || n > max) throw new CmsError('invalid_parameter', `${name} must be ${min}..${max}`);
    return n;
  };
  const page = int('page', q['page'], 1, 1, 1_000_000_000);
  const limit = int('page_size', q['page_size'], size, 1, MAX_NOTIFY_PAGE);
  return { offset: (page - 1) * limit, limit };
}

/** The language a user asked for: `?lng=`, else the first tag of Accept-Language. */
export function requestedLanguage(req: FastifyRequest): string | undefined {
  const q = (req.query as Record<string, string | undefined>)['lng'];
  if (q) return q.slice(0, 64);
  const al = req.headers['accept-language'];
  const tag = typeof al === 'string' ? al.split(',')[0]?.split(';')[0]?.trim() : undefined;
  return tag && tag !== '*' ? tag.slice(0, 64) : undefined;
}

function fieldsOf(b: Static<typeof UpdateBody>): Partial<NotificationFields> {
  const f: Partial<NotificationFields> = {};
  if (b.title !== undefined) f.title = b.title;
  const body = b.body ?? b.message_body;
  if (body !== undefined) f.body = body;
  if (b.send_method !== undefined) {
    const m = parseSendMethod(b.send_method);
    if (!m) throw new CmsError('invalid_parameter', 'send_method must be web, email, sms or mobile');
    f.sendMethod = m;
  }
  if (b.message_type !== undefined) f.messageType = b.message_type;
  if (b.send_to !== undefined) f.sendTo = b.send_to;
  if (b.use_web_when_miss !== undefined) f.useWebWhenMiss = b.use_web_when_miss;
  if (b.lng !== undefined) f.lng = b.lng;
  if (b.translations !== undefined) f.translations = b.translations;
  if (b.options !== undefined) f.options = b.options;
  return f;
}

/** The delivery fields given at the top level of an add or update (checked by core with the options). */
function deliveryFieldsOf(b: Static<typeof UpdateBody>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const k of DELIVERY_OPTION_KEYS) if (b[k] !== undefined) out[k] = b[k];
  return Object.keys(out).length > 0 ? out : undefined;
}

function idParam(req: FastifyRequest, missing: 'notification_not_found' | 'message_not_found'): string {
  const id = (req.params as { id?: string }).id ?? '';
  // Not an object id: it cannot name anything.
  if (!isNotificationId(id)) throw new CmsError(missing);
  return id.toLowerCase();
}

function caller(req: FastifyRequest): CmsCaller {
  if (!req.cmsCaller) throw new CmsError('need_token');
  return req.cmsCaller;
}

/** Unknown paths and methods under /v1/cms: HTTP 404 with `{error_code: 40402, msg: "no such route"}`. */
export function cmsNotFound(_req: FastifyRequest, reply: FastifyReply): void {
  const e = toCmsEnvelope(new CmsError('no_route'), 'notification_not_found');
  void reply.code(e.status).header('content-type', JSON_CT).send(e.body);
}

/**
 * The notification centre (seed 004) under /v1/cms: the operator's notify/* routes and every user's
 * message/* routes, authenticated by user token (auth.ts), answered in the seed's envelope with its
 * codes; failures with CMS_ERRORS (envelope.ts) and their HTTP status.
 */
export async function cmsPlugin(app: FastifyInstance, opts: CmsPluginOptions): Promise<void> {
  const { hub, log } = opts;
  const svc = hub.notifications;

  const fail = (req: FastifyRequest, reply: FastifyReply, err: unknown): void => {
    const e = toCmsEnvelope(err, req.routeOptions.config.cmsObject ?? 'notification_not_found');
    if (e.internal) log.error({ err, route: req.routeOptions.url }, 'cms request failed');
    void reply.code(e.status).header('content-type', JSON_CT).send(e.body);
  };
  const notFound = cmsNotFound;

  // Bodies are JSON objects whatever the Content-Type says; routes without a body ignore theirs.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: opts.bodyLimit }, (req, body, done) => {
    if (req.routeOptions.url === undefined || !req.routeOptions.config.cmsBody) {
      done(null, undefined);
      return;
    }
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, {});
      return;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) done(new CmsError('invalid_parameter', 'body must be a JSON object'), undefined);
      else done(null, parsed);
    } catch {
      done(new CmsError('invalid_json'), undefined);
    }
  });

  // Before the token check: a preflight carries no token, and a refusal must carry the CORS headers
  // for the page to read it.
  if (opts.corsOrigins.length > 0) await app.register(cors, corsOptions(opts.corsOrigins));

  app.addHook('onRequest', async (req) => {
    if (req.routeOptions.url === undefined || req.method === 'OPTIONS') return;
    const query = new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
    const who = await authenticate(hub, tokenOf(req.headers, query));
    if (req.routeOptions.config.cmsOperator && !who.operator) throw new CmsError('operator_only');
    req.cmsCaller = who;
  });

  app.setErrorHandler((err, req, reply) => {
    if (req.routeOptions.url === undefined) notFound(req, reply);
    else fail(req, reply, err);
  });
  app.setNotFoundHandler(notFound);

  const op = { cmsOperator: true, cmsObject: 'notification_not_found' as const };
  const user = { cmsObject: 'message_not_found' as const };
  const send = (reply: FastifyReply, body: Record<string, unknown>): FastifyReply => reply.code(200).header('content-type', JSON_CT).send(body);

  /** The three recipient lists of a notification, one page each. */
  const pages = async (n: Notification, offset: number, limit: number): Promise<RecipientPages> => {
    const [all, read, unread] = await Promise.all([
      svc.recipients(n.id, 'all', offset, limit),
      svc.recipients(n.id, 'read', offset, limit),
      svc.recipients(n.id, 'unread', offset, limit),
    ]);
    return { all, read, unread };
  };

  // ---------------------------------------------------------------- operators

  app.post('/notify/add', { config: { ...op, cmsBody: true }, bodyLimit: opts.bodyLimit, schema: { body: AddBody } }, async (req, reply) => {
    const b = req.body as Static<typeof AddBody>;
    const f = fieldsOf(b);
    const top = deliveryFieldsOf(b);
    if (top) f.options = { ...(f.options ?? {}), ...top };
    const n = await svc.add(caller(req).userId, {
      title: b.title,
      body: f.body ?? '',
      messageType: f.messageType ?? '',
      sendMethod: f.sendMethod!,
      sendTo: b.send_to,
      useWebWhenMiss: f.useWebWhenMiss ?? false,
      lng: f.lng ?? '',
      translations: f.translations ?? {},
      options: f.options ?? {},
    });
    return send(reply, { error_code: '1002', msg: 'add success', id: n.id });
  });

  app.put('/notify/:id/update', { config: { ...op, cmsBody: true }, bodyLimit: opts.bodyLimit, schema: { body: UpdateBody } }, async (req, reply) => {
    const id = idParam(req, 'notification_not_found');
    const b = req.body as Static<typeof UpdateBody>;
    const f = fieldsOf(b);
    const top = deliveryFieldsOf(b);
    // Top-level delivery fields change those keys of the options (the stored ones unless options are given).
    if (top) f.options = { ...(f.options ?? (await svc.get(id)).options), ...top };
    await svc.update(id, f);
    return send(reply, { error_code: '1003', msg: 'modify success' });
  });

  app.delete('/notify/:id/delete', { config: op }, async (req, reply) => {
    await svc.remove(idParam(req, 'notification_not_found'));
    return send(reply, { error_code: '1004', msg: 'delete success' });
  });

  app.get('/notify/list', { config: op }, async (req, reply) => {
    const { offset, limit } = paging(req.query as Record<string, string | undefined>, 20);
    const page = await svc.list(offset, limit);
    const data = await Promise.all(page.items.map(async (n) => wireNotification(n, await pages(n, 0, opts.recipientsPreview))));
    return send(reply, { error_code: 10000, msg: 'query success', totalCount: page.total, data });
  });

  app.get('/notify/:id/detail', { config: op }, async (req, reply) => {
    const id = idParam(req, 'notification_not_found');
    const { offset, limit } = paging(req.query as Record<string, string | undefined>, MAX_NOTIFY_PAGE);
    const n = await svc.get(id);
    const [p, deliveries] = await Promise.all([pages(n, offset, limit), svc.deliveries(id, offset, limit)]);
    const data = {
      ...wireNotification(n, p),
      deliveries: deliveries.items.map((d) => ({ id: d.userId, channel: d.channel, status: d.status, error: d.error })),
      deliveries_total: deliveries.total,
    };
    return send(reply, { data, error_code: 1001, msg: 'get data success' });
  });

  app.route({
    method: ['GET', 'POST'],
    url: '/notify/:id/send',
    config: op,
    handler: async (req, reply) => {
      await svc.send(idParam(req, 'notification_not_found'));
      return send(reply, { error_code: 10002, msg: 'send message success' });
    },
  });

  // ---------------------------------------------------------------- a user's own inbox

  app.get('/message/list', { config: user }, async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const { offset, limit } = paging(q, 20);
    const unreadOnly = q['unread_only'] === 'true' || q['unread_only'] === '1';
    const page = await svc.inbox(caller(req).userId, offset, limit, unreadOnly);
    const lng = requestedLanguage(req);
    return send(reply, {
      data: page.items.map((i) => wireInboxItem(i, lng)),
      error_code: 1000,
      msg: 'get list data success',
      totalCount: page.total,
      unreadCount: page.unread,
    });
  });

  app.put('/message/:id/readOneNotifyMessage', { config: user }, async (req, reply) => {
    await svc.readOne(caller(req).userId, idParam(req, 'message_not_found'));
    return send(reply, { error_code: 10000, msg: 'read notify message success' });
  });

  app.put('/message/readAllNotifyMessage', { config: user }, async (req, reply) => {
    await svc.readAll(caller(req).userId);
    return send(reply, { error_code: 10000, msg: 'read notify message success' });
  });

  app.delete('/message/:id/deleteOne', { config: user }, async (req, reply) => {
    await svc.deleteOne(caller(req).userId, idParam(req, 'message_not_found'));
    return send(reply, { error_code: 10001, msg: 'clear notify message success' });
  });

  app.delete('/message/deleteAll', { config: user }, async (req, reply) => {
    await svc.deleteAll(caller(req).userId);
    return send(reply, { error_code: 10001, msg: 'clear notify message success' });
  });
}
