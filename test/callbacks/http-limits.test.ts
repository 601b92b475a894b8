import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackTimeoutError, deadlines, isTimeout } from '../../src/callbacks/deadline.js';
import { MAX_RESPONSE, postCallback } from '../../src/callbacks/http.js';
import type { CallbackTarget } from '../../src/callbacks/targets.js';
import { CallbackReceiver, OK_REPLY, ok, startUnacceptingListener } from '../helpers/callback-receiver.js';
import { textOf, useReceiver, useCallbackServer } from '../helpers/callbacks.js';
import { fresh, single, text } from '../helpers/messages.js';

/**
 * The limits of one callback attempt (src/callbacks/http.ts): ONE deadline, `timeoutMs` after the
 * attempt started, whatever phase it is in (connect, headers, body) — the socket is destroyed — and a
 * reply body read up to MAX_RESPONSE bytes only. Receivers here are real servers on port 0: one that
 * trickles a body byte every 200 ms, one that never answers, one that streams megabytes (or never
 * stops), and a listener that never accepts (connecting never completes).
 *
 * Durations are measured with performance.now() and asserted as bounds (at most the timeout plus a
 * generous margin for a loaded machine), never used to synchronise: the tests wait on the attempt's
 * promise and on the receiver's socket-closed events.
 */

/** Slack for a loaded 2-core machine: the wheel's 100 ms tick, event-loop delay, scheduling. */
const MARGIN_MS = 1000;

function target(url: string, over: Partial<CallbackTarget> = {}): CallbackTarget {
  return { id: 't', url: `${url}/cb`, sdkAppId: '1', commands: [], timeoutMs: 600, beforeSendPolicy: 'allow', enabled: true, source: 'config', ...over };
}

