import { uidFloor } from '../../core/ids.js';
import { forEachConversationRow, perspective } from '../../core/message-plan.js';
import type { Conversation } from '../../core/model.js';
import { ConvType, ReceiverState } from '../../core/model.js';
import { countsAsUnread, mayCountAsUnread, UNREAD_RULE, unreadDelta } from '../../core/unread.js';
import { EventType, type Params } from './message-rows.js';
import type { Queryable } from './pool.js';

/**
 * Unread counters of the PostgreSQL store: `conversations.unread` per (user, conversation as the user
 * sees it), shown for visible rows, over the messages a user received through per-user rows. The store
 * never decides what counts: core's rule (src/core/unread.ts) does. Invariant (store contract): counter
 * = `recount` after every mutation. Unlike SQLite nothing is buffered or cached: every counter change
 * is written in the mutation's own command (other nodes read and write the same rows).
 *
 * - send: the conversation rows of core's forEachConversationRow, upserted in the write statement of the send (sent-rows.ts: of a run of sends).
 *   Clauses 1 to 4 of the rule are decided here with core's countsAsUnread on the facts of a new
 *   message (no receiver state, no hide, no mark); clauses 5 and 6, which depend on rows of the
 *   receiver (its hides, its read mark), are applied by the statement with UNREAD_RULE's meaning: a
 *   hide covering the timestamp, or a read mark at or after it, makes the message not count.
 * - recall, delete, update, per-receiver recall / delete: each listed receiver's view is read in one
 *   statement, core's unreadDelta gives the moves, one statement applies them.
 * - read, clear_by_user, conversation delete: the counter is recounted (their effect is a time range).
 */

/** The facts of a message that are the same for every user. */
export interface MessageUnreadFacts {
  uid: number;
  sender: string;
  conv: Conversation;
  kind: number;
  persistFlag: number;
  status: number;
  timestamp: number;
}

/** Conversation rows sends move, as columns (row i: users[i], types[i], …), in the sends' order. */
export interface SentConversations {
  users: string[];
  types: number[];
  targets: string[];
  lines: number[];
  /** 1: the message may count as unread for this user (clauses 1 to 4), before its hides and read mark. */
  counts: number[];
  /** The message's uid and timestamp. */
  uids: number[];
  stamps: number[];
}

export function noSentConversations(): SentConversations {
  return { users: [], types: [], targets: [], lines: [], counts: [], uids: [], stamps: [] };
}

/**
 * Append the conversation rows a listed message moves for its receivers (core's forEachConversationRow)
 * to `into`. Clauses 1 to 4 of the rule are decided here with core's countsAsUnread on the facts of a
 * new message (no receiver state, no hide, no mark).
 */
export function addSentConversations(into: SentConversations, m: MessageUnreadFacts, recipients: readonly string[]): void {
  const fresh = { ...m, receiverState: ReceiverState.none, hidden: false, readMark: 0 };
  const may = mayCountAsUnread(m);
  forEachConversationRow(m, recipients, (u, conv) => {
    into.users.push(u);
    into.types.push(conv.type);
    into.targets.push(conv.target);
    into.lines.push(conv.line);
    into.counts.push(may && countsAsUnread(u, fresh) ? 1 : 0);
    into.uids.push(m.uid);
    into.stamps.push(m.timestamp);
  });
}

/**
 * The CTE part `name AS (…)` upserting sent conversation rows (see the header): clauses 5 and 6 are
 * applied with UNREAD_RULE's meaning (a hide covering the message's timestamp, or a read mark at or
 * after it, makes it not count). Last message: the largest uid; a newer message, or one that counts,
 * makes the conversation visible again. The rows must name distinct conversations (one statement
 * cannot move a row twice): several messages of one conversation take one statement each, in order.
 */
