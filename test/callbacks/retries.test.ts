import { afterEach, describe, expect, it } from 'vitest';
import { CallbackReceiver, ok, type CallbackRequest } from '../helpers/callback-receiver.js';
import { expectTencentRequest, textOf, useReceiver, useCallbackServer } from '../helpers/callbacks.js';
import { single, text } from '../helpers/messages.js';
import type { TestServer } from '../helpers/server.js';
import { eventually } from '../helpers/ws-client.js';

/**
 * Durable delivery: while the back end fails (HTTP 500) or is gone (connection refused) callbacks wait
 * and are retried with backoff; once it is back every job is delivered, one conversation's jobs in the
 * order they were created (a later job is not even attempted before the earlier one is delivered);
 * after maxAttempts a job is dead-lettered and releases the jobs behind it; dead jobs can be
 * redelivered; /admin/callback/deliveries and /stats tell what happened.
 */

interface Delivery {
  id: number;
  target: string;
  command: string;
  status: string;
  attempts: number;
  createdAt: number;
  nextAt: number;
  deliveredAt: number;
  lastError: string;
  lastResponse: string;
  body: Record<string, unknown>;
}
interface Stats {
  pending: number;
  in_flight: number;
  delivered: number;
  dead: number;
}

const C2C = 'C2C.CallbackAfterSendMsg';

async function deliveries(t: TestServer, filter: Record<string, unknown> = {}): Promise<Delivery[]> {
  return (await t.admin.ok<{ deliveries: Delivery[] }>('/callback/deliveries', { limit: 1000, ...filter })).deliveries;
}
const stats = (t: TestServer): Promise<Stats> => t.admin.ok<Stats>('/callback/stats', {});

/** The delivery-log entry of the job whose message text is `s`. */
async function deliveryOf(t: TestServer, s: string): Promise<Delivery | undefined> {
  return (await deliveries(t)).find((d) => textOf(d.body) === s);
}

/**
 * The attempts the receiver saw of the job whose text is `s`, in arrival order: one delivery id,
 * consecutive attempt numbers, only the last one answered 2xx.
 */
function attemptsOf(r: CallbackReceiver, s: string): CallbackRequest[] {
  const list = r.all(C2C, (b) => textOf(b) === s);
  expect(list.length, `attempts of ${s}`).toBeGreaterThanOrEqual(1);
  expect(new Set(list.map((q) => q.deliveryId)).size, `one delivery id for ${s}`).toBe(1);
  // Numbered consecutively (attempts refused at the TCP level never reach the receiver).
  const first = list[0]!.attempt ?? 0;
  expect(first, `first attempt number seen for ${s}`).toBeGreaterThanOrEqual(1);
  expect(
    list.map((q) => q.attempt),
    `attempt numbers of ${s}`,
  ).toEqual(list.map((_, i) => first + i));
  expect(list.slice(0, -1).some(ok), `${s}: nothing after a success`).toBe(false);
  return list;
}

/** One conversation's jobs were delivered in creation order, each attempted only after the previous one was delivered. */
function expectInOrder(r: CallbackReceiver, texts: string[]): void {
  const delivered = r.requests.filter((q) => q.command === C2C && ok(q) && texts.includes(textOf(q.json))).map((q) => textOf(q.json));
  expect(delivered).toEqual(texts);
  for (let i = 1; i < texts.length; i++) {
    const prevDone = attemptsOf(r, texts[i - 1]!).at(-1)!;
    const firstTry = attemptsOf(r, texts[i]!)[0]!;
    expect(firstTry.index, `${texts[i]} first attempted after ${texts[i - 1]} was delivered`).toBeGreaterThan(prevDone.index);
  }
}

