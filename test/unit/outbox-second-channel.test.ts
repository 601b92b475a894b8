/**
 * The outbox serving a second channel next to webhook callbacks, end to end: a Hub with two effects
 * planners (Tencent callbacks, and a small "sms" planner that asks for a delayed SMS per single-chat
 * message, correlated to the message by ref), a dispatcher with the real webhook sender (to a real HTTP
 * receiver on port 0) and a test SMS sender, each channel with its own policy, and core's OnSettled
 * hook for sms: a failed SMS falls back to a callback (a follow-up job committed with the dead-letter),
 * and every final SMS outcome is announced after its commit.
 *
 * Synchronisation: waits on the receiver's recorded requests and on promises resolved by the hooks and
 * senders; a real-time guard only catches a hang.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { closeCallbackAgents } from '../../src/callbacks/http.js';
import { CallbackTargets } from '../../src/callbacks/targets.js';
import { TencentCallbacks, WEBHOOK } from '../../src/callbacks/tencent.js';
import { loadConfig } from '../../src/config/load.js';
import { webhookPolicy } from '../../src/callbacks/config.js';
import { WebhookSender } from '../../src/callbacks/sender.js';
import { Hub } from '../../src/core/hub.js';
import { ConvType, type Conversation } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import { NO_EFFECTS, type EffectsPlanner } from '../../src/core/ports/effects.js';
import type { FinalOutcome, OutboxJob } from '../../src/core/ports/outbox.js';
import type { SendResult, Sender } from '../../src/core/ports/sender.js';
import { OutboxDispatcher } from '../../src/outbox/dispatcher.js';
import type { ChannelPolicy } from '../../src/outbox/policy.js';
import { OutboxSettler } from '../../src/outbox/settler.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { CallbackReceiver } from '../helpers/callback-receiver.js';

const silent = pino({ level: 'silent' });
const SMS = 'sms';
/** How long after a message its SMS is due (the "not read within" of a real escalation). */
const SMS_DELAY_MS = 600;
const SMS_POLICY: ChannelPolicy = {
  maxAttempts: 2,
  firstRetryMs: 20,
  maxRetryMs: 20,
  leaseMs: 5_000,
  concurrency: 1,
  perTargetConcurrency: 1,
  claimAhead: 1,
  breaker: { threshold: 0 },
};

/** Reject if `p` has not settled within `ms` of real time (a failure guard, not a synchronisation). */
async function within<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** A list that resolves waiters once a predicate over it holds (checked on every push). */
class Log<T> {
  readonly items: T[] = [];
  private waiters: Array<{ pred: (xs: T[]) => boolean; resolve: () => void }> = [];
  push(x: T): void {
    this.items.push(x);
    for (const w of this.waiters.filter((w) => w.pred(this.items))) w.resolve();
    this.waiters = this.waiters.filter((w) => !w.pred(this.items));
  }
  until(pred: (xs: T[]) => boolean, what: string): Promise<void> {
    if (pred(this.items)) return Promise.resolve();
    return within(new Promise<void>((resolve) => this.waiters.push({ pred, resolve })), what);
  }
}

/** The test SMS gateway: delivers to anyone but "c", whose number does not answer. */
class TestSmsSender implements Sender {
  readonly attempts = new Log<{ job: OutboxJob; at: number }>();
  async deliver(job: OutboxJob): Promise<SendResult> {
    this.attempts.push({ job, at: Date.now() });
    return job.target === 'c' ? { ok: false, response: '', error: 'no answer' } : { ok: true, response: `queued for ${job.target}` };
  }
}

/** Wraps a sender to see the jobs it is given. */
function spy(sender: Sender, seen: OutboxJob[]): Sender {
  return { deliver: (job) => (seen.push(job), sender.deliver(job)) };
}

