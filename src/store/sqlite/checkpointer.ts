import type { Worker } from 'node:worker_threads';
import { startWorker } from './worker-entry.js';

export interface CheckpointerOptions {
  file: string;
  /** Time between PASSIVE checkpoints (ms). */
  intervalMs: number;
  /** WAL frames left after a PASSIVE checkpoint that trigger a RESTART checkpoint. */
  restartFrames: number;
  onError?: (err: Error) => void;
  /** Delay before the first restart of a thread that died; it doubles up to `maxRestartDelayMs`. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
}

/**
 * Runs the checkpointer thread (checkpoint-worker.ts) for a WAL database whose writer has
 * auto-checkpoints off. Without it the WAL only grows, so a thread that dies (an uncaught error, a
 * database it cannot open) is reported through onError and started again after a delay that doubles
 * on each death (1 s, 2 s, … up to a minute). Every worker event has a listener ('error', 'exit',
 * 'message'): nothing about the thread can throw in the main thread. close() returns whether the
 * thread is running, restarting or gone.
 */
export class Checkpointer {
  private worker: Worker | null = null;
  private closed = false;
  private deaths = 0;
  private restartTimer: NodeJS.Timeout | null = null;

  /**
   * The thread starts after one interval, not at once: a store open for less than that (a short test, a
   * CLI command) never pays for a thread, and the WAL cannot have grown much meanwhile.
   */
  constructor(private readonly opts: CheckpointerOptions) {
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.closed) this.worker = this.spawn();
    }, opts.intervalMs);
    this.restartTimer.unref();
  }

  /** Deaths of the thread so far (tests, diagnostics). */
  get restarts(): number {
    return this.deaths;
  }

  private spawn(): Worker {
    const data = { file: this.opts.file, intervalMs: this.opts.intervalMs, restartFrames: this.opts.restartFrames };
    const worker = startWorker('checkpoint-worker', data);
    worker.unref();
    worker.on('message', (m: { type: string; message?: string }) => {
      if (m.type === 'error') this.report(new Error(`checkpoint: ${m.message ?? ''}`));
    });
    // An uncaught error in the thread: 'exit' follows, which restarts it.
    worker.on('error', (err) => this.report(err));
    worker.on('exit', (code) => this.exited(worker, code));
    return worker;
  }

  private exited(worker: Worker, code: number): void {
    if (this.worker !== worker) return;
    this.worker = null;
    if (this.closed) return;
    const first = this.opts.restartDelayMs ?? 1000;
    const delay = Math.min(this.opts.maxRestartDelayMs ?? 60_000, first * 2 ** Math.min(this.deaths, 16));
    this.deaths++;
    this.report(new Error(`checkpoint thread exited (code ${code}); restarting it in ${delay} ms`));
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.closed) this.worker = this.spawn();
    }, delay);
    this.restartTimer.unref();
  }

  private report(err: Error): void {
    try {
      this.opts.onError?.(err);
    } catch {
      // Nowhere left to report to.
    }
  }

  /** Stop the thread (the writer's own close then checkpoints what is left). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const worker = this.worker;
    if (!worker) return;
    const done = new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.on('message', (m: { type: string }) => {
        if (m.type === 'closed') void worker.terminate();
      });
    });
    worker.postMessage({ type: 'close' });
    await done;
  }
}