describe('retries, order and the delivery log (maxAttempts 8, retry 20 ms doubling to 200 ms)', () => {
  const r = useReceiver();
  const t = useCallbackServer(r);
  afterEach(() => {
    r.handler = () => undefined;
  });

  it('receiver answering 500: jobs wait at the head of each conversation, then all arrive in order once it recovers', async () => {
    const [a, b, c, d] = await t.users('a', 'b', 'c', 'd');
    let down = true;
    r.handler = () => (down ? { status: 500, body: 'maintenance' } : undefined);
    const ab = Array.from({ length: 6 }, (_, i) => `ab-${a}-${i}`);
    const cd = Array.from({ length: 6 }, (_, i) => `cd-${a}-${i}`);
    for (let i = 0; i < 6; i++) {
      await t.admin.send(a, single(b), text(ab[i]!));
      await t.admin.send(c, single(d), text(cd[i]!));
    }
    // Both head jobs are being retried.
    await r.waitFor((q) => textOf(q.json) === ab[0] && (q.attempt ?? 0) >= 3, { label: `attempt 3 of ${ab[0]}` });
    await r.waitFor((q) => textOf(q.json) === cd[0] && (q.attempt ?? 0) >= 3, { label: `attempt 3 of ${cd[0]}` });
    // Meanwhile nothing behind them was attempted.
    expect(r.requests.filter((q) => [...ab.slice(1), ...cd.slice(1)].includes(textOf(q.json)))).toEqual([]);

    // The log says why: pending (or in flight), attempts counted, the last error and response.
    const head = (await deliveryOf(t, ab[0]!))!;
    expect(['pending', 'in_flight']).toContain(head.status);
    expect(head.command).toBe(C2C);
    expect(head.target).toBe('default');
    expect(head.attempts).toBeGreaterThanOrEqual(2);
    expect(head.lastError).toBe('HTTP 500');
    expect(head.lastResponse).toMatch(/^500\b.*maintenance/);
    expect(head.deliveredAt).toBe(0);
    const behind = (await deliveryOf(t, ab[5]!))!;
    expect(behind).toMatchObject({ status: 'pending', attempts: 0, lastError: '', deliveredAt: 0 });
    const s1 = await stats(t);
    expect(s1.pending + s1.in_flight).toBe(12);
    expect(s1.delivered).toBe(0);
    expect(s1.dead).toBe(0);

    down = false;
    for (const s of [...ab, ...cd]) await r.waitDelivered(C2C, (x) => textOf(x) === s, { label: `delivery of ${s}` });
    expectInOrder(r, ab);
    expectInOrder(r, cd);
    // The head jobs needed several attempts; the success carries the last attempt number.
    for (const s of [ab[0]!, cd[0]!]) {
      const list = attemptsOf(r, s);
      expect(list.at(-1)!.attempt).toBeGreaterThan(1);
      expect(list.slice(0, -1).every((q) => q.answer === 500)).toBe(true);
      for (const q of list) expectTencentRequest(q, { command: C2C, optPlatform: 'RESTAPI' });
    }
    // Every job reached the receiver from its first attempt on; one delivery id each, distinct across jobs.
    for (const s of [...ab, ...cd]) expect(attemptsOf(r, s)[0]!.attempt).toBe(1);
    const ids = [...ab, ...cd].map((s) => attemptsOf(r, s)[0]!.deliveryId);
    expect(new Set(ids).size).toBe(12);

    // The log now: delivered, attempts = what the receiver saw, no error, the 200 response, the body sent.
    await eventually(async () => (await stats(t)).delivered === 12, 'the log to show 12 delivered');
    for (const s of [...ab, ...cd]) {
      const dl = (await deliveryOf(t, s))!;
      const seen = attemptsOf(r, s);
      expect(String(dl.id)).toBe(seen[0]!.deliveryId);
      expect(dl).toMatchObject({ status: 'delivered', command: C2C, target: 'default', attempts: seen.length, lastError: '' });
      expect(dl.lastResponse).toMatch(/^200\b/);
      expect(dl.deliveredAt).toBeGreaterThanOrEqual(dl.createdAt);
      expect(dl.body).toEqual(seen.at(-1)!.json);
    }
    expect(await stats(t)).toEqual({ pending: 0, in_flight: 0, delivered: 12, dead: 0 });
  });

  it('receiver gone (connections refused): jobs are retried and arrive in order once it listens again', async () => {
    const [a, b] = await t.users('a', 'b');
    const before = await stats(t);
    await r.close();
    const texts = Array.from({ length: 4 }, (_, i) => `gone-${a}-${i}`);
    for (const s of texts) await t.admin.send(a, single(b), text(s));
    // Retried while refused: the log records the connection error.
    await eventually(async () => {
      const dl = await deliveryOf(t, texts[0]!);
      return dl !== undefined && dl.attempts >= 2;
    }, 'two refused attempts');
    const head = (await deliveryOf(t, texts[0]!))!;
    expect(head.lastError).toMatch(/ECONNREFUSED/);
    expect(head.deliveredAt).toBe(0);
    expect((await deliveryOf(t, texts[3]!))!.attempts).toBe(0);

    await r.reopen();
    for (const s of texts) await r.waitDelivered(C2C, (x) => textOf(x) === s, { label: `delivery of ${s}` });
    expectInOrder(r, texts);
    // The receiver only saw the attempt that got through, numbered after the refused ones.
    const seen = attemptsOf(r, texts[0]!);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.attempt).toBeGreaterThan(2);
    await eventually(async () => (await stats(t)).delivered === before.delivered + 4, 'the log to show 4 more delivered');
    expect((await deliveryOf(t, texts[0]!))!).toMatchObject({ status: 'delivered', attempts: seen[0]!.attempt, lastError: '' });
  });
});

