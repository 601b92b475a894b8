import { BoundedCache, SharedLoads } from '../bounded-cache.js';
import { CoreError } from '../errors.js';
import type { HubEvent } from '../events.js';
import { MAX_PAGE_SIZE } from '../limits.js';
import type { Chatroom, ChatroomBlackEntry } from '../model.js';
import { ChatroomBlackState, ChatroomState } from '../model.js';
import { publishAll, type Bus } from '../ports/bus.js';
import type { ChatroomMember, ChatroomMembership } from '../ports/chatroom-membership.js';
import type { ChatroomFacts, Store } from '../ports/store.js';
import { newId } from '../tokens.js';

/** The most members chatroom/members lists (the first to have joined). */
export const MAX_CHATROOM_MEMBERS_LISTED = MAX_PAGE_SIZE;

export interface ChatroomServiceOptions {
  now: () => number;
  /** Most cached facts: each room counts 1 plus its managers and blacklist entries. */
  maxFacts?: number;
  /** A cached room is read again after this long (an invalidation may have been missed). */
  maxAgeMs?: number;
}

/** A chatroom with its current number of members (chatroom/info, the join reply). */
export type ChatroomInfo = Chatroom & { memberCount: number };

/** A device's connection as it joins: who, from which client, and the connection's id. */
export type Joiner = Omit<ChatroomMember, 'joinedAt'>;

/** Cached facts of one room: null for a room that does not exist. */
interface RoomFacts {
  chatroom: Chatroom;
  managers: Set<string>;
  blacklist: Map<string, ChatroomBlackEntry>;
}

/** Wildfire's state mapping on create: absent or 0 normal, 1 not started, anything else ended. */
function stateOf(state: number | undefined): number {
  if (state === undefined || state === 0) return ChatroomState.normal;
  return state === 1 ? ChatroomState.notStarted : ChatroomState.ended;
}

/**
 * Chatrooms (conversation type 2): rooms created by the back end, which devices join and leave over
 * their connection, and whose messages reach the devices in the room at that moment only.
 *
 * - The record, managers, mute and blacklist are durable (Store.chatrooms); who is in a room is kept
 *   by the ChatroomMembership port (in memory on one node, shared in a cluster): one entry per user
 *   (a user is in at most one room, with one client, as in Wildfire), naming the joining connection.
 * - Rules: a device may join a room that exists and has not ended, unless banned from it (blacklist
 *   state 2); it may send into the room it is in, unless blacklisted (state 1 or 2), and, in a muted
 *   room, only as a manager. The admin API's sends are not checked against any of these.
 * - Removals a device did not ask for (replaced by another join of its user, banned, the room
 *   destroyed) are published as `chatroom.leave`; the node holding the connection tells the device.
 * - Room facts are cached (bounded, aged) and dropped on `cache.invalidate` scope `chatroom`, which
 *   every change publishes right after it commits.
 */
