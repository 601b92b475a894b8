import crypto from 'node:crypto';

/**
 * The channel gateway's domain (seeds 000 and 002, docs/channel-gateway.md): third-party *channel apps*
 * bridge a channel (WeChat, e-mail, SMS, web chat…) to Switchboard. Named "channel apps" throughout,
 * because "channels" already are Wildfire's broadcast channels (services/channels.ts).
 *
 * How a contact's exchange maps onto IM (the decision every part of the gateway relies on):
 * - every contact is an IM user of its own, `contactId` (`cu_` + 32 hex, derived from the channel
 *   account and the contact's account on the channel), display name = the contact's name;
 * - every channel account has a system IM user, `accountUserId(channelAccountId)` (`ca_` + 32 hex):
 *   the sender of the account's own outgoing messages (seed 000 `isReceive: false`);
 * - every conversation of a contact with an account is one IM group, `conversationId` (`cc_` + 32
 *   hex, derived from account, contact and originalConversationId), owned by the account's user, whose
 *   members are that user, the contact's user and the account's agents. Agents' devices receive an
 *   inbound message as an ordinary `message` frame in conversation `{type: 1, target: conversationId,
 *   line: 0}` and reply by sending to it; a message there whose sender is neither the contact nor the
 *   account's user is an agent's reply (part B sends it out through the app).
 */

export const CHANNEL_PROTOCOLS = ['000', '002'] as const;
/** `000`: the unified channel platform (JSON post to the version's messageWebhookUrl); `002`: the omni-media staff-service API. */
export type ChannelProtocol = (typeof CHANNEL_PROTOCOLS)[number];

/** Free-form attributes of a record (seed 000's other fields: icons, capabilities, flags…), kept as given. */
export type Attributes = Record<string, unknown>;

/** A channel kind (seed 000's Channel): wechat, email, sms… */
export interface ChannelDef {
  channelId: string;
  name: string;
  /** The app that provides it ('' for none). */
  appId: string;
  /** contactIdentityTypeId, messageDisplayType, outgoingMessageMaxLength, ifDisplaySubject… */
  attributes: Attributes;
  createDt: number;
  updateDt: number;
}

/** A channel app (seed 000's App; seed 002's appid/appsecret). */
export interface ChannelApp {
  appId: string;
  /** Inbound: 002 signature key; outbound: 000's HMAC key and 002's token when outboundToken is ''. */
  secret: string;
  protocol: ChannelProtocol;
  /** 002: the app's path_prefix URL (we POST `{baseUrl}/staffService/message`); 000: its messageWebhookUrl. */
  baseUrl: string;
  /** 002 outbound signing token; '' means the secret. */
  outboundToken: string;
  /** The published version (seed 000 publishVersionId), '' for none. */
  versionId: string;
  /** Where a 002 message without `accname` goes; '' means the app's first account (oldest). */
  defaultAccountId: string;
  /** 0 enabled; anything else disabled (inbound refused). */
  status: number;
  attributes: Attributes;
  createDt: number;
  updateDt: number;
}

/** A version of an app (seed 000's Version). */
export interface ChannelAppVersion {
  versionId: string;
  appId: string;
  number: string;
  name: string;
  /** Where outbound 000 messages go when this version is the app's published one ('' : the app's baseUrl). */
  messageWebhookUrl: string;
  attributes: Attributes;
  createDt: number;
  updateDt: number;
}

/** A channel a version serves (seed 000's versionChannel cache item). */
export interface VersionChannel {
  versionId: string;
  channelId: string;
  attributes: Attributes;
  createDt: number;
  updateDt: number;
}

/** A business account on a channel (seed 000's ChannelAccount), served by one app, answered by an agent pool. */
export interface ChannelAccount {
  channelAccountId: string;
  channelId: string;
  appId: string;
  accountName: string;
  /** The account's id on the original channel. */
  accountOriginalId: string;
  enabled: boolean;
  /** IM user ids of the agents; members of every conversation of the account. */
  agents: string[];
  attributes: Attributes;
  createDt: number;
  updateDt: number;
}

/** The configuration records, by seed 000's cache item names (`PUT caches` names them). */
export interface ChannelConfigRecords {
  channel: ChannelDef;
  app: ChannelApp;
  version: ChannelAppVersion;
  versionChannel: VersionChannel;
  channelAccount: ChannelAccount;
}
export type ChannelConfigKind = keyof ChannelConfigRecords;
export const CHANNEL_CONFIG_KINDS: readonly ChannelConfigKind[] = ['channel', 'app', 'version', 'versionChannel', 'channelAccount'];

