import type Database from 'better-sqlite3';
import type { Conversation } from '../../core/model.js';
import { forEachConversationRow, listedRecipients as coreListedRecipients, recipientsToStore } from '../../core/message-plan.js';
import { EventType, type MessageRow } from '../rows/messages.js';
import { UndoLog } from './undo-log.js';
import { recoveredUnread } from './unread.js';

/** One per-user sync row of a listed message (inbox table). */
export interface InboxRow {
  seq: number;
  type: number;
  uid: number;
  data: string | null;
}

/** What a message adds to one user's conversation row (conversations table). */
export interface ConvDelta {
  conv: Conversation;
  unread: number;
  lastUid: number;
  lastTs: number;
}

/** The facts of a stored message that its derived rows depend on. */
export interface DerivableMessage {
  uid: number;
  seq: number;
  sender: string;
  conv: Conversation;
  kind: number;
  persistFlag: number;
  timestamp: number;
}

/**
 * Who holds per-user rows of a message (core's listedRecipients), from the stored `recipients` column
 * (JSON). Null for a shared-audience message (group timeline, channel, broadcast).
 */
export function listedRecipients(m: { sender: string; conv: Conversation; kind: number }, recipients: string | null): string[] | null {
  return coreListedRecipients(m, recipients !== null ? (JSON.parse(recipients) as string[]) : null);
}

/** The `recipients` column of a listed message (JSON); null when it can be derived (single chat). */
export function recipientsColumn(m: { sender: string; conv: Conversation; kind: number }, users: string[]): string | null {
  const stored = recipientsToStore(m, users);
  return stored ? JSON.stringify(stored) : null;
}

const convKey = (c: Conversation): string => `${c.type}\u0000${c.line}\u0000${c.target}`;

/**
 * Write-behind for the per-user rows derived from listed messages (inbox rows and conversation
 * counters). A message is durable once its `messages` row commits; its per-user rows are buffered here
 * and written in large batches, where many of them share B-tree pages, instead of dirtying a few random
 * pages per message in every commit.
 *
 * Invariants:
 * - Every change to the buffer happens inside a writer command and records its undo, so the buffer
 *   always equals "committed derived rows not yet written".
 * - Readers merge the buffer with the tables (replay, unread totals); commands that need exact table
 *   state for a user first materialise that user's rows.
 * - meta.derived_uid (D): every committed message with a uid up to D has all its derived rows in the
 *   tables. After a crash, `recover` re-derives rows for the messages above D, for the receivers that
 *   do not have them yet: a user's inbox rows and counter deltas are written together
 *   (materializeUser), so a user with the message's inbox row has its delta too.
 *
 * Keeping D true. A flush writes every buffered row, so every message committed so far has its rows,
 * and raises D to the largest uid issued. A message can still be appended later with a uid at or below
 * D: a reserved identity (reserveUid, for before-send hooks) issued before the flush and appended after
 * it. Its append lowers D below its uid, in the same command as its `messages` row (so both commit or
 * neither does); the next flush raises D again. Uids are not in commit order, seqs are, but `messages`
 * has no index on seq: a seq mark would cost either a scan of the whole table at every start or an
 * index write on every send, while this costs one comparison per send and one meta write only for a
 * message appended after a flush passed its uid. Reservations never appended cost nothing (nothing
 * tracks them, so nothing holds D down); one appended after a restart is caught the same way (the
 * comparison starts from the stored D).
 */
export class WriteBehind {
  private readonly inbox = new Map<string, InboxRow[]>();
  private readonly conv = new Map<string, Map<string, ConvDelta>>();
  private rows = 0;
  /**
   * At or above meta.derived_uid as this transaction sees it (exactly it, except after a lowering):
   * a message with a uid above it needs no lowering of the watermark.
   */
  private written: number;

  constructor(
    private readonly stmt: (sql: string) => Database.Statement,
    private readonly undo: UndoLog,
    /** Called after rows are buffered, with the buffered row count (to schedule a flush). */
    private readonly onBuffered: (rows: number) => void,
  ) {
    this.written = (stmt(`SELECT value FROM meta WHERE key = 'derived_uid'`).get() as { value: number } | undefined)?.value ?? 0;
  }

  get size(): number {
    return this.rows;
  }

