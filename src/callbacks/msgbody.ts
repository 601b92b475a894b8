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
            // Tencent's three sizes: 1 original, 2 large, 3 thumbnail. A seed 001 image has one URL (its
            // thumbnail travels inline, in base64edData): every entry points at it; only the original
            // knows its size.
            ImageInfoArray: [
              { Type: 1, Size: 0, Width: num(c['w']), Height: num(c['h']), URL: url },
              { Type: 2, Size: 0, Width: 0, Height: 0, URL: url },
              { Type: 3, Size: 0, Width: 0, Height: 0, URL: url },
            ],
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

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Why a MsgBody cannot be used (internal: readMsgBody turns it into its result). */
class Unusable extends Error {}

/** A string field that must be there. */
function reqStr(c: Obj, k: string, where: string): string {
  const v = c[k];
  if (typeof v !== 'string') throw new Unusable(`${where}.${k} must be a string`);
  return v;
}

/** A string field that may be missing or null (then undefined), and is a string otherwise. */
function optStr(c: Obj, k: string, where: string): string | undefined {
  const v = c[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Unusable(`${where}.${k} must be a string`);
  return v;
}

function isNumeric(v: unknown): boolean {
  return (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)));
}

/** A number field (a numeric string is accepted) that may be missing or null (then undefined). */
function optNum(c: Obj, k: string, where: string): number | undefined {
  const v = c[k];
  if (v === undefined || v === null) return undefined;
  if (!isNumeric(v)) throw new Unusable(`${where}.${k} must be a number`);
  return Number(v);
}

function reqNum(c: Obj, k: string, where: string): number {
  const v = optNum(c, k, where);
  if (v === undefined) throw new Unusable(`${where}.${k} must be a number`);
  return v;
}

/** An element's MsgType and MsgContent, or why it is not an element. */
function element(e: unknown, where: string): { type: string; c: Obj } {
  if (!isObj(e)) throw new Unusable(`${where} is not an object`);
  if (typeof e['MsgType'] !== 'string') throw new Unusable(`${where}.MsgType must be a string`);
  if (!isObj(e['MsgContent'])) throw new Unusable(`${where}.MsgContent must be an object`);
  return { type: e['MsgType'], c: e['MsgContent'] };
}

/** Structural equality of JSON values (object keys in any order). */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

export type MsgBodyReading = { ok: true; payload: Payload } | { ok: false; reason: string };

/**
 * The payload a MsgBody stands for, on top of `base` (the original payload: fields the body does not
 * carry keep their values), or why the body cannot be used. Never throws, whatever `body` is.
 *
 * - A body equal to `toMsgBody(base)` (a back end echoing what it was sent) is `base`, exactly.
 * - The first element decides the content type; it must be an object with a string MsgType of a
 *   supported element and an object MsgContent whose fields have their documented types (the ones the
 *   mapping needs must be there; optional ones may be missing or null). Further text elements are
 *   appended to a text (and must be well-formed); other further elements are ignored.
 * - Derived fields the body echoes unchanged keep the original's value: a TIMCustomElem `Desc` equal
 *   to the one sent keeps `pushContent` (it was sent as `pushContent || searchableContent`), a
 *   TIMFileElem `FileName` equal to the one sent keeps `searchableContent` (its "[文件] " prefix).
 */
export function readMsgBody(body: unknown, base: Payload): MsgBodyReading {
  try {
    return { ok: true, payload: read(body, base) };
  } catch (err) {
    if (err instanceof Unusable) return { ok: false, reason: err.message };
    return { ok: false, reason: `MsgBody: ${String(err)}` };
  }
}

/** The payload a MsgBody stands for on top of `base`, or `base` when the body is unusable (see readMsgBody). Never throws. */
export function fromMsgBody(body: unknown, base: Payload): Payload {
  const r = readMsgBody(body, base);
  return r.ok ? r.payload : base;
}