/**
 * What a configuration record hangs on: a channel, version or account its appId, a version-channel
 * its versionId, an app nothing (''). An app with children, or a version with version-channels,
 * cannot be deleted.
 */
export function configParent<K extends ChannelConfigKind>(kind: K, rec: ChannelConfigRecords[K]): string {
  if (kind === 'app') return '';
  if (kind === 'versionChannel') return (rec as VersionChannel).versionId;
  return (rec as { appId: string }).appId;
}

/** The id of a configuration record (a version-channel's is `versionId/channelId`). */
export function configId<K extends ChannelConfigKind>(kind: K, rec: ChannelConfigRecords[K]): string {
  switch (kind) {
    case 'channel':
      return (rec as ChannelDef).channelId;
    case 'app':
      return (rec as ChannelApp).appId;
    case 'version':
      return (rec as ChannelAppVersion).versionId;
    case 'versionChannel':
      return `${(rec as VersionChannel).versionId}/${(rec as VersionChannel).channelId}`;
    default:
      return (rec as ChannelAccount).channelAccountId;
  }
}

/** A contact: an external person on one channel account (seed 000's contact identity). */
export interface ChannelContact {
  /** Also its IM user id (`cu_…`). */
  contactId: string;
  channelAccountId: string;
  /** The contact's id on the channel (seed 000 `channelaccount` / `account`, seed 002 `FromUserId`). */
  account: string;
  name: string;
  avatarUrl: string;
  originalContactInfoUrl: string;
  originalContactPageUrl: string;
  screenName: string;
  /** Any other field the app sent about the contact. */
  attributes: Attributes;
  createDt: number;
  updateDt: number;
}

/** One exchange of a contact with an account: an IM group (see the module comment). */
export interface ChannelConversation {
  /** Also its IM group id (`cc_…`). */
  conversationId: string;
  channelAccountId: string;
  contactId: string;
  /** The channel's own thread id ('' when the app gave none). */
  originalConversationId: string;
  /** The agents that are members of the group, as last synchronised with the account. */
  agents: string[];
  createDt: number;
  updateDt: number;
}

export const CONTENT_TYPES = ['text', 'htmlText', 'video', 'audio', 'picture', 'file', 'location'] as const;
export type ChannelContentType = (typeof CONTENT_TYPES)[number];

/** A content of an external message (seed 000's content; type normalised to the seed's casing). */
export interface ChannelContent {
  id: string;
  type: ChannelContentType;
  text?: string;
  htmlText?: string;
  name?: string;
  title?: string;
  mime?: string;
  previewUrl?: string;
  url?: string;
  latitude?: string;
  longitude?: string;
  scale?: string;
  desc?: string;
}

