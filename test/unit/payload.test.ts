import { describe, expect, it } from 'vitest';
import { CoreError } from '../../src/core/errors.js';
import { normalizeConversation, normalizePayload, parseUid } from '../../src/core/payload.js';

function invalid(fn: () => unknown, mention?: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected invalid_parameter').toBeInstanceOf(CoreError);
  expect((err as CoreError).kind).toBe('invalid_parameter');
  if (mention) expect((err as CoreError).detail).toContain(mention);
}

describe('normalizePayload', () => {
  it('requires only type and defaults every other field as the SDK would send it', () => {
    expect(normalizePayload({ type: 1 })).toEqual({
      type: 1,
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
    });
  });

  it('keeps given fields and treats null as absent', () => {
    const p = normalizePayload({
      type: 3,
      searchableContent: 's',
      pushContent: 'p',
      pushData: 'd',
      content: 'c',
      base64edData: 'AAEC',
      mediaType: 2,
      remoteMediaUrl: 'u',
      persistFlag: 3,
      expireDuration: 60,
      mentionedType: 1,
      mentionedTarget: ['a', 'b'],
      extra: 'e',
      unknownField: 'ignored',
    });
    expect(p).toEqual({
      type: 3,
      searchableContent: 's',
      pushContent: 'p',
      pushData: 'd',
      content: 'c',
      base64edData: 'AAEC',
      mediaType: 2,
      remoteMediaUrl: 'u',
      persistFlag: 3,
      expireDuration: 60,
      mentionedType: 1,
      mentionedTarget: ['a', 'b'],
      extra: 'e',
    });
    expect(normalizePayload({ type: 1, content: null, mediaType: null, mentionedTarget: null })).toMatchObject({ content: '', mediaType: 0, mentionedTarget: [] });
    expect(normalizePayload({ type: 0 }).type).toBe(0);
  });

  it('refuses a non-object payload', () => {
    for (const v of [null, undefined, 1, 'x', [], [{ type: 1 }]]) invalid(() => normalizePayload(v), 'payload');
    invalid(() => normalizePayload(null, 'body.payload'), 'body.payload');
  });

  it('refuses a missing or mistyped type', () => {
    for (const t of [undefined, null, '1', -1, 1.5, 2 ** 31, Number.NaN, true]) invalid(() => normalizePayload({ type: t }), 'payload.type');
  });

  it.each(['searchableContent', 'pushContent', 'pushData', 'content', 'base64edData', 'remoteMediaUrl', 'extra'])(
    'refuses a non-string %s',
    (field) => {
      for (const v of [1, true, {}, ['x']]) invalid(() => normalizePayload({ type: 1, [field]: v }), `payload.${field}`);
    },
  );

  it.each(['mediaType', 'persistFlag', 'expireDuration', 'mentionedType'])('refuses a mistyped or negative %s', (field) => {
    for (const v of ['1', -1, 1.5, true, {}]) invalid(() => normalizePayload({ type: 1, [field]: v }), `payload.${field}`);
  });

  it('refuses an unknown persistFlag and mentionedType', () => {
    for (const f of [2, 5, 100]) invalid(() => normalizePayload({ type: 1, persistFlag: f }), 'persistFlag');
    for (const f of [0, 1, 3, 4]) expect(normalizePayload({ type: 1, persistFlag: f }).persistFlag).toBe(f);
    invalid(() => normalizePayload({ type: 1, mentionedType: 3 }), 'mentionedType');
    expect(normalizePayload({ type: 1, mentionedType: 2 }).mentionedType).toBe(2);
  });

  it('refuses a mentionedTarget that is not an array of strings', () => {
    for (const v of ['a', 1, {}, [1], ['a', 2], [null]]) invalid(() => normalizePayload({ type: 1, mentionedTarget: v }), 'mentionedTarget');
  });

  it('refuses base64edData that is not base64', () => {
    for (const v of ['not base64!', 'abc$', '====x']) invalid(() => normalizePayload({ type: 1, base64edData: v }), 'base64edData');
    expect(normalizePayload({ type: 1, base64edData: 'aGVsbG8=' }).base64edData).toBe('aGVsbG8=');
  });

  it('does not share the mentionedTarget default between payloads', () => {
    const a = normalizePayload({ type: 1 });
    a.mentionedTarget.push('x');
    expect(normalizePayload({ type: 1 }).mentionedTarget).toEqual([]);
  });
});

describe('normalizeConversation', () => {
  it('reads type, target and line (default 0)', () => {
    expect(normalizeConversation({ type: 1, target: 'g1' })).toEqual({ type: 1, target: 'g1', line: 0 });
    expect(normalizeConversation({ type: 0, target: 'u', line: 2 })).toEqual({ type: 0, target: 'u', line: 2 });
    expect(normalizeConversation({ type: 3, target: 'c', line: null })).toEqual({ type: 3, target: 'c', line: 0 });
  });

  it('refuses mistyped fields with the field name', () => {
    invalid(() => normalizeConversation(null), 'conv');
    invalid(() => normalizeConversation([]), 'conv');
    invalid(() => normalizeConversation({ type: 1, target: 'x' , line: -1 }), 'conv.line');
    invalid(() => normalizeConversation({ type: 1, target: 'x', line: '1' }), 'conv.line');
    invalid(() => normalizeConversation({ type: 7, target: 'x' }), 'conv.type');
    invalid(() => normalizeConversation({ type: -1, target: 'x' }), 'conv.type');
    invalid(() => normalizeConversation({ type: '1', target: 'x' }), 'conv.type');
    invalid(() => normalizeConversation({ type: 1, target: '' }), 'conv.target');
    invalid(() => normalizeConversation({ type: 1, target: 5 }), 'conv.target');
    invalid(() => normalizeConversation({ type: 1 }), 'conv.target');
    invalid(() => normalizeConversation({ target: 'x' }, 'conversation'), 'conversation.type');
  });
});

describe('parseUid', () => {
  it('accepts positive integers and decimal strings of them', () => {
    expect(parseUid(1)).toBe(1);
    expect(parseUid(123456789012345)).toBe(123456789012345);
    expect(parseUid('123456789012345')).toBe(123456789012345);
    expect(parseUid('007')).toBe(7);
    expect(parseUid(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseUid(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('refuses everything else, naming the field', () => {
    for (const v of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '0', '-1', '1.5', '1e5', '0x10', ' 12', '12 ', '', 'abc', '12a', null, undefined, true, {}, [1], '123456789012345678901']) {
      invalid(() => parseUid(v), 'messageUid');
    }
    invalid(() => parseUid('x', 'uid'), 'uid');
  });

  it('never returns an issuable uid for a string above 2^53', () => {
    // Such a uid is never issued; refusing it or returning a value >= 2^53 are both fine, aliasing is not.
    const v = ((): number => {
      try {
        return parseUid('9007199254740993');
      } catch (e) {
        expect((e as CoreError).kind).toBe('invalid_parameter');
        return Number.POSITIVE_INFINITY;
      }
    })();
    expect(v).toBeGreaterThanOrEqual(2 ** 53);
  });
});
