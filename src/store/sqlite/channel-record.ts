import type { ChannelMessage } from '../../core/channel-apps/model.js';
import type { MessageDraft } from '../../core/ports/store.js';

/**
 * How the SQLite store keeps a channel message's metadata (table channel_messages): `uid`, `guid` and
 * `account_id` are columns; `data` is a JSON document of the other fields, without the fields that hold
 * their usual empty value ('' strings, createTime 0, delivery 'none', updatedAt equal to createdAt),
 * which reading restores. Rows written before this form (every field in the document) read the same.
 *
 * A packed record crosses the writer thread's boundary as one string (threaded-store.ts packs a
 * draft's record on the main thread), so the record is neither cloned field by field nor serialised
 * on the writer thread.
 */
export interface PackedChannelRecord {
  packed: string;
  guid: string;
  channelAccountId: string;
  /** '' when none (then not entered in the (account, original id) index). */
  originalMessageId: string;
  conversationId: string;
  createdAt: number;
}

/** A stored document: the fields of a ChannelMessage but the columns, each optional. */
type Document = Partial<Omit<ChannelMessage, 'uid' | 'guid' | 'channelAccountId'>>;

function orUndefined(s: string): string | undefined {
  return s === '' ? undefined : s;
}

/** The document of a record (JSON.stringify leaves out the fields set to undefined here). */
export function packDocument(m: Omit<ChannelMessage, 'uid'>): string {
  const doc: Document = {
    conversationId: m.conversationId,
    contactId: m.contactId,
    direction: m.direction,
    isReceive: m.isReceive,
    channelId: m.channelId,
    originalMessageId: orUndefined(m.originalMessageId),
    originalParentId: orUndefined(m.originalParentId),
    originalConversationId: orUndefined(m.originalConversationId),
    originalUrl: orUndefined(m.originalUrl),
    subject: orUndefined(m.subject),
    cc: orUndefined(m.cc),
    contents: m.contents,
    createTime: m.createTime === 0 ? undefined : m.createTime,
    raw: m.raw,
    delivery: m.delivery === 'none' ? undefined : m.delivery,
    deliveryError: orUndefined(m.deliveryError),
    originalMessageUrl: orUndefined(m.originalMessageUrl),
    createdAt: m.createdAt,
    updatedAt: m.updatedAt === m.createdAt ? undefined : m.updatedAt,
  };
  return JSON.stringify(doc);
}

export function packChannelRecord(m: Omit<ChannelMessage, 'uid'>): PackedChannelRecord {
  return {
    packed: packDocument(m),
    guid: m.guid,
    channelAccountId: m.channelAccountId,
    originalMessageId: m.originalMessageId,
    conversationId: m.conversationId,
    createdAt: m.createdAt,
  };
}

/** Whether a draft's record was packed already (by the main thread). */
export function isPacked(m: Omit<ChannelMessage, 'uid'> | PackedChannelRecord): m is PackedChannelRecord {
  return typeof (m as Partial<PackedChannelRecord>).packed === 'string';
}

/** A stored channel_messages row as read (the threaded store sends it across as is: see thread-protocol.ts). */
export interface ChannelMessageRow {
  uid: number;
  guid: string;
  account_id: string;
  data: string;
}

/** A stored row back as a ChannelMessage. */
export function unpackChannelRecord(row: ChannelMessageRow): ChannelMessage {
  const d = JSON.parse(row.data) as Document;
  const createdAt = d.createdAt ?? 0;
  return {
    uid: row.uid,
    guid: row.guid,
    conversationId: d.conversationId ?? '',
    channelAccountId: row.account_id,
    contactId: d.contactId ?? '',
    direction: d.direction ?? 'in',
    isReceive: d.isReceive ?? true,
    channelId: d.channelId ?? '',
    originalMessageId: d.originalMessageId ?? '',
    originalParentId: d.originalParentId ?? '',
    originalConversationId: d.originalConversationId ?? '',
    originalUrl: d.originalUrl ?? '',
    subject: d.subject ?? '',
    cc: d.cc ?? '',
    contents: d.contents ?? [],
    createTime: d.createTime ?? 0,
    raw: d.raw ?? {},
    delivery: d.delivery ?? 'none',
    deliveryError: d.deliveryError ?? '',
    originalMessageUrl: d.originalMessageUrl ?? '',
    createdAt,
    updatedAt: d.updatedAt ?? createdAt,
  };
}

/** A message draft whose channel record is packed, as the writer thread receives it. */
export type SqliteDraft = Omit<MessageDraft, 'channel'> & { channel?: PackedChannelRecord };

/** The draft to send to the writer thread: its channel record packed (the payload object itself is kept). */
export function packDraft(d: MessageDraft): MessageDraft | SqliteDraft {
  return d.channel ? { ...d, channel: packChannelRecord(d.channel) } : d;
}
