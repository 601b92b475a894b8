import { describe, expect, it } from 'vitest';
import { CoreError } from '../../src/core/errors.js';
import { messageKey } from '../../src/core/ids.js';
import { fillEffectBody, jobDueAt, jobRef, MAX_JOB_REF } from '../../src/core/outbox-jobs.js';
import type { EffectSpec } from '../../src/core/ports/outbox.js';

const spec = (over: Partial<EffectSpec> = {}): EffectSpec => ({ channel: 'webhook', target: 't', orderKey: 'k', kind: 'K', body: { a: 1 }, meta: {}, ...over });

describe('outbox job rules (core/outbox-jobs.ts)', () => {
  it('jobDueAt: now without notBefore, never before now, rounded up; a non-finite notBefore is invalid', () => {
    expect(jobDueAt(spec(), 1000)).toBe(1000);
    expect(jobDueAt(spec({ notBefore: 500 }), 1000)).toBe(1000);
    expect(jobDueAt(spec({ notBefore: 1500.2 }), 1000)).toBe(1501);
    expect(() => jobDueAt(spec({ notBefore: Number.NaN }), 1000)).toThrow(CoreError);
  });

  it('jobRef: null without a ref; 1..MAX_JOB_REF characters, else invalid', () => {
    expect(jobRef(spec())).toBeNull();
    expect(jobRef(spec({ ref: 'msg:1' }))).toBe('msg:1');
    expect(() => jobRef(spec({ ref: '' }))).toThrow(CoreError);
    expect(() => jobRef(spec({ ref: 'x'.repeat(MAX_JOB_REF + 1) }))).toThrow(CoreError);
  });

  it('fillEffectBody: fills only the fields asked for whose facts are given; the spec is not changed', () => {
    const s = spec({
      fill: {
        messageKey: { seq: 'S', random: 'R', time: 'T', key: 'K' },
        messageSeq: 'Q',
        messageIdentity: { uid: 'U', timestamp: 'TS' },
        groupSeq: 'G',
        ownedGroups: { owner: 'o', type: 2, field: 'O' },
        unreadOf: { user: 'u', field: 'N' },
      },
    });
    const uid = 123456789012;
    const k = messageKey(uid, 1_700_000_000_000);
    const body = fillEffectBody(s, {
      message: { uid, timestamp: 1_700_000_000_000, seq: 7, groupSeq: 3 },
      ownedGroups: (owner, type) => (owner === 'o' && type === 2 ? 4 : -1),
      unread: (u) => (u === 'u' ? 9 : -1),
    });
    expect(body).toEqual({ a: 1, S: k.seq, R: k.random, T: k.time, K: k.key, Q: 7, U: uid, TS: 1_700_000_000_000, G: 3, O: 4, N: 9 });
    expect(s.body).toEqual({ a: 1 });
    expect(fillEffectBody(s, {})).toEqual({ a: 1 });
  });
});
