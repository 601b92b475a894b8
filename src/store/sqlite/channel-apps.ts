import {
  configParent,
  CONVERSATION_ACTIVITY_STEP_MS,
  isStatusOnly,
  type ChannelConfigKind,
  type ChannelConfigRecords,
  type ChannelContact,
  type ChannelConversation,
  type ChannelMessage,
  type DeliveryUpdate,
} from '../../core/channel-apps/model.js';
import { CoreError } from '../../core/errors.js';
import type { ChannelAppStore } from '../../core/ports/channel-apps.js';
import { packChannelRecord, packDocument, unpackChannelRecord, type ChannelMessageRow, type PackedChannelRecord } from './channel-record.js';
import type { SqliteContext } from './context.js';

/**
 * The channel gateway's tables (migration "channel gateway"). Records are JSON documents; the columns
 * beside them hold only what is looked up or ordered by.
 */
export class SqliteChannelApps implements ChannelAppStore {
  constructor(private readonly ctx: SqliteContext) {}

  private configRow(kind: string, id: string): { data: string; created_at: number } | undefined {
    return this.ctx.stmt('SELECT data, created_at FROM channel_config WHERE kind = ? AND id = ?').get(kind, id) as
      | { data: string; created_at: number }
      | undefined;
  }

  putConfig<K extends ChannelConfigKind>(kind: K, id: string, record: ChannelConfigRecords[K]): Promise<ChannelConfigRecords[K]> {
    return this.ctx.write(() => {
      const old = this.configRow(kind, id);
      const rec = { ...record, createDt: old ? (JSON.parse(old.data) as { createDt: number }).createDt : record.createDt };
      this.ctx
        .stmt(
          `INSERT INTO channel_config(kind, id, parent, data, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(kind, id) DO UPDATE SET parent = excluded.parent, data = excluded.data`,
        )
        .run(kind, id, configParent(kind, rec), JSON.stringify(rec), rec.createDt);
      return rec;
    });
  }

  patchConfig<K extends ChannelConfigKind>(kind: K, id: string, patch: Partial<ChannelConfigRecords[K]>): Promise<ChannelConfigRecords[K]> {
    return this.ctx.write(() => {
      const old = this.configRow(kind, id);
      if (!old) throw new CoreError('not_exist', `${kind} ${id} does not exist`);
      const rec = { ...(JSON.parse(old.data) as ChannelConfigRecords[K]), ...patch };
      const parent = configParent(kind, rec);
      this.ctx.stmt('UPDATE channel_config SET data = ?, parent = ? WHERE kind = ? AND id = ?').run(JSON.stringify(rec), parent, kind, id);
      return rec;
    });
  }

  getConfig<K extends ChannelConfigKind>(kind: K, id: string): Promise<ChannelConfigRecords[K] | null> {
    return this.ctx.read(() => {
      const r = this.configRow(kind, id);
      return r ? (JSON.parse(r.data) as ChannelConfigRecords[K]) : null;
    });
  }

  listConfig<K extends ChannelConfigKind>(kind: K, parent?: string): Promise<Array<ChannelConfigRecords[K]>> {
    return this.ctx.read(() => {
      const rows = (
        parent === undefined
          ? this.ctx.stmt('SELECT data FROM channel_config WHERE kind = ? ORDER BY created_at, id').all(kind)
          : this.ctx.stmt('SELECT data FROM channel_config WHERE parent = ? AND kind = ? ORDER BY created_at, id').all(parent, kind)
      ) as Array<{ data: string }>;
      return rows.map((r) => JSON.parse(r.data) as ChannelConfigRecords[K]);
    });
  }

