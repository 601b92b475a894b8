import type { EmailProvider } from '../../core/ports/email.js';
import type { OutboxJob } from '../../core/ports/outbox.js';
import type { SendResult, Sender } from '../../core/ports/sender.js';
import { parseChannelJob } from '../../core/notify-channels/jobs.js';

/**
 * Delivers the jobs of outbox channel `email` (core/notify-channels/jobs.ts) through an EmailProvider:
 * subject = the notification's title, text = its body. One attempt per call; the provider's verdict is
 * the attempt's (a permanent refusal dead-letters the job at once, anything else is retried by the
 * channel's policy). A job whose body is not an e-mail job is dead-lettered.
 */
export class EmailSender implements Sender {
  constructor(
    private readonly provider: EmailProvider,
    /** Deadline of one attempt, below the channel's lease (a job is never delivered twice at once). */
    private readonly timeoutMs: number,
  ) {}

  async deliver(job: OutboxJob): Promise<SendResult> {
    const body = parseChannelJob(job.body);
    if (!body) return { ok: false, response: '', error: 'not an e-mail job', retryable: false };
    try {
      const r = await this.provider.send({ to: body.to, subject: body.title, text: body.text }, { deliveryId: job.id, attempt: job.attempts, timeoutMs: this.timeoutMs });
      return { ok: r.ok, response: r.response, ...(r.error !== undefined ? { error: r.error } : {}), ...(r.retryable === false ? { retryable: false } : {}) };
    } catch (err) {
      return { ok: false, response: '', error: (err as Error).message || String(err) };
    }
  }
}