function read(body: unknown, base: Payload): Payload {
  if (!Array.isArray(body)) throw new Unusable('MsgBody must be an array');
  if (body.length === 0) throw new Unusable('MsgBody is empty');
  const out: Payload = { ...base, mentionedTarget: [...base.mentionedTarget] };
  const sent = toMsgBody(base);
  if (jsonEqual(body, sent)) return out;
  const { type, c } = element(body[0], 'MsgBody[0]');
  const where = 'MsgBody[0].MsgContent';
  const sentContent = sent[0]?.MsgType === type ? sent[0].MsgContent : undefined;
  switch (type) {
    case 'TIMTextElem': {
      let text = reqStr(c, 'Text', where);
      for (const [i, e] of body.entries()) {
        if (i === 0 || !isObj(e) || e['MsgType'] !== 'TIMTextElem') continue;
        text += reqStr(element(e, `MsgBody[${i}]`).c, 'Text', `MsgBody[${i}].MsgContent`);
      }
      out.type = 1;
      out.searchableContent = text;
      out.content = '';
      out.remoteMediaUrl = '';
      return out;
    }
    case 'TIMSoundElem':
      out.type = 2;
      out.mediaType = 2;
      out.remoteMediaUrl = reqStr(c, 'Url', where);
      out.content = JSON.stringify({ duration: optNum(c, 'Second', where) ?? 0 });
      return out;
    case 'TIMImageElem': {
      const list = c['ImageInfoArray'];
      if (!Array.isArray(list)) throw new Unusable(`${where}.ImageInfoArray must be an array`);
      const entries = list.filter((i): i is Obj => isObj(i) && typeof i['URL'] === 'string');
      const info = entries.find((i) => isNumeric(i['Type']) && Number(i['Type']) === 1) ?? entries[0];
      if (!info) throw new Unusable(`${where}.ImageInfoArray has no entry with a URL`);
      const at = `${where}.ImageInfoArray[${list.indexOf(info)}]`;
      out.type = 3;
      out.mediaType = 1;
      out.remoteMediaUrl = reqStr(info, 'URL', at);
      out.content = JSON.stringify({ w: optNum(info, 'Width', at) ?? 0, h: optNum(info, 'Height', at) ?? 0 });
      return out;
    }
    case 'TIMLocationElem':
      out.type = 4;
      out.searchableContent = optStr(c, 'Desc', where) ?? '';
      out.content = JSON.stringify({ lat: reqNum(c, 'Latitude', where), long: reqNum(c, 'Longitude', where) });
      return out;
    case 'TIMFileElem': {
      const name = optStr(c, 'FileName', where) ?? '';
      out.type = 5;
      out.mediaType = 4;
      out.remoteMediaUrl = reqStr(c, 'Url', where);
      out.searchableContent = sentContent && name === sentContent['FileName'] ? base.searchableContent : name;
      out.content = String(optNum(c, 'FileSize', where) ?? 0);
      return out;
    }
    case 'TIMVideoFileElem': {
      const seconds = optNum(c, 'VideoSecond', where) ?? 0;
      out.type = 6;
      out.mediaType = 3;
      out.remoteMediaUrl = reqStr(c, 'VideoUrl', where);
      out.content = JSON.stringify({ d: seconds, duration: seconds });
      return out;
    }
    case 'TIMFaceElem':
      optNum(c, 'Index', where);
      out.type = 7;
      out.mediaType = 4; // Wildfire's sticker encoders use the file media type
      out.remoteMediaUrl = reqStr(c, 'Data', where);
      return out;
    case 'TIMCustomElem': {
      const desc = optStr(c, 'Desc', where) ?? '';
      optStr(c, 'Sound', where);
      // A custom element keeps a custom original's type; otherwise it becomes custom content (1000).
      if (sent[0]?.MsgType !== 'TIMCustomElem') out.type = 1000;
      out.content = reqStr(c, 'Data', where);
      out.pushContent = sentContent && desc === sentContent['Desc'] ? base.pushContent : desc;
      out.pushData = optStr(c, 'Ext', where) ?? '';
      return out;
    }
    default:
      throw new Unusable(`MsgBody[0].MsgType ${JSON.stringify(type.slice(0, 40))} is not a supported element`);
  }
}
