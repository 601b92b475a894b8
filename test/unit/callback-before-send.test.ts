/**
 * The before-send phase of TencentCallbacks (src/callbacks/tencent.ts) against real receivers on port 0:
 * one budget for the whole phase however many targets are asked, the per-target cap on requests in
 * flight (the policy applies at once past it, nothing queues), sequential replacement semantics, and
 * replies that are malformed.
 *
 * Synchronisation is on events: the receivers' recorded requests, the decisions' promises. Durations
 * are measured with performance.now() and asserted as bounds only.
 */
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { DEFAULT_BEFORE_SEND_CONCURRENCY, CallbackTargets, type CallbackTarget } from '../../src/callbacks/targets.js';
import { TencentCallbacks } from '../../src/callbacks/tencent.js';
import { ConvType, type Payload } from '../../src/core/model.js';
import type { BeforeSendDecision, SendFacts } from '../../src/core/ports/effects.js';
import type { SettingsStore } from '../../src/core/ports/store.js';
import { normalizePayload } from '../../src/core/payload.js';
import { CallbackReceiver, type CallbackRequest } from '../helpers/callback-receiver.js';

const MARGIN_MS = 1000;
const COMMAND = 'C2C.CallbackBeforeSendMsg';

const noSettings: SettingsStore = {
  get: async () => undefined,
  list: async () => [],
  put: async () => undefined,
  remove: async () => false,
};

const log = pino({ level: 'silent' });

function planner(targets: CallbackTarget[]): TencentCallbacks {
  const all = new CallbackTargets(targets, noSettings, new MemoryBus(), (err) => {
    throw err;
  });
  return new TencentCallbacks(all, { groups: { getGroup: async () => null } }, log);
}

function target(id: string, r: CallbackReceiver, over: Partial<CallbackTarget> = {}): CallbackTarget {
  return { id, url: `${r.url}/${id}`, sdkAppId: '1', commands: [COMMAND], timeoutMs: 500, beforeSendPolicy: 'allow', enabled: true, source: 'config', ...over };
}

const text = (s: string): Payload => normalizePayload({ type: 1, searchableContent: s, persistFlag: 3 });

let uid = 1000;
function facts(payload: Payload): SendFacts {
  const id = { uid: ++uid, timestamp: Date.now() };
  return { sender: 'alice', conv: { type: ConvType.single, target: 'bob', line: 0 }, payload, toUsers: [], origin: { kind: 'admin', ip: '127.0.0.1' }, identity: async () => id };
}

const textOf = (q: CallbackRequest): string => (q.json?.MsgBody?.[0]?.MsgContent?.Text as string | undefined) ?? '';

async function timed(p: Promise<BeforeSendDecision>): Promise<{ d: BeforeSendDecision; ms: number }> {
  const t0 = performance.now();
  const d = await p;
  return { d, ms: performance.now() - t0 };
}

describe('before-send: one budget for the whole phase', () => {
  let r: CallbackReceiver;
  beforeAll(async () => {
    r = await CallbackReceiver.start();
  });
  afterEach(() => {
    r.handler = () => undefined;
  });
  afterAll(async () => {
    await r.close();
  });

  it('three trickling targets under allow: the send waits about one timeout, not three', async () => {
    r.handler = () => ({ trickle: { intervalMs: 100 } });
    const p = planner([target('a', r, { timeoutMs: 600 }), target('b', r, { timeoutMs: 600 }), target('c', r, { timeoutMs: 600 })]);
    const { d, ms } = await timed(p.beforeSend(facts(text('three'))));
    expect(d).toEqual({ action: 'allow' });
    expect(ms).toBeGreaterThanOrEqual(595);
    expect(ms, 'bounded by the one budget (3 × 600 ms before)').toBeLessThan(600 + MARGIN_MS);
  });

  it('the same under reject: 249 within the budget', async () => {
    r.handler = () => ({ trickle: { intervalMs: 100 } });
    const p = planner([target('a', r, { timeoutMs: 600, beforeSendPolicy: 'allow' }), target('b', r, { timeoutMs: 600, beforeSendPolicy: 'reject' })]);
    const { d, ms } = await timed(p.beforeSend(facts(text('two'))));
    expect(d).toEqual({ action: 'reject', code: 249, msg: 'timeout' });
    expect(ms).toBeLessThan(600 + MARGIN_MS);
  });

  it('the budget is the largest timeout: after a short target times out, a longer one is still asked and decides', async () => {
    r.handler = (q) => (q.path === '/short' ? { hang: true } : { body: { ErrorCode: 1, ErrorInfo: 'long says no' } });
    const p = planner([target('short', r, { timeoutMs: 300 }), target('long', r, { timeoutMs: 2000 })]);
    const mark = r.mark;
    const { d, ms } = await timed(p.beforeSend(facts(text('mixed'))));
    expect(d).toEqual({ action: 'reject', code: 20006, msg: 'long says no' });
    expect(ms).toBeLessThan(2000 + MARGIN_MS);
    expect(r.requests.slice(mark).map((q) => q.path)).toEqual(['/short', '/long']);
  });

  it('replacements accumulate in target order: each target is sent the content as the earlier ones left it', async () => {
    r.handler = (q) => ({ body: { ErrorCode: 0, MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: { Text: `${textOf(q)}+${q.path.slice(1)}` } }] } });
    const p = planner([target('a', r), target('b', r)]);
    const mark = r.mark;
    const { d } = await timed(p.beforeSend(facts(text('x'))));
    expect(d).toMatchObject({ action: 'replace', payload: { searchableContent: 'x+a+b' } });
    expect(r.requests.slice(mark).map(textOf)).toEqual(['x', 'x+a']);
  });

  it('the first rejection wins: later targets are not asked', async () => {
    r.handler = (q) => (q.path === '/a' ? { body: { ErrorCode: 1, ErrorInfo: 'no' } } : undefined);
    const p = planner([target('a', r), target('b', r)]);
    const mark = r.mark;
    expect((await timed(p.beforeSend(facts(text('y'))))).d).toEqual({ action: 'reject', code: 20006, msg: 'no' });
    expect(r.requests.slice(mark).map((q) => q.path)).toEqual(['/a']);
  });
});

