import { CoreError } from '../../core/errors.js';
import type { Payload, StoredMessage } from '../../core/model.js';
import { ConvType, MessageKind, MessageStatus, PersistFlag, ReceiverState } from '../../core/model.js';
import type {
  AppendResult,
  Audience,
  MessageDraft,
  MessageScope,
  MessageStore,
  MutationResult,
} from '../../core/ports/store.js';
import { recallPayload } from '../../core/recall.js';
import { checkSender } from '../../core/rules.js';
import { planChange, planDelivery, sendChecksOf, takesGroupSeq, type Delivery, type DeliveryFacts, type SendChecks } from '../../core/message-plan.js';
import { privateSendDecision } from '../../core/relations.js';
import type { SqliteRelations } from './relations.js';
import type { SqliteContext } from './context.js';
import type { SqliteChannels, SqliteGroups } from './groups.js';
import { EventType, MESSAGE_COLS, type MessageRow, toMessage } from '../rows/messages.js';
import { messageRow, writeEvent } from './message-rows.js';
import type { SqliteUsers } from './users.js';
import type { MessageUnreadFacts, SqliteUnread } from './unread.js';
import { listedRecipients, recipientsColumn } from './write-behind.js';
import { insertEffects } from './outbox-rows.js';
import { recordChannelMessage } from './channel-apps.js';
import { isPacked, packChannelRecord, type SqliteDraft } from './channel-record.js';
import { sessionActivity } from './service-sessions.js';
import { parseLegacyMessageKey, parseMessageKey } from '../../core/ids.js';
import type { EffectSpec } from '../../core/ports/outbox.js';

/** The receivers holding per-user rows (and unread counters) of a message; none for a shared audience. */
function listedOnly(audience: Audience): string[] {
  return audience.kind === 'users' ? audience.users : [];
}

function unreadFacts(m: StoredMessage): MessageUnreadFacts {
  return { uid: m.uid, sender: m.sender, conv: m.conv, kind: m.kind, persistFlag: m.payload.persistFlag, status: m.status, timestamp: m.timestamp };
}

export class SqliteMessages implements MessageStore {
  constructor(
    private readonly ctx: SqliteContext,
    private readonly users: SqliteUsers,
    private readonly groups: SqliteGroups,
    private readonly channels: SqliteChannels,
    private readonly unread: SqliteUnread,
    private readonly relations: SqliteRelations,
  ) {}

  /**
   * The facts of core's delivery rules (core/message-plan.ts), read on demand inside the caller's
   * command. Taking a group's message number is the very statement that reads the group row, so a
   * group send costs no extra statement.
   */
  private readonly facts: DeliveryFacts = {
    userExists: (u) => this.users.exists(u),
    userCount: () => this.users.count(),
    group: (id, takeSeq) => {
      const g = takeSeq ? this.groups.rowTakingMsgSeq(id) : this.groups.row(id);
      return g ? { memberCount: g.member_count, mute: g.mute, msgSeq: g.msg_seq } : null;
    },
    groupMember: (id, u) => this.groups.member(id, u) ?? null,
    groupMemberIds: (id) => this.groups.memberIds(id),
    channel: (id) => {
      const c = this.channels.row(id);
      return c ? { owner: c.owner, subscriberCount: c.subscriber_count } : null;
    },
    isSubscriber: (id, u) => this.channels.isSubscriber(id, u),
    subscriberIds: (id) => this.channels.subscriberIds(id),
  };

  /** Who receives a new message (core's planDelivery, checks inside the caller's command). */
  private delivery(msg: Pick<StoredMessage, 'sender' | 'conv' | 'kind' | 'toUsers'>, checks: SendChecks, takeGroupSeq = false): Delivery {
    return planDelivery(msg, checks, this.facts, this.ctx.fanout.inlineFanoutMax, takeGroupSeq);
  }

  /** Who learns of a change of a stored message (core's planChange), by its stored recipients column. */
  private changeDelivery(msg: Pick<StoredMessage, 'sender' | 'conv' | 'kind' | 'toUsers'>, stored: string | null): Delivery {
    return planChange(msg, listedRecipients(msg, stored), this.facts, this.ctx.fanout.inlineFanoutMax);
  }

