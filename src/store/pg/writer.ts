import type pg from 'pg';
import { CoreError, isCoreError } from '../../core/errors.js';
import { queryable, type Queryable } from './pool.js';

/**
 * What a write command runs in: the batch's transaction (under the command's own savepoint) and the
 * cluster-wide cursor counter, locked for the whole batch.
 */
export interface PgTx extends Queryable {
  /** Allocate the next cursor (seq). Commit-ordered cluster-wide: see PgWriter. */
  nextSeq(): number;
  /** The last seq allocated (before this command's own, the last committed one in the cluster). */
  currentSeq(): number;
  /** Run `fn` once the batch holding this command has committed (never when the command or batch failed). */
  afterCommit(fn: () => void): void;
  /** This command wrote outbox jobs: the writer's `onJobs` runs once after its batch commits (claim ahead). */
  jobsWritten(): void;
}

export interface PgWriterOptions {
  /** Most commands in one transaction. */
  maxBatch: number;
  onCommit?: (size: number, ms: number) => void;
  onError?: (err: unknown) => void;
  /** Asked before each batch: false refuses it (e.g. the node id lease was lost). */
  mayWrite?: () => boolean;
}

interface Pending {
  run: (tx: PgTx) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Key of the cursor counter's row in `meta`. */
const SEQ_KEY = 'seq';

/**
 * Group commit on PostgreSQL: one connection of the pool, one transaction per batch, one savepoint per
 * command.
 *
 * Contract (the same as the SQLite writer's, across every node sharing the database):
 * - `submit(fn)`: `fn` runs inside a transaction shared with other commands, after the previous
 *   command of the batch finished, under its own savepoint. If it throws, only its own writes roll
 *   back and only its promise rejects (a CoreError as thrown; anything else as server_error).
 * - A promise resolves only after COMMIT returned (synchronous_commit: durable). If COMMIT or the
 *   connection fails, every command of the batch rejects with server_error.
 * - Cursor order = commit order, cluster-wide: each batch begins by locking the counter row
 *   (`meta.seq`, SELECT … FOR UPDATE) and writes it back just before COMMIT, so batches of all nodes
 *   are serialized and a batch's seqs are visible only once every lower seq is. A reader that saw
 *   seq N never later finds a committed event <= N it has not seen. It also means write commands of
 *   the whole cluster never deadlock each other (everyone takes the counter first), and a
 *   read-then-write inside a command sees no concurrent writer.
 * - One batch runs at a time; commands submitted meanwhile form the next batch.
 */
export class PgWriter {
  /** Run after a batch that committed outbox jobs (PgTx.jobsWritten); set by the outbox. */
  onJobs: (() => void) | null = null;
  private queue: Pending[] = [];
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly opts: PgWriterOptions,
  ) {}

  submit<T>(run: (tx: PgTx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new CoreError('server_error', 'store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      this.kick();
    });
  }

  get accepting(): boolean {
    return !this.closed;
  }

  /** Finish what is queued, then refuse later submissions. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.running || this.queue.length === 0) return;
    // Let the rest of this event-loop turn submit too: they share the batch.
    this.running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.drain())
      .finally(() => {
        this.running = null;
        this.kick();
      });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      await this.runBatch(batch);
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    if (this.opts.mayWrite && !this.opts.mayWrite()) {
      for (const p of batch) p.reject(new CoreError('server_error', 'store unavailable: this node lost its node id lease'));
      return;
    }
    const started = performance.now();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      this.opts.onError?.(err);
      for (const p of batch) p.reject(new CoreError('server_error', 'store unavailable'));
      return;
    }
    const q = queryable(client);
    const outcomes: Array<{ ok: boolean; value: unknown }> = [];
    const afterCommit: Array<() => void> = [];
    let jobs = false;
    let broken: unknown = null;
    try {
      const res = (await client.query(`BEGIN; SELECT value FROM meta WHERE key = '${SEQ_KEY}' FOR UPDATE; SAVEPOINT cmd`)) as unknown as pg.QueryResult[];
      const first = res[1]?.rows[0] as { value: number } | undefined;
      if (!first) throw new Error('meta.seq is missing: the schema was not migrated');
      let seq = first.value;
      const start = seq;
      for (let i = 0; i < batch.length; i++) {
        if (i > 0) await client.query('SAVEPOINT cmd');
        const mine: Array<() => void> = [];
        let mineJobs = false;
        const tx: PgTx = {
          ...q,
          nextSeq: () => ++seq,
          currentSeq: () => seq,
          afterCommit: (fn) => mine.push(fn),
          jobsWritten: () => {
            mineJobs = true;
          },
        };
        try {
          const value = await batch[i]!.run(tx);
          await client.query('RELEASE cmd');
          outcomes.push({ ok: true, value });
          afterCommit.push(...mine);
          if (mineJobs) jobs = true;
        } catch (err) {
          // A lost connection surfaces here too: the rollback then fails and the batch is broken.
          await client.query('ROLLBACK TO cmd; RELEASE cmd');
          if (!isCoreError(err)) this.opts.onError?.(err);
          outcomes.push({ ok: false, value: isCoreError(err) ? err : new CoreError('server_error') });
        }
      }
      await client.query(seq !== start ? `UPDATE meta SET value = ${seq} WHERE key = '${SEQ_KEY}'; COMMIT` : 'COMMIT');
    } catch (err) {
      broken = err;
    }
    if (broken) {
      this.opts.onError?.(broken);
      try {
        await client.query('ROLLBACK');
        client.release();
      } catch (err) {
        client.release(err instanceof Error ? err : new Error(String(err)));
      }
      for (const p of batch) p.reject(new CoreError('server_error', 'commit failed'));
      return;
    }
    client.release();
    this.opts.onCommit?.(batch.length, performance.now() - started);
    if (jobs && this.onJobs) afterCommit.push(this.onJobs);
    for (const fn of afterCommit) {
      try {
        fn();
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
    for (let i = 0; i < batch.length; i++) {
      const o = outcomes[i]!;
      if (o.ok) batch[i]!.resolve(o.value);
      else batch[i]!.reject(o.value);
    }
  }
}
