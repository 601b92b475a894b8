import { describe, expect, it } from 'vitest';
import { CoreError } from '../../src/core/errors.js';
import { MAX_CONTENT_LENGTH, MAX_ID_LENGTH, MAX_URL_LENGTH, MAX_USER_LIST } from '../../src/core/limits.js';
import { longerThan, normalizeConversation, normalizePayload, stringList } from '../../src/core/payload.js';
import { frameIdProblem, unknownTypeMessage } from '../../src/delivery/protocol.js';

/**
 * The bounds the core applies to device frames (and, after the schemas, to admin bodies): lengths in
 * code points as the admin schemas count them, lists by items; one over a bound is invalid_parameter.
 */

function invalid(fn: () => unknown, mention: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected invalid_parameter').toBeInstanceOf(CoreError);
  expect((err as CoreError).kind).toBe('invalid_parameter');
  expect((err as CoreError).detail).toContain(mention);
}

describe('longerThan counts code points', () => {
  it('treats a surrogate pair as one character and a lone surrogate as one', () => {
    expect(longerThan('', 0)).toBe(false);
    expect(longerThan('a', 0)).toBe(true);
    expect(longerThan('😀'.repeat(3), 3)).toBe(false);
    expect(longerThan('😀'.repeat(4), 3)).toBe(true);
    expect(longerThan('a😀b', 3)).toBe(false);
    expect(longerThan('\ud83d\ud83d\ud83d', 3)).toBe(false); // three lone high surrogates
    expect(longerThan('\ud83d\ud83d\ud83da', 3)).toBe(true);
    expect(longerThan('x'.repeat(7), 3)).toBe(true); // past 2 × max without counting
  });
});

describe('normalizePayload bounds', () => {
  it('accepts each string at its bound and refuses one more', () => {
    for (const k of ['searchableContent', 'pushContent', 'pushData', 'content', 'base64edData', 'extra']) {
      const at = k === 'base64edData' ? 'A'.repeat(MAX_CONTENT_LENGTH) : 'c'.repeat(MAX_CONTENT_LENGTH);
      expect(normalizePayload({ type: 1, [k]: at })[k as 'content']).toHaveLength(MAX_CONTENT_LENGTH);
      invalid(() => normalizePayload({ type: 1, [k]: `${at}A` }), `payload.${k} must have at most`);
    }
    expect(normalizePayload({ type: 1, remoteMediaUrl: 'u'.repeat(MAX_URL_LENGTH) }).remoteMediaUrl).toHaveLength(MAX_URL_LENGTH);
    invalid(() => normalizePayload({ type: 1, remoteMediaUrl: 'u'.repeat(MAX_URL_LENGTH + 1) }), 'payload.remoteMediaUrl');
  });

  it('bounds mentionedTarget by items and by each id', () => {
    const ids = Array.from({ length: MAX_USER_LIST }, (_, i) => `u${i}`);
    expect(normalizePayload({ type: 1, mentionedTarget: ids }).mentionedTarget).toHaveLength(MAX_USER_LIST);
    invalid(() => normalizePayload({ type: 1, mentionedTarget: [...ids, 'one-more'] }), `at most ${MAX_USER_LIST} items`);
    invalid(() => normalizePayload({ type: 1, mentionedTarget: ['m'.repeat(MAX_ID_LENGTH + 1)] }), `at most ${MAX_ID_LENGTH} characters`);
  });
});

describe('normalizeConversation and stringList bounds', () => {
  it('bounds a conversation target like an id', () => {
    expect(normalizeConversation({ type: 0, target: 't'.repeat(MAX_ID_LENGTH) }).target).toHaveLength(MAX_ID_LENGTH);
    invalid(() => normalizeConversation({ type: 0, target: 't'.repeat(MAX_ID_LENGTH + 1) }), 'conv.target');
  });

  it('bounds a list of ids by items (default MAX_USER_LIST, or maxItems) and each id', () => {
    const ids = Array.from({ length: MAX_USER_LIST }, (_, i) => `u${i}`);
    expect(stringList(ids, 'toUsers')).toHaveLength(MAX_USER_LIST);
    invalid(() => stringList([...ids, 'x'], 'toUsers'), `toUsers must have at most ${MAX_USER_LIST} items`);
    invalid(() => stringList(['a', 'b', 'c'], 'lines', { maxItems: 2 }), 'at most 2 items');
    invalid(() => stringList(['i'.repeat(MAX_ID_LENGTH + 1)], 'members'), `at most ${MAX_ID_LENGTH} characters`);
  });
});

describe('device frame envelope', () => {
  it('takes a numeric id or a string id of at most 128 characters', () => {
    expect(frameIdProblem(undefined)).toBeUndefined();
    expect(frameIdProblem(1e300)).toBeUndefined();
    expect(frameIdProblem('i'.repeat(128))).toBeUndefined();
    expect(frameIdProblem('i'.repeat(129))).toBe('id must have at most 128 characters');
    expect(frameIdProblem(null)).toBe('id must be a string or a number');
    expect(frameIdProblem({})).toBe('id must be a string or a number');
  });

  it('quotes at most 32 characters of an unknown type', () => {
    expect(unknownTypeMessage('teleport')).toBe('unknown frame type teleport');
    expect(unknownTypeMessage('t'.repeat(10_000))).toBe(`unknown frame type ${'t'.repeat(32)}…`);
  });
});
