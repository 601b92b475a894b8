import { CoreError } from '../../core/errors.js';
import type { TokenRecord, User, UserRole } from '../../core/model.js';
import { UserStatus } from '../../core/model.js';
import type { DestroyedUser, TokenStore, UserFields, UserLookup, UserStore } from '../../core/ports/store.js';
import { toUser, USER_COLS, USER_COLUMNS, type UserRow } from '../rows/users.js';
import type { SqliteContext } from './context.js';
import { AudienceType } from '../rows/messages.js';


/** Most user statuses kept in memory; past it the cache starts over. */
const STATUS_CACHE_MAX = 200_000;

export class SqliteUsers implements UserStore {
  /**
   * userId → status of existing users, for the send path's checks. Every user write deletes the
   * entry (deleting is always safe, even if the command then rolls back); only reads fill it.
   */
  private readonly statusCache = new Map<string, number>();

  constructor(private readonly ctx: SqliteContext) {}

  /** Inside a command or read: the user's status, or undefined when the user does not exist. */
  status(userId: string): number | undefined {
    const cached = this.statusCache.get(userId);
    if (cached !== undefined) return cached;
    const r = this.ctx.stmt('SELECT status FROM users WHERE id = ?').get(userId) as { status: number } | undefined;
    if (r) {
      if (this.statusCache.size >= STATUS_CACHE_MAX) this.statusCache.clear();
      this.statusCache.set(userId, r.status);
    }
    return r?.status;
  }

  exists(userId: string): boolean {
    return this.status(userId) !== undefined;
  }

  /**
   * Inside a command or read: the number of rows in users. meta.user_count is initialised by
   * migration 4 and changed only in the commands that insert or delete a users row, in their own
   * transaction, so it always equals COUNT(*) FROM users.
   */
  count(): number {
    return (this.ctx.stmt(`SELECT value FROM meta WHERE key = 'user_count'`).get() as { value: number } | undefined)?.value ?? 0;
  }

  private bumpCount(delta: number): void {
    this.ctx.stmt(`UPDATE meta SET value = value + ? WHERE key = 'user_count'`).run(delta);
  }

  private forget(userId: string): void {
    this.statusCache.delete(userId);
  }

  /** Inside a command: the user row or undefined. */
  row(userId: string): UserRow | undefined {
    return this.ctx.stmt(`SELECT ${USER_COLS} FROM users WHERE id = ?`).get(userId) as UserRow | undefined;
  }

  private assertNameFree(name: string, userId: string): void {
    const owner = this.ctx.stmt('SELECT id FROM users WHERE name = ?').get(name) as { id: string } | undefined;
    if (owner && owner.id !== userId) throw new CoreError('name_taken', `name ${name} belongs to another user`);
  }

