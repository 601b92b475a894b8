/**
 * The store's ports for users and what hangs off them: settings, relations, sensitive words, per-user
 * settings, users, tokens, robots and devices (ports/store.ts holds the Store and its contract).
 */
import type { Device, Robot, TokenRecord, User, UserRole } from '../model.js';
import type { FriendRelation, FriendRequest, FriendRequestPolicy, PrivateSendPolicy, UserSetting } from '../relations.js';
import type { MessageDraft } from './message-stores.js';

// ---------------------------------------------------------------- settings

/** Runtime settings as JSON documents by key; changes are announced with cache.invalidate 'settings'. */
export interface SettingsStore {
  get(key: string): Promise<unknown>;
  /** Every document whose key starts with `prefix`. */
  list(prefix: string): Promise<Array<{ key: string; value: unknown }>>;
  put(key: string, value: unknown): Promise<void>;
  /** Returns whether the key existed. */
  remove(key: string): Promise<boolean>;
}

// ---------------------------------------------------------------- relations

/**
 * Friends, blacklists and friend requests (core/relations.ts), one row per ordered pair of users.
 * Users are not required to exist (Wildfire's admin API does not check either); destroying a user
 * removes every row naming it, either side. Every write stamps `updateDt` with the store's clock.
 */
export interface RelationStore {
  /**
   * Wildfire's admin friend/status: userId → friendUid takes `state` and `extra` (created when
   * missing); unless `state` is 2, friendUid → userId takes `state` too (and `extra` when it is
   * created). Returns the rows written, userId's first.
   */
  setFriendState(userId: string, friendUid: string, state: number, extra: string): Promise<FriendRelation[]>;
  /** Put `targetUid` on userId's blacklist (or take it off); a missing row is created as "not friends". */
  setBlacked(userId: string, targetUid: string, blacked: boolean): Promise<FriendRelation>;
  /** userId's alias for targetUid; a missing row is created as "not friends". */
  setAlias(userId: string, targetUid: string, alias: string): Promise<FriendRelation>;
  /** userId's extra about targetUid; a missing row is created as "not friends". */
  setExtra(userId: string, targetUid: string, extra: string): Promise<FriendRelation>;
  /** What userId keeps about targetUid, or null. */
  getRelation(userId: string, targetUid: string): Promise<FriendRelation | null>;
  /** Every row userId keeps, oldest change first (ties by friendUid). */
  listRelations(userId: string): Promise<FriendRelation[]>;
  /**
   * Record a friend request (replacing the last one from fromUid to toUid) after core's
   * checkFriendRequest, evaluated in the same transaction. Throws what the rule throws.
   */
  addFriendRequest(fromUid: string, toUid: string, reason: string, extra: string, force: boolean, policy: FriendRequestPolicy): Promise<FriendRequest>;
  /** Requests sent to userId and sent by it, newest change first, at most `limit`. */
  listFriendRequests(userId: string, limit: number): Promise<FriendRequest[]>;
  /**
   * userId answers the request fromUid sent it (core's checkFriendAnswer, in the transaction): its
   * status becomes accepted (1) or rejected (2). Accepting makes them friends both ways (aliases and
   * extras kept) unless they are already, and accepts a pending request of userId to fromUid too.
   * Returns the request as stored and the relations written.
   */
  answerFriendRequest(userId: string, fromUid: string, accept: boolean, policy: FriendRequestPolicy): Promise<{ request: FriendRequest; relations: FriendRelation[] }>;
  /** They are friends no more, both ways: existing rows take state 1 (none is created). Returns the rows written. */
  deleteFriend(userId: string, friendUid: string): Promise<FriendRelation[]>;
}

/**
 * How the store checks a device's message between users (MessageDraft.relations): the receiver's
 * relation to the sender, read in the send's transaction, decided by core's privateSendDecision.
 */
export type RelationCheck = PrivateSendPolicy;

/** The sensitive words, lower-cased, each once. */
export interface SensitiveWordStore {
  /** Add words (lower-cased; known ones are ignored). Throws invalid_parameter past `maxWords` in all. Returns how many were new. */
  addWords(words: string[], maxWords: number): Promise<number>;
  /** Remove words (compared lower-cased). Returns how many were removed. */
  removeWords(words: string[]): Promise<number>;
  /** Every word, sorted. */
  listWords(): Promise<string[]>;
}

/** Per-user settings by (scope, key) (Wildfire's user settings; scope 3: conversation top). */
export interface UserSettingStore {
  /** Create or overwrite. Throws invalid_parameter when the user would have more than `maxPerUser`. */
  putSetting(userId: string, scope: number, key: string, value: string, maxPerUser: number): Promise<UserSetting>;
  getSetting(userId: string, scope: number, key: string): Promise<UserSetting | null>;
  /** Every setting of the user, by scope then key. */
  listSettings(userId: string): Promise<UserSetting[]>;
}

