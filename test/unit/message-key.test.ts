import { describe, expect, it } from 'vitest';
import { messageKey, parseLegacyMessageKey, parseMessageKey, UidGenerator, UID_EPOCH_MS } from '../../src/core/ids.js';

/** Callback message keys (core/ids.ts): MsgSeq_MsgRandom_MsgTime, a pure function of the uid and time. */
describe('messageKey', () => {
  it('round-trips: the key names the uid and time it was made from', () => {
    const gen = new UidGenerator(7);
    const now = UID_EPOCH_MS + 123_456_789_000;
    for (let i = 0; i < 2000; i++) {
      const uid = gen.next(now + Math.floor(i / 300));
      const k = messageKey(uid, now);
      expect(k.key).toBe(`${k.seq}_${k.random}_${k.time}`);
      expect(parseMessageKey(k.key)).toEqual({ uid, time: Math.floor(now / 1000) });
    }
  });

  it('MsgRandom is a 32-bit value, stable for a message and different between messages of the same millisecond', () => {
    const gen = new UidGenerator(0);
    const now = Date.now();
    const uids = Array.from({ length: 128 }, () => gen.next(now));
    const randoms = uids.map((u) => messageKey(u, now).random);
    for (const r of randoms) expect(Number.isInteger(r) && r >= 0 && r < 2 ** 32).toBe(true);
    expect(new Set(randoms).size).toBe(uids.length);
    expect(uids.map((u) => messageKey(u, now).random)).toEqual(randoms);
    // Upper bits alone would give one value for all of them.
    expect(new Set(uids.map((u) => Math.floor(u / 2 ** 32))).size).toBe(1);
  });

  it('refuses what names no uid: malformed text, out-of-range parts, a random that does not match the seq', () => {
    for (const bad of ['', '1_2', 'a_b_c', '1_2_3_4', '4294967296_1_1', '1_4294967296_1', '0_0_0', '12345678901_1_1']) {
      expect(parseMessageKey(bad), bad).toBeNull();
    }
    const k = messageKey(new UidGenerator(1).next(), Date.now());
    // Flipping a high bit of MsgRandom leaves the uid's range (≥ 2^53): no message.
    expect(parseMessageKey(`${k.seq}_${(k.random ^ 0x80000000) >>> 0}_${k.time}`)).toBeNull();
  });

  it('legacy keys (MsgRandom = the uid bits above the low 32) still parse with parseLegacyMessageKey', () => {
    const uid = new UidGenerator(3).next();
    const seq = uid % 2 ** 32;
    const high = Math.floor(uid / 2 ** 32);
    expect(parseLegacyMessageKey(`${seq}_${high}_1700000000`)).toEqual({ uid, time: 1700000000 });
    expect(parseLegacyMessageKey(`${seq}_${2 ** 21}_1`)).toBeNull();
  });
});
