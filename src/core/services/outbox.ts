import type { Bus } from '../ports/bus.js';
import type { JobFilter, JobStatus, OutboxJob, OutboxStore } from '../ports/outbox.js';

/** Makes dead jobs pending again through the outbox's settle hooks (src/outbox/settler.ts). */
export interface Redeliverer {
  redeliver(id?: number, now?: number): Promise<number>;
}

/**
 * The outbox as the surfaces see it: the delivery log, the jobs of one business object (by
 * correlation reference), counts, and redelivery of dead jobs — which goes through the redeliverer so
 * that every channel's onSettled hooks see it, then wakes the dispatchers of every node.
 */
export class OutboxService {
  constructor(
    private readonly store: OutboxStore,
    private readonly bus: Bus,
    private readonly redeliverer: Redeliverer,
    private readonly now: () => number = Date.now,
  ) {}

  list(filter: JobFilter): Promise<OutboxJob[]> {
    return this.store.list(filter);
  }

  byRef(ref: string, limit: number): Promise<OutboxJob[]> {
    return this.store.byRef(ref, limit);
  }

  counts(): Promise<Record<JobStatus, number>> {
    return this.store.counts();
  }

  /** Redeliver one dead job, or every dead job when `id` is absent; returns how many. */
  async redeliver(id?: number): Promise<number> {
    const count = await this.redeliverer.redeliver(id, this.now());
    if (count > 0) await this.bus.publish({ type: 'outbox.wake' });
    return count;
  }
}
