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
import type { PgContext } from './context.js';
import type { Queryable } from './pool.js';

/** The JSON document of the first row, parsed, or null. */
async function doc<T>(q: Queryable, sql: string, params: readonly unknown[]): Promise<T | null> {
  const r = await q.row<{ data: string }>(sql, params);
  return r ? (JSON.parse(r.data) as T) : null;
}

const CONFIG = 'SELECT data FROM channel_config WHERE kind = $1 AND id = $2';
const CONTACT = 'SELECT data FROM channel_contacts WHERE id = $1';
const CONVERSATION = 'SELECT data FROM channel_conversations WHERE id = $1';
const MESSAGE_BY_GUID = 'SELECT data FROM channel_messages WHERE guid = $1';

/**
 * The channel gateway's tables on PostgreSQL (same tables and JSON documents as SQLite's
 * channel-apps.ts; the columns beside a document hold only what is looked up or ordered by). Writes
 * that merge into a stored document read it inside their command: the writer serializes commands
 * cluster-wide, so no other node changes the row in between.
 */
export class PgChannelApps implements ChannelAppStore {
  constructor(private readonly ctx: PgContext) {}

  putConfig<K extends ChannelConfigKind>(kind: K, id: string, record: ChannelConfigRecords[K]): Promise<ChannelConfigRecords[K]> {
    return this.ctx.write(async (tx) => {
      const old = await doc<{ createDt: number }>(tx, CONFIG, [kind, id]);
      const rec = { ...record, createDt: old ? old.createDt : record.createDt };
      await tx.run(
        `INSERT INTO channel_config(kind, id, parent, data, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (kind, id) DO UPDATE SET parent = excluded.parent, data = excluded.data`,
        [kind, id, configParent(kind, rec), JSON.stringify(rec), rec.createDt],
      );
      return rec;
    });
  }

  patchConfig<K extends ChannelConfigKind>(kind: K, id: string, patch: Partial<ChannelConfigRecords[K]>): Promise<ChannelConfigRecords[K]> {
    return this.ctx.write(async (tx) => {
      const old = await doc<ChannelConfigRecords[K]>(tx, CONFIG, [kind, id]);
      if (!old) throw new CoreError('not_exist', `${kind} ${id} does not exist`);
      const rec = { ...old, ...patch };
      await tx.run('UPDATE channel_config SET data = $1, parent = $2 WHERE kind = $3 AND id = $4', [JSON.stringify(rec), configParent(kind, rec), kind, id]);
      return rec;
    });
  }

  getConfig<K extends ChannelConfigKind>(kind: K, id: string): Promise<ChannelConfigRecords[K] | null> {
    return doc<ChannelConfigRecords[K]>(this.ctx.db, CONFIG, [kind, id]);
  }

  async listConfig<K extends ChannelConfigKind>(kind: K, parent?: string): Promise<Array<ChannelConfigRecords[K]>> {
    const rows =
      parent === undefined
        ? await this.ctx.db.rows<{ data: string }>('SELECT data FROM channel_config WHERE kind = $1 ORDER BY created_at, id', [kind])
        : await this.ctx.db.rows<{ data: string }>('SELECT data FROM channel_config WHERE parent = $1 AND kind = $2 ORDER BY created_at, id', [parent, kind]);
    return rows.map((r) => JSON.parse(r.data) as ChannelConfigRecords[K]);
  }

  deleteConfig(kind: ChannelConfigKind, id: string): Promise<boolean> {
    return this.ctx.write(async (tx) => {
      const children =
        kind === 'app'
          ? "SELECT kind, id FROM channel_config WHERE parent = $1 AND kind IN ('channel', 'version', 'channelAccount') LIMIT 1"
          : kind === 'version'
            ? "SELECT kind, id FROM channel_config WHERE parent = $1 AND kind = 'versionChannel' LIMIT 1"
            : undefined;
      const child = children ? await tx.row<{ kind: string; id: string }>(children, [id]) : undefined;
      if (child) throw new CoreError('no_right', `${kind} ${id} still has ${child.kind} ${child.id}`);
      return (await tx.run('DELETE FROM channel_config WHERE kind = $1 AND id = $2', [kind, id])) > 0;
    });
  }

  // ------------------------------------------------------------ contacts

  upsertContact(c: ChannelContact): Promise<ChannelContact> {
    return this.ctx.write(async (tx) => {
      const taken = await tx.row<{ id: string }>('SELECT id FROM channel_contacts WHERE account_id = $1 AND account = $2', [c.channelAccountId, c.account]);
      if (taken && taken.id !== c.contactId) throw new CoreError('invalid_parameter', 'the account already belongs to another contact');
      const old = await doc<ChannelContact>(tx, CONTACT, [c.contactId]);
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
      await tx.run(
        `INSERT INTO channel_contacts(id, account_id, account, data) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET data = excluded.data`,
        [rec.contactId, rec.channelAccountId, rec.account, JSON.stringify(rec)],
      );
      return rec;
    });
  }

