import type { Payload } from '../model.js';
import { PersistFlag } from '../model.js';
import type { ChannelContent, ChannelContentType, ChannelMessage } from './model.js';
import { CONTENT_TYPES } from './model.js';

/**
 * How external messages become seed 001 payloads (docs/channel-gateway.md, "Payload mapping"): the
 * first content decides the payload type; every content and the message's metadata go in `extra` as
 * JSON `{"channel": …}` so devices see subject, cc and attachments without another call.
 */

/** Wildfire content types and media types used by the mapping. */
const TEXT = 1;
const VOICE = 2;
const IMAGE = 3;
const LOCATION = 4;
const FILE = 5;
const VIDEO = 6;

/** A seed 000 content type in either case (`Text`, `text`, `HtmlText`, `htmltext`…), or undefined. */
export function contentType(t: string): ChannelContentType | undefined {
  const low = t.toLowerCase();
  return CONTENT_TYPES.find((c) => c.toLowerCase() === low);
}

/** Text of an HTML fragment: tags dropped, the common entities decoded, blanks collapsed. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<br\s*\/?>|<\/p\s*>|<\/div\s*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/[ \t]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .trim();
}

/** The payload fields a content sets; the others keep their defaults. */
interface Shown {
  searchableContent?: string;
  content?: string;
  mediaType?: number;
  remoteMediaUrl?: string;
}

/** One object literal of a fixed shape (no spread copies on this per-message path). */
function make(type: number, f: Shown, extra: string): Payload {
  return {
    type,
    searchableContent: f.searchableContent ?? '',
    pushContent: '',
    pushData: '',
    content: f.content ?? '',
    base64edData: '',
    mediaType: f.mediaType ?? 0,
    remoteMediaUrl: f.remoteMediaUrl ?? '',
    persistFlag: PersistFlag.count,
    expireDuration: 0,
    mentionedType: 0,
    mentionedTarget: [],
    extra,
  };
}

function payloadOf(c: ChannelContent | undefined, extra: string): Payload {
  if (!c) return make(TEXT, {}, extra);
  switch (c.type) {
    case 'text':
      return make(TEXT, { searchableContent: c.text ?? '' }, extra);
    case 'htmlText':
      return make(TEXT, { searchableContent: c.text && c.text !== '' ? c.text : htmlToText(c.htmlText ?? ''), content: c.htmlText ?? '' }, extra);
    case 'picture':
      return make(IMAGE, { mediaType: 1, remoteMediaUrl: c.url ?? '', searchableContent: c.title ?? c.name ?? '' }, extra);
    case 'audio':
      return make(VOICE, { mediaType: 2, remoteMediaUrl: c.url ?? '' }, extra);
    case 'video':
      return make(VIDEO, { mediaType: 3, remoteMediaUrl: c.url ?? '', content: c.previewUrl ?? '' }, extra);
    case 'file':
      return make(FILE, { mediaType: 4, remoteMediaUrl: c.url ?? '', searchableContent: c.name ?? c.title ?? '' }, extra);
    case 'location':
      return make(
        LOCATION,
        {
          searchableContent: c.title ?? c.desc ?? '',
          content: JSON.stringify({ lat: Number(c.latitude ?? 0) || 0, long: Number(c.longitude ?? 0) || 0, ...(c.scale ? { scale: c.scale } : {}) }),
        },
        extra,
      );
  }
}

/**
 * The metadata shown to devices in the payload's `extra`: everything but the delivery bookkeeping and
 * `raw` (every field the app sent, which may repeat the content: read it with the admin API).
 */
export function extraOf(m: Omit<ChannelMessage, 'uid' | 'delivery' | 'deliveryError' | 'originalMessageUrl' | 'createdAt' | 'updatedAt'>): string {
  return JSON.stringify({
    channel: {
      guid: m.guid,
      channelAccountId: m.channelAccountId,
      contactId: m.contactId,
      direction: m.direction,
      isReceive: m.isReceive,
      channelId: m.channelId,
      originalMessageId: m.originalMessageId,
      originalParentId: m.originalParentId,
      originalConversationId: m.originalConversationId,
      originalUrl: m.originalUrl,
      subject: m.subject,
      cc: m.cc,
      createTime: m.createTime,
      contents: m.contents,
    },
  });
}

/** The IM payload of an external message. */
export function toPayload(m: Omit<ChannelMessage, 'uid' | 'delivery' | 'deliveryError' | 'originalMessageUrl' | 'createdAt' | 'updatedAt'>): Payload {
  return payloadOf(m.contents[0], extraOf(m));
}

/**
 * Seed 002's MsgType and Content as one content: text → text; image → picture; voice → audio; video,
 * file (Content is the download URL); anything else (event.*, unknown types) → text with the raw
 * content (the raw MsgType is kept in the message's `raw`).
 */
export function contentOf002(msgType: string, content: string, id: string): ChannelContent {
  switch (msgType) {
    case 'image':
      return { id, type: 'picture', url: content };
    case 'voice':
      return { id, type: 'audio', url: content };
    case 'video':
      return { id, type: 'video', url: content };
    case 'file':
      return { id, type: 'file', url: content, name: fileName(content) };
    default:
      return { id, type: 'text', text: content };
  }
}

/** The last path segment of a URL (a file's name), '' when there is none. */
function fileName(url: string): string {
  try {
    const p = new URL(url).pathname;
    return decodeURIComponent(p.slice(p.lastIndexOf('/') + 1));
  } catch {
    return '';
  }
}
