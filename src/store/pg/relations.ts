import { CoreError } from '../../core/errors.js';
import {
  checkFriendAnswer,
  checkFriendRequest,
  FriendRequestStatus,
  FriendState,
  type FriendRelation,
  type FriendRequest,
  type FriendRequestPolicy,
  type UserSetting,
} from '../../core/relations.js';
import type { RelationStore, SensitiveWordStore, UserSettingStore } from '../../core/ports/store.js';
import { FRIEND_COLS, REQUEST_COLS, toRelation, toRequest, type FriendRow, type RequestRow } from '../rows/relations.js';
import type { PgContext } from './context.js';
import type { Queryable } from './pool.js';


/** The row userId keeps about targetUid (inside a read or a command). */
export async function relationOf(q: Queryable, userId: string, targetUid: string): Promise<FriendRelation | null> {
  const r = await q.row<FriendRow>(`SELECT ${FRIEND_COLS} FROM friends WHERE user_id = $1 AND friend_uid = $2`, [userId, targetUid]);
  return r ? toRelation(r) : null;
}

async function requestOf(q: Queryable, fromUid: string, toUid: string): Promise<FriendRequest | null> {
  const r = await q.row<RequestRow>(`SELECT ${REQUEST_COLS} FROM friend_requests WHERE from_uid = $1 AND to_uid = $2`, [fromUid, toUid]);
  return r ? toRequest(r) : null;
}

/**
 * Inside a command: write the given columns of userId's row about targetUid, creating the row ("not
 * friends", empty texts, not blacked) when missing. One statement.
 */
async function upsert(
  q: Queryable,
  userId: string,
  targetUid: string,
  set: { state?: number; extra?: string; alias?: string; blacked?: number },
  now: number,
): Promise<FriendRelation> {
  const r = await q.row<FriendRow>(
    `INSERT INTO friends(${FRIEND_COLS}) VALUES ($1, $2, COALESCE($3::text, ''), COALESCE($4::text, ''), COALESCE($5::bigint, ${FriendState.none}), COALESCE($6::bigint, 0), $7)
     ON CONFLICT (user_id, friend_uid) DO UPDATE SET alias = COALESCE($3::text, friends.alias), extra = COALESCE($4::text, friends.extra),
       state = COALESCE($5::bigint, friends.state), blacked = COALESCE($6::bigint, friends.blacked), updated_at = $7
     RETURNING ${FRIEND_COLS}`,
    [userId, targetUid, set.alias ?? null, set.extra ?? null, set.state ?? null, set.blacked ?? null, now],
  );
  return toRelation(r!);
}

function byFriendUid(a: FriendRelation, b: FriendRelation): number {
  return a.updateDt - b.updateDt || (a.friendUid < b.friendUid ? -1 : a.friendUid > b.friendUid ? 1 : 0);
}

/** Friends, blacklists and friend requests (tables friends, friend_requests) on PostgreSQL. */
export class PgRelations implements RelationStore {
  constructor(private readonly ctx: PgContext) {}

  setFriendState(userId: string, friendUid: string, state: number, extra: string): Promise<FriendRelation[]> {
    return this.ctx.write(async (tx) => {
      const now = Date.now();
      const out = [await upsert(tx, userId, friendUid, { state, extra }, now)];
      if (state !== 2) {
        // The reverse row takes the state; `extra` only when it is created.
        const r = await tx.row<FriendRow>(
          `INSERT INTO friends(${FRIEND_COLS}) VALUES ($1, $2, '', $3, $4, 0, $5)
           ON CONFLICT (user_id, friend_uid) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
           RETURNING ${FRIEND_COLS}`,
          [friendUid, userId, extra, state, now],
        );
        out.push(toRelation(r!));
      }
      return out;
    });
  }

  setBlacked(userId: string, targetUid: string, blacked: boolean): Promise<FriendRelation> {
    return this.ctx.write((tx) => upsert(tx, userId, targetUid, { blacked: blacked ? 1 : 0 }, Date.now()));
  }

