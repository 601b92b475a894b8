import { BoundedCache, SharedLoads } from '../bounded-cache.js';
import { CoreError } from '../errors.js';
import type { HubEvent } from '../events.js';
import type { Conversation } from '../model.js';
import { ConvType, GroupMemberType } from '../model.js';
import type { Store } from '../ports/store.js';
import { channelSendScope, checkGroupSend, checkSender } from '../rules.js';

export interface SendRulesCacheOptions {
  /** Most users whose status is cached. */
  maxUsers: number;
  /** Most group facts: each cached group counts 1 plus its cached members. */
  maxGroupFacts: number;
  /** Most channel facts: each cached channel counts 1 plus its cached subscriptions. */
  maxChannelFacts: number;
  /**
   * A fact older than this is read again. Invalidations come through the bus, which delivers at most
   * once; this bounds how long a missed one can leave a fact stale.
   */
  maxAgeMs: number;
  now: () => number;
}

export const SEND_RULES_CACHE_DEFAULTS: SendRulesCacheOptions = {
  maxUsers: 100_000,
  maxGroupFacts: 200_000,
  maxChannelFacts: 50_000,
  maxAgeMs: 60_000,
  now: Date.now,
};

/** A user as the rules see it: the status, or null for an unknown user. */
type UserFacts = { status: number } | null;

/** A member's type, or null for a non-member; a promise while it is being read. */
type MemberSlot = number | null | Promise<number | null>;

interface GroupEntry {
  /** Null: no such group. */
  group: { mute: number; owner: string } | null;
  /** Members (with role and mute) read so far, by user id. */
  members: Map<string, MemberSlot>;
}

interface ChannelEntry {
  /** Null: no such channel. */
  channel: { owner: string } | null;
  /** Subscriptions read so far, by user id. */
  subscribed: Map<string, boolean | Promise<boolean>>;
}

/**
 * The facts the send rules (core/rules.ts) decide on, cached in memory so a send normally costs no
 * store read to check: user status (normal, muted, blocked, unknown), per group its existence,
 * mute-all, owner and the members' types (owner, manager, silenced, allowed, removed), per channel
 * its owner and subscriptions.
 *
 * Contract:
 * - Facts are read from the store on first use (one read per key at a time, shared by concurrent
 *   callers) and kept, bounded (least recently used evicted) and aged (`maxAgeMs`).
 * - `handle` drops them on the bus's `cache.invalidate` events for the user, group or channel; the
 *   services publish one for every change that affects a rule, right after it commits (before they
 *   answer), so on this node a send that starts after a change sees it. A load that was under way
 *   when its key was invalidated is used by its callers but not cached.
 * - The cache only decides early: the store evaluates the same rules inside the write, so a send
 *   racing a change (or another node whose invalidation has not arrived yet) is never accepted
 *   wrongly; at worst it is refused by the cache just before a change that would have allowed it.
 */
export class SendRulesCache {
  private readonly opts: SendRulesCacheOptions;
  private readonly users: BoundedCache<UserFacts>;
  private readonly groups: BoundedCache<GroupEntry>;
  private readonly channels: BoundedCache<ChannelEntry>;
  private readonly userLoads = new SharedLoads<UserFacts>();
  private readonly groupLoads = new SharedLoads<GroupEntry>();
  private readonly channelLoads = new SharedLoads<ChannelEntry>();
  /** Counts user invalidations, so a batch read can tell whether one came in while it ran. */
  private userInvalidations = 0;

  constructor(
    private readonly store: Store,
    opts: Partial<SendRulesCacheOptions> = {},
  ) {
    this.opts = { ...SEND_RULES_CACHE_DEFAULTS, ...opts };
    const { maxAgeMs, now } = this.opts;
    this.users = new BoundedCache(this.opts.maxUsers, maxAgeMs, now);
    this.groups = new BoundedCache(this.opts.maxGroupFacts, maxAgeMs, now);
    this.channels = new BoundedCache(this.opts.maxChannelFacts, maxAgeMs, now);
  }

  /** Invalidations may have been missed (bus gap): drop everything; loads under way are not kept. */
  invalidateAll(): void {
    this.userInvalidations++;
    for (const c of [this.users, this.groups, this.channels]) c.clear();
    for (const l of [this.userLoads, this.groupLoads, this.channelLoads]) l.forgetAll();
  }

