import type { Bus } from '../ports/bus.js';
import { NO_EFFECTS, type EffectsPlanner, type StateFacts } from '../ports/effects.js';
import type { Store } from '../ports/store.js';

/** Device sessions starting and ending (the gateway reports them): announced through the outbox. */
export class SessionService {
  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly effects: EffectsPlanner = NO_EFFECTS,
    /** Core's own reaction to a session change (an agent's login takes queued customer-service sessions). */
    private readonly react?: (f: StateFacts) => Promise<unknown> | undefined,
  ) {}

  async changed(f: StateFacts): Promise<void> {
    const jobs = await this.effects.state(f);
    if (jobs.length > 0) {
      await this.store.outbox.enqueue(jobs);
      await this.bus.publish({ type: 'outbox.wake' });
    }
    await this.react?.(f);
  }
}
