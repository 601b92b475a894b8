import type { ChannelMessage } from '../../core/channel-apps/model.js';
import type { Queryable } from './pool.js';

/**
 * A channel conversation's message metadata, recorded inside the send's command (MessageDraft.channel),
 * as SQLite's recordChannelMessage does and ChannelAppStore.recordMessage would: insert unless the uid,
 * or (account, original id), is recorded already — then the stored one — and make the conversation the
 * contact's latest (updated_at only; the document keeps its updateDt). One statement.
 */
export async function recordChannelMessage(q: Queryable, m: ChannelMessage): Promise<ChannelMessage> {
  const original = m.originalMessageId === '' ? null : m.originalMessageId;
  const r = await q.row<{ data: string }>(
    `WITH same AS (
       SELECT data FROM channel_messages WHERE uid = $1
       UNION ALL SELECT data FROM channel_messages WHERE $4::text IS NOT NULL AND account_id = $3 AND original_id = $4
       LIMIT 1),
     ins AS (
       INSERT INTO channel_messages(uid, guid, account_id, original_id, data)
       SELECT $1::bigint, $2::text, $3::text, $4::text, $5::text WHERE NOT EXISTS (SELECT 1 FROM same)
       RETURNING uid),
     touch AS (
       UPDATE channel_conversations SET updated_at = GREATEST(updated_at, $6) WHERE id = $7 AND EXISTS (SELECT 1 FROM ins))
     SELECT data FROM same`,
    [m.uid, m.guid, m.channelAccountId, original, JSON.stringify(m), m.createdAt, m.conversationId],
  );
  return r ? (JSON.parse(r.data) as ChannelMessage) : m;
}
