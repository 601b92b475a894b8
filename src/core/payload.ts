import { invalid } from './errors.js';
import { MAX_CONTENT_LENGTH, MAX_ID_LENGTH, MAX_URL_LENGTH, MAX_USER_LIST } from './limits.js';
import type { Conversation, Payload } from './model.js';

/**
 * Normalising of seed 001 payloads and conversations. Input comes from any surface (admin JSON,
 * device frames); only `payload.type` is required and every other field defaults to what the
 * Java SDK would send (0, "" or []). A present field of the wrong type, or longer than its bound
 * (core/limits.ts), is refused. Device frames reach the core only through these functions, so they
 * are where a frame's strings and lists are bounded; the admin schemas state the same bounds.
 */

/** Each string field of a payload with its bound (characters). */
const STRING_FIELDS = [
  ['searchableContent', MAX_CONTENT_LENGTH],
  ['pushContent', MAX_CONTENT_LENGTH],
  ['pushData', MAX_CONTENT_LENGTH],
  ['content', MAX_CONTENT_LENGTH],
  ['base64edData', MAX_CONTENT_LENGTH],
  ['remoteMediaUrl', MAX_URL_LENGTH],
  ['extra', MAX_CONTENT_LENGTH],
] as const;
const INT_FIELDS = ['mediaType', 'persistFlag', 'expireDuration', 'mentionedType'] as const;
const PERSIST_FLAGS = new Set([0, 1, 3, 4]);
const MAX_INT32 = 2147483647;

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/**
 * Whether `s` has more than `max` characters, counted as Unicode code points like the admin API's
 * JSON schemas (`maxLength`) count them. Costs O(1) unless the UTF-16 length is within 2 × max.
 */
export function longerThan(s: string, max: number): boolean {
  if (s.length <= max) return false;
  if (s.length > 2 * max) return true;
  let points = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const hi = s.charCodeAt(i);
    if (hi < 0xd800 || hi > 0xdbff) continue;
    const lo = s.charCodeAt(i + 1);
    if (lo >= 0xdc00 && lo <= 0xdfff) {
      points--; // a surrogate pair is one code point
      i++;
    }
  }
  return points > max;
}

export function normalizePayload(input: unknown, field = 'payload'): Payload {
  if (!isRecord(input)) throw invalid(`${field} must be an object`);
  const type = input['type'];
  if (!isInt(type) || type < 0 || type > MAX_INT32) throw invalid(`${field}.type must be a non-negative integer`);
  const out: Payload = {
    type,
    searchableContent: '',
    pushContent: '',
    pushData: '',
    content: '',
    base64edData: '',
    mediaType: 0,
    remoteMediaUrl: '',
    persistFlag: 0,
    expireDuration: 0,
    mentionedType: 0,
    mentionedTarget: [],
    extra: '',
  };
  for (const [k, max] of STRING_FIELDS) {
    const v = input[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw invalid(`${field}.${k} must be a string`);
    if (longerThan(v, max)) throw invalid(`${field}.${k} must have at most ${max} characters`);
    out[k] = v;
  }
  for (const k of INT_FIELDS) {
    const v = input[k];
    if (v === undefined || v === null) continue;
    if (!isInt(v) || v < 0) throw invalid(`${field}.${k} must be a non-negative integer`);
    out[k] = v;
  }
  if (!PERSIST_FLAGS.has(out.persistFlag)) throw invalid(`${field}.persistFlag must be 0, 1, 3 or 4`);
  if (out.mentionedType > 2) throw invalid(`${field}.mentionedType must be 0, 1 or 2`);
  const mt = input['mentionedTarget'];
  if (mt !== undefined && mt !== null) {
    if (!Array.isArray(mt) || !mt.every((x) => typeof x === 'string')) {
      throw invalid(`${field}.mentionedTarget must be an array of strings`);
    }
    if (mt.length > MAX_USER_LIST) throw invalid(`${field}.mentionedTarget must have at most ${MAX_USER_LIST} items`);
    if ((mt as string[]).some((x) => longerThan(x, MAX_ID_LENGTH))) {
      throw invalid(`${field}.mentionedTarget items must have at most ${MAX_ID_LENGTH} characters`);
    }
    out.mentionedTarget = mt as string[];
  }
  if (out.base64edData !== '' && !/^[A-Za-z0-9+/]*={0,2}$/.test(out.base64edData)) {
    throw invalid(`${field}.base64edData must be base64`);
  }
  return out;
}

export function normalizeConversation(input: unknown, field = 'conv'): Conversation {
  if (!isRecord(input)) throw invalid(`${field} must be an object`);
  const { type, target, line } = input;
  if (!isInt(type) || type < 0 || type > 6) throw invalid(`${field}.type must be an integer 0..6`);
  if (typeof target !== 'string' || target === '') throw invalid(`${field}.target must be a non-empty string`);
  if (longerThan(target, MAX_ID_LENGTH)) throw invalid(`${field}.target must have at most ${MAX_ID_LENGTH} characters`);
  let l = 0;
  if (line !== undefined && line !== null) {
    if (!isInt(line) || line < 0 || line > MAX_INT32) throw invalid(`${field}.line must be a non-negative integer`);
    l = line;
  }
  return { type, target, line: l };
}

export function optionalLine(v: unknown, field = 'line'): number {
  if (v === undefined || v === null) return 0;
  if (!isInt(v) || v < 0 || v > MAX_INT32) throw invalid(`${field} must be a non-negative integer`);
  return v;
}

/** A message uid from JSON: a positive safe integer, or a decimal string of one. */
export function parseUid(v: unknown, field = 'messageUid'): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^[0-9]{1,20}$/.test(v)) n = Number(v);
  else throw invalid(`${field} must be a positive integer`);
  if (!Number.isInteger(n) || n <= 0) throw invalid(`${field} must be a positive integer`);
  // Uids above 2^53 are never issued here (see core/ids.ts), so such a value names no message.
  return n;
}

export function requireString(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') throw invalid(`${field} must be a non-empty string`);
  return v;
}

export function optionalString(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`${field} must be a string`);
  return v;
}

export function optionalInt(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isInt(v)) throw invalid(`${field} must be an integer`);
  return v;
}

/**
 * A list of ids (user ids, mostly): non-empty strings of at most MAX_ID_LENGTH characters, at most
 * `maxItems` of them (default MAX_USER_LIST), duplicates dropped.
 */
export function stringList(v: unknown, field: string, opts: { required?: boolean; nonEmpty?: boolean; maxItems?: number } = {}): string[] {
  if (v === undefined || v === null) {
    if (opts.required) throw invalid(`${field} is required`);
    return [];
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x !== '')) {
    throw invalid(`${field} must be an array of non-empty strings`);
  }
  if (opts.nonEmpty && v.length === 0) throw invalid(`${field} must not be empty`);
  const max = opts.maxItems ?? MAX_USER_LIST;
  if (v.length > max) throw invalid(`${field} must have at most ${max} items`);
  if ((v as string[]).some((x) => longerThan(x, MAX_ID_LENGTH))) throw invalid(`${field} items must have at most ${MAX_ID_LENGTH} characters`);
  return [...new Set(v as string[])];
}
