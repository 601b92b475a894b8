import type pg from 'pg';
import { CoreError, isCoreError } from '../../core/errors.js';
import { coalescedWrites, queryable, StatementNames, type Queryable } from './pool.js';

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
  /**
   * Run `item` through `s` together with the items the other commands of the batch hand to the same
   * `s` in this turn of the event loop (a concurrent run's sends: started together, or set off by one
   * packet of answers): one `s.run` for all of them, once the turn's microtasks are done. Resolves with
   * this item's result when that run succeeded; rejects, for every command in it, when it failed (a
   * concurrent run is then re-run alone, each command's item run on its own). Await it before the
   * command's next statement.
   */
  together<T, R>(s: RunStatements<T, R>, item: T): Promise<R>;
}

/**
 * Statements several commands of a batch share (PgTx.together): `run` gets the items of the commands
 * in the order they were handed over (for writes taking seqs, their seq order) and answers one result
 * per item, in that order. It must read and leave exactly what running each item alone, in that order,
 * would have.
 */
export interface RunStatements<T, R> {
  run(q: Queryable, items: readonly T[]): Promise<readonly R[]>;
}

export interface PgWriterOptions {
  /** Most commands in one transaction. */
  maxBatch: number;
  onCommit?: (size: number, ms: number) => void;
  onError?: (err: unknown) => void;
  /** Asked before each batch: false refuses it (e.g. the node id lease was lost). */
  mayWrite?: () => boolean;
}

export interface SubmitOptions {
  /**
   * The command may run interleaved with the other concurrent commands of its batch, its statements
   * pipelined with theirs (a few round trips for all of them instead of a few each). Only for a
   * command that (a) reads nothing another command of the batch may write, or reads it only through
   * one atomic statement (e.g. `UPDATE … RETURNING`), and (b) can be run again from the start:
   * if any command of the run fails, the run is rolled back and each is run again alone, as if never
   * run (no effect outside its PgTx: JS state, I/O). Default false: the command runs alone.
   */
  concurrent?: boolean;
  /**
   * With `concurrent`: the command asks for a seq (nextSeq, currentSeq) only after one of its own
   * statements answered. A batch whose first run is made only of such commands starts that run without
   * waiting for its BEGIN and counter lock to answer (they go out in the same pipeline, one round trip
   * fewer per batch): the counter is known once any statement after the lock has answered. Asked
   * earlier, nextSeq throws (the run then fails and its commands are re-run alone). Default false.
   */
  readsFirst?: boolean;
}

interface Pending {
  run: (tx: PgTx) => Promise<unknown>;
  /** May run interleaved with the other concurrent commands of its batch (see PgWriter.submit). */
  concurrent: boolean;
  /** Concurrent and asks for seqs only after a statement of its own answered (SubmitOptions.readsFirst). */
  readsFirst: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** What one command's run left: its result (or error) and what it asked for after the commit. */
interface Outcome {
  ok: boolean;
  value: unknown;
  after: Array<() => void>;
  jobs: boolean;
}

/**
 * The items handed to PgTx.together in one turn of the event loop, by RunStatements, run at the end of
 * the turn (process.nextTick runs once the turn's microtasks are done), in the order of first use.
 * Once every statement of the turn has answered, the items' promises settle in the order the items
 * were handed over, whichever statement answered first: a run's sends that read through different
 * statements still continue (and take their seqs) in the order they were started.
 */
class Gathered {
  private pending = new Map<RunStatements<unknown, unknown>, { items: unknown[]; waiters: Waiter[] }>();
  private scheduled = false;
  private handed = 0;

  constructor(private readonly q: Queryable) {}