  deleteConfig(kind: ChannelConfigKind, id: string): Promise<boolean> {
    return this.ctx.write(() => {
      const children =
        kind === 'app'
          ? "SELECT kind, id FROM channel_config WHERE parent = ? AND kind IN ('channel', 'version', 'channelAccount') LIMIT 1"
          : kind === 'version'
            ? "SELECT kind, id FROM channel_config WHERE parent = ? AND kind = 'versionChannel' LIMIT 1"
            : undefined;
      const child = children ? (this.ctx.stmt(children).get(id) as { kind: string; id: string } | undefined) : undefined;
      if (child) throw new CoreError('no_right', `${kind} ${id} still has ${child.kind} ${child.id}`);
      return this.ctx.stmt('DELETE FROM channel_config WHERE kind = ? AND id = ?').run(kind, id).changes > 0;
    });
  }

  // ------------------------------------------------------------ contacts

  private contactRow(contactId: string): ChannelContact | null {
    const r = this.ctx.stmt('SELECT data FROM channel_contacts WHERE id = ?').get(contactId) as { data: string } | undefined;
    return r ? (JSON.parse(r.data) as ChannelContact) : null;
  }

  upsertContact(c: ChannelContact): Promise<ChannelContact> {
    return this.ctx.write(() => {
      const taken = this.ctx.stmt('SELECT id FROM channel_contacts WHERE account_id = ? AND account = ?').get(c.channelAccountId, c.account) as
        | { id: string }
        | undefined;
      if (taken && taken.id !== c.contactId) throw new CoreError('invalid_parameter', 'the account already belongs to another contact');
      const old = this.contactRow(c.contactId);
      let rec = c;
      if (old) {
        const text = (k: 'name' | 'avatarUrl' | 'originalContactInfoUrl' | 'originalContactPageUrl' | 'screenName'): string => (c[k] !== '' ? c[k] : old[k]);
        rec = {
          ...old,
          name: text('name'),
          avatarUrl: text('avatarUrl'),
          originalContactInfoUrl: text('originalContactInfoUrl'),
          originalContactPageUrl: text('originalContactPageUrl'),
          screenName: text('screenName'),
          attributes: { ...old.attributes, ...c.attributes },
          updateDt: c.updateDt,
        };
      }
      this.ctx
        .stmt(
          `INSERT INTO channel_contacts(id, account_id, account, data) VALUES (?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET data = excluded.data`,
        )
        .run(rec.contactId, rec.channelAccountId, rec.account, JSON.stringify(rec));
      return rec;
    });
  }

  replaceContact(
    contactId: string,
    fields: Partial<Omit<ChannelContact, 'contactId' | 'channelAccountId' | 'account' | 'createDt'>>,
  ): Promise<ChannelContact> {
    return this.ctx.write(() => {
      const old = this.contactRow(contactId);
      if (!old) throw new CoreError('not_exist', `contact ${contactId} does not exist`);
      const rec: ChannelContact = { ...old, ...fields, contactId, channelAccountId: old.channelAccountId, account: old.account, createDt: old.createDt };
      this.ctx.stmt('UPDATE channel_contacts SET data = ? WHERE id = ?').run(JSON.stringify(rec), contactId);
      return rec;
    });
  }

  getContact(contactId: string): Promise<ChannelContact | null> {
    return this.ctx.read(() => this.contactRow(contactId));
  }

  findContact(channelAccountId: string, account: string): Promise<ChannelContact | null> {
    return this.ctx.read(() => {
      const r = this.ctx.stmt('SELECT data FROM channel_contacts WHERE account_id = ? AND account = ?').get(channelAccountId, account) as
        | { data: string }
        | undefined;
      return r ? (JSON.parse(r.data) as ChannelContact) : null;
    });
  }

  listContacts(channelAccountId: string, after: string, limit: number): Promise<ChannelContact[]> {
    return this.ctx.read(() =>
      (
        this.ctx.stmt('SELECT data FROM channel_contacts WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?').all(channelAccountId, after, limit) as Array<{
          data: string;
        }>
      ).map((r) => JSON.parse(r.data) as ChannelContact),
    );
  }

