import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CoreError } from '../../src/core/errors.js';
import { ConvType, MessageKind, MessageStatus, PersistFlag, type Payload } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import { recallPayload } from '../../src/core/recall.js';
import { hashToken, newToken } from '../../src/core/tokens.js';
import { openDatabase } from '../../src/store/sqlite/db.js';
import { SCHEMA_VERSION } from '../../src/store/sqlite/migrations.js';
import { SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite/sqlite-store.js';
import { SqliteWriter } from '../../src/store/sqlite/writer.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-store-'));
  dirs.push(d);
  return d;
}

function open(file: string, over: Partial<SqliteStoreOptions> = {}): SqliteStore {
  return new SqliteStore({
    file,
    synchronous: 'NORMAL',
    nodeId: 3,
    commitMaxBatch: 512,
    commitMaxDelayMs: 0,
    inlineFanoutMax: 100,
    ...over,
  });
}

// The Store contract runs on every SQLite setup in store.test.ts; what follows is SQLite's own.

function payload(over: Partial<Payload> = {}): Payload {
  return { ...normalizePayload({ type: 1, content: 'x', persistFlag: PersistFlag.persist }), ...over };
}

describe('SqliteStore (backend-specific)', () => {
  const stores: SqliteStore[] = [];
  afterEach(async () => {
    vi.useRealTimers();
    for (const s of stores.splice(0)) await s.close();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  const track = (s: SqliteStore): SqliteStore => {
    stores.push(s);
    return s;
  };

  it('opens in WAL mode with the configured synchronous level and the current schema', () => {
    const dir = tempDir();
    const normal = openDatabase({ file: path.join(dir, 'n.db'), synchronous: 'NORMAL' });
    const full = openDatabase({ file: path.join(dir, 'f.db'), synchronous: 'FULL' });
    try {
      expect(normal.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(normal.pragma('synchronous', { simple: true })).toBe(1);
      expect(full.pragma('synchronous', { simple: true })).toBe(2);
      expect(normal.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    } finally {
      normal.close();
      full.close();
    }
    // Reopening an up-to-date file does not re-run migrations.
    const again = openDatabase({ file: path.join(dir, 'n.db'), synchronous: 'NORMAL' });
    expect(again.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    again.close();
  });

  it('keeps everything across close and reopen; seq and uids continue above the previous maximum', async () => {
    const file = path.join(tempDir(), 'db.sqlite');
    const s1 = open(file);
    await s1.users.upsertUser('a', { name: 'alice', email: 'a@x.org' });
    await s1.users.upsertUser('b', { name: 'bob' });
    await s1.groups.createGroup('g', { owner: 'a', name: 'G' }, [{ memberId: 'b' }], 100);
    const tok = hashToken(newToken());
    const expiresAt = Date.now() + 60_000;
    await s1.tokens.insertToken(tok, { userId: 'b', clientId: 'c', platform: 1, expiresAt });
    const sent = [];
    for (let i = 0; i < 5; i++) {
      sent.push(await s1.messages.appendMessage({ sender: 'a', conv: { type: ConvType.single, target: 'b', line: 0 }, payload: payload({ content: `m${i}`, persistFlag: PersistFlag.count }), kind: MessageKind.conversation, toUsers: [] }));
    }
    await s1.messages.recallMessage(sent[0]!.message.uid, 'a', {});
    const g = await s1.messages.appendMessage({ sender: 'b', conv: { type: ConvType.group, target: 'g', line: 0 }, payload: payload(), kind: MessageKind.conversation, toUsers: [] });
    const head = await s1.sync.headSeq();
    const maxUid = g.message.uid;
    const replayBefore = await s1.sync.replay('b', 0, 100, Date.now());
    await s1.close();

    // The wall clock went back an hour meanwhile: uids must still grow.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() - 3_600_000);
    const s2 = track(open(file));
    expect(await s2.users.getUser({ email: 'a@x.org' })).toMatchObject({ userId: 'a', name: 'alice' });
    expect(await s2.users.countUsers()).toBe(2);
    expect((await s2.groups.listMembers('g')).map((m) => m.memberId).sort()).toEqual(['a', 'b']);
    expect(await s2.tokens.findToken(tok, Date.now())).toEqual({ userId: 'b', clientId: 'c', platform: 1, expiresAt });
    expect((await s2.messages.getMessage(sent[0]!.message.uid, Date.now()))?.status).toBe(MessageStatus.recalled);
    expect((await s2.messages.getMessage(sent[4]!.message.uid, Date.now()))?.payload.content).toBe('m4');
    // Five counted messages, one of them recalled before it was read: four unread.
    expect(await s2.messages.unreadTotal('b', ConvType.single)).toBe(4);
    expect(await s2.sync.headSeq()).toBe(head);
    expect(await s2.sync.replay('b', 0, 100, Date.now())).toEqual(replayBefore);

    const next = await s2.messages.appendMessage({ sender: 'a', conv: { type: ConvType.single, target: 'b', line: 0 }, payload: payload(), kind: MessageKind.conversation, toUsers: [] });
    expect(next.seq).toBeGreaterThan(head);
    expect(next.message.uid).toBeGreaterThan(maxUid);
    const after = await s2.sync.replay('b', head, 100, Date.now());
    expect(after.events.map((e) => e.uid)).toEqual([next.message.uid]);
  });

  it('a dead job revived after a restart goes before the head whose lease was lost with the process, and that lost attempt is still counted', async () => {
    const file = path.join(tempDir(), 'revive-lost.db');
    let s = track(open(file));
    const job = (n: number) => ({ channel: 'cb', target: 't', orderKey: 'K', kind: 'K', body: { n }, meta: {} });
    const [j1, j2] = await s.outbox.enqueue([job(1), job(2)]);
    const T = Date.now() + 1_000;
    const LEASE = 60_000;
    const [c1] = await s.outbox.claim(T, 10, LEASE);
    expect(await s.outbox.settle([{ id: j1!, lease: c1!.nextAt, ok: false, error: 'gone', response: '', nextAt: null }])).toEqual([j1]);
    const [c2] = await s.outbox.claim(T, 10, LEASE);
    expect(c2).toMatchObject({ id: j2, attempts: 1 });
    // The process ends with j2 leased (the lease was only in memory); an admin then revives j1.
    await s.close();
    s = track(open(file));
    expect(await s.outbox.redeliver(j1!, T)).toBe(1);
    const [again1] = await s.outbox.claim(T, 10, LEASE);
    expect(again1, 'the revived job is the key\'s head again').toMatchObject({ id: j1, attempts: 1 });
    expect(await s.outbox.settle([{ id: j1!, lease: again1!.nextAt, ok: true, response: 'ok', at: T }])).toEqual([j1]);
    const [again2] = await s.outbox.claim(T + LEASE, 10, LEASE);
    expect(again2, 'the attempt lost with the process counts').toMatchObject({ id: j2, attempts: 2 });
  });

  it("outbox leases live in the writer's memory: the file keeps the job pending with its attempts uncounted until the outcome; after a restart it is due again at the lease's end with the lost attempt counted (a job that crashes the process every time still reaches maxAttempts); a lease an earlier version wrote in the file keeps its file fence", async () => {
    const file = path.join(tempDir(), 'lease.db');
    let s = track(open(file));
    const job = (orderKey: string) => ({ channel: 'cb', target: 't', orderKey, kind: 'K', body: {}, meta: {} });
    const [a, b, c] = await s.outbox.enqueue([job('A'), job('B'), job('C')]);
    const T = Date.now() + 1_000;
    const LEASE = 60_000;
    const claimed = await s.outbox.claim(T, 10, LEASE);
    expect(claimed.map((j) => [j.id, j.status, j.attempts, j.nextAt])).toEqual([a, b, c].map((id) => [id, 'in_flight', 1, T + LEASE]));
    expect(await s.outbox.get(a!)).toMatchObject({ status: 'in_flight', attempts: 1, nextAt: T + LEASE });
    expect(await s.outbox.counts()).toMatchObject({ pending: 0, in_flight: 3 });
    const raw = (id: number) => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare('SELECT status, attempts FROM outbox WHERE id = ?').get(id);
      } finally {
        db.close();
      }
    };
    expect(raw(a!), 'the lease is not written to the row').toEqual({ status: 0, attempts: 0 });
    // The outcome counts the attempt; a retry's row records it too.
    expect(await s.outbox.settle([{ id: a!, lease: T + LEASE, ok: true, response: 'ok', at: T }])).toEqual([a]);
    expect(await s.outbox.settle([{ id: b!, lease: T + LEASE, ok: false, error: 'e', response: '', nextAt: T + 10 }])).toEqual([b]);
    expect(raw(a!)).toEqual({ status: 2, attempts: 1 });
    expect(raw(b!)).toEqual({ status: 0, attempts: 1 });
    // c's lease was only in memory: after a restart c is pending, due at its lease's end (the head's),
    // and the claim then counts the attempt the crash cut short, in the file too.
    await s.close();
    s = track(open(file));
    expect(await s.outbox.get(c!)).toMatchObject({ status: 'pending', attempts: 0 });
    const [bAgain] = await s.outbox.claim(T + LEASE - 1, 10, LEASE);
    expect(bAgain, 'b is due; c is held until its lease ends').toMatchObject({ id: b, attempts: 2 });
    expect(await s.outbox.settle([{ id: b!, lease: bAgain!.nextAt, ok: true, response: 'ok', at: T }])).toEqual([b]);
    expect(raw(b!)).toEqual({ status: 2, attempts: 2 });
    const again = await s.outbox.claim(T + LEASE, 10, LEASE);
    expect(again.map((j) => [j.id, j.attempts])).toEqual([[c, 2]]);
    expect(raw(c!)).toEqual({ status: 0, attempts: 1 });
    // Crashed again: the next claim counts that one as well.
    await s.close();
    s = track(open(file));
    const third = await s.outbox.claim(T + 2 * LEASE, 10, LEASE);
    expect(third.map((j) => [j.id, j.attempts])).toEqual([[c, 3]]);
    expect(raw(c!)).toEqual({ status: 0, attempts: 2 });
    // A lease that lapsed in this process: the next claim counts it (memory and file).
    const fourth = await s.outbox.claim(T + 3 * LEASE, 10, LEASE);
    expect(fourth.map((j) => [j.id, j.attempts])).toEqual([[c, 4]]);
    expect(raw(c!)).toEqual({ status: 0, attempts: 3 });
    // A lapsed lease's late outcome does not apply; the current one does, and counts its attempt.
    expect(await s.outbox.settle([{ id: c!, lease: T + 3 * LEASE, ok: true, response: 'late', at: T }])).toEqual([]);
    expect(await s.outbox.settle([{ id: c!, lease: T + 4 * LEASE, ok: true, response: 'ok', at: T }])).toEqual([c]);
    expect(raw(c!)).toEqual({ status: 2, attempts: 4 });
    // A row in flight in the file (status 1, leased by an earlier version): its file lease is its fence.
    const [d] = await s.outbox.enqueue([job('D')]);
    await s.close();
    const db = new Database(file);
    db.prepare('UPDATE outbox SET status = 1, next_at = ?, attempts = 1 WHERE id = ?').run(T + 5, d);
    db.prepare('UPDATE outbox_heads SET next_at = ? WHERE job_id = ?').run(T + 5, d);
    db.close();
    s = track(open(file));
    expect(await s.outbox.get(d!)).toMatchObject({ status: 'in_flight', attempts: 1, nextAt: T + 5 });
    const [d2] = await s.outbox.claim(T + 6, 10, LEASE);
    expect(d2).toMatchObject({ id: d, attempts: 2, nextAt: T + 6 + LEASE });
    expect(raw(d!), 'a file lease is renewed in the file').toEqual({ status: 1, attempts: 2 });
    expect(await s.outbox.settle([{ id: d!, lease: T + 5, ok: true, response: 'late', at: T }])).toEqual([]);
    expect(await s.outbox.settle([{ id: d!, lease: T + 6 + LEASE, ok: true, response: 'ok', at: T }])).toEqual([d]);
    expect(raw(d!)).toEqual({ status: 2, attempts: 2 });
  });

  it('headSeq never goes backwards across a reopen, even when the latest events belonged to a since-destroyed user', async () => {
    const file = path.join(tempDir(), 'db.sqlite');
    const s1 = open(file);
    await s1.users.upsertUser('a', { name: 'alice' });
    await s1.users.upsertUser('b', { name: 'bob' });
    await s1.users.upsertUser('gone', { name: 'gone' });
    await s1.messages.appendMessage({ sender: 'a', conv: { type: ConvType.single, target: 'b', line: 0 }, payload: payload(), kind: MessageKind.conversation, toUsers: [] });
    // Events that live only in the user's own rows: read marks and a clear.
    await s1.conversations.markRead('gone', { type: ConvType.single, target: 'a', line: 0 }, Date.now());
    await s1.conversations.clearUserMessages('gone', { type: ConvType.single, target: 'a', line: 0 }, 0, Date.now());
    const head = await s1.sync.headSeq();
    await s1.users.destroyUser('gone');
    await s1.close();

    const s2 = track(open(file));
    expect(await s2.sync.headSeq(), 'a reader may hold this cursor').toBeGreaterThanOrEqual(head);
    const r = await s2.messages.appendMessage({ sender: 'a', conv: { type: ConvType.single, target: 'b', line: 0 }, payload: payload(), kind: MessageKind.conversation, toUsers: [] });
    expect(r.seq, 'a new event must not reuse a cursor already handed out').toBeGreaterThan(head);
  });

  it('a resolved write is committed: another connection reads it at once', async () => {
    const file = path.join(tempDir(), 'db.sqlite');
    const s = track(open(file));
    const reader = new Database(file, { readonly: true });
    try {
      await s.users.upsertUser('a', { name: 'alice' });
      expect(await s.users.getUser({ userId: 'a' })).not.toBeNull();
      expect(reader.prepare('SELECT name FROM users WHERE id = ?').get('a')).toEqual({ name: 'alice' });
      await s.users.upsertUser('b', { name: 'bob' });
      const r = await s.messages.appendMessage({ sender: 'a', conv: { type: ConvType.single, target: 'b', line: 0 }, payload: payload(), kind: MessageKind.conversation, toUsers: [] });
      expect(reader.prepare('SELECT uid FROM messages WHERE uid = ?').get(r.message.uid)).toEqual({ uid: r.message.uid });
      expect(await s.messages.getMessage(r.message.uid, Date.now())).not.toBeNull();
    } finally {
      reader.close();
    }
  });

  it('concurrent sends are grouped into few commits, each bounded by commitMaxBatch', async () => {
    const sizes: number[] = [];
    const s = track(open(':memory:', { commitMaxBatch: 8, onCommit: (n) => sizes.push(n) }));
    await s.users.upsertUser('a', { name: 'alice' });
    await s.users.upsertUser('b', { name: 'bob' });
    sizes.length = 0;
    const rs = await Promise.all(
      Array.from({ length: 30 }, () =>
        s.messages.appendMessage({ sender: 'a', conv: { type: ConvType.single, target: 'b', line: 0 }, payload: payload(), kind: MessageKind.conversation, toUsers: [] }),
      ),
    );
    expect(rs).toHaveLength(30);
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(30);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8);
    expect(sizes.length).toBe(4);
  });
});

describe('SqliteWriter (group commit)', () => {
  let db: Database.Database;
  const setup = (opts: { maxBatch: number; maxDelayMs?: number; onCommit?: (n: number, ms: number) => void; onError?: (e: unknown) => void }) => {
    db = new Database(':memory:');
    db.exec('CREATE TABLE t(v INTEGER PRIMARY KEY)');
    return new SqliteWriter(db, { maxDelayMs: 0, ...opts });
  };
  const rows = () => (db.prepare('SELECT v FROM t ORDER BY v').all() as Array<{ v: number }>).map((r) => r.v);
  afterEach(() => {
    if (db?.open) db.close();
  });

  it('commits a batch in which some commands throw: only those reject, and only their writes roll back', async () => {
    const sizes: number[] = [];
    const errors: unknown[] = [];
    const w = setup({ maxBatch: 100, onCommit: (n) => sizes.push(n), onError: (e) => errors.push(e) });
    const insert = db.prepare('INSERT INTO t(v) VALUES (?)');
    const ps = [
      w.submit(() => insert.run(1).changes),
      w.submit(() => {
        insert.run(2);
        throw new CoreError('not_exist', 'nope');
      }),
      w.submit(() => insert.run(3).changes),
      w.submit(() => {
        insert.run(4);
        throw new Error('driver exploded');
      }),
      w.submit(() => insert.run(1).changes), // constraint violation inside the batch
      w.submit(() => insert.run(5).changes),
    ];
    const settled = await Promise.allSettled(ps);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(((settled[1] as PromiseRejectedResult).reason as CoreError).kind).toBe('not_exist');
    const hidden = (settled[3] as PromiseRejectedResult).reason as CoreError;
    expect(hidden).toBeInstanceOf(CoreError);
    expect(hidden.kind).toBe('server_error');
    expect(hidden.message, 'internal error text does not leak').not.toContain('exploded');
    expect(((settled[4] as PromiseRejectedResult).reason as CoreError).kind).toBe('server_error');
    expect(rows()).toEqual([1, 3, 5]);
    expect(sizes).toEqual([6]);
    expect(errors).toHaveLength(2);
    expect(db.inTransaction).toBe(false);
  });

  it('runs commands in submission order and resolves with their values', async () => {
    const w = setup({ maxBatch: 3 });
    const order: number[] = [];
    const ps = Array.from({ length: 10 }, (_, i) =>
      w.submit(() => {
        order.push(i);
        return i * 10;
      }),
    );
    expect(await Promise.all(ps)).toEqual(Array.from({ length: 10 }, (_, i) => i * 10));
    expect(order).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('splits a burst larger than maxBatch into several commits', async () => {
    const sizes: number[] = [];
    const w = setup({ maxBatch: 4, onCommit: (n) => sizes.push(n) });
    const insert = db.prepare('INSERT INTO t(v) VALUES (?)');
    await Promise.all(Array.from({ length: 10 }, (_, i) => w.submit(() => insert.run(i + 1))));
    expect(sizes).toEqual([4, 4, 2]);
    expect(rows()).toHaveLength(10);
  });

  it('commits within maxDelayMs when the batch does not fill', async () => {
    const sizes: number[] = [];
    const w = setup({ maxBatch: 100, maxDelayMs: 5, onCommit: (n) => sizes.push(n) });
    const insert = db.prepare('INSERT INTO t(v) VALUES (?)');
    await Promise.all([w.submit(() => insert.run(1)), w.submit(() => insert.run(2))]);
    expect(sizes).toEqual([2]);
    expect(rows()).toEqual([1, 2]);
  });

  it('a resolved command is already committed (no open transaction, readable at once)', async () => {
    const w = setup({ maxBatch: 10 });
    await w.submit(() => db.prepare('INSERT INTO t(v) VALUES (7)').run());
    expect(db.inTransaction).toBe(false);
    expect(rows()).toEqual([7]);
  });

  it('close flushes what is queued and refuses later submissions', async () => {
    const w = setup({ maxBatch: 100 });
    const p = w.submit(() => db.prepare('INSERT INTO t(v) VALUES (1)').run().changes);
    w.close();
    expect(await p).toBe(1);
    expect(rows()).toEqual([1]);
    const late = w.submit(() => db.prepare('INSERT INTO t(v) VALUES (2)').run());
    await expect(late).rejects.toBeInstanceOf(CoreError);
    await expect(late).rejects.toMatchObject({ kind: 'server_error' });
    expect(rows()).toEqual([1]);
  });

  it('a failed COMMIT rejects the whole batch and keeps none of it', async () => {
    const errors: unknown[] = [];
    const w = setup({ maxBatch: 100, onError: (e) => errors.push(e) });
    // A deferred foreign key makes COMMIT itself fail.
    db.pragma('foreign_keys = ON');
    db.exec('CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(pid INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)');
    const ps = [w.submit(() => db.prepare('INSERT INTO t(v) VALUES (1)').run()), w.submit(() => db.prepare('INSERT INTO c(pid) VALUES (42)').run())];
    const settled = await Promise.allSettled(ps);
    expect(settled.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (const r of settled) expect(((r as PromiseRejectedResult).reason as CoreError).kind).toBe('server_error');
    expect(rows()).toEqual([]);
    expect(db.inTransaction).toBe(false);
    expect(errors.length).toBeGreaterThan(0);
    // The writer keeps working afterwards.
    await w.submit(() => db.prepare('INSERT INTO t(v) VALUES (9)').run());
    expect(rows()).toEqual([9]);
  });
});