  private applyFields(userId: string, fields: UserFields, now: number): void {
    const keys = (Object.keys(fields) as Array<keyof UserFields>).filter((k) => fields[k] !== undefined);
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${USER_COLUMNS[k]} = ?`).join(', ');
    this.ctx
      .stmt(`UPDATE users SET ${sets}, updated_at = ? WHERE id = ?`)
      .run(...keys.map((k) => fields[k] as string | number), now, userId);
  }

  upsertUser(userId: string, fields: UserFields & { name: string }): Promise<User> {
    return this.ctx.write(() => this.upsertIn(userId, fields));
  }

  /** Inside a command: create the user or overwrite the given fields (robots and devices use it too). */
  upsertIn(userId: string, fields: UserFields & { name: string }): User {
    const now = Date.now();
    this.forget(userId);
    this.assertNameFree(fields.name, userId);
    if (this.row(userId)) {
      this.applyFields(userId, fields, now);
    } else {
      this.ctx
        .stmt('INSERT INTO users(id, name, created_seq, updated_at) VALUES (?, ?, ?, ?)')
        .run(userId, fields.name, this.ctx.currentSeq(), now);
      this.bumpCount(1);
      this.applyFields(userId, fields, now);
    }
    return toUser(this.row(userId)!);
  }

  updateUser(userId: string, fields: UserFields): Promise<User> {
    return this.ctx.write(() => {
      this.forget(userId);
      if (!this.row(userId)) throw new CoreError('not_exist', `user ${userId} does not exist`);
      if (fields.name !== undefined) this.assertNameFree(fields.name, userId);
      this.applyFields(userId, fields, Date.now());
      return toUser(this.row(userId)!);
    });
  }

  destroyUser(userId: string): Promise<DestroyedUser> {
    return this.ctx.write(() => {
      this.forget(userId);
      if (!this.row(userId)) throw new CoreError('not_exist', `user ${userId} does not exist`);
      const groups = (
        this.ctx.stmt('SELECT group_id FROM group_members WHERE user_id = ?').all(userId) as Array<{ group_id: string }>
      ).map((r) => r.group_id);
      for (const g of groups) {
        this.ctx.stmt('DELETE FROM group_members WHERE group_id = ? AND user_id = ?').run(g, userId);
        this.ctx.groupMembers.forget(g);
        this.ctx.stmt('UPDATE groups SET member_count = member_count - 1 WHERE id = ?').run(g);
        this.ctx.groupFacts.forget(g);
      }
      const channels = this.ctx
        .stmt('SELECT channel_id FROM channel_subscribers WHERE user_id = ?')
        .all(userId) as Array<{ channel_id: string }>;
      for (const c of channels) {
        this.ctx.stmt('DELETE FROM channel_subscribers WHERE channel_id = ? AND user_id = ?').run(c.channel_id, userId);
        this.ctx.stmt('UPDATE channels SET subscriber_count = subscriber_count - 1 WHERE id = ?').run(c.channel_id);
      }
      this.ctx.stmt('DELETE FROM tokens WHERE user_id = ?').run(userId);
      // A robot's or device's own record, and the devices this user owned.
      this.ctx.stmt('DELETE FROM robots WHERE user_id = ?').run(userId);
      this.ctx.stmt('DELETE FROM devices WHERE device_id = ?').run(userId);
      this.ctx.stmt('DELETE FROM device_owners WHERE device_id = ?').run(userId);
      this.ctx.stmt('DELETE FROM device_owners WHERE user_id = ?').run(userId);
      this.ctx.wb.dropUser(userId);
      this.ctx.stmt('DELETE FROM conversations WHERE user_id = ?').run(userId);
      this.ctx.stmt('DELETE FROM user_hides WHERE user_id = ?').run(userId);
      this.ctx.stmt('DELETE FROM user_message_state WHERE user_id = ?').run(userId);
      this.ctx.stmt('DELETE FROM deliveries WHERE user_id = ?').run(userId);
      // Relations naming the user, either side, its friend requests and its settings.
      this.ctx.stmt('DELETE FROM friends WHERE user_id = ?').run(userId);
      this.ctx.stmt('DELETE FROM friends WHERE friend_uid = ?').run(userId);
      this.ctx.stmt('DELETE FROM friend_requests WHERE from_uid = ?').run(userId);
      this.ctx.stmt('DELETE FROM friend_requests WHERE to_uid = ?').run(userId);
      this.ctx.stmt('DELETE FROM user_settings WHERE user_id = ?').run(userId);
      // Its notification inbox is deleted as the user would delete it (state bit 2): a user created
      // again with this id starts with an empty inbox, while operators' read counts stay history.
      this.ctx.stmt('UPDATE notification_inbox SET state = state | 2 WHERE user_id = ? AND (state & 2) = 0').run(userId);
      // Past memberships go too: a user created again with this id starts with no history. Their
      // audiences are reported, so live fan-out forgets the intervals as replay does.
      const past = this.ctx
        .stmt('SELECT DISTINCT audience_type, audience_id FROM audience_history WHERE user_id = ?')
        .all(userId) as Array<{ audience_type: number; audience_id: string }>;
      this.ctx.stmt('DELETE FROM audience_history WHERE user_id = ?').run(userId);
      this.ctx.keepSeqFloor();
      this.ctx.stmt('DELETE FROM inbox WHERE user_id = ?').run(userId);
      this.ctx.stmt('DELETE FROM users WHERE id = ?').run(userId);
      this.bumpCount(-1);
      return {
        groups,
        channels: channels.map((c) => c.channel_id),
        past: {
          groups: past.filter((p) => p.audience_type === AudienceType.group).map((p) => p.audience_id),
          channels: past.filter((p) => p.audience_type === AudienceType.channel).map((p) => p.audience_id),
        },
      };
    });
  }

  getUser(by: UserLookup): Promise<User | null> {
    return this.ctx.read(() => {
      let r: UserRow | undefined;
      if ('userId' in by) r = this.row(by.userId);
      else if ('name' in by) r = this.ctx.stmt(`SELECT ${USER_COLS} FROM users WHERE name = ?`).get(by.name) as UserRow | undefined;
      else if ('mobile' in by)
        r = this.ctx.stmt(`SELECT ${USER_COLS} FROM users WHERE mobile = ? AND mobile <> '' LIMIT 1`).get(by.mobile) as
          | UserRow
          | undefined;
      else
        r = this.ctx.stmt(`SELECT ${USER_COLS} FROM users WHERE email = ? AND email <> '' LIMIT 1`).get(by.email) as
          | UserRow
          | undefined;
      return r ? toUser(r) : null;
    });
  }

  usersByEmail(email: string, limit: number): Promise<User[]> {
    return this.ctx.read(() =>
      email === ''
        ? []
        : (this.ctx.stmt(`SELECT ${USER_COLS} FROM users WHERE email = ? AND email <> '' ORDER BY rowid LIMIT ?`).all(email, limit) as UserRow[]).map(toUser),
    );
  }

  getUsers(userIds: string[]): Promise<User[]> {
    return this.ctx.read(() => {
      const out: User[] = [];
      for (const id of userIds) {
        const r = this.row(id);
        if (r) out.push(toUser(r));
      }
      return out;
    });
  }

  listUsers(offset: number, count: number): Promise<User[]> {
    return this.ctx.read(() =>
      (this.ctx.stmt(`SELECT ${USER_COLS} FROM users ORDER BY rowid LIMIT ? OFFSET ?`).all(count, offset) as UserRow[]).map(
        toUser,
      ),
    );
  }

  countUsers(): Promise<number> {
    return this.ctx.read(() => this.count());
  }

  setUserStatus(userId: string, status: number): Promise<void> {
    return this.ctx.write(() => {
      this.forget(userId);
      const r = this.ctx.stmt('UPDATE users SET status = ?, updated_at = ? WHERE id = ?').run(status, Date.now(), userId);
      if (r.changes === 0) throw new CoreError('not_exist', `user ${userId} does not exist`);
      if (status === UserStatus.blocked) this.ctx.stmt('DELETE FROM tokens WHERE user_id = ?').run(userId);
    });
  }

  listUserStatuses(): Promise<Array<{ userId: string; status: number }>> {
    return this.ctx.read(() =>
      (this.ctx.stmt('SELECT id, status FROM users WHERE status <> 0 ORDER BY id').all() as Array<{ id: string; status: number }>).map(
        (r) => ({ userId: r.id, status: r.status }),
      ),
    );
  }

  sinceSeq(userId: string): Promise<number | null> {
    return this.ctx.read(
      () => (this.ctx.stmt('SELECT created_seq FROM users WHERE id = ?').get(userId) as { created_seq: number } | undefined)?.created_seq ?? null,
    );
  }

  setUserRole(userId: string, role: UserRole): Promise<void> {
    return this.ctx.write(() => {
      const r = this.ctx.stmt('UPDATE users SET role = ?, updated_at = ? WHERE id = ?').run(role, Date.now(), userId);
      if (r.changes === 0) throw new CoreError('not_exist', `user ${userId} does not exist`);
    });
  }
}

export class SqliteTokens implements TokenStore {
  constructor(
    private readonly ctx: SqliteContext,
    private readonly users: SqliteUsers,
  ) {}

  insertToken(hash: string, rec: TokenRecord): Promise<void> {
    return this.ctx.write(() => {
      // A user that does not exist (yet) gets its token too (Wildfire's); it is usable once the user exists.
      const status = this.users.status(rec.userId);
      if (status === UserStatus.blocked) throw new CoreError('user_blocked');
      const now = Date.now();
      // Expired tokens of this device are dropped as new ones are issued, so the table stays bounded.
      this.ctx.stmt('DELETE FROM tokens WHERE user_id = ? AND client_id = ? AND expires_at <= ?').run(rec.userId, rec.clientId, now);
      this.ctx
        .stmt('INSERT INTO tokens(hash, user_id, client_id, platform, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(hash, rec.userId, rec.clientId, rec.platform, now, rec.expiresAt);
    });
  }

  findToken(hash: string, now: number): Promise<TokenRecord | null> {
    return this.ctx.read(() => {
      const r = this.ctx
        .stmt('SELECT user_id, client_id, platform, expires_at FROM tokens WHERE hash = ? AND expires_at > ?')
        .get(hash, now) as { user_id: string; client_id: string; platform: number; expires_at: number } | undefined;
      return r ? { userId: r.user_id, clientId: r.client_id, platform: r.platform, expiresAt: r.expires_at } : null;
    });
  }

  revokeTokens(userId: string, clientId?: string): Promise<number> {
    return this.ctx.write(() => {
      const r =
        clientId === undefined
          ? this.ctx.stmt('DELETE FROM tokens WHERE user_id = ?').run(userId)
          : this.ctx.stmt('DELETE FROM tokens WHERE user_id = ? AND client_id = ?').run(userId, clientId);
      return r.changes;
    });
  }

  sessionClients(userId: string, now: number): Promise<Array<{ clientId: string; platform: number }>> {
    return this.ctx.read(() => {
      // tokens_user (user_id, client_id) gives the rows in client order; the newest token wins the platform.
      const rows = this.ctx
        .stmt('SELECT client_id, platform FROM tokens WHERE user_id = ? AND expires_at > ? ORDER BY client_id, created_at')
        .all(userId, now) as Array<{ client_id: string; platform: number }>;
      const out = new Map<string, number>();
      for (const r of rows) out.set(r.client_id, r.platform);
      return [...out].map(([clientId, platform]) => ({ clientId, platform }));
    });
  }
}
