import type { Bus } from '../ports/bus.js';
import { NO_EFFECTS, type EffectsPlanner, type StateFacts } from '../ports/effects.js';
import type { Store } from '../ports/store.js';

/** Device sessions starting and ending (the gateway reports them): announced through the outbox. */
export class SessionService {
  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly effects: EffectsPlanner = NO_EFFECTS,
  ) {}

  async changed(f: StateFacts): Promise<void> {
    const jobs = await this.effects.state(f);
    if (jobs.length === 0) return;
    await this.store.outbox.enqueue(jobs);
    await this.bus.publish({ type: 'outbox.wake' });
  }
}