  setAlias(userId: string, targetUid: string, alias: string): Promise<FriendRelation> {
    return this.ctx.write((tx) => upsert(tx, userId, targetUid, { alias }, Date.now()));
  }

  setExtra(userId: string, targetUid: string, extra: string): Promise<FriendRelation> {
    return this.ctx.write((tx) => upsert(tx, userId, targetUid, { extra }, Date.now()));
  }

  getRelation(userId: string, targetUid: string): Promise<FriendRelation | null> {
    return relationOf(this.ctx.db, userId, targetUid);
  }

  async listRelations(userId: string): Promise<FriendRelation[]> {
    return (await this.ctx.db.rows<FriendRow>(`SELECT ${FRIEND_COLS} FROM friends WHERE user_id = $1`, [userId])).map(toRelation).sort(byFriendUid);
  }

  addFriendRequest(fromUid: string, toUid: string, reason: string, extra: string, force: boolean, policy: FriendRequestPolicy): Promise<FriendRequest> {
    return this.ctx.write(async (tx) => {
      const now = Date.now();
      const facts = { last: await requestOf(tx, fromUid, toUid), mine: await relationOf(tx, fromUid, toUid), theirs: await relationOf(tx, toUid, fromUid) };
      checkFriendRequest(facts, force, now, policy);
      const req: FriendRequest = { fromUid, toUid, reason, extra, status: FriendRequestStatus.sent, updateDt: now };
      await tx.run(
        `INSERT INTO friend_requests(${REQUEST_COLS}) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (from_uid, to_uid) DO UPDATE SET reason = EXCLUDED.reason, extra = EXCLUDED.extra,
           status = EXCLUDED.status, updated_at = EXCLUDED.updated_at`,
        [fromUid, toUid, reason, extra, req.status, now],
      );
      return req;
    });
  }

  answerFriendRequest(userId: string, fromUid: string, accept: boolean, policy: FriendRequestPolicy): Promise<{ request: FriendRequest; relations: FriendRelation[] }> {
    return this.ctx.write(async (tx) => {
      const now = Date.now();
      const already = (await relationOf(tx, userId, fromUid))?.state === FriendState.friend;
      const req = checkFriendAnswer(await requestOf(tx, fromUid, userId), already, now, policy);
      const status = accept ? FriendRequestStatus.accepted : FriendRequestStatus.rejected;
      const setStatus = (from: string, to: string, onlySent: boolean): Promise<number> =>
        tx.run(`UPDATE friend_requests SET status = $3, updated_at = $4 WHERE from_uid = $1 AND to_uid = $2${onlySent ? ` AND status = ${FriendRequestStatus.sent}` : ''}`, [
          from,
          to,
          status,
          now,
        ]);
      await setStatus(fromUid, userId, false);
      const relations: FriendRelation[] = [];
      if (accept) {
        // userId's own pending request to fromUid is answered too.
        await setStatus(userId, fromUid, true);
        if (!already) relations.push(await upsert(tx, userId, fromUid, { state: FriendState.friend }, now), await upsert(tx, fromUid, userId, { state: FriendState.friend }, now));
      }
      return { request: { ...req, status, updateDt: now }, relations };
    });
  }

  deleteFriend(userId: string, friendUid: string): Promise<FriendRelation[]> {
    return this.ctx.write(async (tx) => {
      // Existing rows only, userId's first.
      const rows = await tx.rows<FriendRow>(
        `UPDATE friends SET state = ${FriendState.none}, updated_at = $3
          WHERE (user_id = $1 AND friend_uid = $2) OR (user_id = $2 AND friend_uid = $1) RETURNING ${FRIEND_COLS}`,
        [userId, friendUid, Date.now()],
      );
      const out = rows.map(toRelation).sort((a, b) => (a.userId === userId ? 0 : 1) - (b.userId === userId ? 0 : 1));
      // One row when userId is friendUid: SQLite writes it twice and returns it twice.
      return userId === friendUid ? [...out, ...out] : out;
    });
  }

