import { OptionalKind, Type, type TSchema } from '@sinclair/typebox';
import type { ChannelConfigKind, ChannelConfigRecords } from '../../../core/channel-apps/model.js';
import { CoreError } from '../../../core/errors.js';
import type { Hub } from '../../../core/hub.js';
import { MAX_CHANNEL_ATTRIBUTES, MAX_CONTACT_PAGE, MAX_ID_LENGTH, MAX_TEXT_LENGTH, MAX_URL_LENGTH, MAX_USER_LIST } from '../../../core/limits.js';
import { adminRoute, type AdminRouteDef } from '../plugin.js';
import { Id, int32, MessageUid, OptId, Text } from '../schemas.js';

const tags = ['channel gateway'];

const nullable = <T extends TSchema>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));
const OptStr = (max: number) => nullable(Type.String({ maxLength: max }));
/** Free-form attributes (seed 000's other fields): at most MAX_CHANNEL_ATTRIBUTES names, JSON ≤ 64 KiB (checked by core). */
const Attributes = nullable(
  Type.Record(Type.String({ maxLength: MAX_ID_LENGTH }), Type.Unknown(), { maxProperties: MAX_CHANNEL_ATTRIBUTES }),
);
const Url = Type.String({ minLength: 1, maxLength: MAX_URL_LENGTH });
const Agents = Type.Array(Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH }), { maxItems: MAX_USER_LIST });
/** Records are answered as stored (docs/channel-gateway.md lists their fields). */
const Record_ = Type.Object({}, { additionalProperties: true });
const RecordList = Type.Object({ list: Type.Array(Record_) });
const Deleted = Type.Object({ deleted: Type.Boolean() });

/** Fields given (not absent, not null), as a patch. */
function given<T extends Record<string, unknown>>(b: T, keys: ReadonlyArray<keyof T & string>): Partial<T> {
  const out: Partial<T> = {};
  for (const k of keys) if (b[k] !== undefined && b[k] !== null) out[k] = b[k];
  return out;
}

function notNull<T>(v: T | null | undefined, dflt: T): T {
  return v === undefined || v === null ? dflt : v;
}

/** create, update, get, list and delete of one kind of configuration record. */
function crud<K extends ChannelConfigKind, C extends TSchema, U extends TSchema, G extends TSchema>(
  hub: Hub,
  def: {
    path: string;
    kind: K;
    what: string;
    create: C;
    update: U;
    key: G;
    toRecord: (b: Record<string, unknown>) => Omit<ChannelConfigRecords[K], 'createDt' | 'updateDt'>;
    patchKeys: readonly string[];
    idOf: (b: Record<string, unknown>) => string;
    listBy?: { field: string; summary: string };
  },
): AdminRouteDef[] {
  const svc = hub.channelApps;
  return [
    adminRoute({
      path: `${def.path}/create`,
      summary: `Create a ${def.what}, or replace the one with the same id`,
      tags,
      body: def.create,
      result: Record_,
      handler: async (b) => (await svc.create(def.kind, def.toRecord(b as Record<string, unknown>))) as unknown as Record<string, unknown>,
    }),
    adminRoute({
      path: `${def.path}/update`,
      summary: `Overwrite the given fields of an existing ${def.what} (253 when unknown)`,
      tags,
      body: def.update,
      result: Record_,
      handler: async (b) => {
        const body = b as Record<string, unknown>;
        const patch = given(body, def.patchKeys) as Partial<ChannelConfigRecords[K]>;
        return (await svc.update(def.kind, def.idOf(body), patch)) as unknown as Record<string, unknown>;
      },
    }),
    adminRoute({
      path: `${def.path}/get`,
      summary: `A ${def.what} (253 when unknown)`,
      tags,
      body: def.key,
      result: Record_,
      handler: async (b) => (await svc.get(def.kind, def.idOf(b as Record<string, unknown>))) as unknown as Record<string, unknown>,
    }),
    adminRoute({
      path: `${def.path}/list`,
      summary: def.listBy ? def.listBy.summary : `Every ${def.what}, oldest first`,
      tags,
      body: def.listBy ? Type.Object({ [def.listBy.field]: OptId }) : Type.Object({}),
      result: RecordList,
      handler: async (b) => {
        const by = def.listBy ? (b as Record<string, unknown>)[def.listBy.field] : undefined;
        const list = await svc.list(def.kind, typeof by === 'string' && by !== '' ? by : undefined);
        return { list: list as unknown as Array<Record<string, unknown>> };
      },
    }),
    adminRoute({
      path: `${def.path}/delete`,
      summary: `Delete a ${def.what} (253 when unknown; 248 while other records hang on it)`,
      tags,
      body: def.key,
      result: Deleted,
      handler: async (b) => {
        if (!(await svc.remove(def.kind, def.idOf(b as Record<string, unknown>)))) throw new CoreError('not_exist', `${def.what} does not exist`);
        return { deleted: true };
      },
    }),
  ];
}

