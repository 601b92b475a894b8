import type { OutboxJob } from '../core/ports/outbox.js';
import type { Attempt, Sender } from '../outbox/dispatcher.js';
import { postCallback } from './http.js';
import { isTimeout } from './tencent.js';
import type { CallbackTargets } from './targets.js';

/**
 * Delivers callback jobs (outbox channel 'webhook') to their target. Any 2xx is a delivery (Tencent
 * after-callback replies are informational); anything else, a network error or a timeout is retried.
 * A job whose target was removed is dead-lettered (it can be redelivered once the target is back).
 */
export class WebhookSender implements Sender {
  /**
   * `maxAttemptMs` bounds one attempt below the outbox lease, so a job is never delivered twice at
   * once: headers and body each get at most half of it.
   */
  constructor(
    private readonly targets: CallbackTargets,
    private readonly maxAttemptMs: number,
  ) {}

  async deliver(job: OutboxJob): Promise<Attempt> {
    const t = this.targets.get(job.target);
    if (!t || !t.enabled) return { ok: false, response: '', error: `callback target ${job.target} is not configured or disabled`, retryable: false };
    const timeoutMs = Math.min(t.timeoutMs, Math.floor(this.maxAttemptMs / 2));
    try {
      const res = await postCallback(t, job.kind, job.body, job.meta, {
        deliveryId: job.id,
        attempt: job.attempts + 1,
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
