import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/**
 * Checkpointer thread: copies WAL frames into the database file on its own connection, so the
 * writer's commits never stall on a checkpoint. PASSIVE checkpoints run alongside the writer; when
 * the WAL still holds more than `restartFrames` frames afterwards (the disk cannot keep up), a
 * RESTART checkpoint bounds it, briefly holding the writer back.
 */
const { file, intervalMs, restartFrames } = workerData as { file: string; intervalMs: number; restartFrames: number };
const db = new Database(file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL'); // the WAL is fsynced before frames are copied, the database after

let timer: NodeJS.Timeout | null = null;
function tick(): void {
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    if (row && row.log - row.checkpointed > restartFrames) db.pragma('wal_checkpoint(RESTART)');
  } catch (err) {
    parentPort?.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
  timer = setTimeout(tick, intervalMs);
}
timer = setTimeout(tick, intervalMs);

parentPort?.on('message', (m: { type: string }) => {
  if (m.type === 'close') {
    if (timer) clearTimeout(timer);
    try {
      db.close();
    } catch (err) {
      parentPort?.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    }
    parentPort?.postMessage({ type: 'closed' });
  }
});
