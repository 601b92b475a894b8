import type Database from 'better-sqlite3';
import { uidFloor } from '../../core/ids.js';
import type { Conversation } from '../../core/model.js';
import { ConvType, ReceiverState } from '../../core/model.js';
import { countsAsUnread, mayCountAsUnread, UNREAD_RULE, unreadDelta, type UnreadFacts } from '../../core/unread.js';
import type { SqliteContext } from './context.js';
import { EventType } from '../rows/messages.js';
import { perspective } from './message-rows.js';

/**
 * Unread counters of the SQLite store. The store never decides what counts: it reads the facts of
 * core's rule (src/core/unread.ts) and applies what `countsAsUnread` / `unreadDelta` answer.
 *
 * Counters: `conversations.unread` per (user, conversation as the user sees it), plus the deltas still
 * buffered in the write-behind (see write-behind.ts); shown only for visible rows. They cover the
 * messages a user received through per-user rows (`inbox` rows of type message: single chats,
 * multicasts, groups and channels up to inlineFanoutMax); messages of a shared timeline are not
 * counted. Invariant, checked by the store contract after every mutation: counter = `recount`.
 *
 * How each mutation keeps it (all inside the mutation's own writer command):
 * - send: +countsAsUnread per receiver, buffered. No statement on this path unless a read mark or a
 *   hide of that receiver may reach the message's timestamp (`MarkHorizon`): only then are its read
 *   mark and hides read. A new message has no receiver state.
 * - recall, delete (everyone), update (persist flag), per-receiver recall / delete: unreadDelta of the
 *   facts before and after, per listed receiver, applied after materialising that receiver's rows.
 * - read, clear_by_user, conversation delete: the counter is recounted (their effect is a time range).
 */

/** The SQL of the recount, clause by clause (numbers as in src/core/unread.ts). */
const COUNTED_FLAGS = UNREAD_RULE.countedPersistFlags.map((f) => String(Math.trunc(f))).join(', ');
function recountSql(convMatch: string): string {
  return `SELECT COUNT(*) AS n FROM inbox i JOIN messages m ON m.uid = i.uid
   WHERE i.user_id = @u AND i.type = ${EventType.message} AND i.seq >= @s0 AND ${convMatch}
     AND m.sender <> @u
     AND json_extract(m.payload, '$.persistFlag') IN (${COUNTED_FLAGS})
     AND m.status = ${Math.trunc(UNREAD_RULE.countedStatus)}
     AND NOT EXISTS (SELECT 1 FROM user_message_state s WHERE s.user_id = @u AND s.uid = m.uid AND s.state <> ${Math.trunc(UNREAD_RULE.countedReceiverState)})
     AND NOT EXISTS (SELECT 1 FROM user_hides h WHERE h.user_id = @u AND h.conv_type = @type AND h.conv_target = @target
                     AND h.conv_line = @line AND h.start_ts <= m.timestamp AND m.timestamp <= h.end_ts)
     AND m.timestamp > @mark`;
}

/**
 * The recount statements. The user's inbox rows are its received messages (type message), read from
 * the first seq a message newer than the read mark can have (`firstSeqAfter`). `convMatch` selects the
 * messages of the conversation as the user sees it (the inverse of `perspective`): a single chat with
 * T holds T's single-chat messages to the user and T's multicasts and broadcasts; a group or channel
 * its own conversation messages.
 */
export const RECOUNT_SQL = {
  single: recountSql(`m.sender = @target AND m.conv_line = @line AND ((m.kind = 0 AND m.conv_type = 0 AND m.conv_target = @u) OR m.kind IN (1, 2))`),
  shared: recountSql(`m.conv_type = @type AND m.conv_target = @target AND m.conv_line = @line AND m.kind = 0`),
} as const;

/** The user's view of a message read from the tables: clauses 4 to 6 of the rule. */
export interface UnreadView {
  receiverState: number;
  hidden: boolean;
  readMark: number;
}

const FRESH: UnreadView = { receiverState: ReceiverState.none, hidden: false, readMark: 0 };

type Stmt = (sql: string) => Database.Statement;

/** The view of one user of the message `uid` (time `timestamp`) in `conv` as the user sees it. */
export function readView(stmt: Stmt, userId: string, conv: Conversation, uid: number, timestamp: number, withState = true): UnreadView {
  const state = withState
    ? ((stmt('SELECT state FROM user_message_state WHERE user_id = ? AND uid = ?').get(userId, uid) as { state: number } | undefined)?.state ??
      ReceiverState.none)
    : ReceiverState.none;
  const hidden =
    stmt(
      `SELECT 1 AS h FROM user_hides WHERE user_id = ? AND conv_type = ? AND conv_target = ? AND conv_line = ?
       AND start_ts <= ? AND ? <= end_ts LIMIT 1`,
    ).get(userId, conv.type, conv.target, conv.line, timestamp, timestamp) !== undefined;
  const mark =
    (
      stmt('SELECT read_ts FROM conversations WHERE user_id = ? AND conv_type = ? AND conv_target = ? AND conv_line = ?').get(
        userId,
        conv.type,
        conv.target,
        conv.line,
      ) as { read_ts: number } | undefined
    )?.read_ts ?? 0;
  return { receiverState: state, hidden, readMark: mark };
}

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

