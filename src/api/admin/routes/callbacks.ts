import { Type } from '@sinclair/typebox';
import { CoreError } from '../../../core/errors.js';
import type { Hub } from '../../../core/hub.js';
import type { JobStatus } from '../../../core/ports/outbox.js';
import { checkUrl, commandList } from '../../../callbacks/config.js';
import { DEFAULT_BEFORE_SEND_CONCURRENCY, TARGET_PREFIX, type CallbackTarget, type CallbackTargets } from '../../../callbacks/targets.js';
import { ConfigError } from '../../../config/load.js';
import { adminRoute, type AdminRouteDef } from '../plugin.js';
import { MAX_CALLBACK_COMMANDS, MAX_ID_LENGTH, MAX_URL_LENGTH } from '../../../core/limits.js';
import { Int, OptId, OptInt, OptText, Str, StrList } from '../schemas.js';

const tags = ['callbacks'];
const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });
const Commands = Type.Array(Type.String({ maxLength: MAX_ID_LENGTH }), { maxItems: MAX_CALLBACK_COMMANDS });

const TargetOut = Type.Object({
  id: Str,
  url: Str,
  sdkAppId: Str,
  commands: StrList,
  timeoutMs: Int,
  beforeSendPolicy: Str,
  beforeSendConcurrency: Int,
  enabled: Type.Boolean(),
  source: Str,
  hasToken: Type.Boolean(),
  hasHmacSecret: Type.Boolean(),
});

function targetOut(t: CallbackTarget) {
  return {
    id: t.id,
    url: t.url,
    sdkAppId: t.sdkAppId,
    commands: t.commands,
    timeoutMs: t.timeoutMs,
    beforeSendPolicy: t.beforeSendPolicy,
    beforeSendConcurrency: t.beforeSendConcurrency ?? DEFAULT_BEFORE_SEND_CONCURRENCY,
    enabled: t.enabled,
    source: t.source,
    hasToken: Boolean(t.token),
    hasHmacSecret: Boolean(t.hmacSecret),
  };
}

function invalid<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ConfigError) throw new CoreError('invalid_parameter', e.message);
    throw e;
  }
}

/**
 * Switchboard's callback administration (signed like the rest of /admin): targets managed at runtime
 * (stored, effective on every node without restart), the delivery log and redelivery of dead jobs.
 */
export function callbackRoutes(hub: Hub, targets: CallbackTargets): AdminRouteDef[] {
  // hub.settings announces each change to every node; this node's targets reload at once.
  const changed = (): Promise<void> => targets.load();
  const configured = (id: string): boolean => targets.get(id)?.source === 'config';
  return [
    adminRoute({
      path: '/callback/set_target',
      summary: 'Create or replace a callback target (targets from the config file are read-only)',
      tags,
      body: Type.Object({
        id: Id,
        url: Type.String({ minLength: 1, maxLength: MAX_URL_LENGTH }),
        sdkAppId: OptId,
        token: OptText,
        hmacSecret: OptText,
        commands: Type.Optional(Type.Union([Commands, Type.Null()])),
        timeoutMs: Type.Optional(Type.Union([Type.Integer({ minimum: 100, maximum: 60000 }), Type.Null()])),
        beforeSendPolicy: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('reject'), Type.Null()])),
        beforeSendConcurrency: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 10000 }), Type.Null()])),
        enabled: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
      }),
      result: TargetOut,
      handler: async (b) => {
        if (configured(b.id)) throw new CoreError('no_right', `target ${b.id} comes from the configuration`);
        const t: CallbackTarget = {
          id: b.id,
          url: invalid(() => checkUrl(b.url, 'url')),
          sdkAppId: b.sdkAppId ?? '0',
          token: b.token || undefined,
          hmacSecret: b.hmacSecret || undefined,
          commands: invalid(() => commandList(b.commands ?? undefined, 'commands')),
          timeoutMs: b.timeoutMs ?? 2000,
          beforeSendPolicy: b.beforeSendPolicy ?? 'allow',
          beforeSendConcurrency: b.beforeSendConcurrency ?? DEFAULT_BEFORE_SEND_CONCURRENCY,
          enabled: b.enabled ?? true,
          source: 'api',
        };
        await hub.settings.put(`${TARGET_PREFIX}${t.id}`, t);
        await changed();
        return targetOut(t);
      },
    }),
    adminRoute({
      path: '/callback/get_targets',
      summary: 'The callback targets in force (secrets are not returned)',
      tags,
      body: Type.Object({}),
      result: Type.Object({ targets: Type.Array(TargetOut) }),
      handler: async () => ({ targets: targets.all().map(targetOut) }),
    }),
    adminRoute({
      path: '/callback/delete_target',
      summary: 'Remove a callback target managed through the API',
      tags,
      body: Type.Object({ id: Id }),
      handler: async (b) => {
        if (configured(b.id)) throw new CoreError('no_right', `target ${b.id} comes from the configuration`);
        if (!(await hub.settings.remove(`${TARGET_PREFIX}${b.id}`))) throw new CoreError('not_exist', `no target ${b.id}`);
        await changed();
      },
    }),
    adminRoute({
      path: '/callback/deliveries',
      summary: 'The delivery log, newest first: status, attempts, last error and response',
      tags,
      body: Type.Object({
        status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('in_flight'), Type.Literal('delivered'), Type.Literal('dead'), Type.Null()])),
        target: OptId,
        beforeId: OptInt,
        limit: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1000 }), Type.Null()])),
      }),
      result: Type.Object({
        deliveries: Type.Array(
          Type.Object({
            id: Int,
            target: Str,
            command: Str,
            status: Str,
            attempts: Int,
            createdAt: Int,
            nextAt: Int,
            deliveredAt: Int,
            lastError: Str,
            lastResponse: Str,
            body: Type.Unknown(),
          }),
        ),
      }),
      handler: async (b) => {
        const jobs = await hub.outbox.list({
          limit: b.limit ?? 100,
          ...(b.status ? { status: b.status as JobStatus } : {}),
          ...(b.target ? { target: b.target } : {}),
          ...(b.beforeId ? { beforeId: b.beforeId } : {}),
        });
        return {
          deliveries: jobs
            .filter((j) => j.channel === 'webhook')
            .map((j) => ({
              id: j.id,
              target: j.target,
              command: j.kind,
              status: j.status,
              attempts: j.attempts,
              createdAt: j.createdAt,
              nextAt: j.nextAt,
              deliveredAt: j.deliveredAt,
              lastError: j.lastError,
              lastResponse: j.lastResponse,
              body: JSON.parse(j.body) as unknown,
            })),
        };
      },
    }),
    adminRoute({
      path: '/callback/redeliver',
      summary: 'Deliver a dead-lettered job again (or every dead one when no id is given)',
      tags,
      body: Type.Object({ id: OptInt }),
      result: Type.Object({ count: Int }),
      handler: async (b) => {
        const count = await hub.outbox.redeliver(b.id ?? undefined);
        if (b.id && count === 0) throw new CoreError('not_exist', `no dead delivery ${b.id}`);
        return { count };
      },
    }),
    adminRoute({
      path: '/callback/stats',
      summary: 'Jobs by status',
      tags,
      body: Type.Object({}),
      result: Type.Object({ pending: Int, in_flight: Int, delivered: Int, dead: Int }),
      handler: async () => hub.outbox.counts(),
    }),
  ];
}
