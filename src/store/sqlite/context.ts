import type Database from 'better-sqlite3';
import type { UidGenerator } from '../../core/ids.js';
import type { FanoutOptions } from '../options.js';
import type { UndoLog } from './undo-log.js';
import { WriteBehind } from './write-behind.js';
import { WriterCache } from './writer-cache.js';
import type { ServiceSession } from '../../core/service-session-rules.js';
import type { SqliteWriter } from './writer.js';
import type { GroupRow } from '../rows/groups.js';

/** The columns of a group row that a group send reads (SqliteGroups.rowTakingMsgSeq). */
export type GroupSendFacts = Readonly<Pick<GroupRow, 'member_count' | 'mute' | 'msg_seq'>>;

export type { FanoutOptions } from '../options.js';

export interface WriteBehindOptions {
  /** Longest time derived per-user rows stay buffered before they are written (ms). */
  flushIntervalMs: number;
  /** Buffered rows that trigger a write at once. */
  flushMaxRows: number;
}

/**
 * What the parts of the SQLite store share: the one connection, its writer, a statement cache, the
 * uid generator and the cursor counter. Reads run directly on the connection (never inside an open
 * transaction: the writer opens and commits each batch in one synchronous call).
 */
export class SqliteContext {
  private readonly statements = new Map<string, Database.Statement>();
  /** Last seq allocated; seqs are allocated only inside writer commands, hence in commit order. */
  private seq: number;
  /**
   * Every seq up to this one is committed and durable. Readers (replay, headSeq) never look past it,
   * so a device is never shown an event that a power loss could still take back.
   */
  private durable: number;
  /** Derived per-user rows of listed messages, written in batches (see write-behind.ts). */
  readonly wb: WriteBehind;
  private flushTimer: NodeJS.Timeout | null = null;
  /** Set when a command of the current batch created outbox jobs (the outbox's epilogue reads and clears it). */
  freshJobs = false;
  /**
   * The open customer-service session of (channel account, contact) (`sessionKey`), null when none:
   * read by every inbound message's write (sessionActivity); forgotten by every write to the session.
   */
  readonly openSessions: WriterCache<ServiceSession | null>;
  /** A group's member ids (group sends read them); forgotten by every insert or delete of a member. */
  readonly groupMembers: WriterCache<readonly string[]>;
  /** When a channel conversation's activity time was last moved (recordChannelMessage's step). */
  readonly conversationActivity: WriterCache<number>;
  /**
   * What a group send reads of its group row (member count, mute, the latest message number): every
   * group message takes the next number, so the row is read once and then only written. Forgotten by
   * every other write to the group's row.
   */
  readonly groupFacts: WriterCache<GroupSendFacts>;
  private flushing: Promise<void> | null = null;

  constructor(
    readonly db: Database.Database,
    readonly writer: SqliteWriter,
    readonly uids: UidGenerator,
    readonly fanout: FanoutOptions,
    readonly undo: UndoLog,
    private readonly wbOpts: WriteBehindOptions,
  ) {
    this.openSessions = new WriterCache(undo, 100_000);
    this.groupMembers = new WriterCache(undo, 10_000);
    this.conversationActivity = new WriterCache(undo, 100_000);
    this.groupFacts = new WriterCache(undo, 10_000);
    this.wb = new WriteBehind((sql) => this.stmt(sql), undo, (rows) => this.scheduleFlush(rows));
    const row = db
      .prepare(
        `SELECT MAX(s) AS s FROM (
           SELECT MAX(seq) AS s FROM inbox UNION ALL SELECT MAX(seq) FROM events UNION ALL SELECT MAX(seq) FROM messages
           UNION ALL SELECT value FROM meta WHERE key = 'seq_floor')`,
      )
      .get() as { s: number | null };
    this.seq = row.s ?? 0;
    this.durable = this.seq;
    // Every job already stored is durable (it survived a restart).
    this.lastJobId = (db.prepare('SELECT MAX(id) AS id FROM outbox').get() as { id: number | null }).id ?? 0;
    this.durableJob = this.lastJobId;
    const maxUid = db.prepare('SELECT MAX(uid) AS u FROM messages').get() as { u: number | null };
    uids.seed(maxUid.u ?? 0);
  }

  stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** The SQL of every statement prepared so far (diagnostics: tests check their query plans). */
  preparedSql(): string[] {
    return [...this.statements.keys()];
  }

  /** Allocate the next cursor. Only call inside a writer command. */
  nextSeq(): number {
    return ++this.seq;
  }

  /**
   * Before deleting rows that may hold the largest seq (a destroyed user's inbox), record the counter
   * so a restart never hands out a seq again. Inside a writer command.
   */
  keepSeqFloor(): void {
    this.stmt(`INSERT INTO meta(key, value) VALUES ('seq_floor', ?) ON CONFLICT(key) DO UPDATE SET value = MAX(value, excluded.value)`).run(
      this.seq,
    );
  }

  /** Largest outbox job id written (in a command of the current or an earlier batch). */
  lastJobId = 0;
  /** Every job up to this id is committed and durable: claims hand out no job a power loss could take back. */
  private durableJob = 0;
  /** Commits not yet known durable, in commit order: what each made durable once it is. */
  private marks: Array<{ n: number; seq: number; job: number }> = [];
  private batches = 0;

  /**
   * Writer hook, right after each COMMIT: a token for this commit. A batch that moved neither the cursor
   * nor the job ids (bookkeeping only) shares the previous token, so the list stays as short as the
   * commits that still wait for their fsync.
   */
  commitMark(): number {
    const last = this.marks[this.marks.length - 1];
    if (last && last.seq === this.seq && last.job === this.lastJobId) return last.n;
    if (!last && this.seq === this.durable && this.lastJobId === this.durableJob) return this.batches;
    const n = ++this.batches;
    this.marks.push({ n, seq: this.seq, job: this.lastJobId });
    return n;
  }

  /** Writer hook: the commit with token `n` (and every one before it) is durable. */
  markDurable(n: number): void {
    while (this.marks.length > 0 && this.marks[0]!.n <= n) {
      const m = this.marks.shift()!;
      if (m.seq > this.durable) this.durable = m.seq;
      if (m.job > this.durableJob) this.durableJob = m.job;
    }
  }

  /** The largest outbox job id that is committed and durable. */
  durableJobId(): number {
    return this.durableJob;
  }

  /** The largest seq that is committed and durable. */
  durableSeq(): number {
    return this.durable;
  }

  /** The last allocated cursor (inside a command: everything before this command). */
  currentSeq(): number {
    return this.seq;
  }

  private scheduleFlush(rows: number): void {
    // A writer that refuses writes (closed, or after a failed fsync) must not be retried in a loop.
    if (!this.writer.accepting) return;
    if (rows >= this.wbOpts.flushMaxRows) {
      void this.flushNow();
    } else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => void this.flushNow(), this.wbOpts.flushIntervalMs);
      this.flushTimer.unref();
    }
  }

  /** Write every buffered derived row (one writer command); resolves when committed. */
  flushNow(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    this.flushing ??= this.writer
      .submit(() => this.wb.materializeAll(this.uids.last))
      .catch(() => {
        // A failed flush leaves the rows buffered (undo restored them); the next one retries.
      })
      .finally(() => {
        this.flushing = null;
        // The next flush goes through a timer, never straight from here: a flush that fails at once
        // (the writer is closing or broken) must not turn into a loop of microtasks.
        if (this.wb.size > 0 && !this.flushTimer && this.writer.accepting) {
          this.flushTimer = setTimeout(() => void this.flushNow(), this.wbOpts.flushIntervalMs);
          this.flushTimer.unref();
        }
      });
    return this.flushing;
  }

  /** The user's unread total over single chats, buffered rows included (inside a command or read). */
  unreadSingle(userId: string): number {
    return (
      (
        this.stmt('SELECT COALESCE(SUM(unread), 0) AS n FROM conversations WHERE user_id = ? AND conv_type = 0 AND visible = 1').get(userId) as {
          n: number;
        }
      ).n + this.wb.pendingUnread(userId, 0)
    );
  }

  write<T>(fn: () => T, opts?: { durable?: boolean; urgent?: boolean }): Promise<T> {
    return this.writer.submit(fn, opts);
  }

  /** Run a read on the connection; async so every backend has the same shape. */
  async read<T>(fn: () => T): Promise<T> {
    return fn();
  }
}