/** How long a user's latest read mark or hide end is remembered per user (see MarkHorizon). */
const MARK_RETAIN_MS = 60_000;
/** Reservations remembered until their message is appended (see recount slack). */
const MAX_RESERVATIONS = 65_536;

/**
 * Which users' read marks or hides may reach a new message, without a statement: a mark at or after a
 * message's timestamp means read, a hide ending at or after it may cover it. Marks and hide ends are
 * remembered per user for MARK_RETAIN_MS (plus every one in the future), older ones only as `floor`,
 * the latest of them; the largest ever written is kept in meta.unread_mark_max, which is the floor
 * after a restart. A message newer than both its receiver's entry and the floor is reached by no mark
 * and no hide: its view is FRESH. Otherwise the view is read (exact, just slower). Remembering too
 * much is always safe; so a rolled-back command's marks may stay.
 */
class MarkHorizon {
  private readonly recent = new Map<string, number>();
  private floor: number;
  private pruneAt = 1024;

  constructor(private readonly stmt: Stmt) {
    this.floor = (stmt(`SELECT value FROM meta WHERE key = 'unread_mark_max'`).get() as { value: number } | undefined)?.value ?? 0;
  }

  mayReach(userId: string, timestamp: number): boolean {
    if (timestamp <= this.floor) return true;
    const end = this.recent.get(userId);
    return end !== undefined && timestamp <= end;
  }

  /** A read mark or hide end of the user was written (inside that writer command). */
  raise(userId: string, end: number): void {
    const cur = this.recent.get(userId);
    if (cur === undefined || end > cur) this.recent.set(userId, end);
    this.stmt(`INSERT INTO meta(key, value) VALUES ('unread_mark_max', ?) ON CONFLICT(key) DO UPDATE SET value = MAX(value, excluded.value)`).run(end);
    if (this.recent.size >= this.pruneAt) this.prune();
  }

  private prune(): void {
    const old = Date.now() - MARK_RETAIN_MS;
    for (const [u, end] of this.recent) {
      if (end < old) {
        this.recent.delete(u);
        if (end > this.floor) this.floor = end;
      }
    }
    this.pruneAt = Math.max(1024, this.recent.size * 2);
  }
}

export class SqliteUnread {
  private readonly horizon: MarkHorizon;
  /** Uid of a reserved identity → the last seq allocated when it was reserved. */
  private readonly reservations = new Map<number, number>();
  /** See `firstSeqAfter`; persisted as meta.recount_seq_slack. */
  private slack: number;
  private readonly stmt: Stmt;

  constructor(private readonly ctx: SqliteContext) {
    this.stmt = (sql) => ctx.stmt(sql);
    this.horizon = new MarkHorizon(this.stmt);
    this.slack = (this.stmt(`SELECT value FROM meta WHERE key = 'recount_seq_slack'`).get() as { value: number } | undefined)?.value ?? 0;
  }

  // ------------------------------------------------------------------ send

  /**
   * The unread a just-written message adds for each receiver (0 or 1), as core's rule decides with
   * the receiver's view. The view is FRESH unless a mark or hide of the receiver may reach the message.
   */
  sentUnread(m: MessageUnreadFacts): (userId: string, conv: Conversation) => number {
    if (!mayCountAsUnread(m)) return () => 0;
    const fresh: UnreadFacts = { ...m, ...FRESH };
    return (userId, conv) => {
      if (!this.horizon.mayReach(userId, m.timestamp)) return countsAsUnread(userId, fresh) ? 1 : 0;
      return countsAsUnread(userId, { ...m, ...readView(this.stmt, userId, conv, m.uid, m.timestamp, false) }) ? 1 : 0;
    };
  }

  // ------------------------------------------------------------------ mutations

  /**
   * The message's own facts change (recall, delete, update of the persist flag): move the counter of
   * each listed receiver by core's unreadDelta.
   */
  messageChanged(before: MessageUnreadFacts, after: Pick<MessageUnreadFacts, 'persistFlag' | 'status'>, receivers: string[]): void {
    if (!mayCountAsUnread(before) && !mayCountAsUnread(after)) return;
    for (const u of receivers) {
      if (u === before.sender) continue;
      const conv = perspective(before, u);
      const view = readView(this.stmt, u, conv, before.uid, before.timestamp);
      this.apply(u, conv, unreadDelta(u, { ...before, ...view }, { ...before, ...after, ...view }), before);
    }
  }

  /** One receiver's state of the message rises (per-receiver recall or delete). */
  receiverChanged(m: MessageUnreadFacts, userId: string, state: number): void {
    if (!mayCountAsUnread(m) || userId === m.sender) return;
    const conv = perspective(m, userId);
    const view = readView(this.stmt, userId, conv, m.uid, m.timestamp);
    this.apply(userId, conv, unreadDelta(userId, { ...m, ...view }, { ...m, ...view, receiverState: state }), m);
  }

