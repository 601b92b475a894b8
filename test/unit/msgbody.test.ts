/**
 * Seed 001 payloads ⇄ Tencent MsgBody (src/callbacks/msgbody.ts), checked against the wire facts in
 * /work/notes/tencent-callbacks.md: section 11 (element shapes) and Part B (where Wildfire's built-in
 * content types keep their media facts).
 */
import { describe, expect, it } from 'vitest';
import { fromMsgBody, readMsgBody, toMsgBody, type MsgElement } from '../../src/callbacks/msgbody.js';
import type { Payload } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';

function p(type: number, over: Partial<Payload> = {}): Payload {
  return { ...normalizePayload({ type, persistFlag: 3 }), ...over };
}

/** The key set of each element type (SDK 4.x+ shapes), from section 11 of the notes. */
const KEYS: Record<string, string[]> = {
  TIMTextElem: ['Text'],
  TIMLocationElem: ['Desc', 'Latitude', 'Longitude'],
  TIMFaceElem: ['Index', 'Data'],
  TIMCustomElem: ['Data', 'Desc', 'Ext', 'Sound'],
  TIMSoundElem: ['Url', 'UUID', 'Size', 'Second', 'Download_Flag'],
  TIMImageElem: ['UUID', 'ImageFormat', 'ImageInfoArray'],
  TIMFileElem: ['Url', 'UUID', 'FileSize', 'FileName', 'Download_Flag'],
  TIMVideoFileElem: [
    'VideoUrl',
    'VideoUUID',
    'VideoSize',
    'VideoSecond',
    'VideoFormat',
    'VideoDownloadFlag',
    'ThumbUrl',
    'ThumbUUID',
    'ThumbSize',
    'ThumbWidth',
    'ThumbHeight',
    'ThumbFormat',
    'ThumbDownloadFlag',
  ],
};

/** The one element of a body, checked to have exactly the documented keys. */
function only(body: MsgElement[], type: string): Record<string, unknown> {
  expect(body).toHaveLength(1);
  const el = body[0]!;
  expect(Object.keys(el).sort()).toEqual(['MsgContent', 'MsgType']);
  expect(el.MsgType).toBe(type);
  expect(Object.keys(el.MsgContent).sort()).toEqual([...KEYS[type]!].sort());
  return el.MsgContent;
}

/** A base payload whose every field is set, to see which ones a body overwrites. */
const BASE: Payload = {
  type: 1,
  searchableContent: 'original text',
  pushContent: 'push text',
  pushData: '{"push":1}',
  content: 'original content',
  base64edData: 'AAEC',
  mediaType: 0,
  remoteMediaUrl: 'https://host/original',
  persistFlag: 3,
  expireDuration: 60,
  mentionedType: 1,
  mentionedTarget: ['u1', 'u2'],
  extra: '{"e":1}',
};

