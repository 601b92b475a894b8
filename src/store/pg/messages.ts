import { CoreError } from '../../core/errors.js';
import { parseLegacyMessageKey, parseMessageKey } from '../../core/ids.js';
import { listedRecipients, planChange, planDelivery, recipientsToStore, sendChecksOf, takesGroupSeq, type Delivery } from '../../core/message-plan.js';
import type { Payload, StoredMessage } from '../../core/model.js';
import { ConvType, MessageKind, MessageStatus, PersistFlag, ReceiverState } from '../../core/model.js';
import type { EffectSpec } from '../../core/ports/outbox.js';
import type { AppendResult, Audience, MessageDraft, MessageScope, MessageStore, MutationResult } from '../../core/ports/store.js';
import { recallPayload } from '../../core/recall.js';
import { privateSendDecision } from '../../core/relations.js';
import { checkSender } from '../../core/rules.js';
import type { PgContext } from './context.js';
import { insertEffects } from './effects.js';
import { recordChannelMessage } from './channel-apps.js';
import { sessionActivity } from './message-session.js';
import { loadChangeFacts, sendReadsFirst } from './message-facts.js';
import { loadSendFactsInRun } from './run-facts.js';
import { EventType, MESSAGE_COLS, messageRow, type MessageRow, Params, runParts, storedRecipients, toMessage, eventParts, writeEvent } from './message-rows.js';
import type { Queryable } from './pool.js';
import { messageChanged, receiversChanged, unreadTotal, type MessageUnreadFacts } from './unread.js';
import { SENT_ROWS, sentRows } from './sent-rows.js';
import type { PgTx } from './writer.js';

function listedOnly(audience: Audience): string[] {
  return audience.kind === 'users' ? audience.users : [];
}

function unreadFacts(m: StoredMessage): MessageUnreadFacts {
  return { uid: m.uid, sender: m.sender, conv: m.conv, kind: m.kind, persistFlag: m.payload.persistFlag, status: m.status, timestamp: m.timestamp };
}

/** The user's unread total over single chats, as the command leaves it (effects' unreadOf). */
export function unreadSingle(q: Queryable): (userId: string) => Promise<number> {
  return (u) => unreadTotal(q, u, ConvType.single);
}

/**
 * Whether a send may run concurrently with the other sends of its writer batch (PgWriter.submit): it
 * reads only rows no send writes (users, members, relations) or writes them in one atomic statement
 * (the group's message number), and it can run again. Not: a resend check (it reads the messages
 * other sends write), channel records and session activity (read-then-write), effects asking for an
 * unread count (the counters other sends move) or writing records.
 */
function sendsConcurrently(d: MessageDraft): boolean {
  if (d.clientMsgId !== undefined || d.channel !== undefined || d.session !== undefined) return false;
  return (d.effects ?? []).every((e) => e.fill?.unreadOf === undefined && (e.records ?? []).length === 0);
}

/**
 * Messages on PostgreSQL. Every command reads the facts core's rules need in one statement of its
 * transaction (message-facts.ts), lets core decide (core/message-plan.ts, rules.ts, unread.ts), then
 * writes the message, its event rows and its receivers' conversation rows in one more statement. A
 * send is two round trips (a resend three), whatever the number of receivers. The sends of a writer
 * run share both statements (run-facts.ts, sent-rows.ts: one statement each for all of them).
 */
export class PgMessages implements MessageStore {
  constructor(private readonly ctx: PgContext) {}

  private get max(): number {
    return this.ctx.fanout.inlineFanoutMax;
  }

  /** Who learns of a change of a stored message (core's planChange). */
  private async changeDelivery(q: Queryable, msg: StoredMessage, stored: string | null): Promise<Delivery> {
    const recipients = listedRecipients(msg, storedRecipients(stored));
    return planChange(msg, recipients, await loadChangeFacts(q, msg, recipients), this.max);
  }

