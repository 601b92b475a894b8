import type { Bus } from '../core/ports/bus.js';
import { headCount, targetKey, type AttemptOutcome, type ClaimNext, type Handover, type OutboxJob, type OutboxStore } from '../core/ports/outbox.js';
import type { SendResult, Sender } from '../core/ports/sender.js';
import type { Logger } from '../log.js';
import { Lane } from './lane.js';
import type { ChannelPolicy } from './policy.js';
import { finalOf, OutboxSettler } from './settler.js';

/** How long a leased job may wait for a slot before it is given back (ms). */
const READY_WAIT_MS = 1_000;

/** Settles in flight at once (see queue). */
const MAX_SETTLES = 4;

/** A channel this node delivers: its sender and its policy. */
export interface DispatchChannel {
  sender: Sender;
  policy: ChannelPolicy;
}

export interface DispatcherOptions {
  /** Claim at least this often even without a wake-up. */
  pollMs: number;
  /**
   * Wake-ups within this window share one claim (ms): under load one claim takes many jobs instead of
   * one per commit. Adds at most this much to a job's delay.
   */
  claimDelayMs?: number;
  /**
   * Ask the store for lookahead with every lease (see the port, and *Lookahead* below); default off.
   * Worth it where a key's settle round trip is long (a remote store), not where CPU binds.
   */
  lookahead?: boolean;
  /** Records outcomes and runs core's OnSettled hooks; default: one without hooks. */
  settler?: OutboxSettler;
  /** After each recorded attempt (not for jobs given back unattempted): for metrics. */
  onResult?: (job: OutboxJob, ok: boolean, dead: boolean) => void;
}

interface Recorded {
  job: OutboxJob;
  outcome: AttemptOutcome;
  dead: boolean;
}

/**
 * Runs outbox jobs of the channels it has senders for, each channel with its own policy (a Lane):
 * claims due jobs of those channels only (woken by the bus after commits, and on a poll), delivers
 * them through the channel's sender with at most the channel's `concurrency` in flight (and
 * `perTargetConcurrency` per target), then records success, a retry at now + firstRetryMs·2^(attempt−1)
 * (capped), or the dead-letter state after the channel's maxAttempts. Jobs of other channels are
 * never claimed here: they wait for a node that can send them.
 *
 * Results of one event-loop turn are recorded in one store write (through the settler, which adds
 * core's reactions to final outcomes and runs its post-commit hooks), fenced by each job's lease, and
 * submitted before the next claim so that claim sees them. That write also leases the next job of each
 * key a final outcome released (settle-and-claim-next, with its claim options), handed over once
 * committed: a key's next job starts without a claim round trip. Slots bound the posts in flight, not
 * the keys being served: a key between its post and its settle's commit holds no slot, and its next job
 * waits leased (within the lane's backlog) when other keys took every slot meanwhile. Up to MAX_SETTLES
 * settles are in flight at once (the one writer keeps their order). A target whose attempts keep failing trips
 * its channel's circuit breaker: its jobs are left pending (attempts untouched) until a probe succeeds;
 * the probe is claimed as soon as the breaker turns half-open (a timer), not at the next poll.
 * *Lookahead* (DispatcherOptions.lookahead; see the port): a key's next job comes with its current
 * one and waits (Lane.held, no slot) until the current attempt ends; it then starts at once in the slot
 * that attempt leaves when the outcome is final, and goes back to the store when it is not (a retry, a
 * job given back). So a key's posts still go one at a time and in order, without waiting for the settle between
 * them. Delivery is at least once: the job id is the stable delivery id.
 */
export class OutboxDispatcher {
  private readonly lanes = new Map<string, Lane>();
  private readonly settler: OutboxSettler;
  /** Deliveries running, over every lane. */
  private running = 0;
  /** Reactions being asked of core (OnSettled.react) before their outcomes can be recorded. */
  private reacting = 0;
  private claiming: Promise<void> | null = null;
  /** Lanes a claim is wanted for (kick): the next claim loop claims for these only. */
  private readonly wanted = new Set<Lane>();
  private pending: NodeJS.Timeout | null = null;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  /** A claim at the moment an open breaker turns half-open (its probe starts then, not at the next poll). */
  private probeTimer: NodeJS.Timeout | null = null;
  private probeAt = Infinity;
  private unsubscribe: (() => void) | null = null;
  private idle: Array<() => void> = [];
  /** Results not yet submitted, with the jobs they belong to (for onResult). */
  private outcomes: Recorded[] = [];
  /** Settles in flight (at most MAX_SETTLES), and whether one is scheduled for the end of this turn. */
  private settles = 0;
  private settleSoon = false;
  private unwatch: (() => void) | null = null;