  async listFriendRequests(userId: string, limit: number): Promise<FriendRequest[]> {
    // One statement (one snapshot); a request to oneself is both sent and received: listed once.
    const rows = await this.ctx.db.rows<RequestRow & { part: number }>(
      `(SELECT ${REQUEST_COLS}, 0 AS part FROM friend_requests WHERE from_uid = $1 ORDER BY updated_at DESC LIMIT $2)
       UNION ALL
       (SELECT ${REQUEST_COLS}, 1 FROM friend_requests WHERE to_uid = $1 AND from_uid <> $1 ORDER BY updated_at DESC LIMIT $2)`,
      [userId, limit],
    );
    const all = [...rows.filter((r) => r.part === 0), ...rows.filter((r) => r.part === 1)];
    return all
      .map(toRequest)
      .sort((a, b) => b.updateDt - a.updateDt)
      .slice(0, limit);
  }
}

/** The sensitive words (table sensitive_words) on PostgreSQL. */
export class PgSensitiveWords implements SensitiveWordStore {
  constructor(private readonly ctx: PgContext) {}

  addWords(words: string[], maxWords: number): Promise<number> {
    return this.ctx.write(async (tx) => {
      const fresh = [...new Set(words.map((x) => x.toLowerCase()))].filter((w) => w !== '');
      if (fresh.length === 0) return 0;
      const added = await tx.run('INSERT INTO sensitive_words(word) SELECT unnest($1::text[]) ON CONFLICT (word) DO NOTHING', [fresh]);
      if (added > 0) {
        const n = (await tx.row<{ n: number }>('SELECT COUNT(*) AS n FROM sensitive_words'))!.n;
        // Thrown inside the write: its savepoint rolls the whole call back.
        if (n > maxWords) throw new CoreError('invalid_parameter', `at most ${maxWords} sensitive words`);
      }
      return added;
    });
  }

  removeWords(words: string[]): Promise<number> {
    return this.ctx.write((tx) => tx.run('DELETE FROM sensitive_words WHERE word = ANY($1::text[])', [[...new Set(words.map((x) => x.toLowerCase()))]]));
  }

  async listWords(): Promise<string[]> {
    return (await this.ctx.db.rows<{ word: string }>('SELECT word FROM sensitive_words ORDER BY word COLLATE "C"')).map((r) => r.word);
  }
}

/** Per-user settings (table user_settings) on PostgreSQL. */
export class PgUserSettings implements UserSettingStore {
  constructor(private readonly ctx: PgContext) {}

  putSetting(userId: string, scope: number, key: string, value: string, maxPerUser: number): Promise<UserSetting> {
    return this.ctx.write(async (tx) => {
      const now = Date.now();
      const facts = (await tx.row<{ known: boolean; n: number }>(
        `SELECT EXISTS (SELECT 1 FROM user_settings WHERE user_id = $1 AND scope = $2 AND key = $3) AS known,
                (SELECT COUNT(*) FROM user_settings WHERE user_id = $1) AS n`,
        [userId, scope, key],
      ))!;
      if (!facts.known && facts.n >= maxPerUser) throw new CoreError('invalid_parameter', `at most ${maxPerUser} settings per user`);
      await tx.run(
        `INSERT INTO user_settings(user_id, scope, key, value, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id, scope, key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
        [userId, scope, key, value, now],
      );
      return { userId, scope, key, value, updateDt: now };
    });
  }

  async getSetting(userId: string, scope: number, key: string): Promise<UserSetting | null> {
    const r = await this.ctx.db.row<{ value: string; updated_at: number }>('SELECT value, updated_at FROM user_settings WHERE user_id = $1 AND scope = $2 AND key = $3', [
      userId,
      scope,
      key,
    ]);
    return r ? { userId, scope, key, value: r.value, updateDt: r.updated_at } : null;
  }

  async listSettings(userId: string): Promise<UserSetting[]> {
    const rows = await this.ctx.db.rows<{ scope: number; key: string; value: string; updated_at: number }>(
      'SELECT scope, key, value, updated_at FROM user_settings WHERE user_id = $1 ORDER BY scope, key COLLATE "C"',
      [userId],
    );
    return rows.map((r) => ({ userId, scope: r.scope, key: r.key, value: r.value, updateDt: r.updated_at }));
  }
}