  deleteContact(contactId: string): Promise<boolean> {
    return this.ctx.write(() => this.ctx.stmt('DELETE FROM channel_contacts WHERE id = ?').run(contactId).changes > 0);
  }

  // ------------------------------------------------------------ conversations

  private convRow(conversationId: string): ChannelConversation | null {
    const r = this.ctx.stmt('SELECT data FROM channel_conversations WHERE id = ?').get(conversationId) as { data: string } | undefined;
    return r ? (JSON.parse(r.data) as ChannelConversation) : null;
  }

  openConversation(conv: ChannelConversation): Promise<ChannelConversation> {
    return this.ctx.write(() => {
      const old = this.convRow(conv.conversationId);
      if (old) return old;
      this.ctx
        .stmt('INSERT INTO channel_conversations(id, account_id, contact_id, original_id, updated_at, data) VALUES (?, ?, ?, ?, ?, ?)')
        .run(conv.conversationId, conv.channelAccountId, conv.contactId, conv.originalConversationId, conv.updateDt, JSON.stringify(conv));
      return conv;
    });
  }

  getConversation(conversationId: string): Promise<ChannelConversation | null> {
    return this.ctx.read(() => this.convRow(conversationId));
  }

  conversationByOriginal(channelAccountId: string, originalConversationId: string): Promise<ChannelConversation | null> {
    return this.ctx.read(() => {
      if (originalConversationId === '') return null;
      // Unique in practice (the id is derived from it); the newest wins if an app reused one.
      const r = this.ctx
        .stmt('SELECT data FROM channel_conversations WHERE account_id = ? AND original_id = ? ORDER BY updated_at DESC LIMIT 1')
        .get(channelAccountId, originalConversationId) as { data: string } | undefined;
      return r ? (JSON.parse(r.data) as ChannelConversation) : null;
    });
  }

  latestConversation(contactId: string): Promise<ChannelConversation | null> {
    return this.ctx.read(() => {
      const r = this.ctx.stmt('SELECT data FROM channel_conversations WHERE contact_id = ? ORDER BY updated_at DESC LIMIT 1').get(contactId) as
        | { data: string }
        | undefined;
      return r ? (JSON.parse(r.data) as ChannelConversation) : null;
    });
  }

  touchConversation(conversationId: string, updateDt: number, agents?: string[]): Promise<void> {
    return this.ctx.write(() => {
      const old = this.convRow(conversationId);
      if (!old) throw new CoreError('not_exist', `conversation ${conversationId} does not exist`);
      const rec: ChannelConversation = { ...old, updateDt: Math.max(old.updateDt, updateDt), ...(agents ? { agents } : {}) };
      this.ctx.stmt('UPDATE channel_conversations SET updated_at = MAX(updated_at, ?), data = ? WHERE id = ?').run(rec.updateDt, JSON.stringify(rec), conversationId);
    });
  }

  // ------------------------------------------------------------ messages

  recordMessage(m: ChannelMessage): Promise<ChannelMessage> {
    return this.ctx.write(() => recordChannelMessage(this.ctx, packChannelRecord(m), m.uid) ?? m);
  }

  messageByUid(uid: number): Promise<ChannelMessage | null> {
    return this.ctx.read(() => channelMessage(this.ctx, 'uid', [uid]));
  }

  messageByGuid(guid: string): Promise<ChannelMessage | null> {
    return this.ctx.read(() => channelMessage(this.ctx, 'guid', [guid]));
  }

  messageByOriginal(channelAccountId: string, originalMessageId: string): Promise<ChannelMessage | null> {
    return this.ctx.read(() => channelMessage(this.ctx, 'original', [channelAccountId, originalMessageId]));
  }

  /**
   * messageByUid / messageByGuid / messageByOriginal (`by`, with their arguments) answering the stored
   * row instead of the message: the writer thread sends it across as is, and the main thread unpacks it
   * (thread-protocol.ts), so the record is neither parsed here nor structured-cloned field by field.
   */
  messageRow(by: MessageLookup, args: unknown[]): Promise<ChannelMessageRow | null> {
    return this.ctx.read(() => storedMessage(this.ctx, by, args));
  }

