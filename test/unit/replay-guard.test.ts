import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/api/admin/rate-limit.js';
import { ReplayGuard } from '../../src/api/admin/replay-guard.js';
import { AdminAuth, AdminAuthError, adminSign, type AdminAuthFailure } from '../../src/api/admin/signing.js';
import { CoreError, type ErrorKind } from '../../src/core/errors.js';

const WINDOW = 300_000;
const BUCKET = 10_000;
const T = 1_700_000_000_000;

/** A fingerprint as AdminAuth computes it: the first 64 bits of sha1. */
function fp(s: string): [number, number] {
  const d = crypto.createHash('sha1').update(s).digest();
  return [d.readUInt32BE(0), d.readUInt32BE(4)];
}

describe('ReplayGuard', () => {
  it('answers fresh for a new fingerprint and replay for one already seen', () => {
    const g = new ReplayGuard(WINDOW, 1000, BUCKET);
    const [h, l] = fp('a');
    expect(g.remember(T, h, l, T)).toBe('fresh');
    expect(g.remember(T, h, l, T + 5)).toBe('replay');
    expect(g.remember(T, h, l, T + WINDOW)).toBe('replay');
    const [h2, l2] = fp('b');
    expect(g.remember(T, h2, l2, T)).toBe('fresh');
    expect(g.size).toBe(2);
  });

  it('distinguishes fingerprints that share one half', () => {
    const g = new ReplayGuard(WINDOW, 1000, BUCKET);
    expect(g.remember(T, 1, 2, T)).toBe('fresh');
    expect(g.remember(T, 1, 3, T)).toBe('fresh');
    expect(g.remember(T, 4, 2, T)).toBe('fresh');
    expect(g.remember(T, 0, 7, T)).toBe('fresh');
    expect(g.remember(T, 0, 0, T)).toBe('fresh');
    expect(g.remember(T, 0, 0, T)).toBe('replay');
    expect(g.remember(T, 1, 2, T)).toBe('replay');
  });

  it('remembers many entries in one bucket (the set grows) without losing any', () => {
    const g = new ReplayGuard(WINDOW, 100_000, BUCKET);
    const fps = Array.from({ length: 5000 }, (_, i) => fp(`n${i}`));
    for (const [h, l] of fps) expect(g.remember(T, h, l, T)).toBe('fresh');
    for (const [h, l] of fps) expect(g.remember(T, h, l, T)).toBe('replay');
    expect(g.size).toBe(5000);
  });

  it("answers full at the bound, and still recognises replays when full", () => {
    const g = new ReplayGuard(WINDOW, 3, BUCKET);
    for (const s of ['a', 'b', 'c']) expect(g.remember(T, ...fp(s), T)).toBe('fresh');
    expect(g.remember(T, ...fp('d'), T)).toBe('full');
    expect(g.remember(T, ...fp('d'), T), 'a refused request was not remembered').toBe('full');
    expect(g.remember(T, ...fp('a'), T)).toBe('replay');
    expect(g.size).toBe(3);
  });

  it('never forgets an entry while its timestamp is still inside the window', () => {
    const g = new ReplayGuard(WINDOW, 1000, BUCKET);
    const [h, l] = fp('kept');
    const ts = T + 7_777; // somewhere inside a bucket
    expect(g.remember(ts, h, l, ts)).toBe('fresh');
    for (let now = ts; now <= ts + WINDOW; now += 997) {
      expect(g.remember(ts, h, l, now), `now = ts + ${now - ts}`).toBe('replay');
    }
    expect(g.remember(ts, h, l, ts + WINDOW)).toBe('replay');
  });

  it('drops entries once their timestamps are outside the window, which frees the bound', () => {
    const g = new ReplayGuard(WINDOW, 2, BUCKET);
    expect(g.remember(T, ...fp('a'), T)).toBe('fresh');
    expect(g.remember(T, ...fp('b'), T)).toBe('fresh');
    expect(g.remember(T, ...fp('c'), T)).toBe('full');
    const later = T + WINDOW + 2 * BUCKET;
    expect(g.remember(later, ...fp('c'), later)).toBe('fresh');
    expect(g.size).toBe(1);
    expect(g.remember(later, ...fp('d'), later)).toBe('fresh');
    expect(g.remember(later, ...fp('e'), later)).toBe('full');
  });

  it('prunes bucket by bucket: only buckets wholly outside the window go', () => {
    const g = new ReplayGuard(WINDOW, 1000, BUCKET);
    const old = T; // bucket k
    const newer = T + 3 * BUCKET; // a later bucket
    expect(g.remember(old, ...fp('old1'), newer)).toBe('fresh');
    expect(g.remember(old, ...fp('old2'), newer)).toBe('fresh');
    expect(g.remember(newer, ...fp('new1'), newer)).toBe('fresh');
    expect(g.size).toBe(3);
    // Old bucket outside the window, newer one still inside.
    const now = T + WINDOW + 2 * BUCKET;
    expect(g.remember(now, ...fp('probe'), now)).toBe('fresh');
    expect(g.size).toBe(2); // new1 + probe
    expect(g.remember(newer, ...fp('new1'), now)).toBe('replay');
  });

  it('keeps timestamps from the future (inside the window) until they too are old', () => {
    const g = new ReplayGuard(WINDOW, 1000, BUCKET);
    const future = T + WINDOW - 1; // accepted: within the window ahead of now
    expect(g.remember(future, ...fp('f'), T)).toBe('fresh');
    expect(g.remember(future, ...fp('f'), T + WINDOW)).toBe('replay');
    expect(g.remember(future, ...fp('f'), future + WINDOW)).toBe('replay');
  });
});

