import type { Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ContactIdentity } from '../../core/channel-apps/inbound.js';
import { contentType } from '../../core/channel-apps/mapping.js';
import { CHANNEL_CONFIG_KINDS, type ChannelConfigKind, type ChannelContent } from '../../core/channel-apps/model.js';
import { CoreError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import type { Surface } from '../../http/surface.js';
import type { Logger } from '../../log.js';
import { PlatformAuth, type PlatformAuthOptions } from './auth.js';
import { toPlatformReply } from './envelope.js';
import { MAX_ID_LENGTH } from '../../core/limits.js';
import { longerThan } from '../../core/payload.js';
import { CachesIn, GuidOut, PostMessageIn } from './schemas.js';

export const PLATFORM_PREFIX = '/api/v3/messaging/platform';

export interface PlatformSurfaceOptions {
  hub: Hub;
  log: Logger;
  auth: PlatformAuthOptions;
  bodyLimit: number;
  /**
   * More routes of this surface, added inside its context (same key, envelope and body parsing): the
   * outbound side's send-result `PUT conversations/messages/:id`. Errors they throw are answered by
   * toPlatformReply.
   */
  extraRoutes?: ReadonlyArray<(app: FastifyInstance) => void>;
}

const JSON_CT = 'application/json; charset=utf-8';

function send(reply: FastifyReply, err: unknown, log: Logger, route: string): void {
  const r = toPlatformReply(err);
  if (r.internal) log.error({ err, route }, 'platform request failed');
  void reply.code(r.status).header('content-type', JSON_CT).send(r.body);
}

type PostMessage = Static<typeof PostMessageIn>;

const KNOWN_BODY = new Set(['channelAccountId', 'isReceive', 'createTime', 'channelAppContactIdentity', 'message']);
const KNOWN_MESSAGE = new Set(['channelId', 'originalParentId', 'originalConversationId', 'originalMessageId', 'originalUrl', 'subject', 'cc', 'contents']);
const KNOWN_CONTACT = new Set(['channelaccount', 'account', 'name', 'avatarUrl', 'originalContactInfoUrl', 'originalContactPageUrl', 'screenName']);

function others(o: Record<string, unknown>, known: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (!known.has(k)) out[k] = v;
  return out;
}

/** seed 000's createTime: epoch ms or s as a number, or a date-time string; 0 when absent. */
function createTimeOf(v: string | number | null | undefined): number {
  if (v === undefined || v === null || v === '') return 0;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new CoreError('invalid_parameter', 'createTime must be a time');
    return Math.round(v < 1e11 ? v * 1000 : v);
  }
  const t = /^[0-9]{1,16}$/.test(v) ? createTimeOf(Number(v)) : Date.parse(v);
  if (!Number.isFinite(t)) throw new CoreError('invalid_parameter', 'createTime must be a date-time or epoch milliseconds');
  return t;
}

const str = (v: string | number | null | undefined): string | undefined => (v === undefined || v === null ? undefined : String(v));

function contentsOf(body: PostMessage): ChannelContent[] {
  return (body.message.contents ?? []).map((c, i) => {
    const type = contentType(c.type);
    if (!type) throw new CoreError('invalid_parameter', `message.contents[${i}].type must be one of text, htmlText, video, audio, picture, file, location`);
    const out: ChannelContent = { id: c.id ?? `${i + 1}`, type };
    for (const k of ['text', 'htmlText', 'name', 'title', 'mime', 'previewUrl', 'url', 'latitude', 'longitude', 'scale', 'desc'] as const) {
      const v = str(c[k]);
      if (v !== undefined) out[k] = v;
    }
    return out;
  });
}

function identityOf(body: PostMessage): ContactIdentity {
  const c = body.channelAppContactIdentity;
  const account = c.channelaccount || c.account || '';
  if (account === '') throw new CoreError('invalid_parameter', "channelAppContactIdentity.channelaccount (or account) is required: the contact's id on the channel");
  return {
    account,
    ...(c.name != null ? { name: c.name } : {}),
    ...(c.avatarUrl != null ? { avatarUrl: c.avatarUrl } : {}),
    ...(c.originalContactInfoUrl != null ? { originalContactInfoUrl: c.originalContactInfoUrl } : {}),
    ...(c.originalContactPageUrl != null ? { originalContactPageUrl: c.originalContactPageUrl } : {}),
    ...(c.screenName != null ? { screenName: c.screenName } : {}),
    attributes: others(c as Record<string, unknown>, KNOWN_CONTACT),
  };
}