  updateDelivery(guid: string, u: DeliveryUpdate, updatedAt: number): Promise<ChannelMessage> {
    return this.ctx.write(() => {
      const rec = changeDelivery(this.ctx, guid, u, updatedAt);
      if (!rec) throw new CoreError('not_exist', `message ${guid} does not exist`);
      return rec;
    });
  }
}

const MESSAGE_COLUMNS = 'SELECT uid, guid, account_id, data FROM channel_messages';

/** How a message is looked up: by uid, by guid, or by (channel account, original message id). */
export type MessageLookup = 'uid' | 'guid' | 'original';

const MESSAGE_BY: Record<MessageLookup, string> = {
  uid: `${MESSAGE_COLUMNS} WHERE uid = ?`,
  guid: `${MESSAGE_COLUMNS} WHERE guid = ?`,
  original: `${MESSAGE_COLUMNS} WHERE account_id = ? AND original_id = ?`,
};

/** The stored row of a message, or null (an empty original id names none). */
function storedMessage(ctx: SqliteContext, by: MessageLookup, args: unknown[]): ChannelMessageRow | null {
  if (by === 'original' && args[1] === '') return null;
  return (ctx.stmt(MESSAGE_BY[by]).get(...args) as ChannelMessageRow | undefined) ?? null;
}

/** The message looked up (storedMessage), unpacked. */
function channelMessage(ctx: SqliteContext, by: MessageLookup, args: unknown[]): ChannelMessage | null {
  const row = storedMessage(ctx, by, args);
  return row ? unpackChannelRecord(row) : null;
}

/**
 * ChannelAppStore.recordMessage inside a writer command (also run by appendMessage for a draft's
 * `channel`, and by the outbox for an effect's record), under `uid`: nothing is written when the uid,
 * or (account, original id), is recorded already — the stored one is returned — else null once it is
 * inserted. The conversation becomes the contact's latest: its updated_at moves to the message's time
 * when that is at least CONVERSATION_ACTIVITY_STEP_MS later (so a busy conversation's row and its two indexes
 * are rewritten about once a second, not once per message; which of a contact's conversations is the
 * latest is decided at that resolution).
 * `freshUid`: the caller allocated `uid` in this command (appendMessage without a reserved identity),
 * so the look-up by uid is skipped.
 */
export function recordChannelMessage(ctx: SqliteContext, m: PackedChannelRecord, uid: number, freshUid = false): ChannelMessage | null {
  // No original id: nothing can be recorded under it (the column is NULL then).
  const same =
    (freshUid ? null : channelMessage(ctx, 'uid', [uid])) ??
    (m.originalMessageId === '' ? null : channelMessage(ctx, 'original', [m.channelAccountId, m.originalMessageId]));
  if (same) return same;
  ctx
    .stmt('INSERT INTO channel_messages(uid, guid, account_id, original_id, data) VALUES (?, ?, ?, ?, ?)')
    .run(uid, m.guid, m.channelAccountId, m.originalMessageId === '' ? null : m.originalMessageId, m.packed);
  moveConversationActivity(ctx, m.conversationId, m.createdAt);
  return null;
}

/**
 * The conversation's updated_at moves to `at` when that is at least CONVERSATION_ACTIVITY_STEP_MS later.
 * updated_at never moves back, so a time this store set it to (SqliteContext.conversationActivity)
 * is a lower bound: while `at` is within a step of it, the UPDATE would change nothing and is skipped.
 */
