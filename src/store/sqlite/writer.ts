import type Database from 'better-sqlite3';
import { CoreError, isCoreError } from '../../core/errors.js';
import type { UndoLog } from './undo-log.js';
import type { WalSyncer } from './wal-sync.js';

export interface WriterOptions {
  /** Most commands in one transaction. */
  maxBatch: number;
  /**
   * Longest a command waits for its batch to fill, in ms. 0 commits at the end of the current
   * event-loop turn (everything submitted in that turn shares one commit).
   */
  maxDelayMs: number;
  /** Called after each commit with the batch size and its duration (ms); for metrics. */
  onCommit?: (size: number, ms: number) => void;
  onError?: (err: unknown) => void;
  /** In-memory changes made by commands, rolled back with them. */
  undo?: UndoLog;
  /** When set, a committed batch is acknowledged only once the WAL is fsynced (see wal-sync.ts). */
  syncer?: WalSyncer;
  /**
   * With a syncer: while an fsync runs, a batch smaller than this waits for it to finish instead of
   * committing at once, so that batches stay large under load (one commit per fsync) while a lone
   * command is never delayed by more than one fsync.
   */
  minBatchWhileSyncing?: number;
  /**
   * Work at the end of each batch's transaction, after its commands. `wanted()` is asked first (cheap,
   * no statement): only then does `run` execute, under its own savepoint (if it throws, only its
   * writes roll back). `run` may return a function, called once with `true` when the batch is
   * committed and durable, or with `false` when COMMIT or the fsync failed (e.g. to hand over the jobs
   * it leased, or to take back what it counted).
   */
  epilogue?: { wanted: () => boolean; run: () => ((durable: boolean) => void) | undefined };
  /** Taken right after each COMMIT (e.g. the last seq); handed to onDurable when that commit is durable. */
  commitToken?: () => number;
  onDurable?: (token: number) => void;
}

interface Pending {
  run: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** False: resolve once committed, without waiting for the fsync (see submit). */
  durable: boolean;
}

/**
 * Group commit for the single SQLite connection.
 *
 * Contract:
 * - `submit(fn)`: `fn` runs synchronously inside a transaction shared with other submitted commands,
 *   under its own savepoint. If it throws, only its own writes roll back and only its promise rejects.
 * - Promises resolve only after COMMIT returned and, with a syncer, after the WAL holding it was
 *   fsynced. If COMMIT fails, every command of the batch rejects with server_error and nothing of it
 *   persists; if the fsync fails, the batch rejects (its durability is unknown).
 * - Commands run in submission order; because there is one writer, commit order = submission order,
 *   so a counter advanced inside commands (seq) follows commit order.
 * - No transaction is ever open across an await: the whole batch runs in one synchronous call.
 */