/**
 * Seed 000, the unified channel platform's internal API (docs/channel-gateway.md): the App Centre
 * posts external messages, drops caches and reports modified contacts. Authenticated by the platform
 * key (and an optional address allow-list) before any body is read; off (not mounted) while no key is
 * configured. The send-result `PUT conversations/messages/{id}` is the outbound side's.
 */
export function platformSurface(opts: PlatformSurfaceOptions): Surface {
  const auth = new PlatformAuth(opts.auth);
  const { hub, log } = opts;
  return {
    name: 'channel-000',
    prefix: PLATFORM_PREFIX,
    register: async (app) => {
      app.removeAllContentTypeParsers();
      app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: opts.bodyLimit }, (_req, body, done) => {
        const text = typeof body === 'string' ? body : body.toString('utf8');
        if (text.trim() === '') return done(null, {});
        try {
          const parsed: unknown = JSON.parse(text);
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return done(new CoreError('invalid_parameter', 'body must be a JSON object'), undefined);
          return done(null, parsed);
        } catch {
          return done(new CoreError('invalid_parameter', 'body is not valid JSON'), undefined);
        }
      });
      app.addHook('onRequest', (req, reply, done) => {
        try {
          auth.check(req.headers.authorization, req.ip);
          done();
        } catch (err) {
          send(reply, err, log, req.routeOptions.url ?? 'unknown');
        }
      });
      app.setErrorHandler((err, req, reply) => send(reply, err, log, req.routeOptions.url ?? 'unknown'));
      app.setNotFoundHandler((_req, reply) => {
        void reply.code(404).header('content-type', JSON_CT).send({ Code: 404, Message: 'not found' });
      });

      app.post<{ Body: PostMessage }>(
        '/conversations/messages',
        {
          bodyLimit: opts.bodyLimit,
          schema: { summary: 'Seed 000: post an external message into a conversation (idempotent on channelAccountId + originalMessageId)', tags: ['channel gateway: seed 000'], body: PostMessageIn, response: { 200: GuidOut } },
        },
        async (req) => {
          const b = req.body;
          const m = b.message;
          const r = await hub.channelApps.receive000({
            channelAccountId: b.channelAccountId,
            isReceive: b.isReceive ?? true,
            createTime: createTimeOf(b.createTime),
            contact: identityOf(b),
            channelId: m.channelId,
            originalParentId: m.originalParentId ?? '',
            originalConversationId: m.originalConversationId ?? '',
            originalMessageId: m.originalMessageId ?? '',
            originalUrl: m.originalUrl ?? '',
            subject: m.subject ?? '',
            cc: m.cc ?? '',
            contents: contentsOf(b),
            raw: { ...others(b as Record<string, unknown>, KNOWN_BODY), ...others(m as Record<string, unknown>, KNOWN_MESSAGE) },
          });
          return { guid: r.guid };
        },
      );

      app.put<{ Body: Static<typeof CachesIn> }>(
        '/caches',
        { bodyLimit: opts.bodyLimit, schema: { summary: 'Seed 000: drop a cached item (channel, channelAccount, version, app, versionChannel) on every node', tags: ['channel gateway: seed 000'], body: CachesIn } },
        async (req, reply) => {
          const item = req.body.cacheItem;
          if (!(CHANNEL_CONFIG_KINDS as readonly string[]).includes(item)) {
            throw new CoreError('invalid_parameter', `cacheItem must be one of ${CHANNEL_CONFIG_KINDS.join(', ')}`);
          }
          await hub.channelApps.dropCache(item as ChannelConfigKind);
          return reply.code(200).header('content-type', JSON_CT).send({});
        },
      );

      // A wildcard, not `:id`: the router would refuse a long id with its own 414, outside the envelope.
      app.post<{ Params: { '*': string } }>(
        '/contact/*',
        { bodyLimit: opts.bodyLimit, schema: { summary: 'Seed 000: a contact changed; refresh it from its info URL and tell every node', tags: ['channel gateway: seed 000'] } },
        async (req: FastifyRequest<{ Params: { '*': string } }>, reply) => {
          const id = req.params['*'];
          if (id === '' || id.includes('/') || longerThan(id, MAX_ID_LENGTH)) throw new CoreError('invalid_parameter', `the contact id must be 1 to ${MAX_ID_LENGTH} characters`);
          await hub.channelApps.refreshContact(id);
          return reply.code(200).header('content-type', JSON_CT).send({});
        },
      );
      for (const add of opts.extraRoutes ?? []) add(app);
    },
  };
}
