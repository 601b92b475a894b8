import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';

export type Synchronous = 'FULL' | 'NORMAL';

export interface SqliteOptions {
  /** Database file, or ':memory:' for tests. */
  file: string;
  /** FULL: fsync per commit (survives power loss). NORMAL: survives process crashes only. */
  synchronous: Synchronous;
}

/** Open (creating if needed) the database in WAL mode and bring its schema up to date. */
export function openDatabase(opts: SqliteOptions): Database.Database {
  if (opts.file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(opts.file)), { recursive: true });
  const db = new Database(opts.file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous}`);
  db.pragma('foreign_keys = OFF');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536'); // 64 MiB page cache
  db.pragma('temp_store = MEMORY');
  // Checkpoints: by the checkpointer thread for files (see checkpointer.ts), never inside a commit.
  db.pragma(`wal_autocheckpoint = ${opts.file === ':memory:' ? 1000 : 0}`);
  migrate(db);
  return db;
}
