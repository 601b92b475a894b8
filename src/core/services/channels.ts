import { CoreError } from '../errors.js';
import type { Channel } from '../model.js';
import type { Bus } from '../ports/bus.js';
import type { ChannelFields, Store } from '../ports/store.js';
import { newId } from '../tokens.js';

/** Channels: an owner broadcasting to subscribers (seed 001 conversation type 3). */
export class ChannelService {
  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
  ) {}

  async create(channelId: string | undefined, fields: ChannelFields): Promise<Channel> {
    const id = channelId && channelId !== '' ? channelId : newId();
    const c = await this.store.channels.upsertChannel(id, fields);
    await this.bus.publish({ type: 'cache.invalidate', scope: 'channel', id });
    return c;
  }

  async get(channelId: string): Promise<Channel> {
    const c = await this.store.channels.getChannel(channelId);
    if (!c) throw new CoreError('not_exist', `channel ${channelId} does not exist`);
    return c;
  }

  async destroy(channelId: string): Promise<void> {
    await this.store.channels.destroyChannel(channelId);
    await this.bus.publish({ type: 'cache.invalidate', scope: 'channel', id: channelId });
  }

  async subscribe(channelId: string, userId: string, on: boolean): Promise<void> {
    await this.store.channels.subscribe(channelId, userId, on);
    await this.bus.publish({ type: 'cache.invalidate', scope: 'channel', id: channelId });
  }

  /** The current subscribers of a channel (its owner only when subscribed itself); not_exist for an unknown channel. */
  async subscribers(channelId: string): Promise<string[]> {
    const c = await this.get(channelId);
    const intervals = await this.store.channels.audienceSeqs(channelId);
    const out = new Set<string>();
    for (const i of intervals) {
      if (i.until !== undefined) continue;
      // The owner's implicit membership (since 0) is not a subscription.
      if (i.userId === c.owner && i.since === 0) continue;
      out.add(i.userId);
    }
    return [...out];
  }

  isSubscribed(channelId: string, userId: string): Promise<boolean> {
    return this.store.channels.isSubscribed(channelId, userId);
  }
}
