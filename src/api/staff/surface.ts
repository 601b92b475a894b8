import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Inbound002 } from '../../core/channel-apps/inbound.js';
import type { Hub } from '../../core/hub.js';
import { MAX_CONTENT_LENGTH, MAX_ID_LENGTH, MAX_TEXT_LENGTH } from '../../core/limits.js';
import { isRecord, longerThan } from '../../core/payload.js';
import type { Surface } from '../../http/surface.js';
import type { Logger } from '../../log.js';
import { ok, StaffCode, StaffError, toStaffReply } from './envelope.js';
import { StaffSignatures, timestampMs } from './signature.js';

export const STAFF_PREFIX = '/api';

export interface StaffSurfaceOptions {
  hub: Hub;
  log: Logger;
  bodyLimit: number;
  /** Largest distance of the signed timestamp from the clock, both ways; 0: not checked. */
  signatureWindowMs: number;
  now?: () => number;
}

const JSON_CT = 'application/json; charset=utf-8';
/** The success reply, serialised once (every accepted message answers it). */
const OK_TEXT = JSON.stringify(ok().body);
type Route = Inbound002['route'];

/** The routes under `/api/<version>/<appid>/`. */
const ROUTES: Record<string, Route> = { 'staffService/message': 'message', leavemessage: 'leavemessage', 'staffService/demand': 'demand' };

/** `<version>/<appid>/<route>` of a path below the prefix; undefined for any other path. */
function routeOf(rest: string): { appId: string; route: Route } | undefined {
  // Two index scans instead of split + join: this runs for every request.
  const a = rest.indexOf('/');
  if (a <= 0) return undefined;
  const b = rest.indexOf('/', a + 1);
  if (b <= a + 1) return undefined;
  const name = rest.slice(b + 1);
  const route = Object.hasOwn(ROUTES, name) ? ROUTES[name] : undefined;
  return route ? { appId: rest.slice(a + 1, b), route } : undefined;
}

/** A string field (numbers accepted for ids, as some apps send them), bounded; undefined when absent or null. */
function field(body: Record<string, unknown>, name: string, max: number, opts: { numeric?: boolean } = {}): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  let s: string;
  if (typeof v === 'string') s = v;
  else if (opts.numeric && typeof v === 'number' && Number.isFinite(v)) s = String(v);
  else throw new StaffError(StaffCode.invalidBody, `${name} must be a string`);
  if (longerThan(s, max)) throw new StaffError(StaffCode.invalidBody, `${name} must have at most ${max} characters`);
  return s;
}

function required(v: string | undefined, name: string): string {
  if (v === undefined || v === '') throw new StaffError(StaffCode.invalidBody, `${name} is required`);
  return v;
}

/** The body of each route as seed 002's message: FromUserId, MsgType, Content… (leavemessage and demand mapped onto it). */
function inbound(route: Route, appId: string, body: Record<string, unknown>): Inbound002 {
  const accname = field(body, 'accname', MAX_ID_LENGTH) ?? '';
  if (route === 'message') {
    return {
      appId,
      route,
      fromUserId: required(field(body, 'FromUserId', MAX_TEXT_LENGTH, { numeric: true }), 'FromUserId'),
      fromUserName: field(body, 'FromUserName', MAX_TEXT_LENGTH) ?? '',
      serviceId: field(body, 'ServiceId', MAX_ID_LENGTH, { numeric: true }) ?? '',
      msgType: required(field(body, 'MsgType', MAX_ID_LENGTH), 'MsgType'),
      content: (() => {
        const c = field(body, 'Content', MAX_CONTENT_LENGTH);
        if (c === undefined) throw new StaffError(StaffCode.invalidBody, 'Content is required');
        return c;
      })(),
      accname,
      raw: body,
    };
  }
  if (route === 'leavemessage') {
    const from = field(body, 'FromUserId', MAX_TEXT_LENGTH, { numeric: true }) || field(body, 'user_id', MAX_TEXT_LENGTH, { numeric: true });
    for (const k of ['callback', 'tel', 'email', 'subject'] as const) field(body, k, MAX_TEXT_LENGTH);
    return {
      appId,
      route,
      fromUserId: required(from, 'FromUserId (or user_id)'),
      fromUserName: field(body, 'contact', MAX_TEXT_LENGTH) ?? '',
      serviceId: '',
      msgType: 'text',
      content: field(body, 'content', MAX_CONTENT_LENGTH) ?? '',
      accname,
      raw: body,
    };
  }
  return {
    appId,
    route,
    fromUserId: required(field(body, 'user_id', MAX_TEXT_LENGTH, { numeric: true }), 'user_id'),
    fromUserName: '',
    serviceId: field(body, 'service_id', MAX_ID_LENGTH, { numeric: true }) ?? '',
    msgType: field(body, 'msgtype', MAX_ID_LENGTH) || 'text',
    content: field(body, 'content', MAX_CONTENT_LENGTH) ?? '',
    accname,
    raw: body,
  };
}

