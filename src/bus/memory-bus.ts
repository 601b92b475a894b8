import type { Bus } from '../core/ports/bus.js';
import type { HubEvent } from '../core/events.js';

/** In-process bus: one node, synchronous fan-out to subscribers in publish order. */
export class MemoryBus implements Bus {
  /** One entry per subscription (the same handler may be subscribed twice, each removable alone). */
  private readonly handlers = new Set<{ fn: (event: HubEvent) => void }>();
  private closed = false;

  constructor(private readonly onHandlerError: (err: unknown) => void = () => {}) {}

  async publish(event: HubEvent): Promise<void> {
    if (this.closed) return;
    for (const h of this.handlers) {
      try {
        h.fn(event);
      } catch (err) {
        this.onHandlerError(err);
      }
    }
  }

  subscribe(handler: (event: HubEvent) => void): () => void {
    const entry = { fn: handler };
    this.handlers.add(entry);
    return () => {
      this.handlers.delete(entry);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
  }
}
