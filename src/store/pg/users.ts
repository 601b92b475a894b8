import type { DatabaseError } from 'pg';
import { CoreError } from '../../core/errors.js';
import type { TokenRecord, User, UserRole } from '../../core/model.js';
import { UserStatus } from '../../core/model.js';
import type { DestroyedUser, TokenStore, UserFields, UserLookup, UserStore } from '../../core/ports/store.js';
import { AudienceType } from '../rows/messages.js';
import { toUser, USER_COLS, USER_COLUMNS, type UserRow } from '../rows/users.js';
import type { PgContext } from './context.js';
import type { Queryable } from './pool.js';
import type { PgTx } from './writer.js';


/** The given (not undefined) fields, in a fixed order. */
function givenFields(fields: UserFields): Array<[string, string | number]> {
  return (Object.keys(USER_COLUMNS) as Array<keyof UserFields>)
    .filter((k) => fields[k] !== undefined)
    .map((k) => [USER_COLUMNS[k], fields[k] as string | number]);
}

/** The unique index on users.name refused the write: the name is another user's. */
function isNameTaken(err: unknown): boolean {
  const e = err as Partial<DatabaseError> | null;
  return typeof e === 'object' && e !== null && e.code === '23505' && e.constraint === 'users_name';
}

/** The user's status, or undefined when the user does not exist (inside a command or a read). */
export async function userStatus(q: Queryable, userId: string): Promise<number | undefined> {
  return (await q.row<{ status: number }>('SELECT status FROM users WHERE id = $1', [userId]))?.status;
}

export async function userExists(q: Queryable, userId: string): Promise<boolean> {
  return (await userStatus(q, userId)) !== undefined;
}

/** The users row, or undefined (inside a command or a read). */
export async function userRow(q: Queryable, userId: string): Promise<UserRow | undefined> {
  return q.row<UserRow>(`SELECT ${USER_COLS} FROM users WHERE id = $1`, [userId]);
}

/**
 * Inside a command: create the user (created at the current cursor: it sees no broadcast from before)
 * with the given fields (others default), or overwrite the given fields of an existing one. Throws
 * name_taken when the name is another user's. Robots and devices create their users with it too.
 */
export async function upsertUserIn(tx: PgTx, userId: string, fields: UserFields & { name: string }): Promise<User> {
  const now = Date.now();
  const given = givenFields(fields);
  const cols = given.map(([c]) => c);
  const params: unknown[] = [userId, tx.currentSeq(), now, ...given.map(([, v]) => v)];
  const placeholders = given.map((_, i) => `$${i + 4}`);
  try {
    const r = await tx.row<UserRow & { inserted: boolean }>(
      `WITH u AS (
         INSERT INTO users(id, created_seq, updated_at, ${cols.join(', ')}) VALUES ($1, $2, $3, ${placeholders.join(', ')})
         ON CONFLICT (id) DO UPDATE SET ${cols.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, updated_at = EXCLUDED.updated_at
         RETURNING ${USER_COLS}, (xmax = 0) AS inserted),
       c AS (UPDATE meta SET value = value + 1 WHERE key = 'user_count' AND EXISTS (SELECT 1 FROM u WHERE inserted))
       SELECT * FROM u`,
      params,
    );
    return toUser(r!);
  } catch (err) {
    if (isNameTaken(err)) throw new CoreError('name_taken', `name ${fields.name} belongs to another user`);
    throw err;
  }
}

/** Every user-owned row destroyUser removes, and what it reports: one statement (see destroyUser). */
const DESTROY_SQL = `
  WITH u AS (DELETE FROM users WHERE id = $1 RETURNING id),
  cnt AS (UPDATE meta SET value = value - 1 WHERE key = 'user_count' AND EXISTS (SELECT 1 FROM u)),
  gm AS (DELETE FROM group_members WHERE user_id = $1 RETURNING group_id),
  g AS (UPDATE groups SET member_count = member_count - 1 WHERE id IN (SELECT group_id FROM gm)),
  cs AS (DELETE FROM channel_subscribers WHERE user_id = $1 RETURNING channel_id),
  c AS (UPDATE channels SET subscriber_count = subscriber_count - 1 WHERE id IN (SELECT channel_id FROM cs)),
  t AS (DELETE FROM tokens WHERE user_id = $1),
  r AS (DELETE FROM robots WHERE user_id = $1),
  d AS (DELETE FROM devices WHERE device_id = $1),
  dow AS (DELETE FROM device_owners WHERE device_id = $1 OR user_id = $1),
  cv AS (DELETE FROM conversations WHERE user_id = $1),
  uh AS (DELETE FROM user_hides WHERE user_id = $1),
  ums AS (DELETE FROM user_message_state WHERE user_id = $1),
  dl AS (DELETE FROM deliveries WHERE user_id = $1),
  f AS (DELETE FROM friends WHERE user_id = $1 OR friend_uid = $1),
  fr AS (DELETE FROM friend_requests WHERE from_uid = $1 OR to_uid = $1),
  us AS (DELETE FROM user_settings WHERE user_id = $1),
  ni AS (UPDATE notification_inbox SET state = state | 2 WHERE user_id = $1 AND (state & 2) = 0),
  ah AS (DELETE FROM audience_history WHERE user_id = $1 RETURNING audience_type, audience_id),
  ib AS (DELETE FROM inbox WHERE user_id = $1)
  SELECT EXISTS (SELECT 1 FROM u) AS existed,
    COALESCE((SELECT array_agg(group_id ORDER BY group_id COLLATE "C") FROM gm), '{}') AS groups,
    COALESCE((SELECT array_agg(channel_id ORDER BY channel_id COLLATE "C") FROM cs), '{}') AS channels,
    COALESCE((SELECT array_agg(DISTINCT audience_id) FROM ah WHERE audience_type = ${AudienceType.group}), '{}') AS past_groups,
    COALESCE((SELECT array_agg(DISTINCT audience_id) FROM ah WHERE audience_type = ${AudienceType.channel}), '{}') AS past_channels`;

