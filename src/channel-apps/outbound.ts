import type { Payload } from '../core/model.js';
import { sign000, sign002 } from './signature.js';
import type { PostTarget } from '../callbacks/http.js';

/**
 * The outbound formats: what Switchboard posts to a channel app for an agent's reply into a contact's
 * conversation. Pure functions; the Sender (sender.ts) adds the per-attempt timestamp and signature.
 * docs/channel-gateway.md documents both shapes.
 */

/** Seed 001 (Wildfire) payload types that map onto channel media. */
export const WildfireType = { text: 1, voice: 2, image: 3, location: 4, file: 5, video: 6 } as const;

/** Everything an outbound post is built from, resolved when the reply is planned. */
export interface OutboundFacts {
  /** The reply's message uid (decimal string): seed 000's `guid`, the id of the send-result PUT. */
  guid: string;
  timestamp: number;
  payload: Payload;
  /** The contact's id on its channel (`ToUserId` / `account`) and profile. */
  contact: { account: string; name?: string; avatarUrl?: string; originalContactInfoUrl?: string; originalContactPageUrl?: string; screenName?: string };
  channelAccountId: string;
  channelId: string;
  /** The customer-service session and agent, when the reply belongs to one. */
  serviceId?: string;
  workerNum?: string;
  workerName?: string;
  /** Seed 000 threading: the conversation and the message replied to on the original channel, when known. */
  originalConversationId?: string;
  originalParentId?: string;
  subject?: string;
}

/** Seed 002's outbound body (`{ToUserId, WorkerNum, WorkerName, ServiceId, MsgType, Content, Tag}`). */
export interface Body002 {
  ToUserId: string;
  WorkerNum: string;
  WorkerName: string;
  ServiceId: string;
  MsgType: string;
  Content: string;
  Tag: unknown;
}

/** One content of seed 000 (lower-case types, as seed 000 writes them). */
export interface Content000 {
  id: string;
  type: 'text' | 'htmlText' | 'video' | 'audio' | 'picture' | 'file' | 'location';
  text?: string;
  name?: string;
  url?: string;
  title?: string;
  latitude?: string;
  longitude?: string;
}

/** A media URL of the payload: remoteMediaUrl, else `content` when it is one. */
function mediaUrl(p: Payload): string {
  if (p.remoteMediaUrl) return p.remoteMediaUrl;
  return /^https?:\/\//i.test(p.content) ? p.content : '';
}