export function sentConversationsPart(b: Params, rows: SentConversations, name = 'cv'): string {
  return `${name} AS (
    INSERT INTO conversations AS c (user_id, conv_type, conv_target, conv_line, unread, last_uid, last_ts, visible)
    SELECT x.u, x.t, x.tg, x.l,
           CASE WHEN x.n > 0 AND NOT EXISTS (SELECT 1 FROM user_hides h WHERE h.user_id = x.u AND h.conv_type = x.t AND h.conv_target = x.tg
                                               AND h.conv_line = x.l AND h.start_ts <= x.ts AND x.ts <= h.end_ts) THEN 1 ELSE 0 END,
           x.m, x.ts, 1
      FROM unnest(${b.p(rows.users)}::text[], ${b.p(rows.types)}::bigint[], ${b.p(rows.targets)}::text[], ${b.p(rows.lines)}::bigint[],
                  ${b.p(rows.counts)}::bigint[], ${b.p(rows.uids)}::bigint[], ${b.p(rows.stamps)}::bigint[]) AS x(u, t, tg, l, n, m, ts)
    ON CONFLICT (user_id, conv_type, conv_target, conv_line) DO UPDATE SET
      unread = c.unread + CASE WHEN excluded.last_ts > c.read_ts THEN excluded.unread ELSE 0 END,
      last_uid = GREATEST(c.last_uid, excluded.last_uid),
      last_ts = CASE WHEN excluded.last_uid > c.last_uid THEN excluded.last_ts ELSE c.last_ts END,
      visible = CASE WHEN excluded.last_uid > c.last_uid OR (excluded.unread > 0 AND excluded.last_ts > c.read_ts) THEN 1 ELSE c.visible END)`;
}

/** One receiver's view of a message (clauses 4 to 6 of the rule). */
interface View {
  receiverState: number;
  hidden: boolean;
  readMark: number;
}

/** The views of `users` of message `m` (each in the conversation as it sees it), in one statement. */
async function views(q: Queryable, m: MessageUnreadFacts, users: string[]): Promise<Map<string, { conv: Conversation; view: View }>> {
  const convs = users.map((u) => perspective(m, u));
  const rows = await q.rows<{ o: number; state: number; hidden: boolean; mark: number }>(
    `SELECT x.o, COALESCE(s.state, 0) AS state, COALESCE(c.read_ts, 0) AS mark,
            EXISTS (SELECT 1 FROM user_hides h WHERE h.user_id = x.u AND h.conv_type = x.t AND h.conv_target = x.tg AND h.conv_line = x.l
                      AND h.start_ts <= $2 AND $2 <= h.end_ts) AS hidden
       FROM unnest($3::text[], $4::bigint[], $5::text[], $6::bigint[]) WITH ORDINALITY AS x(u, t, tg, l, o)
       LEFT JOIN user_message_state s ON s.user_id = x.u AND s.uid = $1
       LEFT JOIN conversations c ON c.user_id = x.u AND c.conv_type = x.t AND c.conv_target = x.tg AND c.conv_line = x.l`,
    [m.uid, m.timestamp, users, convs.map((c) => c.type), convs.map((c) => c.target), convs.map((c) => c.line)],
  );
  const out = new Map<string, { conv: Conversation; view: View }>();
  for (const r of rows) out.set(users[r.o - 1]!, { conv: convs[r.o - 1]!, view: { receiverState: r.state, hidden: r.hidden, readMark: r.mark } });
  return out;
}

/** Counter moves of several users; a message that starts counting brings its conversation into the list. */
async function applyMoves(q: Queryable, m: MessageUnreadFacts, moves: Array<{ userId: string; conv: Conversation; delta: number }>): Promise<void> {
  const down = moves.filter((x) => x.delta < 0);
  const up = moves.filter((x) => x.delta > 0);
  const cols = (xs: typeof moves) => [xs.map((x) => x.userId), xs.map((x) => x.conv.type), xs.map((x) => x.conv.target), xs.map((x) => x.conv.line), xs.map((x) => x.delta)];
  if (down.length > 0) {
    await q.run(
      `UPDATE conversations c SET unread = GREATEST(c.unread + x.d, 0)
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) AS x(u, t, tg, l, d)
        WHERE c.user_id = x.u AND c.conv_type = x.t AND c.conv_target = x.tg AND c.conv_line = x.l`,
      cols(down),
    );
  }
  if (up.length > 0) {
    await q.run(
      `INSERT INTO conversations AS c (user_id, conv_type, conv_target, conv_line, unread, last_uid, last_ts, visible)
       SELECT x.u, x.t, x.tg, x.l, x.d, $6, $7, 1 FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) AS x(u, t, tg, l, d)
       ON CONFLICT (user_id, conv_type, conv_target, conv_line) DO UPDATE SET unread = c.unread + excluded.unread, visible = 1,
         last_uid = GREATEST(c.last_uid, excluded.last_uid),
         last_ts = CASE WHEN excluded.last_uid > c.last_uid THEN excluded.last_ts ELSE c.last_ts END`,
      [...cols(up), m.uid, m.timestamp],
    );
  }
}

/**
 * The message's own facts change (recall, delete, update of the persist flag): move the counter of
 * each listed receiver by core's unreadDelta. Inside the mutation's command.
 */