export class SqliteWriter {
  private queue: Pending[] = [];
  /**
   * Set by a failed fsync. After one, the kernel may have dropped the dirty pages, so a later successful
   * fsync proves nothing about the earlier commits: the writer refuses every later write (the store
   * reports itself not ready) until the process restarts and SQLite recovers from the WAL.
   */
  private broken: Error | null = null;
  private scheduled: NodeJS.Immediate | NodeJS.Timeout | null = null;
  /** An urgent command is queued: the next batch is not held back for an fsync. */
  private urgent = false;
  private closed = false;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly savepoint: Database.Statement;
  private readonly release: Database.Statement;
  private readonly rollbackTo: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly opts: WriterOptions,
  ) {
    if (opts.syncer) opts.syncer.onSynced = () => this.schedule();
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.prepare('SAVEPOINT cmd');
    this.release = db.prepare('RELEASE cmd');
    this.rollbackTo = db.prepare('ROLLBACK TO cmd');
  }

  /**
   * Queue a command. `durable: false` (bookkeeping whose loss in a power cut is harmless, e.g. an
   * outbox lease) resolves right after COMMIT; the next fsync makes it durable anyway. Such a command
   * must not allocate cursors (seq): a batch of only those requests no fsync, so nothing would make its
   * cursors durable for readers. `urgent`: the batch holding it is not held back for an fsync in
   * progress (minBatchWhileSyncing), for a command whose commit someone waits for (an outbox settle: a
   * key's next job is handed over at its commit).
   */
  submit<T>(run: () => T, opts: { durable?: boolean; urgent?: boolean } = {}): Promise<T> {
    if (this.closed) return Promise.reject(new CoreError('server_error', 'store is closed'));
    if (this.broken) return Promise.reject(new CoreError('server_error', 'store unavailable after an fsync failure'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject, durable: opts.durable !== false });
      if (opts.urgent) this.urgent = true;
      if (this.queue.length >= this.opts.maxBatch) {
        this.cancelSchedule();
        queueMicrotask(() => this.flush());
      } else {
        this.schedule();
      }
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled =
      this.opts.maxDelayMs > 0 ? setTimeout(() => this.flushWhenReady(), this.opts.maxDelayMs) : setImmediate(() => this.flushWhenReady());
  }

  /** Commit now, unless a small batch can ride on the next fsync (the syncer calls schedule() when done). */
  private flushWhenReady(): void {
    this.scheduled = null;
    const s = this.opts.syncer;
    if (s?.busy && !this.urgent && this.queue.length < (this.opts.minBatchWhileSyncing ?? 0)) return;
    this.flush();
  }

  /** False once an fsync failed (see `broken`). */
  get healthy(): boolean {
    return this.broken === null;
  }

  /** Whether submit() can succeed at all: not closed, not broken. */
  get accepting(): boolean {
    return this.broken === null && !this.closed;
  }

  /** Commit everything queued now. Safe to call at any time. */
  flush(): void {
    this.cancelSchedule();
    if (this.broken) {
      for (const p of this.queue.splice(0)) p.reject(new CoreError('server_error', 'store unavailable after an fsync failure'));
      return;
    }
    this.urgent = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.runBatch(batch);
    }
  }

  /** Flush what is queued, wait until it is durable, and refuse later submissions. */
  async close(): Promise<void> {
    this.flush();
    this.closed = true;
    await this.opts.syncer?.drain();
  }

  private cancelSchedule(): void {
    if (this.scheduled) {
      clearTimeout(this.scheduled as NodeJS.Timeout);
      clearImmediate(this.scheduled as NodeJS.Immediate);
      this.scheduled = null;
    }
  }

  /** The epilogue's follow-up, once its batch is durable (or failed); its failure is reported, never thrown. */
  private runAfter(fn: ((durable: boolean) => void) | undefined, durable: boolean): void {
    if (!fn) return;
    try {
      fn(durable);
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  private runBatch(batch: Pending[]): void {
    const started = performance.now();
    const outcomes: Array<{ ok: boolean; value: unknown }> = new Array(batch.length);
    try {
      this.begin.run();
    } catch (err) {
      this.opts.onError?.(err);
      for (const p of batch) p.reject(new CoreError('server_error', 'store unavailable'));
      return;
    }
    const undo = this.opts.undo;
    for (let i = 0; i < batch.length; i++) {
      this.savepoint.run();
      undo?.startCommand();
      try {
        const value = batch[i]!.run();
        this.release.run();
        outcomes[i] = { ok: true, value };
      } catch (err) {
        this.rollbackTo.run();
        this.release.run();
        undo?.rollbackCommand();
        if (!isCoreError(err)) this.opts.onError?.(err);
        outcomes[i] = { ok: false, value: isCoreError(err) ? err : new CoreError('server_error') };
      }
    }
    let afterDurable: ((durable: boolean) => void) | undefined;
    if (this.opts.epilogue?.wanted()) {
      this.savepoint.run();
      undo?.startCommand();
      try {
        afterDurable = this.opts.epilogue.run();
        this.release.run();
      } catch (err) {
        this.rollbackTo.run();
        this.release.run();
        undo?.rollbackCommand();
        afterDurable = undefined;
        this.opts.onError?.(err);
      }
    }
    try {
      this.commit.run();
      undo?.commitBatch();
    } catch (err) {
      this.opts.onError?.(err);
      try {
        if (this.db.inTransaction) this.rollback.run();
      } catch {
        // the connection already rolled back
      }
      undo?.rollbackBatch();
      for (const p of batch) p.reject(new CoreError('server_error', 'commit failed'));
      this.runAfter(afterDurable, false);
      return;
    }
    this.opts.onCommit?.(batch.length, performance.now() - started);
    const token = this.opts.commitToken?.() ?? 0;
    const settleOne = (i: number): void => {
      const o = outcomes[i]!;
      if (o.ok) batch[i]!.resolve(o.value);
      else batch[i]!.reject(o.value);
    };
    const syncer = this.opts.syncer;
    if (!syncer) {
      this.opts.onDurable?.(token);
      for (let i = 0; i < batch.length; i++) settleOne(i);
      this.runAfter(afterDurable, true);
      return;
    }
    const waiting: number[] = [];
    for (let i = 0; i < batch.length; i++) {
      // A failed command left nothing in the batch: its own error is final whatever the fsync does.
      if (batch[i]!.durable && outcomes[i]!.ok) waiting.push(i);
      else settleOne(i);
    }
    // Nothing here needs durability (bookkeeping only, or only failures): no fsync of its own; the next
    // durable batch's fsync covers these frames too. Bookkeeping allocates no cursor, so the durable
    // horizon has nothing to learn from this batch.
    if (waiting.length === 0) {
      this.runAfter(afterDurable, true);
      return;
    }
    syncer.afterCommit((err?: Error) => {
      // After an earlier failed fsync, a later successful one does not make this batch durable either.
      if (err) this.broken ??= err;
      if (err || this.broken) {
        if (err) this.opts.onError?.(err);
        for (const i of waiting) batch[i]!.reject(new CoreError('server_error', 'fsync failed'));
        this.runAfter(afterDurable, false);
        return;
      }
      this.opts.onDurable?.(token);
      for (const i of waiting) settleOne(i);
      this.runAfter(afterDurable, true);
    });
  }
}