  constructor(
    private readonly outbox: OutboxStore,
    private readonly bus: Bus,
    channels: Record<string, DispatchChannel>,
    private readonly opts: DispatcherOptions,
    private readonly log: Logger,
  ) {
    for (const [name, c] of Object.entries(channels)) this.lanes.set(name, new Lane(name, c.sender, c.policy, opts.lookahead ?? false));
    this.settler = opts.settler ?? new OutboxSettler(outbox, log);
  }

  start(): void {
    this.unsubscribe = this.bus.subscribe((e) => {
      if (e.type === 'outbox.wake') this.kick();
    });
    this.unwatch = this.outbox.watch((jobs, how) => this.accept(jobs, how));
    this.timer = setInterval(() => this.kick(), this.opts.pollMs);
    this.timer.unref();
    for (const lane of this.lanes.values()) this.topUp(lane);
    this.kick();
  }

  /**
   * Keep the channel's `claimAhead` jobs granted so that fresh jobs are claimed by the write that creates
   * them; the grant's options (per-target load, breakers) are refreshed with every top-up.
   */
  private topUp(lane: Lane): void {
    if (this.stopped) return;
    const want = Math.min(lane.policy.claimAhead, lane.policy.concurrency);
    if (want <= 0) return;
    // Never more granted than slots free now, so that what is handed over finds a slot at once.
    const n = Math.max(0, Math.min(want - lane.outstanding, lane.free() - lane.outstanding));
    const opts = lane.claimOptions(Date.now());
    // Nothing to add and the options as last granted: no store call (a remote store's call is a message).
    const key = JSON.stringify(opts);
    if (n === 0 && key === lane.granted) return;
    lane.granted = key;
    lane.outstanding += n;
    this.outbox.grant(lane.channel, n, lane.policy.leaseMs, opts).catch((err: unknown) => {
      lane.outstanding -= n;
      lane.granted = undefined;
      this.log.error({ err, channel: lane.channel }, 'outbox grant failed');
    });
  }

  /** Jobs the store claimed for us under a grant, or leased by a settle as their keys' next jobs. */
  private accept(jobs: OutboxJob[], how: Handover): void {
    const touched = new Set<Lane>();
    for (const j of jobs) {
      const lane = this.lanes.get(j.channel);
      // Grants are per channel, so this cannot happen; if it did, the job goes back untouched.
      if (!lane) {
        if (!this.stopped) this.giveBack(j, Date.now());
        continue;
      }
      // Lookahead jobs count against no grant nor reservation (the port).
      if (j.after === undefined) {
        if (how === 'next') lane.handedNext();
        else lane.outstanding = Math.max(0, lane.outstanding - 1);
      }
      // Stopping: leave them to their lease (claimed again later, same delivery id).
      if (this.stopped) continue;
      this.admit(lane, j);
      touched.add(lane);
    }
    for (const lane of touched) this.pump(lane);
  }

  /**
   * Start leased jobs (claimed, or handed over under a grant) while the lane's slots are free, each
   * within its target's share and what its breaker allows. A job that cannot start is given back to the
   * store (pending again, its attempt returned) when its target's breaker is open, or when it has waited
   * READY_WAIT_MS: an attempt then always starts with nearly all of its lease left, so it ends before
   * the lease, and no other claim can deliver it at the same time.
   */
  private pump(lane: Lane): void {
    if (lane.ready.length === 0) return;
    const now = Date.now();
    const { exclude, probing } = lane.breakers.claimState(now);
    const keep: OutboxJob[] = [];
    const minLeft = lane.policy.leaseMs - READY_WAIT_MS;
    for (const j of lane.ready) {
      if (this.stopped) continue; // left to its lease
      // Every slot taken, no target excluded, the job not waiting too long: it stays (the common case
      // when a post ends under load; decided without building its target key).
      if (lane.inFlight >= lane.policy.concurrency && exclude.length === 0 && j.nextAt - now >= minLeft) {
        keep.push(j);
        continue;
      }
      const key = targetKey(j.channel, j.target);
      if (exclude.includes(key) || j.nextAt - now < minLeft) {
        this.giveBack(j, now, lane);
        continue;
      }
      const busy = lane.perTarget.get(key) ?? 0;
      if (lane.inFlight >= lane.policy.concurrency || busy >= lane.perTargetLimit || (busy > 0 && probing.includes(key))) {
        keep.push(j);
        continue;
      }
      this.run(lane, j);
    }
    lane.ready = keep;
  }

