import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { UndoLog } from '../../src/store/sqlite/undo-log.js';
import { WriterCache } from '../../src/store/sqlite/writer-cache.js';
import { SqliteWriter } from '../../src/store/sqlite/writer.js';

/**
 * WriterCache (src/store/sqlite/writer-cache.ts): what a command remembers stays only if the command
 * and its batch commit — a command that throws, or a batch whose COMMIT fails, forgets it again — so the
 * cache never holds a fact the database did not commit.
 */
describe('WriterCache', () => {
  let db: Database.Database | undefined;
  afterEach(() => {
    db?.close();
    db = undefined;
  });

  function setup(): { writer: SqliteWriter; cache: WriterCache<string>; db: Database.Database } {
    db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    db.exec(`CREATE TABLE p(id TEXT PRIMARY KEY);
             CREATE TABLE c(id TEXT PRIMARY KEY, p TEXT REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED);`);
    const undo = new UndoLog();
    const writer = new SqliteWriter(db, { maxBatch: 100, maxDelayMs: 0, undo });
    return { writer, cache: new WriterCache<string>(undo, 3), db };
  }

  it('keeps what a committed command remembered; forgets what a command that threw remembered', async () => {
    const { writer, cache } = setup();
    await writer.submit(() => cache.remember('a', 'A'));
    const failed = writer.submit(() => {
      cache.remember('b', 'B');
      throw new Error('boom');
    });
    await expect(failed).rejects.toThrow();
    expect(cache.get('a')).toBe('A');
    expect(cache.get('b')).toBeUndefined();
  });

  it("forgets everything a batch remembered when the batch's COMMIT fails", async () => {
    const { writer, cache, db } = setup();
    // Both commands share one batch; the second leaves a deferred foreign-key violation, so COMMIT fails.
    const first = writer.submit(() => {
      db.prepare(`INSERT INTO p(id) VALUES ('x')`).run();
      return cache.remember('x', 'X');
    });
    const second = writer.submit(() => {
      db.prepare(`INSERT INTO c(id, p) VALUES ('c1', 'missing')`).run();
      return cache.remember('c1', 'C');
    });
    await expect(first).rejects.toThrow();
    await expect(second).rejects.toThrow();
    expect(cache.get('x')).toBeUndefined();
    expect(cache.get('c1')).toBeUndefined();
    expect(db.prepare('SELECT COUNT(*) AS n FROM p').get()).toEqual({ n: 0 });
  });

  it('forget drops an entry; past `max` entries everything is forgotten', async () => {
    const { writer, cache } = setup();
    await writer.submit(() => {
      cache.remember('a', '1');
      cache.remember('b', '2');
      cache.remember('c', '3');
    });
    cache.forget('b');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.size).toBe(2);
    await writer.submit(() => {
      cache.remember('d', '4');
      cache.remember('e', '5');
    });
    // 'e' came when 3 were held: the map was cleared first.
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('e')).toBe('5');
  });
});