  /** A counter moves by `delta`; a message that starts counting brings its conversation into the list. */
  private apply(userId: string, conv: Conversation, delta: number, m: MessageUnreadFacts): void {
    if (delta === 0) return;
    this.ctx.wb.materializeUser(userId);
    if (delta < 0) {
      this.stmt(
        `UPDATE conversations SET unread = MAX(unread + ?, 0) WHERE user_id = ? AND conv_type = ? AND conv_target = ? AND conv_line = ?`,
      ).run(delta, userId, conv.type, conv.target, conv.line);
      return;
    }
    this.stmt(
      `INSERT INTO conversations(user_id, conv_type, conv_target, conv_line, unread, last_uid, last_ts, visible) VALUES (?, ?, ?, ?, ?, ?, ?, 1)
       ON CONFLICT(user_id, conv_type, conv_target, conv_line) DO UPDATE SET unread = unread + excluded.unread, visible = 1,
         last_uid = MAX(last_uid, excluded.last_uid),
         last_ts = CASE WHEN excluded.last_uid > last_uid THEN excluded.last_ts ELSE last_ts END`,
    ).run(userId, conv.type, conv.target, conv.line, delta, m.uid, m.timestamp);
  }

  /** A read mark or hide end of the user was written (inside that command): see MarkHorizon. */
  marked(userId: string, end: number): void {
    this.horizon.raise(userId, end);
  }

  // ------------------------------------------------------------------ recount

  /**
   * Counted messages of `conv` as the user sees it after `mark` (ms), by the rule, from the stored
   * rows (the user's buffered rows must be materialised first).
   */
  recount(userId: string, conv: Conversation, mark: number): number {
    const s0 = this.firstSeqAfter(mark);
    if (s0 === null) return 0;
    const sql = conv.type === ConvType.single ? RECOUNT_SQL.single : RECOUNT_SQL.shared;
    return (
      this.stmt(sql).get({ u: userId, s0, mark, type: conv.type, target: conv.target, line: conv.line }) as { n: number }
    ).n;
  }

  /**
   * A seq at or below that of every message with a timestamp after `mark` (null: there is none).
   *
   * A message's uid is issued at or after its timestamp, so those messages have uids from
   * uidFloor(mark) up, and the first of them, X, is found through the primary key. Uids and seqs are
   * both issued by the writer, in order, so every message with a larger uid than X has a larger seq —
   * except that a reserved identity (reserveUid, for before-send hooks) gets its seq only when appended,
   * after messages whose uids are larger. `slack` is the largest such lateness ever seen: X's seq minus
   * the slack is at or below the seq of every message with a uid from X's up.
   */
  private firstSeqAfter(mark: number): number | null {
    const first = this.stmt('SELECT seq FROM messages WHERE uid >= ? ORDER BY uid LIMIT 1').get(uidFloor(mark)) as { seq: number } | undefined;
    return first ? Math.max(0, first.seq - this.slack) : null;
  }

  /** An identity was reserved (in the writer's thread): remember the seq counter at that moment. */
  reserved(uid: number): void {
    this.reservations.set(uid, this.ctx.currentSeq());
    if (this.reservations.size > MAX_RESERVATIONS) {
      // Never appended (dropped, rejected): forget the oldest; appending it later costs a range read.
      const oldest = this.reservations.keys().next().value;
      if (oldest !== undefined) this.reservations.delete(oldest);
    }
  }

  /**
   * A message with a reserved identity got its seq (inside its append command). Its lateness is how
   * far below its seq the seqs of messages with larger uids can be: every message whose uid was issued
   * after the reservation got a seq above the counter at that moment.
   */
  appendedReserved(uid: number, seq: number): void {
    const atReserve = this.reservations.get(uid);
    this.reservations.delete(uid);
    let lateness: number;
    if (atReserve !== undefined) {
      lateness = seq - atReserve - 1;
    } else {
      const min = (this.stmt('SELECT MIN(seq) AS s FROM messages WHERE uid > ?').get(uid) as { s: number | null }).s;
      lateness = min === null ? 0 : seq - min;
    }
    if (lateness <= 0) return;
    if (lateness > this.slack) this.slack = lateness;
    this.stmt(`INSERT INTO meta(key, value) VALUES ('recount_seq_slack', ?) ON CONFLICT(key) DO UPDATE SET value = MAX(value, excluded.value)`).run(lateness);
  }
}

/**
 * The unread (0 or 1) of a message re-derived after an unclean stop, for one receiver, by the rule with
 * the facts as they are now (it may have been recalled, deleted, read or hidden since). Outside the
 * writer, at open.
 */
export function recoveredUnread(stmt: Stmt, m: MessageUnreadFacts): (userId: string, conv: Conversation) => number {
  if (!mayCountAsUnread(m)) return () => 0;
  return (userId, conv) => (countsAsUnread(userId, { ...m, ...readView(stmt, userId, conv, m.uid, m.timestamp) }) ? 1 : 0);
}