// ---------------------------------------------------------------- users

/** Profile fields a caller may set; absent fields keep their value (update) or default to "" / 0. */
export interface UserFields {
  name?: string;
  displayName?: string;
  portrait?: string;
  gender?: number;
  mobile?: string;
  email?: string;
  address?: string;
  company?: string;
  social?: string;
  extra?: string;
  type?: number;
}

export type UserLookup = { userId: string } | { name: string } | { mobile: string } | { email: string };

/** What destroyUser removed the user from. */
export interface DestroyedUser {
  groups: string[];
  channels?: string[];
  past?: { groups: string[]; channels: string[] };
}

export interface UserStore {
  /** Create the user, or overwrite the given fields of an existing one. Throws name_taken. */
  upsertUser(userId: string, fields: UserFields & { name: string }): Promise<User>;
  /** Throws not_exist; name_taken when the new name belongs to someone else. */
  updateUser(userId: string, fields: UserFields): Promise<User>;
  /**
   * Remove the user: profile, tokens, memberships, subscriptions, past memberships, its robot or
   * device record and the devices ownerships it held. Messages stay.
   * Returns the groups the user was removed from; `channels`, the channels it was unsubscribed from;
   * `past`, the groups and channels whose past memberships of the user were forgotten (see
   * `memberSeqs`). The audiences of all three lists changed (their caches are stale). Throws not_exist.
   */
  destroyUser(userId: string): Promise<DestroyedUser>;
  getUser(by: UserLookup): Promise<User | null>;
  getUsers(userIds: string[]): Promise<User[]>;
  /** Every user with this (non-empty) email, oldest first, at most `limit`. */
  usersByEmail(email: string, limit: number): Promise<User[]>;
  listUsers(offset: number, count: number): Promise<User[]>;
  countUsers(): Promise<number>;
  /** 0 normal, 1 muted, 2 blocked; blocking revokes every token of the user. Throws not_exist. */
  setUserStatus(userId: string, status: number): Promise<void>;
  listUserStatuses(): Promise<Array<{ userId: string; status: number }>>;
  setUserRole(userId: string, role: UserRole): Promise<void>;
  /** The cursor at which the user was created (it sees no broadcast from before); null when unknown. */
  sinceSeq(userId: string): Promise<number | null>;
}

// ---------------------------------------------------------------- tokens

export interface TokenStore {
  /**
   * Store a token hash. Throws user_blocked for a blocked user. A user id that does not exist is
   * accepted (Wildfire issues tokens for any id): the token is stored and is usable (findToken finds
   * it) but a device presenting it is refused until a user with that id is created.
   */
  insertToken(hash: string, record: TokenRecord): Promise<void>;
  /** The live record of a token hash, or null (unknown, revoked or expired at `now`). */
  findToken(hash: string, now: number): Promise<TokenRecord | null>;
  /** Revoke the user's tokens (of one client when given). Returns how many were revoked. */
  revokeTokens(userId: string, clientId?: string): Promise<number>;
  /** The clients of the user holding a live token at `now`, each once (its latest platform), by client id. */
  sessionClients(userId: string, now: number): Promise<Array<{ clientId: string; platform: number }>>;
}

// ---------------------------------------------------------------- robots and devices

export interface RobotFields {
  owner: string;
  secret: string;
  callback: string;
  extra: string;
}

/** Robots: users of type 1 with an owner, a secret and a callback. */
export interface RobotStore {
  /**
   * Create or update the robot's user (type 1, the given profile fields) and its robot record, in one
   * transaction (Wildfire's create-or-update). Throws name_taken when the name is another user's.
   */
  upsertRobot(userId: string, user: UserFields & { name: string }, robot: RobotFields): Promise<Robot>;
  /** The robot record of a user that still exists; null otherwise. */
  getRobot(userId: string): Promise<Robot | null>;
  /** Every robot with a callback, at most `limit` (routing their incoming messages). */
  robotsWithCallback(limit: number): Promise<Robot[]>;
}

export interface DeviceFields {
  owners: string[];
  extra: string;
}

/** Devices: users of type 2 (id = device id) with owners, extra and a secret. */
export interface DeviceStore {
  /**
   * Create the device (its user of type 2 named after it, a fresh `secret`) or update an existing one
   * (owners replaced, extra overwritten, the secret kept). Throws no_right when the id belongs to a user
   * that is not a device, name_taken when its name is another user's.
   */
  upsertDevice(deviceId: string, fields: DeviceFields, secret: string): Promise<Device>;
  getDevice(deviceId: string): Promise<Device | null>;
  /** The devices the user owns, by id. */
  devicesOfUser(userId: string): Promise<Device[]>;
}