  /**
   * Buffer the rows of a just-written listed message. `unreadOf` gives what the message adds to each
   * receiver's unread counter (core's rule, applied by the caller: see unread.ts). Inside a writer
   * command.
   */
  addMessage(m: DerivableMessage, recipients: string[], unreadOf: (userId: string, conv: Conversation) => number): void {
    // A flush already moved the watermark past this uid (a reserved identity appended late): lower it
    // so that a restart before the next flush re-derives this message's rows.
    if (m.uid <= this.written) this.stmt(`UPDATE meta SET value = MIN(value, ?) WHERE key = 'derived_uid'`).run(m.uid - 1);
    for (const u of recipients) this.pushInbox(u, { seq: m.seq, type: EventType.message, uid: m.uid, data: null });
    forEachConversationRow(m, recipients, (u, conv) => this.mergeDelta(u, { conv, unread: unreadOf(u, conv), lastUid: m.uid, lastTs: m.timestamp }));
    this.onBuffered(this.rows);
  }

  private pushInbox(user: string, row: InboxRow): void {
    let list = this.inbox.get(user);
    if (!list) {
      list = [];
      this.inbox.set(user, list);
    }
    list.push(row);
    this.rows++;
    const l = list;
    this.undo.record(() => {
      l.pop();
      this.rows--;
      if (l.length === 0 && this.inbox.get(user) === l) this.inbox.delete(user);
    });
  }

  private mergeDelta(user: string, d: ConvDelta): void {
    let byConv = this.conv.get(user);
    if (!byConv) {
      byConv = new Map();
      this.conv.set(user, byConv);
    }
    const key = convKey(d.conv);
    const prev = byConv.get(key);
    // The last message is the one with the largest uid (a reserved identity may be appended late).
    const newer = !prev || d.lastUid > prev.lastUid;
    byConv.set(
      key,
      prev ? { conv: prev.conv, unread: prev.unread + d.unread, lastUid: newer ? d.lastUid : prev.lastUid, lastTs: newer ? d.lastTs : prev.lastTs } : d,
    );
    const m = byConv;
    this.undo.record(() => {
      if (prev) m.set(key, prev);
      else m.delete(key);
      if (m.size === 0 && this.conv.get(user) === m) this.conv.delete(user);
    });
  }

  /** Buffered inbox rows of a user with seq > after, in seq order (read-only). */
  pendingInbox(user: string, after: number): InboxRow[] {
    const list = this.inbox.get(user);
    return list ? list.filter((r) => r.seq > after) : [];
  }

  /** Buffered unread of a user over conversations of a type (read-only). */
  pendingUnread(user: string, convType: number): number {
    let n = 0;
    for (const d of this.conv.get(user)?.values() ?? []) if (d.conv.type === convType) n += d.unread;
    return n;
  }

  /** Write a user's buffered rows to the tables now. Inside a writer command. */
  materializeUser(user: string): void {
    const list = this.inbox.get(user);
    const deltas = this.conv.get(user);
    if (list) {
      this.inbox.delete(user);
      this.rows -= list.length;
      this.undo.record(() => {
        this.inbox.set(user, list);
        this.rows += list.length;
      });
      this.writeInbox(user, list);
    }
    if (deltas) {
      this.conv.delete(user);
      this.undo.record(() => this.conv.set(user, deltas));
      for (const d of deltas.values()) this.writeDelta(user, d);
    }
  }

  /** Forget a user's buffered rows (the user is being destroyed). Inside a writer command. */
  dropUser(user: string): void {
    const list = this.inbox.get(user);
    const deltas = this.conv.get(user);
    if (list) {
      this.inbox.delete(user);
      this.rows -= list.length;
      this.undo.record(() => {
        this.inbox.set(user, list);
        this.rows += list.length;
      });
    }
    if (deltas) {
      this.conv.delete(user);
      this.undo.record(() => this.conv.set(user, deltas));
    }
  }

  /**
   * Write every buffered row and raise the recovery watermark to `maxUid` (the largest uid issued so
   * far: every message committed so far now has its derived rows in the tables; one appended later at
   * or below it lowers the watermark again, see addMessage). Inside a writer command.
   */
  materializeAll(maxUid: number): void {
    for (const user of [...this.inbox.keys(), ...this.conv.keys()]) this.materializeUser(user);
    this
      .stmt(`INSERT INTO meta(key, value) VALUES ('derived_uid', ?) ON CONFLICT(key) DO UPDATE SET value = MAX(value, excluded.value)`)
      .run(maxUid);
    const before = this.written;
    if (maxUid > before) {
      this.written = maxUid;
      this.undo.record(() => (this.written = before));
    }
  }