describe('before-send: malformed replies go to the policy (the audit: a TypeError answered code 4 under allow)', () => {
  let r: CallbackReceiver;
  beforeAll(async () => {
    r = await CallbackReceiver.start(() => ({ body: { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', MsgBody: [{ MsgType: 'TIMImageElem', MsgContent: { ImageInfoArray: [null] } }] } }));
  });
  afterAll(async () => {
    await r.close();
  });

  it('under allow the message goes through unchanged', async () => {
    const payload = text('keep me');
    expect((await planner([target('a', r)]).beforeSend(facts(payload))).action).toBe('allow');
  });

  it('under reject it is refused with code 4 and the reason', async () => {
    const d = await planner([target('a', r, { beforeSendPolicy: 'reject' })]).beforeSend(facts(text('refuse me')));
    expect(d).toMatchObject({ action: 'reject', code: 4 });
    expect(d.action === 'reject' ? d.msg : '').toMatch(/^before-send callback failed: unusable reply: MsgBody\[0\]\.MsgContent\.ImageInfoArray has no entry with a URL$/);
  });

  it.each<[string, unknown]>([
    ['not JSON', 'OK'],
    ['a JSON array', []],
    ['no ErrorCode', { ActionStatus: 'OK' }],
    ['MsgBody an object', { ErrorCode: 0, MsgBody: { MsgType: 'TIMTextElem' } }],
    ['MsgContent null', { ErrorCode: 0, MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: null }] }],
    ['CloudCustomData a number', { ErrorCode: 0, CloudCustomData: 1 }],
  ])('%s: allow lets it through, reject refuses with 4', async (_, body) => {
    r.handler = () => ({ body });
    expect((await planner([target('a', r)]).beforeSend(facts(text('m')))).action).toBe('allow');
    expect(await planner([target('a', r, { beforeSendPolicy: 'reject' })]).beforeSend(facts(text('m')))).toMatchObject({ action: 'reject', code: 4 });
  });
});

describe('before-send: at most beforeSendConcurrency requests in flight per target', () => {
  let r: CallbackReceiver;
  beforeAll(async () => {
    r = await CallbackReceiver.start((q) => (textOf(q).startsWith('hold') ? { hang: true } : undefined));
  });
  afterAll(async () => {
    await r.close();
  });

  it(`the default is ${DEFAULT_BEFORE_SEND_CONCURRENCY}`, () => {
    expect(DEFAULT_BEFORE_SEND_CONCURRENCY).toBe(64);
  });

  it.each(['allow', 'reject'] as const)('policy %s: past the cap a send is decided at once, without a request; below it again, targets are asked', async (policy) => {
    const t = target('capped', r, { beforeSendConcurrency: 2, timeoutMs: 1500, beforeSendPolicy: policy });
    const p = planner([t]);
    const mark = r.mark;
    const held = [p.beforeSend(facts(text(`hold-${policy}-1`))), p.beforeSend(facts(text(`hold-${policy}-2`)))];
    await r.waitFor((q) => textOf(q) === `hold-${policy}-2`, { from: mark });
    await r.waitFor((q) => textOf(q) === `hold-${policy}-1`, { from: mark });

    const { d, ms } = await timed(p.beforeSend(facts(text(`over-${policy}`))));
    expect(d).toEqual(policy === 'allow' ? { action: 'allow' } : { action: 'reject', code: 4, msg: 'before-send callback failed: callback target capped is busy (2 before-send requests in flight)' });
    expect(ms, 'decided without waiting for the held ones').toBeLessThan(1000);
    expect(r.requests.slice(mark).filter((q) => textOf(q) === `over-${policy}`)).toEqual([]);

    // Another target is not affected by this one's cap.
    const other = planner([target('other', r, { beforeSendConcurrency: 2 })]);
    expect(await other.beforeSend(facts(text(`free-${policy}`)))).toEqual({ action: 'allow' });

    // Once the held requests end (their timeout), the target is asked again.
    const ended = await Promise.all(held);
    expect(ended.map((x) => x.action)).toEqual(policy === 'allow' ? ['allow', 'allow'] : ['reject', 'reject']);
    expect(await p.beforeSend(facts(text(`after-${policy}`)))).toEqual({ action: 'allow' });
    expect(r.requests.slice(mark).filter((q) => textOf(q) === `after-${policy}`)).toHaveLength(1);
  });
});
