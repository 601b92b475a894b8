import type { Bus } from '../ports/bus.js';
import type { FanoutBatch, NotificationStore } from '../ports/notifications.js';
import { contentOf, type NotificationContent } from './model.js';
import type { NotificationChannelPlanner } from './planner.js';

/**
 * Runs the fan-outs of sent notifications on this node, one loop per notification: read the next
 * batch of recipients after the durable cursor, plan it (web: every recipient gets an inbox row;
 * email/SMS: the channel planner), commit it fenced by the cursor (NotificationStore.commitBatch),
 * then publish `notify.push` for the users who got a row. Each batch is one short transaction, so the
 * writer interleaves other requests between batches. A loop ends when the store says the fan-out is
 * done, the notification is gone, or its fence moved (another runner took over); it stops between
 * batches on close() and resumes from the cursor at the next start.
 */
export class NotificationFanout {
  private readonly running = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    private readonly store: NotificationStore,
    private readonly bus: Bus,
    private readonly planner: NotificationChannelPlanner,
    private readonly batch: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Start (or keep) the fan-out of a sent notification. */
  start(id: string): void {
    if (this.closed || this.running.has(id)) return;
    const run = this.run(id)
      .catch((err: unknown) => this.onError(err))
      .finally(() => this.running.delete(id));
    this.running.set(id, run);
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.values());
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.running.values());
  }

  private async run(id: string): Promise<void> {
    const n = await this.store.get(id);
    if (!n || !n.hasSend || n.fanoutDone) return;
    const item = contentOf(n);
    if (n.sendMethod === 'web') {
      await this.runWeb(id, item);
      return;
    }
    while (!this.closed) {
      const next = await this.store.nextRecipients(id, this.batch, true);
      if (!next) return;
      const rs = next.recipients;
      const last = rs[rs.length - 1];
      const batch: FanoutBatch = { from: next.cursor, to: last ? last.userId : next.cursor, done: rs.length < this.batch, inbox: [], jobs: [], statuses: [] };
      if (rs.length > 0) {
        const plan = await this.planner.plan(n, rs);
        batch.jobs = plan.jobs;
        batch.statuses = plan.statuses;
        batch.inbox = plan.inbox;
      }
      const r = await this.store.commitBatch(id, batch);
      if (!r) return;
      if (r.inserted.length > 0) await this.bus.publish({ type: 'notify.push', users: r.inserted, item });
      if (batch.jobs.length > 0) await this.bus.publish({ type: 'outbox.wake' });
      if (batch.done) return;
    }
  }

  /**
   * A web fan-out: one store command per batch (rows and cursor together), with the next batch
   * submitted while the previous one commits (PIPELINE in flight), so the writer never waits for this
   * loop and each batch still commits in its own short transaction.
   */
  private async runWeb(id: string, item: NotificationContent): Promise<void> {
    const inflight: Array<Promise<{ inserted: string[]; done: boolean } | null>> = [];
    try {
      let finished = false;
      while (!finished) {
        while (!this.closed && inflight.length < PIPELINE) inflight.push(this.store.fanoutWeb(id, this.batch));
        const next = inflight.shift();
        if (!next) return;
        const r = await next;
        if (!r || r.done) finished = true;
        if (r && r.inserted.length > 0) await this.bus.publish({ type: 'notify.push', users: r.inserted, item });
      }
    } finally {
      // Calls submitted after the last batch find the fan-out done and do nothing; after a failure,
      // the rest is resumed at the next start (their own failures are the same one).
      await Promise.allSettled(inflight);
    }
  }
}

/** Web fan-out batches in flight at once (one committing, one queued behind it). */
const PIPELINE = 2;
