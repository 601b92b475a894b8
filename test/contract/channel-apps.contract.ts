/**
 * The store's channel-gateway part (src/core/ports/channel-apps.ts: ChannelAppStore), run against
 * every backend through the Store interface only.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import type { AgentNotice } from '../../src/core/events.js';
import { ChannelDeliveryService, type OutboundMeta } from '../../src/core/services/channel-deliveries.js';
import { OutboxSettler } from '../../src/outbox/settler.js';
import type { ChannelAccount, ChannelApp, ChannelContact, ChannelConversation, ChannelMessage, DeliveryStatus, DeliveryUpdate } from '../../src/core/channel-apps/model.js';
import { ConvType, MessageKind, PersistFlag } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import type { MessageDraft, Store } from '../../src/core/ports/store.js';
import type { StoreBackend } from '../helpers/backends.js';
import { expectCoreError } from './store.contract.js';

const app = (appId: string, over: Partial<ChannelApp> = {}): ChannelApp => ({
  appId,
  secret: 's',
  protocol: '002',
  baseUrl: 'http://app.example/qmt',
  outboundToken: '',
  versionId: '',
  defaultAccountId: '',
  status: 0,
  attributes: {},
  createDt: 1000,
  updateDt: 1000,
  ...over,
});
const account = (id: string, appId: string, over: Partial<ChannelAccount> = {}): ChannelAccount => ({
  channelAccountId: id,
  channelId: 'wechat',
  appId,
  accountName: id,
  accountOriginalId: '',
  enabled: true,
  agents: ['a1'],
  attributes: {},
  createDt: 1000,
  updateDt: 1000,
  ...over,
});
const contact = (id: string, over: Partial<ChannelContact> = {}): ChannelContact => ({
  contactId: id,
  channelAccountId: 'acc',
  account: `ext-${id}`,
  name: 'Name',
  avatarUrl: '',
  originalContactInfoUrl: '',
  originalContactPageUrl: '',
  screenName: '',
  attributes: {},
  createDt: 1000,
  updateDt: 1000,
  ...over,
});
const conversation = (id: string, over: Partial<ChannelConversation> = {}): ChannelConversation => ({
  conversationId: id,
  channelAccountId: 'acc',
  contactId: 'c1',
  originalConversationId: '',
  agents: ['a1'],
  createDt: 1000,
  updateDt: 1000,
  ...over,
});
const message = (uid: number, over: Partial<ChannelMessage> = {}): ChannelMessage => ({
  uid,
  guid: `g-${uid}`,
  conversationId: 'cc1',
  channelAccountId: 'acc',
  contactId: 'c1',
  direction: 'in',
  isReceive: true,
  channelId: 'email',
  originalMessageId: `om-${uid}`,
  originalParentId: '',
  originalConversationId: '',
  originalUrl: '',
  subject: '',
  cc: '',
  contents: [{ id: 'k1', type: 'file', name: 'a.pdf', url: 'http://x/a.pdf' }],
  createTime: 0,
  raw: {},
  delivery: 'none',
  deliveryError: '',
  originalMessageUrl: '',
  createdAt: 1000,
  updatedAt: 1000,
  ...over,
});

/** An agent's message u1 → u2 (the message an outbound reply's job is committed with). */
const replyDraft = (over: Partial<MessageDraft> = {}): MessageDraft => ({
  sender: 'u1',
  conv: { type: ConvType.single, target: 'u2', line: 0 },
  payload: normalizePayload({ type: 1, searchableContent: 'hi', persistFlag: PersistFlag.count }),
  kind: MessageKind.conversation,
  toUsers: [],
  ...over,
});

/** A reply's outbox job to app1 with its pending channel record (ChannelMessageRecord). */
const replyJob = (uid: number, orderKey: string) => ({
  channel: 'channel-app',
  target: 'app1',
  orderKey,
  kind: 'ChannelApp.Message002',
  body: { n: uid },
  meta: {},
  ref: `msg:${uid}`,
  records: [{ kind: 'channel.message' as const, message: message(uid, { direction: 'out', isReceive: false, originalMessageId: '', delivery: 'pending', createdAt: 7000 }) }],
});