  /** Bus events: drop what a `cache.invalidate` names. */
  handle(e: HubEvent): void {
    if (e.type !== 'cache.invalidate') return;
    switch (e.scope) {
      case 'user':
        this.userInvalidations++;
        this.users.delete(e.id);
        this.userLoads.forget(e.id);
        // A destroyed user's subscriptions went with it (its groups are invalidated one by one).
        for (const [id, c] of this.channels.entries()) if (c.subscribed.delete(e.id)) this.channels.reweigh(id, -1);
        return;
      case 'group':
        this.groups.delete(e.id);
        this.groupLoads.forget(e.id);
        return;
      case 'channel':
        this.channels.delete(e.id);
        this.channelLoads.forget(e.id);
        return;
      case 'settings':
      case 'sensitive':
        return;
    }
  }

  // ------------------------------------------------------------------ decisions

  /**
   * Throws what the store would for `sender` sending to `conv`: 253 unknown sender, user or
   * group/channel; 245 muted or blocked sender; 9 not in the group; 241 muted; 21 not in the channel.
   * A chatroom is checked for its sender only.
   */
  async checkSend(sender: string, conv: Conversation): Promise<void> {
    checkSender(await this.user(sender), sender);
    switch (conv.type) {
      case ConvType.single:
        if (!(await this.user(conv.target))) throw new CoreError('not_exist', `user ${conv.target} does not exist`);
        return;
      case ConvType.group: {
        const g = await this.group(conv.target);
        const type = g.group ? await this.memberOf(conv.target, g, sender) : null;
        checkGroupSend(g.group, type === null ? null : { type }, conv.target);
        return;
      }
      case ConvType.channel: {
        const c = await this.channel(conv.target);
        const owner = c.channel?.owner === sender;
        channelSendScope(c.channel, sender, c.channel && !owner ? await this.subscriberOf(conv.target, c, sender) : false, conv.target);
        return;
      }
      case ConvType.chatroom:
        // The room's own rules (membership, blacklist, mute) are ChatroomService's, for device sends.
        return;
      default:
        throw new CoreError('not_implement', `conversation type ${conv.type} is not supported`);
    }
  }

  /**
   * A trusted send (admin API, not strict): only the conversation's target must exist — the user of a
   * single chat, the group, the channel (a chatroom's existence is not checked for admin sends).
   */
  async checkTarget(conv: Conversation): Promise<void> {
    switch (conv.type) {
      case ConvType.single:
        if (!(await this.user(conv.target))) throw new CoreError('not_exist', `user ${conv.target} does not exist`);
        return;
      case ConvType.group:
        if (!(await this.group(conv.target)).group) throw new CoreError('not_exist', `group ${conv.target} does not exist`);
        return;
      case ConvType.channel:
        if (!(await this.channel(conv.target)).channel) throw new CoreError('not_exist', `channel ${conv.target} does not exist`);
        return;
      case ConvType.chatroom:
        return;
      default:
        throw new CoreError('not_implement', `conversation type ${conv.type} is not supported`);
    }
  }

  /** Every target of a trusted multicast exists. */
  async checkTargets(targets: string[]): Promise<void> {
    const facts = await this.manyUsers(targets);
    for (const t of targets) if (!facts.get(t)) throw new CoreError('not_exist', `user ${t} does not exist`);
  }

  /** A multicast: the sender may send and every target exists. */
  async checkMulticast(sender: string, targets: string[]): Promise<void> {
    checkSender(await this.user(sender), sender);
    const facts = await this.manyUsers(targets);
    for (const t of targets) if (!facts.get(t)) throw new CoreError('not_exist', `user ${t} does not exist`);
  }

  /** A broadcast: the sender may send. */
  async checkBroadcast(sender: string): Promise<void> {
    checkSender(await this.user(sender), sender);
  }

  /** Whether `userId` is a member (of any type but removed) of an existing group. */
  async inGroup(groupId: string, userId: string): Promise<boolean> {
    const g = await this.group(groupId);
    if (!g.group) return false;
    const type = await this.memberOf(groupId, g, userId);
    return type !== null && type !== GroupMemberType.removed;
  }

  /** Whether `userId` owns or subscribes to an existing channel. */
  async inChannel(channelId: string, userId: string): Promise<boolean> {
    const c = await this.channel(channelId);
    if (!c.channel) return false;
    return c.channel.owner === userId || (await this.subscriberOf(channelId, c, userId));
  }

