import { parentPort, workerData } from 'node:worker_threads';
import type { OutboxJob } from '../../core/ports/outbox.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import { channelRowRead, isStoreMethod, serializeError, withoutEchoedPayload, type FromWorker, type ToWorker } from './thread-protocol.js';

/**
 * The writer thread: owns the one SQLite connection and runs every store call, reads included, so
 * the main thread never blocks on SQLite (statements, commits, fsync). Results of one event-loop turn
 * go back in one message.
 */
const port = parentPort;
if (!port) throw new Error('thread-worker must run in a worker thread');

type Result = Extract<FromWorker, { type: 'results' }>['results'][number];
let results: Result[] = [];
let commits: Array<{ size: number; ms: number }> = [];
let errors: string[] = [];
let claimed: OutboxJob[] = [];
let claimedNext: OutboxJob[] = [];
let scheduled = false;

function flushResults(): void {
  scheduled = false;
  if (results.length === 0 && commits.length === 0 && errors.length === 0 && claimed.length === 0 && claimedNext.length === 0) return;
  const msg: FromWorker = { type: 'results', results, commits, errors, ...(claimed.length > 0 ? { claimed } : {}), ...(claimedNext.length > 0 ? { claimedNext } : {}) };
  results = [];
  commits = [];
  errors = [];
  claimed = [];
  claimedNext = [];
  port!.postMessage(msg);
}

function schedule(): void {
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(flushResults);
  }
}

let store: SqliteStore;
try {
  store = new SqliteStore({
    ...(workerData as Omit<SqliteStoreOptions, 'onCommit' | 'onError'>),
    onCommit: (size, ms) => {
      commits.push({ size, ms });
      schedule();
    },
    onError: (err) => {
      errors.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
      schedule();
    },
  });
} catch (err) {
  port.postMessage({ type: 'init-error', message: err instanceof Error ? err.message : String(err) } satisfies FromWorker);
  process.exit(1);
}

// Jobs claimed ahead under grant(), or leased by a settle as their keys' next jobs, go to the main
// thread's watcher with the next results.
store.outbox.watch((jobs, how) => {
  const to = how === 'next' ? claimedNext : claimed;
  for (const j of jobs) to.push(j);
  schedule();
});

port.on('message', (m: ToWorker) => {
  if (m.type === 'calls') {
    for (const c of m.calls) {
      if (!isStoreMethod(store, c.part, c.method)) {
        results.push({ id: c.id, ok: false, error: { kind: 'server_error', detail: `no store method ${c.part}.${c.method}` } });
        schedule();
        continue;
      }
      const target = store[c.part] as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      // A channel message read answers its stored row, unpacked on the main thread (thread-protocol.ts).
      const row = channelRowRead(c.part, c.method);
      let p: Promise<unknown>;
      try {
        p = row ? store.channelApps.messageRow(row, c.args) : target[c.method]!.apply(target, c.args);
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(
        (value) => {
          if (row) {
            results.push({ id: c.id, ok: true, value, wire: 'channelRow' });
            schedule();
            return;
          }
          const slim = withoutEchoedPayload(c.part, c.method, c.args, value);
          results.push(slim === undefined ? { id: c.id, ok: true, value } : { id: c.id, ok: true, value: slim, echo: 'payload' });
          schedule();
        },
        (err: unknown) => {
          results.push({ id: c.id, ok: false, error: serializeError(err) });
          schedule();
        },
      );
    }
  } else if (m.type === 'ping') {
    store.ping().then(
      (ok) => {
        results.push({ id: m.id, ok: true, value: ok });
        schedule();
      },
      () => {
        results.push({ id: m.id, ok: true, value: false });
        schedule();
      },
    );
  } else if (m.type === 'close') {
    store.close().then(
      () => {
        flushResults();
        port.postMessage({ type: 'closed' } satisfies FromWorker);
      },
      (err: unknown) => {
        errors.push(String(err));
        flushResults();
        port.postMessage({ type: 'closed' } satisfies FromWorker);
      },
    );
  }
});

port.postMessage({ type: 'ready' } satisfies FromWorker);
