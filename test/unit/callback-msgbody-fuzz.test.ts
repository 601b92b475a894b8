/**
 * Fuzzing the reading of before-send replies (src/callbacks/msgbody.ts, src/callbacks/before-reply.ts):
 * thousands of malformed MsgBody shapes and replies — fields missing, null, of the wrong type, nested
 * wrongly, valid bodies with one part broken — from a seeded generator (reproducible). Neither
 * fromMsgBody nor readMsgBody may ever throw; a usable reading is a well-typed payload; the reply
 * reader throws nothing but UnusableReplyError.
 */
import { describe, expect, it } from 'vitest';
import { UnusableReplyError, interpretBeforeReply } from '../../src/callbacks/before-reply.js';
import { fromMsgBody, readMsgBody, toMsgBody } from '../../src/callbacks/msgbody.js';
import type { Payload } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';

/** mulberry32: a small seeded PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = ['TIMTextElem', 'TIMSoundElem', 'TIMImageElem', 'TIMLocationElem', 'TIMFileElem', 'TIMVideoFileElem', 'TIMFaceElem', 'TIMCustomElem', 'TIMRelayElem', '', 'timtextelem'];
const KEYS = ['MsgType', 'MsgContent', 'Text', 'Url', 'Second', 'ImageInfoArray', 'Type', 'URL', 'Width', 'Height', 'Desc', 'Latitude', 'Longitude', 'FileName', 'FileSize', 'VideoUrl', 'VideoSecond', 'Index', 'Data', 'Ext', 'Sound', '__proto__', 'constructor', 'toString'];

function junk(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 3 ? 9 : 12));
  switch (k) {
    case 0:
      return null;
    case 1:
      return undefined;
    case 2:
      return [0, -1, 1.5, 1e308, -0, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53 + 1][Math.floor(r() * 8)];
    case 3:
      return ['', 'x', '1', ' ', '1e3', 'NaN', '[文件] a', '\u0000', 'https://h/a.png'][Math.floor(r() * 9)];
    case 4:
      return r() < 0.5;
    case 5:
      return TYPES[Math.floor(r() * TYPES.length)];
    case 6:
      return {};
    case 7:
      return [];
    case 8:
      return Symbol('s');
    case 9:
    case 10: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 4);
      for (let i = 0; i < n; i++) Object.defineProperty(o, KEYS[Math.floor(r() * KEYS.length)]!, { value: junk(r, depth + 1), enumerable: true, configurable: true, writable: true });
      return o;
    }
    default:
      return Array.from({ length: Math.floor(r() * 4) }, () => junk(r, depth + 1));
  }
}

/** A copy of `v` with one randomly chosen spot (a value, or a key removed) broken. */
function mutate(v: unknown, r: () => number): unknown {
  if (Array.isArray(v)) {
    if (v.length === 0 || r() < 0.15) return junk(r);
    const i = Math.floor(r() * v.length);
    const out = [...v];
    out[i] = mutate(v[i], r);
    if (r() < 0.1) out.splice(Math.floor(r() * (out.length + 1)), 0, junk(r));
    return out;
  }
  if (v !== null && typeof v === 'object') {
    const o = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(o);
    if (keys.length === 0 || r() < 0.15) return junk(r);
    const key = keys[Math.floor(r() * keys.length)]!;
    if (r() < 0.3) delete o[key];
    else o[key] = mutate(o[key], r);
    return o;
  }
  return junk(r);
}

function p(type: number, over: Partial<Payload> = {}): Payload {
  return { ...normalizePayload({ type, persistFlag: 3 }), ...over };
}

const BASES: Payload[] = [
  p(1, { searchableContent: 'hello' }),
  p(2, { content: '{"duration":3}', mediaType: 2, remoteMediaUrl: 'https://h/v.amr' }),
  p(3, { content: '{"w":10,"h":20}', mediaType: 1, remoteMediaUrl: 'https://h/i.png' }),
  p(4, { searchableContent: 'here', content: '{"lat":1,"long":2}' }),
  p(5, { searchableContent: '[文件] f.bin', content: '77', mediaType: 4, remoteMediaUrl: 'https://h/f.bin' }),
  p(6, { content: '{"d":4}', mediaType: 3, remoteMediaUrl: 'https://h/v.mp4' }),
  p(7, { mediaType: 4, remoteMediaUrl: 'https://h/s.gif' }),
  p(1001, { content: '{"k":1}', pushContent: '', searchableContent: 'searchable', pushData: '{"x":1}' }),
];

/** Every field of a payload has its type (and numbers are finite). */
function expectWellTyped(out: Payload): void {
  for (const k of ['searchableContent', 'pushContent', 'pushData', 'content', 'base64edData', 'remoteMediaUrl', 'extra'] as const) expect(typeof out[k], k).toBe('string');
  for (const k of ['type', 'mediaType', 'persistFlag', 'expireDuration', 'mentionedType'] as const) expect(Number.isFinite(out[k]), k).toBe(true);
  expect(Array.isArray(out.mentionedTarget)).toBe(true);
  // Content the mapping writes as JSON is JSON.
  if ([2, 3, 4, 6].includes(out.type) && out.content !== '') expect(() => JSON.parse(out.content) as unknown).not.toThrow();
}