const str = (b: Record<string, unknown>, k: string, dflt = ''): string => notNull(b[k] as string | null | undefined, dflt);
const attrs = (b: Record<string, unknown>): Record<string, unknown> => notNull(b['attributes'] as Record<string, unknown> | null | undefined, {});

/**
 * The channel gateway's management (docs/channel-gateway.md): channel apps, their versions and the
 * channels each version serves, channels, channel accounts and contacts; a message's external
 * metadata. Distinct from Wildfire's broadcast channels (`/admin/channel/*`).
 */
export function channelAppRoutes(hub: Hub): AdminRouteDef[] {
  const svc = hub.channelApps;
  const Protocol = Type.Union([Type.Literal('000'), Type.Literal('002')]);
  const appFields = {
    secret: Text,
    protocol: Protocol,
    baseUrl: Url,
    outboundToken: OptStr(MAX_TEXT_LENGTH),
    versionId: OptId,
    defaultAccountId: OptId,
    status: nullable(int32({ minimum: 0 })),
    attributes: Attributes,
  };
  const accountFields = {
    channelId: Id,
    appId: Id,
    accountName: OptStr(MAX_TEXT_LENGTH),
    accountOriginalId: OptStr(MAX_TEXT_LENGTH),
    enabled: nullable(Type.Boolean()),
    agents: Agents,
    attributes: Attributes,
  };
  const versionFields = {
    appId: Id,
    number: OptStr(MAX_ID_LENGTH),
    name: OptStr(MAX_TEXT_LENGTH),
    messageWebhookUrl: OptStr(MAX_URL_LENGTH),
    attributes: Attributes,
  };
  const channelFields = { name: Text, appId: OptId, attributes: Attributes };
  const optional = (o: Record<string, TSchema>): Record<string, TSchema> =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, OptionalKind in v ? v : nullable(v)]));

  const contactFields = {
    name: OptStr(MAX_TEXT_LENGTH),
    avatarUrl: OptStr(MAX_URL_LENGTH),
    originalContactInfoUrl: OptStr(MAX_URL_LENGTH),
    originalContactPageUrl: OptStr(MAX_URL_LENGTH),
    screenName: OptStr(MAX_TEXT_LENGTH),
    attributes: Attributes,
  };
  const contactKeys = ['name', 'avatarUrl', 'originalContactInfoUrl', 'originalContactPageUrl', 'screenName', 'attributes'] as const;

  return [
    ...crud(hub, {
      path: '/channel_app',
      kind: 'app',
      what: 'channel app',
      create: Type.Object({ appId: Id, ...appFields }),
      update: Type.Object({ appId: Id, ...optional(appFields) }),
      key: Type.Object({ appId: Id }),
      idOf: (b) => b['appId'] as string,
      patchKeys: Object.keys(appFields),
      toRecord: (b) => ({
        appId: b['appId'] as string,
        secret: b['secret'] as string,
        protocol: b['protocol'] as '000' | '002',
        baseUrl: b['baseUrl'] as string,
        outboundToken: str(b, 'outboundToken'),
        versionId: str(b, 'versionId'),
        defaultAccountId: str(b, 'defaultAccountId'),
        status: notNull(b['status'] as number | null | undefined, 0),
        attributes: attrs(b),
      }),
    }),
    ...crud(hub, {
      path: '/channel_account',
      kind: 'channelAccount',
      what: 'channel account',
      create: Type.Object({ channelAccountId: Id, ...accountFields }),
      update: Type.Object({ channelAccountId: Id, ...optional(accountFields) }),
      key: Type.Object({ channelAccountId: Id }),
      idOf: (b) => b['channelAccountId'] as string,
      patchKeys: Object.keys(accountFields),
      listBy: { field: 'appId', summary: 'Channel accounts, oldest first (of one app when appId is given)' },
      toRecord: (b) => ({
        channelAccountId: b['channelAccountId'] as string,
        channelId: b['channelId'] as string,
        appId: b['appId'] as string,
        accountName: str(b, 'accountName'),
        accountOriginalId: str(b, 'accountOriginalId'),
        enabled: notNull(b['enabled'] as boolean | null | undefined, true),
        agents: [...new Set(b['agents'] as string[])],
        attributes: attrs(b),
      }),
    }),
    ...crud(hub, {
      path: '/channel_app_version',
      kind: 'version',
      what: 'channel app version',
      create: Type.Object({ versionId: Id, ...versionFields }),
      update: Type.Object({ versionId: Id, ...optional(versionFields) }),
      key: Type.Object({ versionId: Id }),
      idOf: (b) => b['versionId'] as string,
      patchKeys: Object.keys(versionFields),
      listBy: { field: 'appId', summary: 'Versions, oldest first (of one app when appId is given)' },
      toRecord: (b) => ({
        versionId: b['versionId'] as string,
        appId: b['appId'] as string,
        number: str(b, 'number'),
        name: str(b, 'name'),
        messageWebhookUrl: str(b, 'messageWebhookUrl'),
        attributes: attrs(b),
      }),
    }),
    ...crud(hub, {
      path: '/channel_app_version_channel',
      kind: 'versionChannel',
      what: 'version-channel',
      create: Type.Object({ versionId: Id, channelId: Id, attributes: Attributes }),
      update: Type.Object({ versionId: Id, channelId: Id, attributes: Attributes }),
      key: Type.Object({ versionId: Id, channelId: Id }),
      idOf: (b) => `${b['versionId'] as string}/${b['channelId'] as string}`,
      patchKeys: ['attributes'],
      listBy: { field: 'versionId', summary: 'Version-channels, oldest first (of one version when versionId is given)' },
      toRecord: (b) => ({ versionId: b['versionId'] as string, channelId: b['channelId'] as string, attributes: attrs(b) }),
    }),
    ...crud(hub, {
      path: '/channel_app_channel',
      kind: 'channel',
      what: 'channel (wechat, email, sms…)',
      create: Type.Object({ channelId: Id, ...channelFields }),
      update: Type.Object({ channelId: Id, ...optional(channelFields) }),
      key: Type.Object({ channelId: Id }),
      idOf: (b) => b['channelId'] as string,
      patchKeys: Object.keys(channelFields),
      toRecord: (b) => ({ channelId: b['channelId'] as string, name: b['name'] as string, appId: str(b, 'appId'), attributes: attrs(b) }),
    }),
    adminRoute({
      path: '/channel_contact/create',
      summary: "Create a channel account's contact (and its IM user), or update it: non-empty fields overwrite, attributes merge",
      tags,
      body: Type.Object({ channelAccountId: Id, account: Text, ...contactFields }),
      result: Record_,
      handler: async (b) =>
        (await svc.saveContact(b.channelAccountId, {
          account: b.account,
          ...(given(b, contactKeys) as Record<string, never>),
        })) as unknown as Record<string, unknown>,
    }),
    adminRoute({
      path: '/channel_contact/update',
      summary: 'Overwrite the given fields of a contact (empty strings included) and its IM user',
      tags,
      body: Type.Object({ contactId: Id, ...contactFields }),
      result: Record_,
      handler: async (b) => (await svc.updateContact(b.contactId, given(b, contactKeys) as Record<string, never>)) as unknown as Record<string, unknown>,
    }),
    adminRoute({
      path: '/channel_contact/get',
      summary: 'A contact, by contactId or by (channelAccountId, account)',
      tags,
      body: Type.Object({ contactId: OptId, channelAccountId: OptId, account: OptStr(MAX_TEXT_LENGTH) }),
      result: Record_,
      handler: async (b) => {
        if (b.contactId) return (await svc.contact(b.contactId)) as unknown as Record<string, unknown>;
        if (!b.channelAccountId || !b.account) throw new CoreError('invalid_parameter', 'contactId, or channelAccountId and account, are required');
        return (await svc.contactByAccount(b.channelAccountId, b.account)) as unknown as Record<string, unknown>;
      },
    }),
    adminRoute({
      path: '/channel_contact/list',
      summary: `Contacts of an account by contactId, after \`after\`, at most \`limit\` (1…${MAX_CONTACT_PAGE}, default 100)`,
      tags,
      body: Type.Object({ channelAccountId: Id, after: OptId, limit: nullable(int32({ minimum: 1, maximum: MAX_CONTACT_PAGE })) }),
      result: RecordList,
      handler: async (b) => ({
        list: (await svc.listContacts(b.channelAccountId, b.after ?? '', b.limit ?? 100)) as unknown as Array<Record<string, unknown>>,
      }),
    }),
    adminRoute({
      path: '/channel_contact/delete',
      summary: 'Forget a contact (its IM user and messages stay); 253 when unknown',
      tags,
      body: Type.Object({ contactId: Id }),
      result: Deleted,
      handler: async (b) => {
        if (!(await svc.deleteContact(b.contactId))) throw new CoreError('not_exist', 'contact does not exist');
        return { deleted: true };
      },
    }),
    adminRoute({
      path: '/channel_message/get',
      summary: "A channel conversation message's external metadata and delivery status, by guid or messageUid",
      tags,
      body: Type.Object({ guid: OptId, messageUid: Type.Optional(Type.Union([MessageUid, Type.Null()])) }),
      result: Record_,
      handler: async (b) => {
        if (b.guid) return (await hub.channelDeliveries.message({ guid: b.guid })) as unknown as Record<string, unknown>;
        if (b.messageUid === undefined || b.messageUid === null) throw new CoreError('invalid_parameter', 'guid or messageUid is required');
        return (await hub.channelDeliveries.message({ uid: Number(b.messageUid) })) as unknown as Record<string, unknown>;
      },
    }),
  ];
}