function moveConversationActivity(ctx: SqliteContext, conversationId: string, at: number): void {
  const known = ctx.conversationActivity.get(conversationId);
  if (known !== undefined && at - CONVERSATION_ACTIVITY_STEP_MS < known) return;
  const moved = ctx.stmt('UPDATE channel_conversations SET updated_at = ? WHERE id = ? AND updated_at <= ?').run(at, conversationId, at - CONVERSATION_ACTIVITY_STEP_MS);
  if (moved.changes > 0) ctx.conversationActivity.remember(conversationId, at);
}

/**
 * A ChannelDeliveryRecord applied with an outbox outcome (inside the settle's writer command): the same
 * change as changeDelivery. An update of the status alone (to sent, delivered or failed, with or
 * without an error; no ids, no URLs — every outcome's) is one statement editing the stored document in
 * place (SQLite's JSON functions, the `onlyFrom` check in its WHERE), instead of a read, an unpack and
 * a repack in JavaScript: 8.5–8.7 µs per update instead of 13–15.5 (docs/benchmarks.md,
 * 2026-12-03). The document keeps its form: `deliveryError` left out when empty.
 */
export function applyDeliveryRecord(ctx: SqliteContext, guid: string, u: DeliveryUpdate, updatedAt: number): void {
  // 'none' is left out of the packed document (packDocument), so it is not written in place.
  if (u.delivery === 'none' || !isStatusOnly(u)) {
    changeDelivery(ctx, guid, u, updatedAt);
    return;
  }
  const error = u.deliveryError ?? '';
  const doc = error === '' ? `json_set(json_remove(data, '$.deliveryError'), '$.delivery', ?, '$.updatedAt', ?)` : `json_set(data, '$.delivery', ?, '$.deliveryError', ?, '$.updatedAt', ?)`;
  const values = error === '' ? [u.delivery, updatedAt] : [u.delivery, error, updatedAt];
  // A document without `delivery` holds 'none' (packDocument leaves the usual value out).
  const from = u.onlyFrom ? ` AND coalesce(data ->> '$.delivery', 'none') IN (${u.onlyFrom.map(() => '?').join(', ')})` : '';
  ctx.stmt(`UPDATE channel_messages SET data = ${doc} WHERE guid = ?${from}`).run(...values, guid, ...(u.onlyFrom ?? []));
}

/**
 * updateDelivery inside a writer command (also the outbox's ChannelDeliveryRecord, applied with a job's
 * final outcome): the message as it stands after the change, or null for an unknown guid.
 */
export function changeDelivery(ctx: SqliteContext, guid: string, u: DeliveryUpdate, updatedAt: number): ChannelMessage | null {
  const old = channelMessage(ctx, 'guid', [guid]);
  if (!old) return null;
  if (u.onlyFrom && !u.onlyFrom.includes(old.delivery)) return old;
  const urls = new Map((u.urls ?? []).map((x) => [x.id, x.url]));
  const rec: ChannelMessage = {
    ...old,
    delivery: u.delivery,
    deliveryError: u.deliveryError ?? '',
    ...(u.originalMessageId !== undefined ? { originalMessageId: u.originalMessageId } : {}),
    ...(u.originalMessageUrl !== undefined ? { originalMessageUrl: u.originalMessageUrl } : {}),
    contents: urls.size > 0 ? old.contents.map((c) => (urls.has(c.id) ? { ...c, url: urls.get(c.id)! } : c)) : old.contents,
    updatedAt,
  };
  // A send result may name the message's id on the channel: indexed like an inbound one, unless
  // another message of the account has it already (then only the document keeps it).
  let original = rec.originalMessageId;
  if (original !== '' && original !== old.originalMessageId) {
    const other = ctx.stmt('SELECT uid FROM channel_messages WHERE account_id = ? AND original_id = ?').get(rec.channelAccountId, original) as { uid: number } | undefined;
    if (other && other.uid !== rec.uid) original = old.originalMessageId;
  } else original = old.originalMessageId;
  ctx.stmt('UPDATE channel_messages SET data = ?, original_id = ? WHERE guid = ?').run(packDocument(rec), original === '' ? null : original, guid);
  return rec;
}
