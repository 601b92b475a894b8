import type { HubEvent } from '../events.js';

/**
 * The bus: carries HubEvents to every node (and, on each node, to every subscriber).
 *
 * Contract (checked by test/contract/bus.contract.ts):
 * - publish resolves once the event is handed to the transport; it never throws for a subscriber's failure.
 * - Every subscriber on every node receives each event at most once, in the order of one publisher's publish
 *   calls, whether or not the caller awaited each one (use cases publish a commit's events back to back).
 * - A subscriber's handler must not block: it is called synchronously by the transport.
 */
export interface Bus {
  publish(event: HubEvent): Promise<void>;
  /** Returns a function that removes the subscription. */
  subscribe(handler: (event: HubEvent) => void): () => void;
  close(): Promise<void>;
}
