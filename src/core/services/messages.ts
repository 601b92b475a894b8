import { CoreError } from '../errors.js';
import type { Conversation, Payload, StoredMessage } from '../model.js';
import { ConvType, MessageKind, PersistFlag } from '../model.js';
import type { Bus } from '../ports/bus.js';
import { NO_EFFECTS, type EffectsPlanner, type Origin } from '../ports/effects.js';
import type { EffectSpec } from '../ports/outbox.js';
import type { AppendResult, Audience, MessageScope, MutationResult, Store, SyncEvent } from '../ports/store.js';

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
}

const ADMIN: Origin = { kind: 'admin', ip: '' };

/**
 * Message use cases shared by every surface (admin API, devices). Each one commits through the store
 * and only then publishes to the bus, so nothing is announced that could still roll back.
 */
export class MessageService {
  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly now: () => number = Date.now,
    private readonly effects: EffectsPlanner = NO_EFFECTS,
  ) {}

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
    if (!input.system) {
      const facts = {
        sender: input.sender,
        conv: input.conv,
        payload,
        toUsers,
        origin,
        clientMsgId: input.clientMsgId,
        identity: () => (identity ??= this.store.messages.reserveUid()),
      };
      const decision = await this.effects.beforeSend(facts);
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
      ...(discard ? { discard: true } : {}),
      ...(effects.length > 0 ? { effects } : {}),
      ...(identity ? { identity: await identity } : {}),
    });
    if (!r.duplicate && !discard) await this.announce(r);
    if (effects.length > 0 && !r.duplicate) await this.bus.publish({ type: 'outbox.wake' });
    return r;
  }

  /** One message, one uid, to many users; each receives it as a single chat from the sender. */
  async multicast(sender: string, targets: string[], line: number, payload: Payload): Promise<AppendResult> {
    if (targets.length === 0) throw new CoreError('invalid_parameter', 'targets must not be empty');
    const r = await this.store.messages.appendMessage({
      sender,
      conv: { type: ConvType.single, target: sender, line },
      payload,
      kind: MessageKind.multicast,
      toUsers: targets,
    });
    await this.announce(r);
    return r;
  }

  /** To every user: one stored row and one shared event, whatever the number of users. */
  async broadcast(sender: string, line: number, payload: Payload): Promise<AppendResult> {
    const r = await this.store.messages.appendMessage({
      sender,
      conv: { type: ConvType.single, target: sender, line },
      payload,
      kind: MessageKind.broadcast,
      toUsers: [],
    });
    await this.announce(r);
    return r;
  }

  private async announce(r: AppendResult): Promise<void> {
    if (r.message.payload.persistFlag === PersistFlag.transparent) {
      await this.bus.publish({ type: 'transparent', audience: r.audience, message: r.message });
      return;
    }
    await this.publish(r.audience, { seq: r.seq, type: 'message', uid: r.message.uid, message: r.message });
  }

  private async publish(audience: Audience, event: SyncEvent): Promise<void> {
    if (event.seq === 0) return;
    if (audience.kind === 'users' && audience.users.length === 0) return;
    await this.bus.publish({ type: 'sync', audience, event });
  }

  private async announceMutation(type: 'recall' | 'update' | 'delete', r: MutationResult): Promise<void> {
    await this.publish(r.audience, {
      seq: r.seq,
      type,
      uid: r.message.uid,
      messageSeq: r.messageSeq,
      ...(type === 'delete' ? {} : { message: r.message }),
    });
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
    if (!r.unchanged) await this.announceMutation('recall', r);
    if (effects.length > 0 && !r.unchanged) await this.bus.publish({ type: 'outbox.wake' });
    return { original: r.message.payload.extra, result: r };
  }

  async update(uid: number, payload: Payload, distribute: boolean, updateTimestamp?: number): Promise<MutationResult> {
    const at = updateTimestamp && updateTimestamp > 0 ? updateTimestamp : this.now();
    const r = await this.store.messages.updateMessage(uid, payload, distribute, at);
    if (distribute) await this.announceMutation('update', r);
    return r;
  }

  async delete(uid: number, scope: MessageScope = {}): Promise<MutationResult> {
    const r = await this.store.messages.deleteMessage(uid, scope);
    if (!r.unchanged) await this.announceMutation('delete', r);
    return r;
  }

  /** Hide a time range of a conversation for one user only (default: all of it up to now). */
  async clearByUser(userId: string, conv: Conversation, start?: number, end?: number): Promise<void> {
    const s = start ?? 0;
    const e = end && end > 0 ? end : this.now();
    if (s > e) throw new CoreError('invalid_parameter', 'startTime must not be after endTime');
    const { seq } = await this.store.conversations.clearUserMessages(userId, conv, s, e);
    await this.publish({ kind: 'users', users: [userId] }, { seq, type: 'clear', uid: 0, conv, start: s, end: e });
  }

  /** Remove a conversation from one user's list (and its messages from that user's view). */
  async deleteConversation(userId: string, conv: Conversation): Promise<void> {
    const now = this.now();
    const { seq } = await this.store.conversations.deleteConversation(userId, conv, now);
    await this.publish({ kind: 'users', users: [userId] }, { seq, type: 'conv_delete', uid: 0, conv, start: 0, end: now });
  }

  /**
   * A device reports it read `conv` up to `timestamp`: the read mark rises (never falls), unread is
   * recounted, the user's other devices learn of it and the other party (or the other members of a
   * small group) get a read receipt.
   */
  async read(userId: string, conv: Conversation, timestamp: number, origin: Origin = ADMIN): Promise<number> {
    const effects = await this.effects.afterRead(userId, conv, timestamp, origin);
    const r = await this.store.conversations.markRead(userId, conv, timestamp, effects.length > 0 ? effects : undefined);
    if (r.seq === 0) return r.timestamp;
    if (effects.length > 0) await this.bus.publish({ type: 'outbox.wake' });
    const base = { seq: r.seq, type: 'read' as const, uid: 0, start: 0, end: r.timestamp, reader: userId };
    await this.publish({ kind: 'users', users: [userId] }, { ...base, conv });
    for (const rc of r.receipts) await this.publish({ kind: 'users', users: [rc.userId] }, { ...base, conv: rc.conv });
    return r.timestamp;
  }

  /** A device acknowledges delivery of messages up to `timestamp`. */
  delivered(userId: string, timestamp: number): Promise<number> {
    return this.store.conversations.markDelivered(userId, timestamp);
  }

  async readTimestamp(userId: string, conv: Conversation): Promise<number> {
    await this.mustUser(userId);
    return this.store.conversations.getReadTimestamp(userId, conv);
  }

  async deliveryTimestamp(userId: string): Promise<number> {
    await this.mustUser(userId);
    return this.store.conversations.getDeliveryTimestamp(userId);
  }

  private async mustUser(userId: string): Promise<void> {
    if (!(await this.store.users.getUser({ userId }))) throw new CoreError('not_exist', `user ${userId} does not exist`);
  }
}