  /**
   * A leased job joins the lane: to `ready`, or, a lookahead job, `held` behind its predecessor while that
   * one's attempt has not ended, to the front of `ready` when it ended final (its settle not yet
   * resolved), and back to the store otherwise (its predecessor is not ours, or was retried or given back).
   */
  private admit(lane: Lane, j: OutboxJob): void {
    // Without lookahead no job has `after`, and nothing needs tracking.
    if (!lane.lookahead) {
      lane.ready.push(j);
      return;
    }
    const after = j.after;
    if (after !== undefined && !lane.finals.has(after)) {
      if (!lane.open.has(after) || lane.held.has(after)) {
        this.giveBack(j, Date.now(), lane);
        return;
      }
      lane.open.add(j.id);
      lane.held.set(after, j);
      return;
    }
    lane.open.add(j.id);
    if (after !== undefined) lane.ready.unshift(j);
    else lane.ready.push(j);
  }

  /**
   * The attempt of `job` ended (or it was given back unattempted): its lookahead job, if one is held,
   * starts next when the outcome is final (in front of `ready`, so it takes the slot this one leaves) and
   * goes back to the store otherwise.
   */
  private ended(lane: Lane, job: OutboxJob, final: boolean, now: number): void {
    if (!lane.lookahead) return;
    lane.open.delete(job.id);
    if (final) lane.finals.add(job.id);
    const next = lane.held.get(job.id);
    if (!next) return;
    lane.held.delete(job.id);
    if (final) lane.ready.unshift(next);
    else this.giveBack(next, now, lane);
  }

  /** Return a leased job that was not attempted: pending again now, its attempt given back (its lookahead too). */
  private giveBack(job: OutboxJob, now: number, lane?: Lane): void {
    if (lane) this.ended(lane, job, false, now);
    this.record(undefined, job, { id: job.id, lease: job.nextAt, ok: false, release: true, nextAt: now }, false);
  }

  /**
   * Claim soon for these lanes, every lane by default (coalesced: one claim loop at a time, wake-ups
   * within claimDelayMs share it).
   */
  kick(lanes: Iterable<Lane> = this.lanes.values()): void {
    if (this.stopped) return;
    for (const l of lanes) this.wanted.add(l);
    if (this.wanted.size === 0) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    if (this.pending) return;
    const delay = this.opts.claimDelayMs ?? 0;
    const start = (): void => {
      this.pending = null;
      if (this.stopped || this.claiming) return;
      this.claiming = this.claimLoop().finally(() => {
        this.claiming = null;
        if (this.again) this.kick([]);
      });
    };
    if (delay > 0) {
      this.pending = setTimeout(start, delay);
    } else {
      start();
    }
  }