describe('toMsgBody', () => {
  it('text (1): TIMTextElem with the searchable text', () => {
    const c = only(toMsgBody(p(1, { searchableContent: 'hi there ✓', content: 'ignored' })), 'TIMTextElem');
    expect(c).toEqual({ Text: 'hi there ✓' });
  });

  it('voice (2): TIMSoundElem with the URL and the duration from content {"duration"}', () => {
    const c = only(toMsgBody(p(2, { searchableContent: '[语音]', content: '{"duration":3}', mediaType: 2, remoteMediaUrl: 'https://host/fs/v.amr' })), 'TIMSoundElem');
    expect(c).toEqual({ Url: 'https://host/fs/v.amr', UUID: '', Size: 0, Second: 3, Download_Flag: 2 });
  });

  it('voice without content: 0 seconds', () => {
    expect(only(toMsgBody(p(2, { remoteMediaUrl: 'https://host/v.amr' })), 'TIMSoundElem')['Second']).toBe(0);
  });

  it('image (3): TIMImageElem with Tencent\'s three entries (1 original, 2 large, 3 thumbnail); the original has the size from content {"w","h"}', () => {
    const c = only(
      toMsgBody(p(3, { searchableContent: '[图片]', content: '{"w":1080,"h":1920}', base64edData: '/9j/4AAQ', mediaType: 1, remoteMediaUrl: 'https://host/fs/1/abc.jpg' })),
      'TIMImageElem',
    );
    const url = 'https://host/fs/1/abc.jpg';
    expect(c).toEqual({
      UUID: '',
      ImageFormat: 1,
      ImageInfoArray: [
        { Type: 1, Size: 0, Width: 1080, Height: 1920, URL: url },
        { Type: 2, Size: 0, Width: 0, Height: 0, URL: url },
        { Type: 3, Size: 0, Width: 0, Height: 0, URL: url },
      ],
    });
    for (const info of c['ImageInfoArray'] as Array<Record<string, unknown>>) expect(Object.keys(info).sort()).toEqual(['Height', 'Size', 'Type', 'URL', 'Width']);
  });

  it.each([
    ['https://host/a.jpg', 1],
    ['https://host/a.jpeg', 1],
    ['https://host/a.JPG', 1],
    ['https://host/a.gif', 2],
    ['https://host/a.png', 3],
    ['https://host/a.png?sig=x.gif#frag', 3],
    ['https://host/a.bmp', 4],
    ['https://host/a.webp', 255],
    ['https://host/noext', 255],
    ['https://host.example.png/noext', 255],
    ['', 255],
  ])('image format of %j is %i', (url, format) => {
    expect(only(toMsgBody(p(3, { remoteMediaUrl: url })), 'TIMImageElem')['ImageFormat']).toBe(format);
  });

  it('image without content (old thumbnail-only encoder): width and height 0', () => {
    const c = only(toMsgBody(p(3, { remoteMediaUrl: 'https://host/a.png', content: '' })), 'TIMImageElem');
    expect(c['ImageInfoArray']).toEqual([1, 2, 3].map((Type) => ({ Type, Size: 0, Width: 0, Height: 0, URL: 'https://host/a.png' })));
  });

  it('location (4): TIMLocationElem with the title and content {"lat","long"}', () => {
    const c = only(toMsgBody(p(4, { searchableContent: 'Bund, Shanghai', content: '{"lat":31.2397,"long":121.4905}' })), 'TIMLocationElem');
    expect(c).toEqual({ Desc: 'Bund, Shanghai', Latitude: 31.2397, Longitude: 121.4905 });
  });

  it('file (5): TIMFileElem with the "[文件] " prefix stripped and the size from content', () => {
    const c = only(
      toMsgBody(p(5, { searchableContent: '[文件] report.pdf', content: '1773552', mediaType: 4, remoteMediaUrl: 'https://host/f/report.pdf' })),
      'TIMFileElem',
    );
    expect(c).toEqual({ Url: 'https://host/f/report.pdf', UUID: '', FileSize: 1773552, FileName: 'report.pdf', Download_Flag: 2 });
    expect(only(toMsgBody(p(5, { searchableContent: 'plain.txt', content: '12' })), 'TIMFileElem')).toMatchObject({ FileName: 'plain.txt', FileSize: 12 });
    expect(only(toMsgBody(p(5, { searchableContent: 'a.txt', content: 'not a number' })), 'TIMFileElem')['FileSize']).toBe(0);
  });

  it('video (6): TIMVideoFileElem with the duration from content {"d"} (preferred) or {"duration"}', () => {
    const c = only(toMsgBody(p(6, { searchableContent: '[视频]', content: '{"d":12,"duration":12}', mediaType: 3, remoteMediaUrl: 'https://host/v/clip.mp4' })), 'TIMVideoFileElem');
    expect(c).toMatchObject({ VideoUrl: 'https://host/v/clip.mp4', VideoSecond: 12, VideoFormat: 'mp4', VideoDownloadFlag: 2, ThumbDownloadFlag: 2 });
    for (const [k, v] of Object.entries(c)) {
      if (k.endsWith('UUID') || k === 'ThumbUrl') expect(v, k).toBe('');
      if (k === 'VideoSize' || k === 'ThumbSize' || k === 'ThumbWidth' || k === 'ThumbHeight') expect(v, k).toBe(0);
    }
    expect(only(toMsgBody(p(6, { content: '{"duration":7}', remoteMediaUrl: 'https://host/v.mp4' })), 'TIMVideoFileElem')['VideoSecond']).toBe(7);
    expect(only(toMsgBody(p(6, { content: '{"d":5,"duration":9}', remoteMediaUrl: 'https://host/v.mp4' })), 'TIMVideoFileElem')['VideoSecond']).toBe(5);
    expect(only(toMsgBody(p(6, { remoteMediaUrl: 'https://host/v.mp4' })), 'TIMVideoFileElem')['VideoSecond'], 'older SDKs: no content').toBe(0);
  });

  it('sticker (7): TIMFaceElem carrying the sticker URL', () => {
    const c = only(toMsgBody(p(7, { searchableContent: '[动态表情]', base64edData: 'eyJ4IjoxMH0=', mediaType: 4, remoteMediaUrl: 'https://host/s/smile.gif' })), 'TIMFaceElem');
    expect(c).toEqual({ Index: 0, Data: 'https://host/s/smile.gif' });
  });

  it.each([1001, 12, 8, 80, 104])('type %i: TIMCustomElem with content, push text and push data verbatim', (type) => {
    const c = only(toMsgBody(p(type, { content: '{"biz":"order","id":42}', pushContent: 'You have an order', pushData: '{"route":"/o/42"}', searchableContent: 'order 42' })), 'TIMCustomElem');
    expect(c).toEqual({ Data: '{"biz":"order","id":42}', Desc: 'You have an order', Ext: '{"route":"/o/42"}', Sound: '' });
  });

  it('custom without push text: Desc falls back to the searchable content', () => {
    expect(only(toMsgBody(p(1001, { content: 'x', searchableContent: 'searchable' })), 'TIMCustomElem')['Desc']).toBe('searchable');
  });
});

