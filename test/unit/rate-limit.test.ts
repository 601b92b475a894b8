import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/api/admin/rate-limit.js';

function takeAll(b: TokenBucket, now: number, max = 1000): number {
  let n = 0;
  while (n < max && b.take(now)) n++;
  return n;
}

describe('TokenBucket', () => {
  it('starts full: allows a burst, then refuses', () => {
    const b = new TokenBucket(10, 5, 1000);
    expect(takeAll(b, 1000)).toBe(5);
    expect(b.take(1000)).toBe(false);
  });

  it('refills at the configured rate', () => {
    const b = new TokenBucket(10, 5, 0); // one token per 100 ms
    expect(takeAll(b, 0)).toBe(5);
    expect(b.take(50)).toBe(false);
    expect(b.take(100)).toBe(true);
    expect(b.take(100)).toBe(false);
    expect(takeAll(b, 400)).toBe(3);
  });

  it('never holds more than the burst, however long it was idle', () => {
    const b = new TokenBucket(100, 3, 0);
    expect(takeAll(b, 3_600_000)).toBe(3);
  });

  it('sustains exactly the rate over time', () => {
    const b = new TokenBucket(20, 1, 0);
    let ok = 0;
    for (let t = 0; t <= 10_000; t += 10) if (b.take(t)) ok++;
    // 1 initial token + 20/s for 10 s.
    expect(ok).toBe(201);
  });

  it('handles fractional rates', () => {
    const b = new TokenBucket(0.5, 1, 0); // one token every 2 s
    expect(b.take(0)).toBe(true);
    expect(b.take(1999)).toBe(false);
    expect(b.take(2000)).toBe(true);
  });

  it('a clock going backwards neither adds tokens nor breaks later refills', () => {
    const b = new TokenBucket(1, 2, 10_000);
    expect(takeAll(b, 10_000)).toBe(2);
    expect(b.take(5_000)).toBe(false);
    expect(b.take(9_000)).toBe(false);
    expect(b.take(11_000)).toBe(true);
    expect(b.take(11_000)).toBe(false);
  });

  it('a refused request does not consume anything', () => {
    const b = new TokenBucket(10, 1, 0);
    expect(b.take(0)).toBe(true);
    for (let i = 0; i < 50; i++) expect(b.take(1)).toBe(false);
    expect(b.take(100)).toBe(true);
  });
});
