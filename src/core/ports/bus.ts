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

/**
 * Publish the events of one committed change, in order: every `publish` is called before anything is
 * awaited (the bus keeps the order of the calls), so a caller that invokes this right after its store
 * call resolved cannot be overtaken by a later commit's events. Nulls are skipped.
 */
export async function publishAll(bus: Bus, events: ReadonlyArray<HubEvent | null>): Promise<void> {
  const sent: Array<Promise<void>> = [];
  for (const e of events) if (e) sent.push(bus.publish(e));
  await Promise.all(sent);
}
