import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { isCoreError } from '../../src/core/errors.js';
import { Checkpointer } from '../../src/store/sqlite/checkpointer.js';
import { ThreadedSqliteStore } from '../../src/store/sqlite/threaded-store.js';
import { eventually, withTimeout } from '../helpers/ws-client.js';

/**
 * The store's worker threads (issue 8: the same class of bug as the WebSocket crash, on Worker events):
 * whatever a thread does — die, fail to start, report through a hook that throws — nothing throws in
 * the main thread (here, the test's: vitest fails the run on an uncaught error), the death is reported
 * through onError, and close() still returns.
 */

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-workers-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function messages(errors: unknown[]): string[] {
  return errors.map((e) => (e instanceof Error ? e.message : String(e)));
}

describe('Checkpointer', () => {
  it('a thread that dies (database it cannot open) is reported and restarted; close() returns', async () => {
    const errors: unknown[] = [];
    // A directory is not a database: the thread throws at start, every time.
    const cp = new Checkpointer({ file: tempDir(), intervalMs: 50, restartFrames: 1000, onError: (e) => errors.push(e), restartDelayMs: 10, maxRestartDelayMs: 40 });
    await eventually(async () => cp.restarts >= 3, 'three restarts', 20_000);
    expect(messages(errors).some((m) => /checkpoint thread exited \(code 1\); restarting it in \d+ ms/.test(m))).toBe(true);
    await withTimeout(cp.close(), 5000, 'close');
    const after = cp.restarts;
    // Nothing restarts it once closed (a pending restart is cancelled, a running thread stopped).
    await withTimeout(cp.close(), 5000, 'a second close');
    expect(cp.restarts).toBe(after);
  }, 30_000);

  it('on a healthy database it runs until closed, without reporting anything', async () => {
    const errors: unknown[] = [];
    const dir = tempDir();
    const store = await ThreadedSqliteStore.open({ file: path.join(dir, 'db'), synchronous: 'NORMAL', nodeId: 0, commitMaxBatch: 8, commitMaxDelayMs: 0, inlineFanoutMax: 100 });
    await store.close();
    const cp = new Checkpointer({ file: path.join(dir, 'db'), intervalMs: 10, restartFrames: 1000, onError: (e) => errors.push(e) });
    await withTimeout(cp.close(), 5000, 'close');
    expect(cp.restarts).toBe(0);
    expect(errors).toEqual([]);
  });
});

describe('ThreadedSqliteStore', () => {
  async function open(hooks: { onError?: (e: unknown) => void; onCommit?: (size: number, ms: number) => void } = {}): Promise<ThreadedSqliteStore> {
    return ThreadedSqliteStore.open({ file: path.join(tempDir(), 'db'), synchronous: 'NORMAL', nodeId: 0, commitMaxBatch: 8, commitMaxDelayMs: 0, inlineFanoutMax: 100, ...hooks });
  }

  it('a writer thread that exits is reported once; calls fail with server_error, ping answers false, close() returns', async () => {
    const errors: unknown[] = [];
    const store = await open({ onError: (e) => errors.push(e) });
    await store.settings.put('k', 1);
    const worker = (store as unknown as { worker: Worker }).worker;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    await worker.terminate();
    await exited;
    expect(messages(errors).filter((m) => m.startsWith('store thread exited'))).toHaveLength(1);
    const err = await store.settings.get('k').then(
      () => null,
      (e: unknown) => e,
    );
    expect(isCoreError(err) && err.kind === 'server_error').toBe(true);
    expect(await store.ping()).toBe(false);
    await withTimeout(store.close(), 5000, 'close');
  });

  it('a hook that throws while results arrive is reported; the calls still settle', async () => {
    const errors: unknown[] = [];
    const store = await open({
      onError: (e) => errors.push(e),
      onCommit: () => {
        throw new Error('metrics exploded');
      },
    });
    await store.settings.put('a', 1);
    await store.settings.put('b', 2);
    expect(await store.settings.get('b')).toBe(2);
    expect(messages(errors)).toContain('metrics exploded');
    await store.close();
  });

  it('an outbox watcher that throws is reported; the store goes on', async () => {
    const errors: unknown[] = [];
    const store = await open({ onError: (e) => errors.push(e) });
    const m = store as unknown as { onMessage(m: unknown): void };
    store.outbox.watch(() => {
      throw new Error('watcher exploded');
    });
    // What the thread sends when it claimed jobs ahead: delivered straight to the handler.
    m.onMessage({ type: 'results', results: [], commits: [], errors: [], claimed: [{ id: 1 }] });
    expect(messages(errors)).toContain('watcher exploded');
    expect(await store.ping()).toBe(true);
    await store.close();
  });
});
