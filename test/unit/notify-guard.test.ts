import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { Hub } from '../../src/core/hub.js';
import { EMAIL_ESCALATION_KIND, EMAIL_KIND } from '../../src/core/notify-channels/jobs.js';
import type { OutboxJob } from '../../src/core/ports/outbox.js';
import type { SendResult, Sender } from '../../src/core/ports/sender.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/**
 * The guard around the e-mail and SMS senders (NotificationDelivery.guard) and the status its
 * withdrawals record: a message of a deleted notification, or an escalation to a recipient who has
 * read the notification since it was planned, is settled without being sent and never counts as sent.
 */
describe('withdrawing messages that must no longer go out', () => {
  let store: SqliteStore;
  let bus: MemoryBus;
  let hub: Hub;
  const sent: OutboxJob[] = [];
  const inner: Sender = { deliver: async (job): Promise<SendResult> => (sent.push(job), { ok: true, response: '250 ok' }) };

  beforeEach(async () => {
    store = new SqliteStore({ file: ':memory:', synchronous: 'NORMAL', nodeId: 0, commitMaxBatch: 64, commitMaxDelayMs: 0, inlineFanoutMax: 100 });
    bus = new MemoryBus();
    hub = new Hub(store, bus, { tokenTtlMs: 60_000, maxGroupMembers: 100 });
    for (const u of ['op', 'a', 'b']) await store.users.upsertUser(u, { name: u, email: `${u}@example.org` });
    sent.length = 0;
  });
  afterEach(async () => {
    await hub.notifications.close();
    hub.close();
    await bus.close();
    await store.close();
  });

  const job = (notification: string, user: string, kind: string): OutboxJob => ({
    id: 1,
    channel: 'email',
    target: 'default',
    orderKey: 'k',
    kind,
    body: JSON.stringify({ notification, user, to: `${user}@example.org`, title: 'T', text: 'B' }),
    meta: {},
    status: 'in_flight',
    attempts: 2,
    createdAt: Date.now(),
    nextAt: Date.now() + 30_000,
    lastError: '',
    lastResponse: '',
    deliveredAt: 0,
  });

  async function webSent(): Promise<string> {
    const n = await hub.notifications.add('op', { title: 'T', body: 'B', messageType: '', sendMethod: 'web', sendTo: ['a', 'b'], useWebWhenMiss: false, lng: '', translations: {}, options: {} });
    await hub.notifications.send(n.id);
    await hub.notifications.idle();
    return n.id;
  }

  it('an escalation to a recipient who read it meanwhile is withdrawn and recorded as failed "cancelled: read meanwhile"; one still unread goes out', async () => {
    const id = await webSent();
    await hub.notifications.readOne('a', id);
    const guarded = hub.notifyDelivery.guard(inner);
    const r = await guarded.deliver(job(id, 'a', EMAIL_ESCALATION_KIND));
    expect(r).toEqual({ ok: true, response: 'cancelled: read meanwhile' });
    expect(sent).toEqual([]);
    const reaction = await hub.notifyDelivery.onSettled.react!(job(id, 'a', EMAIL_ESCALATION_KIND), { status: 'delivered', response: r.response, at: Date.now() });
    expect(reaction?.records).toEqual([
      { kind: 'notification.delivery', notification: id, userId: 'a', channel: 'email', status: 'failed', error: 'cancelled: read meanwhile', toInbox: false },
    ]);
    expect(await guarded.deliver(job(id, 'b', EMAIL_ESCALATION_KIND))).toEqual({ ok: true, response: '250 ok' });
    // A send (not an escalation) is not withdrawn for being read.
    expect(await guarded.deliver(job(id, 'a', EMAIL_KIND))).toEqual({ ok: true, response: '250 ok' });
    expect(sent.map((j) => JSON.parse(j.body).user)).toEqual(['b', 'a']);
  });

  it('a message of a deleted notification is withdrawn', async () => {
    const id = await webSent();
    await hub.notifications.remove(id);
    expect(await hub.notifyDelivery.guard(inner).deliver(job(id, 'b', EMAIL_KIND))).toEqual({ ok: true, response: 'cancelled: notification deleted' });
    expect(sent).toEqual([]);
  });

  it('a real delivery records sent; a dead one failed with its error and, with use_web_when_miss, the fallback', async () => {
    const id = await webSent();
    const j = job(id, 'b', EMAIL_KIND);
    expect((await hub.notifyDelivery.onSettled.react!(j, { status: 'delivered', response: '250 ok', at: 1 }))?.records?.[0]).toMatchObject({ status: 'sent', error: '', toInbox: false });
    const fb = { ...j, body: JSON.stringify({ ...JSON.parse(j.body), fallback: true }) };
    expect((await hub.notifyDelivery.onSettled.react!(fb, { status: 'dead', error: 'HTTP 503', response: '' }))?.records?.[0]).toMatchObject({
      status: 'failed',
      error: 'HTTP 503',
      toInbox: true,
    });
  });
});
