import { CoreError, isCoreError } from '../errors.js';
import type { HubEvent } from '../events.js';
import type { TokenRecord, User, UserRole } from '../model.js';
import { UserStatus, UserType } from '../model.js';
import { publishAll, type Bus } from '../ports/bus.js';
import type { DestroyedUser, Store, UserFields, UserLookup } from '../ports/store.js';
import { hashToken, newId, newToken } from '../tokens.js';

/** Bits of Wildfire's user/update `flag`: which fields of userInfo to overwrite. */
export const UpdateUserFlag = {
  displayName: 0x01,
  portrait: 0x02,
  gender: 0x04,
  mobile: 0x08,
  email: 0x10,
  address: 0x20,
  company: 0x40,
  social: 0x80,
  extra: 0x100,
  name: 0x200,
} as const;

export interface UserServiceOptions {
  tokenTtlMs: number;
}

/**
 * User use cases. Each change publishes its events (cache invalidations, session revocations) right
 * after the store call commits, all of them synchronously before anything is awaited, so caches on
 * this node are current before the caller is answered.
 */
export class UserService {
  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly opts: UserServiceOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Publish the events of one committed change (publishAll: every publish before any await). */
  private emit(events: Array<HubEvent | null>): Promise<void> {
    return publishAll(this.bus, events);
  }

  /** Create or update (Wildfire semantics); a missing userId is generated. */
  async create(userId: string | undefined, fields: UserFields & { name: string }): Promise<User> {
    const id = userId && userId !== '' ? userId : newId();
    const f = { ...fields };
    // Wildfire: a present but empty displayName takes the name.
    if (f.displayName === '') f.displayName = f.name;
    const user = await this.store.users.upsertUser(id, f);
    await this.bus.publish({ type: 'cache.invalidate', scope: 'user', id });
    return user;
  }

  /** Overwrite the fields whose bit is set in `flag` (an unset field becomes "" / 0). */
  async update(userId: string, flag: number, info: UserFields): Promise<User> {
    if (!Number.isInteger(flag) || flag <= 0) throw new CoreError('invalid_parameter', 'flag must be a positive bit mask');
    const f: UserFields = {};
    for (const [key, bit] of Object.entries(UpdateUserFlag) as Array<[keyof typeof UpdateUserFlag, number]>) {
      if ((flag & bit) === 0) continue;
      if (key === 'gender') f.gender = info.gender ?? 0;
      else f[key] = info[key] ?? '';
    }
    if (f.name !== undefined && f.name === '') throw new CoreError('invalid_parameter', 'name must not be empty');
    const user = await this.store.users.updateUser(userId, f);
    await this.bus.publish({ type: 'cache.invalidate', scope: 'user', id: userId });
    return user;
  }

  /**
   * Remove a user. An unknown user is not an error (Wildfire answers 0): the tokens issued for its id
   * before it was ever created are revoked and its devices told, nothing else changes.
   */
  async destroy(userId: string): Promise<void> {
    let r: DestroyedUser;
    try {
      r = await this.store.users.destroyUser(userId);
    } catch (err) {
      if (!isCoreError(err) || err.kind !== 'not_exist') throw err;
      await this.store.tokens.revokeTokens(userId);
      await this.bus.publish({ type: 'session.revoke', userId, reason: 'destroyed' });
      return;
    }
    // Every audience the user was or had been in: their cached members include the user's intervals.
    const groups = [...new Set([...r.groups, ...(r.past?.groups ?? [])])];
    const channels = [...new Set([...(r.channels ?? []), ...(r.past?.channels ?? [])])];
    await this.emit([
      { type: 'session.revoke', userId, reason: 'destroyed' },
      { type: 'cache.invalidate', scope: 'user', id: userId },
      ...groups.map((g): HubEvent => ({ type: 'cache.invalidate', scope: 'group', id: g })),
      ...channels.map((c): HubEvent => ({ type: 'cache.invalidate', scope: 'channel', id: c })),
    ]);
  }

