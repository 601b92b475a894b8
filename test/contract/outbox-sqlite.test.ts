import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ThreadedSqliteStore } from '../../src/store/sqlite/threaded-store.js';
import { outboxContract } from './outbox.contract.js';

// The outbox contract on every SQLite flavour: a file (WAL, synchronous NORMAL), in memory with small
// commit batches, and with the connection in its writer thread (arguments and results structured-cloned).

outboxContract('sqlite file (NORMAL)', async ({ inlineFanoutMax }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-outbox-'));
  const store = new SqliteStore({
    file: path.join(dir, 'switchboard.db'),
    synchronous: 'NORMAL',
    nodeId: 1,
    commitMaxBatch: 512,
    commitMaxDelayMs: 0,
    inlineFanoutMax,
  });
  return {
    store,
    cleanup: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

outboxContract('sqlite :memory: (batches of 4)', async ({ inlineFanoutMax }) => {
  const store = new SqliteStore({ file: ':memory:', synchronous: 'NORMAL', nodeId: 2, commitMaxBatch: 4, commitMaxDelayMs: 0, inlineFanoutMax });
  return { store, cleanup: () => store.close() };
});

outboxContract('sqlite in a writer thread (file)', async ({ inlineFanoutMax }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-outbox-t-'));
  const store = await ThreadedSqliteStore.open({
    file: path.join(dir, 'switchboard.db'),
    synchronous: 'NORMAL',
    nodeId: 0,
    commitMaxBatch: 64,
    commitMaxDelayMs: 0,
    inlineFanoutMax,
  });
  return {
    store,
    cleanup: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
