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
import type { SqliteContext } from './context.js';


/** Friends, blacklists and friend requests (tables friends, friend_requests). */
export class SqliteRelations implements RelationStore {
  constructor(private readonly ctx: SqliteContext) {}

  /** The row userId keeps about targetUid (inside a read or a write). */
  relation(userId: string, targetUid: string): FriendRelation | null {
    const r = this.ctx.stmt(`SELECT ${FRIEND_COLS} FROM friends WHERE user_id = ? AND friend_uid = ?`).get(userId, targetUid) as FriendRow | undefined;
    return r ? toRelation(r) : null;
  }

  /** Write one column of userId's row about targetUid, creating the row ("not friends") when missing. */
  private upsert(userId: string, targetUid: string, set: { state?: number; extra?: string; alias?: string; blacked?: number }, now: number): FriendRelation {
    const cur = this.relation(userId, targetUid);
    const row: FriendRelation = {
      userId,
      friendUid: targetUid,
      alias: set.alias ?? cur?.alias ?? '',
      extra: set.extra ?? cur?.extra ?? '',
      state: set.state ?? cur?.state ?? FriendState.none,
      blacked: set.blacked ?? cur?.blacked ?? 0,
      updateDt: now,
    };
    this.ctx
      .stmt(
        `INSERT INTO friends(${FRIEND_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(user_id, friend_uid) DO UPDATE SET alias = excluded.alias, extra = excluded.extra,
           state = excluded.state, blacked = excluded.blacked, updated_at = excluded.updated_at`,
      )
      .run(row.userId, row.friendUid, row.alias, row.extra, row.state, row.blacked, row.updateDt);
    return row;
  }

  setFriendState(userId: string, friendUid: string, state: number, extra: string): Promise<FriendRelation[]> {
    return this.ctx.write(() => {
      const now = Date.now();
      const out = [this.upsert(userId, friendUid, { state, extra }, now)];
      if (state !== 2) {
        const reverse = this.relation(friendUid, userId);
        out.push(this.upsert(friendUid, userId, reverse ? { state } : { state, extra }, now));
      }
      return out;
    });
  }

  setBlacked(userId: string, targetUid: string, blacked: boolean): Promise<FriendRelation> {
    return this.ctx.write(() => this.upsert(userId, targetUid, { blacked: blacked ? 1 : 0 }, Date.now()));
  }

  setAlias(userId: string, targetUid: string, alias: string): Promise<FriendRelation> {
    return this.ctx.write(() => this.upsert(userId, targetUid, { alias }, Date.now()));
  }

  setExtra(userId: string, targetUid: string, extra: string): Promise<FriendRelation> {
    return this.ctx.write(() => this.upsert(userId, targetUid, { extra }, Date.now()));
  }

  getRelation(userId: string, targetUid: string): Promise<FriendRelation | null> {
    return this.ctx.read(() => this.relation(userId, targetUid));
  }

  listRelations(userId: string): Promise<FriendRelation[]> {
    return this.ctx.read(() =>
      (this.ctx.stmt(`SELECT ${FRIEND_COLS} FROM friends WHERE user_id = ?`).all(userId) as FriendRow[])
        .map(toRelation)
        .sort((a, b) => a.updateDt - b.updateDt || (a.friendUid < b.friendUid ? -1 : a.friendUid > b.friendUid ? 1 : 0)),
    );
  }

  addFriendRequest(fromUid: string, toUid: string, reason: string, extra: string, force: boolean, policy: FriendRequestPolicy): Promise<FriendRequest> {
    return this.ctx.write(() => {
      const now = Date.now();
      checkFriendRequest({ last: this.request(fromUid, toUid), mine: this.relation(fromUid, toUid), theirs: this.relation(toUid, fromUid) }, force, now, policy);
      const req: FriendRequest = { fromUid, toUid, reason, extra, status: FriendRequestStatus.sent, updateDt: now };
      this.ctx
        .stmt(
          `INSERT INTO friend_requests(${REQUEST_COLS}) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(from_uid, to_uid) DO UPDATE SET reason = excluded.reason, extra = excluded.extra,
             status = excluded.status, updated_at = excluded.updated_at`,
        )
        .run(fromUid, toUid, reason, extra, req.status, now);
      return req;
    });
  }

  private request(fromUid: string, toUid: string): FriendRequest | null {
    const r = this.ctx.stmt(`SELECT ${REQUEST_COLS} FROM friend_requests WHERE from_uid = ? AND to_uid = ?`).get(fromUid, toUid) as RequestRow | undefined;
    return r ? toRequest(r) : null;
  }

  private setRequestStatus(fromUid: string, toUid: string, status: number, now: number): void {
    this.ctx.stmt('UPDATE friend_requests SET status = ?, updated_at = ? WHERE from_uid = ? AND to_uid = ?').run(status, now, fromUid, toUid);
  }