  private writeInbox(user: string, rows: InboxRow[]): void {
    const ins = this.stmt('INSERT OR IGNORE INTO inbox(user_id, seq, type, uid, data) VALUES (?, ?, ?, ?, ?)');
    for (const r of rows) ins.run(user, r.seq, r.type, r.uid, r.data);
  }

  /**
   * Apply a buffered delta: unread always adds up (each delta is written exactly once: recovery skips
   * the messages whose rows a user already has); the last message moves only to a larger uid; a newer
   * message, or one that counts, makes the conversation visible again.
   */
  private writeDelta(user: string, d: ConvDelta): void {
    this
      .stmt(
        `INSERT INTO conversations(user_id, conv_type, conv_target, conv_line, unread, last_uid, last_ts, visible)
         VALUES (?, ?, ?, ?, ?, ?, ?, 1)
         ON CONFLICT(user_id, conv_type, conv_target, conv_line) DO UPDATE
         SET unread = unread + excluded.unread,
             last_uid = MAX(last_uid, excluded.last_uid),
             last_ts = CASE WHEN excluded.last_uid > last_uid THEN excluded.last_ts ELSE last_ts END,
             visible = CASE WHEN excluded.last_uid > last_uid OR excluded.unread > 0 THEN 1 ELSE visible END`,
      )
      .run(user, d.conv.type, d.conv.target, d.conv.line, d.unread, d.lastUid, d.lastTs);
  }

  /**
   * After an unclean stop: re-derive the rows of messages past the watermark, for the receivers that
   * exist, existed when the message was sent and do not have its rows yet (a message below the old
   * watermark may be re-read after a lowering: its rows are found and skipped). Runs at open, in its
   * own transaction, before any command. Returns the number of messages re-derived.
   */
  static recover(db: Database.Database): number {
    const wm = (db.prepare(`SELECT value FROM meta WHERE key = 'derived_uid'`).get() as { value: number } | undefined)?.value ?? 0;
    const rows = db
      .prepare(
        `SELECT uid, seq, sender, conv_type, conv_target, conv_line, kind, status, recipients, timestamp,
                json_extract(payload, '$.persistFlag') AS persist_flag
         FROM messages WHERE uid > ? ORDER BY uid`,
      )
      .all(wm) as Array<
      Pick<MessageRow, 'uid' | 'seq' | 'sender' | 'conv_type' | 'conv_target' | 'conv_line' | 'kind' | 'status' | 'recipients' | 'timestamp'> & { persist_flag: number }
    >;
    if (rows.length === 0) return 0;
    let n = 0;
    const cache = new Map<string, Database.Statement>();
    const stmt = (sql: string): Database.Statement => {
      let st = cache.get(sql);
      if (!st) cache.set(sql, (st = db.prepare(sql)));
      return st;
    };
    const hasRow = db.prepare('SELECT 1 AS x FROM inbox WHERE user_id = ? AND seq = ?');
    const createdSeq = db.prepare('SELECT created_seq FROM users WHERE id = ?');
    // A receiver destroyed since (its rows were deleted), or created again after the message, gets none.
    const owed = (u: string, seq: number): boolean => {
      const user = createdSeq.get(u) as { created_seq: number } | undefined;
      return user !== undefined && user.created_seq < seq && hasRow.get(u, seq) === undefined;
    };
    db.transaction(() => {
      const undo = new UndoLog();
      const wb = new WriteBehind(stmt, undo, () => {});
      for (const r of rows) {
        const m: DerivableMessage = {
          uid: r.uid,
          seq: r.seq,
          sender: r.sender,
          conv: { type: r.conv_type, target: r.conv_target, line: r.conv_line },
          kind: r.kind,
          persistFlag: r.persist_flag,
          timestamp: r.timestamp,
        };
        const users = listedRecipients(m, r.recipients)?.filter((u) => owed(u, r.seq));
        if (!users || users.length === 0) continue;
        // The counters follow the rule with the facts as they are now (recalled, read, hidden since).
        wb.addMessage(m, users, recoveredUnread(stmt, { ...m, status: r.status }));
        for (const u of users) wb.materializeUser(u);
        n++;
      }
      wb.materializeAll(rows[rows.length - 1]!.uid);
      undo.commitBatch();
    }).immediate();
    return n;
  }
}
