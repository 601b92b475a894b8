import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import type { HubEvent } from '../../src/core/events.js';
import type { Notification, RecipientFacts } from '../../src/core/notifications/model.js';
import { notificationRef, type ChannelPlan, type NotificationChannelPlanner } from '../../src/core/notifications/planner.js';
import { NotificationService } from '../../src/core/notifications/service.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { removeDir, tempDir } from '../helpers/temp.js';

/**
 * The seam part B (email, SMS) builds on: for a notification sent by email or SMS the fan-out asks the
 * NotificationChannelPlanner per batch and writes its jobs, statuses and inbox rows with the batch;
 * recordDelivery and deliverToInbox report outcomes back.
 */
describe('NotificationService: the channel planner seam', () => {
  const dirs: string[] = [];
  const stores: SqliteStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const d of dirs.splice(0)) removeDir(d);
  });

  async function setup(planner?: NotificationChannelPlanner): Promise<{ store: SqliteStore; svc: NotificationService; events: HubEvent[] }> {
    const dir = tempDir('sb-seam-');
    dirs.push(dir);
    const store = new SqliteStore({ file: path.join(dir, 'db'), synchronous: 'NORMAL', nodeId: 1, commitMaxBatch: 64, commitMaxDelayMs: 0, inlineFanoutMax: 10 });
    stores.push(store);
    const bus = new MemoryBus();
    const events: HubEvent[] = [];
    bus.subscribe((e) => events.push(e));
    for (const [u, email] of [
      ['a', 'a@x.test'],
      ['b', ''],
      ['c', 'c@x.test'],
      ['d', 'd@x.test'],
      ['e', ''],
    ] as const) {
      await store.users.upsertUser(u, { name: u, email });
    }
    const svc = new NotificationService(store.notifications, bus, { fanoutBatch: 2, ...(planner ? { planner } : {}) });
    return { store, svc, events };
  }

  /** A planner as part B would write it: a job per address, failed + web fallback without one. */
  const emailPlanner = (calls: Array<{ n: Notification; rs: RecipientFacts[] }>): NotificationChannelPlanner => ({
    plan: async (n, rs): Promise<ChannelPlan> => {
      calls.push({ n, rs });
      const plan: ChannelPlan = { jobs: [], statuses: [], inbox: [] };
      for (const r of rs) {
        if (r.email) {
          plan.jobs.push({ channel: 'email', target: r.email, orderKey: `email:${r.userId}`, kind: 'notification', body: { to: r.email, subject: n.title }, meta: {}, ref: notificationRef(n.id, r.userId) });
          plan.statuses.push({ userId: r.userId, channel: 'email', status: 'pending', error: '' });
        } else {
          plan.statuses.push({ userId: r.userId, channel: 'email', status: 'failed', error: 'no email address' });
          if (n.useWebWhenMiss) plan.inbox.push(r.userId);
        }
      }
      return plan;
    },
  });

  const fields = { title: 'Bill', body: 'Your bill', messageType: 'bill', sendTo: ['a', 'b', 'c', 'd', 'e'], lng: 'en', translations: {}, options: { escalateAfterMinutes: 30 } };

  it('email: the planner sees every recipient once, in batches, with its facts; jobs and statuses are written; the web fallback is pushed', async () => {
    const calls: Array<{ n: Notification; rs: RecipientFacts[] }> = [];
    const { store, svc, events } = await setup(emailPlanner(calls));
    const n = await svc.add('op', { ...fields, sendMethod: 'email', useWebWhenMiss: true });
    await svc.send(n.id);
    await svc.idle();
    expect(calls.map((c) => c.rs.map((r) => r.userId))).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(calls[0]!.n.options).toEqual({ escalateAfterMinutes: 30 });
    expect(calls[0]!.rs[0]).toEqual({ userId: 'a', exists: true, name: 'a', email: 'a@x.test', mobile: '' });
    for (const u of ['a', 'c', 'd']) expect((await store.outbox.byRef(notificationRef(n.id, u))).map((j) => j.channel)).toEqual(['email']);
    expect((await svc.deliveries(n.id, 0, 10)).items.map((d) => [d.userId, d.status])).toEqual([
      ['a', 'pending'],
      ['b', 'failed'],
      ['c', 'pending'],
      ['d', 'pending'],
      ['e', 'failed'],
    ]);
    // b and e have no address: web inbox instead, pushed live.
    expect(await svc.unreadCount('b')).toBe(1);
    expect(await svc.unreadCount('a')).toBe(0);
    const pushed = events.flatMap((e) => (e.type === 'notify.push' ? e.users : []));
    expect(pushed.sort()).toEqual(['b', 'e']);
    expect(events.some((e) => e.type === 'outbox.wake')).toBe(true);

    // Outcomes reported back by the channel (part B's OnSettled hook).
    await svc.recordDelivery(n.id, 'a', 'email', 'sent', '');
    await svc.recordDelivery(n.id, 'c', 'email', 'failed', '550 mailbox unavailable');
    expect(await svc.deliverToInbox(n.id, ['c', 'b'])).toEqual(['c']);
    expect(events.filter((e) => e.type === 'notify.push').at(-1)).toMatchObject({ users: ['c'], item: { id: n.id, title: 'Bill' } });
    expect((await svc.deliveries(n.id, 0, 10)).items.find((d) => d.userId === 'c')).toMatchObject({ status: 'failed', error: '550 mailbox unavailable' });
    expect(await svc.deliverToInbox(n.id, ['c'])).toEqual([]);
  });

  it('without a planner every email/SMS recipient fails "channel not configured"; the fallback applies only with use_web_when_miss', async () => {
    const { svc } = await setup();
    const quiet = await svc.add('op', { ...fields, sendMethod: 'sms', useWebWhenMiss: false });
    await svc.send(quiet.id);
    await svc.idle();
    expect((await svc.deliveries(quiet.id, 0, 10)).items.every((d) => d.status === 'failed' && d.error === 'sms channel not configured')).toBe(true);
    expect(await svc.unreadCount('a')).toBe(0);
    const loud = await svc.add('op', { ...fields, sendMethod: 'sms', useWebWhenMiss: true });
    await svc.send(loud.id);
    await svc.idle();
    expect(await svc.unreadCount('a')).toBe(1);
  });

  it('a planner that throws stops the fan-out without losing it: resume() finishes it', async () => {
    let fail = true;
    const calls: Array<{ n: Notification; rs: RecipientFacts[] }> = [];
    const inner = emailPlanner(calls);
    const errors: unknown[] = [];
    const { store, events } = await setup();
    const bus = new MemoryBus();
    bus.subscribe((e) => events.push(e));
    const svc = new NotificationService(store.notifications, bus, {
      fanoutBatch: 2,
      planner: { plan: async (n, rs) => (fail && rs[0]!.userId === 'c' ? Promise.reject(new Error('boom')) : inner.plan(n, rs)) },
      onError: (e) => errors.push(e),
    });
    const n = await svc.add('op', { ...fields, sendMethod: 'email', useWebWhenMiss: false });
    await svc.send(n.id);
    await svc.idle();
    expect(errors.length).toBe(1);
    expect(await store.notifications.unfinished()).toEqual([n.id]);
    fail = false;
    await svc.resume();
    await svc.idle();
    expect(await store.notifications.unfinished()).toEqual([]);
    expect(calls.map((c) => c.rs.map((r) => r.userId))).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect((await svc.deliveries(n.id, 0, 10)).total).toBe(5);
  });
});