  replaceContact(
    contactId: string,
    fields: Partial<Omit<ChannelContact, 'contactId' | 'channelAccountId' | 'account' | 'createDt'>>,
  ): Promise<ChannelContact> {
    return this.ctx.write(async (tx) => {
      const old = await doc<ChannelContact>(tx, CONTACT, [contactId]);
      if (!old) throw new CoreError('not_exist', `contact ${contactId} does not exist`);
      const rec: ChannelContact = { ...old, ...fields, contactId, channelAccountId: old.channelAccountId, account: old.account, createDt: old.createDt };
      await tx.run('UPDATE channel_contacts SET data = $1 WHERE id = $2', [JSON.stringify(rec), contactId]);
      return rec;
    });
  }

  getContact(contactId: string): Promise<ChannelContact | null> {
    return doc<ChannelContact>(this.ctx.db, CONTACT, [contactId]);
  }

  findContact(channelAccountId: string, account: string): Promise<ChannelContact | null> {
    return doc<ChannelContact>(this.ctx.db, 'SELECT data FROM channel_contacts WHERE account_id = $1 AND account = $2', [channelAccountId, account]);
  }

  async listContacts(channelAccountId: string, after: string, limit: number): Promise<ChannelContact[]> {
    const rows = await this.ctx.db.rows<{ data: string }>('SELECT data FROM channel_contacts WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3', [
      channelAccountId,
      after,
      limit,
    ]);
    return rows.map((r) => JSON.parse(r.data) as ChannelContact);
  }

  deleteContact(contactId: string): Promise<boolean> {
    return this.ctx.write(async (tx) => (await tx.run('DELETE FROM channel_contacts WHERE id = $1', [contactId])) > 0);
  }

  // ------------------------------------------------------------ conversations

  openConversation(conv: ChannelConversation): Promise<ChannelConversation> {
    return this.ctx.write(async (tx) => {
      const inserted = await tx.run(
        `INSERT INTO channel_conversations(id, account_id, contact_id, original_id, updated_at, data) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO NOTHING`,
        [conv.conversationId, conv.channelAccountId, conv.contactId, conv.originalConversationId, conv.updateDt, JSON.stringify(conv)],
      );
      return inserted > 0 ? conv : (await doc<ChannelConversation>(tx, CONVERSATION, [conv.conversationId]))!;
    });
  }

  getConversation(conversationId: string): Promise<ChannelConversation | null> {
    return doc<ChannelConversation>(this.ctx.db, CONVERSATION, [conversationId]);
  }

  async conversationByOriginal(channelAccountId: string, originalConversationId: string): Promise<ChannelConversation | null> {
    if (originalConversationId === '') return null;
    // Unique in practice (the id is derived from it); the newest wins if an app reused one.
    return doc<ChannelConversation>(
      this.ctx.db,
      'SELECT data FROM channel_conversations WHERE account_id = $1 AND original_id = $2 ORDER BY updated_at DESC LIMIT 1',
      [channelAccountId, originalConversationId],
    );
  }

  latestConversation(contactId: string): Promise<ChannelConversation | null> {
    return doc<ChannelConversation>(this.ctx.db, 'SELECT data FROM channel_conversations WHERE contact_id = $1 ORDER BY updated_at DESC LIMIT 1', [contactId]);
  }

  touchConversation(conversationId: string, updateDt: number, agents?: string[]): Promise<void> {
    return this.ctx.write(async (tx) => {
      const old = await doc<ChannelConversation>(tx, CONVERSATION, [conversationId]);
      if (!old) throw new CoreError('not_exist', `conversation ${conversationId} does not exist`);
      const rec: ChannelConversation = { ...old, updateDt: Math.max(old.updateDt, updateDt), ...(agents ? { agents } : {}) };
      await tx.run('UPDATE channel_conversations SET updated_at = GREATEST(updated_at, $1), data = $2 WHERE id = $3', [rec.updateDt, JSON.stringify(rec), conversationId]);
    });
  }

  // ------------------------------------------------------------ messages

  recordMessage(m: ChannelMessage): Promise<ChannelMessage> {
    return this.ctx.write((tx) => recordChannelMessage(tx, m));
  }

  messageByUid(uid: number): Promise<ChannelMessage | null> {
    return doc<ChannelMessage>(this.ctx.db, 'SELECT data FROM channel_messages WHERE uid = $1', [uid]);
  }

  messageByGuid(guid: string): Promise<ChannelMessage | null> {
    return doc<ChannelMessage>(this.ctx.db, MESSAGE_BY_GUID, [guid]);
  }

  async messageByOriginal(channelAccountId: string, originalMessageId: string): Promise<ChannelMessage | null> {
    if (originalMessageId === '') return null;
    return doc<ChannelMessage>(this.ctx.db, 'SELECT data FROM channel_messages WHERE account_id = $1 AND original_id = $2', [channelAccountId, originalMessageId]);
  }

