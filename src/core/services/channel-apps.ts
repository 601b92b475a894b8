import type { BoundedCache } from '../bounded-cache.js';
import { cachedIn, channelCaches, ContactIds, type ChannelCaches } from '../channel-apps/caches.js';
import { toPayload } from '../channel-apps/mapping.js';
import { contactChanges, identityChanges, isHttpUrl, pickAccount002, record000, record002, sameSet, stableGuid } from '../channel-apps/records.js';
import { ParentMissingError, type ContactIdentity, type Inbound000, type Inbound002, type InboundResult } from '../channel-apps/inbound.js';
import {
  accountUserId,
  CHANNEL_PROTOCOLS,
  configId,
  conversationIdOf,
  type ChannelAccount,
  type ChannelApp,
  type ChannelConfigKind,
  type ChannelConfigRecords,
  type ChannelContact,
  type ChannelConversation,
  type ChannelMessage,
  timeOrderedGuid,
} from '../channel-apps/model.js';
import { CoreError, isCoreError } from '../errors.js';
import { MAX_CONTACT_PAGE, MAX_EXTRA_LENGTH } from '../limits.js';
import type { HubEvent } from '../events.js';
import { ConvType, type Conversation } from '../model.js';
import type { Bus } from '../ports/bus.js';
import { NO_CHANNEL_HOOKS, type ChannelHooks } from '../ports/channel-hooks.js';
import type { ContactInfoSource } from '../ports/contact-info.js';
import type { Store } from '../ports/store.js';
import type { GroupService } from './groups.js';
import type { MessageService } from './messages.js';
import type { UserService } from './users.js';

export interface ChannelAppServiceOptions {
  /**
   * Seed 002 event keys that ask for a human agent: a message whose MsgType is `event.CLICK.<key>`, or
   * any `event.*` whose Content is `<key>`, calls hooks.onHumanRequested. Default `['RG']`.
   */
  humanKeys?: readonly string[];
  /** Where a contact's info URL is read (POST contact/{id}); without it a refresh only announces. */
  contactInfo?: ContactInfoSource;
  now?: () => number;
}


/**
 * The channel gateway's use cases (docs/channel-gateway.md): management of its records, contacts, and
 * inbound messages of seeds 000 and 002 turned into IM messages of one group per conversation.
 *
 * Every inbound step is idempotent, so a retry after a failure anywhere completes the work without
 * duplicating it: the contact's and account's users are upserts, the group is created unless it
 * exists, the conversation is insert-or-get, the IM message is sent with a clientMsgId derived from
 * (channelAccountId, originalMessageId) (the store answers a resend with the first message) and its
 * metadata is recorded by uid. Configuration records are cached per node and dropped on the bus's
 * `channel-apps.invalidate`.
 */
