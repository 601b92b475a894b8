import { CoreError } from '../errors.js';
import type { HubEvent } from '../events.js';
import { publishAll, type Bus } from '../ports/bus.js';
import type { RelationStore } from '../ports/store.js';
import {
  FRIEND_REQUEST_POLICY_DEFAULTS,
  FriendState,
  type FriendRelation,
  type FriendRequest,
  type FriendRequestPolicy,
} from '../relations.js';

/** Most friend requests a device's `friend_requests` frame lists (newest first). */
export const MAX_LISTED_FRIEND_REQUESTS = 500;

/**
 * Friends, blacklists and friend requests (Wildfire's RelationAdmin). Each change commits, then is
 * announced on the bus — `relation.changed` for each row written (its owner's devices learn of it
 * live), `relation.request` for a request (its target's devices) — before the caller is answered.
 * The send rule that reads relations (privateSendDecision) runs in the store, inside the send.
 */
export class RelationService {
  private readonly policy: FriendRequestPolicy;

  constructor(
    private readonly store: RelationStore,
    private readonly bus: Bus,
    policy: Partial<FriendRequestPolicy> = {},
  ) {
    this.policy = { ...FRIEND_REQUEST_POLICY_DEFAULTS, ...policy };
  }

  private changed(rows: FriendRelation[]): Promise<void> {
    return publishAll(
      this.bus,
      rows.map((relation): HubEvent => ({ type: 'relation.changed', relation })),
    );
  }

  /**
   * Wildfire's friend/status: `status` 0 makes them friends, 1 not, both ways; 2 (a legacy value)
   * writes userId's row only. `extra` overwrites userId's extra ("" when absent, as Wildfire does).
   */
  async setFriend(userId: string, friendUid: string, status: number, extra: string): Promise<void> {
    if (status !== 0 && status !== 1 && status !== 2) throw new CoreError('invalid_parameter', 'status must be 0 (friends), 1 (not friends) or 2');
    await this.changed(await this.store.setFriendState(userId, friendUid, status, extra));
  }

  /** Wildfire's blacklist/status: 2 puts targetUid on userId's blacklist, 0 or 1 takes it off. */
  async setBlacklist(userId: string, targetUid: string, status: number): Promise<void> {
    if (status !== 0 && status !== 1 && status !== 2) throw new CoreError('invalid_parameter', 'status must be 2 (blacklist) or 1 (not)');
    await this.changed([await this.store.setBlacked(userId, targetUid, status === 2)]);
  }

  async setAlias(userId: string, targetUid: string, alias: string): Promise<void> {
    await this.changed([await this.store.setAlias(userId, targetUid, alias)]);
  }

  async setExtra(userId: string, targetUid: string, extra: string): Promise<void> {
    await this.changed([await this.store.setExtra(userId, targetUid, extra)]);
  }

  /** userId's friends, oldest first. */
  async friends(userId: string): Promise<string[]> {
    return (await this.store.listRelations(userId)).filter((r) => r.state === FriendState.friend).map((r) => r.friendUid);
  }

  /** Who userId has on its blacklist, oldest first. */
  async blacklist(userId: string): Promise<string[]> {
    return (await this.store.listRelations(userId)).filter((r) => r.blacked > 0).map((r) => r.friendUid);
  }

  /** Every row userId keeps (friends, blacklisted, with alias or extra), oldest change first. */
  relations(userId: string): Promise<FriendRelation[]> {
    return this.store.listRelations(userId);
  }

  relation(userId: string, targetUid: string): Promise<FriendRelation | null> {
    return this.store.getRelation(userId, targetUid);
  }

  /**
   * A friend request from userId to friendUid (Wildfire's rules: checkFriendRequest); `force` skips
   * the repeat and blacklist checks. The target's devices are told live.
   */
  async sendRequest(userId: string, friendUid: string, reason: string, force: boolean): Promise<FriendRequest> {
    if (userId === friendUid) throw new CoreError('invalid_parameter', 'a user cannot befriend itself');
    const request = await this.store.addFriendRequest(userId, friendUid, reason, '', force, this.policy);
    await this.bus.publish({ type: 'relation.request', request, users: [friendUid] });
    return request;
  }

  /**
   * A device of userId answers the request fromUid sent it (Wildfire's rules: checkFriendAnswer).
   * Both users' devices are told the request's new status; accepting makes them friends (both get a
   * `relation.changed`).
   */
  async answerRequest(userId: string, fromUid: string, accept: boolean): Promise<void> {
    const { request, relations } = await this.store.answerFriendRequest(userId, fromUid, accept, this.policy);
    await publishAll(this.bus, [
      ...relations.map((relation): HubEvent => ({ type: 'relation.changed', relation })),
      { type: 'relation.request', request, users: [fromUid, userId] },
    ]);
  }

  /** They are friends no more, both ways (a device's delete; existing relations only). */
  async deleteFriend(userId: string, friendUid: string): Promise<void> {
    await this.changed(await this.store.deleteFriend(userId, friendUid));
  }

  /** Requests sent to and by userId, newest first. */
  requests(userId: string): Promise<FriendRequest[]> {
    return this.store.listFriendRequests(userId, MAX_LISTED_FRIEND_REQUESTS);
  }
}
