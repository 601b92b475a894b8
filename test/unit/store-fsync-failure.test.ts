/**
 * A failed fsync with synchronous=FULL: the SQLite store refuses every later write and reports itself
 * not ready, and nothing loops on the refusal — in particular the write-behind buffer, full past its
 * flush threshold, must not retry its flush in a tight loop that starves timers and I/O.
 * The fsync is made to fail through the store's syncer, for this test only.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConvType, MessageKind, PersistFlag } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Resolves on a later timer tick: only if the event loop still runs timers. */
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

describe('SQLite store after a failed fsync', () => {
  it('refuses later writes, answers ping false, and keeps the event loop free (no flush retry loop)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-eio-'));
    dirs.push(dir);
    const errors: unknown[] = [];
    const store = new SqliteStore({
      file: path.join(dir, 'x.db'),
      synchronous: 'FULL',
      nodeId: 0,
      commitMaxBatch: 512,
      commitMaxDelayMs: 0,
      inlineFanoutMax: 100,
      flushMaxRows: 10,
      flushIntervalMs: 100_000,
      onError: (e) => errors.push(e),
    });
    for (const u of ['a', 'b', 'c', 'd', 'e']) await store.users.upsertUser(u, { name: u });
    expect(await store.ping()).toBe(true);

    // From now on every fsync fails after a while, as a failing disk's does: commits made meanwhile
    // (and the write-behind flush they trigger) wait behind it. (The store's syncer is private: the
    // test reaches it through a cast, to fail exactly the fsyncs the writer waits for.)
    const syncer = (store as unknown as { syncer: { afterCommit: (done: (err?: Error) => void) => void } }).syncer;
    syncer.afterCommit = (done) => {
      setTimeout(() => done(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' })), 50);
    };

    // Enough listed messages to put the write-behind buffer past flushMaxRows, in two waves: the
    // second commits while the flush the first triggered waits for its fsync.
    const payload = normalizePayload({ type: 1, searchableContent: 'x', persistFlag: PersistFlag.persist });
    const send = (to: string) =>
      store.messages.appendMessage({ sender: 'a', conv: { type: ConvType.single, target: to, line: 0 }, payload, kind: MessageKind.conversation, toUsers: [] });
    const first = Array.from({ length: 6 }, () => send('b'));
    await new Promise((r) => setTimeout(r, 5));
    const second = Array.from({ length: 6 }, () => send('b'));
    const outcomes = await Promise.allSettled([...first, ...second]);
    expect(outcomes.every((o) => o.status === 'rejected'), 'none acknowledged: their fsync failed').toBe(true);

    // The loop is free: timers run (a flush retry loop of microtasks would never let this resolve).
    for (let i = 0; i < 5; i++) await tick();
    expect(await store.ping(), 'not ready after a failed fsync').toBe(false);
    await expect(store.users.upsertUser('f', { name: 'f' })).rejects.toMatchObject({ kind: 'server_error' });
    await store.close();
  });

  it('claims hand out no job whose commit is not durable yet', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-durable-'));
    dirs.push(dir);
    const store = new SqliteStore({ file: path.join(dir, 'x.db'), synchronous: 'FULL', nodeId: 0, commitMaxBatch: 512, commitMaxDelayMs: 0, inlineFanoutMax: 100 });
    // Hold the fsyncs the writer waits for until the test lets them finish.
    const syncer = (store as unknown as { syncer: { afterCommit: (done: (err?: Error) => void) => void } }).syncer;
    const real = syncer.afterCommit.bind(syncer);
    const held: Array<() => void> = [];
    syncer.afterCommit = (done) => held.push(() => real(done));
    const job = { channel: 'webhook', target: 't', orderKey: 'k', kind: 'Test', body: { n: 1 }, meta: {} };
    let written = false;
    const enqueued = store.outbox.enqueue([job]).then((ids) => {
      written = true;
      return ids;
    });
    while (held.length === 0) await new Promise((r) => setImmediate(r));
    const T = Date.now() + 60_000;
    expect(await store.outbox.claim(T, 10, 10_000), 'committed, not yet durable: not claimable').toEqual([]);
    expect(written).toBe(false);
    for (const release of held.splice(0)) release();
    syncer.afterCommit = real;
    const [id] = await enqueued;
    expect((await store.outbox.claim(T, 10, 10_000)).map((j) => j.id)).toEqual([id]);
    await store.close();
  });
});
