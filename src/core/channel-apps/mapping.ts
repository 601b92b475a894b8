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

function base(type: number): Payload {
  return {
    type,
    searchableContent: '',
    pushContent: '',
    pushData: '',
    content: '',
    base64edData: '',
    mediaType: 0,
    remoteMediaUrl: '',
    persistFlag: PersistFlag.count,
    expireDuration: 0,
    mentionedType: 0,
    mentionedTarget: [],
    extra: '',
  };
}

function payloadOf(c: ChannelContent | undefined): Payload {
  if (!c) return base(TEXT);
  switch (c.type) {
    case 'text':
      return { ...base(TEXT), searchableContent: c.text ?? '' };
    case 'htmlText':
      return { ...base(TEXT), searchableContent: c.text && c.text !== '' ? c.text : htmlToText(c.htmlText ?? ''), content: c.htmlText ?? '' };
    case 'picture':
      return { ...base(IMAGE), mediaType: 1, remoteMediaUrl: c.url ?? '', searchableContent: c.title ?? c.name ?? '' };
    case 'audio':
      return { ...base(VOICE), mediaType: 2, remoteMediaUrl: c.url ?? '' };
    case 'video':
      return { ...base(VIDEO), mediaType: 3, remoteMediaUrl: c.url ?? '', content: c.previewUrl ?? '' };
    case 'file':
      return { ...base(FILE), mediaType: 4, remoteMediaUrl: c.url ?? '', searchableContent: c.name ?? c.title ?? '' };
    case 'location':
      return {
        ...base(LOCATION),
        searchableContent: c.title ?? c.desc ?? '',
        content: JSON.stringify({ lat: Number(c.latitude ?? 0) || 0, long: Number(c.longitude ?? 0) || 0, ...(c.scale ? { scale: c.scale } : {}) }),
      };
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
  return { ...payloadOf(m.contents[0]), extra: extraOf(m) };
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