describe('fromMsgBody', () => {
  /** Every field of BASE that `out` must still carry (all but the ones named). */
  function keepsBase(out: Payload, changed: Array<keyof Payload>): void {
    for (const k of Object.keys(BASE) as Array<keyof Payload>) {
      if (!changed.includes(k)) expect(out[k], `${k} keeps the base value`).toEqual(BASE[k]);
    }
  }

  it('TIMTextElem: a text; several text elements concatenate; media fields are cleared', () => {
    const out = fromMsgBody([{ MsgType: 'TIMTextElem', MsgContent: { Text: 'new text' } }], BASE);
    expect(out).toMatchObject({ type: 1, searchableContent: 'new text', content: '', remoteMediaUrl: '' });
    keepsBase(out, ['type', 'searchableContent', 'content', 'remoteMediaUrl']);
    const many = fromMsgBody(
      [
        { MsgType: 'TIMTextElem', MsgContent: { Text: 'Hello, ' } },
        { MsgType: 'TIMTextElem', MsgContent: { Text: 'world' } },
        { MsgType: 'TIMTextElem', MsgContent: { Text: '!' } },
      ],
      BASE,
    );
    expect(many.searchableContent).toBe('Hello, world!');
  });

  it('TIMSoundElem: voice with the URL and content {"duration"}', () => {
    const out = fromMsgBody([{ MsgType: 'TIMSoundElem', MsgContent: { Url: 'https://host/v.amr', UUID: 'u', Size: 999, Second: 4, Download_Flag: 2 } }], BASE);
    expect(out).toMatchObject({ type: 2, mediaType: 2, remoteMediaUrl: 'https://host/v.amr' });
    expect(JSON.parse(out.content)).toEqual({ duration: 4 });
    keepsBase(out, ['type', 'mediaType', 'remoteMediaUrl', 'content']);
  });

  it('TIMImageElem: image from the original (Type 1) entry, content {"w","h"}', () => {
    const out = fromMsgBody(
      [
        {
          MsgType: 'TIMImageElem',
          MsgContent: {
            UUID: 'x',
            ImageFormat: 3,
            ImageInfoArray: [
              { Type: 3, Size: 10, Width: 0, Height: 0, URL: 'https://host/thumb.png' },
              { Type: 1, Size: 5000, Width: 640, Height: 480, URL: 'https://host/orig.png' },
              { Type: 2, Size: 900, Width: 0, Height: 0, URL: 'https://host/large.png' },
            ],
          },
        },
      ],
      BASE,
    );
    expect(out).toMatchObject({ type: 3, mediaType: 1, remoteMediaUrl: 'https://host/orig.png' });
    expect(JSON.parse(out.content)).toEqual({ w: 640, h: 480 });
    keepsBase(out, ['type', 'mediaType', 'remoteMediaUrl', 'content']);
  });

  it('TIMImageElem without an original entry: the first entry', () => {
    const out = fromMsgBody([{ MsgType: 'TIMImageElem', MsgContent: { ImageInfoArray: [{ Type: 2, Width: 0, Height: 0, URL: 'https://host/large.png' }] } }], BASE);
    expect(out).toMatchObject({ type: 3, remoteMediaUrl: 'https://host/large.png' });
    expect(JSON.parse(out.content)).toEqual({ w: 0, h: 0 });
  });

  it('TIMLocationElem: the title and content {"lat","long"}', () => {
    const out = fromMsgBody([{ MsgType: 'TIMLocationElem', MsgContent: { Desc: 'Shenzhen', Latitude: 22.54, Longitude: 114.06 } }], BASE);
    expect(out).toMatchObject({ type: 4, searchableContent: 'Shenzhen' });
    expect(JSON.parse(out.content)).toEqual({ lat: 22.54, long: 114.06 });
    keepsBase(out, ['type', 'searchableContent', 'content']);
  });

  it('TIMFileElem: the file name, the URL and the size as a decimal string', () => {
    const out = fromMsgBody([{ MsgType: 'TIMFileElem', MsgContent: { Url: 'https://host/f.zip', UUID: '', FileSize: 1773552, FileName: 'f.zip', Download_Flag: 2 } }], BASE);
    expect(out).toMatchObject({ type: 5, mediaType: 4, remoteMediaUrl: 'https://host/f.zip', searchableContent: 'f.zip', content: '1773552' });
    keepsBase(out, ['type', 'mediaType', 'remoteMediaUrl', 'searchableContent', 'content']);
  });

  it('TIMVideoFileElem: the URL and content {"d","duration"} with the same value', () => {
    const out = fromMsgBody([{ MsgType: 'TIMVideoFileElem', MsgContent: { VideoUrl: 'https://host/v.mp4', VideoSecond: 15, VideoFormat: 'mp4' } }], BASE);
    expect(out).toMatchObject({ type: 6, mediaType: 3, remoteMediaUrl: 'https://host/v.mp4' });
    expect(JSON.parse(out.content)).toEqual({ d: 15, duration: 15 });
    keepsBase(out, ['type', 'mediaType', 'remoteMediaUrl', 'content']);
  });

  it('TIMFaceElem: a sticker with the URL from Data', () => {
    const out = fromMsgBody([{ MsgType: 'TIMFaceElem', MsgContent: { Index: 1, Data: 'https://host/s.gif' } }], { ...BASE, mediaType: 4 });
    expect(out).toMatchObject({ type: 7, remoteMediaUrl: 'https://host/s.gif' });
    expect(out.searchableContent).toBe(BASE.searchableContent);
    expect(out.content).toBe(BASE.content);
  });

  it('TIMFaceElem onto a non-sticker base: mediaType becomes 4 (File), as Wildfire\'s encoders write stickers', () => {
    // Part B: stickers carry mediaType 4 in the Android and JS encoders; every other media element sets
    // the mediaType of its content type.
    const out = fromMsgBody([{ MsgType: 'TIMFaceElem', MsgContent: { Index: 1, Data: 'https://host/s.gif' } }], BASE);
    expect(out.type).toBe(7);
    expect(out.mediaType).toBe(4);
  });

  it('TIMCustomElem keeps a custom base type; Data, Desc and Ext become content, push text and push data', () => {
    const base = { ...BASE, type: 1001 };
    const out = fromMsgBody([{ MsgType: 'TIMCustomElem', MsgContent: { Data: '{"k":1}', Desc: 'push!', Ext: '{"x":2}', Sound: 'ring.aiff' } }], base);
    expect(out).toMatchObject({ type: 1001, content: '{"k":1}', pushContent: 'push!', pushData: '{"x":2}' });
    for (const k of Object.keys(base) as Array<keyof Payload>) {
      if (!['content', 'pushContent', 'pushData'].includes(k)) expect(out[k], k).toEqual(base[k]);
    }
    expect(fromMsgBody([{ MsgType: 'TIMCustomElem', MsgContent: { Data: 'd' } }], { ...BASE, type: 12 }).type).toBe(12);
  });

  it.each([1, 2, 3, 4, 5, 6, 7])('TIMCustomElem onto a base of built-in type %i becomes custom content (1000)', (type) => {
    const out = fromMsgBody([{ MsgType: 'TIMCustomElem', MsgContent: { Data: 'payload', Desc: '', Ext: '' } }], { ...BASE, type });
    expect(out.type).toBe(1000);
    expect(out.content).toBe('payload');
  });

  it('the first element decides the type; later text elements still concatenate only onto a text', () => {
    const out = fromMsgBody(
      [
        { MsgType: 'TIMTextElem', MsgContent: { Text: 'a' } },
        { MsgType: 'TIMFaceElem', MsgContent: { Index: 0, Data: 'x' } },
        { MsgType: 'TIMTextElem', MsgContent: { Text: 'b' } },
      ],
      BASE,
    );
    expect(out).toMatchObject({ type: 1, searchableContent: 'ab' });
    const face = fromMsgBody(
      [
        { MsgType: 'TIMFaceElem', MsgContent: { Index: 0, Data: 'https://host/s.gif' } },
        { MsgType: 'TIMTextElem', MsgContent: { Text: 'ignored' } },
      ],
      BASE,
    );
    expect(face).toMatchObject({ type: 7, remoteMediaUrl: 'https://host/s.gif', searchableContent: BASE.searchableContent });
  });

  it.each<[string, unknown]>([
    ['an unknown element type', [{ MsgType: 'TIMRelayElem', MsgContent: { Title: 'merged' } }]],
    ['an unknown first element before a text', [{ MsgType: 'TIMRelayElem', MsgContent: {} }, { MsgType: 'TIMTextElem', MsgContent: { Text: 'x' } }]],
    ['an empty array', []],
    ['null', null],
    ['undefined', undefined],
    ['an object', { MsgType: 'TIMTextElem', MsgContent: { Text: 'x' } }],
    ['a string', 'TIMTextElem'],
    ['elements without MsgType', [{ MsgContent: { Text: 'x' } }, 7, null]],
  ])('%s: the base, unchanged', (_, body) => {
    const base = { ...BASE, mentionedTarget: [...BASE.mentionedTarget] };
    const out = fromMsgBody(body, base);
    expect(out).toEqual(BASE);
    expect(base).toEqual(BASE);
  });

  it('an echoed body leaves the payload exactly as it was: a link/custom payload keeps pushContent "" (not the searchable text)', () => {
    // A back end that answers with the MsgBody it was sent changes nothing, whatever the type.
    const link = p(8, { content: '{"url":"https://x"}', searchableContent: 'A link title', pushContent: '', pushData: '' });
    expect(toMsgBody(link)[0]!.MsgContent['Desc']).toBe('A link title');
    expect(fromMsgBody(toMsgBody(link), link)).toEqual(link);
    // Echoed with its keys in another order (a back end decoding into a map), still unchanged.
    const reordered = [{ MsgContent: { Sound: '', Ext: '', Desc: 'A link title', Data: '{"url":"https://x"}' }, MsgType: 'TIMCustomElem' }];
    expect(fromMsgBody(reordered, link)).toEqual(link);
    // Only Data changed: the echoed Desc still keeps pushContent "".
    const changed = [{ MsgType: 'TIMCustomElem', MsgContent: { Data: '{"url":"https://y"}', Desc: 'A link title', Ext: '', Sound: '' } }];
    expect(fromMsgBody(changed, link)).toEqual({ ...link, content: '{"url":"https://y"}' });
    // A new Desc is the new push text.
    const pushed = [{ MsgType: 'TIMCustomElem', MsgContent: { Data: '{"url":"https://x"}', Desc: 'New push', Ext: '', Sound: '' } }];
    expect(fromMsgBody(pushed, link)).toEqual({ ...link, pushContent: 'New push' });
    // Voice content with more keys than the body carries is kept too.
    const voice = p(2, { content: '{"duration":3,"codec":"amr"}', remoteMediaUrl: 'https://h/v.amr', mediaType: 2 });
    expect(fromMsgBody(toMsgBody(voice), voice)).toEqual(voice);
  });

  it.each<[string, unknown, RegExp]>([
    ['a non-array', { MsgType: 'TIMTextElem' }, /must be an array/],
    ['an image whose only entry is null', [{ MsgType: 'TIMImageElem', MsgContent: { ImageInfoArray: [null] } }], /no entry with a URL/],
    ['an image without ImageInfoArray', [{ MsgType: 'TIMImageElem', MsgContent: {} }], /ImageInfoArray must be an array/],
    ['a text whose Text is null', [{ MsgType: 'TIMTextElem', MsgContent: { Text: null } }], /Text must be a string/],
    ['a later text element without Text', [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'a' } }, { MsgType: 'TIMTextElem', MsgContent: {} }], /MsgBody\[1\]\.MsgContent\.Text/],
    ['MsgContent null', [{ MsgType: 'TIMSoundElem', MsgContent: null }], /MsgContent must be an object/],
    ['a number where a number string is wrong', [{ MsgType: 'TIMSoundElem', MsgContent: { Url: 'u', Second: 'three' } }], /Second must be a number/],
    ['a location without coordinates', [{ MsgType: 'TIMLocationElem', MsgContent: { Desc: 'x' } }], /Latitude must be a number/],
    ['a custom element with an object Desc', [{ MsgType: 'TIMCustomElem', MsgContent: { Data: 'd', Desc: {} } }], /Desc must be a string/],
    ['an unsupported element', [{ MsgType: 'TIMRelayElem', MsgContent: {} }], /not a supported element/],
  ])('readMsgBody: %s is unusable, with the reason', (_, body, reason) => {
    const r = readMsgBody(body, BASE);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
    expect(fromMsgBody(body, BASE)).toEqual(BASE);
  });

  it('never mutates the base', () => {
    const base = { ...BASE, mentionedTarget: [...BASE.mentionedTarget] };
    const out = fromMsgBody([{ MsgType: 'TIMTextElem', MsgContent: { Text: 'changed' } }], base);
    expect(base).toEqual(BASE);
    out.mentionedTarget.push('u3');
    expect(base.mentionedTarget).toEqual(['u1', 'u2']);
  });
});

