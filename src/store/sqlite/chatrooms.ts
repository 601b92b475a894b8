import { CoreError } from '../../core/errors.js';
import type { Chatroom, ChatroomBlackEntry } from '../../core/model.js';
import { ChatroomState } from '../../core/model.js';
import type { ChatroomFacts, ChatroomFields, ChatroomStore } from '../../core/ports/store.js';
import { toChatroom, type ChatroomRow } from '../rows/chatrooms.js';
import type { SqliteContext } from './context.js';


const ROW = 'SELECT id, title, "desc", portrait, extra, state, mute, created_at, updated_at FROM chatrooms WHERE id = ?';

export class SqliteChatrooms implements ChatroomStore {
  constructor(private readonly ctx: SqliteContext) {}

  private row(chatroomId: string): ChatroomRow | undefined {
    return this.ctx.stmt(ROW).get(chatroomId) as ChatroomRow | undefined;
  }

  private mustExist(chatroomId: string): void {
    if (!this.ctx.stmt('SELECT 1 FROM chatrooms WHERE id = ?').get(chatroomId)) throw new CoreError('not_exist', `chatroom ${chatroomId} does not exist`);
  }

  upsertChatroom(chatroomId: string, f: ChatroomFields): Promise<Chatroom> {
    return this.ctx.write(() => {
      const now = Date.now();
      // New: every field as given. Existing: non-empty texts overwrite, the state always does.
      this.ctx
        .stmt(
          `INSERT INTO chatrooms(id, title, "desc", portrait, extra, state, mute, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)
           ON CONFLICT(id) DO UPDATE SET
             title = CASE WHEN excluded.title <> '' THEN excluded.title ELSE title END,
             "desc" = CASE WHEN excluded."desc" <> '' THEN excluded."desc" ELSE "desc" END,
             portrait = CASE WHEN excluded.portrait <> '' THEN excluded.portrait ELSE portrait END,
             extra = CASE WHEN excluded.extra <> '' THEN excluded.extra ELSE extra END,
             state = excluded.state,
             updated_at = excluded.updated_at`,
        )
        .run(chatroomId, f.title, f.desc ?? '', f.portrait ?? '', f.extra ?? '', f.state, now, now);
      return toChatroom(this.row(chatroomId)!);
    });
  }

  endChatroom(chatroomId: string): Promise<boolean> {
    return this.ctx.write(
      () => this.ctx.stmt('UPDATE chatrooms SET state = ?, updated_at = ? WHERE id = ?').run(ChatroomState.ended, Date.now(), chatroomId).changes > 0,
    );
  }

  getChatroom(chatroomId: string): Promise<Chatroom | null> {
    return this.ctx.read(() => {
      const r = this.row(chatroomId);
      return r ? toChatroom(r) : null;
    });
  }

  chatroomFacts(chatroomId: string): Promise<ChatroomFacts | null> {
    return this.ctx.read(() => {
      const r = this.row(chatroomId);
      if (!r) return null;
      const managers = (this.ctx.stmt('SELECT user_id FROM chatroom_managers WHERE chatroom_id = ?').all(chatroomId) as Array<{ user_id: string }>).map(
        (m) => m.user_id,
      );
      const blacklist = (
        this.ctx.stmt('SELECT user_id, state, expired_at FROM chatroom_blacklist WHERE chatroom_id = ?').all(chatroomId) as Array<{
          user_id: string;
          state: number;
          expired_at: number;
        }>
      ).map((b): ChatroomBlackEntry => ({ userId: b.user_id, state: b.state, expiredTime: b.expired_at }));
      return { chatroom: toChatroom(r), managers, blacklist };
    });
  }

  setBlackStatus(chatroomId: string, userId: string, state: number, expiredTime: number): Promise<void> {
    return this.ctx.write(() => {
      this.mustExist(chatroomId);
      if (state === 0) {
        this.ctx.stmt('DELETE FROM chatroom_blacklist WHERE chatroom_id = ? AND user_id = ?').run(chatroomId, userId);
        return;
      }
      this.ctx
        .stmt(
          `INSERT INTO chatroom_blacklist(chatroom_id, user_id, state, expired_at) VALUES (?, ?, ?, ?)
           ON CONFLICT(chatroom_id, user_id) DO UPDATE SET state = excluded.state, expired_at = excluded.expired_at`,
        )
        .run(chatroomId, userId, state, expiredTime);
    });
  }

  setManager(chatroomId: string, userId: string, on: boolean): Promise<void> {
    return this.ctx.write(() => {
      this.mustExist(chatroomId);
      if (on) this.ctx.stmt('INSERT OR IGNORE INTO chatroom_managers(chatroom_id, user_id) VALUES (?, ?)').run(chatroomId, userId);
      else this.ctx.stmt('DELETE FROM chatroom_managers WHERE chatroom_id = ? AND user_id = ?').run(chatroomId, userId);
    });
  }

  setMute(chatroomId: string, mute: number): Promise<void> {
    return this.ctx.write(() => {
      if (this.ctx.stmt('UPDATE chatrooms SET mute = ?, updated_at = ? WHERE id = ?').run(mute, Date.now(), chatroomId).changes === 0) {
        throw new CoreError('not_exist', `chatroom ${chatroomId} does not exist`);
      }
    });
  }
}
