import type { OutboxJob } from './outbox.js';

/** What a sender reports for one delivery attempt of an outbox job. */
export interface SendResult {
  ok: boolean;
  /** For the delivery log (kept truncated). */
  response: string;
  error?: string;
  /** False: retrying cannot help (e.g. the target no longer exists): dead-letter now. */
  retryable?: boolean;
}

/**
 * Delivers the jobs of one outbox channel ('webhook' today; 'channel-app', 'smtp', 'sms' next).
 *
 * Contract: `deliver` makes one attempt and reports it; it never retries itself (the dispatcher
 * retries with the channel's policy) and should not throw (a throw counts as a failed, retryable
 * attempt). It must finish well within the channel's lease (policy `leaseMs`), or the job may be
 * claimed again and delivered twice at once. Delivery is at least once: `job.id` is the stable
 * delivery id a receiver dedupes on; `job.attempts` already counts this attempt.
 */
export interface Sender {
  deliver(job: OutboxJob): Promise<SendResult>;
}
