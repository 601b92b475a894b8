import type { AttemptOutcome, ClaimNext, FinalOutcome, OnSettled, OutboxJob, OutboxStore } from '../core/ports/outbox.js';
import type { Logger } from '../log.js';

/** An outcome to record, with the job it belongs to (as claimed). */
export interface SettleEntry {
  job: OutboxJob;
  outcome: AttemptOutcome;
}

/** Redelivery revives dead jobs in writes of at most this many. */
const REVIVE_CHUNK = 500;

/** The final outcome an attempt outcome stands for, or null (a retry, or a job given back). */
export function finalOf(o: AttemptOutcome): FinalOutcome | null {
  if (o.ok) return { status: 'delivered', response: o.response, at: o.at };
  if ('release' in o || o.nextAt !== null) return null;
  return { status: 'dead', error: o.error, response: o.response };
}

/**
 * The one path by which outbox jobs reach a final outcome or leave one: the dispatcher's results, and
 * manual complete, fail and redelivery. It runs the OnSettled hook registered for the job's channel
 * (core/ports/outbox.ts gives the contract): `react` before the store write, whose reaction the store
 * applies in the same transaction as the outcome and only with it; `settled` / `redelivered` after the
 * write, for what it applied.
 *
 * Why not a callback inside the transaction: the SQLite writer may run in its own thread, and no
 * transaction is ever held open across an await. So core's reaction is computed first, from the job
 * and its outcome, and handed to the store as data (follow-up jobs) that the store's own fence decides
 * on together with the outcome.
 */
export class OutboxSettler {
  private readonly hooks = new Map<string, OnSettled>();

  constructor(
    private readonly outbox: OutboxStore,
    private readonly log: Logger,
  ) {}

  /** Register core's hook for one channel (one per channel; a later one replaces it). Returns an unregister. */
  register(channel: string, hook: OnSettled): () => void {
    this.hooks.set(channel, hook);
    return () => {
      if (this.hooks.get(channel) === hook) this.hooks.delete(channel);
    };
  }

  /**
   * The outcome as it is to be recorded: a final outcome of a channel with a hook carries the hook's
   * reaction (an empty one when `react` gives none, so that the write is durable before `settled`
   * announces it). Synchronous when there is nothing to ask or `react` answers at once, so such results
   * are recorded in the current turn's write. Throws (or rejects) when `react` does.
   */
  prepare(job: OutboxJob, outcome: AttemptOutcome): AttemptOutcome | Promise<AttemptOutcome> {
    const hook = this.hooks.get(job.channel);
    const final = finalOf(outcome);
    if (!hook || !final || 'release' in outcome) return outcome;
    if (!hook.react) return { ...outcome, then: {} };
    // A reaction given at once is recorded in the current turn's write, as a channel without one.
    const then = hook.react(job, final);
    if (!(then instanceof Promise)) return { ...outcome, then: then ?? {} };
    return then.then((t) => ({ ...outcome, then: t ?? {} }));
  }

  /**
   * Record prepared outcomes in one store write (submitted before this returns its promise), then run
   * the `settled` hooks of the final outcomes it applied. Resolves with the applied job ids. `next`: the
   * store's settle-and-claim-next (OutboxStore.settle), for the dispatcher's watcher.
   */
  async settle(entries: SettleEntry[], next?: Record<string, ClaimNext>): Promise<Set<number>> {
    const applied = new Set(await this.outbox.settle(entries.map((e) => e.outcome), next));
    for (const e of entries) {
      if (!applied.has(e.outcome.id)) continue;
      const hook = this.hooks.get(e.job.channel);
      const final = hook?.settled ? finalOf(e.outcome) : null;
      if (final) await this.after(() => hook!.settled!(e.job, final), e.job);
    }
    return applied;
  }

  /** Mark an active (pending or in-flight) job delivered by hand; false if it is unknown or already final. */
  complete(id: number, response: string, now = Date.now()): Promise<boolean> {
    return this.manual(id, { id, ok: true, response, at: now });
  }

  /** Record a failed attempt of an active job by hand: a retry at `nextAt`, or dead when null. */
  fail(id: number, error: string, response: string, nextAt: number | null): Promise<boolean> {
    return this.manual(id, { id, ok: false, error, response, nextAt });
  }

  /**
   * Make that dead job (or every dead job) pending again with fresh attempts, in bounded writes, then
   * run the `redelivered` hooks. Returns how many were revived.
   */
  async redeliver(id?: number, now = Date.now()): Promise<number> {
    let total = 0;
    for (;;) {
      const jobs = await this.outbox.revive(id, now, REVIVE_CHUNK);
      total += jobs.length;
      for (const j of jobs) {
        const hook = this.hooks.get(j.channel);
        if (hook?.redelivered) await this.after(() => hook.redelivered!(j), j);
      }
      if (id !== undefined || jobs.length < REVIVE_CHUNK) return total;
    }
  }

  private async manual(id: number, outcome: AttemptOutcome): Promise<boolean> {
    const job = await this.outbox.get(id);
    if (!job || (job.status !== 'pending' && job.status !== 'in_flight')) return false;
    // Unfenced by a lease, but fenced to active jobs: if the job reaches a final outcome meanwhile,
    // this outcome and its reaction are both dropped.
    const applied = await this.settle([{ job, outcome: await this.prepare(job, outcome) }]);
    return applied.has(id);
  }

  /** Run a post-commit hook; its failure is logged (the outcome stands). */
  private async after(fn: () => void | Promise<void>, job: OutboxJob): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.log.error({ err, job: job.id, channel: job.channel }, 'outbox post-commit hook failed');
    }
  }
}
