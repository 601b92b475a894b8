/**
 * The Store's notification part (src/core/ports/notifications.ts), run against every backend. Only
 * the Store interface is used here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newNotificationId } from '../../src/core/notifications/ids.js';
import type { NotificationFields } from '../../src/core/notifications/model.js';
import type { NewNotification } from '../../src/core/ports/notifications.js';
import type { Store } from '../../src/core/ports/store.js';
import type { StoreBackend } from '../helpers/backends.js';
import { expectCoreError } from './store.contract.js';

const fields = (sendTo: string[], over: Partial<NotificationFields> = {}): NotificationFields => ({
  title: 'T',
  body: 'B',
  messageType: 'update',
  sendMethod: 'web',
  sendTo,
  useWebWhenMiss: false,
  lng: 'en',
  translations: {},
  options: {},
  ...over,
});
const draft = (sendTo: string[], over: Partial<NotificationFields> = {}): NewNotification => ({
  ...fields(sendTo, over),
  id: newNotificationId(),
  creator: 'op',
  dateCreated: Date.now(),
});

/** Drive a fan-out to its end the way core does (web: every recipient gets a row). */
async function fanout(s: Store, id: string, batch = 2): Promise<string[]> {
  const all: string[] = [];
  for (;;) {
    const next = await s.notifications.nextRecipients(id, batch, false);
    if (!next) return all;
    const rs = next.recipients.map((r) => r.userId);
    const r = await s.notifications.commitBatch(id, { from: next.cursor, to: rs.at(-1) ?? next.cursor, done: rs.length < batch, inbox: rs, jobs: [], statuses: [] });
    expect(r).not.toBeNull();
    all.push(...r!.inserted);
  }
}

