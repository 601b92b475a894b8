import { Worker } from 'node:worker_threads';

export interface CheckpointerOptions {
  file: string;
  /** Time between PASSIVE checkpoints (ms). */
  intervalMs: number;
  /** WAL frames left after a PASSIVE checkpoint that trigger a RESTART checkpoint. */
  restartFrames: number;
  onError?: (err: Error) => void;
}

/** Starts the checkpointer thread (checkpoint-worker.ts) for a WAL database whose writer has auto-checkpoints off. */
export class Checkpointer {
  private readonly worker: Worker;

  constructor(opts: CheckpointerOptions) {
    const fromSource = import.meta.url.endsWith('.ts');
    const entry = new URL(fromSource ? './checkpoint-worker.ts' : './checkpoint-worker.js', import.meta.url);
    const data = { file: opts.file, intervalMs: opts.intervalMs, restartFrames: opts.restartFrames };
    this.worker = fromSource
      ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`, { eval: true, workerData: data })
      : new Worker(entry, { workerData: data });
    this.worker.unref();
    this.worker.on('message', (m: { type: string; message?: string }) => {
      if (m.type === 'error') opts.onError?.(new Error(`checkpoint: ${m.message ?? ''}`));
    });
    this.worker.on('error', (err) => opts.onError?.(err));
  }

  /** Stop the thread (the writer's own close then checkpoints what is left). */
  async close(): Promise<void> {
    const done = new Promise<void>((resolve) => {
      this.worker.once('exit', () => resolve());
      this.worker.on('message', (m: { type: string }) => {
        if (m.type === 'closed') void this.worker.terminate();
      });
    });
    this.worker.postMessage({ type: 'close' });
    await done;
  }
}
