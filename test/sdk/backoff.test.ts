import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF, SwitchboardClient } from '../../sdk/src/index.js';
import { fakeNetwork } from './fake-websocket.js';

/** Reconnect backoff: exponential, capped, jittered; reset by a sync; stopped by close(). Fake clock. */

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('backoffDelay', () => {
  it('grows by the factor up to the cap, and jitter spreads it within ±jitter without passing the cap', () => {
    const b = { initialDelayMs: 100, maxDelayMs: 5000, factor: 2, jitter: 0.3 };
    for (let attempt = 0; attempt < 40; attempt++) {
      const base = Math.min(100 * 2 ** attempt, 5000);
      const lo = backoffDelay(attempt, b, () => 0);
      const mid = backoffDelay(attempt, b, () => 0.5);
      const hi = backoffDelay(attempt, b, () => 0.999999);
      expect(mid).toBe(base);
      expect(lo).toBe(Math.round(base * 0.7));
      expect(hi).toBe(Math.min(5000, Math.round(base * 1.3)));
      expect(hi).toBeLessThanOrEqual(5000);
    }
    // Real randomness: spread, bounded.
    const draws = Array.from({ length: 200 }, () => backoffDelay(3, b));
    expect(new Set(draws).size).toBeGreaterThan(20);
    for (const d of draws) expect(d >= 560 && d <= 1040).toBe(true);
  });

  it('defaults: 500 ms doubling to 30 s with ±30 %', () => {
    expect(DEFAULT_BACKOFF).toEqual({ initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: 0.3 });
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0.5)).toBe(500);
    expect(backoffDelay(20, DEFAULT_BACKOFF, () => 0.999)).toBeLessThanOrEqual(30_000);
  });
});

describe('reconnect with a fake clock', () => {
  function failingClient(reconnect: { initialDelayMs: number; maxDelayMs: number; factor: number; jitter: number }) {
    vi.useFakeTimers();
    const net = fakeNetwork();
    const client = new SwitchboardClient({ url: 'ws://example.test/ws', token: 'tok', WebSocket: net.WebSocket, reconnect });
    const delays: number[] = [];
    client.on('reconnecting', ({ delayMs }) => void delays.push(delayMs));
    return { client, net, delays };
  }

  it('waits exactly the backoff delay before each attempt, capped, and resets after a sync', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { client, net, delays } = failingClient({ initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0.3 });
    const connected = client.connect();
    for (const expected of [100, 200, 400, 800, 1000, 1000]) {
      const before = net.sockets.length;
      net.last().serverClose(1006, '');
      expect(delays.at(-1)).toBe(expected);
      await vi.advanceTimersByTimeAsync(expected - 1);
      expect(net.sockets.length).toBe(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(net.sockets.length).toBe(before + 1);
    }
    net.last().accept(0);
    await connected;
    net.last().serverClose(1001, 'server shutting down');
    expect(delays.at(-1)).toBe(100);
    client.close();
  });

  it('jitter: attempts of many clients are spread, never past the cap', async () => {
    const { client, net, delays } = failingClient({ initialDelayMs: 100, maxDelayMs: 400, factor: 2, jitter: 0.5 });
    void client.connect();
    for (let i = 0; i < 30; i++) {
      net.last().serverClose(1006, '');
      await vi.advanceTimersByTimeAsync(delays.at(-1)!);
    }
    expect(Math.max(...delays)).toBeLessThanOrEqual(400);
    expect(new Set(delays.slice(5)).size).toBeGreaterThan(3); // at the cap, still spread
    client.close();
  });

  it('close() during the backoff wait cancels the retry: no socket, no timer left', async () => {
    const { client, net } = failingClient({ initialDelayMs: 100, maxDelayMs: 100, factor: 2, jitter: 0 });
    const connected = client.connect();
    net.last().serverClose(1006, '');
    expect(vi.getTimerCount()).toBe(1);
    client.close();
    await expect(connected).rejects.toMatchObject({ code: 0 });
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.sockets).toHaveLength(1);
  });

  it('close() from a disconnected handler stops the client before it schedules a retry', async () => {
    const { client, net, delays } = failingClient({ initialDelayMs: 10, maxDelayMs: 10, factor: 2, jitter: 0 });
    client.on('disconnected', () => client.close());
    const connected = client.connect();
    net.last().accept(0);
    await connected;
    net.last().serverClose(1006, '');
    expect(delays).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(net.sockets).toHaveLength(1);
  });

  it('with a token function a 4001 is retried (a fresh token each attempt); reconnect false never retries', async () => {
    vi.useFakeTimers();
    const net = fakeNetwork();
    let n = 0;
    const client = new SwitchboardClient({ url: 'ws://h/ws', token: () => `t${++n}`, WebSocket: net.WebSocket, reconnect: { initialDelayMs: 5, maxDelayMs: 5, jitter: 0 } });
    const connected = client.connect();
    await vi.advanceTimersByTimeAsync(0);
    net.last().serverClose(4001, 'unauthorized');
    await vi.advanceTimersByTimeAsync(5);
    expect(net.sockets.map((s) => s.tokenParam)).toEqual(['t1', 't2']);
    net.last().accept(0);
    await connected;
    client.close();

    const once = new SwitchboardClient({ url: 'ws://h/ws', token: 'x', WebSocket: net.WebSocket, reconnect: false });
    const p = once.connect();
    net.last().accept(0);
    await p;
    net.last().serverClose(1001, 'server shutting down');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(net.sockets).toHaveLength(3);
    await expect(once.sync()).rejects.toMatchObject({ code: 0 });
  });
});
