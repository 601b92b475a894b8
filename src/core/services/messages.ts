import { CoreError, isCoreError } from '../errors.js';
import type { HubEvent } from '../events.js';
import type { Conversation, Payload, StoredMessage } from '../model.js';
import { ConvType, MessageKind, PersistFlag } from '../model.js';
import { publishAll, type Bus } from '../ports/bus.js';
import { NO_EFFECTS, type EffectsPlanner, type Origin } from '../ports/effects.js';
import type { EffectSpec } from '../ports/outbox.js';
import type { AppendResult, Audience, ConversationPage, ConversationState, MessageDraft, MessageScope, MutationResult, Store, SyncEvent } from '../ports/store.js';
import type { ChatroomService } from './chatrooms.js';
import type { ConversationPeers } from './conversation-peers.js';
import type { SendRulesCache } from './send-rules-cache.js';
import type { SensitiveWordService } from './sensitive-words.js';
import type { PrivateSendPolicy } from '../relations.js';

export interface SendInput {
  sender: string;
  conv: Conversation;
  payload: Payload;
  toUsers?: string[];
  clientId?: string;
  platform?: number;
  clientMsgId?: string;
  /** Group notifications and other server-made messages skip membership and mute checks (and hooks). */
  system?: boolean;
  /** Who sent it (admin API or device): callbacks report it. Default: the admin API. */
  origin?: Origin;
  /** A channel conversation's message: its external metadata, recorded with it (MessageDraft.channel). */
  channel?: MessageDraft['channel'];
  /** A contact's message: its session's activity, applied in the message's write (MessageDraft.session). */
  session?: MessageDraft['session'];
}

const ADMIN: Origin = { kind: 'admin', ip: '' };
const WAKE: HubEvent = { type: 'outbox.wake' };

/**
 * How far ahead of this node's clock a reported read or delivery time may be; later ones are taken
 * as now + this. Message timestamps are given by the servers, so a device reporting the newest one
 * it saw is ahead only by the clock difference between nodes (well under a second with NTP); a
 * device reporting its own clock is simply taken to have read everything so far. Without the bound
 * a mark set far in the future would stick (marks never move back) and hide every later report.
 */
export const MAX_CLOCK_SKEW_MS = 5_000;

/** What MessageService needs besides the store and the bus. */
export interface MessageServiceDeps {
  /** Send-path facts (membership, block, mute), kept current by the bus's invalidations. */
  rules: SendRulesCache;
  /** Single chats each user takes part in (for read reports). */
  peers: ConversationPeers;
  now?: () => number;
  effects?: EffectsPlanner;
  /** Chatroom rules for device sends (membership, blacklist, mute); without it such sends answer 254. */
  chatrooms?: Pick<ChatroomService, 'checkSend'>;
  /**
   * Check admin sends like device sends (config admin.strictSend). Default false: admin sends are
   * trusted as in Wildfire — no check of the sender (blocked, muted, not a member, never created);
   * the conversation's target must still exist.
   */
  strictAdminSend?: boolean;
  /** The sensitive-word filter of device messages; none: not filtered. */
  sensitive?: Pick<SensitiveWordService, 'screen'>;
  /** Blacklist and stranger rules of device single chats, checked by the store in the write; none: not checked. */
  privateSend?: PrivateSendPolicy;
}

/**
 * Message use cases shared by every surface (admin API, devices). Each one commits through the store
 * and only then publishes to the bus, so nothing is announced that could still roll back.
 *
 * Publication invariant: every use case publishes all the sync events of one committed store call
 * synchronously, right after that call resolves, in seq order, with no `await` before or between
 * them (see `emit`); anything else (the outbox wake-up, effects) comes after them. Several store
 * calls of one group commit resolve in the same tick, and their continuations run interleaved at
 * every `await`: an await before or between publishes would let a later call's event (a higher
 * cursor for the same user) be published first, and a device drops a cursor at or below the last
 * one it saw — it would lose the earlier event for good while its cursor has already passed it.
 *
 * Send rules are decided before the write from the cache (`SendRulesCache`): a send the rules refuse
 * costs no store call. The store checks the same rules again inside the write, which stays the final
 * word for a send racing a change.
 */