/** Users on PostgreSQL. No cache of statuses (another node may change them): each check reads the row. */
export class PgUsers implements UserStore {
  constructor(private readonly ctx: PgContext) {}

  upsertUser(userId: string, fields: UserFields & { name: string }): Promise<User> {
    return this.ctx.write((tx) => upsertUserIn(tx, userId, fields));
  }

  updateUser(userId: string, fields: UserFields): Promise<User> {
    return this.ctx.write(async (tx) => {
      const given = givenFields(fields);
      if (given.length === 0) {
        // Nothing to change: updateDt stays.
        const r = await userRow(tx, userId);
        if (!r) throw new CoreError('not_exist', `user ${userId} does not exist`);
        return toUser(r);
      }
      const sets = given.map(([c], i) => `${c} = $${i + 3}, `).join('');
      try {
        const r = await tx.row<UserRow>(
          `UPDATE users SET ${sets}updated_at = $2 WHERE id = $1 RETURNING ${USER_COLS}`,
          [userId, Date.now(), ...given.map(([, v]) => v)],
        );
        if (!r) throw new CoreError('not_exist', `user ${userId} does not exist`);
        return toUser(r);
      } catch (err) {
        if (isNameTaken(err)) throw new CoreError('name_taken', `name ${fields.name ?? ''} belongs to another user`);
        throw err;
      }
    });
  }

  /**
   * Removes what SQLite's destroyUser removes, in one statement: the profile, tokens, memberships and
   * subscriptions (counts kept), robot and device records and device ownerships, per-user message
   * rows (conversations, hides, states, deliveries, inbox), relations and friend requests naming it,
   * its settings and past memberships; its notification inbox is marked deleted (state bit 2).
   * PostgreSQL's cursor lives in meta.seq, so deleting the inbox needs no seq floor.
   */
  destroyUser(userId: string): Promise<DestroyedUser> {
    return this.ctx.write(async (tx) => {
      const r = (await tx.row<{ existed: boolean; groups: string[]; channels: string[]; past_groups: string[]; past_channels: string[] }>(
        DESTROY_SQL,
        [userId],
      ))!;
      if (!r.existed) throw new CoreError('not_exist', `user ${userId} does not exist`);
      return { groups: r.groups, channels: r.channels, past: { groups: r.past_groups, channels: r.past_channels } };
    });
  }

  getUser(by: UserLookup): Promise<User | null> {
    return this.ctx.read(async (q) => {
      let r: UserRow | undefined;
      if ('userId' in by) r = await userRow(q, by.userId);
      else if ('name' in by) r = await q.row<UserRow>(`SELECT ${USER_COLS} FROM users WHERE name = $1`, [by.name]);
      else if ('mobile' in by) r = await q.row<UserRow>(`SELECT ${USER_COLS} FROM users WHERE mobile = $1 AND mobile <> '' ORDER BY n LIMIT 1`, [by.mobile]);
      else r = await q.row<UserRow>(`SELECT ${USER_COLS} FROM users WHERE email = $1 AND email <> '' ORDER BY n LIMIT 1`, [by.email]);
      return r ? toUser(r) : null;
    });
  }

  async usersByEmail(email: string, limit: number): Promise<User[]> {
    if (email === '') return [];
    return (await this.ctx.db.rows<UserRow>(`SELECT ${USER_COLS} FROM users WHERE email = $1 AND email <> '' ORDER BY n LIMIT $2`, [email, limit])).map(
      toUser,
    );
  }