/** Outbound delivery of an agent's reply through the app (part B fills it): none for inbound messages. */
export const DELIVERY_STATUSES = ['none', 'pending', 'sent', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** 'in': from the contact; 'out': to the contact (an agent's reply, or seed 000 isReceive false). */
export type ChannelDirection = 'in' | 'out';

/**
 * The external metadata kept with an IM message of a channel conversation, every field the app sent
 * (seed 000 message fields; seed 002 MsgType/Tag/unknown fields in `raw`).
 */
export interface ChannelMessage {
  /** The IM message's uid. */
  uid: number;
  /** Seed 000's message guid (the `{guid}` answered; the `{id}` of the send-result PUT). */
  guid: string;
  conversationId: string;
  channelAccountId: string;
  contactId: string;
  direction: ChannelDirection;
  /** Seed 000 isReceive: true when the contact sent it. */
  isReceive: boolean;
  channelId: string;
  originalMessageId: string;
  originalParentId: string;
  originalConversationId: string;
  originalUrl: string;
  subject: string;
  cc: string;
  contents: ChannelContent[];
  /** The app's createTime (ms), 0 when not given. */
  createTime: number;
  /** Everything else the app sent (002: MsgType, Tag, ServiceId, accname…; 000: unknown fields). */
  raw: Attributes;
  delivery: DeliveryStatus;
  deliveryError: string;
  /** The message's URL on the channel after an outbound send (send-result). */
  originalMessageUrl: string;
  createdAt: number;
  updatedAt: number;
}

/**
 * A message moves its conversation's activity time (which of a contact's conversations is the latest)
 * only when it is at least this much later than the time stored: stores rewrite a busy conversation's
 * row about once a second, not once per message (docs/channel-gateway.md).
 */
export const CONVERSATION_ACTIVITY_STEP_MS = 1000;

/** A change of a message's delivery (part B: outbox outcomes and the send-result PUT). */
export interface DeliveryUpdate {
  delivery: DeliveryStatus;
  deliveryError?: string;
  originalMessageId?: string;
  originalMessageUrl?: string;
  /** Re-hosted files by content id: replace these contents' url. */
  urls?: Array<{ id: string; url: string }>;
  /**
   * Compare-and-set (part B): apply only while the stored status is one of these; otherwise nothing
   * changes and the stored message is returned (e.g. an outbox outcome arriving after the app's
   * send result must not take `delivered` back to `sent`).
   */
  onlyFrom?: DeliveryStatus[];
}

/**
 * A change of the status (and its error) alone — no ids, no URLs: what every outbox outcome carries.
 * Stores may apply such changes in place, without reading the record first.
 */
export function isStatusOnly(u: DeliveryUpdate): boolean {
  return (u.urls?.length ?? 0) === 0 && u.originalMessageId === undefined && u.originalMessageUrl === undefined;
}

// ---------------------------------------------------------------- IM identities (see the module comment)

function digest(...parts: string[]): string {
  // Unambiguous: each part is length-prefixed.
  return crypto.hash('sha256', parts.map((p) => `${p.length}:${p}`).join('|'), 'hex').slice(0, 32);
}

/** The IM user of a contact: `cu_` + 32 hex of (channelAccountId, the contact's account on the channel). */
export function contactIdOf(channelAccountId: string, account: string): string {
  return `cu_${digest(channelAccountId, account)}`;
}

/** The system IM user of a channel account (owner of its conversations, sender of its isReceive-false messages). */
export function accountUserId(channelAccountId: string): string {
  return `ca_${digest(channelAccountId)}`;
}

/** The IM group of a conversation: `cc_` + 32 hex of (channelAccountId, contactId, originalConversationId or ''). */
export function conversationIdOf(channelAccountId: string, contactId: string, originalConversationId: string): string {
  return `cc_${digest(channelAccountId, contactId, originalConversationId)}`;
}

/** Whether an IM group id is a channel conversation's (cheap, synchronous; confirm with the store). */
export function isChannelConversationId(groupId: string): boolean {
  return groupId.length === 35 && groupId.startsWith('cc_');
}

/** Random hex for guids, drawn in blocks (one CSPRNG call per GUID_BLOCK guids), consumed 20 digits (10 bytes) at a time. */
const GUID_BLOCK = 256;
const GUID_RANDOM_HEX = 20;
let guidRandom = '';
let guidRandomAt = 0;
/** The timestamp part of the latest guid (messages of one millisecond share it). */
let guidMs = -1;
let guidTs = '';
const VARIANT = '89ab';

/**
 * A fresh message guid: a UUID version 7 (RFC 9562: 48-bit Unix ms, then random bits), unique like a
 * random UUID but increasing with time, so each new guid lands at the end of the store's unique guid
 * index instead of on a random page of it (one dirty page per commit rather than one per message).
 * Its 74 random bits come from crypto.randomBytes like randomUUID's, read in blocks.
 */
export function timeOrderedGuid(nowMs: number): string {
  const ms = Math.max(0, Math.floor(nowMs));
  if (ms !== guidMs) {
    const ts = ms.toString(16).padStart(12, '0').slice(-12);
    guidMs = ms;
    guidTs = `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7`;
  }
  if (guidRandomAt + GUID_RANDOM_HEX > guidRandom.length) {
    guidRandom = crypto.randomBytes((GUID_BLOCK * GUID_RANDOM_HEX) / 2).toString('hex');
    guidRandomAt = 0;
  }
  const r = guidRandom.slice(guidRandomAt, (guidRandomAt += GUID_RANDOM_HEX));
  // 3 random hex after the version; the variant (10xx) and 2 random bits; 3 + 12 random hex.
  return `${guidTs}${r.slice(0, 3)}-${VARIANT[parseInt(r[3]!, 16) & 3]}${r.slice(4, 7)}-${r.slice(7, 19)}`;
}