  // ------------------------------------------------------------------ facts

  private user(userId: string): Promise<UserFacts> {
    const hit = this.users.get(userId);
    if (hit) return Promise.resolve(hit.value);
    return this.userLoads.run(
      userId,
      async () => {
        const u = await this.store.users.getUser({ userId });
        return u ? { status: u.status } : null;
      },
      (v) => this.users.set(userId, v),
    );
  }

  /** Facts of many users, the missing ones read in one store call. */
  private async manyUsers(userIds: string[]): Promise<Map<string, UserFacts>> {
    const out = new Map<string, UserFacts>();
    const missing: string[] = [];
    for (const id of new Set(userIds)) {
      const hit = this.users.get(id);
      if (hit) out.set(id, hit.value);
      else missing.push(id);
    }
    if (missing.length === 1) out.set(missing[0]!, await this.user(missing[0]!));
    else if (missing.length > 1) {
      const before = this.userInvalidations;
      const found = new Map((await this.store.users.getUsers(missing)).map((u) => [u.userId, u.status]));
      // Cached only when no user was invalidated while they were read.
      const keep = this.userInvalidations === before;
      for (const id of missing) {
        const status = found.get(id);
        const facts = status === undefined ? null : { status };
        out.set(id, facts);
        if (keep) this.users.set(id, facts);
      }
    }
    return out;
  }

  private group(groupId: string): Promise<GroupEntry> {
    const hit = this.groups.get(groupId);
    if (hit) return Promise.resolve(hit.value);
    return this.groupLoads.run(
      groupId,
      async () => {
        const g = await this.store.groups.getGroup(groupId);
        return { group: g ? { mute: g.mute, owner: g.owner } : null, members: new Map() };
      },
      (v) => this.groups.set(groupId, v),
    );
  }

  /** The member's type in a loaded group entry (null: not a member), read once and kept in the entry. */
  private memberOf(groupId: string, entry: GroupEntry, userId: string): Promise<number | null> {
    return this.factOf(this.groups, groupId, entry, entry.members, userId, this.opts.maxGroupFacts, async () => {
      return (await this.store.groups.getMember(groupId, userId))?.type ?? null;
    });
  }

  private channel(channelId: string): Promise<ChannelEntry> {
    const hit = this.channels.get(channelId);
    if (hit) return Promise.resolve(hit.value);
    return this.channelLoads.run(
      channelId,
      async () => {
        const c = await this.store.channels.getChannel(channelId);
        return { channel: c ? { owner: c.owner } : null, subscribed: new Map() };
      },
      (v) => this.channels.set(channelId, v),
    );
  }

  private subscriberOf(channelId: string, entry: ChannelEntry, userId: string): Promise<boolean> {
    return this.factOf(this.channels, channelId, entry, entry.subscribed, userId, this.opts.maxChannelFacts, () =>
      this.store.channels.isSubscribed(channelId, userId),
    );
  }

  /**
   * A per-user fact of a cached entry (a group's member type, a channel subscription): the slot holds
   * the load while it runs (concurrent callers share it), then the value; a load replaced meanwhile (the
   * entry was invalidated) is returned but not kept, and a failed one leaves no slot.
   */
  private async factOf<E, T>(
    table: BoundedCache<E>,
    key: string,
    entry: E,
    facts: Map<string, T | Promise<T>>,
    userId: string,
    max: number,
    read: () => Promise<T>,
  ): Promise<T> {
    const slot = facts.get(userId);
    if (slot !== undefined) return slot;
    const load = read();
    facts.set(userId, load);
    try {
      const value = await load;
      if (facts.get(userId) === load) {
        facts.set(userId, value);
        this.sized(table, key, entry, facts, max);
      }
      return value;
    } catch (err) {
      if (facts.get(userId) === load) facts.delete(userId);
      throw err;
    }
  }

  private sized<E>(table: BoundedCache<E>, key: string, entry: E, facts: Map<string, unknown>, max: number): void {
    const cap = Math.max(1, Math.floor(max / 4));
    let delta = 1;
    for (const k of facts.keys()) {
      if (facts.size <= cap) break;
      if (facts.get(k) instanceof Promise) continue;
      facts.delete(k);
      delta--;
    }
    if (table.peek(key) === entry) table.reweigh(key, delta);
  }
}
