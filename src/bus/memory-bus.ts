import type { Bus } from '../core/ports/bus.js';
import type { HubEvent } from '../core/events.js';

/** In-process bus: one node, synchronous fan-out to subscribers in publish order. */
export class MemoryBus implements Bus {
  private readonly handlers = new Set<(event: HubEvent) => void>();
  private closed = false;

  constructor(private readonly onHandlerError: (err: unknown) => void = () => {}) {}

  async publish(event: HubEvent): Promise<void> {
    if (this.closed) return;
    for (const h of this.handlers) {
      try {
        h(event);
      } catch (err) {
        this.onHandlerError(err);
      }
    }
  }

  subscribe(handler: (event: HubEvent) => void): () => void {
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
  }
}
