import type { Logger } from '../log.js';

/**
 * Runs the idle sweep of customer-service sessions every `intervalMs`. The deadline of each session is
 * a column (idle_at), so a restart loses no timeout: the first sweep after start closes what became
 * idle while the process was down. One sweep at a time; failures are logged and retried next tick.
 *
 * Why not the outbox's notBefore: a delayed job per session would have to be replaced on every
 * message (or re-check and re-enqueue itself when due), a write per message to the outbox for what one
 * indexed column and one range read per tick do; and closing a session is not a side effect leaving
 * the process, which is what the outbox is for.
 */
export class SessionSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly sweep: () => Promise<number>,
    private readonly intervalMs: number,
    private readonly log: Pick<Logger, 'error'>,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    this.tick();
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.sweep()
      .then(() => undefined)
      .catch((err: unknown) => this.log.error({ err }, 'closing idle customer-service sessions failed'))
      .finally(() => {
        this.running = null;
      });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
