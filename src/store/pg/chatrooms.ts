import { CoreError } from '../../core/errors.js';
import type { Chatroom, ChatroomBlackEntry } from '../../core/model.js';
import { ChatroomState } from '../../core/model.js';
import type { ChatroomFacts, ChatroomFields, ChatroomStore } from '../../core/ports/store.js';
import { toChatroom, type ChatroomRow } from '../rows/chatrooms.js';
import type { PgContext } from './context.js';
import type { PgTx } from './writer.js';


const COLS = 'id, title, "desc", portrait, extra, state, mute, created_at, updated_at';

async function mustExist(tx: PgTx, chatroomId: string): Promise<void> {
  if (!(await tx.row('SELECT 1 FROM chatrooms WHERE id = $1', [chatroomId]))) throw new CoreError('not_exist', `chatroom ${chatroomId} does not exist`);
}

/** Chatroom records, managers and blacklists on PostgreSQL. */
export class PgChatrooms implements ChatroomStore {
  constructor(private readonly ctx: PgContext) {}

  upsertChatroom(chatroomId: string, f: ChatroomFields): Promise<Chatroom> {
    return this.ctx.write(async (tx) => {
      const now = Date.now();
      // New: every field as given. Existing: non-empty texts overwrite, the state always does.
      const r = await tx.row<ChatroomRow>(
        `INSERT INTO chatrooms(id, title, "desc", portrait, extra, state, mute, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7)
         ON CONFLICT (id) DO UPDATE SET
           title = CASE WHEN EXCLUDED.title <> '' THEN EXCLUDED.title ELSE chatrooms.title END,
           "desc" = CASE WHEN EXCLUDED."desc" <> '' THEN EXCLUDED."desc" ELSE chatrooms."desc" END,
           portrait = CASE WHEN EXCLUDED.portrait <> '' THEN EXCLUDED.portrait ELSE chatrooms.portrait END,
           extra = CASE WHEN EXCLUDED.extra <> '' THEN EXCLUDED.extra ELSE chatrooms.extra END,
           state = EXCLUDED.state,
           updated_at = EXCLUDED.updated_at
         RETURNING ${COLS}`,
        [chatroomId, f.title, f.desc ?? '', f.portrait ?? '', f.extra ?? '', f.state, now],
      );
      return toChatroom(r!);
    });
  }

  endChatroom(chatroomId: string): Promise<boolean> {
    return this.ctx.write(
      async (tx) => (await tx.run('UPDATE chatrooms SET state = $2, updated_at = $3 WHERE id = $1', [chatroomId, ChatroomState.ended, Date.now()])) > 0,
    );
  }

  async getChatroom(chatroomId: string): Promise<Chatroom | null> {
    const r = await this.ctx.db.row<ChatroomRow>(`SELECT ${COLS} FROM chatrooms WHERE id = $1`, [chatroomId]);
    return r ? toChatroom(r) : null;
  }

  /** One statement (one snapshot): the room, its managers and its blacklist. */
  async chatroomFacts(chatroomId: string): Promise<ChatroomFacts | null> {
    const r = await this.ctx.db.row<ChatroomRow & { managers: string[]; blacklist: Array<{ u: string; s: number; e: number }> }>(
      `SELECT ${COLS},
         COALESCE((SELECT array_agg(user_id ORDER BY user_id COLLATE "C") FROM chatroom_managers WHERE chatroom_id = $1), '{}') AS managers,
         COALESCE((SELECT json_agg(json_build_object('u', user_id, 's', state, 'e', expired_at) ORDER BY user_id COLLATE "C")
                     FROM chatroom_blacklist WHERE chatroom_id = $1), '[]') AS blacklist
       FROM chatrooms WHERE id = $1`,
      [chatroomId],
    );
    if (!r) return null;
    const blacklist = r.blacklist.map((b): ChatroomBlackEntry => ({ userId: b.u, state: Number(b.s), expiredTime: Number(b.e) }));
    const { managers, blacklist: _rows, ...room } = r;
    return { chatroom: toChatroom(room), managers, blacklist };
  }

  setBlackStatus(chatroomId: string, userId: string, state: number, expiredTime: number): Promise<void> {
    return this.ctx.write(async (tx) => {
      await mustExist(tx, chatroomId);
      if (state === 0) {
        await tx.run('DELETE FROM chatroom_blacklist WHERE chatroom_id = $1 AND user_id = $2', [chatroomId, userId]);
        return;
      }
      await tx.run(
        `INSERT INTO chatroom_blacklist(chatroom_id, user_id, state, expired_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (chatroom_id, user_id) DO UPDATE SET state = EXCLUDED.state, expired_at = EXCLUDED.expired_at`,
        [chatroomId, userId, state, expiredTime],
      );
    });
  }

  setManager(chatroomId: string, userId: string, on: boolean): Promise<void> {
    return this.ctx.write(async (tx) => {
      await mustExist(tx, chatroomId);
      if (on) await tx.run('INSERT INTO chatroom_managers(chatroom_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [chatroomId, userId]);
      else await tx.run('DELETE FROM chatroom_managers WHERE chatroom_id = $1 AND user_id = $2', [chatroomId, userId]);
    });
  }

  setMute(chatroomId: string, mute: number): Promise<void> {
    return this.ctx.write(async (tx) => {
      if ((await tx.run('UPDATE chatrooms SET mute = $2, updated_at = $3 WHERE id = $1', [chatroomId, mute, Date.now()])) === 0) {
        throw new CoreError('not_exist', `chatroom ${chatroomId} does not exist`);
      }
    });
  }
}