describe('fromMsgBody / readMsgBody never throw', () => {
  it('the shape of the audit: ImageInfoArray [null] is unusable, not a TypeError', () => {
    const body = [{ MsgType: 'TIMImageElem', MsgContent: { ImageInfoArray: [null] } }];
    for (const base of BASES) {
      expect(readMsgBody(body, base).ok).toBe(false);
      expect(fromMsgBody(body, base)).toEqual(base);
    }
  });

  it('20 000 random values and broken variants of valid bodies', () => {
    const r = rng(20260101);
    let usable = 0;
    let unusable = 0;
    for (let i = 0; i < 20_000; i++) {
      const base = BASES[i % BASES.length]!;
      const valid = toMsgBody(BASES[Math.floor(r() * BASES.length)]!);
      const body = i % 4 === 0 ? junk(r) : mutate(r() < 0.2 ? [...valid, ...toMsgBody(BASES[0]!)] : valid, r);
      let reading: ReturnType<typeof readMsgBody> | undefined;
      expect(() => {
        reading = readMsgBody(body, base);
        fromMsgBody(body, base);
      }, JSON.stringify(body, (_, v: unknown) => (typeof v === 'symbol' ? String(v) : v))).not.toThrow();
      if (reading?.ok) {
        usable++;
        expectWellTyped(reading.payload);
      } else {
        unusable++;
        expect(typeof reading?.reason).toBe('string');
      }
    }
    // The generator exercises both outcomes.
    expect(usable).toBeGreaterThan(1000);
    expect(unusable).toBeGreaterThan(1000);
  });

  it('deeply nested values are read without overflowing the stack', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(readMsgBody(deep, BASES[0]!).ok).toBe(false);
    let deepObj: unknown = {};
    for (let i = 0; i < 100_000; i++) deepObj = { MsgContent: deepObj, MsgType: 'TIMTextElem' };
    expect(readMsgBody([deepObj], BASES[0]!).ok).toBe(false);
  });
});

describe('interpretBeforeReply throws only UnusableReplyError', () => {
  const ok = (text: string) => ({ status: 200, text, truncated: false });

  it.each<[string, string]>([
    ['an empty body', ''],
    ['not JSON', 'OK'],
    ['a JSON array', '[]'],
    ['a JSON string', '"ok"'],
    ['null', 'null'],
    ['no ErrorCode', '{"ActionStatus":"OK"}'],
    ['a null ErrorCode', '{"ErrorCode":null}'],
    ['a fractional ErrorCode', '{"ErrorCode":0.5}'],
    ['an object ErrorCode', '{"ErrorCode":{}}'],
    ['a non-string CloudCustomData', '{"ErrorCode":0,"CloudCustomData":7}'],
    ['a MsgBody object', '{"ErrorCode":0,"MsgBody":{"MsgType":"TIMTextElem"}}'],
    ['the audit reply', '{"ErrorCode":0,"MsgBody":[{"MsgType":"TIMImageElem","MsgContent":{"ImageInfoArray":[null]}}]}'],
  ])('%s is unusable', (_, text) => {
    expect(() => interpretBeforeReply(ok(text), true, BASES[0]!)).toThrow(UnusableReplyError);
  });

  it('non-2xx and truncated replies are unusable', () => {
    expect(() => interpretBeforeReply({ status: 500, text: '{"ErrorCode":0}', truncated: false }, true, BASES[0]!)).toThrow(/HTTP 500/);
    expect(() => interpretBeforeReply({ status: 200, text: '{"ErrorCode":0}', truncated: true }, true, BASES[0]!)).toThrow(/too long/);
  });

  it.each<[string, string, unknown]>([
    ['ErrorCode 0 without MsgBody', '{"ErrorCode":0}', { action: 'allow' }],
    ['ErrorCode "0" (a string), null MsgBody and CloudCustomData', '{"ErrorCode":"0","MsgBody":null,"CloudCustomData":null}', { action: 'allow' }],
    ['an empty MsgBody', '{"ErrorCode":0,"MsgBody":[]}', { action: 'allow' }],
    ['ErrorCode 2', '{"ErrorCode":2,"ErrorInfo":5}', { action: 'drop' }],
    ['ErrorCode 1 with a non-string ErrorInfo', '{"ErrorCode":1,"ErrorInfo":{}}', { action: 'reject', code: 20006, msg: 'rejected by callback' }],
    ['a pass-through code', '{"ErrorCode":120009,"ErrorInfo":"no"}', { action: 'reject', code: 120009, msg: 'no' }],
  ])('%s', (_, text, want) => {
    expect(interpretBeforeReply(ok(text), true, BASES[0]!)).toEqual(want);
  });

  it('a replacement keeps the base untouched; CloudCustomData alone replaces extra', () => {
    const base = BASES[0]!;
    const d = interpretBeforeReply(ok('{"ErrorCode":0,"CloudCustomData":"ccd"}'), true, base);
    expect(d).toEqual({ action: 'replace', payload: { ...base, extra: 'ccd' } });
    expect(base.extra).toBe('');
  });

  it('5 000 random replies', () => {
    const r = rng(7);
    for (let i = 0; i < 5000; i++) {
      const reply = i % 2 === 0 ? junk(r) : mutate({ ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', MsgBody: toMsgBody(BASES[i % BASES.length]!), CloudCustomData: 'c' }, r);
      let text: string;
      try {
        text = JSON.stringify(reply) ?? '';
      } catch {
        text = '{';
      }
      try {
        const d = interpretBeforeReply({ status: 200, text, truncated: false }, i % 3 === 0, BASES[i % BASES.length]!);
        expect(['allow', 'replace', 'reject', 'drop']).toContain(d.action);
        if (d.action === 'replace') expectWellTyped(d.payload);
      } catch (err) {
        expect(err, text).toBeInstanceOf(UnusableReplyError);
      }
    }
  });
});
