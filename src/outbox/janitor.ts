import type { OutboxStore } from '../core/ports/outbox.js';
import type { Logger } from '../log.js';

export interface JanitorOptions {
  /** Delivered jobs older than this are pruned (ms). */
  deliveredRetentionMs: number;
  /** Dead jobs older than this are pruned (ms). */
  deadRetentionMs: number;
  /** How often to prune (ms). */
  intervalMs: number;
  /** Rows deleted per store write: each chunk is its own write, so sends interleave with a long prune. */
  chunk?: number;
}

/**
 * Keeps the delivery log bounded: every `intervalMs`, deletes delivered and dead jobs past their
 * retention, a chunk per write. Never touches pending or in-flight jobs (the store guarantees it).
 */
export class OutboxJanitor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly outbox: OutboxStore,
    private readonly opts: JanitorOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.pruneNow(), this.opts.intervalMs);
    this.timer.unref();
  }

  /** Prune until nothing past retention is left; resolves with how many jobs were deleted. */
  pruneNow(now = Date.now()): Promise<void> {
    this.running ??= (async () => {
      const chunk = this.opts.chunk ?? 5_000;
      let total = 0;
      try {
        for (;;) {
          if (this.stopped) break;
          const n = await this.outbox.prune(now - this.opts.deliveredRetentionMs, now - this.opts.deadRetentionMs, chunk);
          total += n;
          if (n < chunk) break;
        }
        if (total > 0) this.log.debug({ pruned: total }, 'outbox pruned');
      } catch (err) {
        this.log.error({ err }, 'outbox prune failed');
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.running) await this.running;
  }
}