  add<T, R>(s: RunStatements<T, R>, item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const key = s as RunStatements<unknown, unknown>;
      let g = this.pending.get(key);
      if (!g) this.pending.set(key, (g = { items: [], waiters: [] }));
      g.items.push(item);
      g.waiters.push({ order: this.handed++, resolve: resolve as (r: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        process.nextTick(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const due = [...this.pending];
    this.pending = new Map();
    const ran = await Promise.allSettled(
      due.map(([s, g]) => {
        try {
          return s.run(this.q, g.items);
        } catch (err) {
          return Promise.reject(err);
        }
      }),
    );
    const settle: Array<{ w: Waiter; ok: boolean; value: unknown }> = [];
    due.forEach(([, g], k) => {
      const r = ran[k]!;
      g.waiters.forEach((w, i) => settle.push(r.status === 'fulfilled' ? { w, ok: true, value: r.value[i] } : { w, ok: false, value: r.reason }));
    });
    settle.sort((x, y) => x.w.order - y.w.order);
    for (const x of settle) {
      if (x.ok) x.w.resolve(x.value);
      else x.w.reject(x.value);
    }
  }
}

interface Waiter {
  order: number;
  resolve: (r: unknown) => void;
  reject: (e: unknown) => void;
}

/** Most concurrent commands started together (their statements queue on one connection). */
const MAX_CONCURRENT = 256;

/**
 * Most batches unfinished at once: one being run, the others committing (each on its own connection;
 * the writer's pool must allow as many). A batch started while another commits waits for the counter
 * lock inside PostgreSQL, not in the node.
 */
export const MAX_IN_FLIGHT = 2;

/** Key of the cursor counter's row in `meta`. */
const SEQ_KEY = 'seq';

/**
 * Group commit on PostgreSQL: one connection per batch (from a pool that should be pipelined:
 * `pipeline: true`, see openPool; at least MAX_IN_FLIGHT connections), one transaction per batch, one
 * savepoint per command, or per run of concurrent commands.
 *
 * Contract (the same as the SQLite writer's, across every node sharing the database):
 * - `submit(fn)`: `fn` runs inside a transaction shared with other commands, after the previous
 *   command of the batch finished, under its own savepoint. If it throws, only its own writes roll
 *   back and only its promise rejects (a CoreError as thrown; anything else as server_error).
 * - `submit(fn, {concurrent: true})`: consecutive such commands of a batch run together, their
 *   statements interleaved (SubmitOptions.concurrent says which commands may); the outcome for each
 *   is the same as above (a failure re-runs them alone). Such commands may also share statements
 *   (PgTx.together: one statement for the items of all of them, settled in the order handed over).
 * - A promise resolves only after COMMIT returned (synchronous_commit: durable). If COMMIT or the
 *   connection fails, every command of the batch rejects with server_error.
 * - Cursor order = commit order, cluster-wide: each batch begins by locking the counter row
 *   (`meta.seq`, SELECT … FOR UPDATE) and writes it back just before COMMIT, so batches of all nodes
 *   are serialized and a batch's seqs are visible only once every lower seq is. A reader that saw
 *   seq N never later finds a committed event <= N it has not seen. It also means write commands of
 *   the whole cluster never deadlock each other (everyone takes the counter first), and a
 *   read-then-write inside a command sees no concurrent writer (but for the other commands of its
 *   concurrent run, which SubmitOptions.concurrent allows only where it reads nothing they write).
 * - Batches overlap by one step: once a batch has issued its COMMIT, the next one starts on a second
 *   connection (commands submitted meanwhile), so its BEGIN, lock request and first statements travel
 *   while the first commits. PostgreSQL holds them at the counter lock until that commit, so the next
 *   batch reads the committed counter and everything the first wrote, exactly as if it had started
 *   after it; its commands are acknowledged (and its after-commit hooks run) only after its own COMMIT
 *   and after every earlier batch's results were handed out. A batch that fails does not fail the next.
 */
export class PgWriter {
  /** Run after a batch that committed outbox jobs (PgTx.jobsWritten); set by the outbox. */
  onJobs: (() => void) | null = null;
  private queue: Pending[] = [];
  /** A batch is being formed or run and has not issued its COMMIT yet (at most one: see kick). */
  private open = false;
  /** Batches started and not yet finished (at most MAX_IN_FLIGHT: one open, the others committing). */
  private inFlight = 0;
  /** Settles once the latest batch started has finished (its results handed out); batches finish in order. */
  private last: Promise<void> = Promise.resolve();
  /** Commands submitted, and finished (in submission order: batches finish one at a time, in order). */
  private submitted = 0;
  private finished = 0;
  private barriers: Array<{ upTo: number; resolve: () => void }> = [];
  private closed = false;
  /** Commands' statements run prepared on the writer's connections (parsed and planned once). */
  private readonly names = new StatementNames('w');

  constructor(
    private readonly pool: pg.Pool,
    private readonly opts: PgWriterOptions,
  ) {}

  submit<T>(run: (tx: PgTx) => Promise<T>, opts: SubmitOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new CoreError('server_error', 'store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, concurrent: opts.concurrent === true, readsFirst: opts.concurrent === true && opts.readsFirst === true, resolve: resolve as (v: unknown) => void, reject });
      this.submitted++;
      this.kick();
    });
  }

  /**
   * Resolves once every command submitted before this call has finished (committed, or failed); submits
   * nothing. Lets a statement run outside the writer (on the pool) see what this process wrote before it.
   */
  barrier(): Promise<void> {
    if (this.finished >= this.submitted) return Promise.resolve();
    return new Promise<void>((resolve) => this.barriers.push({ upTo: this.submitted, resolve }));
  }

  get accepting(): boolean {
    return !this.closed;
  }

  /** Finish what is queued, then refuse later submissions. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight > 0 || this.queue.length > 0) await this.last;
  }

  /**
   * Start the next batch when the queue has commands, no batch is open (every batch started has issued
   * its COMMIT) and fewer than MAX_IN_FLIGHT batches are unfinished. So while batch N's COMMIT (its
   * round trip and WAL flush) is under way, batch N+1 already sends its BEGIN, counter lock and first
   * statements on a second connection; PostgreSQL holds them at the lock until N has committed.
   */
  private kick(): void {
    if (this.open || this.inFlight >= MAX_IN_FLIGHT || this.queue.length === 0) return;
    this.open = true;
    this.inFlight++;
    const prev = this.last;
    let done!: () => void;
    this.last = new Promise<void>((resolve) => (done = resolve));
    let count = 0;
    // Once per batch: a later call (from the finally below) must not reopen the gate of a batch after it.
    let issued = false;
    const committing = (): void => {
      if (issued) return;
      issued = true;
      this.open = false;
      this.kick();
    };
    // Let the rest of this event-loop turn submit too: they share the batch.
    new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => {
        const batch = this.queue.splice(0, this.opts.maxBatch);
        count = batch.length;
        return this.runBatch(batch, prev, committing);
      })
      .catch((err: unknown) => this.opts.onError?.(err))
      .finally(() => {
        committing();
        this.finished += count;
        const due = this.barriers.filter((b) => b.upTo <= this.finished);
        this.barriers = this.barriers.filter((b) => b.upTo > this.finished);
        for (const b of due) b.resolve();
        this.inFlight--;
        done();
        this.kick();
      });
  }

  /**
   * One batch, on a connection of its own. `committing` is called once the batch will issue no more
   * statements but its COMMIT or ROLLBACK (the next batch may start then). Its results are handed out
   * only after `prev` (the batch before it) has finished, so acknowledgements and after-commit hooks
   * keep batch order; the batch's own commit comes after prev's in PostgreSQL anyway (the counter lock).
   */
  private async runBatch(batch: Pending[], prev: Promise<void>, committing: () => void): Promise<void> {
    if (this.opts.mayWrite && !this.opts.mayWrite()) {
      committing();
      await prev;
      for (const p of batch) p.reject(new CoreError('server_error', 'store unavailable: this node lost its node id lease'));
      return;
    }
    const started = performance.now();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      committing();
      await prev;
      this.opts.onError?.(err);
      for (const p of batch) p.reject(new CoreError('server_error', 'store unavailable'));
      return;
    }
    // Statements issued in the same turn (a concurrent run's) leave in one socket write.
    const cork = coalescedWrites(client);
    const q = queryable(client, this.names, cork);
    const gathered = new Gathered(q);
    const outcomes: Outcome[] = [];
    let broken: unknown = null;
    try {
      // BEGIN and the counter lock go out in the same pipeline as the first unit's statements when that
      // unit is a run of readsFirst commands (one round trip fewer per batch): PostgreSQL runs them in
      // order, so those statements run inside the transaction, after the lock is held; and their answers
      // come after the lock's, whose callback sets the counter first (until then it is NaN and nextSeq
      // refuses). Any other first unit waits for the lock's answer, as every later unit has.
      const counter = { seq: Number.NaN };
      cork();
      const begun = (client.query(`BEGIN; SELECT value FROM meta WHERE key = '${SEQ_KEY}' FOR UPDATE; SAVEPOINT cmd`) as unknown as Promise<pg.QueryResult[]>).then((res) => {
        const first = res[1]?.rows[0] as { value: number } | undefined;
        if (!first) throw new Error('meta.seq is missing: the schema was not migrated');
        counter.seq = first.value;
        return first.value;
      });
      // Awaited after the first unit (a failure there breaks the batch); never left unhandled meanwhile.
      begun.catch(() => undefined);
      // Units: a command alone, or a run of consecutive concurrent ones; each unit under the savepoint
      // `cmd`, renewed between units (after the last one COMMIT releases it).
      let start: number | null = null;
      for (let i = 0; i < batch.length; ) {
        let end = i + 1;
        if (batch[i]!.concurrent) while (end < batch.length && end - i < MAX_CONCURRENT && batch[end]!.concurrent) end++;
        // Only a run of readsFirst commands starts before the lock answered (SubmitOptions.readsFirst).
        if (end - i === 1 || !batch.slice(i, end).every((p) => p.readsFirst)) start ??= await begun;
        if (i > 0) await client.query('RELEASE cmd; SAVEPOINT cmd');
        const unit = batch.slice(i, end);
        const together = unit.length > 1 ? await this.runConcurrent(q, gathered, unit, counter) : null;
        if (together) outcomes.push(...together);
        else {
          // Alone, or a concurrent run that failed (rolled back to `cmd`): one by one, each under its own savepoint.
          start ??= await begun;
          for (let k = 0; k < unit.length; k++) {
            if (k > 0) await client.query('RELEASE cmd; SAVEPOINT cmd');
            outcomes.push(await this.runAlone(client, q, gathered, unit[k]!, counter));
          }
        }
        start ??= await begun;
        i = end;
      }
      const commit = client.query(counter.seq !== start ? `UPDATE meta SET value = ${counter.seq} WHERE key = '${SEQ_KEY}'; COMMIT` : 'COMMIT');
      committing();
      await commit;
    } catch (err) {
      broken = err;
    }
    committing();
    if (broken) {
      this.opts.onError?.(broken);
      try {
        await client.query('ROLLBACK');
        client.release();
      } catch (err) {
        client.release(err instanceof Error ? err : new Error(String(err)));
      }
      await prev;
      for (const p of batch) p.reject(new CoreError('server_error', 'commit failed'));
      return;
    }
    const afterCommit: Array<() => void> = [];
    let jobs = false;
    for (const o of outcomes) {
      if (!o.ok) continue;
      afterCommit.push(...o.after);
      if (o.jobs) jobs = true;
    }
    client.release();
    await prev;
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

  /** The PgTx of one run of a command, collecting what it asks for after the commit. */
  private txFor(q: Queryable, gathered: Gathered, counter: { seq: number }): { tx: PgTx; after: Array<() => void>; jobs: () => boolean } {
    const after: Array<() => void> = [];
    let jobs = false;
    const tx: PgTx = {
      ...q,
      nextSeq: () => {
        if (Number.isNaN(counter.seq)) throw new Error('writer: a seq was asked for before the counter was read');
        return ++counter.seq;
      },
      currentSeq: () => {
        if (Number.isNaN(counter.seq)) throw new Error('writer: the seq was asked for before the counter was read');
        return counter.seq;
      },
      afterCommit: (fn) => after.push(fn),
      jobsWritten: () => {
        jobs = true;
      },
      together: (s, item) => gathered.add(s, item),
    };
    return { tx, after, jobs: () => jobs };
  }

  /** One command under the savepoint `cmd`: on failure its writes are rolled back to it (the savepoint stays). */
  private async runAlone(client: pg.PoolClient, q: Queryable, gathered: Gathered, p: Pending, counter: { seq: number }): Promise<Outcome> {
    const { tx, after, jobs } = this.txFor(q, gathered, counter);
    try {
      const value = await p.run(tx);
      return { ok: true, value, after, jobs: jobs() };
    } catch (err) {
      // A lost connection surfaces here too: the rollback then fails and the batch is broken.
      // ROLLBACK TO keeps the savepoint: it serves the next command as it is.
      await client.query('ROLLBACK TO cmd');
      if (!isCoreError(err)) this.opts.onError?.(err);
      return { ok: false, value: isCoreError(err) ? err : new CoreError('server_error'), after: [], jobs: false };
    }
  }

  /**
   * Concurrent commands started together: their statements interleave on the connection, which
   * pipelines them (the first statements of all of them in one round trip, and so on). All succeed:
   * their outcomes. Any fails (a CoreError, or a statement error that aborts the transaction for all
   * of them): the unit is rolled back to `cmd` and null returned; the caller then runs each alone, so
   * a command's failure still rolls back only its own writes. Seqs taken by the rolled-back run are
   * never handed out again (gaps, as for any failed command).
   */
  private async runConcurrent(q: Queryable, gathered: Gathered, unit: Pending[], counter: { seq: number }): Promise<Outcome[] | null> {
    const runs = unit.map((p) => {
      const t = this.txFor(q, gathered, counter);
      let done: Promise<unknown>;
      try {
        done = p.run(t.tx);
      } catch (err) {
        // A command that throws before returning its promise fails like one that rejects.
        done = Promise.reject(err);
      }
      return { t, done };
    });
    const settled = await Promise.allSettled(runs.map((r) => r.done));
    if (settled.every((s) => s.status === 'fulfilled')) {
      return settled.map((s, i) => ({ ok: true, value: (s as PromiseFulfilledResult<unknown>).value, after: runs[i]!.t.after, jobs: runs[i]!.t.jobs() }));
    }
    // Fails when the connection is lost: the batch is broken (caught by runBatch).
    await q.run('ROLLBACK TO cmd');
    return null;
  }
}