export async function messageChanged(q: Queryable, before: MessageUnreadFacts, after: Pick<MessageUnreadFacts, 'persistFlag' | 'status'>, receivers: string[]): Promise<void> {
  if (!mayCountAsUnread(before) && !mayCountAsUnread(after)) return;
  const users = receivers.filter((u) => u !== before.sender);
  if (users.length === 0) return;
  const vs = await views(q, before, users);
  const moves: Array<{ userId: string; conv: Conversation; delta: number }> = [];
  for (const [u, { conv, view }] of vs) {
    const delta = unreadDelta(u, { ...before, ...view }, { ...before, ...after, ...view });
    if (delta !== 0) moves.push({ userId: u, conv, delta });
  }
  await applyMoves(q, before, moves);
}

/** Receivers' states of the message rise to `state` (per-receiver recall or delete); before the states are written. */
export async function receiversChanged(q: Queryable, m: MessageUnreadFacts, users: string[], state: number): Promise<void> {
  const others = users.filter((u) => u !== m.sender);
  if (!mayCountAsUnread(m) || others.length === 0) return;
  const vs = await views(q, m, others);
  const moves: Array<{ userId: string; conv: Conversation; delta: number }> = [];
  for (const [u, { conv, view }] of vs) {
    const delta = unreadDelta(u, { ...m, ...view }, { ...m, ...view, receiverState: state });
    if (delta !== 0) moves.push({ userId: u, conv, delta });
  }
  await applyMoves(q, m, moves);
}

/** The recount (the rule's six clauses in SQL, UNREAD_RULE's values), by how the conversation matches messages. */
const COUNTED_FLAGS = UNREAD_RULE.countedPersistFlags.map((f) => String(Math.trunc(f))).join(', ');
function recountSql(convMatch: string): string {
  return `SELECT COUNT(*) AS n FROM inbox i JOIN messages m ON m.uid = i.uid
   WHERE i.user_id = $1 AND i.type = ${EventType.message} AND i.uid >= $2 AND ${convMatch}
     AND m.sender <> $1
     AND (m.payload::json->>'persistFlag')::bigint IN (${COUNTED_FLAGS})
     AND m.status = ${Math.trunc(UNREAD_RULE.countedStatus)}
     AND NOT EXISTS (SELECT 1 FROM user_message_state s WHERE s.user_id = $1 AND s.uid = m.uid AND s.state <> ${Math.trunc(UNREAD_RULE.countedReceiverState)})
     AND NOT EXISTS (SELECT 1 FROM user_hides h WHERE h.user_id = $1 AND h.conv_type = $4 AND h.conv_target = $5
                     AND h.conv_line = $6 AND h.start_ts <= m.timestamp AND m.timestamp <= h.end_ts)
     AND m.timestamp > $3`;
}

/**
 * The recount statements. `convMatch` selects the messages of the conversation as the user sees it
 * (the inverse of core's perspective): a single chat with T holds T's single-chat messages to the
 * user and T's multicasts and broadcasts; a group or channel its own conversation messages. The
 * user's message rows are read from uidFloor(mark) up (index inbox_user_uid).
 */
export const RECOUNT_SQL = {
  single: recountSql(`m.sender = $5 AND m.conv_line = $6 AND ((m.kind = 0 AND m.conv_type = 0 AND m.conv_target = $1) OR m.kind IN (1, 2))`),
  shared: recountSql(`m.conv_type = $4 AND m.conv_target = $5 AND m.conv_line = $6 AND m.kind = 0`),
} as const;

/** Counted messages of `conv` as the user sees it after `mark` (ms), by the rule, from the stored rows. */
export async function recount(q: Queryable, userId: string, conv: Conversation, mark: number): Promise<number> {
  const sql = conv.type === ConvType.single ? RECOUNT_SQL.single : RECOUNT_SQL.shared;
  const r = await q.row<{ n: number }>(sql, [userId, uidFloor(mark), mark, conv.type, conv.target, conv.line]);
  return r?.n ?? 0;
}

/** The user's unread total over the visible conversations of a type. */
export async function unreadTotal(q: Queryable, userId: string, convType: number): Promise<number> {
  const r = await q.row<{ n: number }>('SELECT COALESCE(SUM(unread), 0)::bigint AS n FROM conversations WHERE user_id = $1 AND conv_type = $2 AND visible = 1', [
    userId,
    convType,
  ]);
  return r?.n ?? 0;
}