  async getUsers(userIds: string[]): Promise<User[]> {
    if (userIds.length === 0) return [];
    // In the order asked (a repeated id repeats), as SQLite's one lookup per id.
    const rows = await this.ctx.db.rows<UserRow>(`SELECT ${USER_COLS} FROM users WHERE id = ANY($1::text[])`, [[...new Set(userIds)]]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const out: User[] = [];
    for (const id of userIds) {
      const r = byId.get(id);
      if (r) out.push(toUser(r));
    }
    return out;
  }

  async listUsers(offset: number, count: number): Promise<User[]> {
    return (await this.ctx.db.rows<UserRow>(`SELECT ${USER_COLS} FROM users ORDER BY n LIMIT $1 OFFSET $2`, [count, offset])).map(toUser);
  }

  async countUsers(): Promise<number> {
    return (await this.ctx.db.row<{ value: number }>(`SELECT value FROM meta WHERE key = 'user_count'`))?.value ?? 0;
  }

  setUserStatus(userId: string, status: number): Promise<void> {
    return this.ctx.write(async (tx) => {
      const n = await tx.run(
        `WITH u AS (UPDATE users SET status = $2, updated_at = $3 WHERE id = $1 RETURNING id),
         t AS (DELETE FROM tokens WHERE user_id = $1 AND $2 = ${UserStatus.blocked} AND EXISTS (SELECT 1 FROM u))
         SELECT 1 FROM u`,
        [userId, status, Date.now()],
      );
      if (n === 0) throw new CoreError('not_exist', `user ${userId} does not exist`);
    });
  }

  async listUserStatuses(): Promise<Array<{ userId: string; status: number }>> {
    return (await this.ctx.db.rows<{ id: string; status: number }>('SELECT id, status FROM users WHERE status <> 0 ORDER BY id COLLATE "C"')).map((r) => ({
      userId: r.id,
      status: r.status,
    }));
  }

  async sinceSeq(userId: string): Promise<number | null> {
    return (await this.ctx.db.row<{ created_seq: number }>('SELECT created_seq FROM users WHERE id = $1', [userId]))?.created_seq ?? null;
  }

  setUserRole(userId: string, role: UserRole): Promise<void> {
    return this.ctx.write(async (tx) => {
      const n = await tx.run('UPDATE users SET role = $2, updated_at = $3 WHERE id = $1', [userId, role, Date.now()]);
      if (n === 0) throw new CoreError('not_exist', `user ${userId} does not exist`);
    });
  }
}

/** Token hashes on PostgreSQL. */
export class PgTokens implements TokenStore {
  constructor(private readonly ctx: PgContext) {}

  insertToken(hash: string, rec: TokenRecord): Promise<void> {
    return this.ctx.write(async (tx) => {
      const now = Date.now();
      // A user that does not exist (yet) gets its token too (Wildfire's); a blocked one none. Expired
      // tokens of this device are dropped as new ones are issued, so the table stays bounded.
      const n = await tx.run(
        `WITH d AS (DELETE FROM tokens WHERE user_id = $2 AND client_id = $3 AND expires_at <= $5)
         INSERT INTO tokens(hash, user_id, client_id, platform, created_at, expires_at)
         SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = $2 AND status = ${UserStatus.blocked})`,
        [hash, rec.userId, rec.clientId, rec.platform, now, rec.expiresAt],
      );
      if (n === 0) throw new CoreError('user_blocked');
    });
  }

  async findToken(hash: string, now: number): Promise<TokenRecord | null> {
    const r = await this.ctx.db.row<{ user_id: string; client_id: string; platform: number; expires_at: number }>(
      'SELECT user_id, client_id, platform, expires_at FROM tokens WHERE hash = $1 AND expires_at > $2',
      [hash, now],
    );
    return r ? { userId: r.user_id, clientId: r.client_id, platform: r.platform, expiresAt: r.expires_at } : null;
  }

  revokeTokens(userId: string, clientId?: string): Promise<number> {
    return this.ctx.write((tx) =>
      clientId === undefined
        ? tx.run('DELETE FROM tokens WHERE user_id = $1', [userId])
        : tx.run('DELETE FROM tokens WHERE user_id = $1 AND client_id = $2', [userId, clientId]),
    );
  }

  async sessionClients(userId: string, now: number): Promise<Array<{ clientId: string; platform: number }>> {
    // Each client once, by client id; its newest live token gives the platform.
    const rows = await this.ctx.db.rows<{ client_id: string; platform: number }>(
      `SELECT DISTINCT ON (client_id COLLATE "C") client_id, platform FROM tokens WHERE user_id = $1 AND expires_at > $2
       ORDER BY client_id COLLATE "C", created_at DESC`,
      [userId, now],
    );
    return rows.map((r) => ({ clientId: r.client_id, platform: r.platform }));
  }
}