export function notificationStoreContract(name: string, open: StoreBackend['open']): void {
  describe(`NotificationStore contract: ${name}`, () => {
    let cleanup: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });
    async function fresh(users = ['a', 'b', 'c', 'd', 'e']): Promise<Store> {
      const f = await open({ inlineFanoutMax: 100 });
      cleanup = f.cleanup;
      for (const u of users) await f.store.users.upsertUser(u, { name: `${u}-name`, email: `${u}@x.test` });
      return f.store;
    }
    /** readCount equals the rows, and unread counts equal the rows, for every user given. */
    async function audit(s: Store, id: string): Promise<void> {
      const n = await s.notifications.get(id);
      if (n) expect(n.readCount).toBe(await s.notifications.recountRead(id));
    }

    it('create stores fields and recipients (deduplicated); get, list newest first', async () => {
      const s = await fresh();
      const d1 = draft(['a', 'b', 'a'], { translations: { zh: { title: '标题', body: '内容' } }, options: { x: 1 } });
      const n1 = await s.notifications.create(d1);
      expect(n1).toMatchObject({ id: d1.id, title: 'T', body: 'B', messageType: 'update', sendMethod: 'web', lng: 'en', recipientCount: 2, readCount: 0, hasSend: false, sendAt: null, fanoutDone: false, creator: 'op' });
      expect(n1.translations).toEqual({ zh: { title: '标题', body: '内容' } });
      expect(n1.options).toEqual({ x: 1 });
      expect(await s.notifications.get(d1.id)).toEqual(n1);
      const n2 = await s.notifications.create(draft(['c']));
      const page = await s.notifications.list(0, 10);
      expect(page.total).toBe(2);
      expect(page.items.map((n) => n.id)).toEqual([n2.id, n1.id]);
      expect((await s.notifications.list(1, 10)).items.map((n) => n.id)).toEqual([n1.id]);
      expect((await s.notifications.recipients(d1.id, 'all', 0, 10)).items).toEqual([
        { userId: 'a', username: 'a-name' },
        { userId: 'b', username: 'b-name' },
      ]);
      expect(await s.notifications.get(newNotificationId())).toBeNull();
    });

    it('create refuses unknown recipients, naming them, and stores nothing', async () => {
      const s = await fresh();
      const e = await expectCoreError(s.notifications.create(draft(['a', 'ghost1', 'ghost2'])), 'not_exist');
      expect(e.detail).toContain('ghost1');
      expect(e.detail).toContain('ghost2');
      expect((await s.notifications.list(0, 10)).total).toBe(0);
    });

    it('update replaces the given fields and the recipient set; refused once sent; not_exist for an unknown id', async () => {
      const s = await fresh();
      const n = await s.notifications.create(draft(['a', 'b']));
      const u = await s.notifications.update(n.id, { title: 'T2', sendTo: ['c'], sendMethod: 'email', useWebWhenMiss: true }, n.dateCreated + 5);
      expect(u).toMatchObject({ title: 'T2', body: 'B', sendMethod: 'email', useWebWhenMiss: true, recipientCount: 1, updatedAt: n.dateCreated + 5 });
      expect((await s.notifications.recipients(n.id, 'all', 0, 10)).items.map((r) => r.userId)).toEqual(['c']);
      await expectCoreError(s.notifications.update(n.id, { sendTo: ['zz'] }, Date.now()), 'not_exist');
      expect((await s.notifications.get(n.id))?.recipientCount).toBe(1);
      await s.notifications.markSent(n.id, Date.now());
      await expectCoreError(s.notifications.update(n.id, { title: 'x' }, Date.now()), 'no_right');
      await expectCoreError(s.notifications.update(newNotificationId(), { title: 'x' }, Date.now()), 'not_exist');
    });

    it('markSent once; the fan-out writes inbox rows in batches, fenced by its cursor, and is then done', async () => {
      const s = await fresh();
      const n = await s.notifications.create(draft(['a', 'b', 'c', 'd', 'e']));
      expect(await s.notifications.nextRecipients(n.id, 2, false)).toBeNull(); // not sent
      const sent = await s.notifications.markSent(n.id, 1234);
      expect(sent).toMatchObject({ hasSend: true, sendAt: 1234, fanoutDone: false });
      await expectCoreError(s.notifications.markSent(n.id, 1235), 'no_right');
      expect(await s.notifications.unfinished()).toEqual([n.id]);
      const first = await s.notifications.nextRecipients(n.id, 2, true);
      expect(first).toEqual({
        cursor: '',
        recipients: [
          { userId: 'a', exists: true, name: 'a-name', email: 'a@x.test', mobile: '' },
          { userId: 'b', exists: true, name: 'b-name', email: 'b@x.test', mobile: '' },
        ],
      });
      expect(await s.notifications.commitBatch(n.id, { from: '', to: 'b', done: false, inbox: ['a', 'b'], jobs: [], statuses: [] })).toEqual({ inserted: ['a', 'b'] });
      // The same batch again (a second runner, a replay): refused by the fence, nothing written.
      expect(await s.notifications.commitBatch(n.id, { from: '', to: 'b', done: false, inbox: ['a', 'b'], jobs: [], statuses: [] })).toBeNull();
      expect(await fanout(s, n.id)).toEqual(['c', 'd', 'e']);
      expect((await s.notifications.get(n.id))?.fanoutDone).toBe(true);
      expect(await s.notifications.unfinished()).toEqual([]);
      expect(await s.notifications.nextRecipients(n.id, 2, false)).toBeNull();
      for (const u of ['a', 'b', 'c', 'd', 'e']) expect(await s.notifications.unreadCount(u)).toBe(1);
    });

    it('fanoutWeb: consecutive calls take consecutive batches (cursor read inside), skip destroyed users, then null', async () => {
      const s = await fresh();
      const n = await s.notifications.create(draft(['a', 'b', 'c', 'd', 'e']));
      expect(await s.notifications.fanoutWeb(n.id, 2)).toBeNull(); // not sent
      await s.notifications.markSent(n.id, Date.now());
      await s.users.destroyUser('c');
      // Submitted together, as the fan-out pipelines them.
      const [x, y, z, w] = await Promise.all([0, 1, 2, 3].map(() => s.notifications.fanoutWeb(n.id, 2)));
      expect(x).toEqual({ inserted: ['a', 'b'], done: false });
      expect(y).toEqual({ inserted: ['d'], done: false });
      expect(z).toEqual({ inserted: ['e'], done: true });
      expect(w).toBeNull();
      expect((await s.notifications.get(n.id))?.fanoutDone).toBe(true);
      expect(await s.notifications.unreadCount('c')).toBe(0);
    });

    it('a batch writes its jobs and statuses with it; a recipient destroyed since gets no row', async () => {
      const s = await fresh();
      const n = await s.notifications.create(draft(['a', 'b', 'c'], { sendMethod: 'email' }));
      await s.notifications.markSent(n.id, Date.now());
      await s.users.destroyUser('b');
      const next = await s.notifications.nextRecipients(n.id, 10, true);
      expect(next?.recipients.map((r) => [r.userId, r.exists])).toEqual([
        ['a', true],
        ['b', false],
        ['c', true],
      ]);
      const job = { channel: 'email', target: 'a@x.test', orderKey: `n:${n.id}:a`, kind: 'notification', body: { to: 'a@x.test' }, meta: {}, ref: `notification:${n.id}:user:a` };
      const r = await s.notifications.commitBatch(n.id, {
        from: '',
        to: 'c',
        done: true,
        inbox: ['b', 'c'],
        jobs: [job],
        statuses: [
          { userId: 'a', channel: 'email', status: 'pending', error: '' },
          { userId: 'c', channel: 'email', status: 'failed', error: 'no email address' },
        ],
      });
      expect(r).toEqual({ inserted: ['c'] });
      expect((await s.outbox.byRef(`notification:${n.id}:user:a`)).map((j) => j.channel)).toEqual(['email']);
      expect((await s.notifications.deliveries(n.id, 0, 10)).items.map((d) => [d.userId, d.channel, d.status, d.error])).toEqual([
        ['a', 'email', 'pending', ''],
        ['c', 'email', 'failed', 'no email address'],
      ]);
      await s.notifications.setDelivery(n.id, 'a', 'email', 'sent', '', Date.now());
      expect((await s.notifications.deliveries(n.id, 0, 1)).items[0]).toMatchObject({ userId: 'a', status: 'sent', error: '' });
      expect((await s.notifications.deliveries(n.id, 0, 1)).total).toBe(2);
      await expectCoreError(s.notifications.setDelivery(newNotificationId(), 'a', 'email', 'sent', '', 0), 'not_exist');
      // A fallback adds rows for recipients only, once.
      expect(await s.notifications.addToInbox(n.id, ['a', 'a', 'c', 'd'])).toEqual(['a']);
      expect(await s.notifications.addToInbox(n.id, ['a'])).toEqual([]);
      const draftOnly = await s.notifications.create(draft(['a']));
      await expectCoreError(s.notifications.addToInbox(draftOnly.id, ['a']), 'no_right');
    });

    it('inbox: newest sent first, paged, totals and unread from the rows; read one / all; delete one / all', async () => {
      const s = await fresh();
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const n = await s.notifications.create(draft(['a', 'b'], { title: `t${i}` }));
        ids.push(n.id);
      }
      // Sent in another order than created: the inbox follows the sends.
      for (const i of [2, 0, 3, 1]) {
        await s.notifications.markSent(ids[i]!, 1000 + i);
        await fanout(s, ids[i]!);
      }
      const order = [ids[1], ids[3], ids[0], ids[2]];
      let page = await s.notifications.inbox('a', 0, 10, false);
      expect(page).toMatchObject({ total: 4, unread: 4 });
      expect(page.items.map((i) => i.id)).toEqual(order);
      expect(page.items[0]).toMatchObject({ title: 't1', body: 'B', type: 'update', lng: 'en', hasRead: false, sentAt: 1001 });
      expect((await s.notifications.inbox('a', 1, 2, false)).items.map((i) => i.id)).toEqual(order.slice(1, 3));

      expect(await s.notifications.readOne('a', ids[0]!)).toBe(true);
      expect(await s.notifications.readOne('a', ids[0]!)).toBe(false);
      await audit(s, ids[0]!);
      expect((await s.notifications.get(ids[0]!))?.readCount).toBe(1);
      expect((await s.notifications.recipients(ids[0]!, 'read', 0, 10)).items.map((r) => r.userId)).toEqual(['a']);
      expect(await s.notifications.recipients(ids[0]!, 'unread', 0, 10)).toEqual({ total: 1, items: [{ userId: 'b', username: 'b-name' }] });
      page = await s.notifications.inbox('a', 0, 10, true);
      expect(page).toMatchObject({ total: 3, unread: 3 });
      expect(page.items.map((i) => i.id)).toEqual([ids[1], ids[3], ids[2]]);

      expect((await s.notifications.readAll('a')).sort()).toEqual([ids[1], ids[2], ids[3]].sort());
      expect(await s.notifications.readAll('a')).toEqual([]);
      expect(await s.notifications.unreadCount('a')).toBe(0);
      expect(await s.notifications.unreadCount('b')).toBe(4);
      for (const id of ids) await audit(s, id);

      await s.notifications.deleteOne('b', ids[1]!);
      await expectCoreError(s.notifications.deleteOne('b', ids[1]!), 'not_exist');
      await expectCoreError(s.notifications.readOne('b', ids[1]!), 'not_exist');
      expect(await s.notifications.inbox('b', 0, 10, false)).toMatchObject({ total: 3, unread: 3 });
      expect(await s.notifications.deleteAll('b')).toBe(3);
      expect(await s.notifications.deleteAll('b')).toBe(0);
      expect(await s.notifications.inbox('b', 0, 10, false)).toEqual({ total: 0, unread: 0, items: [] });
      expect(await s.notifications.readAll('b')).toEqual([]);
      // a's rows are untouched by b's deletes.
      expect((await s.notifications.inbox('a', 0, 10, false)).total).toBe(4);
      for (const id of ids) await audit(s, id);
    });

    it("one user cannot read or delete another's row: not_exist, nothing changed", async () => {
      const s = await fresh();
      const n = await s.notifications.create(draft(['a']));
      await s.notifications.markSent(n.id, Date.now());
      await fanout(s, n.id);
      await expectCoreError(s.notifications.readOne('b', n.id), 'not_exist');
      await expectCoreError(s.notifications.deleteOne('b', n.id), 'not_exist');
      await expectCoreError(s.notifications.readOne('a', newNotificationId()), 'not_exist');
      const unsent = await s.notifications.create(draft(['a']));
      await expectCoreError(s.notifications.readOne('a', unsent.id), 'not_exist');
      expect(await s.notifications.inbox('a', 0, 10, false)).toMatchObject({ total: 1, unread: 1 });
      expect((await s.notifications.get(n.id))?.readCount).toBe(0);
    });

    it('remove: the notification leaves every inbox; returns who still showed it; not_exist after', async () => {
      const s = await fresh();
      const n = await s.notifications.create(draft(['a', 'b', 'c']));
      await s.notifications.markSent(n.id, Date.now());
      await fanout(s, n.id);
      await s.notifications.deleteOne('c', n.id);
      await s.notifications.setDelivery(n.id, 'a', 'email', 'sent', '', Date.now());
      const other = await s.notifications.create(draft(['a']));
      await s.notifications.markSent(other.id, Date.now());
      await fanout(s, other.id);
      expect((await s.notifications.remove(n.id)).users.sort()).toEqual(['a', 'b']);
      expect(await s.notifications.get(n.id)).toBeNull();
      expect((await s.notifications.inbox('a', 0, 10, false)).items.map((i) => i.id)).toEqual([other.id]);
      expect(await s.notifications.inbox('b', 0, 10, false)).toEqual({ total: 0, unread: 0, items: [] });
      await expectCoreError(s.notifications.remove(n.id), 'not_exist');
      await expectCoreError(s.notifications.deliveries(n.id, 0, 10), 'not_exist');
      // A draft is removed the same way.
      const d = await s.notifications.create(draft(['a']));
      expect(await s.notifications.remove(d.id)).toEqual({ users: [] });
      // A fan-out batch of a removed notification is refused.
      expect(await s.notifications.commitBatch(n.id, { from: '', to: 'a', done: true, inbox: ['a'], jobs: [], statuses: [] })).toBeNull();
    });

    it('a seeded random walk keeps readCount and unread equal to the rows', async () => {
      const users = ['a', 'b', 'c', 'd'];
      const s = await fresh(users);
      let seed = 7;
      const rnd = (k: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % k;
      };
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const n = await s.notifications.create(draft(users.filter(() => rnd(3) > 0).concat('a')));
        ids.push(n.id);
        await s.notifications.markSent(n.id, Date.now());
        await fanout(s, n.id, 3);
      }
      for (let step = 0; step < 60; step++) {
        const u = users[rnd(users.length)]!;
        const id = ids[rnd(ids.length)]!;
        const op = rnd(5);
        try {
          if (op === 0) await s.notifications.readOne(u, id);
          else if (op === 1) await s.notifications.deleteOne(u, id);
          else if (op === 2 && rnd(4) === 0) await s.notifications.readAll(u);
          else if (op === 3 && rnd(8) === 0) await s.notifications.deleteAll(u);
          else if (op === 4 && rnd(10) === 0) await s.notifications.addToInbox(id, [u]);
        } catch (e) {
          expect((e as { kind?: string }).kind).toBe('not_exist');
        }
        for (const x of ids) await audit(s, x);
        for (const x of users) {
          const all = await s.notifications.inbox(x, 0, 100, false);
          expect(all.unread).toBe(all.items.filter((i) => !i.hasRead).length);
          expect(all.total).toBe(all.items.length);
          expect(await s.notifications.unreadCount(x)).toBe(all.unread);
        }
      }
    });
  });
}