/**
 * Seed 002, the omni-media staff-service API (docs/channel-gateway.md): apps report customers'
 * messages (`staffService/message`), messages left while no agent is available (`leavemessage`) and
 * requests for an agent (`staffService/demand`), under `/api/<version>/<appid>/`. Every reply is HTTP
 * 200 with `{errcode, errmsg}`; the checks run in the reference server's order: 30001 (signature or
 * timestamp missing) → 30005 (body not JSON) → 30002 (unknown appid) → 30003 (bad signature), then
 * Switchboard's own: 30006 (timestamp outside the window), 30009 (app disabled), 30007 (invalid
 * body), 30008 (unknown account). Nothing is stored before every check passed.
 */
export function staffSurface(opts: StaffSurfaceOptions): Surface {
  const { hub, log } = opts;
  const now = opts.now ?? Date.now;
  const signatures = new StaffSignatures();

  const reply = (res: FastifyReply, r: { body: { errcode: number; errmsg: string }; internal: boolean }, err?: unknown): void => {
    if (r.internal) log.error({ err }, 'staff-service request failed');
    void res.code(200).header('content-type', JSON_CT).send(r.body);
  };

  const query = (req: FastifyRequest): { timestamp: string; signature: string } => {
    const q = (req.query ?? {}) as Record<string, unknown>;
    const timestamp = typeof q['timestamp'] === 'string' ? q['timestamp'] : '';
    const signature = typeof q['signature'] === 'string' ? q['signature'] : '';
    if (timestamp === '' || signature === '') throw new StaffError(StaffCode.missingParameter);
    return { timestamp, signature };
  };

  const notFound = (res: FastifyReply): void => {
    void res.code(404).header('content-type', JSON_CT).send({ errcode: StaffCode.notFound, errmsg: 'not found' });
  };

  const handle = async (req: FastifyRequest<{ Params: { '*': string } }>, res: FastifyReply): Promise<void> => {
    const target = routeOf(req.params['*']);
    if (!target) return notFound(res);
    const { appId, route } = target;
    try {
      const { timestamp, signature } = query(req);
      let body: unknown;
      try {
        body = JSON.parse(typeof req.body === 'string' ? req.body : '');
      } catch {
        throw new StaffError(StaffCode.badJson);
      }
      if (!isRecord(body)) throw new StaffError(StaffCode.badJson, 'the body must be a JSON object');
      const app = longerThan(appId, MAX_ID_LENGTH) ? null : (hub.channelApps.cachedApp(appId) ?? (await hub.channelApps.app(appId)));
      if (!app || app.protocol !== '002') throw new StaffError(StaffCode.unknownApp);
      if (!signatures.matches(appId, app.secret, timestamp, signature)) throw new StaffError(StaffCode.badSignature);
      const at = timestampMs(timestamp);
      if (at === undefined || (opts.signatureWindowMs > 0 && Math.abs(now() - at) > opts.signatureWindowMs)) throw new StaffError(StaffCode.staleTimestamp);
      if (app.status !== 0) throw new StaffError(StaffCode.appDisabled);
      await hub.channelApps.receive002(inbound(route, appId, body), app);
      void res.code(200).header('content-type', JSON_CT).send(OK_TEXT);
    } catch (err) {
      reply(res, toStaffReply(err), err);
    }
  };

  return {
    name: 'channel-002',
    prefix: STAFF_PREFIX,
    register: async (app) => {
      // The raw text: JSON is parsed by the handler, after the query's check (30001 before 30005).
      app.removeAllContentTypeParsers();
      app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: opts.bodyLimit }, (_req, body, done) => done(null, body));
      app.setErrorHandler((err, req, res) => {
        // Before the handler (body too large, aborted): still the reference's order on a route.
        const rest = (req.params as { '*'?: string } | undefined)?.['*'];
        if (req.routeOptions.url === undefined || rest === undefined || !routeOf(rest)) return notFound(res);
        try {
          query(req);
          reply(res, toStaffReply(new StaffError(StaffCode.badJson, (err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'the body is too large' : undefined)));
        } catch (e) {
          reply(res, toStaffReply(e), e);
        }
      });
      app.setNotFoundHandler((_req, res) => notFound(res));
      // One wildcard route: `/<version>/<appid>/staffService/message`, `…/leavemessage` and
      // `…/staffService/demand` are told apart by the handler (a parametric route would refuse an
      // appid over the router's parameter length with its own 414, outside the envelope). No schema
      // validation: the handler checks query and body itself, in the reference's order.
      app.post(
        '/*',
        {
          bodyLimit: opts.bodyLimit,
          schema: {
            summary: "Seed 002: POST /api/<version>/<appid>/staffService/message (a customer's message), …/leavemessage (left while no agent is available), …/staffService/demand (asks for an agent); query timestamp and signature",
            tags: ['channel gateway: seed 002'],
          },
        },
        handle,
      );
    },
  };
}
