/**
 * The Store's notification-delivery part (src/core/ports/notify-delivery.ts) and the delivery records
 * an outbox outcome commits (SettleReaction.records), run against every backend. Only the Store
 * interface is used here.
 *
 * Time: outbox jobs are stamped with the backend's clock; claims pass a `now` comfortably after every
 * job was created (as the outbox contract does).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newNotificationId } from '../../src/core/notifications/ids.js';
import type { NotificationFields } from '../../src/core/notifications/model.js';
import type { NotificationDeliveryRecord } from '../../src/core/ports/notify-delivery.js';
import type { NewJob } from '../../src/core/ports/outbox.js';
import type { Store } from '../../src/core/ports/store.js';
import type { StoreBackend } from '../helpers/backends.js';
import { expectCoreError } from './store.contract.js';

const LEASE = 1_000;
const later = (): number => Date.now() + 60_000;

const fields = (sendTo: string[], over: Partial<NotificationFields> = {}): NotificationFields => ({
  title: 'T',
  body: 'B',
  messageType: 'm',
  sendMethod: 'email',
  sendTo,
  useWebWhenMiss: true,
  lng: '',
  translations: {},
  options: {},
  ...over,
});

const job = (key: string, over: Partial<NewJob> = {}): NewJob => ({
  channel: 'email',
  target: 'default',
  orderKey: key,
  kind: 'Notify.Email',
  body: { key },
  meta: {},
  ...over,
});

const record = (notification: string, userId: string, over: Partial<NotificationDeliveryRecord> = {}): NotificationDeliveryRecord => ({
  kind: 'notification.delivery',
  notification,
  userId,
  channel: 'email',
  status: 'failed',
  error: 'HTTP 500',
  toInbox: true,
  ...over,
});

export function notifyDeliveryContract(name: string, open: StoreBackend['open']): void {
  describe(`NotifyDeliveryStore contract: ${name}`, () => {
    let cleanup: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });
    async function fresh(users: Record<string, { email?: string; mobile?: string }>): Promise<Store> {
      const f = await open({ inlineFanoutMax: 100 });
      cleanup = f.cleanup;
      for (const [u, p] of Object.entries(users)) await f.store.users.upsertUser(u, { name: `${u}-name`, ...p });
      return f.store;
    }
    async function sent(s: Store, sendTo: string[], over: Partial<NotificationFields> = {}): Promise<string> {
      const n = await s.notifications.create({ ...fields(sendTo, over), id: newNotificationId(), creator: 'op', dateCreated: Date.now() });
      await s.notifications.markSent(n.id, Date.now());
      return n.id;
    }
    const statuses = async (s: Store, id: string): Promise<Array<[string, string, string, string]>> =>
      (await s.notifications.deliveries(id, 0, 100)).items.map((d) => [d.userId, d.channel, d.status, d.error]);
    const inbox = async (s: Store, u: string): Promise<string[]> => (await s.notifications.inbox(u, 0, 100, false)).items.map((i) => i.id);

    describe('records of a final outbox outcome', () => {
      it('are written with a dead outcome: the status, and the fallback inbox row', async () => {
        const s = await fresh({ a: {}, b: {} });
        const id = await sent(s, ['a', 'b']);
        const [ja, jb] = await s.outbox.enqueue([job('A'), job('B')]);
        const T = later();
        const claimed = await s.outbox.claim(T, 10, LEASE);
        const lease = (j: number): number => claimed.find((c) => c.id === j)!.nextAt;
        const applied = await s.outbox.settle([
          { id: ja!, lease: lease(ja!), ok: false, error: 'HTTP 500', response: '', nextAt: null, then: { records: [record(id, 'a')] } },
          { id: jb!, lease: lease(jb!), ok: true, response: '250 ok', at: T, then: { records: [record(id, 'b', { status: 'sent', error: '', toInbox: false })] } },
        ]);
        expect(applied).toEqual([ja, jb]);
        expect(await statuses(s, id)).toEqual([
          ['a', 'email', 'failed', 'HTTP 500'],
          ['b', 'email', 'sent', ''],
        ]);
        expect(await inbox(s, 'a')).toEqual([id]);
        expect(await inbox(s, 'b')).toEqual([]);
        expect(await s.notifications.unreadCount('a')).toBe(1);
      });

      it('are not written when the fence refuses the outcome (lapsed lease, or a job already final)', async () => {
        const s = await fresh({ a: {} });
        const id = await sent(s, ['a']);
        const [j] = await s.outbox.enqueue([job('A')]);
        const T = later();
        const [first] = await s.outbox.claim(T, 10, LEASE);
        await s.outbox.claim(T + LEASE + 1, 10, LEASE);
        expect(await s.outbox.settle([{ id: j!, lease: first!.nextAt, ok: false, error: 'late', response: '', nextAt: null, then: { records: [record(id, 'a')] } }])).toEqual([]);
        expect(await s.outbox.fail(j!, 'x', '', null)).toBe(true);
        expect(await s.outbox.settle([{ id: j!, ok: false, error: 'again', response: '', nextAt: null, then: { records: [record(id, 'a')] } }])).toEqual([]);
        expect(await statuses(s, id)).toEqual([]);
        expect(await inbox(s, 'a')).toEqual([]);
      });

      it('a retry (not final) carries no record', async () => {
        const s = await fresh({ a: {} });
        const id = await sent(s, ['a']);
        const [j] = await s.outbox.enqueue([job('A')]);
        const T = later();
        const [c] = await s.outbox.claim(T, 10, LEASE);
        expect(await s.outbox.settle([{ id: j!, lease: c!.nextAt, ok: false, error: 'e', response: '', nextAt: T + 10, then: { records: [record(id, 'a')] } }])).toEqual([j]);
        expect(await statuses(s, id)).toEqual([]);
        expect(await inbox(s, 'a')).toEqual([]);
      });

      it('write nothing (and fail nothing) for a removed notification or a non-recipient; a row the user deleted stays deleted', async () => {
        const s = await fresh({ a: {}, b: {}, c: {} });
        const id = await sent(s, ['a', 'c']);
        const gone = await sent(s, ['a']);
        await s.notifications.remove(gone);
        await s.notifications.addToInbox(id, ['c']);
        await s.notifications.deleteOne('c', id);
        const jobs = await s.outbox.enqueue([job('A'), job('B'), job('C')]);
        const T = later();
        const claimed = await s.outbox.claim(T, 10, LEASE);
        const out = (j: number, r: NotificationDeliveryRecord) => ({
          id: j,
          lease: claimed.find((c) => c.id === j)!.nextAt,
          ok: false as const,
          error: 'e',
          response: '',
          nextAt: null,
          then: { records: [r] },
        });
        expect(await s.outbox.settle([out(jobs[0]!, record(gone, 'a')), out(jobs[1]!, record(id, 'b')), out(jobs[2]!, record(id, 'c'))])).toEqual(jobs);
        expect(await statuses(s, id)).toEqual([['c', 'email', 'failed', 'HTTP 500']]);
        expect(await inbox(s, 'b')).toEqual([]);
        expect(await inbox(s, 'c')).toEqual([]);
        expect(await inbox(s, 'a')).toEqual([]);
      });
    });

    describe('escalation', () => {
      it('candidates: recipients who have not read it (no row, unread, deleted unread), by user id, paged, with their facts', async () => {
        const s = await fresh({ a: { email: 'a@x' }, b: { mobile: '+1' }, c: {}, d: {}, e: {} });
        const id = await sent(s, ['a', 'b', 'c', 'd', 'e'], { sendMethod: 'web' });
        await s.notifications.addToInbox(id, ['a', 'b', 'c', 'd']);
        await s.notifications.readOne('b', id);
        await s.notifications.deleteOne('c', id);
        await s.users.destroyUser('e');
        const first = await s.notifyDelivery.escalationCandidates(id, '', 2);
        expect(first!.map((r) => [r.userId, r.email, r.mobile])).toEqual([
          ['a', 'a@x', ''],
          ['c', '', ''],
        ]);
        const rest = await s.notifyDelivery.escalationCandidates(id, 'c', 10);
        expect(rest!.map((r) => r.userId)).toEqual(['d', 'e']);
        expect(await s.notifyDelivery.escalationCandidates(newNotificationId(), '', 10)).toBeNull();
        const draft = await s.notifications.create({ ...fields(['a']), id: newNotificationId(), creator: 'op', dateCreated: Date.now() });
        expect(await s.notifyDelivery.escalationCandidates(draft.id, '', 10), 'not sent').toBeNull();
      });

      it('hasRead: the user\'s row is read; false without a row, for another user, or for an unknown notification', async () => {
        const s = await fresh({ a: {}, b: {} });
        const id = await sent(s, ['a', 'b'], { sendMethod: 'web' });
        await s.notifications.addToInbox(id, ['a']);
        expect(await s.notifyDelivery.hasRead(id, 'a')).toBe(false);
        await s.notifications.readOne('a', id);
        expect(await s.notifyDelivery.hasRead(id, 'a')).toBe(true);
        expect(await s.notifyDelivery.hasRead(id, 'b')).toBe(false);
        expect(await s.notifyDelivery.hasRead(newNotificationId(), 'a')).toBe(false);
      });

      it('commit: status and job together, once per (notification, user, channel), never for a recipient who read it meanwhile', async () => {
        const s = await fresh({ a: {}, b: {}, c: {} });
        const id = await sent(s, ['a', 'b', 'c'], { sendMethod: 'web' });
        await s.notifications.addToInbox(id, ['a', 'b']);
        await s.notifications.readOne('b', id);
        const items = [
          { userId: 'a', channel: 'sms', status: 'pending' as const, error: '', job: job('EA', { channel: 'sms', ref: 'esc:a' }) },
          { userId: 'b', channel: 'sms', status: 'pending' as const, error: '', job: job('EB', { channel: 'sms', ref: 'esc:b' }) },
          { userId: 'c', channel: 'sms', status: 'failed' as const, error: 'no mobile number' },
          { userId: 'x', channel: 'sms', status: 'pending' as const, error: '', job: job('EX', { channel: 'sms', ref: 'esc:x' }) },
        ];
        expect(await s.notifyDelivery.commitEscalation(id, items)).toBe(2);
        expect(await s.notifyDelivery.commitEscalation(id, items), 'again: nothing').toBe(0);
        expect(await statuses(s, id)).toEqual([
          ['a', 'sms', 'pending', ''],
          ['c', 'sms', 'failed', 'no mobile number'],
        ]);
        expect((await s.outbox.byRef('esc:a')).map((j) => j.status)).toEqual(['pending']);
        expect(await s.outbox.byRef('esc:b')).toEqual([]);
        expect(await s.outbox.byRef('esc:x')).toEqual([]);
        await s.notifications.remove(id);
        expect(await s.notifyDelivery.commitEscalation(id, items), 'removed').toBe(0);
      });
    });

    describe('markSent with the send\'s jobs, fenced by updatedAt', () => {
      it('writes the jobs with the send; a stale updatedAt refuses both', async () => {
        const s = await fresh({ a: {} });
        const n = await s.notifications.create({ ...fields(['a'], { sendMethod: 'web' }), id: newNotificationId(), creator: 'op', dateCreated: Date.now() });
        const changed = await s.notifications.update(n.id, { title: 'T2' }, n.updatedAt + 5);
        await expectCoreError(s.notifications.markSent(n.id, Date.now(), n.updatedAt, [job('S', { ref: 'send:1' })]), 'no_right');
        expect(await s.outbox.byRef('send:1')).toEqual([]);
        expect((await s.notifications.get(n.id))!.hasSend).toBe(false);
        await s.notifications.markSent(n.id, Date.now(), changed.updatedAt, [job('S', { ref: 'send:1', notBefore: Date.now() + 3_600_000 })]);
        expect((await s.outbox.byRef('send:1')).map((j) => j.status)).toEqual(['pending']);
        expect((await s.notifications.get(n.id))!.hasSend).toBe(true);
      });
    });
  });
}