export class MessageService {
  private readonly rules: SendRulesCache;
  private readonly peers: ConversationPeers;
  private readonly now: () => number;
  private readonly effects: EffectsPlanner;
  private readonly chatrooms: Pick<ChatroomService, 'checkSend'> | undefined;
  private readonly strictAdminSend: boolean;
  private readonly sensitive: Pick<SensitiveWordService, 'screen'> | undefined;
  private readonly privateSend: PrivateSendPolicy | undefined;

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    deps: MessageServiceDeps,
  ) {
    this.rules = deps.rules;
    this.peers = deps.peers;
    this.now = deps.now ?? Date.now;
    this.effects = deps.effects ?? NO_EFFECTS;
    this.chatrooms = deps.chatrooms;
    this.strictAdminSend = deps.strictAdminSend ?? false;
    this.sensitive = deps.sensitive;
    this.privateSend = deps.privateSend;
  }

  /** Publish the events of one committed store call (publishAll: every publish before any await). */
  private emit(events: Array<HubEvent | null>): Promise<void> {
    return publishAll(this.bus, events);
  }

  /**
   * Refused by the cached rules: throw, without a store call. A device resend (clientMsgId) goes on
   * to the store, which answers a message accepted before the change with its first result.
   */
  private async precheck(check: Promise<void>, clientMsgId: string | undefined): Promise<void> {
    try {
      await check;
    } catch (err) {
      if (clientMsgId === undefined || !isCoreError(err)) throw err;
    }
  }

  /**
   * Send to a conversation. Before the write, a before-send hook may allow, replace the content,
   * reject (nothing stored) or drop it (the sender is told it was sent; nothing stored or delivered).
   * The hooks' after-send jobs are committed with the message.
   */
  async send(input: SendInput): Promise<AppendResult> {
    // toUsers restricts receivers of group and channel conversations; a single chat has one receiver.
    const toUsers = input.conv.type === ConvType.single ? [] : (input.toUsers ?? []);
    const origin = input.origin ?? ADMIN;
    let payload = input.payload;
    let effects: EffectSpec[] = [];
    let discard = false;
    let identity: Promise<{ uid: number; timestamp: number }> | undefined;
    // Admin sends are trusted unless admin.strictSend: the sender is not checked, only the target.
    const trusted = !input.system && origin.kind === 'admin' && !this.strictAdminSend;
    // A device's single chat: the receiver's blacklist (and friendship, when strangers may not chat), in the write.
    const relations = !input.system && origin.kind === 'device' && input.conv.type === ConvType.single ? this.privateSend : undefined;
    if (!input.system) {
      await this.precheck(trusted ? this.rules.checkTarget(input.conv) : this.rules.checkSend(input.sender, input.conv), input.clientMsgId);
      if (input.conv.type === ConvType.chatroom && origin.kind === 'device') await this.chatroomCheck(input.sender, origin.clientId, input.conv.target);
      // Device messages go through the sensitive-word filter (Wildfire's order: after the permission checks).
      if (origin.kind === 'device' && this.sensitive) {
        const screened = await this.sensitive.screen(payload);
        if (screened === 'drop') discard = true;
        else payload = screened;
      }
      const facts = {
        sender: input.sender,
        conv: input.conv,
        payload,
        toUsers,
        origin,
        clientMsgId: input.clientMsgId,
        identity: () => (identity ??= this.store.messages.reserveUid()),
      };
      // A message the filter dropped is not shown to the hooks (it is neither sent nor refused).
      const decision = discard ? { action: 'drop' as const } : await this.effects.beforeSend(facts);
      if (decision.action === 'reject') throw new CoreError('rejected', decision.msg, decision.code);
      if (decision.action === 'replace') payload = decision.payload;
      if (decision.action === 'drop') discard = true;
      else effects = await this.effects.afterSend({ ...facts, payload });
    }
    const r = await this.store.messages.appendMessage({
      sender: input.sender,
      conv: input.conv,
      payload,
      kind: MessageKind.conversation,
      toUsers,
      ...(input.clientId !== undefined ? { clientId: input.clientId } : {}),
      ...(input.platform !== undefined ? { platform: input.platform } : {}),
      ...(input.clientMsgId !== undefined ? { clientMsgId: input.clientMsgId } : {}),
      ...(input.system ? { system: true } : {}),
      ...(trusted ? { trusted: true } : {}),
      ...(input.channel ? { channel: input.channel } : {}),
      ...(input.session ? { session: input.session } : {}),
      ...(discard ? { discard: true } : {}),
      ...(effects.length > 0 ? { effects } : {}),
      ...(identity ? { identity: await identity } : {}),
      ...(relations ? { relations } : {}),
    });
    const shown = !r.duplicate && !discard && !r.dropped;
    await this.emit([shown ? this.announcement(r) : null, effects.length > 0 && shown ? WAKE : null]);
    if (shown) this.learnChat(r);
    return r;
  }

  /**
   * A device sends into a chatroom: its client must be in the room, not blacklisted, and a manager
   * when the room is muted. Not deferred to the store (membership lives with the connections), so a
   * resend with a known clientMsgId is checked too.
   */
  private chatroomCheck(sender: string, clientId: string, chatroomId: string): Promise<void> {
    if (!this.chatrooms) throw new CoreError('not_implement', 'chatrooms are not available');
    return this.chatrooms.checkSend(sender, clientId, chatroomId);
  }

  /** A stored single chat gives both parties a conversation (read reports between them are accepted). */
  private learnChat(r: AppendResult): void {
    const m = r.message;
    if (m.kind !== MessageKind.conversation || m.conv.type !== ConvType.single || r.seq === 0) return;
    if (m.payload.persistFlag !== PersistFlag.persist && m.payload.persistFlag !== PersistFlag.count) return;
    this.peers.learn(m.sender, m.conv.target, m.conv.line);
  }

  /** One message, one uid, to many users; each receives it as a single chat from the sender. */
  async multicast(sender: string, targets: string[], line: number, payload: Payload): Promise<AppendResult> {
    if (targets.length === 0) throw new CoreError('invalid_parameter', 'targets must not be empty');
    // An admin-only use case: trusted (sender unchecked) unless admin.strictSend.
    await (this.strictAdminSend ? this.rules.checkMulticast(sender, targets) : this.rules.checkTargets(targets));
    const r = await this.store.messages.appendMessage({
      sender,
      conv: { type: ConvType.single, target: sender, line },
      payload,
      kind: MessageKind.multicast,
      toUsers: targets,
      ...(this.strictAdminSend ? {} : { trusted: true }),
    });
    await this.emit([this.announcement(r)]);
    return r;
  }

  /** To every user: one stored row and one shared event, whatever the number of users. */
  async broadcast(sender: string, line: number, payload: Payload): Promise<AppendResult> {
    // An admin-only use case: trusted (sender unchecked) unless admin.strictSend.
    if (this.strictAdminSend) await this.rules.checkBroadcast(sender);
    const r = await this.store.messages.appendMessage({
      sender,
      conv: { type: ConvType.single, target: sender, line },
      payload,
      kind: MessageKind.broadcast,
      toUsers: [],
      ...(this.strictAdminSend ? {} : { trusted: true }),
    });
    await this.emit([this.announcement(r)]);
    return r;
  }

  /** The event announcing a stored (or transparent) message. */
  private announcement(r: AppendResult): HubEvent | null {
    // Chatroom messages reach the devices in the room now, without a cursor (stored or transparent).
    if (r.audience.kind === 'chatroom') return { type: 'chatroom.message', chatroomId: r.audience.chatroomId, message: r.message, ...(r.audience.only ? { only: r.audience.only } : {}) };
    if (r.message.payload.persistFlag === PersistFlag.transparent) return { type: 'transparent', audience: r.audience, message: r.message };
    return this.sync(r.audience, { seq: r.seq, type: 'message', uid: r.message.uid, message: r.message });
  }

  /** A sync event, or null when there is nothing to announce (no cursor, nobody listed). */
  private sync(audience: Audience, event: SyncEvent): HubEvent | null {
    if (event.seq === 0) return null;
    // Changes of a chatroom message (recall, update, delete) are not announced: nobody keeps one.
    if (audience.kind === 'chatroom') return null;
    if (audience.kind === 'users' && audience.users.length === 0) return null;
    return { type: 'sync', audience, event };
  }

  private mutation(type: 'recall' | 'update' | 'delete', r: MutationResult): HubEvent | null {
    return this.sync(r.audience, {
      seq: r.seq,
      type,
      uid: r.message.uid,
      messageSeq: r.messageSeq,
      ...(type === 'delete' ? {} : { message: r.message }),
    });
  }

  /** The uid of the message a callback MsgKey ("MsgSeq_MsgRandom_MsgTime") names. */
  async uidOfKey(key: string): Promise<number> {
    const uid = await this.store.messages.uidOfKey(key);
    if (uid === null) throw new CoreError('not_exist', `no message with key ${key}`);
    return uid;
  }

  async get(uid: number): Promise<StoredMessage> {
    const m = await this.store.messages.getMessage(uid, this.now());
    if (!m) throw new CoreError('not_exist', `message ${uid} does not exist`);
    return m;
  }

  /**
   * Recall in place: the message keeps its uid and becomes a type-80 notification. Returns the original
   * as a JSON string (Wildfire's s/ts/t/sc/c/e keys). Recalling a recalled message changes nothing.
   */
  async recall(uid: number, operator: string, scope: MessageScope = {}, origin: Origin = ADMIN): Promise<{ original: string; result: MutationResult }> {
    // Jobs announcing a recall describe the original, read before the recall commits with them.
    const before = scope.receivers ? null : await this.store.messages.getMessage(uid, this.now());
    const effects = before && before.status === 0 ? await this.effects.afterRecall(before, operator, origin) : [];
    const r = await this.store.messages.recallMessage(uid, operator, scope, effects.length > 0 ? effects : undefined);
    await this.emit(r.unchanged ? [] : [this.mutation('recall', r), effects.length > 0 ? WAKE : null]);
    return { original: r.message.payload.extra, result: r };
  }

  async update(uid: number, payload: Payload, distribute: boolean, updateTimestamp?: number): Promise<MutationResult> {
    const at = updateTimestamp && updateTimestamp > 0 ? updateTimestamp : this.now();
    const r = await this.store.messages.updateMessage(uid, payload, distribute, at);
    await this.emit([distribute ? this.mutation('update', r) : null]);
    return r;
  }

  async delete(uid: number, scope: MessageScope = {}): Promise<MutationResult> {
    const r = await this.store.messages.deleteMessage(uid, scope);
    await this.emit([r.unchanged ? null : this.mutation('delete', r)]);
    return r;
  }

  /**
   * Hide a time range of a conversation for one user only (default: all of it up to now). The range
   * ends at most now: a clear hides what was sent, never messages still to come (live delivery could
   * not honour a future end, and replay must give what live gave).
   */
  async clearByUser(userId: string, conv: Conversation, start?: number, end?: number): Promise<void> {
    const s = start ?? 0;
    const now = this.now();
    const e = end && end > 0 ? Math.min(end, now) : now;
    if (s > e) throw new CoreError('invalid_parameter', 'startTime must not be after endTime');
    const { seq } = await this.store.conversations.clearUserMessages(userId, conv, s, e);
    await this.emit([this.sync({ kind: 'users', users: [userId] }, { seq, type: 'clear', uid: 0, conv, start: s, end: e })]);
  }

  /** Remove a conversation from one user's list (and its messages from that user's view). */
  async deleteConversation(userId: string, conv: Conversation): Promise<void> {
    const now = this.now();
    const { seq } = await this.store.conversations.deleteConversation(userId, conv, now);
    await this.emit([this.sync({ kind: 'users', users: [userId] }, { seq, type: 'conv_delete', uid: 0, conv, start: 0, end: now })]);
    this.peers.forget(userId, conv);
  }

  /**
   * A device reports it read `conv` up to `timestamp` (at most now + MAX_CLOCK_SKEW_MS): the read mark
   * rises (never falls), unread is recounted, the user's other devices learn of it and the other party
   * (or the other members of a small group) get a read receipt. The reader must take part in the
   * conversation (not_exist otherwise, and nothing is recorded for anyone): a single chat with a user
   * it exchanged a message with, a group it is a member of, a channel it owns or subscribes to.
   */
  async read(userId: string, conv: Conversation, timestamp: number, origin: Origin = ADMIN): Promise<number> {
    const at = this.reported(timestamp);
    await this.mustTakePart(userId, conv);
    const effects = await this.effects.afterRead(userId, conv, at, origin);
    const r = await this.store.conversations.markRead(userId, conv, at, effects.length > 0 ? effects : undefined);
    if (r.seq === 0) return r.timestamp;
    const base = { seq: r.seq, type: 'read' as const, uid: 0, start: 0, end: r.timestamp, reader: userId };
    // Receivers who see the conversation alike (a group's members) share one event.
    const receipts = new Map<string, { conv: Conversation; users: string[] }>();
    for (const rc of r.receipts) {
      const k = `${rc.conv.type}\u0000${rc.conv.line}\u0000${rc.conv.target}`;
      const to = receipts.get(k);
      if (to) to.users.push(rc.userId);
      else receipts.set(k, { conv: rc.conv, users: [rc.userId] });
    }
    await this.emit([
      this.sync({ kind: 'users', users: [userId] }, { ...base, conv }),
      ...[...receipts.values()].map((to) => this.sync({ kind: 'users', users: to.users }, { ...base, conv: to.conv })),
      effects.length > 0 ? WAKE : null,
    ]);
    return r.timestamp;
  }

  /** The reader takes part in `conv`, or not_exist. */
  private async mustTakePart(userId: string, conv: Conversation): Promise<void> {
    let member = false;
    switch (conv.type) {
      case ConvType.single:
        member = conv.target === userId || (await this.peers.has(userId, conv));
        break;
      case ConvType.group:
        member = await this.rules.inGroup(conv.target, userId);
        break;
      case ConvType.channel:
        member = await this.rules.inChannel(conv.target, userId);
        break;
    }
    if (!member) throw new CoreError('not_exist', 'no such conversation for this user');
  }

  /** A device acknowledges delivery of messages up to `timestamp` (at most now + MAX_CLOCK_SKEW_MS). */
  async delivered(userId: string, timestamp: number): Promise<number> {
    return this.store.conversations.markDelivered(userId, this.reported(timestamp));
  }

  /** A reported time (ms): a non-negative integer, taken as at most now + MAX_CLOCK_SKEW_MS. */
  private reported(timestamp: number): number {
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new CoreError('invalid_parameter', 'timestamp must be a non-negative integer (ms)');
    return Math.min(timestamp, this.now() + MAX_CLOCK_SKEW_MS);
  }

  async readTimestamp(userId: string, conv: Conversation): Promise<number> {
    await this.mustUser(userId);
    return this.store.conversations.getReadTimestamp(userId, conv);
  }

  /** The user's conversation list as the user sees it (unread, last message, read mark): every entry, or a page (ConversationPage). */
  async conversations(userId: string, page?: ConversationPage): Promise<ConversationState[]> {
    await this.mustUser(userId);
    return this.store.conversations.listConversations(userId, page);
  }

  async deliveryTimestamp(userId: string): Promise<number> {
    await this.mustUser(userId);
    return this.store.conversations.getDeliveryTimestamp(userId);
  }

  private async mustUser(userId: string): Promise<void> {
    if (!(await this.store.users.getUser({ userId }))) throw new CoreError('not_exist', `user ${userId} does not exist`);
  }
}
