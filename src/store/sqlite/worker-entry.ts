import path from 'node:path';
import { Worker } from 'node:worker_threads';

/** The thread entries of this directory. */
export type WorkerEntry = 'thread-worker' | 'checkpoint-worker';

/**
 * Start one of this directory's thread entries with `workerData`.
 * - Built (dist): the compiled `.js` next to this module.
 * - From TypeScript sources (tests): the bundle of that entry in SWITCHBOARD_TEST_WORKER_DIR when the
 *   test run made one (test/global-setup.ts; a thread is ready in a fraction of the time), else the
 *   `.ts` itself, with tsx registered in the thread first.
 */
export function startWorker(name: WorkerEntry, workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, import.meta.url), { workerData });
  const bundled = process.env['SWITCHBOARD_TEST_WORKER_DIR'];
  if (bundled) return new Worker(path.join(bundled, `${name}.js`), { workerData });
  const entry = new URL(`./${name}.ts`, import.meta.url);
  return new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`, { eval: true, workerData });
}
