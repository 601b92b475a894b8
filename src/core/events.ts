import type { Audience, SyncEvent } from './ports/store.js';
import type { StoredMessage } from './model.js';

/**
 * Events carried by the bus, from whichever node committed a change to every node. Published only
 * after the change committed. Delivery is at most once: a node that misses one recovers from the
 * store (devices resync by cursor; caches reload).
 */
export type HubEvent =
  /** A committed change devices must learn of, addressed to an audience; `event.seq` is its cursor. */
  | { type: 'sync'; audience: Audience; event: SyncEvent }
  /** A transparent message (persistFlag 4): never stored, delivered only to devices online now. */
  | { type: 'transparent'; audience: Audience; message: StoredMessage }
  /** Tokens were revoked: connected devices of the user (one client, or all) must be closed. */
  | { type: 'session.revoke'; userId: string; clientId?: string; reason: 'destroyed' | 'blocked' | 'kicked' }
  /** Cached facts about a user, group or channel are stale. */
  | { type: 'cache.invalidate'; scope: 'user' | 'group' | 'channel' | 'settings'; id: string }
  /** Outbox jobs were committed: dispatchers should claim now rather than at their next poll. */
  | { type: 'outbox.wake' };