  /** `d.channel` may come packed (SqliteDraft): the threaded store packs it on the main thread. */
  appendMessage(d: MessageDraft | SqliteDraft): Promise<AppendResult> {
    return this.ctx.write(() => {
      if (d.clientMsgId) {
        const prior = this.ctx
          .stmt(`SELECT ${MESSAGE_COLS} FROM messages WHERE sender = ? AND client_msg_id = ?`)
          .get(d.sender, d.clientMsgId) as MessageRow | undefined;
        if (prior) {
          const message = toMessage(prior);
          const del = this.changeDelivery(message, prior.recipients);
          return { message, seq: prior.seq, audience: del.audience, count: del.count, duplicate: true };
        }
      }
      const checks = sendChecksOf(d);
      if (checks === 'rules') {
        const status = this.users.status(d.sender);
        checkSender(status === undefined ? null : { status }, d.sender);
      }
      const msg = {
        sender: d.sender,
        conv: d.conv,
        kind: d.kind,
        toUsers: d.toUsers,
      };
      // A group message (not a notification, not dropped) takes the group's next number, Tencent's MsgSeq.
      const del = this.delivery(msg, checks, takesGroupSeq(d));
      const groupSeq = del.groupSeq;
      // A device's single chat: the receiver's relation to the sender (blacklist, strangers).
      const dropped =
        d.relations !== undefined &&
        d.kind === MessageKind.conversation &&
        d.conv.type === ConvType.single &&
        privateSendDecision(this.relations.relation(d.conv.target, d.sender), d.sender, d.conv.target, d.payload.type, d.relations, () => ({
          sender: this.users.row(d.sender)?.type,
          receiver: this.users.row(d.conv.target)?.type,
        })) === 'drop';
      const now = d.identity?.timestamp ?? Date.now();
      const uid = d.identity?.uid ?? this.ctx.uids.next(now);
      const message: StoredMessage = {
        uid,
        sender: d.sender,
        conv: d.conv,
        payload: d.payload,
        toUsers: d.toUsers,
        kind: d.kind,
        status: MessageStatus.normal,
        timestamp: now,
        updatedAt: 0,
        clientId: d.clientId ?? '',
        platform: d.platform ?? 0,
      };
      if (d.discard) return { message, seq: 0, audience: del.audience, count: del.count, duplicate: false };
      if (dropped) return { message, seq: 0, audience: del.audience, count: del.count, duplicate: false, dropped: true };
      if (d.payload.persistFlag === PersistFlag.transparent) {
        insertEffects(this.ctx, d.effects, { message: { uid, timestamp: now, seq: 0, groupSeq }, unread: (u) => this.ctx.unreadSingle(u) });
        return { message, seq: 0, audience: del.audience, count: del.count, duplicate: false };
      }
      const seq = this.ctx.nextSeq();
      const listedUsers = del.audience.kind === 'users' ? del.audience.users : null;
      this.ctx
        .stmt(
          `INSERT INTO messages(uid, seq, sender, conv_type, conv_target, conv_line, payload, to_users, kind, timestamp, expire_at, client_id, platform, client_msg_id, recipients)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          uid,
          seq,
          d.sender,
          d.conv.type,
          d.conv.target,
          d.conv.line,
          JSON.stringify(d.payload),
          d.toUsers.length > 0 ? JSON.stringify(d.toUsers) : null,
          d.kind,
          now,
          d.payload.expireDuration > 0 ? now + d.payload.expireDuration * 1000 : 0,
          message.clientId,
          message.platform,
          d.clientMsgId ?? null,
          listedUsers ? recipientsColumn(message, listedUsers) : null,
        );
      if (d.identity) this.unread.appendedReserved(uid, seq);
      if (listedUsers) {
        // Per-user rows are derived from the message row and written behind (see write-behind.ts).
        const facts: MessageUnreadFacts = { uid, sender: d.sender, conv: d.conv, kind: d.kind, persistFlag: d.payload.persistFlag, status: MessageStatus.normal, timestamp: now };
        this.ctx.wb.addMessage({ ...facts, seq }, listedUsers, this.unread.sentUnread(facts));
      } else {
        writeEvent(this.ctx, seq, EventType.message, uid, del.audience, null, del.extraUsers);
      }
      insertEffects(this.ctx, d.effects, { message: { uid, timestamp: now, seq, groupSeq }, unread: (u) => this.ctx.unreadSingle(u) });
      if (d.channel) recordChannelMessage(this.ctx, isPacked(d.channel) ? d.channel : packChannelRecord(d.channel), uid, d.identity === undefined);
      const session = d.session ? { session: sessionActivity(this.ctx, d.session) } : {};
      return { message, seq, audience: del.audience, count: del.count, duplicate: false, ...session };
    });
  }

  getMessage(uid: number, now: number): Promise<StoredMessage | null> {
    return this.ctx.read(() => {
      const r = messageRow(this.ctx, uid);
      if (!r || r.status === MessageStatus.deleted || (r.expire_at > 0 && r.expire_at <= now)) return null;
      return toMessage(r);
    });
  }

  private liveRow(uid: number, scope: MessageScope): MessageRow {
    const r = messageRow(this.ctx, uid);
    if (!r || r.status === MessageStatus.deleted || (r.expire_at > 0 && r.expire_at <= Date.now())) {
      throw new CoreError('not_exist', `message ${uid} does not exist`);
    }
    if (scope.kind !== undefined && r.kind !== scope.kind) {
      throw new CoreError('not_exist', `message ${uid} is not a ${scope.kind === MessageKind.broadcast ? 'broadcast' : 'multicast'}`);
    }
    return r;
  }

  /** Apply a per-receiver state (ReceiverState) to the receivers of `msg` among `receivers`. */
  private perReceiver(
    msg: StoredMessage,
    messageSeq: number,
    stored: string | null,
    receivers: string[],
    state: number,
    type: number,
    payload: Payload | null,
  ): MutationResult {
    const del = this.changeDelivery(msg, stored);
    const recipients = del.audience.kind === 'users' ? new Set(del.audience.users) : null;
    const affected: string[] = [];
    for (const r of receivers) {
      if (recipients && !recipients.has(r)) continue;
      if (!recipients && !this.users.exists(r)) continue;
      const cur = this.ctx.stmt('SELECT state FROM user_message_state WHERE user_id = ? AND uid = ?').get(r, msg.uid) as
        | { state: number }
        | undefined;
      if (cur && cur.state >= state) continue;
      // Counters exist only for listed receivers; read before the new state is written.
      if (recipients) this.unread.receiverChanged(unreadFacts(msg), r, state);
      this.ctx
        .stmt('INSERT OR REPLACE INTO user_message_state(user_id, uid, state, payload) VALUES (?, ?, ?, ?)')
        .run(r, msg.uid, state, payload ? JSON.stringify(payload) : null);
      affected.push(r);
    }
    if (affected.length === 0) return { message: msg, seq: 0, audience: { kind: 'users', users: [] }, unchanged: true, messageSeq };
    const seq = this.ctx.nextSeq();
    const audience: Audience = { kind: 'users', users: affected };
    writeEvent(this.ctx, seq, type, msg.uid, audience);
    return { message: payload ? { ...msg, payload, status: MessageStatus.recalled } : msg, seq, audience, unchanged: false, messageSeq };
  }

  recallMessage(uid: number, operator: string, scope: MessageScope, effects?: EffectSpec[]): Promise<MutationResult> {
    return this.ctx.write(() => {
      const r = this.recallInTx(uid, operator, scope);
      if (!r.unchanged) insertEffects(this.ctx, effects, { unread: (u) => this.ctx.unreadSingle(u) });
      return r;
    });
  }

  private recallInTx(uid: number, operator: string, scope: MessageScope): MutationResult {
    const row = this.liveRow(uid, scope);
    const msg = toMessage(row);
    if (scope.receivers) {
      if (row.status === MessageStatus.recalled) return { message: msg, seq: 0, audience: { kind: 'users', users: [] }, unchanged: true, messageSeq: row.seq };
      return this.perReceiver(msg, row.seq, row.recipients, scope.receivers, ReceiverState.recalled, EventType.recall, recallPayload(msg, operator));
    }
    const del = this.changeDelivery(msg, row.recipients);
    if (row.status === MessageStatus.recalled) return { message: msg, seq: 0, audience: del.audience, unchanged: true, messageSeq: row.seq };
    const payload = recallPayload(msg, operator);
    const now = Date.now();
    this.ctx
      .stmt('UPDATE messages SET payload = ?, status = ?, updated_at = ?, expire_at = 0 WHERE uid = ?')
      .run(JSON.stringify(payload), MessageStatus.recalled, now, uid);
    this.unread.messageChanged(unreadFacts(msg), { persistFlag: payload.persistFlag, status: MessageStatus.recalled }, listedOnly(del.audience));
    const seq = this.ctx.nextSeq();
    writeEvent(this.ctx, seq, EventType.recall, uid, del.audience, null, del.extraUsers);
    return { message: { ...msg, payload, status: MessageStatus.recalled, updatedAt: now }, seq, audience: del.audience, unchanged: false, messageSeq: row.seq };
  }

  updateMessage(uid: number, payload: Payload, distribute: boolean, updatedAt: number): Promise<MutationResult> {
    return this.ctx.write(() => {
      const row = this.liveRow(uid, {});
      if (row.status === MessageStatus.recalled) throw new CoreError('no_right', 'a recalled message cannot be updated');
      if (payload.persistFlag === PersistFlag.transparent) {
        throw new CoreError('invalid_parameter', 'a stored message cannot become transparent (persistFlag 4)');
      }
      // A new expireDuration counts from the message's own timestamp.
      const expireAt = payload.expireDuration > 0 ? row.timestamp + payload.expireDuration * 1000 : 0;
      this.ctx
        .stmt('UPDATE messages SET payload = ?, updated_at = ?, expire_at = ? WHERE uid = ?')
        .run(JSON.stringify(payload), updatedAt, expireAt, uid);
      const before = toMessage(row);
      const msg = { ...before, payload, updatedAt };
      const del = this.changeDelivery(msg, row.recipients);
      // The persist flag may change whether it counts.
      this.unread.messageChanged(unreadFacts(before), { persistFlag: payload.persistFlag, status: before.status }, listedOnly(del.audience));
      if (!distribute) return { message: msg, seq: 0, audience: del.audience, unchanged: false, messageSeq: row.seq };
      const seq = this.ctx.nextSeq();
      writeEvent(this.ctx, seq, EventType.update, uid, del.audience, null, del.extraUsers);
      return { message: msg, seq, audience: del.audience, unchanged: false, messageSeq: row.seq };
    });
  }

  deleteMessage(uid: number, scope: MessageScope): Promise<MutationResult> {
    return this.ctx.write(() => {
      const row = this.liveRow(uid, scope);
      const msg = toMessage(row);
      if (scope.receivers) return this.perReceiver(msg, row.seq, row.recipients, scope.receivers, ReceiverState.deleted, EventType.delete, null);
      const del = this.changeDelivery(msg, row.recipients);
      this.unread.messageChanged(unreadFacts(msg), { persistFlag: msg.payload.persistFlag, status: MessageStatus.deleted }, listedOnly(del.audience));
      // Tombstone: the row stays so devices and later syncs learn of the delete; the content goes.
      const tombstone: Payload = { ...msg.payload, searchableContent: '', pushContent: '', pushData: '', content: '', base64edData: '', remoteMediaUrl: '', mentionedTarget: [], extra: '' };
      this.ctx
        .stmt('UPDATE messages SET payload = ?, status = ?, updated_at = ? WHERE uid = ?')
        .run(JSON.stringify(tombstone), MessageStatus.deleted, Date.now(), uid);
      const seq = this.ctx.nextSeq();
      writeEvent(this.ctx, seq, EventType.delete, uid, del.audience, null, del.extraUsers);
      return { message: msg, seq, audience: del.audience, unchanged: false, messageSeq: row.seq };
    });
  }

  reserveUid(): Promise<{ uid: number; timestamp: number }> {
    // In the writer's thread, where uids are issued; unused reservations are simply skipped uids.
    return this.ctx.read(() => {
      const timestamp = Date.now();
      const uid = this.ctx.uids.next(timestamp);
      this.unread.reserved(uid);
      return { uid, timestamp };
    });
  }

  uidOfKey(key: string): Promise<number | null> {
    return this.ctx.read(() => {
      // Keys of the current form first, then those issued before MsgRandom was mixed; the message's
      // time must match either way.
      for (const k of [parseMessageKey(key), parseLegacyMessageKey(key)]) {
        if (!k) continue;
        const r = messageRow(this.ctx, k.uid);
        if (r && Math.floor(r.timestamp / 1000) === k.time) return r.uid;
      }
      return null;
    });
  }

  unreadTotal(userId: string, convType: number): Promise<number> {
    return this.ctx.read(
      () =>
        (
          this.ctx
            .stmt('SELECT COALESCE(SUM(unread), 0) AS n FROM conversations WHERE user_id = ? AND conv_type = ? AND visible = 1')
            .get(userId, convType) as { n: number }
        ).n + this.ctx.wb.pendingUnread(userId, convType),
    );
  }
}