  /** Claim at `at` (ms epoch) unless a claim is already timed earlier: when an open breaker allows its probe. */
  private kickAt(at: number): void {
    if (this.stopped || at <= 0 || !Number.isFinite(at) || at >= this.probeAt) return;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeAt = at;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      this.probeAt = Infinity;
      this.kick();
      // Other breakers (of any lane) that open later than this one: their own moment.
      const now = Date.now();
      this.kickAt(Math.min(...[...this.lanes.values()].map((l) => l.breakers.nextProbeAt(now))));
    }, Math.max(0, at - Date.now()));
    this.probeTimer.unref();
  }

  private async claimLoop(): Promise<void> {
    do {
      this.again = false;
      const lanes = [...this.wanted];
      this.wanted.clear();
      // Each channel claims for itself (its lease, its caps); the claims share one store batch.
      await Promise.all(lanes.map((lane) => this.claimFor(lane)));
    } while (this.again && !this.stopped);
  }

  private async claimFor(lane: Lane): Promise<void> {
    try {
      for (;;) {
        const free = lane.free();
        if (this.stopped || free <= 0 || (lane.inFlight > 0 && free < lane.chunk)) return;
        const jobs = await this.outbox.claim(Date.now(), free, lane.policy.leaseMs, lane.claimOptions(Date.now()));
        // Stopped meanwhile: leave the jobs to their lease (claimed again later, same delivery id).
        if (this.stopped) return;
        // Slots may have been taken meanwhile (handed-over jobs): start what fits, the rest waits.
        for (const j of jobs) this.admit(lane, j);
        this.pump(lane);
        if (headCount(jobs) < free) return;
      }
    } catch (err) {
      this.log.error({ err, channel: lane.channel }, 'outbox claim failed');
    }
  }

  private run(lane: Lane, job: OutboxJob): void {
    lane.started(job);
    this.running++;
    void this.attempt(lane, job).finally(() => {
      lane.finished(job);
      this.running--;
      this.pump(lane);
      this.maybeIdle();
    });
  }

  private async attempt(lane: Lane, job: OutboxJob): Promise<void> {
    let a: SendResult;
    try {
      a = await lane.sender.deliver(job);
    } catch (err) {
      a = { ok: false, response: '', error: err instanceof Error ? err.message : String(err) };
    }
    const now = Date.now();
    const key = targetKey(job.channel, job.target);
    if (a.ok) {
      // A breaker that closes (or opens, below) changes what the grant's claims may take.
      if (lane.breakers.success(key)) this.topUp(lane);
      this.record(lane, job, { id: job.id, lease: job.nextAt, ok: true, response: a.response, at: now }, false);
      return;
    }
    // A target that does not exist says nothing about its health.
    if (a.retryable !== false && lane.breakers.failure(key, now)) {
      this.topUp(lane);
      this.kickAt(lane.breakers.openUntil(key));
    }
    // job.attempts already counts this attempt (counted when it was claimed).
    const attempt = Math.max(1, job.attempts);
    const dead = a.retryable === false || attempt >= lane.policy.maxAttempts;
    const nextAt = dead ? null : now + lane.backoff(attempt);
    const outcome: AttemptOutcome = { id: job.id, lease: job.nextAt, ok: false, error: a.error ?? 'failed', response: a.response, nextAt };
    this.record(lane, job, outcome, dead);
    if (dead) this.log.warn({ job: job.id, channel: job.channel, kind: job.kind, target: job.target, error: a.error }, 'outbox job dead-lettered');
  }

  /**
   * Queue a result for the next settle, with core's reaction when it is final (asked first; a channel
   * without a hook queues at once). A reaction that fails turns the outcome into a retry: a final
   * outcome is never recorded without its reaction. With `lane` (an attempt's result), the attempt's
   * end is told to the lane (ended()) as soon as the outcome to record is known: at once when the
   * reaction is, else once it is (then the lane is pumped for the lookahead job it may release).
   */
  private record(lane: Lane | undefined, job: OutboxJob, outcome: AttemptOutcome, dead: boolean): void {
    let prepared: AttemptOutcome | Promise<AttemptOutcome>;
    try {
      prepared = this.settler.prepare(job, outcome);
    } catch (err) {
      prepared = Promise.reject(err);
    }
    if (!(prepared instanceof Promise)) {
      if (lane) this.ended(lane, job, finalOf(prepared) !== null, Date.now());
      this.queue({ job, outcome: prepared, dead });
      return;
    }
    this.reacting++;
    const end = (o: AttemptOutcome): void => {
      if (!lane) return;
      this.ended(lane, job, finalOf(o) !== null, Date.now());
      this.pump(lane);
    };
    prepared
      .then(
        (o) => {
          end(o);
          this.queue({ job, outcome: o, dead });
        },
        (err: unknown) => {
          this.log.error({ err, job: job.id, channel: job.channel }, 'outbox onSettled reaction failed: the job will be retried');
          const retry: AttemptOutcome = {
            id: job.id,
            lease: job.nextAt,
            ok: false,
            error: `onSettled reaction failed: ${err instanceof Error ? err.message : String(err)}`,
            response: 'response' in outcome ? outcome.response : '',
            nextAt: Date.now() + (lane ? lane.backoff(job.attempts) : READY_WAIT_MS),
          };
          end(retry);
          this.queue({ job, outcome: retry, dead: false });
        },
      )
      .finally(() => {
        this.reacting--;
        this.maybeIdle();
      });
  }

  /**
   * Every result of this turn goes to the store in one settle(), then claims follow; up to MAX_SETTLES
   * settles are in flight at once, so results that end while earlier settles wait for their commit and
   * fsync are submitted meanwhile instead of waiting for them (the one writer keeps their order).
   */
  private queue(r: Recorded): void {
    this.outcomes.push(r);
    this.scheduleSettle();
  }

  /** Settle what is queued at the end of this turn, unless MAX_SETTLES are in flight (then when one ends). */
  private scheduleSettle(): void {
    if (this.settleSoon || this.outcomes.length === 0 || this.settles >= MAX_SETTLES) return;
    this.settleSoon = true;
    setImmediate(() => {
      this.settleSoon = false;
      void this.settleBatch();
    });
  }

  private async settleBatch(): Promise<void> {
    if (this.outcomes.length === 0 || this.settles >= MAX_SETTLES) return;
    const batch = this.outcomes;
    this.outcomes = [];
    this.settles++;
    const kept = new Map<Lane, { left: number }>();
    const next = this.claimNext(batch, kept);
    try {
      // Submitted before the claim below, so the claim (same writer, later command) sees these results.
      const settled = this.settler.settle(batch, next);
      // Only the lanes of these results have slots freed or keys released (order keys are per channel);
      // jobs a reaction enqueues may be of any channel.
      const lanes = batch.some((b) => 'then' in b.outcome && (b.outcome.then?.enqueue?.length ?? 0) > 0) ? [...this.lanes.values()] : this.lanesOf(batch);
      for (const lane of lanes) this.topUp(lane);
      this.kick(lanes);
      await settled;
      for (const b of batch) if (!('release' in b.outcome)) this.opts.onResult?.(b.job, b.outcome.ok, b.dead);
    } catch (err) {
      // Recording failed (store unavailable): the leases run out and the jobs are claimed again.
      this.log.error({ err, jobs: batch.length }, 'recording outbox attempts failed');
    } finally {
      this.settles--;
      // Lookahead jobs after these were handed over before the settle resolved (the port).
      for (const b of batch) this.lanes.get(b.job.channel)?.finals.delete(b.job.id);
      // What the settle leased was handed over before it resolved (or arrives later and waits in
      // ready). Keys whose next job it did not lease: claim for them.
      const unused = [...kept].filter(([lane, r]) => lane.release(r) > 0).map(([lane]) => lane);
      for (const lane of unused) this.topUp(lane);
      if (unused.length > 0) this.kick(unused);
      this.scheduleSettle();
      this.maybeIdle();
    }
  }

  /** The lanes of the jobs in `batch`. */
  private lanesOf(batch: Recorded[]): Lane[] {
    const out = new Set<Lane>();
    for (const b of batch) {
      const lane = this.lanes.get(b.job.channel);
      if (lane) out.add(lane);
    }
    return [...out];
  }

  /**
   * What the settle of `batch` may lease for each lane (settle-and-claim-next): up to one job per final
   * outcome of the lane, within the room of its backlog (Lane.backlogRoom: such jobs wait in `ready`
   * when every slot is taken), reserved in `kept` until the settle resolves. Undefined when there is
   * nothing to lease.
   */
  private claimNext(batch: Recorded[], kept: Map<Lane, { left: number }>): Record<string, ClaimNext> | undefined {
    if (this.stopped) return undefined;
    let out: Record<string, ClaimNext> | undefined;
    const now = Date.now();
    for (const lane of this.lanes.values()) {
      let finals = 0;
      for (const b of batch) if (b.job.channel === lane.channel && finalOf(b.outcome)) finals++;
      // Not bounded by the free slots: a key's next job waits in `ready` when none is free (Lane.backlogRoom).
      const limit = Math.min(finals, lane.backlogRoom());
      if (limit <= 0) continue;
      kept.set(lane, lane.reserve(limit));
      (out ??= {})[lane.channel] = { leaseMs: lane.policy.leaseMs, limit, opts: lane.nextOptions(now) };
    }
    return out;
  }

  /** Wake stop() once nothing runs, nothing waits for a reaction and nothing is left to record. */
  private maybeIdle(): void {
    if (this.running === 0 && this.reacting === 0 && this.settles === 0 && !this.settleSoon && this.outcomes.length === 0) for (const r of this.idle.splice(0)) r();
  }

  /** Stop claiming, wait for a claim under way, then for the jobs in flight (their results are recorded). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.pending) clearTimeout(this.pending);
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.unsubscribe?.();
    this.unwatch?.();
    for (const lane of this.lanes.values()) {
      lane.outstanding = 0;
      lane.releaseAll();
      lane.ready = [];
      lane.held.clear();
      lane.open.clear();
      lane.finals.clear();
    }
    await this.outbox.revoke().catch(() => undefined);
    if (this.claiming) await this.claiming;
    if (this.running > 0 || this.reacting > 0 || this.settles > 0 || this.settleSoon || this.outcomes.length > 0) await new Promise<void>((r) => this.idle.push(r));
  }
}