describe('dead letters and redelivery (maxAttempts 2)', () => {
  const r = useReceiver();
  const t = useCallbackServer(r, { maxAttempts: 2 });

  it('a job failing maxAttempts times is dead-lettered, the jobs behind it go on; redeliver {id} and {} send dead jobs again', async () => {
    const [p, q, x, y] = await t.users('p', 'q', 'x', 'y');
    let poisonOk = false;
    r.handler = (req) => (!poisonOk && textOf(req.json).startsWith('poison') ? { status: 500, body: 'cannot parse' } : undefined);

    await t.admin.send(p, single(q), text('poison-1'));
    await t.admin.send(p, single(q), text('ok-1'));
    await t.admin.send(p, single(q), text('ok-2'));
    await r.waitDelivered(C2C, (b) => textOf(b) === 'ok-1');
    await r.waitDelivered(C2C, (b) => textOf(b) === 'ok-2');
    // Exactly maxAttempts attempts, both before the next job of the conversation was tried.
    const poison = attemptsOf(r, 'poison-1');
    expect(poison.map((a) => [a.attempt, a.answer])).toEqual([
      [1, 500],
      [2, 500],
    ]);
    expect(attemptsOf(r, 'ok-1')[0]!.index).toBeGreaterThan(poison[1]!.index);
    expectInOrder(r, ['ok-1', 'ok-2']);

    await eventually(async () => (await stats(t)).delivered === 2, 'two delivered');
    const dead = (await deliveryOf(t, 'poison-1'))!;
    expect(dead).toMatchObject({ status: 'dead', attempts: 2, lastError: 'HTTP 500', deliveredAt: 0 });
    expect(dead.lastResponse).toMatch(/^500\b.*cannot parse/);
    expect(String(dead.id)).toBe(poison[0]!.deliveryId);
    expect((await deliveries(t, { status: 'dead' })).map((dl) => dl.id)).toEqual([dead.id]);
    expect(await stats(t)).toEqual({ pending: 0, in_flight: 0, delivered: 2, dead: 1 });

    // Redeliver that one: same delivery id, delivered this time.
    poisonOk = true;
    expect(await t.admin.ok('/callback/redeliver', { id: dead.id })).toEqual({ count: 1 });
    const again = await r.waitDelivered(C2C, (b) => textOf(b) === 'poison-1');
    expect(again.deliveryId).toBe(String(dead.id));
    expect(again.raw).toBe(poison[0]!.raw);
    await eventually(async () => (await deliveryOf(t, 'poison-1'))?.status === 'delivered', 'poison-1 delivered in the log');
    expect(await stats(t)).toEqual({ pending: 0, in_flight: 0, delivered: 3, dead: 0 });

    // Only dead jobs can be redelivered.
    expect((await t.admin.post('/callback/redeliver', { id: dead.id })).body).toEqual({ code: 253, msg: 'not exist' });
    expect((await t.admin.post('/callback/redeliver', { id: 987654321 })).body).toEqual({ code: 253, msg: 'not exist' });

    // Two more dead jobs in two conversations, then redeliver {} sends both.
    poisonOk = false;
    await t.admin.send(p, single(q), text('poison-2'));
    await t.admin.send(p, single(q), text('ok-3'));
    await t.admin.send(x, single(y), text('poison-3'));
    await r.waitDelivered(C2C, (b) => textOf(b) === 'ok-3');
    await eventually(async () => (await stats(t)).dead === 2, 'two dead jobs');
    const deadIds = (await deliveries(t, { status: 'dead' })).map((dl) => dl.id).sort((m, n) => m - n);
    expect(deadIds).toHaveLength(2);
    poisonOk = true;
    expect(await t.admin.ok('/callback/redeliver', {})).toEqual({ count: 2 });
    const r2 = await r.waitDelivered(C2C, (b) => textOf(b) === 'poison-2');
    const r3 = await r.waitDelivered(C2C, (b) => textOf(b) === 'poison-3');
    expect([Number(r2.deliveryId), Number(r3.deliveryId)].sort((m, n) => m - n)).toEqual(deadIds);
    await eventually(async () => (await stats(t)).delivered === 6, 'six delivered');
    expect(await stats(t)).toEqual({ pending: 0, in_flight: 0, delivered: 6, dead: 0 });
    expect(await t.admin.ok('/callback/redeliver', {})).toEqual({ count: 0 });
  });
});
