import type { OutboxJob } from '../../core/ports/outbox.js';
import type { SendResult, Sender } from '../../core/ports/sender.js';
import type { SmsProvider } from '../../core/ports/sms.js';
import { parseChannelJob } from '../../core/notify-channels/jobs.js';

/**
 * Delivers the jobs of outbox channel `sms` (core/notify-channels/jobs.ts) through an SmsProvider. One
 * attempt per call; the provider's verdict is the attempt's (a permanent refusal dead-letters the job at
 * once, anything else is retried by the channel's policy). A job whose body is not an SMS job is
 * dead-lettered.
 */
export class SmsSender implements Sender {
  constructor(
    private readonly provider: SmsProvider,
    /** Deadline of one attempt, below the channel's lease (a job is never delivered twice at once). */
    private readonly timeoutMs: number,
  ) {}

  async deliver(job: OutboxJob): Promise<SendResult> {
    const body = parseChannelJob(job.body);
    if (!body) return { ok: false, response: '', error: 'not an SMS job', retryable: false };
    try {
      const r = await this.provider.send(
        { to: body.to, text: body.text, notificationId: body.notification, title: body.title, userId: body.user },
        { deliveryId: job.id, attempt: job.attempts, timeoutMs: this.timeoutMs },
      );
      return { ok: r.ok, response: r.response, ...(r.error !== undefined ? { error: r.error } : {}), ...(r.retryable === false ? { retryable: false } : {}) };
    } catch (err) {
      return { ok: false, response: '', error: (err as Error).message || String(err) };
    }
  }
}