  appendMessage(d: MessageDraft): Promise<AppendResult> {
    const checks = sendChecksOf(d);
    return this.ctx.write(async (tx) => {
      const relationCheck = d.relations !== undefined && d.kind === MessageKind.conversation && d.conv.type === ConvType.single;
      const takeSeq = takesGroupSeq(d);
      const loaded = await loadSendFactsInRun(tx, d, checks, this.max, {
        takeGroupSeq: takeSeq,
        withSender: checks === 'rules',
        withRelation: relationCheck,
        clientMsgId: d.clientMsgId,
      });
      if (loaded.prior) {
        const message = toMessage(loaded.prior);
        const del = await this.changeDelivery(tx, message, loaded.prior.recipients);
        return { message, seq: loaded.prior.seq, audience: del.audience, count: del.count, duplicate: true };
      }
      if (checks === 'rules') checkSender(loaded.senderStatus === undefined ? null : { status: loaded.senderStatus }, d.sender);
      const del = planDelivery(d, checks, loaded.facts, this.max, takeSeq);
      const groupSeq = del.groupSeq;
      // A device's single chat: the receiver's relation to the sender (blacklist, strangers).
      const dropped =
        relationCheck && d.relations !== undefined && privateSendDecision(loaded.relation, d.sender, d.conv.target, d.payload.type, d.relations, () => loaded.userTypes) === 'drop';
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
        await insertEffects(tx, d.effects, { message: { uid, timestamp: now, seq: 0, ...(groupSeq !== undefined ? { groupSeq } : {}) }, unread: unreadSingle(tx) });
        return { message, seq: 0, audience: del.audience, count: del.count, duplicate: false };
      }
      const seq = tx.nextSeq();
      const toStore = del.audience.kind === 'users' ? recipientsToStore(message, del.audience.users) : null;
      // Written with the rows of the other sends of its run (sent-rows.ts): one statement for all.
      await tx.together(
        SENT_ROWS,
        sentRows(
          {
            uid,
            seq,
            sender: d.sender,
            convType: d.conv.type,
            convTarget: d.conv.target,
            convLine: d.conv.line,
            payload: JSON.stringify(d.payload),
            toUsers: d.toUsers.length > 0 ? JSON.stringify(d.toUsers) : null,
            kind: d.kind,
            timestamp: now,
            expireAt: d.payload.expireDuration > 0 ? now + d.payload.expireDuration * 1000 : 0,
            clientId: message.clientId,
            platform: message.platform,
            clientMsgId: d.clientMsgId ?? null,
            recipients: toStore ? JSON.stringify(toStore) : null,
          },
          del.audience,
          del.extraUsers,
          { uid, sender: d.sender, conv: d.conv, kind: d.kind, persistFlag: d.payload.persistFlag, status: MessageStatus.normal, timestamp: now },
        ),
      );
      await insertEffects(tx, d.effects, { message: { uid, timestamp: now, seq, ...(groupSeq !== undefined ? { groupSeq } : {}) }, unread: unreadSingle(tx) });
      if (d.channel) await recordChannelMessage(tx, { ...d.channel, uid });
      const session = d.session ? { session: await sessionActivity(tx, d.session) } : {};
      return { message, seq, audience: del.audience, count: del.count, duplicate: false, ...session };
    }, { concurrent: sendsConcurrently(d), readsFirst: sendReadsFirst(d, checks) });
  }

  getMessage(uid: number, now: number): Promise<StoredMessage | null> {
    return this.ctx.read(async (q) => {
      const r = await messageRow(q, uid);
      if (!r || r.status === MessageStatus.deleted || (r.expire_at > 0 && r.expire_at <= now)) return null;
      return toMessage(r);
    });
  }

  private async liveRow(tx: PgTx, uid: number, scope: MessageScope): Promise<MessageRow> {
    // FOR UPDATE: the row is this command's until it commits (changes of one message are serialized
    // by the writer anyway; this keeps a read-then-write exact should that ever change).
    const r = await tx.row<MessageRow>(`SELECT ${MESSAGE_COLS} FROM messages WHERE uid = $1 FOR UPDATE`, [uid]);
    if (!r || r.status === MessageStatus.deleted || (r.expire_at > 0 && r.expire_at <= Date.now())) {
      throw new CoreError('not_exist', `message ${uid} does not exist`);
    }
    if (scope.kind !== undefined && r.kind !== scope.kind) {
      throw new CoreError('not_exist', `message ${uid} is not a ${scope.kind === MessageKind.broadcast ? 'broadcast' : 'multicast'}`);
    }
    return r;
  }

  /** Apply a per-receiver state (ReceiverState) to the receivers of `msg` among `receivers`. */
  private async perReceiver(
    tx: PgTx,
    msg: StoredMessage,
    messageSeq: number,
    stored: string | null,
    receivers: string[],
    state: number,
    type: number,
    payload: Payload | null,
  ): Promise<MutationResult> {
    const del = await this.changeDelivery(tx, msg, stored);
    const recipients = del.audience.kind === 'users' ? new Set(del.audience.users) : null;
    const asked = [...new Set(receivers)].filter((r) => !recipients || recipients.has(r));
    // A shared audience's receivers need only exist; a state only ever rises.
    const rows = await tx.rows<{ u: string; state: number | null; present: boolean }>(
      `SELECT x.u, s.state, EXISTS (SELECT 1 FROM users WHERE id = x.u) AS present
         FROM unnest($1::text[]) WITH ORDINALITY AS x(u, o)
         LEFT JOIN user_message_state s ON s.user_id = x.u AND s.uid = $2
        ORDER BY x.o`,
      [asked, msg.uid],
    );
    const affected = rows.filter((r) => (recipients || r.present) && (r.state === null || r.state < state)).map((r) => r.u);
    if (affected.length === 0) return { message: msg, seq: 0, audience: { kind: 'users', users: [] }, unchanged: true, messageSeq };
    // Counters exist only for listed receivers; moved before the new states are written.
    if (recipients) await receiversChanged(tx, unreadFacts(msg), affected, state);
    await tx.run(
      `INSERT INTO user_message_state(user_id, uid, state, payload) SELECT x, $2, $3, $4 FROM unnest($1::text[]) AS x
       ON CONFLICT (user_id, uid) DO UPDATE SET state = excluded.state, payload = excluded.payload`,
      [affected, msg.uid, state, payload ? JSON.stringify(payload) : null],
    );
    const seq = tx.nextSeq();
    const audience: Audience = { kind: 'users', users: affected };
    await writeEvent(tx, seq, type, msg.uid, audience);
    return { message: payload ? { ...msg, payload, status: MessageStatus.recalled } : msg, seq, audience, unchanged: false, messageSeq };
  }

  recallMessage(uid: number, operator: string, scope: MessageScope, effects?: EffectSpec[]): Promise<MutationResult> {
    return this.ctx.write(async (tx) => {
      const r = await this.recallInTx(tx, uid, operator, scope);
      if (!r.unchanged) await insertEffects(tx, effects, { unread: unreadSingle(tx) });
      return r;
    });
  }

  private async recallInTx(tx: PgTx, uid: number, operator: string, scope: MessageScope): Promise<MutationResult> {
    const row = await this.liveRow(tx, uid, scope);
    const msg = toMessage(row);
    if (scope.receivers) {
      if (row.status === MessageStatus.recalled) return { message: msg, seq: 0, audience: { kind: 'users', users: [] }, unchanged: true, messageSeq: row.seq };
      return this.perReceiver(tx, msg, row.seq, row.recipients, scope.receivers, ReceiverState.recalled, EventType.recall, recallPayload(msg, operator));
    }
    const del = await this.changeDelivery(tx, msg, row.recipients);
    if (row.status === MessageStatus.recalled) return { message: msg, seq: 0, audience: del.audience, unchanged: true, messageSeq: row.seq };
    const payload = recallPayload(msg, operator);
    const now = Date.now();
    await messageChanged(tx, unreadFacts(msg), { persistFlag: payload.persistFlag, status: MessageStatus.recalled }, listedOnly(del.audience));
    const seq = tx.nextSeq();
    const b = new Params();
    await runParts(tx, b, [
      `upd AS (UPDATE messages SET payload = ${b.p(JSON.stringify(payload))}, status = ${b.p(MessageStatus.recalled)}, updated_at = ${b.p(now)}, expire_at = 0 WHERE uid = ${b.p(uid)})`,
      ...eventParts(b, seq, EventType.recall, uid, del.audience, del.extraUsers),
    ]);
    return { message: { ...msg, payload, status: MessageStatus.recalled, updatedAt: now }, seq, audience: del.audience, unchanged: false, messageSeq: row.seq };
  }

  updateMessage(uid: number, payload: Payload, distribute: boolean, updatedAt: number): Promise<MutationResult> {
    return this.ctx.write(async (tx) => {
      const row = await this.liveRow(tx, uid, {});
      if (row.status === MessageStatus.recalled) throw new CoreError('no_right', 'a recalled message cannot be updated');
      if (payload.persistFlag === PersistFlag.transparent) {
        throw new CoreError('invalid_parameter', 'a stored message cannot become transparent (persistFlag 4)');
      }
      // A new expireDuration counts from the message's own timestamp.
      const expireAt = payload.expireDuration > 0 ? row.timestamp + payload.expireDuration * 1000 : 0;
      const before = toMessage(row);
      const msg = { ...before, payload, updatedAt };
      const del = await this.changeDelivery(tx, msg, row.recipients);
      // The persist flag may change whether it counts.
      await messageChanged(tx, unreadFacts(before), { persistFlag: payload.persistFlag, status: before.status }, listedOnly(del.audience));
      const b = new Params();
      const parts = [
        `upd AS (UPDATE messages SET payload = ${b.p(JSON.stringify(payload))}, updated_at = ${b.p(updatedAt)}, expire_at = ${b.p(expireAt)} WHERE uid = ${b.p(uid)})`,
      ];
      const seq = distribute ? tx.nextSeq() : 0;
      if (distribute) parts.push(...eventParts(b, seq, EventType.update, uid, del.audience, del.extraUsers));
      await runParts(tx, b, parts);
      return { message: msg, seq, audience: del.audience, unchanged: false, messageSeq: row.seq };
    });
  }

  deleteMessage(uid: number, scope: MessageScope): Promise<MutationResult> {
    return this.ctx.write(async (tx) => {
      const row = await this.liveRow(tx, uid, scope);
      const msg = toMessage(row);
      if (scope.receivers) return this.perReceiver(tx, msg, row.seq, row.recipients, scope.receivers, ReceiverState.deleted, EventType.delete, null);
      const del = await this.changeDelivery(tx, msg, row.recipients);
      await messageChanged(tx, unreadFacts(msg), { persistFlag: msg.payload.persistFlag, status: MessageStatus.deleted }, listedOnly(del.audience));
      // Tombstone: the row stays so devices and later syncs learn of the delete; the content goes.
      const tombstone: Payload = { ...msg.payload, searchableContent: '', pushContent: '', pushData: '', content: '', base64edData: '', remoteMediaUrl: '', mentionedTarget: [], extra: '' };
      const seq = tx.nextSeq();
      const b = new Params();
      await runParts(tx, b, [
        `upd AS (UPDATE messages SET payload = ${b.p(JSON.stringify(tombstone))}, status = ${b.p(MessageStatus.deleted)}, updated_at = ${b.p(Date.now())} WHERE uid = ${b.p(uid)})`,
        ...eventParts(b, seq, EventType.delete, uid, del.audience, del.extraUsers),
      ]);
      return { message: msg, seq, audience: del.audience, unchanged: false, messageSeq: row.seq };
    });
  }

  reserveUid(): Promise<{ uid: number; timestamp: number }> {
    // Uids come from this node's generator (leased node id): no statement. An unused one is a skipped uid.
    const timestamp = Date.now();
    return Promise.resolve({ uid: this.ctx.uids.next(timestamp), timestamp });
  }

  uidOfKey(key: string): Promise<number | null> {
    return this.ctx.read(async (q) => {
      // Keys of the current form first, then those issued before MsgRandom was mixed; the message's
      // time must match either way.
      for (const k of [parseMessageKey(key), parseLegacyMessageKey(key)]) {
        if (!k) continue;
        const r = await q.row<{ uid: number; timestamp: number }>('SELECT uid, timestamp FROM messages WHERE uid = $1', [k.uid]);
        if (r && Math.floor(r.timestamp / 1000) === k.time) return r.uid;
      }
      return null;
    });
  }

  unreadTotal(userId: string, convType: number): Promise<number> {
    return this.ctx.read((q) => unreadTotal(q, userId, convType));
  }
}
