import type { OutboxJob } from '../core/ports/outbox.js';
import type { SendResult, Sender } from '../core/ports/sender.js';
import { postCallback } from './http.js';
import { isTimeout } from './deadline.js';
import type { CallbackTargets } from './targets.js';

/**
 * Delivers callback jobs (outbox channel 'webhook') to their target. Any 2xx is a delivery (Tencent
 * after-callback replies are informational); anything else, a network error or a timeout is retried.
 * A job whose target was removed is dead-lettered (it can be redelivered once the target is back).
 */
export class WebhookSender implements Sender {
  /**
   * `maxAttemptMs` bounds one attempt below the outbox lease, so a job is never delivered twice at
   * once: an attempt's one deadline (connect, headers and body together) is the target's timeout, cut
   * to `maxAttemptMs`; it fires at most ~100 ms late (the shared timer wheel's tick).
   */
  constructor(
    private readonly targets: CallbackTargets,
    private readonly maxAttemptMs: number,
  ) {}

  async deliver(job: OutboxJob): Promise<SendResult> {
    const t = this.targets.get(job.target);
    if (!t || !t.enabled) return { ok: false, response: '', error: `callback target ${job.target} is not configured or disabled`, retryable: false };
    const timeoutMs = Math.min(t.timeoutMs, this.maxAttemptMs);
    try {
      const res = await postCallback(t, job.kind, job.body, job.meta, {
        deliveryId: job.id,
        attempt: job.attempts, // counted when the job was claimed: this attempt included
        createdAt: job.createdAt,
        timeoutMs,
      });
      const ok = res.status >= 200 && res.status < 300;
      return { ok, response: `${res.status} ${res.text}`, ...(ok ? {} : { error: `HTTP ${res.status}` }) };
    } catch (err) {
      const e = err as Error;
      return { ok: false, response: '', error: isTimeout(e) ? `timeout after ${timeoutMs} ms` : e.message };
    }
  }
}
