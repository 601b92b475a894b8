/**
 * The pieces of one callback attempt's limits (src/callbacks/deadline.ts, src/callbacks/http.ts): the
 * shared timer wheel, which errors count as a timeout, the connect timeout chosen for a deadline, and
 * the IPv4 form of ClientIP. The wheel is waited on through the promises its deadlines resolve; times
 * are asserted as bounds only.
 */
import { errors } from 'undici';
import { describe, expect, it } from 'vitest';
import { UnusableReplyError } from '../../src/callbacks/before-reply.js';
import { CallbackTimeoutError, TICK_MS, deadlines, isTimeout } from '../../src/callbacks/deadline.js';
import { CONNECT_TIMEOUTS, connectTimeoutFor, ipv4Form } from '../../src/callbacks/http.js';

const MARGIN_MS = 1000;

/** Resolves with when (performance.now()) a deadline of `ms` fired. */
function fired(ms: number): { at: Promise<number>; started: number; cancel: () => void } {
  const started = performance.now();
  let resolve!: (n: number) => void;
  const at = new Promise<number>((r) => (resolve = r));
  const d = deadlines.add(ms, () => resolve(performance.now()));
  return { at, started, cancel: () => deadlines.cancel(d) };
}

describe('the deadline wheel', () => {
  it(`fires each deadline once, never early, at most a tick (${TICK_MS} ms) plus event-loop delay late`, async () => {
    const a = fired(150);
    const b = fired(350);
    const [ta, tb] = await Promise.all([a.at, b.at]);
    expect(ta - a.started).toBeGreaterThanOrEqual(150);
    expect(ta - a.started).toBeLessThan(150 + TICK_MS + MARGIN_MS);
    expect(tb - b.started).toBeGreaterThanOrEqual(350);
    expect(tb).toBeGreaterThanOrEqual(ta);
    expect(deadlines.size, 'nothing pending once all fired').toBe(0);
  });

  it('a cancelled deadline never fires; a throwing one does not stop the others', async () => {
    let cancelledFired = false;
    const c = deadlines.add(50, () => {
      cancelledFired = true;
    });
    deadlines.cancel(c);
    deadlines.add(60, () => {
      throw new Error('boom');
    });
    let calls = 0;
    deadlines.add(70, () => void calls++);
    const later = fired(300);
    await later.at;
    expect(cancelledFired).toBe(false);
    expect(calls, 'fired exactly once').toBe(1);
    expect(deadlines.size).toBe(0);
  });
});

describe('isTimeout', () => {
  it.each<[string, unknown]>([
    ['our deadline', new CallbackTimeoutError(500)],
    ["undici's connect timeout", new errors.ConnectTimeoutError()],
    ["undici's headers timeout", new errors.HeadersTimeoutError()],
    ["undici's body timeout", new errors.BodyTimeoutError()],
    ['an AbortSignal.timeout reason', new DOMException('timed out', 'TimeoutError')],
    ['an abort', new DOMException('aborted', 'AbortError')],
  ])('%s is a timeout', (_, e) => {
    expect(isTimeout(e)).toBe(true);
  });

  it.each<[string, unknown]>([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['a socket error', new errors.SocketError('other side closed')],
    ['an unusable reply', new UnusableReplyError('HTTP 500')],
    ['a string', 'timeout'],
    ['undefined', undefined],
  ])('%s is not', (_, e) => {
    expect(isTimeout(e)).toBe(false);
  });

  it('the connect timeout error carries the code the brief names', () => {
    expect((new errors.ConnectTimeoutError() as Error & { code: string }).code).toBe('UND_ERR_CONNECT_TIMEOUT');
    expect(new CallbackTimeoutError(300).message).toBe('timeout after 300 ms');
  });
});

describe('connectTimeoutFor', () => {
  it('is never above the deadline (from the smallest value on), and at most 10 s', () => {
    for (let t = CONNECT_TIMEOUTS[0]; t <= 60_000; t += 37) {
      const c = connectTimeoutFor(t);
      expect(c, `timeout ${t}`).toBeLessThanOrEqual(t);
      expect(CONNECT_TIMEOUTS).toContain(c);
    }
    expect(connectTimeoutFor(2000)).toBe(2000);
    expect(connectTimeoutFor(1999)).toBe(1000);
    expect(connectTimeoutFor(60_000)).toBe(10_000);
  });
});

describe('ipv4Form (ClientIP)', () => {
  it.each([
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:10.0.0.1', '10.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['::ffff:abcd:1', '::ffff:abcd:1'],
    ['', ''],
  ])('%s → %s', (ip, want) => {
    expect(ipv4Form(ip)).toBe(want);
  });
});