export function channelAppsContract(name: string, open: StoreBackend['open']): void {
  describe(`ChannelAppStore contract: ${name}`, () => {
    let cleanup: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });
    async function fresh(): Promise<Store> {
      const f = await open({ inlineFanoutMax: 10 });
      cleanup = f.cleanup;
      return f.store;
    }

    it('configuration records: put creates and replaces (createDt kept), patch merges, get, list by parent in creation order, delete', async () => {
      const s = await fresh().then((x) => x.channelApps);
      expect(await s.getConfig('app', 'app1')).toBeNull();
      expect(await s.putConfig('app', 'app1', app('app1'))).toEqual(app('app1'));
      const replaced = await s.putConfig('app', 'app1', app('app1', { secret: 's2', createDt: 5000, updateDt: 5000 }));
      expect(replaced).toMatchObject({ secret: 's2', createDt: 1000, updateDt: 5000 });
      expect(await s.getConfig('app', 'app1')).toEqual(replaced);
      const patched = await s.patchConfig('app', 'app1', { baseUrl: 'http://other', updateDt: 6000 });
      expect(patched).toEqual({ ...replaced, baseUrl: 'http://other', updateDt: 6000 });
      await expectCoreError(s.patchConfig('app', 'ghost', { baseUrl: 'x' }), 'not_exist');
      await s.putConfig('app', 'app2', app('app2'));
      await s.putConfig('channelAccount', 'acc2', account('acc2', 'app1', { createDt: 2000 }));
      await s.putConfig('channelAccount', 'acc1', account('acc1', 'app1', { createDt: 1500 }));
      await s.putConfig('channelAccount', 'acc3', account('acc3', 'app2'));
      expect((await s.listConfig('channelAccount', 'app1')).map((a) => a.channelAccountId)).toEqual(['acc1', 'acc2']);
      expect((await s.listConfig('channelAccount')).map((a) => a.channelAccountId)).toEqual(['acc3', 'acc1', 'acc2']);
      expect((await s.listConfig('app')).map((a) => a.appId)).toEqual(['app1', 'app2']);
      // Moving an account to another app moves it between the parents' lists.
      await s.patchConfig('channelAccount', 'acc3', { appId: 'app1' });
      expect((await s.listConfig('channelAccount', 'app2')).length).toBe(0);
      expect(await s.deleteConfig('channelAccount', 'acc3')).toBe(true);
      expect(await s.deleteConfig('channelAccount', 'acc3')).toBe(false);
      expect(await s.getConfig('channelAccount', 'acc3')).toBeNull();
    });

    it('deleteConfig refuses an app that still has accounts, versions or channels, and a version with version-channels', async () => {
      const s = await fresh().then((x) => x.channelApps);
      await s.putConfig('app', 'app1', app('app1'));
      await s.putConfig('version', 'v1', { versionId: 'v1', appId: 'app1', number: '1', name: 'v', messageWebhookUrl: '', attributes: {}, createDt: 1, updateDt: 1 });
      await s.putConfig('versionChannel', 'v1/email', { versionId: 'v1', channelId: 'email', attributes: {}, createDt: 1, updateDt: 1 });
      await expectCoreError(s.deleteConfig('version', 'v1'), 'no_right');
      await expectCoreError(s.deleteConfig('app', 'app1'), 'no_right');
      expect(await s.deleteConfig('versionChannel', 'v1/email')).toBe(true);
      expect(await s.deleteConfig('version', 'v1')).toBe(true);
      await s.putConfig('channel', 'email', { channelId: 'email', name: 'E-mail', appId: 'app1', attributes: { ifDisplaySubject: true }, createDt: 1, updateDt: 1 });
      await expectCoreError(s.deleteConfig('app', 'app1'), 'no_right');
      expect(await s.getConfig('channel', 'email')).toMatchObject({ attributes: { ifDisplaySubject: true } });
      expect(await s.deleteConfig('channel', 'email')).toBe(true);
      expect(await s.deleteConfig('app', 'app1')).toBe(true);
    });

    it('contacts: upsert keeps non-empty texts and merges attributes, find by account, replace, list pages, delete; an account of another contact is refused', async () => {
      const s = await fresh().then((x) => x.channelApps);
      await s.upsertContact(contact('c1', { avatarUrl: 'http://a', attributes: { x: 1 } }));
      const u = await s.upsertContact(contact('c1', { name: 'New', avatarUrl: '', attributes: { y: 2 }, createDt: 9, updateDt: 2000 }));
      expect(u).toMatchObject({ name: 'New', avatarUrl: 'http://a', attributes: { x: 1, y: 2 }, createDt: 1000, updateDt: 2000 });
      expect(await s.findContact('acc', 'ext-c1')).toEqual(u);
      expect(await s.findContact('other', 'ext-c1')).toBeNull();
      await expectCoreError(s.upsertContact(contact('c2', { account: 'ext-c1' })), 'invalid_parameter');
      const r = await s.replaceContact('c1', { avatarUrl: '', screenName: 'sn', updateDt: 3000 });
      expect(r).toMatchObject({ name: 'New', avatarUrl: '', screenName: 'sn', account: 'ext-c1', createDt: 1000 });
      await expectCoreError(s.replaceContact('ghost', { name: 'x' }), 'not_exist');
      for (const id of ['c3', 'c2', 'c4']) await s.upsertContact(contact(id));
      await s.upsertContact(contact('z9', { channelAccountId: 'other' }));
      expect((await s.listContacts('acc', '', 2)).map((c) => c.contactId)).toEqual(['c1', 'c2']);
      expect((await s.listContacts('acc', 'c2', 10)).map((c) => c.contactId)).toEqual(['c3', 'c4']);
      expect(await s.deleteContact('c1')).toBe(true);
      expect(await s.getContact('c1')).toBeNull();
      expect(await s.deleteContact('c1')).toBe(false);
    });

    it('conversations: open is insert-or-get, found by original id and as the latest of a contact, touched with agents', async () => {
      const s = await fresh().then((x) => x.channelApps);
      const c = await s.openConversation(conversation('cc1'));
      expect(await s.openConversation(conversation('cc1', { agents: ['other'] }))).toEqual(c);
      await s.openConversation(conversation('cc2', { originalConversationId: 'thread-1', updateDt: 2000 }));
      expect((await s.conversationByOriginal('acc', 'thread-1'))?.conversationId).toBe('cc2');
      expect(await s.conversationByOriginal('acc', '')).toBeNull();
      expect(await s.conversationByOriginal('acc2', 'thread-1')).toBeNull();
      expect((await s.latestConversation('c1'))?.conversationId).toBe('cc2');
      await s.touchConversation('cc1', 3000, ['a1', 'a2']);
      expect(await s.getConversation('cc1')).toMatchObject({ updateDt: 3000, agents: ['a1', 'a2'] });
      expect((await s.latestConversation('c1'))?.conversationId).toBe('cc1');
      await expectCoreError(s.touchConversation('ghost', 1), 'not_exist');
      expect(await s.latestConversation('nobody')).toBeNull();
      // A recorded message makes its conversation the latest.
      await s.recordMessage(message(7, { conversationId: 'cc2', createdAt: 4000 }));
      expect((await s.latestConversation('c1'))?.conversationId).toBe('cc2');
    });

    it('messages: record is idempotent by uid and by (account, originalMessageId); lookups; delivery updates replace urls by content id', async () => {
      const s = await fresh().then((x) => x.channelApps);
      const m = await s.recordMessage(message(1));
      expect(await s.recordMessage(message(1, { subject: 'again' }))).toEqual(m);
      // Another uid with the same original id of the same account: the first one is answered.
      expect(await s.recordMessage(message(2, { originalMessageId: 'om-1', guid: 'g-2' }))).toEqual(m);
      expect(await s.messageByUid(2)).toBeNull();
      // Without an original id nothing is deduplicated but the uid.
      await s.recordMessage(message(3, { originalMessageId: '' }));
      await s.recordMessage(message(4, { originalMessageId: '' }));
      expect(await s.messageByGuid('g-4')).toMatchObject({ uid: 4 });
      expect(await s.messageByOriginal('acc', 'om-1')).toEqual(m);
      expect(await s.messageByOriginal('acc', '')).toBeNull();
      expect(await s.messageByOriginal('other', 'om-1')).toBeNull();
      const d = await s.updateDelivery('g-3', { delivery: 'sent', originalMessageId: 'ext-3', originalMessageUrl: 'http://o/3', urls: [{ id: 'k1', url: 'http://cdn/a.pdf' }] }, 5000);
      expect(d).toMatchObject({ delivery: 'sent', deliveryError: '', originalMessageId: 'ext-3', originalMessageUrl: 'http://o/3', updatedAt: 5000 });
      expect(d.contents[0]).toMatchObject({ id: 'k1', url: 'http://cdn/a.pdf' });
      expect(await s.messageByOriginal('acc', 'ext-3')).toEqual(d);
      expect(await s.updateDelivery('g-3', { delivery: 'failed', deliveryError: 'boom' }, 6000)).toMatchObject({ delivery: 'failed', deliveryError: 'boom', originalMessageId: 'ext-3' });
      await expectCoreError(s.updateDelivery('ghost', { delivery: 'sent' }, 1), 'not_exist');
    });

    it("appendMessage records a draft's channel metadata in the message's transaction: under its uid, once, not for a refused, discarded or transparent message", async () => {
      const store = await fresh();
      await store.users.upsertUser('u1', { name: 'u1' });
      await store.users.upsertUser('u2', { name: 'u2' });
      await store.channelApps.openConversation(conversation('cc1'));
      const draft = (over: Partial<MessageDraft> = {}): MessageDraft => ({
        sender: 'u1',
        conv: { type: ConvType.single, target: 'u2', line: 0 },
        payload: normalizePayload({ type: 1, searchableContent: 'hi', persistFlag: PersistFlag.count }),
        kind: MessageKind.conversation,
        toUsers: [],
        ...over,
      });
      const { uid: _u, ...meta } = message(0, { guid: 'ga', originalMessageId: 'oa', createdAt: 9000 });
      const r = await store.messages.appendMessage(draft({ clientMsgId: 'k1', channel: meta }));
      expect(await store.channelApps.messageByUid(r.message.uid)).toEqual({ ...meta, uid: r.message.uid });
      expect(await store.channelApps.messageByGuid('ga')).toMatchObject({ uid: r.message.uid });
      // The conversation became the latest at the message's time.
      await store.channelApps.openConversation(conversation('cc2', { updateDt: 5000 }));
      expect((await store.channelApps.latestConversation('c1'))?.conversationId).toBe('cc1');
      // A resend is the first message: nothing recorded again.
      const again = await store.messages.appendMessage(draft({ clientMsgId: 'k1', channel: { ...meta, guid: 'gb' } }));
      expect(again.duplicate).toBe(true);
      expect(await store.channelApps.messageByGuid('gb')).toBeNull();
      // Refused (unknown receiver), discarded, transparent: nothing.
      await expectCoreError(store.messages.appendMessage(draft({ conv: { type: ConvType.single, target: 'ghost', line: 0 }, channel: { ...meta, guid: 'gc', originalMessageId: 'oc' } })), 'not_exist');
      await store.messages.appendMessage(draft({ discard: true, channel: { ...meta, guid: 'gd', originalMessageId: 'od' } }));
      await store.messages.appendMessage(draft({ payload: normalizePayload({ type: 1, persistFlag: PersistFlag.transparent }), channel: { ...meta, guid: 'ge', originalMessageId: 'oe' } }));
      for (const g of ['gc', 'gd', 'ge']) expect(await store.channelApps.messageByGuid(g)).toBeNull();
    });

    it("an effect's ChannelMessageRecord commits with its job and the message (nothing for a refused message); a final outcome's ChannelDeliveryRecord applies with the outcome, only if the outcome does", async () => {
      const store = await fresh();
      await store.users.upsertUser('u1', { name: 'u1' });
      await store.users.upsertUser('u2', { name: 'u2' });
      await store.channelApps.openConversation(conversation('cc1', { updateDt: 1000 }));
      const draft = replyDraft;
      const job = (uid: number) => replyJob(uid, `app1|cc1-${uid}`);
      const r = await store.messages.appendMessage(draft({ effects: [job(501)] }));
      expect(await store.channelApps.messageByUid(501)).toMatchObject({ guid: 'g-501', direction: 'out', delivery: 'pending' });
      expect((await store.outbox.byRef('msg:501')).length).toBe(1);
      expect(r.duplicate).toBe(false);
      // The record made its conversation the contact's latest, as recordMessage does.
      await store.channelApps.openConversation(conversation('cc2', { updateDt: 5000 }));
      expect((await store.channelApps.latestConversation('c1'))?.conversationId).toBe('cc1');
      // A refused message: neither its job nor its record.
      await expectCoreError(store.messages.appendMessage(draft({ conv: { type: ConvType.single, target: 'ghost', line: 0 }, effects: [job(502)] })), 'not_exist');
      expect(await store.channelApps.messageByUid(502)).toBeNull();
      expect(await store.outbox.byRef('msg:502')).toEqual([]);

      // The job's final outcome carries the status change: applied with it.
      const [claimed] = await store.outbox.claim(Date.now(), 10, 60_000, { channels: ['channel-app'] });
      expect(claimed).toMatchObject({ ref: 'msg:501' });
      const sent = { kind: 'channel.delivery' as const, guid: 'g-501', update: { delivery: 'sent' as const, onlyFrom: ['none' as const, 'pending' as const] }, updatedAt: 8000 };
      // A lapsed lease: neither the outcome nor its record.
      expect(await store.outbox.settle([{ id: claimed!.id, lease: claimed!.nextAt + 1, ok: true, response: '200', at: 8000, then: { records: [sent] } }])).toEqual([]);
      expect(await store.channelApps.messageByUid(501)).toMatchObject({ delivery: 'pending' });
      // A record about an unknown guid writes nothing and fails nothing: the outcome stands.
      const ghost = { ...sent, guid: 'ghost' };
      expect(await store.outbox.settle([{ id: claimed!.id, lease: claimed!.nextAt, ok: true, response: '200', at: 8000, then: { records: [sent, ghost] } }])).toEqual([claimed!.id]);
      expect(await store.channelApps.messageByUid(501)).toMatchObject({ delivery: 'sent', updatedAt: 8000 });
      expect(await store.channelApps.messageByGuid('ghost')).toBeNull();
      // onlyFrom holds as in updateDelivery: a status that moved on (a send result) is not taken back.
      await store.channelApps.updateDelivery('g-501', { delivery: 'delivered' }, 9000);
      const r2 = await store.messages.appendMessage(draft({ effects: [{ ...job(503), orderKey: 'app1|other' }] }));
      expect(r2.duplicate).toBe(false);
      const [again] = await store.outbox.claim(Date.now(), 10, 60_000, { channels: ['channel-app'] });
      expect(await store.outbox.settle([{ id: again!.id, lease: again!.nextAt, ok: false, error: 'boom', response: '', nextAt: null, then: { records: [{ ...sent, update: { delivery: 'failed', deliveryError: 'boom', onlyFrom: ['none', 'pending'] } }] } }])).toEqual([again!.id]);
      expect(await store.channelApps.messageByUid(501)).toMatchObject({ delivery: 'delivered', updatedAt: 9000 });
    });

    it('a delivered reply reads as sent everywhere with its record untouched; a send result wins over it; a dead job records failed; a pruned job still reads as sent', async () => {
      const store = await fresh();
      await store.users.upsertUser('u1', { name: 'u1' });
      await store.users.upsertUser('u2', { name: 'u2' });
      await store.channelApps.putConfig('channelAccount', 'acc', account('acc', 'app1', { agents: ['a1'] }));
      await store.channelApps.openConversation(conversation('cc1', { updateDt: 1000 }));
      const bus = new MemoryBus();
      const notices: AgentNotice[] = [];
      let wake: () => void = () => undefined;
      bus.subscribe((e) => {
        if (e.type !== 'agent.notice') return;
        notices.push(e.notice);
        wake();
      });
      /** Resolves once `n` notices have been published. */
      const noticesAt = (n: number) => new Promise<void>((resolve) => {
        wake = () => {
          if (notices.length >= n) resolve();
        };
        wake();
      });
      const svc = new ChannelDeliveryService(store, bus, { get: () => Promise.reject(new Error('unused')), update: () => Promise.reject(new Error('unused')) });
      const settler = new OutboxSettler(store.outbox, pino({ level: 'silent' }));
      settler.register('channel-app', svc.onSettled);
      const meta = (uid: number): OutboundMeta => ({ idempotencyKey: `k-${uid}`, uid: String(uid), guid: `g-${uid}`, conversationId: 'cc1', channelAccountId: 'acc', contactId: 'c1', channelId: 'email', contents: '[]', recorded: '1' });
      for (const uid of [701, 702, 703]) {
        await store.messages.appendMessage(replyDraft({ effects: [{ ...replyJob(uid, `app1|k-${uid}`), meta: { ...meta(uid) } }] }));
      }
      const claimed = await store.outbox.claim(Date.now(), 10, 60_000, { channels: ['channel-app'] });
      expect(claimed.length).toBe(3);
      const job = (uid: number) => claimed.find((j) => j.ref === `msg:${uid}`)!;
      const ok = (uid: number) => ({ id: job(uid).id, lease: job(uid).nextAt, ok: true as const, response: '200', at: 8000 });

      // 701 and 702 delivered: no record write, `sent` from the job on every read, the notice from the job's meta.
      const entries = await Promise.all([701, 702].map(async (uid) => ({ job: job(uid), outcome: await settler.prepare(job(uid), ok(uid)) })));
      expect([...(await settler.settle(entries))].sort()).toEqual([job(701).id, job(702).id].sort());
      await noticesAt(2);
      expect(notices.map((n) => n.type === 'channel_delivery' && [n.messageUid, n.status, n.error, n.conv.target])).toEqual([
        [701, 'sent', '', 'cc1'],
        [702, 'sent', '', 'cc1'],
      ]);
      expect(await store.channelApps.messageByUid(701)).toMatchObject({ delivery: 'pending', updatedAt: 1000 });
      expect(await svc.message({ uid: 701 })).toMatchObject({ guid: 'g-701', delivery: 'sent', deliveryError: '' });
      expect(await svc.message({ guid: 'g-701' })).toMatchObject({ uid: 701, delivery: 'sent' });
      expect(await svc.view(701)).toMatchObject({ status: 'sent', error: '', jobs: [{ status: 'delivered' }] });

      // The app's later send results win: delivered with its ids, failed with its error.
      await svc.sendResult('g-701', { success: true, originalMessageId: 'om-1' });
      await svc.sendResult('g-702', { success: false, errorMessage: 'mailbox full' });
      await noticesAt(4);
      expect(notices.slice(2).map((n) => n.type === 'channel_delivery' && [n.messageUid, n.status, n.error])).toEqual([
        [701, 'delivered', ''],
        [702, 'failed', 'mailbox full'],
      ]);
      expect(await svc.message({ uid: 701 })).toMatchObject({ delivery: 'delivered', originalMessageId: 'om-1' });
      expect(await svc.view(701)).toMatchObject({ status: 'delivered', originalMessageId: 'om-1' });
      expect(await svc.message({ guid: 'g-702' })).toMatchObject({ delivery: 'failed', deliveryError: 'mailbox full' });
      expect(await svc.view(702)).toMatchObject({ status: 'failed', error: 'mailbox full' });

      // 703 dead-lettered: the failure is recorded with the outcome, and announced.
      const dead = { id: job(703).id, lease: job(703).nextAt, ok: false as const, error: 'HTTP 500', response: '', nextAt: null };
      expect([...(await settler.settle([{ job: job(703), outcome: await settler.prepare(job(703), dead) }]))]).toEqual([job(703).id]);
      await noticesAt(5);
      expect(notices[4]).toMatchObject({ messageUid: 703, status: 'failed', error: 'HTTP 500' });
      expect(await store.channelApps.messageByUid(703)).toMatchObject({ delivery: 'failed', deliveryError: 'HTTP 500' });
      expect(await svc.message({ uid: 703 })).toMatchObject({ delivery: 'failed', deliveryError: 'HTTP 500' });

      // Jobs pruned after retention: a pending record reads as sent, recorded statuses as they are.
      while ((await store.outbox.prune(Date.now() + 60_000, Date.now() + 60_000, 100)) > 0);
      expect(await store.outbox.byRef('msg:701')).toEqual([]);
      await store.channelApps.updateDelivery('g-701', { delivery: 'pending' }, 9000);
      expect(await svc.message({ uid: 701 })).toMatchObject({ delivery: 'sent' });
      expect(await svc.view(701)).toMatchObject({ status: 'sent', jobs: [] });
      expect(await svc.message({ uid: 702 })).toMatchObject({ delivery: 'failed', deliveryError: 'mailbox full' });
      expect(await svc.message({ uid: 703 })).toMatchObject({ delivery: 'failed', deliveryError: 'HTTP 500' });
      // Inbound messages are shown as stored.
      await store.channelApps.recordMessage(message(704));
      expect(await svc.message({ uid: 704 })).toMatchObject({ direction: 'in', delivery: 'none' });
      await bus.close();
    });

    it("one settle's ChannelDeliveryRecords of several messages: each applied as alone (status, error set and cleared, onlyFrom), whatever else the settle carries", async () => {
      const store = await fresh();
      await store.users.upsertUser('u1', { name: 'u1' });
      await store.users.upsertUser('u2', { name: 'u2' });
      await store.channelApps.openConversation(conversation('cc1', { updateDt: 1000 }));
      const uids = [601, 602, 603, 604];
      for (const uid of uids) {
        await store.messages.appendMessage(replyDraft({ effects: [replyJob(uid, `app1|k-${uid}`)] }));
      }
      // 603 was answered by the app's send result first: an outcome must not take it back. 601 carries an
      // error from an earlier attempt: a change without one clears it.
      await store.channelApps.updateDelivery('g-603', { delivery: 'delivered' }, 7500);
      await store.channelApps.updateDelivery('g-601', { delivery: 'pending', deliveryError: 'timeout' }, 7600);
      const rec = (uid: number, update: DeliveryUpdate) => ({ kind: 'channel.delivery' as const, guid: `g-${uid}`, update, updatedAt: 8000 });
      const from: DeliveryStatus[] = ['none', 'pending'];
      const claimed = await store.outbox.claim(Date.now(), 10, 60_000, { channels: ['channel-app'] });
      expect(claimed.length).toBe(4);
      const byRef = new Map(claimed.map((j) => [j.ref, j]));
      const outcome = (uid: number, records: Array<ReturnType<typeof rec>>) => {
        const j = byRef.get(`msg:${uid}`)!;
        return { id: j.id, lease: j.nextAt, ok: true as const, response: '200', at: 8000, then: { records } };
      };
      // Status changes only, one per message (and one of an unknown guid).
      const first = [
        outcome(601, [rec(601, { delivery: 'sent', onlyFrom: from })]),
        outcome(602, [rec(602, { delivery: 'failed', deliveryError: 'boom', onlyFrom: from }), { ...rec(602, { delivery: 'sent' }), guid: 'ghost' }]),
        outcome(603, [rec(603, { delivery: 'sent', onlyFrom: from })]),
      ];
      expect((await store.outbox.settle(first)).sort()).toEqual(first.map((o) => o.id).sort());
      expect(await store.channelApps.messageByUid(601)).toMatchObject({ delivery: 'sent', deliveryError: '', updatedAt: 8000 });
      expect(await store.channelApps.messageByUid(602)).toMatchObject({ delivery: 'failed', deliveryError: 'boom', updatedAt: 8000 });
      expect(await store.channelApps.messageByUid(603)).toMatchObject({ delivery: 'delivered', deliveryError: '', updatedAt: 7500 });
      expect(await store.channelApps.messageByGuid('ghost')).toBeNull();
      // Two changes of one message in a settle, the second with a re-hosted URL: applied in order.
      const second = [outcome(604, [rec(604, { delivery: 'sent', onlyFrom: from }), rec(604, { delivery: 'delivered', urls: [{ id: 'k1', url: 'https://app/a.pdf' }], onlyFrom: ['sent'] })])];
      expect(await store.outbox.settle(second)).toEqual([second[0]!.id]);
      expect(await store.channelApps.messageByUid(604)).toMatchObject({ delivery: 'delivered', updatedAt: 8000, contents: [{ id: 'k1', url: 'https://app/a.pdf' }] });
    });
  });
}