export class ChannelAppService {
  private hooks: ChannelHooks = NO_CHANNEL_HOOKS;
  private readonly humanKeys: ReadonlySet<string>;
  private readonly contactInfo: ContactInfoSource | undefined;
  private readonly now: () => number;
  /** Per-node caches (../channel-apps/caches.ts); all dropped on `channel-apps.invalidate` but for a contact's, which drops that contact. */
  private caches: ChannelCaches;
  /** Contact ids by (channel account, the contact's account on the channel), remembered. */
  private readonly contactIds = new ContactIds();

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly deps: { messages: MessageService; groups: GroupService; users: UserService },
    opts: ChannelAppServiceOptions = {},
  ) {
    this.humanKeys = new Set(opts.humanKeys ?? ['RG']);
    this.contactInfo = opts.contactInfo;
    this.now = opts.now ?? Date.now;
    this.caches = channelCaches(this.now);
  }

  /** Customer-service sessions (part B) register here; the default does nothing. */
  useHooks(hooks: ChannelHooks): void {
    this.hooks = hooks;
  }

  /** Bus events: drop cached records (every node). */
  handle(e: HubEvent): void {
    if (e.type !== 'channel-apps.invalidate') return;
    // One contact: its entry; anything else (configuration items, PUT caches): everything.
    if (e.item === 'contact' && e.id !== undefined) this.caches.contacts.delete(e.id);
    else this.caches = channelCaches(this.now);
  }

  private invalidate(item: ChannelConfigKind | 'contact', id?: string): Promise<void> {
    return this.bus.publish({ type: 'channel-apps.invalidate', item, ...(id !== undefined ? { id } : {}) });
  }

  /** Seed 000 `PUT caches`: drop the item's cached records on every node. */
  dropCache(item: ChannelConfigKind): Promise<void> {
    return this.invalidate(item);
  }

  // ------------------------------------------------------------------ configuration records

  /** A record, from the cache. */
  record<K extends ChannelConfigKind>(kind: K, id: string): Promise<ChannelConfigRecords[K] | null> {
    const cache = this.caches.config[kind] as BoundedCache<ChannelConfigRecords[K] | null>;
    return cachedIn(cache, id, () => this.store.channelApps.getConfig(kind, id));
  }

  async get<K extends ChannelConfigKind>(kind: K, id: string): Promise<ChannelConfigRecords[K]> {
    const r = await this.store.channelApps.getConfig(kind, id);
    if (!r) throw new CoreError('not_exist', `${kind} ${id} does not exist`);
    return r;
  }

  list<K extends ChannelConfigKind>(kind: K, parent?: string): Promise<Array<ChannelConfigRecords[K]>> {
    return this.store.channelApps.listConfig(kind, parent);
  }

  /**
   * Create a record, or replace one with the same id (scripts may run twice). Its references must
   * exist: a version's, channel's or account's app (when given), a version-channel's version, an
   * account's agents (IM users).
   */
  async create<K extends ChannelConfigKind>(kind: K, input: Omit<ChannelConfigRecords[K], 'createDt' | 'updateDt'>): Promise<ChannelConfigRecords[K]> {
    const now = this.now();
    const rec = { ...input, createDt: now, updateDt: now } as ChannelConfigRecords[K];
    await this.checkReferences(kind, rec);
    const stored = await this.store.channelApps.putConfig(kind, configId(kind, rec), rec);
    await this.changed(kind, stored);
    return stored;
  }

  /** Overwrite the given fields of an existing record (not_exist otherwise). */
  async update<K extends ChannelConfigKind>(kind: K, id: string, patch: Partial<ChannelConfigRecords[K]>): Promise<ChannelConfigRecords[K]> {
    const current = await this.get(kind, id);
    await this.checkReferences(kind, { ...current, ...patch });
    const stored = await this.store.channelApps.patchConfig(kind, id, { ...patch, updateDt: this.now() });
    await this.changed(kind, stored);
    return stored;
  }

  /** Delete a record (248 while an app has channels, versions or accounts, or a version has version-channels); false when absent. */
  async remove(kind: ChannelConfigKind, id: string): Promise<boolean> {
    const gone = await this.store.channelApps.deleteConfig(kind, id);
    await this.invalidate(kind, id);
    return gone;
  }

  private async checkReferences<K extends ChannelConfigKind>(kind: K, rec: ChannelConfigRecords[K]): Promise<void> {
    const r = rec as Partial<ChannelAccount & ChannelConfigRecords['versionChannel'] & ChannelApp & ChannelConfigRecords['version']>;
    if (JSON.stringify(r.attributes ?? {}).length > MAX_EXTRA_LENGTH) throw new CoreError('invalid_parameter', `attributes must be at most ${MAX_EXTRA_LENGTH} characters of JSON`);
    if (kind === 'app') {
      if (!(CHANNEL_PROTOCOLS as readonly string[]).includes(r.protocol ?? '')) throw new CoreError('invalid_parameter', 'protocol must be "000" or "002"');
      if (!isHttpUrl(r.baseUrl ?? '')) throw new CoreError('invalid_parameter', 'baseUrl must be an http or https URL');
    }
    if (kind === 'version' && r.messageWebhookUrl && !isHttpUrl(r.messageWebhookUrl)) {
      throw new CoreError('invalid_parameter', 'messageWebhookUrl must be an http or https URL');
    }
    if (kind === 'version' || kind === 'channelAccount' || (kind === 'channel' && r.appId)) {
      if (!(await this.store.channelApps.getConfig('app', r.appId ?? ''))) throw new CoreError('not_exist', `app ${r.appId ?? ''} does not exist`);
    }
    if (kind === 'versionChannel' && !(await this.store.channelApps.getConfig('version', r.versionId ?? ''))) {
      throw new CoreError('not_exist', `version ${r.versionId ?? ''} does not exist`);
    }
    if (kind === 'channelAccount') {
      for (const a of r.agents ?? []) {
        if (!(await this.store.users.getUser({ userId: a }))) throw new CoreError('not_exist', `agent ${a} is not a user`);
      }
    }
  }

  private async changed<K extends ChannelConfigKind>(kind: K, rec: ChannelConfigRecords[K]): Promise<void> {
    if (kind === 'channelAccount') await this.ensureAccountUser(rec as ChannelAccount, true);
    await this.invalidate(kind, configId(kind, rec));
  }

  // ------------------------------------------------------------------ IM users and groups

  /** The account's system user (owner of its conversations), created or renamed. */
  private async ensureAccountUser(account: ChannelAccount, force = false): Promise<string> {
    const userId = accountUserId(account.channelAccountId);
    const key = `user:${userId}:${account.accountName}`;
    if (force || !this.caches.other.get(key)) {
      await this.deps.users.create(userId, { name: userId, displayName: account.accountName || account.channelAccountId, type: 1 });
      this.caches.other.set(key, true);
    }
    return userId;
  }

  /** The agents of an account that are users now (a destroyed agent is skipped, not fatal). */
  private async liveAgents(account: ChannelAccount): Promise<string[]> {
    const out: string[] = [];
    for (const a of account.agents) if (await this.store.users.getUser({ userId: a })) out.push(a);
    return out;
  }

  // ------------------------------------------------------------------ contacts

  /**
   * Create or update a contact of an account (its IM user too): non-empty fields overwrite, given
   * attributes merge. The contact's id is derived from (channelAccountId, account).
   */
  async saveContact(channelAccountId: string, identity: ContactIdentity): Promise<ChannelContact> {
    await this.account(channelAccountId);
    return this.upsertContact(channelAccountId, identity, true);
  }

  /** The cached contact when this identity changes nothing in it (the common case): no await, no record built. */
  private knownContact(channelAccountId: string, id: ContactIdentity): ChannelContact | undefined {
    const old = this.caches.contacts.get(this.contactIds.of(channelAccountId, id.account))?.value;
    return old && !identityChanges(old, id) ? old : undefined;
  }

  private async upsertContact(channelAccountId: string, id: ContactIdentity, force: boolean): Promise<ChannelContact> {
    const contactId = this.contactIds.of(channelAccountId, id.account);
    const old = await cachedIn(this.caches.contacts, contactId, () => this.store.channelApps.getContact(contactId));
    // The common case, a known contact writing again with nothing new: no record is built.
    if (old && !force && !identityChanges(old, id)) return old;
    const now = this.now();
    const next: ChannelContact = {
      contactId,
      channelAccountId,
      account: id.account,
      name: id.name ?? '',
      avatarUrl: id.avatarUrl ?? '',
      originalContactInfoUrl: id.originalContactInfoUrl ?? '',
      originalContactPageUrl: id.originalContactPageUrl ?? '',
      screenName: id.screenName ?? '',
      attributes: id.attributes ?? {},
      createDt: now,
      updateDt: now,
    };
    if (old && !force && !contactChanges(old, next)) return old;
    const stored = await this.store.channelApps.upsertContact(next);
    await this.syncContactUser(stored);
    if (old) await this.invalidate('contact', contactId);
    else this.caches.contacts.set(contactId, stored);
    return stored;
  }

  private async syncContactUser(c: ChannelContact): Promise<void> {
    await this.deps.users.create(c.contactId, {
      name: c.contactId,
      displayName: c.name || c.screenName || c.account,
      portrait: c.avatarUrl,
      extra: JSON.stringify({ channelAccountId: c.channelAccountId, account: c.account }),
    });
  }

  async contact(contactId: string): Promise<ChannelContact> {
    const c = await this.store.channelApps.getContact(contactId);
    if (!c) throw new CoreError('not_exist', `contact ${contactId} does not exist`);
    return c;
  }

  async contactByAccount(channelAccountId: string, account: string): Promise<ChannelContact> {
    const c = await this.store.channelApps.findContact(channelAccountId, account);
    if (!c) throw new CoreError('not_exist', `contact ${account} of ${channelAccountId} does not exist`);
    return c;
  }

  /** Overwrite the given fields (empty strings included) of a contact and its IM user. */
  async updateContact(
    contactId: string,
    fields: Partial<Pick<ChannelContact, 'name' | 'avatarUrl' | 'originalContactInfoUrl' | 'originalContactPageUrl' | 'screenName' | 'attributes'>>,
  ): Promise<ChannelContact> {
    const c = await this.store.channelApps.replaceContact(contactId, { ...fields, updateDt: this.now() });
    await this.syncContactUser(c);
    await this.invalidate('contact', contactId);
    return c;
  }

  listContacts(channelAccountId: string, after: string, limit: number): Promise<ChannelContact[]> {
    return this.store.channelApps.listContacts(channelAccountId, after, Math.max(1, Math.min(limit, MAX_CONTACT_PAGE)));
  }

  /** Forget a contact (its IM user and messages stay); false when unknown. */
  async deleteContact(contactId: string): Promise<boolean> {
    const gone = await this.store.channelApps.deleteContact(contactId);
    await this.invalidate('contact', contactId);
    return gone;
  }

  /**
   * Seed 000 `POST contact/{id}`: the contact changed. With an info URL, read it (bounded: see the
   * ContactInfoSource) and apply its non-empty fields; then tell every node (and its agents' next
   * look-up of the user). An unreadable URL is an error (unavailable → timeout/server_error).
   */
  async refreshContact(contactId: string): Promise<ChannelContact> {
    const c = await this.contact(contactId);
    let out = c;
    if (c.originalContactInfoUrl !== '' && this.contactInfo) {
      const info = await this.contactInfo.fetch(c.originalContactInfoUrl);
      const patch: Partial<ChannelContact> = {};
      for (const k of ['name', 'avatarUrl', 'originalContactPageUrl', 'screenName'] as const) {
        const v = info[k];
        if (v !== undefined && v !== '') patch[k] = v;
      }
      if (info.attributes) patch.attributes = { ...c.attributes, ...info.attributes };
      out = await this.store.channelApps.replaceContact(contactId, { ...patch, updateDt: this.now() });
      await this.syncContactUser(out);
    }
    await this.invalidate('contact', contactId);
    return out;
  }

  // ------------------------------------------------------------------ conversations

  private async account(channelAccountId: string): Promise<ChannelAccount> {
    const a = await this.record('channelAccount', channelAccountId);
    if (!a) throw new CoreError('not_exist', `channel account ${channelAccountId} does not exist`);
    return a;
  }

  /** The IM conversation of a channel conversation. */
  static imConversation(conversationId: string): Conversation {
    return { type: ConvType.group, target: conversationId, line: 0 };
  }

  conversation(conversationId: string): Promise<ChannelConversation | null> {
    return this.store.channelApps.getConversation(conversationId);
  }

  /**
   * The conversation a message goes to: by originalConversationId when given (opened on first use),
   * else the contact's latest one (a new one the first time); its group's agents brought in step with
   * the account's.
   */
  private static conversationKey(account: ChannelAccount, contact: ChannelContact, originalConversationId: string): string {
    // The contact's id (`cu_…`) stands for its latest conversation: no key is built on that path.
    return originalConversationId !== '' ? `orig:${account.channelAccountId}:${originalConversationId}` : contact.contactId;
  }

  /** conversationFor's answer when it is cached with the account's agents (the common case): no await. */
  private knownConversation(account: ChannelAccount, contact: ChannelContact, originalConversationId: string): ChannelConversation | undefined {
    const found = this.caches.conversations.get(ChannelAppService.conversationKey(account, contact, originalConversationId))?.value;
    return found && sameSet(found.agents, account.agents) ? found : undefined;
  }

  private async conversationFor(account: ChannelAccount, contact: ChannelContact, originalConversationId: string): Promise<ChannelConversation> {
    // Cached: a thread's conversation never changes; the contact's latest is refreshed by every
    // message this node delivers (another node's may go unseen here for up to the cache's age: an
    // un-threaded message then joins the contact's previous conversation).
    const key = ChannelAppService.conversationKey(account, contact, originalConversationId);
    const found = await cachedIn(this.caches.conversations, key, () =>
      originalConversationId !== ''
        ? this.store.channelApps.conversationByOriginal(account.channelAccountId, originalConversationId)
        : this.store.channelApps.latestConversation(contact.contactId),
    );
    if (found) {
      if (!sameSet(found.agents, account.agents)) return this.remember(key, await this.syncAgents(account, found));
      return found;
    }
    const owner = await this.ensureAccountUser(account);
    const agents = await this.liveAgents(account);
    const conversationId = conversationIdOf(account.channelAccountId, contact.contactId, originalConversationId);
    try {
      await this.deps.groups.create(
        owner,
        conversationId,
        { name: contact.name || contact.account, owner, portrait: contact.avatarUrl, extra: JSON.stringify({ channelAccountId: account.channelAccountId }) },
        [contact.contactId, ...agents].map((memberId) => ({ memberId })),
        { lines: [] },
      );
    } catch (err) {
      // A concurrent first message opened it (or a retry after a failure): the group is there.
      if (!(isCoreError(err) && err.kind === 'group_already_exist')) throw err;
    }
    const now = this.now();
    const opened = await this.store.channelApps.openConversation({
      conversationId,
      channelAccountId: account.channelAccountId,
      contactId: contact.contactId,
      originalConversationId,
      agents: account.agents,
      createDt: now,
      updateDt: now,
    });
    return this.remember(key, opened);
  }

  private remember(key: string, conv: ChannelConversation): ChannelConversation {
    this.caches.conversations.set(key, conv);
    return conv;
  }

  /** Add the account's new agents to the group and remove departed ones; record the set. */
  private async syncAgents(account: ChannelAccount, conv: ChannelConversation): Promise<ChannelConversation> {
    const owner = await this.ensureAccountUser(account);
    const want = new Set(await this.liveAgents(account));
    const had = new Set(conv.agents);
    const add = [...want].filter((a) => !had.has(a));
    const drop = conv.agents.filter((a) => !want.has(a) && a !== owner && a !== conv.contactId);
    if (add.length > 0) await this.deps.groups.addMembers(owner, conv.conversationId, add.map((memberId) => ({ memberId })), { lines: [] });
    if (drop.length > 0) await this.deps.groups.removeMembers(owner, conv.conversationId, drop, { lines: [] });
    await this.store.channelApps.touchConversation(conv.conversationId, conv.updateDt, account.agents);
    return { ...conv, agents: account.agents };
  }

  // ------------------------------------------------------------------ inbound

  /**
   * Seed 000 `POST conversations/messages`. Idempotent on (channelAccountId, originalMessageId): a
   * retry answers the first guid and stores nothing twice. A message naming an originalParentId not
   * stored yet throws ParentMissingError (nothing stored).
   */
  async receive000(m: Inbound000): Promise<InboundResult> {
    const account = await this.account(m.channelAccountId);
    if (!account.enabled) throw new CoreError('no_right', `channel account ${m.channelAccountId} is disabled`);
    if (m.originalMessageId !== '') {
      const seen = await this.store.channelApps.messageByOriginal(account.channelAccountId, m.originalMessageId);
      if (seen) return this.answer(seen, true);
    }
    if (m.originalParentId !== '' && !(await this.store.channelApps.messageByOriginal(account.channelAccountId, m.originalParentId))) {
      throw new ParentMissingError(m.originalParentId);
    }
    const contact = await this.upsertContact(account.channelAccountId, m.contact, false);
    const conv = await this.conversationFor(account, contact, m.originalConversationId);
    const guid =
      m.originalMessageId !== '' ? stableGuid('000', account.channelAccountId, m.originalMessageId) : timeOrderedGuid(this.now());
    return this.store000(account, contact, conv, m, guid);
  }

  private async store000(account: ChannelAccount, contact: ChannelContact, conv: ChannelConversation, m: Inbound000, guid: string): Promise<InboundResult> {
    const record = record000(m, { guid, conversationId: conv.conversationId, channelAccountId: account.channelAccountId, contactId: contact.contactId, now: this.now() });
    const sender = m.isReceive ? contact.contactId : await this.ensureAccountUser(account);
    return this.deliver(conv, sender, record);
  }

  /**
   * Send the IM message (idempotent by clientMsgId), record its metadata, tell the hooks. `record` is
   * built by the caller for this call alone (uid 0 until the store answers; it is set then): every
   * record is an object literal, not a spread copy, on this per-message path. `isLatest`: `conv` is the
   * one cached as the contact's latest already (nothing to refresh).
   */
  private async deliver(conv: ChannelConversation, sender: string, record: ChannelMessage, isLatest = false): Promise<InboundResult> {
    // The metadata is recorded with the message, in its transaction: one write per inbound message.
    // A contact's message moves its session's deadline in the message's own write.
    const session = record.direction === 'in' ? this.hooks.inboundActivity?.(conv) : undefined;
    const sent = await this.deps.messages.send({
      sender,
      conv: ChannelAppService.imConversation(conv.conversationId),
      payload: toPayload(record),
      channel: record,
      session,
      // The store answers a resend (same sender and clientMsgId) with the first message.
      clientMsgId: record.originalMessageId !== '' ? `ch:${record.guid}` : undefined,
    });
    let stored = record;
    if (sent.duplicate) {
      stored = (await this.store.channelApps.messageByUid(sent.message.uid)) ?? (await this.store.channelApps.recordMessage({ ...record, uid: sent.message.uid }));
    } else {
      record.uid = sent.message.uid;
    }
    if (!isLatest && this.caches.conversations.peek(conv.contactId) !== conv) this.caches.conversations.set(conv.contactId, conv);
    if (stored.direction === 'in') await this.hooks.onInbound(conv, stored, sent.session);
    return this.answer(stored, sent.duplicate);
  }

  private answer(m: ChannelMessage, duplicate: boolean): InboundResult {
    return { guid: m.guid, uid: m.uid, conversationId: m.conversationId, contactId: m.contactId, duplicate };
  }

  /** Seed 002's app, from the cache (null when unknown): the surface checks signatures with its secret. */
  app(appId: string): Promise<ChannelApp | null> {
    return this.record('app', appId);
  }

  /** app() when its answer is cached (no promise, no await): the app, null when known absent, undefined on a miss. */
  cachedApp(appId: string): ChannelApp | null | undefined {
    return this.caches.config.app.get(appId)?.value as ChannelApp | null | undefined;
  }

  /** The account a 002 message goes to: `accname` (an account id, else an account name of the app), else the app's default (its oldest account). */
  private async account002(app: ChannelApp, accname: string): Promise<ChannelAccount> {
    const accounts = await cachedIn(this.caches.accounts, app.appId, () => this.store.channelApps.listConfig('channelAccount', app.appId));
    return pickAccount002(app, accounts, accname);
  }

  /**
   * Seed 002 staffService/message, leavemessage and staffService/demand. Not idempotent (seed 002 has
   * no message id): a repeated post is a repeated message. A human request (configured event key, or
   * a demand) calls hooks.onHumanRequested after the message is stored.
   */
  async receive002(m: Inbound002, checked?: ChannelApp): Promise<InboundResult> {
    // `checked`: the app the surface read to check the signature (the same cached record), not read twice.
    const app = checked?.appId === m.appId ? checked : await this.app(m.appId);
    if (!app) throw new CoreError('not_exist', `app ${m.appId} does not exist`);
    // The common case, all of it cached, costs no await: the app's accounts, a known contact with
    // nothing new, its latest conversation with the account's agents.
    const accounts = this.caches.accounts.get(app.appId)?.value;
    const account = accounts ? pickAccount002(app, accounts, m.accname) : await this.account002(app, m.accname);
    const identity = { account: m.fromUserId, name: m.fromUserName };
    const contact = this.knownContact(account.channelAccountId, identity) ?? (await this.upsertContact(account.channelAccountId, identity, false));
    const known = this.knownConversation(account, contact, '');
    const conv = known ?? (await this.conversationFor(account, contact, ''));
    const now = this.now();
    const guid = timeOrderedGuid(now);
    const r = await this.deliver(
      conv,
      contact.contactId,
      record002(m, { guid, conversationId: conv.conversationId, channelAccountId: account.channelAccountId, contactId: contact.contactId, now }, account.channelId),
      known !== undefined,
    );
    if (m.route === 'demand' || this.asksForHuman(m.msgType, m.content)) {
      const stored = await this.store.channelApps.messageByUid(r.uid);
      if (stored) await this.hooks.onHumanRequested(conv, stored);
    }
    return r;
  }

  private asksForHuman(msgType: string, content: string): boolean {
    if (!msgType.startsWith('event.')) return false;
    for (const k of this.humanKeys) if (msgType === `event.CLICK.${k}` || msgType === k || content === k) return true;
    return false;
  }
}