/** Core's side of the sms channel: asks for an SMS per single-chat message, due SMS_DELAY_MS later. */
const smsPlanner: EffectsPlanner = {
  ...NO_EFFECTS,
  afterSend: async (f) => {
    if (f.conv.type !== ConvType.single) return [];
    const { uid } = await f.identity();
    return [
      {
        channel: SMS,
        target: f.conv.target,
        orderKey: `sms:${f.conv.target}`,
        kind: 'Sms.NewMessage',
        body: { to: f.conv.target, text: `new message from ${f.sender}` },
        meta: {},
        ref: `msg:${uid}`,
        notBefore: Date.now() + SMS_DELAY_MS,
      },
    ];
  },
};

const single = (target: string): Conversation => ({ type: ConvType.single, target, line: 0 });

describe('the outbox serves a second channel alongside webhook callbacks', () => {
  let receiver: CallbackReceiver;
  let store: SqliteStore;
  let bus: MemoryBus;
  let hub: Hub;
  let dispatcher: OutboxDispatcher;

  beforeEach(async () => {
    receiver = await CallbackReceiver.start();
    store = new SqliteStore({ file: ':memory:', synchronous: 'NORMAL', nodeId: 0, commitMaxBatch: 64, commitMaxDelayMs: 0, inlineFanoutMax: 100 });
    bus = new MemoryBus();
  });

  afterEach(async () => {
    await dispatcher?.stop();
    hub?.close();
    await bus.close();
    await store.close();
    await receiver.close();
    await closeCallbackAgents();
  });

  it('a delayed SMS per message, its own policy, and an onSettled fallback to a callback when it fails', async () => {
    const targets = new CallbackTargets(
      [{ id: 'default', url: `${receiver.url}/cb`, sdkAppId: '1400000001', commands: ['C2C.CallbackAfterSendMsg'], timeoutMs: 2_000, beforeSendPolicy: 'allow', enabled: true, source: 'config' }],
      store.settings,
      bus,
      () => undefined,
    );
    hub = new Hub(store, bus, { tokenTtlMs: 60_000, maxGroupMembers: 100, effects: [new TencentCallbacks(targets, store, silent), smsPlanner] });
    for (const u of ['a', 'b', 'c']) await store.users.upsertUser(u, { name: u });

    // Core's hook for sms: a dead SMS falls back to a callback (same ref); every final outcome is announced.
    const reacted: Array<{ ref: string | undefined; status: string }> = [];
    const announced = new Log<{ ref: string | undefined; status: FinalOutcome['status']; stored: string | undefined }>();
    const settler = new OutboxSettler(store.outbox, silent);
    settler.register(SMS, {
      react: (job, outcome) => {
        reacted.push({ ref: job.ref, status: outcome.status });
        if (outcome.status !== 'dead') return undefined;
        const body = JSON.parse(job.body) as { to: string };
        return {
          enqueue: [
            {
              channel: WEBHOOK,
              target: 'default',
              orderKey: `default|sms:${body.to}`,
              kind: 'Sms.CallbackAfterFailed',
              body: { CallbackCommand: 'Sms.CallbackAfterFailed', To_Account: body.to, Error: outcome.error },
              meta: {},
              ...(job.ref ? { ref: job.ref } : {}),
            },
          ],
        };
      },
      // After the commit: what a bus event to agents would carry; the store already shows it.
      settled: async (job, outcome) => {
        const stored = await store.outbox.get(job.id);
        announced.push({ ref: job.ref, status: outcome.status, stored: stored?.status });
      },
    });

    const sms = new TestSmsSender();
    const results = new Log<{ kind: string; ok: boolean }>();
    const webhookJobs: OutboxJob[] = [];
    const hookPolicy = webhookPolicy(loadConfig({ env: {} }));
    dispatcher = new OutboxDispatcher(
      store.outbox,
      bus,
      {
        [WEBHOOK]: { sender: spy(new WebhookSender(targets, Math.max(500, hookPolicy.leaseMs - 2_000)), webhookJobs), policy: hookPolicy },
        [SMS]: { sender: sms, policy: SMS_POLICY },
      },
      { pollMs: 20, claimDelayMs: 2, settler, onResult: (job, ok) => results.push({ kind: job.kind, ok }) },
      silent,
    );
    dispatcher.start();

    const payload = normalizePayload({ type: 1, searchableContent: 'hello' });
    const toB = await hub.messages.send({ sender: 'a', conv: single('b'), payload });
    const toC = await hub.messages.send({ sender: 'a', conv: single('c'), payload });
    const refB = `msg:${toB.message.uid}`;
    const refC = `msg:${toC.message.uid}`;
    const smsOf = async (ref: string): Promise<OutboxJob> => (await store.outbox.byRef(ref)).find((j) => j.channel === SMS)!;
    const dueB = (await smsOf(refB)).nextAt;
    const dueC = (await smsOf(refC)).nextAt;

    // The callbacks go out at once, as always.
    for (const to of ['b', 'c']) await receiver.waitDelivered('C2C.CallbackAfterSendMsg', (body: { To_Account: string }) => body.To_Account === to);
    // Meanwhile (unless this machine took longer than the delay) the SMS jobs wait: nothing handed over early.
    if (Date.now() < Math.min(dueB, dueC)) {
      for (const ref of [refB, refC]) expect(await smsOf(ref)).toMatchObject({ status: 'pending', attempts: 0 });
      expect(sms.attempts.items).toEqual([]);
    }

    // b's SMS is delivered; c's fails twice (sms maxAttempts 2) and falls back to a callback.
    const fallback = await receiver.waitDelivered('Sms.CallbackAfterFailed', undefined, { timeoutMs: 10_000 });
    await results.until((xs) => xs.some((r) => r.kind === 'Sms.CallbackAfterFailed' && r.ok), 'the fallback callback recorded');
    await announced.until((xs) => xs.length >= 2, 'both SMS outcomes announced');

    for (const a of sms.attempts.items) {
      const due = a.job.target === 'b' ? dueB : dueC;
      expect(a.at, `${a.job.target}: not attempted before its notBefore`).toBeGreaterThanOrEqual(due);
      expect(a.job.nextAt - a.at, 'leased for the sms lease').toBeLessThanOrEqual(SMS_POLICY.leaseMs);
      expect(a.job.nextAt - a.at).toBeGreaterThan(SMS_POLICY.leaseMs - 1_000);
    }
    expect(sms.attempts.items.map((a) => [a.job.target, a.job.attempts])).toEqual(
      expect.arrayContaining([
        ['b', 1],
        ['c', 1],
        ['c', 2],
      ]),
    );
    expect(sms.attempts.items).toHaveLength(3);
    for (const j of webhookJobs) expect(j.nextAt - j.createdAt, 'webhook jobs leased for the webhook lease').toBeGreaterThan(SMS_POLICY.leaseMs);

    expect(fallback.json).toMatchObject({ CallbackCommand: 'Sms.CallbackAfterFailed', To_Account: 'c', Error: 'no answer' });
    expect(fallback.deliveryId).toBeDefined();

    // Everything about one message, by its ref.
    expect((await store.outbox.byRef(refB)).map((j) => [j.channel, j.kind, j.status])).toEqual([[SMS, 'Sms.NewMessage', 'delivered']]);
    expect((await store.outbox.byRef(refC)).map((j) => [j.channel, j.kind, j.status, j.attempts])).toEqual([
      [SMS, 'Sms.NewMessage', 'dead', 2],
      [WEBHOOK, 'Sms.CallbackAfterFailed', 'delivered', 1],
    ]);

    // The hook: asked once per final outcome; announced after the commit (the store already shows it).
    expect(reacted).toEqual(expect.arrayContaining([{ ref: refB, status: 'delivered' }, { ref: refC, status: 'dead' }]));
    expect(reacted).toHaveLength(2);
    expect(announced.items).toEqual(
      expect.arrayContaining([
        { ref: refB, status: 'delivered', stored: 'delivered' },
        { ref: refC, status: 'dead', stored: 'dead' },
      ]),
    );
    expect(announced.items).toHaveLength(2);
    expect(await store.outbox.counts()).toEqual({ pending: 0, in_flight: 0, delivered: 4, dead: 1 });
  });
});
