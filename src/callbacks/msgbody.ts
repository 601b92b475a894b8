import type { Payload } from '../core/model.js';

/**
 * Seed 001 payloads ⇄ Tencent MsgBody elements (docs/callbacks.md has the table). Wildfire's built-in
 * content types put their media facts in known places: voice `content` {"duration"}, image `content`
 * {"w","h"}, location title in searchableContent and `content` {"lat","long"}, file name in
 * searchableContent (maybe prefixed "[文件] ") and size as `content`, video `content` {"d","duration"}.
 */
export interface MsgElement {
  MsgType: string;
  MsgContent: Record<string, unknown>;
}

const IMAGE_FORMAT: Record<string, number> = { jpg: 1, jpeg: 1, gif: 2, png: 3, bmp: 4 };

function json(s: string): Record<string, unknown> {
  if (!s) return {};
  try {
    const v: unknown = JSON.parse(s);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : 0;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

function extension(url: string): string {
  const path = url.split(/[?#]/)[0] ?? '';
  const dot = path.lastIndexOf('.');
  return dot >= 0 && dot > path.lastIndexOf('/') ? path.slice(dot + 1).toLowerCase() : '';
}

const FILE_PREFIX = /^\[文件\]\s?/;

/** The MsgBody announcing a payload. */
export function toMsgBody(p: Payload): MsgElement[] {
  const c = json(p.content);
  switch (p.type) {
    case 1:
      return [{ MsgType: 'TIMTextElem', MsgContent: { Text: p.searchableContent } }];
    case 2:
      return [{ MsgType: 'TIMSoundElem', MsgContent: { Url: p.remoteMediaUrl, UUID: '', Size: 0, Second: num(c['duration']), Download_Flag: 2 } }];
    case 3: {
      const url = p.remoteMediaUrl;
      return [
        {
          MsgType: 'TIMImageElem',
          MsgContent: {
            UUID: '',
            ImageFormat: IMAGE_FORMAT[extension(url)] ?? 255,
            ImageInfoArray: [{ Type: 1, Size: 0, Width: num(c['w']), Height: num(c['h']), URL: url }],
          },
        },
      ];
    }
    case 4:
      return [{ MsgType: 'TIMLocationElem', MsgContent: { Desc: p.searchableContent, Latitude: num(c['lat']), Longitude: num(c['long']) } }];
    case 5:
      return [
        {
          MsgType: 'TIMFileElem',
          MsgContent: { Url: p.remoteMediaUrl, UUID: '', FileSize: num(p.content), FileName: p.searchableContent.replace(FILE_PREFIX, ''), Download_Flag: 2 },
        },
      ];
    case 6:
      return [
        {
          MsgType: 'TIMVideoFileElem',
          MsgContent: {
            VideoUrl: p.remoteMediaUrl,
            VideoUUID: '',
            VideoSize: 0,
            VideoSecond: num(c['d'] ?? c['duration']),
            VideoFormat: extension(p.remoteMediaUrl) || 'mp4',
            VideoDownloadFlag: 2,
            ThumbUrl: '',
            ThumbUUID: '',
            ThumbSize: 0,
            ThumbWidth: 0,
            ThumbHeight: 0,
            ThumbFormat: 'JPG',
            ThumbDownloadFlag: 2,
          },
        },
      ];
    case 7:
      return [{ MsgType: 'TIMFaceElem', MsgContent: { Index: 0, Data: p.remoteMediaUrl } }];
    default:
      // Everything else (links, cards, notifications, custom ≥ 1000): the seed 001 fields, verbatim.
      return [{ MsgType: 'TIMCustomElem', MsgContent: { Data: p.content, Desc: p.pushContent || p.searchableContent, Ext: p.pushData, Sound: '' } }];
  }
}

/**
 * The payload a MsgBody stands for, on top of `base` (the original payload: fields the body does not
 * carry keep their values). The first element decides the content type; further text elements are
 * appended to a text. Unknown element types keep the original content.
 */
export function fromMsgBody(body: unknown, base: Payload): Payload {
  if (!Array.isArray(body) || body.length === 0) return base;
  const els = body.filter((e): e is MsgElement => typeof e === 'object' && e !== null && typeof (e as MsgElement).MsgType === 'string');
  const first = els[0];
  if (!first) return base;
  const c = typeof first.MsgContent === 'object' && first.MsgContent !== null ? first.MsgContent : {};
  const out: Payload = { ...base, mentionedTarget: [...base.mentionedTarget] };
  switch (first.MsgType) {
    case 'TIMTextElem':
      out.type = 1;
      out.searchableContent = els
        .filter((e) => e.MsgType === 'TIMTextElem')
        .map((e) => str(e.MsgContent?.['Text']))
        .join('');
      out.content = '';
      out.remoteMediaUrl = '';
      return out;
    case 'TIMSoundElem':
      out.type = 2;
      out.mediaType = 2;
      out.remoteMediaUrl = str(c['Url']);
      out.content = JSON.stringify({ duration: num(c['Second']) });
      return out;
    case 'TIMImageElem': {
      const info = (Array.isArray(c['ImageInfoArray']) ? (c['ImageInfoArray'] as Array<Record<string, unknown>>) : []).find((i) => num(i['Type']) === 1) ??
        (Array.isArray(c['ImageInfoArray']) ? (c['ImageInfoArray'] as Array<Record<string, unknown>>)[0] : undefined);
      out.type = 3;
      out.mediaType = 1;
      out.remoteMediaUrl = str(info?.['URL']);
      out.content = JSON.stringify({ w: num(info?.['Width']), h: num(info?.['Height']) });
      return out;
    }
    case 'TIMLocationElem':
      out.type = 4;
      out.searchableContent = str(c['Desc']);
      out.content = JSON.stringify({ lat: num(c['Latitude']), long: num(c['Longitude']) });
      return out;
    case 'TIMFileElem':
      out.type = 5;
      out.mediaType = 4;
      out.remoteMediaUrl = str(c['Url']);
      out.searchableContent = str(c['FileName']);
      out.content = String(num(c['FileSize']));
      return out;
    case 'TIMVideoFileElem':
      out.type = 6;
      out.mediaType = 3;
      out.remoteMediaUrl = str(c['VideoUrl']);
      out.content = JSON.stringify({ d: num(c['VideoSecond']), duration: num(c['VideoSecond']) });
      return out;
    case 'TIMFaceElem':
      out.type = 7;
      out.mediaType = 4; // Wildfire's sticker encoders use the file media type
      out.remoteMediaUrl = str(c['Data']);
      return out;
    case 'TIMCustomElem':
      // A custom element keeps a custom original's type; otherwise it becomes custom content (1000).
      if (toMsgBody(base)[0]?.MsgType !== 'TIMCustomElem') out.type = 1000;
      out.content = str(c['Data']);
      out.pushContent = str(c['Desc']);
      out.pushData = str(c['Ext']);
      return out;
    default:
      return base;
  }
}