describe('round trips', () => {
  /** The payloads Wildfire clients send (Part B), with the fields MsgBody carries. */
  const cases: Array<[string, Payload, Array<keyof Payload>]> = [
    ['text', p(1, { searchableContent: 'hello 👋', extra: '{"q":1}' }), ['searchableContent']],
    ['voice', p(2, { searchableContent: '[语音]', content: '{"duration":3}', mediaType: 2, remoteMediaUrl: 'https://host/v.amr' }), ['content', 'remoteMediaUrl']],
    [
      'image',
      p(3, { searchableContent: '[图片]', content: '{"w":1080,"h":1920}', base64edData: '/9j/4AAQ', mediaType: 1, remoteMediaUrl: 'https://host/fs/1/abc.jpg' }),
      ['content', 'remoteMediaUrl'],
    ],
    ['location', p(4, { searchableContent: 'Bund', content: '{"lat":31.2397,"long":121.4905}', base64edData: 'AAAA' }), ['searchableContent', 'content']],
    ['file', p(5, { searchableContent: 'report.pdf', content: '1773552', mediaType: 4, remoteMediaUrl: 'https://host/f/report.pdf' }), ['searchableContent', 'content', 'remoteMediaUrl']],
    ['video', p(6, { searchableContent: '[视频]', content: '{"d":12,"duration":12}', base64edData: '/9j/', mediaType: 3, remoteMediaUrl: 'https://host/v/clip.mp4' }), ['content', 'remoteMediaUrl']],
    ['sticker', p(7, { searchableContent: '[动态表情]', base64edData: 'eyJ4IjoxMH0=', mediaType: 4, remoteMediaUrl: 'https://host/s/smile.gif' }), ['remoteMediaUrl']],
    ['custom', p(1001, { content: '{"biz":1}', pushContent: 'push', pushData: '{"r":1}', searchableContent: 's' }), ['content', 'pushContent', 'pushData']],
  ];

  it.each(cases)('%s: toMsgBody then fromMsgBody gives the payload back', (_, payload, carried) => {
    expect(fromMsgBody(toMsgBody(payload), payload)).toEqual(payload);
    // Onto a base with the carried fields blanked: the body alone restores them.
    const blanked: Payload = { ...payload, mentionedTarget: [...payload.mentionedTarget] };
    for (const k of carried) (blanked as unknown as Record<string, unknown>)[k] = '';
    expect(fromMsgBody(toMsgBody(payload), blanked)).toEqual(payload);
  });

  it('file: the "[文件] " prefix survives an echoed body and an echoed FileName; a new FileName replaces it', () => {
    // (This pinned the prefix being lost on an echo: a back end that changes nothing changed the payload.)
    const payload = p(5, { searchableContent: '[文件] a.txt', content: '3', mediaType: 4, remoteMediaUrl: 'https://host/a.txt' });
    expect(fromMsgBody(toMsgBody(payload), payload)).toEqual(payload);
    const moved = [{ MsgType: 'TIMFileElem', MsgContent: { Url: 'https://other/a.txt', UUID: '', FileSize: 3, FileName: 'a.txt', Download_Flag: 2 } }];
    expect(fromMsgBody(moved, payload)).toEqual({ ...payload, remoteMediaUrl: 'https://other/a.txt' });
    const renamed = [{ MsgType: 'TIMFileElem', MsgContent: { Url: 'https://host/a.txt', UUID: '', FileSize: 3, FileName: 'b.txt', Download_Flag: 2 } }];
    expect(fromMsgBody(renamed, payload)).toEqual({ ...payload, searchableContent: 'b.txt' });
  });

  it('each element shape survives fromMsgBody then toMsgBody', () => {
    const bodies: MsgElement[][] = [
      [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'hi' } }],
      [{ MsgType: 'TIMSoundElem', MsgContent: { Url: 'https://h/v.amr', UUID: '', Size: 0, Second: 9, Download_Flag: 2 } }],
      [
        {
          MsgType: 'TIMImageElem',
          MsgContent: {
            UUID: '',
            ImageFormat: 2,
            ImageInfoArray: [
              { Type: 1, Size: 0, Width: 3, Height: 4, URL: 'https://h/i.gif' },
              { Type: 2, Size: 0, Width: 0, Height: 0, URL: 'https://h/i.gif' },
              { Type: 3, Size: 0, Width: 0, Height: 0, URL: 'https://h/i.gif' },
            ],
          },
        },
      ],
      [{ MsgType: 'TIMLocationElem', MsgContent: { Desc: 'here', Latitude: 1.5, Longitude: -2.25 } }],
      [{ MsgType: 'TIMFileElem', MsgContent: { Url: 'https://h/f.bin', UUID: '', FileSize: 77, FileName: 'f.bin', Download_Flag: 2 } }],
      [
        {
          MsgType: 'TIMVideoFileElem',
          MsgContent: {
            VideoUrl: 'https://h/v.mp4',
            VideoUUID: '',
            VideoSize: 0,
            VideoSecond: 21,
            VideoFormat: 'mp4',
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
      ],
      [{ MsgType: 'TIMFaceElem', MsgContent: { Index: 0, Data: 'https://h/s.gif' } }],
      [{ MsgType: 'TIMCustomElem', MsgContent: { Data: 'd', Desc: 'push', Ext: 'e', Sound: '' } }],
    ];
    for (const body of bodies) {
      const base = body[0]!.MsgType === 'TIMCustomElem' ? p(1001) : p(1);
      expect(toMsgBody(fromMsgBody(body, base)), body[0]!.MsgType).toEqual(body);
    }
  });
});
