import { randomUUID } from 'node:crypto';
import type { Bus, BusGap, EventOrigin } from '../core/ports/bus.js';
import type { HubEvent } from '../core/events.js';

/** In-process bus: one node, synchronous fan-out to subscribers in publish order; it never loses an event. */
export class MemoryBus implements Bus {
  /** One entry per subscription (the same handler may be subscribed twice, each removable alone). */
  private readonly handlers = new Set<{ fn: (event: HubEvent, origin?: EventOrigin) => void }>();
  private readonly origin: EventOrigin = { publisher: randomUUID(), local: true };
  private closed = false;

  constructor(private readonly onHandlerError: (err: unknown) => void = () => {}) {}

  async publish(event: HubEvent): Promise<void> {
    if (this.closed) return;
    for (const h of this.handlers) {
      try {
        h.fn(event, this.origin);
      } catch (err) {
        this.onHandlerError(err);
      }
    }
  }

  subscribe(handler: (event: HubEvent, origin?: EventOrigin) => void): () => void {
    const entry = { fn: handler };
    this.handlers.add(entry);
    return () => {
      this.handlers.delete(entry);
    };
  }

  /** Nothing is ever missed in process: the handler is never called. */
  onGap(_handler: (gap: BusGap) => void): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
  }
}
