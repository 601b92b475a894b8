/**
 * Indexes of the messages part (src/store/pg/messages.ts, conversations.ts, sync.ts).
 *
 * inbox_user_uid: a user's received messages by uid. The unread recount reads the messages of a user
 * newer than a read mark: a message's uid is issued at or after its timestamp (core/ids.ts uidFloor),
 * so they are the user's message rows from uidFloor(mark) up. SQLite bounds that read by seq instead
 * (uids and seqs come from one writer there); across nodes uids and seqs are not in the same order.
 */
export const MESSAGES_SCHEMA = `
  CREATE INDEX inbox_user_uid ON inbox(user_id, uid) WHERE type = 1;
`;