  answerFriendRequest(userId: string, fromUid: string, accept: boolean, policy: FriendRequestPolicy): Promise<{ request: FriendRequest; relations: FriendRelation[] }> {
    return this.ctx.write(() => {
      const now = Date.now();
      const already = this.relation(userId, fromUid)?.state === FriendState.friend;
      const req = checkFriendAnswer(this.request(fromUid, userId), already, now, policy);
      const status = accept ? FriendRequestStatus.accepted : FriendRequestStatus.rejected;
      this.setRequestStatus(fromUid, userId, status, now);
      const relations: FriendRelation[] = [];
      if (accept) {
        if (this.request(userId, fromUid)?.status === FriendRequestStatus.sent) this.setRequestStatus(userId, fromUid, status, now);
        if (!already) relations.push(this.upsert(userId, fromUid, { state: FriendState.friend }, now), this.upsert(fromUid, userId, { state: FriendState.friend }, now));
      }
      return { request: { ...req, status, updateDt: now }, relations };
    });
  }

  deleteFriend(userId: string, friendUid: string): Promise<FriendRelation[]> {
    return this.ctx.write(() => {
      const now = Date.now();
      const out: FriendRelation[] = [];
      for (const [a, b] of [
        [userId, friendUid],
        [friendUid, userId],
      ] as const) {
        if (this.relation(a, b)) out.push(this.upsert(a, b, { state: FriendState.none }, now));
      }
      return out;
    });
  }

  listFriendRequests(userId: string, limit: number): Promise<FriendRequest[]> {
    return this.ctx.read(() => {
      const sent = this.ctx.stmt(`SELECT ${REQUEST_COLS} FROM friend_requests WHERE from_uid = ? ORDER BY updated_at DESC LIMIT ?`).all(userId, limit) as RequestRow[];
      const received = this.ctx
        .stmt(`SELECT ${REQUEST_COLS} FROM friend_requests WHERE to_uid = ? ORDER BY updated_at DESC LIMIT ?`)
        .all(userId, limit) as RequestRow[];
      // A request to oneself is both sent and received: listed once.
      const all = [...sent, ...received.filter((r) => r.from_uid !== userId)];
      return all
        .map(toRequest)
        .sort((a, b) => b.updateDt - a.updateDt)
        .slice(0, limit);
    });
  }
}

/** The sensitive words (table sensitive_words). */
export class SqliteSensitiveWords implements SensitiveWordStore {
  constructor(private readonly ctx: SqliteContext) {}

  addWords(words: string[], maxWords: number): Promise<number> {
    return this.ctx.write(() => {
      let added = 0;
      for (const w of new Set(words.map((x) => x.toLowerCase()))) {
        if (w === '') continue;
        added += this.ctx.stmt('INSERT INTO sensitive_words(word) VALUES (?) ON CONFLICT(word) DO NOTHING').run(w).changes;
      }
      if (added > 0) {
        const n = (this.ctx.stmt('SELECT COUNT(*) AS n FROM sensitive_words').get() as { n: number }).n;
        // Thrown inside the write: its savepoint rolls the whole call back.
        if (n > maxWords) throw new CoreError('invalid_parameter', `at most ${maxWords} sensitive words`);
      }
      return added;
    });
  }

  removeWords(words: string[]): Promise<number> {
    return this.ctx.write(() => {
      let removed = 0;
      for (const w of new Set(words.map((x) => x.toLowerCase()))) removed += this.ctx.stmt('DELETE FROM sensitive_words WHERE word = ?').run(w).changes;
      return removed;
    });
  }

  listWords(): Promise<string[]> {
    return this.ctx.read(() => (this.ctx.stmt('SELECT word FROM sensitive_words ORDER BY word').all() as Array<{ word: string }>).map((r) => r.word));
  }
}

/** Per-user settings (table user_settings). */
export class SqliteUserSettings implements UserSettingStore {
  constructor(private readonly ctx: SqliteContext) {}

  putSetting(userId: string, scope: number, key: string, value: string, maxPerUser: number): Promise<UserSetting> {
    return this.ctx.write(() => {
      const now = Date.now();
      const known = this.ctx.stmt('SELECT 1 FROM user_settings WHERE user_id = ? AND scope = ? AND key = ?').get(userId, scope, key);
      if (!known) {
        const n = (this.ctx.stmt('SELECT COUNT(*) AS n FROM user_settings WHERE user_id = ?').get(userId) as { n: number }).n;
        if (n >= maxPerUser) throw new CoreError('invalid_parameter', `at most ${maxPerUser} settings per user`);
      }
      this.ctx
        .stmt(
          `INSERT INTO user_settings(user_id, scope, key, value, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(user_id, scope, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        )
        .run(userId, scope, key, value, now);
      return { userId, scope, key, value, updateDt: now };
    });
  }

  getSetting(userId: string, scope: number, key: string): Promise<UserSetting | null> {
    return this.ctx.read(() => {
      const r = this.ctx.stmt('SELECT value, updated_at FROM user_settings WHERE user_id = ? AND scope = ? AND key = ?').get(userId, scope, key) as
        | { value: string; updated_at: number }
        | undefined;
      return r ? { userId, scope, key, value: r.value, updateDt: r.updated_at } : null;
    });
  }

  listSettings(userId: string): Promise<UserSetting[]> {
    return this.ctx.read(() =>
      (
        this.ctx.stmt('SELECT scope, key, value, updated_at FROM user_settings WHERE user_id = ? ORDER BY scope, key').all(userId) as Array<{
          scope: number;
          key: string;
          value: string;
          updated_at: number;
        }>
      ).map((r) => ({ userId, scope: r.scope, key: r.key, value: r.value, updateDt: r.updated_at })),
    );
  }
}