  updateDelivery(guid: string, u: DeliveryUpdate, updatedAt: number): Promise<ChannelMessage> {
    return this.ctx.write(async (tx) => {
      const rec = await changeDelivery(tx, guid, u, updatedAt);
      if (!rec) throw new CoreError('not_exist', `message ${guid} does not exist`);
      return rec;
    });
  }
}

/**
 * updateDelivery inside a write command (also for a delivery change the outbox applies with a job's
 * final outcome): the message as it stands after the change, or null for an unknown guid.
 */
export async function changeDelivery(tx: Queryable, guid: string, u: DeliveryUpdate, updatedAt: number): Promise<ChannelMessage | null> {
  const old = await doc<ChannelMessage>(tx, MESSAGE_BY_GUID, [guid]);
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
  const renamed = rec.originalMessageId !== '' && rec.originalMessageId !== old.originalMessageId ? rec.originalMessageId : '';
  await tx.run(
    `UPDATE channel_messages SET data = $1,
       original_id = CASE WHEN $2::text = '' THEN original_id
         WHEN EXISTS (SELECT 1 FROM channel_messages o WHERE o.account_id = $3 AND o.original_id = $2 AND o.uid <> $4) THEN original_id
         ELSE $2 END
     WHERE guid = $5`,
    [JSON.stringify(rec), renamed, rec.channelAccountId, rec.uid, guid],
  );
  return rec;
}

/**
 * Delivery changes of a settle (the outbox's ChannelDeliveryRecords), in order, as changeDelivery
 * applies them one by one. When each names another message and changes its status alone (the case of
 * every outcome), they are one statement: the stored documents are edited in place (jsonb), the
 * `onlyFrom` check in its WHERE, instead of a read and a write per record (two round trips each).
 * Otherwise, one by one. An unknown guid writes nothing.
 */
export async function changeDeliveries(tx: Queryable, changes: Array<{ guid: string; update: DeliveryUpdate; updatedAt: number }>): Promise<void> {
  if (changes.length === 0) return;
  if (new Set(changes.map((c) => c.guid)).size !== changes.length || !changes.every((c) => isStatusOnly(c.update))) {
    for (const c of changes) await changeDelivery(tx, c.guid, c.update, c.updatedAt);
    return;
  }
  await tx.run(
    `UPDATE channel_messages m
        SET data = (m.data::jsonb || jsonb_build_object('delivery', x.delivery, 'deliveryError', x.error, 'updatedAt', x.updated_at))::text
       FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[]) AS x(guid, delivery, error, updated_at, only_from)
      WHERE m.guid = x.guid AND (x.only_from IS NULL OR m.data::jsonb ->> 'delivery' = ANY (string_to_array(x.only_from, ',')))`,
    [
      changes.map((c) => c.guid),
      changes.map((c) => c.update.delivery),
      changes.map((c) => c.update.deliveryError ?? ''),
      changes.map((c) => c.updatedAt),
      changes.map((c) => (c.update.onlyFrom ? c.update.onlyFrom.join(',') : null)),
    ],
  );
}

/**
 * ChannelAppStore.recordMessage inside a write command (also for the message part's appendMessage
 * with a draft's `channel`): insert unless the uid, or (account, original id), is recorded already —
 * then the stored one is returned — and make the conversation the contact's latest (updated_at only,
 * in steps of CONVERSATION_ACTIVITY_STEP_MS; the document keeps its updateDt). One statement: the lookup, the insert and the conversation's
 * bump are CTEs of it.
 */
export async function recordChannelMessage(tx: Queryable, m: ChannelMessage): Promise<ChannelMessage> {
  const original = m.originalMessageId === '' ? null : m.originalMessageId;
  const r = await tx.row<{ data: string | null }>(
    `WITH same AS (
       SELECT data FROM (
         SELECT data, 0 AS k FROM channel_messages WHERE uid = $1
         UNION ALL
         SELECT data, 1 AS k FROM channel_messages WHERE $4::text IS NOT NULL AND account_id = $3 AND original_id = $4
       ) s ORDER BY k LIMIT 1
     ), ins AS (
       INSERT INTO channel_messages(uid, guid, account_id, original_id, data)
       SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM same)
       RETURNING uid
     ), bump AS (
       UPDATE channel_conversations SET updated_at = $6 WHERE id = $7 AND updated_at <= $8 AND EXISTS (SELECT 1 FROM ins)
     )
     SELECT (SELECT data FROM same) AS data`,
    [m.uid, m.guid, m.channelAccountId, original, JSON.stringify(m), m.createdAt, m.conversationId, m.createdAt - CONVERSATION_ACTIVITY_STEP_MS],
  );
  return r?.data ? (JSON.parse(r.data) as ChannelMessage) : m;
}
