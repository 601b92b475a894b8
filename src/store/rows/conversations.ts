import type { ConversationPage, ConversationState } from '../../core/ports/store.js';

/** The conversations table's row shape (a user's view of one conversation) and its list query, shared by every SQL store. */
export interface ConvRow {
  conv_type: number;
  conv_target: string;
  conv_line: number;
  unread: number;
  last_uid: number;
  last_ts: number;
  read_ts: number;
}

export const CONV_COLS = 'conv_type, conv_target, conv_line, unread, last_uid, last_ts, read_ts';

export function toConversationState(r: ConvRow): ConversationState {
  return {
    conv: { type: r.conv_type, target: r.conv_target, line: r.conv_line },
    unread: r.unread,
    lastUid: r.last_uid,
    lastTimestamp: r.last_ts,
    readTimestamp: r.read_ts,
  };
}

/**
 * The query of ConversationStore.listConversations: the user's visible conversations in the port's total
 * order (last_ts descending, then type, target, line), a page of them when `page` is given (keyset: the
 * rows after `page.after` in that order). `p(i)` writes the store's i-th placeholder (1-based); the
 * parameters follow the placeholders: user, then the cursor's timestamp twice and its conversation,
 * then the limit.
 */
export function listConversationsQuery(userId: string, page: ConversationPage | undefined, p: (i: number) => string): { sql: string; params: Array<string | number> } {
  const head = `SELECT ${CONV_COLS} FROM conversations WHERE user_id = ${p(1)} AND visible = 1`;
  const order = 'ORDER BY last_ts DESC, conv_type, conv_target, conv_line';
  if (!page) return { sql: `${head} ${order}`, params: [userId] };
  if (!page.after) return { sql: `${head} ${order} LIMIT ${p(2)}`, params: [userId, page.limit] };
  const a = page.after;
  return {
    sql: `${head} AND (last_ts < ${p(2)} OR (last_ts = ${p(3)} AND (conv_type, conv_target, conv_line) > (${p(4)}, ${p(5)}, ${p(6)}))) ${order} LIMIT ${p(7)}`,
    params: [userId, a.lastTimestamp, a.lastTimestamp, a.conv.type, a.conv.target, a.conv.line, page.limit],
  };
}
