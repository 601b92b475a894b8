import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { CoreError } from '../../src/core/errors.js';
import type { WalSyncer } from '../../src/store/sqlite/wal-sync.js';
import { SqliteWriter, type WriterOptions } from '../../src/store/sqlite/writer.js';

/**
 * synchronous=FULL is SQLite's NORMAL plus our own fsync of the WAL before acknowledging
 * (wal-sync.ts). These tests drive SqliteWriter with a fake syncer whose "fsync" completes only when
 * the test says so, to pin what the writer promises: a durable write is acknowledged only after its
 * commit is synced, bookkeeping writes right after COMMIT, an fsync error fails the writes it
 * covered, and small batches wait for a running fsync.
 */

/** WalSyncer's surface as the writer uses it; the fsync completes when `complete()` is called. */
class FakeSyncer implements Pick<WalSyncer, 'busy' | 'afterCommit' | 'drain' | 'onSynced'> {
  busy = false;
  onSynced: () => void = () => {};
  private waiting: Array<(err?: Error) => void> = [];
  private commitWaiters: Array<() => void> = [];
  private idle: Array<() => void> = [];

  afterCommit(done: (err?: Error) => void): void {
    this.waiting.push(done);
    for (const w of this.commitWaiters.splice(0)) w();
  }

  drain(): Promise<void> {
    if (this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Callbacks handed over by commits and not yet completed. */
  get pending(): number {
    return this.waiting.length;
  }

  /** Resolves at the next afterCommit (i.e. right after the writer's next COMMIT). */
  nextCommit(): Promise<void> {
    return new Promise((resolve) => this.commitWaiters.push(resolve));
  }

  /** Only the oldest commit handed over is told (an fsync that covered just that one). */
  completeOldest(err?: Error): void {
    this.waiting.shift()?.(err);
  }

  /** The fsync finishes (with `err` if given): every commit handed over so far is told, then the writer. */
  complete(err?: Error): void {
    this.busy = false;
    for (const d of this.waiting.splice(0)) d(err);
    for (const r of this.idle.splice(0)) r();
    this.onSynced();
  }
}

type State<T> = { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown };
/** Observe a promise without awaiting it. */
function track<T>(p: Promise<T>): State<T> {
  const s: State<T> = { state: 'pending' };
  void p.then(
    (value) => {
      s.state = 'resolved';
      s.value = value;
    },
    (error: unknown) => {
      s.state = 'rejected';
      s.error = error;
    },
  );
  return s;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(opts: Partial<WriterOptions> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-writer-'));
  const file = path.join(dir, 'w.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  const reader = new Database(file, { readonly: true });
  const fake = new FakeSyncer();
  const errors: unknown[] = [];
  const durable: number[] = [];
  let commits = 0;
  const writer = new SqliteWriter(db, {
    maxBatch: 100,
    maxDelayMs: 0,
    // WalSyncer has private state, so a structural fake needs the cast; the writer uses only the
    // four members FakeSyncer implements.
    syncer: fake as unknown as WalSyncer,
    commitToken: () => ++commits,
    onDurable: (token) => durable.push(token),
    onError: (err) => errors.push(err),
    ...opts,
  });
  cleanups.push(async () => {
    fake.complete();
    await writer.close();
    reader.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const insertStmt = db.prepare('INSERT INTO t (v) VALUES (?)');
  const insert = (v: string) => () => Number(insertStmt.run(v).lastInsertRowid);
  /** What another connection sees: only committed rows. */
  const committed = () => (reader.prepare('SELECT v FROM t ORDER BY id').all() as Array<{ v: string }>).map((r) => r.v);
  return { db, writer, fake, insert, committed, errors, durable };
}

describe('SqliteWriter with a syncer (synchronous=FULL)', () => {
  it('keeps a durable write pending after COMMIT until the fsync callback runs', async () => {
    const { writer, fake, insert, committed, durable } = setup();
    const atCommit = fake.nextCommit();
    const p = writer.submit(insert('a'));
    const s = track(p);
    await atCommit;
    // Committed (another connection sees it) and handed to the syncer…
    expect(committed()).toEqual(['a']);
    expect(fake.pending).toBe(1);
    // …but not acknowledged, however many turns pass, until the fsync completes.
    for (let i = 0; i < 3; i++) await nextTurn();
    expect(s.state).toBe('pending');
    expect(durable).toEqual([]);
    fake.complete();
    await expect(p).resolves.toBe(1);
    expect(durable).toEqual([1]);
  });

  it('resolves a durable:false write right after COMMIT, while a durable one of the same batch waits', async () => {
    const { writer, fake, insert, committed } = setup();
    const d = writer.submit(insert('message'));
    const n = writer.submit(insert('lease'), { durable: false });
    const sd = track(d);
    // Resolves with no fsync having completed.
    await expect(n).resolves.toBe(2);
    expect(committed()).toEqual(['message', 'lease']);
    // One commit for both, handed to the syncer once.
    expect(fake.pending).toBe(1);
    await nextTurn();
    expect(sd.state).toBe('pending');
    fake.complete();
    await expect(d).resolves.toBe(1);
  });

  it('rejects the durable writes of a batch whose fsync fails with server_error; and refuses every later write (durability after a failed fsync is unknown)', async () => {
    const { writer, fake, insert, errors, durable } = setup();
    const atCommit = fake.nextCommit();
    const a = writer.submit(insert('a'));
    const b = writer.submit(insert('b'));
    const n = writer.submit(insert('bookkeeping'), { durable: false });
    const [sa, sb] = [track(a), track(b)];
    await atCommit;
    await expect(n).resolves.toBe(3);
    const ioError = Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    fake.complete(ioError);
    for (const p of [a, b]) {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CoreError);
      expect((err as CoreError).kind).toBe('server_error');
    }
    expect([sa.state, sb.state]).toEqual(['rejected', 'rejected']);
    expect(errors).toContain(ioError);
    expect(durable).toEqual([]);

    // After a failed fsync the kernel may have dropped dirty pages: nothing later can be acknowledged.
    expect(writer.healthy).toBe(false);
    const c = await writer.submit(insert('c')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((c as CoreError).kind).toBe('server_error');
    expect(fake.pending, 'no further commit was attempted').toBe(0);
    expect(durable).toEqual([]);
  });

  it('a batch committed before a failed fsync was reported is not acknowledged by a later successful one', async () => {
    const { writer, fake, insert, durable } = setup();
    const first = fake.nextCommit();
    const a = writer.submit(insert('a'));
    await first;
    const second = fake.nextCommit();
    const b = writer.submit(insert('b'));
    await second;
    expect(fake.pending, 'two commits wait for their fsyncs').toBe(2);
    const [sa, sb] = [track(a), track(b)];
    fake.completeOldest(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    fake.completeOldest();
    await a.catch(() => undefined);
    await b.catch(() => undefined);
    expect([sa.state, sb.state]).toEqual(['rejected', 'rejected']);
    expect(durable).toEqual([]);
  });

  it('holds a batch smaller than minBatchWhileSyncing while an fsync runs, and commits it on onSynced', async () => {
    const { writer, fake, insert, committed } = setup({ minBatchWhileSyncing: 3 });
    fake.busy = true;
    const p = writer.submit(insert('small'));
    const s = track(p);
    // The writer's flush (scheduled before these turns) ran and held the batch back.
    for (let i = 0; i < 3; i++) await nextTurn();
    expect(committed()).toEqual([]);
    expect(fake.pending).toBe(0);
    expect(s.state).toBe('pending');

    // The running fsync finishes: the held batch commits on the next turn, and is acknowledged
    // once its own fsync completes.
    const atCommit = fake.nextCommit();
    fake.complete();
    await atCommit;
    expect(committed()).toEqual(['small']);
    expect(s.state).toBe('pending');
    fake.complete();
    await expect(p).resolves.toBe(1);
  });

  it('commits a batch of minBatchWhileSyncing or more at once, even while an fsync runs', async () => {
    const { writer, fake, insert, committed } = setup({ minBatchWhileSyncing: 3 });
    fake.busy = true;
    const atCommit = fake.nextCommit();
    const ps = ['x', 'y', 'z'].map((v) => writer.submit(insert(v)));
    await atCommit;
    expect(committed()).toEqual(['x', 'y', 'z']);
    fake.complete();
    await expect(Promise.all(ps)).resolves.toEqual([1, 2, 3]);
  });

  it('an urgent command is not held back for a running fsync: its batch (with what was held) commits at once', async () => {
    const { writer, fake, insert, committed } = setup({ minBatchWhileSyncing: 3 });
    fake.busy = true;
    const held = writer.submit(insert('held'));
    for (let i = 0; i < 3; i++) await nextTurn();
    expect(committed(), 'a small batch waits for the fsync').toEqual([]);
    const atCommit = fake.nextCommit();
    const urgent = writer.submit(insert('urgent'), { urgent: true });
    await atCommit;
    expect(committed()).toEqual(['held', 'urgent']);
    fake.complete();
    await expect(Promise.all([held, urgent])).resolves.toEqual([1, 2]);
    // The flag went with that batch: the next small one waits again.
    fake.busy = true;
    const p = writer.submit(insert('later'));
    const later = track(p);
    for (let i = 0; i < 3; i++) await nextTurn();
    expect(committed()).toEqual(['held', 'urgent']);
    expect(later.state).toBe('pending');
    const atLater = fake.nextCommit();
    fake.complete();
    await atLater;
    fake.complete();
    await expect(p).resolves.toBe(3);
  });

  it('without minBatchWhileSyncing, a lone write commits at once even while an fsync runs', async () => {
    const { writer, fake, insert, committed } = setup();
    fake.busy = true;
    const atCommit = fake.nextCommit();
    const p = writer.submit(insert('alone'));
    await atCommit;
    expect(committed()).toEqual(['alone']);
    fake.complete();
    await expect(p).resolves.toBe(1);
  });
});
