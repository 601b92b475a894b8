import { BoundedCache } from '../bounded-cache.js';
import { contactIdOf, type ChannelAccount, type ChannelConfigKind, type ChannelConfigRecords, type ChannelContact, type ChannelConversation } from './model.js';

/**
 * The channel gateway's per-node caches (services/channel-apps.ts), each keyed by a plain id the caller
 * already holds: no key string is built per message (a Map look-up of a freshly concatenated key costs
 * about four times one of an existing string). Entries count as absent after a minute.
 */
export interface ChannelCaches {
  /** Configuration records of each kind by id (null: known absent). */
  config: { [K in ChannelConfigKind]: BoundedCache<ChannelConfigRecords[K] | null> };
  /** A 002 app's channel accounts, by app id. */
  accounts: BoundedCache<ChannelAccount[]>;
  /** Contacts by contact id (null: known absent). */
  contacts: BoundedCache<ChannelContact | null>;
  /** A contact's latest conversation by contact id (`cu_…`), a thread's by `orig:<account>:<original id>` (null: none yet). */
  conversations: BoundedCache<ChannelConversation | null>;
  /** Anything else (e.g. the account users known to exist), by a key naming its kind. */
  other: BoundedCache<unknown>;
}

const MAX_AGE_MS = 60_000;

/** A fresh, empty set of caches. */
export function channelCaches(now: () => number): ChannelCaches {
  const cache = <V>(max: number): BoundedCache<V> => new BoundedCache<V>(max, MAX_AGE_MS, now);
  return {
    config: { channel: cache(10_000), app: cache(10_000), version: cache(10_000), versionChannel: cache(10_000), channelAccount: cache(10_000) },
    accounts: cache(10_000),
    contacts: cache(50_000),
    conversations: cache(50_000),
    other: cache(50_000),
  };
}

/** The cached value of `key` in `cache`, else `load()`'s, then cached (a cached null is a known absence). */
export async function cachedIn<T>(cache: BoundedCache<T>, key: string, load: () => Promise<T>): Promise<T> {
  const hit = cache.get(key);
  if (hit) return hit.value;
  const v = await load();
  cache.set(key, v);
  return v;
}

/**
 * contactIdOf, remembered: the id is a digest of (channel account, the contact's account on the
 * channel) and never changes, so it needs no invalidation. Two map look-ups of the given strings (no
 * key built); at most `max` ids in all, the memo restarted when full.
 */
export class ContactIds {
  private readonly byAccount = new Map<string, Map<string, string>>();
  private count = 0;

  constructor(private readonly max = 100_000) {}

  of(channelAccountId: string, account: string): string {
    let ids = this.byAccount.get(channelAccountId);
    const hit = ids?.get(account);
    if (hit !== undefined) return hit;
    const id = contactIdOf(channelAccountId, account);
    if (++this.count > this.max) {
      this.byAccount.clear();
      this.count = 1;
      ids = undefined;
    }
    if (!ids) {
      ids = new Map();
      this.byAccount.set(channelAccountId, ids);
    }
    ids.set(account, id);
    return id;
  }
}
