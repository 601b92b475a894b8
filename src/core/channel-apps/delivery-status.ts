import type { OutboxJob } from '../ports/outbox.js';
import type { ChannelMessage, DeliveryStatus } from './model.js';

/** Status order: a later outcome never takes a status back (delivered and failed are both final). */
export const DELIVERY_RANK: Record<DeliveryStatus, number> = { none: 0, pending: 1, sent: 2, delivered: 3, failed: 3 };

/** The status an outbox job stands for: queued or retrying → pending, delivered → sent, dead → failed. */
export function statusOfJob(status: OutboxJob['status']): DeliveryStatus {
  return status === 'delivered' ? 'sent' : status === 'dead' ? 'failed' : 'pending';
}

/**
 * A reply's delivery status as users see it: its channel record merged with its outbox job(s) (`jobs`:
 * the reply's jobs of channel `channel-app`, oldest first; the last one counts).
 *
 * What each side holds (docs/channel-gateway.md, *Delivery status*):
 * - the record: `pending` from the reply's creation; `failed` (with the last error) written with a dead
 *   job's outcome; `pending` again on a redelivery; `delivered` / `failed` from the app's send result.
 *   A delivered job does NOT write `sent` into the record: `sent` lives in the job only.
 * - the job: pending / in flight → `pending`, delivered → `sent`, dead → `failed` (its last error).
 *
 * Rules: the further of the two by DELIVERY_RANK (so a send result — delivered or failed — wins over
 * the job's `sent`; a dead job's `failed` shows before its record write is seen); an active job behind
 * a failed record is a redelivery whose record update is on its way → `pending`. A `pending` record of
 * a reply with no job left: its job was pruned after retention, and only delivered jobs leave the
 * record pending (a dead one wrote `failed`, and the record is created with its job) → `sent`.
 */
export function mergedDelivery(
  rec: Pick<ChannelMessage, 'delivery' | 'deliveryError' | 'direction' | 'isReceive'> | null,
  jobs: ReadonlyArray<Pick<OutboxJob, 'status' | 'lastError'>>,
): { status: DeliveryStatus; error: string } {
  let status: DeliveryStatus = rec?.delivery ?? 'none';
  let error = rec?.deliveryError ?? '';
  const job = jobs[jobs.length - 1];
  if (!job) {
    if (rec && status === 'pending' && rec.direction === 'out' && !rec.isReceive) return { status: 'sent', error: '' };
    return { status, error };
  }
  const js = statusOfJob(job.status);
  if (DELIVERY_RANK[js] > DELIVERY_RANK[status]) {
    status = js;
    error = js === 'failed' ? job.lastError : js === 'sent' ? '' : error;
  } else if (js === 'pending' && status === 'failed') {
    // An active job behind a failed record: redelivered after it was dead-lettered (the record's
    // update is on its way). A send result never marks an active job: the app had it already.
    status = 'pending';
    error = '';
  }
  return { status, error };
}
