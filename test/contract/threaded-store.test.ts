import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ThreadedSqliteStore } from '../../src/store/sqlite/threaded-store.js';
import { storeContract } from './store.contract.js';

/** The same contract with the SQLite connection in its writer thread (the production default). */
storeContract('sqlite in a writer thread', async ({ inlineFanoutMax }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-contract-t-'));
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
