/**
 * The ServiceSessionStore contract (src/core/ports/service-sessions.ts), run against every backend. Only the Store interface is used here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { NewServiceSession } from '../../src/core/ports/service-sessions.js';
import type { ChannelMessage } from '../../src/core/channel-apps/model.js';
import type { MessageDraft, Store } from '../../src/core/ports/store.js';
import { ConvType, MessageKind, PersistFlag } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import { expectCoreError } from './store.contract.js';
import type { StoreFactory } from './store.contract.js';

const T = 1_000_000;
const IDLE = 1_000;

const fresh = (id: string, over: Partial<NewServiceSession> = {}): NewServiceSession => ({
  serviceId: id,
  channelAccountId: 'acc',
  contact: `c-${id}`,
  agent: '',
  now: T,
  idleAt: T + IDLE,
  ...over,
});

export function serviceSessionsContract(name: string, factory: StoreFactory): void {
  describe(`ServiceSessionStore contract: ${name}`, () => {
    let cleanup: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });
    async function store(): Promise<Store> {
      const f = await factory({ inlineFanoutMax: 10 });
      cleanup = f.cleanup;
      return f.store;
    }

    it('open: queued without an agent, assigned with one; at most one session not closed per (account, contact), even racing', async () => {
      const s = await store();
      const a = await s.serviceSessions.open(fresh('s1'));
      expect(a).toMatchObject({ opened: true, session: { serviceId: 's1', state: 'queued', agent: '', openedAt: T, lastActivityAt: T, idleAt: T + IDLE } });
      const again = await s.serviceSessions.open(fresh('s2', { contact: 'c-s1' }));
      expect(again).toMatchObject({ opened: false, session: { serviceId: 's1' } });
      const race = await Promise.all([1, 2, 3, 4, 5].map((i) => s.serviceSessions.open(fresh(`r${i}`, { contact: 'racer', agent: 'ag' }))));
      expect(race.filter((r) => r.opened)).toHaveLength(1);
      expect(new Set(race.map((r) => r.session.serviceId)).size).toBe(1);
      expect(race[0]!.session).toMatchObject({ state: 'assigned', agent: 'ag' });
      // Another account is another session.
      expect((await s.serviceSessions.open(fresh('s3', { contact: 'c-s1', channelAccountId: 'acc2' }))).opened).toBe(true);
      expect(await s.serviceSessions.current('acc', 'c-s1')).toMatchObject({ serviceId: 's1' });
      expect(await s.serviceSessions.current('acc', 'nobody')).toBeNull();
      expect(await s.serviceSessions.get('s2')).toBeNull();
      // Once closed, the next open makes a new one.
      expect(await s.serviceSessions.close('s1', 'admin', T + 5)).toMatchObject({ state: 'closed', closedAt: T + 5, closeReason: 'admin', idleAt: 0 });
      expect(await s.serviceSessions.current('acc', 'c-s1')).toBeNull();
      expect((await s.serviceSessions.open(fresh('s4', { contact: 'c-s1' }))).opened).toBe(true);
    });

    it('assign: compare-and-set on the current agent; never a closed session', async () => {
      const s = await store();
      await s.serviceSessions.open(fresh('s1'));
      expect(await s.serviceSessions.assign('s1', 'a1', T + 10, T + 10 + IDLE, 'x')).toBeNull();
      expect(await s.serviceSessions.assign('s1', 'a1', T + 10, T + 10 + IDLE, '')).toMatchObject({ state: 'assigned', agent: 'a1', lastActivityAt: T + 10, idleAt: T + 10 + IDLE });
      // Two transfers from a1 racing: one wins.
      const [x, y] = await Promise.all([s.serviceSessions.assign('s1', 'a2', T + 20, T + 20 + IDLE, 'a1'), s.serviceSessions.assign('s1', 'a3', T + 20, T + 20 + IDLE, 'a1')]);
      expect([x, y].filter((r) => r !== null)).toHaveLength(1);
      // Unconditional assignment (admin).
      expect(await s.serviceSessions.assign('s1', 'a4', T + 30, T + 30 + IDLE)).toMatchObject({ agent: 'a4' });
      await s.serviceSessions.close('s1', 'agent', T + 40);
      expect(await s.serviceSessions.assign('s1', 'a5', T + 50, T + 50 + IDLE)).toBeNull();
      expect(await s.serviceSessions.assign('nope', 'a5', T + 50, T + 50 + IDLE)).toBeNull();
      expect(await s.serviceSessions.close('s1', 'admin', T + 60)).toBeNull();
    });

    it('touch moves activity forward only; an idle close applies only while the deadline is due', async () => {
      const s = await store();
      await s.serviceSessions.open(fresh('s1', { agent: 'a' }));
      expect(await s.serviceSessions.touch('s1', T + 500, T + 500 + IDLE)).toBe(true);
      expect(await s.serviceSessions.touch('s1', T + 100, T + 100 + IDLE)).toBe(true);
      expect(await s.serviceSessions.get('s1')).toMatchObject({ lastActivityAt: T + 500, idleAt: T + 500 + IDLE });
      expect(await s.serviceSessions.dueIdle(T + IDLE, 10)).toEqual([]);
      expect((await s.serviceSessions.dueIdle(T + 500 + IDLE, 10)).map((x) => x.serviceId)).toEqual(['s1']);
      // The sweeper read the deadline; activity moved it before the close: the session stays open.
      await s.serviceSessions.touch('s1', T + 900, T + 900 + IDLE);
      expect(await s.serviceSessions.close('s1', 'idle', T + 500 + IDLE, T + 500 + IDLE)).toBeNull();
      expect(await s.serviceSessions.close('s1', 'idle', T + 900 + IDLE, T + 900 + IDLE)).toMatchObject({ state: 'closed', closeReason: 'idle' });
      expect(await s.serviceSessions.touch('s1', T + 2000, T + 2000 + IDLE)).toBe(false);
      expect(await s.serviceSessions.dueIdle(T + 10 * IDLE, 10)).toEqual([]);
    });

    it('queued oldest first per accounts; loads count assigned sessions; list pages newest first with filters', async () => {
      const s = await store();
      await s.serviceSessions.open(fresh('q1'));
      await s.serviceSessions.open(fresh('q2', { channelAccountId: 'other' }));
      await s.serviceSessions.open(fresh('q3'));
      await s.serviceSessions.open(fresh('x1', { agent: 'a1' }));
      await s.serviceSessions.open(fresh('x2', { agent: 'a1' }));
      await s.serviceSessions.open(fresh('x3', { agent: 'a2' }));
      expect((await s.serviceSessions.queued(['acc', 'other'], 10)).map((x) => x.serviceId)).toEqual(['q1', 'q2', 'q3']);
      expect((await s.serviceSessions.queued(['acc'], 1)).map((x) => x.serviceId)).toEqual(['q1']);
      expect(await s.serviceSessions.queued([], 10)).toEqual([]);
      expect(await s.serviceSessions.loads(['a1', 'a2', 'a3'])).toEqual({ a1: 2, a2: 1, a3: 0 });
      await s.serviceSessions.close('x1', 'admin', T + 1);
      expect(await s.serviceSessions.loads(['a1'])).toEqual({ a1: 1 });
      const all = await s.serviceSessions.list({ offset: 0, limit: 2 });
      expect(all.total).toBe(6);
      expect(all.sessions.map((x) => x.serviceId)).toEqual(['x3', 'x2']);
      expect((await s.serviceSessions.list({ offset: 2, limit: 10 })).sessions.map((x) => x.serviceId)).toEqual(['x1', 'q3', 'q2', 'q1']);
      expect((await s.serviceSessions.list({ state: 'queued', channelAccountId: 'acc', offset: 0, limit: 10 })).sessions.map((x) => x.serviceId)).toEqual(['q3', 'q1']);
      expect((await s.serviceSessions.list({ agent: 'a1', offset: 0, limit: 10 })).total).toBe(2);
      expect((await s.serviceSessions.list({ contact: 'c-x3', offset: 0, limit: 10 })).sessions.map((x) => x.serviceId)).toEqual(['x3']);
    });


    it("appendMessage's draft.session: the contact's open session touched in the message's write past minStep, returned; null without one; nothing for a refused, resent, discarded or transparent message", async () => {
      const s = await store();
      await s.users.upsertUser('cu', { name: 'cu' });
      await s.users.upsertUser('ag', { name: 'ag' });
      const draft = (over: Partial<MessageDraft> = {}): MessageDraft => ({
        sender: 'cu',
        conv: { type: ConvType.single, target: 'ag', line: 0 },
        payload: normalizePayload({ type: 1, searchableContent: 'hi', persistFlag: PersistFlag.count }),
        kind: MessageKind.conversation,
        toUsers: [],
        ...over,
      });
      const activity = (at: number, minStep = 100) => ({ channelAccountId: 'acc', contact: 'cu', at, idleAt: at + IDLE, minStep });
      // No session open: null, nothing created.
      expect((await s.messages.appendMessage(draft({ session: activity(T) }))).session).toBeNull();
      expect(await s.serviceSessions.current('acc', 'cu')).toBeNull();
      // Without draft.session: no `session` in the result.
      expect((await s.messages.appendMessage(draft())).session).toBeUndefined();
      await s.serviceSessions.open(fresh('s1', { contact: 'cu', agent: 'ag' }));
      // The deadline moves by 100 (not more than minStep): not touched, returned as it is.
      const same = await s.messages.appendMessage(draft({ session: activity(T + 100) }));
      expect(same.session).toMatchObject({ serviceId: 's1', lastActivityAt: T, idleAt: T + IDLE });
      expect(await s.serviceSessions.get('s1')).toMatchObject({ lastActivityAt: T, idleAt: T + IDLE });
      // By more: touched in the same write, and returned touched.
      const moved = await s.messages.appendMessage(draft({ clientMsgId: 'k1', session: activity(T + 500) }));
      expect(moved.session).toMatchObject({ serviceId: 's1', state: 'assigned', agent: 'ag', lastActivityAt: T + 500, idleAt: T + 500 + IDLE });
      expect(await s.serviceSessions.get('s1')).toMatchObject({ lastActivityAt: T + 500, idleAt: T + 500 + IDLE });
      // A resend (known clientMsgId), a discarded, a transparent and a refused message touch nothing.
      const later = activity(T + 5000);
      const resent = await s.messages.appendMessage(draft({ clientMsgId: 'k1', session: later }));
      expect(resent.duplicate).toBe(true);
      expect(resent.session).toBeUndefined();
      expect((await s.messages.appendMessage(draft({ discard: true, session: later }))).session).toBeUndefined();
      expect((await s.messages.appendMessage(draft({ payload: normalizePayload({ type: 1, persistFlag: PersistFlag.transparent }), session: later }))).session).toBeUndefined();
      await expectCoreError(s.messages.appendMessage(draft({ conv: { type: ConvType.single, target: 'ghost', line: 0 }, session: later })), 'not_exist');
      expect(await s.serviceSessions.get('s1')).toMatchObject({ lastActivityAt: T + 500, idleAt: T + 500 + IDLE });
      // A closed session is not the contact's open one.
      await s.serviceSessions.close('s1', 'admin', T + 600);
      expect((await s.messages.appendMessage(draft({ session: later }))).session).toBeNull();
      expect(await s.serviceSessions.get('s1')).toMatchObject({ state: 'closed', idleAt: 0 });
      // Every change made through the session store is what the next message's write sees (a store may
      // remember the open session between messages: SQLite's writer does).
      await s.serviceSessions.open(fresh('s2', { contact: 'cu', now: T + 5000, idleAt: T + 5000 + IDLE }));
      expect((await s.messages.appendMessage(draft({ session: later }))).session).toMatchObject({ serviceId: 's2', state: 'queued', agent: '' });
      await s.serviceSessions.assign('s2', 'ag', T + 5100, T + 5100 + IDLE);
      expect((await s.messages.appendMessage(draft({ session: activity(T + 5100) }))).session).toMatchObject({ serviceId: 's2', state: 'assigned', agent: 'ag', idleAt: T + 5100 + IDLE });
      await s.serviceSessions.touch('s2', T + 5400, T + 5400 + IDLE);
      expect((await s.messages.appendMessage(draft({ session: activity(T + 5400) }))).session).toMatchObject({ serviceId: 's2', lastActivityAt: T + 5400, idleAt: T + 5400 + IDLE });
      await s.serviceSessions.close('s2', 'idle', T + 9000, T + 9000);
      expect((await s.messages.appendMessage(draft({ session: activity(T + 9000) }))).session).toBeNull();
    });

    it('ChannelAppStore.updateDelivery with onlyFrom: a compare-and-set on the stored status', async () => {
      const s = await store();
      const m: ChannelMessage = {
        uid: 77,
        guid: 'g-77',
        conversationId: 'cc',
        channelAccountId: 'acc',
        contactId: 'cu',
        direction: 'out',
        isReceive: false,
        channelId: 'wechat',
        originalMessageId: '',
        originalParentId: '',
        originalConversationId: '',
        originalUrl: '',
        subject: '',
        cc: '',
        contents: [{ id: 'g-77-0', type: 'picture', url: 'https://ours/x.png' }],
        createTime: 0,
        raw: {},
        delivery: 'pending',
        deliveryError: '',
        originalMessageUrl: '',
        createdAt: T,
        updatedAt: T,
      };
      await s.channelApps.recordMessage(m);
      const done = await s.channelApps.updateDelivery('g-77', { delivery: 'delivered', originalMessageId: 'o-1', urls: [{ id: 'g-77-0', url: 'https://app/x.png' }], onlyFrom: ['pending', 'sent'] }, T + 1);
      expect(done).toMatchObject({ delivery: 'delivered', originalMessageId: 'o-1', contents: [{ id: 'g-77-0', url: 'https://app/x.png' }] });
      // The outbox's later 'sent' must not take it back.
      expect(await s.channelApps.updateDelivery('g-77', { delivery: 'sent', onlyFrom: ['pending'] }, T + 2)).toMatchObject({ delivery: 'delivered', updatedAt: T + 1 });
      expect(await s.channelApps.messageByUid(77)).toMatchObject({ delivery: 'delivered' });
    });
  });
}