  async get(by: UserLookup): Promise<User> {
    const u = await this.store.users.getUser(by);
    if (!u) throw new CoreError('not_exist', 'user does not exist');
    return u;
  }

  /** The users with this email (Wildfire's get_info_by_email); not_exist when there is none. */
  async byEmail(email: string, limit: number): Promise<User[]> {
    const users = await this.store.users.usersByEmail(email, limit);
    if (users.length === 0) throw new CoreError('not_exist', 'no user has this email');
    return users;
  }

  list(offset: number, count: number): Promise<User[]> {
    return this.store.users.listUsers(offset, count);
  }

  /**
   * Issue a device token bound to (userId, clientId); only its hash is stored. A robot (user type 1)
   * gets none (robot_no_token, Wildfire's 27): it answers through the admin API. A user id that was
   * never created gets a token as in Wildfire; a device presenting it is refused (unauthorized) until a
   * user with that id is created, then it works like any other until it expires.
   */
  async issueToken(userId: string, clientId: string, platform: number): Promise<string> {
    const user = await this.store.users.getUser({ userId });
    if (user?.type === UserType.robot) throw new CoreError('robot_no_token', `user ${userId} is a robot`);
    const token = newToken();
    await this.store.tokens.insertToken(hashToken(token), {
      userId,
      clientId,
      platform,
      expiresAt: this.now() + this.opts.tokenTtlMs,
    });
    return token;
  }

  /**
   * Who an application's auth code names (Wildfire's user/app_get_user_info). Switchboard has no
   * separate application auth codes: the code is a live device token of the user (its client hands it
   * to the application). token_error (6) when it is unknown, revoked or expired. The user's profile
   * fields are "" when the token's user does not exist (yet).
   */
  async appUserInfo(authCode: string): Promise<{ userId: string; displayName: string; portraitUrl: string }> {
    const rec = await this.verifyToken(authCode);
    if (!rec) throw new CoreError('token_error', 'unknown, revoked or expired auth code');
    const u = await this.store.users.getUser({ userId: rec.userId });
    return { userId: rec.userId, displayName: u?.displayName ?? '', portraitUrl: u?.portrait ?? '' };
  }

  /** The clients of a user that hold a live token (a device session, online or not), by client id. */
  sessionClients(userId: string): Promise<Array<{ clientId: string; platform: number }>> {
    return this.store.tokens.sessionClients(userId, this.now());
  }

  /** The live record of a presented token, or null. */
  verifyToken(token: string): Promise<TokenRecord | null> {
    return this.store.tokens.findToken(hashToken(token), this.now());
  }

  /** 0 normal, 1 muted (cannot send), 2 blocked (cannot send or log in; connected devices are closed). */
  async setStatus(userId: string, status: number): Promise<void> {
    if (![UserStatus.normal, UserStatus.muted, UserStatus.blocked].includes(status as 0 | 1 | 2)) {
      throw new CoreError('invalid_parameter', 'status must be 0, 1 or 2');
    }
    await this.store.users.setUserStatus(userId, status);
    await this.emit([
      { type: 'cache.invalidate', scope: 'user', id: userId },
      status === UserStatus.blocked ? { type: 'session.revoke', userId, reason: 'blocked' } : null,
    ]);
  }

  async status(userId: string): Promise<number> {
    return (await this.get({ userId })).status;
  }

  blockedList(): Promise<Array<{ userId: string; status: number }>> {
    return this.store.users.listUserStatuses();
  }

  /** Revoke the tokens of one client (or all) and close its connections. */
  async kickoff(userId: string, clientId?: string): Promise<void> {
    await this.get({ userId });
    await this.store.tokens.revokeTokens(userId, clientId);
    await this.bus.publish({ type: 'session.revoke', userId, reason: 'kicked', ...(clientId ? { clientId } : {}) });
  }

  async setRole(userId: string, role: UserRole): Promise<void> {
    await this.store.users.setUserRole(userId, role);
    await this.bus.publish({ type: 'cache.invalidate', scope: 'user', id: userId });
  }
}
