import type { HubEvent } from '../events.js';

/**
 * The bus: carries HubEvents to every node (and, on each node, to every subscriber).
 *
 * Contract (checked by test/contract/bus.contract.ts):
 * - publish resolves once the event is handed to the transport; it never throws for a subscriber's failure.
 * - Every subscriber on every node receives each event at most once, in the order of one publisher's publish
 *   calls, whether or not the caller awaited each one (use cases publish a commit's events back to back).
 * - A subscriber's handler must not block: it is called synchronously by the transport. A handler that
 *   throws is reported and skipped; the transport and the other subscribers go on.
 * - Events of one node reach that node's own subscribers synchronously, inside `publish` (a networked
 *   bus delivers its own events locally too), so a node never waits on the transport for itself.
 * - Missed traffic is detected, never silent: when this node may have lost events published elsewhere
 *   (a gap in a publisher's sequence, a heartbeat announcing events this node never got, the transport
 *   reconnecting after a Redis restart or a partition), the `onGap` handlers run — once the transport
 *   receives again, so whatever they reread from the store is not missed a second time. They drop every
 *   cache and make devices resync from their cursors (docs/scaling.md). The in-process bus never loses
 *   anything and never calls them.
 */
export interface Bus {
  publish(event: HubEvent): Promise<void>;
  /** Returns a function that removes the subscription. */
  subscribe(handler: (event: HubEvent, origin?: EventOrigin) => void): () => void;
  /**
   * Called when this node may have missed events (see above). Returns a function that removes it.
   * Required of every bus that can lose events (Redis); a bus that cannot (in process) may omit it.
   */
  onGap?(handler: (gap: BusGap) => void): () => void;
  close(): Promise<void>;
}

/** Where a delivered event comes from. */
export interface EventOrigin {
  /** The publishing bus instance (one per node process); events of one publisher arrive in its publish order. */
  readonly publisher: string;
  /** Published by this node (delivered in `publish`, not through the transport). */
  readonly local: boolean;
}

/** Why a node may have missed events. */
export interface BusGap {
  reason: 'sequence' | 'heartbeat' | 'reconnect' | 'stale';
  /** The publisher whose events were missed, when known. */
  publisher?: string;
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
