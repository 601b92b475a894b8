/**
 * Vitest global setup: bundles the SQLite store's thread entries (writer thread, checkpointer) from the
 * current sources into one JavaScript file each, and points the test processes at them through
 * SWITCHBOARD_TEST_WORKER_DIR (src/store/sqlite/worker-entry.ts). Without it every store thread
 * started from sources registers tsx and transforms the store's module graph on its own, about a
 * second per store on this machine; the contract suites start hundreds. The bundle is made afresh by
 * each run, so it never lags behind the sources. The directory is under node_modules (so the bundles
 * resolve their packages there) and removed at the end of the run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

export default async function setup(): Promise<() => void> {
  const root = path.resolve(import.meta.dirname, '..');
  const cache = path.join(root, 'node_modules', '.cache');
  fs.mkdirSync(cache, { recursive: true });
  const dir = fs.mkdtempSync(path.join(cache, 'switchboard-test-workers-'));
  // The bundles are ES modules wherever the nearest package.json says otherwise.
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
  await build({
    entryPoints: ['thread-worker', 'checkpoint-worker'].map((n) => path.join(root, 'src', 'store', 'sqlite', `${n}.ts`)),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    outdir: dir,
    logLevel: 'error',
  });
  process.env['SWITCHBOARD_TEST_WORKER_DIR'] = dir;
  return () => fs.rmSync(dir, { recursive: true, force: true });
}
