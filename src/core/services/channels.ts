import { CoreError } from '../errors.js';
import type { Channel } from '../model.js';
import type { Bus } from '../ports/bus.js';
import type { ChannelFields, Store } from '../ports/store.js';
import { newId } from '../tokens.js';
import { MAX_EXTRA_LENGTH, MAX_TEXT_LENGTH, MAX_URL_LENGTH } from '../limits.js';
import { checkCallbackUrl } from './robots.js';

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

  /**
   * Change one field of a channel (Wildfire's ModifyChannelInfoType, the channel API's update_profile):
   * 0 name (non-empty), 1 portrait, 2 desc, 3 extra, 4 secret, 5 callback (absolute http(s) or ""),
   * 6 automatic ("0" or "1"); 7 (menu) is not kept by Switchboard: not_implement; others invalid.
   * Subscriptions stay.
   */
  async modify(channelId: string, type: number, value: string): Promise<void> {
    // The bounds of /admin/channel/create's fields: names and secrets are texts, portraits and callbacks URLs.
    const max = type === 0 || type === 4 ? MAX_TEXT_LENGTH : type === 1 || type === 5 ? MAX_URL_LENGTH : MAX_EXTRA_LENGTH;
    if (value.length > max) throw new CoreError('invalid_parameter', `value longer than ${max}`);
    const c = await this.get(channelId);
    const f: ChannelFields = {
      name: c.name,
      owner: c.owner,
      portrait: c.portrait,
      desc: c.desc,
      extra: c.extra,
      secret: c.secret,
      callback: c.callback,
      automatic: c.automatic,
      state: c.state,
    };
    switch (type) {
      case 0:
        if (value === '') throw new CoreError('invalid_parameter', 'a channel name may not be empty');
        f.name = value;
        break;
      case 1:
        f.portrait = value;
        break;
      case 2:
        f.desc = value;
        break;
      case 3:
        f.extra = value;
        break;
      case 4:
        f.secret = value;
        break;
      case 5:
        checkCallbackUrl(value);
        f.callback = value;
        break;
      case 6:
        if (value !== '0' && value !== '1') throw new CoreError('invalid_parameter', 'automatic must be "0" or "1"');
        f.automatic = Number(value);
        break;
      case 7:
        throw new CoreError('not_implement', 'channel menus are not kept');
      default:
        throw new CoreError('invalid_parameter', `unknown channel info type ${type}`);
    }
    await this.store.channels.upsertChannel(channelId, f);
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