describe('AdminAuth replay protection', () => {
  const SECRET = 'secret-1';
  const make = (opts: { max?: number; rate?: TokenBucket } = {}) =>
    new AdminAuth({ secret: SECRET, windowMs: WINDOW, replay: new ReplayGuard(WINDOW, opts.max ?? 1000, BUCKET), rate: opts.rate });
  const headers = (nonce: string, ts: number) => ({ nonce, timestamp: String(ts), sign: adminSign(nonce, SECRET, String(ts)) });
  const kindOf = (fn: () => void): AdminAuthFailure | ErrorKind | 'ok' => {
    try {
      fn();
      return 'ok';
    } catch (e) {
      if (e instanceof AdminAuthError) return e.reason;
      expect(e).toBeInstanceOf(CoreError);
      return (e as CoreError).kind;
    }
  };

  it('refuses the same (nonce, timestamp, sign) twice with replayed', () => {
    const auth = make();
    expect(kindOf(() => auth.check(headers('12345', T), T))).toBe('ok');
    expect(kindOf(() => auth.check(headers('12345', T), T + 1000))).toBe('replayed');
  });

  it('keys on the whole triple: the same nonce with another timestamp is accepted', () => {
    const auth = make();
    for (let i = 0; i < 50; i++) expect(kindOf(() => auth.check(headers('777', T + i), T + i))).toBe('ok');
    // Upper-case hex of the same sign is the same request.
    const h = headers('888', T);
    expect(kindOf(() => auth.check(h, T))).toBe('ok');
    expect(kindOf(() => auth.check({ ...h, sign: h.sign.toUpperCase() }, T))).toBe('replayed');
  });

  it('refuses with over_frequency when the replay cache is full', () => {
    const auth = make({ max: 1000 });
    for (let i = 0; i < 1000; i++) auth.check(headers(String(i), T), T);
    expect(kindOf(() => auth.check(headers('x', T), T))).toBe('over_frequency');
  });

  it('applies the rate limit before remembering', () => {
    const auth = make({ rate: new TokenBucket(1, 2, T) });
    expect(kindOf(() => auth.check(headers('1', T), T))).toBe('ok');
    expect(kindOf(() => auth.check(headers('2', T), T))).toBe('ok');
    expect(kindOf(() => auth.check(headers('3', T), T))).toBe('over_frequency');
    // The refused request was not remembered: it is accepted once a token is back.
    expect(kindOf(() => auth.check(headers('3', T), T + 1000))).toBe('ok');
  });

  it('checks headers, window and sign before the replay cache', () => {
    const auth = make();
    expect(kindOf(() => auth.check({ nonce: '1', timestamp: String(T) }, T))).toBe('sign_missing');
    expect(kindOf(() => auth.check(headers('1', T - WINDOW - 1), T))).toBe('sign_expired');
    expect(kindOf(() => auth.check(headers('1', T + WINDOW + 1), T))).toBe('sign_expired');
    expect(kindOf(() => auth.check({ ...headers('1', T), sign: adminSign('1', 'wrong', String(T)) }, T))).toBe('auth_failure');
    // None of the refused ones was remembered.
    expect(kindOf(() => auth.check(headers('1', T), T))).toBe('ok');
  });
});