/** Settles with the attempt's outcome and how long it took (ms, monotonic). */
async function timed(p: Promise<unknown>): Promise<{ ms: number; value?: unknown; error?: unknown }> {
  const t0 = performance.now();
  try {
    const value = await p;
    return { ms: performance.now() - t0, value };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}

const post = (t: CallbackTarget, marker: string, timeoutMs?: number) =>
  postCallback(t, 'C2C.CallbackAfterSendMsg', JSON.stringify({ marker }), { ClientIP: '127.0.0.1' }, timeoutMs === undefined ? {} : { timeoutMs });

describe('postCallback: one deadline per attempt, bounded reply bodies', () => {
  let r: CallbackReceiver;
  beforeAll(async () => {
    r = await CallbackReceiver.start((q) => {
      const m = (q.json as { marker?: string } | undefined)?.marker ?? '';
      if (m.startsWith('trickle')) return { trickle: { intervalMs: 200 } };
      if (m.startsWith('hang')) return { hang: true };
      if (m.startsWith('endless')) return { stream: { bytes: Number.POSITIVE_INFINITY } };
      if (m.startsWith('mega')) return { stream: { bytes: 8 * 1024 * 1024 } };
      if (m.startsWith('exact')) return { body: 'y'.repeat(MAX_RESPONSE) };
      return undefined;
    });
  });
  afterAll(async () => {
    await r.close();
  });

  it('a body trickled one byte every 200 ms: the attempt fails at the timeout and its socket is destroyed', async () => {
    const t = target(r.url, { timeoutMs: 600 });
    const res = await timed(post(t, 'trickle-1'));
    expect(res.error).toBeInstanceOf(CallbackTimeoutError);
    expect(isTimeout(res.error)).toBe(true);
    expect((res.error as Error).message).toBe('timeout after 600 ms');
    // Never before the deadline; not much after it (the old per-chunk timer never fired here).
    expect(res.ms).toBeGreaterThanOrEqual(595);
    expect(res.ms).toBeLessThan(600 + MARGIN_MS);
    const q = await r.waitFor((x) => x.json?.marker === 'trickle-1');
    expect(q.sentBytes).toBeGreaterThan(1); // it really was trickling when we gave up
    const closedAt = await q.closed;
    expect(closedAt - q.receivedMono).toBeLessThan(600 + MARGIN_MS);
  });

  it('no answer at all (waiting for headers): the same deadline, the socket destroyed', async () => {
    const res = await timed(post(target(r.url, { timeoutMs: 400 }), 'hang-1'));
    expect(isTimeout(res.error)).toBe(true);
    expect(res.ms).toBeGreaterThanOrEqual(395);
    expect(res.ms).toBeLessThan(400 + MARGIN_MS);
    const q = await r.waitFor((x) => x.json?.marker === 'hang-1');
    expect((await q.closed) - q.receivedMono).toBeLessThan(400 + MARGIN_MS);
  });

  it("extra.timeoutMs overrides the target's timeout", async () => {
    const res = await timed(post(target(r.url, { timeoutMs: 30_000 }), 'hang-2', 300));
    expect((res.error as Error).message).toBe('timeout after 300 ms');
    expect(res.ms).toBeLessThan(300 + MARGIN_MS);
  });

  it('a connection that never completes fails within the timeout (not undici\'s 10 s connect timeout)', async () => {
    const l = await startUnacceptingListener();
    try {
      const res = await timed(post(target(l.url, { timeoutMs: 1000 }), 'connect'));
      expect(res.error, 'the attempt failed').toBeInstanceOf(Error);
      expect(isTimeout(res.error), `a timeout: ${String(res.error)} (${(res.error as { code?: string }).code})`).toBe(true);
      expect(res.ms).toBeLessThan(1000 + MARGIN_MS);
    } finally {
      await l.close();
    }
  });

  it('an endless body: reading stops at MAX_RESPONSE bytes, the outcome is the status, the connection is closed', async () => {
    const res = await timed(post(target(r.url, { timeoutMs: 5000 }), 'endless-1'));
    expect(res.error).toBeUndefined();
    const v = res.value as { status: number; text: string; truncated: boolean };
    expect(v.status).toBe(200);
    expect(v.truncated).toBe(true);
    expect(Buffer.byteLength(v.text)).toBe(MAX_RESPONSE);
    expect(res.ms, 'it did not wait for the deadline').toBeLessThan(5000);
    const q = await r.waitFor((x) => x.json?.marker === 'endless-1');
    await q.closed;
  });

  it('an 8 MB body: only MAX_RESPONSE bytes are read, far from all of it', async () => {
    const v = await post(target(r.url, { timeoutMs: 5000 }), 'mega-1');
    expect(v.status).toBe(200);
    expect(v.truncated).toBe(true);
    expect(v.text).toBe('x'.repeat(MAX_RESPONSE));
    const q = await r.waitFor((x) => x.json?.marker === 'mega-1');
    await q.closed;
    // The receiver could not push the whole body: the socket was destroyed after the cap.
    expect(q.sentBytes).toBeLessThan(8 * 1024 * 1024);
  });

  it('a body of exactly MAX_RESPONSE bytes is read whole (not truncated)', async () => {
    const v = await post(target(r.url, { timeoutMs: 5000 }), 'exact-1');
    expect(v).toEqual({ status: 200, text: 'y'.repeat(MAX_RESPONSE), truncated: false });
  });

  it('sequential attempts to one receiver reuse kept-alive connections (not one connection each)', async () => {
    const fresh = await CallbackReceiver.start();
    try {
      const t = target(fresh.url, { timeoutMs: 5000 });
      for (let i = 0; i < 10; i++) expect(await post(t, `small-${i}`)).toEqual({ status: 200, text: JSON.stringify(OK_REPLY), truncated: false });
      // undici's pool alternates between two connections for back-to-back requests (as with request()).
      expect(new Set(fresh.requests.map((q) => q.remotePort)).size).toBeLessThanOrEqual(2);
    } finally {
      await fresh.close();
    }
  });

  it('a network error rejects at once (not a timeout), and no deadline is left pending', async () => {
    const gone = await CallbackReceiver.start();
    const url = gone.url;
    await gone.close();
    const res = await timed(post(target(url, { timeoutMs: 5000 }), 'refused'));
    expect(res.error).toBeInstanceOf(Error);
    expect(isTimeout(res.error)).toBe(false);
    expect(res.ms).toBeLessThan(5000);
    expect(deadlines.size).toBe(0);
  });
});

describe('after-callbacks through the server: a trickling receiver costs one timeout per attempt', () => {
  const r = useReceiver();
  const t = useCallbackServer(r, { timeoutMs: 500, maxAttempts: 20 });

  it('the first attempt trickles: it fails at the deadline (socket closed), the next attempt delivers', async () => {
    const [a, b] = await t.users('a', 'b');
    const marker = `trickle-${a}`;
    let first = true;
    r.handler = (q) => {
      if (textOf(q.json) !== marker) return undefined;
      if (first) {
        first = false;
        return { trickle: { intervalMs: 200 } };
      }
      return undefined;
    };
    await t.admin.send(a, single(b), text(marker));
    const done = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => textOf(x) === marker, { timeoutMs: 10_000 });
    const attempts = r.all('C2C.CallbackAfterSendMsg', (x) => textOf(x) === marker);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts[0]!.attempt).toBe(1);
    expect(done.deliveryId).toBe(attempts[0]!.deliveryId);
    const closedAt = await attempts[0]!.closed;
    expect(closedAt - attempts[0]!.receivedMono).toBeLessThan(500 + MARGIN_MS);
  });

  it('a 2xx reply with an endless body is delivered on the first attempt (the body is not waited for)', async () => {
    const [a, b] = await t.users('a', 'b');
    const marker = `endless-${a}`;
    r.handler = (q) => (textOf(q.json) === marker ? { stream: { bytes: Number.POSITIVE_INFINITY } } : undefined);
    await t.admin.send(a, single(b), text(marker));
    // A later message of the same conversation is delivered only once the first is settled.
    await t.admin.send(a, single(b), { type: 1, searchableContent: `${marker}-next`, persistFlag: 3 });
    await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => textOf(x) === `${marker}-next`, { timeoutMs: 10_000 });
    const attempts = r.all('C2C.CallbackAfterSendMsg', (x) => textOf(x) === marker);
    expect(attempts.map((x) => [x.attempt, ok(x)])).toEqual([[1, true]]);
    await attempts[0]!.closed;
  });
});