export class ChatroomService {
  private readonly now: () => number;
  private readonly maxFacts: number;
  private readonly facts: BoundedCache<RoomFacts | null>;
  private readonly loads = new SharedLoads<RoomFacts | null>();

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    /** Absent: this hub has no membership backend, and joins and device sends answer 254. */
    private readonly membership: ChatroomMembership | undefined,
    opts: ChatroomServiceOptions,
  ) {
    this.now = opts.now;
    this.maxFacts = opts.maxFacts ?? 100_000;
    this.facts = new BoundedCache(this.maxFacts, opts.maxAgeMs ?? 60_000, opts.now);
  }

  /** Invalidations may have been missed (bus gap): drop every room's facts. */
  invalidateAll(): void {
    this.facts.clear();
    this.loads.forgetAll();
  }

  /** Bus events: drop a room's cached facts on its invalidation. */
  handle(e: HubEvent): void {
    if (e.type !== 'cache.invalidate' || e.scope !== 'chatroom') return;
    this.facts.delete(e.id);
    this.loads.forget(e.id);
  }

  private members(): ChatroomMembership {
    if (!this.membership) throw new CoreError('not_implement', 'chatrooms need a membership backend');
    return this.membership;
  }

  private invalidate(chatroomId: string, extra: Array<HubEvent | null> = []): Promise<void> {
    return publishAll(this.bus, [{ type: 'cache.invalidate', scope: 'chatroom', id: chatroomId }, ...extra]);
  }

  // ---------------------------------------------------------------- the admin API

  /** Create, or update an existing room (non-empty texts overwrite; the state always does). */
  async create(chatroomId: string | undefined, f: { title: string; desc?: string; portrait?: string; extra?: string; state?: number }): Promise<Chatroom> {
    if (f.title === '') throw new CoreError('invalid_parameter', 'title must not be empty');
    const id = chatroomId && chatroomId !== '' ? chatroomId : newId();
    const c = await this.store.chatrooms.upsertChatroom(id, {
      title: f.title,
      ...(f.desc !== undefined ? { desc: f.desc } : {}),
      ...(f.portrait !== undefined ? { portrait: f.portrait } : {}),
      ...(f.extra !== undefined ? { extra: f.extra } : {}),
      state: stateOf(f.state),
    });
    await this.invalidate(id);
    return c;
  }

  /**
   * Destroy: the room ends (state 2, kept so that info still answers) and every device in it is
   * removed and told so. An unknown room: nothing happens.
   */
  async destroy(chatroomId: string): Promise<void> {
    if (!(await this.store.chatrooms.endChatroom(chatroomId))) return;
    if (this.membership) await this.membership.clear(chatroomId);
    await this.invalidate(chatroomId, [{ type: 'chatroom.leave', chatroomId, reason: 'destroyed' }]);
  }

  async info(chatroomId: string): Promise<ChatroomInfo> {
    const c = await this.store.chatrooms.getChatroom(chatroomId);
    if (!c) throw new CoreError('not_exist', `chatroom ${chatroomId} does not exist`);
    return { ...c, memberCount: this.membership ? await this.membership.count(chatroomId) : 0 };
  }

  /** The members' user ids, first joined first (at most MAX_CHATROOM_MEMBERS_LISTED); not_exist when none. */
  async memberIds(chatroomId: string): Promise<string[]> {
    const list = this.membership ? await this.membership.members(chatroomId, MAX_CHATROOM_MEMBERS_LISTED) : [];
    if (list.length === 0) throw new CoreError('not_exist', `chatroom ${chatroomId} has no members`);
    return list.map((m) => m.userId);
  }

  /** The room a user is in, with the client that joined it; not_exist when none. */
  async ofUser(userId: string): Promise<{ userId: string; chatroomId: string; clientId: string; platform: number }> {
    const e = this.membership ? await this.membership.of(userId) : null;
    if (!e) throw new CoreError('not_exist', `user ${userId} is in no chatroom`);
    return { userId, chatroomId: e.chatroomId, clientId: e.member.clientId, platform: e.member.platform };
  }

  /**
   * Blacklist a user: 1 may not send, 2 may neither join nor send (and is removed from the room now),
   * until `expiredTime` (ms; 0: no end); 0 lifts it.
   */
  async setBlackStatus(chatroomId: string, userId: string, state: number, expiredTime: number): Promise<void> {
    if (state !== ChatroomBlackState.none && state !== ChatroomBlackState.muted && state !== ChatroomBlackState.banned) {
      throw new CoreError('invalid_parameter', 'status must be 0, 1 or 2');
    }
    if (expiredTime < 0) throw new CoreError('invalid_parameter', 'expiredTime must not be negative');
    await this.store.chatrooms.setBlackStatus(chatroomId, userId, state, expiredTime);
    const kicked =
      state === ChatroomBlackState.banned && active({ userId, state, expiredTime }, this.now()) && this.membership
        ? await this.membership.leave(chatroomId, userId)
        : null;
    await this.invalidate(chatroomId, [kicked ? { type: 'chatroom.leave', chatroomId, session: kicked.session, reason: 'kicked' } : null]);
  }

  /** The entries in force (expired ones are left out). */
  async blackStatus(chatroomId: string): Promise<ChatroomBlackEntry[]> {
    const f = await this.mustFacts(chatroomId);
    const now = this.now();
    return [...f.blacklist.values()].filter((b) => active(b, now));
  }

  async setManager(chatroomId: string, userId: string, status: number): Promise<void> {
    if (status !== 0 && status !== 1) throw new CoreError('invalid_parameter', 'status must be 0 or 1');
    await this.store.chatrooms.setManager(chatroomId, userId, status === 1);
    await this.invalidate(chatroomId);
  }

  async managers(chatroomId: string): Promise<string[]> {
    return [...(await this.mustFacts(chatroomId)).managers];
  }

  /** Mute (1: only managers may send) or unmute (0) the whole room. */
  async muteAll(chatroomId: string, status: number): Promise<void> {
    if (status !== 0 && status !== 1) throw new CoreError('invalid_parameter', 'status must be 0 or 1');
    await this.store.chatrooms.setMute(chatroomId, status);
    await this.invalidate(chatroomId);
  }

  // ---------------------------------------------------------------- devices

  /**
   * A device joins: the room must exist and not have ended (not_exist), and the user must not be
   * banned from it (in_blacklist). Any other entry of the user (another room, another connection) is
   * replaced, and that connection is told. Returns the room with its member count.
   */
  async join(chatroomId: string, who: Joiner): Promise<ChatroomInfo> {
    const members = this.members();
    this.mayJoin(await this.roomFacts(chatroomId), chatroomId, who.userId);
    const prev = await members.join(chatroomId, { ...who, joinedAt: this.now() });
    if (prev && (prev.chatroomId !== chatroomId || prev.member.session !== who.session)) {
      await this.bus.publish({ type: 'chatroom.leave', chatroomId: prev.chatroomId, session: prev.member.session, reason: 'replaced' });
    }
    // Destroyed or banned while the join was being recorded (its invalidation dropped the facts read
    // above): the join does not stand.
    const f = await this.roomFacts(chatroomId);
    try {
      this.mayJoin(f, chatroomId, who.userId);
    } catch (err) {
      await members.leave(chatroomId, who.userId, who.session);
      throw err;
    }
    return { ...f.chatroom, memberCount: await members.count(chatroomId) };
  }

  /** Throws unless `userId` may join: the room exists and has not ended (not_exist), no ban in force (in_blacklist). */
  private mayJoin(f: RoomFacts | null, chatroomId: string, userId: string): asserts f is RoomFacts {
    if (!f || f.chatroom.state === ChatroomState.ended) throw new CoreError('not_exist', `chatroom ${chatroomId} does not exist`);
    const b = f.blacklist.get(userId);
    if (b && b.state === ChatroomBlackState.banned && active(b, this.now())) throw new CoreError('in_blacklist', `banned from chatroom ${chatroomId}`);
  }

  /** A device leaves (or its connection ended): removes its entry if it is still that session's. */
  async leave(chatroomId: string, userId: string, session: string): Promise<void> {
    await this.members().leave(chatroomId, userId, session);
  }

  /**
   * A device sends into a chatroom: the sending client must be the user's entry in that room
   * (not_in_chatroom), not blacklisted (in_blacklist), and a manager when the room is muted
   * (group_muted).
   */
  async checkSend(sender: string, clientId: string, chatroomId: string): Promise<void> {
    const e = await this.members().of(sender);
    if (!e || e.chatroomId !== chatroomId || e.member.clientId !== clientId) throw new CoreError('not_in_chatroom');
    const f = await this.roomFacts(chatroomId);
    if (!f) throw new CoreError('not_exist', `chatroom ${chatroomId} does not exist`);
    const b = f.blacklist.get(sender);
    if (b && active(b, this.now())) throw new CoreError('in_blacklist', `blacklisted in chatroom ${chatroomId}`);
    if (f.chatroom.mute === 1 && !f.managers.has(sender)) throw new CoreError('group_muted', `chatroom ${chatroomId} is muted`);
  }

  // ---------------------------------------------------------------- facts

  private async mustFacts(chatroomId: string): Promise<RoomFacts> {
    const f = await this.roomFacts(chatroomId);
    if (!f) throw new CoreError('not_exist', `chatroom ${chatroomId} does not exist`);
    return f;
  }

  /** A room's facts, cached; one store read per room at a time. A room heavier than a quarter of the cache is read each time. */
  private roomFacts(chatroomId: string): Promise<RoomFacts | null> {
    const hit = this.facts.get(chatroomId);
    if (hit) return Promise.resolve(hit.value);
    return this.loads.run(
      chatroomId,
      async () => factsOf(await this.store.chatrooms.chatroomFacts(chatroomId)),
      (v) => {
        const weight = 1 + (v ? v.managers.size + v.blacklist.size : 0);
        if (weight <= this.maxFacts / 4) this.facts.set(chatroomId, v, weight);
      },
    );
  }
}

function factsOf(f: ChatroomFacts | null): RoomFacts | null {
  if (!f) return null;
  return { chatroom: f.chatroom, managers: new Set(f.managers), blacklist: new Map(f.blacklist.map((b) => [b.userId, b])) };
}

/** A blacklist entry in force at `now`. */
function active(b: ChatroomBlackEntry, now: number): boolean {
  return b.state !== ChatroomBlackState.none && (b.expiredTime === 0 || b.expiredTime > now);
}