/** `payload.extra` as a JSON object (the 002 Tag an inbound message carried, or an agent's), else `{}`. */
export function tagOf(p: Payload): unknown {
  if (!p.extra) return {};
  try {
    const v: unknown = JSON.parse(p.extra);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

/** The id of the n-th content of a reply (stable: the send-result callback names contents by it). */
export function contentId(guid: string, n: number): string {
  return `${guid}-${n}`;
}

/**
 * Seed 002's MsgType and Content for a payload: text as is; image, voice, video and file with their
 * download URL; a location, or media without a URL, as text with its searchable content.
 */
export function msg002(p: Payload): { MsgType: string; Content: string } {
  const url = mediaUrl(p);
  switch (p.type) {
    case WildfireType.image:
      if (url) return { MsgType: 'image', Content: url };
      break;
    case WildfireType.voice:
      if (url) return { MsgType: 'voice', Content: url };
      break;
    case WildfireType.video:
      if (url) return { MsgType: 'video', Content: url };
      break;
    case WildfireType.file:
      if (url) return { MsgType: 'file', Content: url };
      break;
  }
  return { MsgType: 'text', Content: p.searchableContent || p.content };
}

export function body002(f: OutboundFacts): Body002 {
  return {
    ToUserId: f.contact.account,
    WorkerNum: f.workerNum ?? '',
    WorkerName: f.workerName ?? '',
    ServiceId: f.serviceId ?? '',
    ...msg002(f.payload),
    Tag: tagOf(f.payload),
  };
}

/** A Wildfire location's coordinates (its `content` is `{"lat":…,"long":…}`), or null. */
function coordinates(p: Payload): { lat: string; long: string } | null {
  try {
    const v = JSON.parse(p.content) as { lat?: unknown; long?: unknown };
    if ((typeof v.lat === 'number' || typeof v.lat === 'string') && (typeof v.long === 'number' || typeof v.long === 'string')) return { lat: String(v.lat), long: String(v.long) };
  } catch {
    // not JSON: no coordinates
  }
  return null;
}

/** Seed 000 contents of a payload (one content; its id is contentId(guid, 0)). */
export function contents000(guid: string, p: Payload): Content000[] {
  const id = contentId(guid, 0);
  const url = mediaUrl(p);
  const name = p.searchableContent || undefined;
  const media = (type: Content000['type']): Content000[] => [{ id, type, url, ...(name ? { name } : {}) }];
  switch (p.type) {
    case WildfireType.image:
      if (url) return media('picture');
      break;
    case WildfireType.voice:
      if (url) return media('audio');
      break;
    case WildfireType.video:
      if (url) return media('video');
      break;
    case WildfireType.file:
      if (url) return media('file');
      break;
    case WildfireType.location: {
      const c = coordinates(p);
      if (c) return [{ id, type: 'location', latitude: c.lat, longitude: c.long, ...(name ? { title: name } : {}) }];
      break;
    }
  }
  return [{ id, type: 'text', text: p.searchableContent || p.content }];
}

/**
 * Seed 000's shape for an outbound message: the inbound post's fields (channelAccountId, the contact
 * identity, message with contents[]) with `isReceive: false`, plus `guid` (the id the app reports the
 * send result under) and the agent's `serviceId`, `workerNum`, `workerName`. The contact's id is given
 * both as `account` (later revision) and `channelaccount` (seed 000's spelling).
 */
export function body000(f: OutboundFacts): Record<string, unknown> {
  const c = f.contact;
  return {
    guid: f.guid,
    channelAccountId: f.channelAccountId,
    isReceive: false,
    createTime: new Date(f.timestamp).toISOString(),
    channelAppContactIdentity: {
      account: c.account,
      channelaccount: c.account,
      ...(c.name !== undefined ? { name: c.name } : {}),
      ...(c.avatarUrl !== undefined ? { avatarUrl: c.avatarUrl } : {}),
      ...(c.originalContactInfoUrl !== undefined ? { originalContactInfoUrl: c.originalContactInfoUrl } : {}),
      ...(c.originalContactPageUrl !== undefined ? { originalContactPageUrl: c.originalContactPageUrl } : {}),
      ...(c.screenName !== undefined ? { screenName: c.screenName } : {}),
    },
    message: {
      channelId: f.channelId,
      ...(f.originalConversationId ? { originalConversationId: f.originalConversationId } : {}),
      ...(f.originalParentId ? { originalParentId: f.originalParentId } : {}),
      ...(f.subject ? { subject: f.subject } : {}),
      contents: contents000(f.guid, f.payload),
    },
    serviceId: f.serviceId ?? '',
    workerNum: f.workerNum ?? '',
    workerName: f.workerName ?? '',
  };
}

/** An HTTP request ready to send. */
export interface OutboundRequest {
  target: URL | PostTarget;
  headers: Record<string, string>;
  body: string;
}

/**
 * An app's endpoint as parsed once (its URL does not change per attempt): origin, path and query (with
 * its `?`, '' when none). At most ENDPOINTS_KEPT, the memo restarted when full.
 */
interface Endpoint {
  origin: string;
  path: string;
  query: string;
}
const ENDPOINTS_KEPT = 1_000;
const endpoints002 = new Map<string, Endpoint>();
const endpoints000 = new Map<string, Endpoint>();

function endpoint(memo: Map<string, Endpoint>, key: string, parse: (key: string) => URL): Endpoint {
  const known = memo.get(key);
  if (known) return known;
  const u = parse(key);
  const e = { origin: u.origin, path: u.pathname, query: u.search };
  if (memo.size >= ENDPOINTS_KEPT) memo.clear();
  memo.set(key, e);
  return e;
}

/** Headers every outbound attempt carries: the stable idempotency key and delivery id, the attempt number. */
export interface AttemptInfo {
  /** Stable per message (`switchboard-msg-<uid>`): an app that saw it already must not send again. */
  idempotencyKey: string;
  deliveryId: number;
  attempt: number;
}

function commonHeaders(a: AttemptInfo): Record<string, string> {
  return {
    'content-type': 'application/json; charset=utf-8',
    'idempotency-key': a.idempotencyKey,
    'x-switchboard-delivery-id': String(a.deliveryId),
    'x-switchboard-attempt': String(a.attempt),
  };
}

/** The URL of `{path_prefix}/staffService/message` (one slash between prefix and path, query kept). */
export function url002(pathPrefix: string): URL {
  const u = new URL(pathPrefix);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/staffService/message`;
  return u;
}

/**
 * Seed 002: `POST {path_prefix}/staffService/message?timestamp=<ms>&signature=sha1(appid + token +
 * timestamp)` with the stored body as is.
 */
export function request002(pathPrefix: string, appId: string, token: string, body: string, now: number, a: AttemptInfo): OutboundRequest {
  const e = endpoint(endpoints002, pathPrefix, url002);
  const timestamp = String(now);
  const signature = sign002(appId, token, timestamp);
  // Per attempt only the query is written (digits and hex: nothing to encode). A prefix with a query of
  // its own goes through URLSearchParams, which replaces a timestamp or signature it may carry.
  if (e.query === '') return { target: { origin: e.origin, path: `${e.path}?timestamp=${timestamp}&signature=${signature}` }, headers: commonHeaders(a), body };
  const url = url002(pathPrefix);
  url.searchParams.set('timestamp', timestamp);
  url.searchParams.set('signature', signature);
  return { target: url, headers: commonHeaders(a), body };
}

/**
 * Seed 000: `POST <messageWebhookUrl>` with the stored body as is, `X-Switchboard-Timestamp: <ms>` and
 * `X-Switchboard-Signature: sha256=<hmac_sha256(secret, timestamp + "." + body)>`.
 */
export function request000(webhookUrl: string, appId: string, secret: string, body: string, now: number, a: AttemptInfo): OutboundRequest {
  const timestamp = String(now);
  const e = endpoint(endpoints000, webhookUrl, (u) => new URL(u));
  return {
    target: { origin: e.origin, path: `${e.path}${e.query}` },
    headers: {
      ...commonHeaders(a),
      'x-switchboard-app-id': appId,
      'x-switchboard-timestamp': timestamp,
      'x-switchboard-signature': `sha256=${sign000(secret, timestamp, body)}`,
    },
    body,
  };
}

/**
 * Whether an app's reply accepts the message: a 2xx whose body is not an `{errcode}` other than 0. For
 * 002 apps the body must be `{errcode: 0}` (the seed's reply); a 000 app may answer any 2xx body.
 */
export function accepted(protocol: '000' | '002', status: number, text: string): { ok: true } | { ok: false; error: string } {
  if (status < 200 || status > 299) return { ok: false, error: `HTTP ${status}` };
  let errcode: unknown;
  let errmsg: unknown;
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      errcode = (v as Record<string, unknown>)['errcode'];
      errmsg = (v as Record<string, unknown>)['errmsg'];
    }
  } catch {
    // not JSON
  }
  if (errcode === undefined) return protocol === '002' ? { ok: false, error: 'reply is not {errcode, errmsg}' } : { ok: true };
  if (errcode === 0 || errcode === '0') return { ok: true };
  return { ok: false, error: `errcode ${String(errcode)}${typeof errmsg === 'string' && errmsg ? `: ${errmsg.slice(0, 200)}` : ''}` };
}
