import type { ChatroomEntry, ChatroomMember, ChatroomMembership } from '../core/ports/chatroom-membership.js';

/**
 * The in-process ChatroomMembership: two indexes kept in step (user → entry, room → members in join
 * order). Every method runs synchronously, so each is atomic on the one node it serves; memory is
 * O(members). A cluster replaces it with a shared backend (same contract).
 */
export class MemoryChatroomMembership implements ChatroomMembership {
  private readonly byUser = new Map<string, ChatroomEntry>();
  private readonly byRoom = new Map<string, Map<string, ChatroomMember>>();

  join(chatroomId: string, member: ChatroomMember): Promise<ChatroomEntry | null> {
    const prev = this.drop(member.userId);
    let room = this.byRoom.get(chatroomId);
    if (!room) {
      room = new Map();
      this.byRoom.set(chatroomId, room);
    }
    room.set(member.userId, member);
    this.byUser.set(member.userId, { chatroomId, member });
    return Promise.resolve(prev);
  }

  leave(chatroomId: string, userId: string, session?: string): Promise<ChatroomMember | null> {
    const e = this.byUser.get(userId);
    if (!e || e.chatroomId !== chatroomId || (session !== undefined && e.member.session !== session)) return Promise.resolve(null);
    this.drop(userId);
    return Promise.resolve(e.member);
  }

  of(userId: string): Promise<ChatroomEntry | null> {
    return Promise.resolve(this.byUser.get(userId) ?? null);
  }

  members(chatroomId: string, limit: number): Promise<ChatroomMember[]> {
    const out: ChatroomMember[] = [];
    for (const m of this.byRoom.get(chatroomId)?.values() ?? []) {
      if (out.length >= limit) break;
      out.push(m);
    }
    return Promise.resolve(out);
  }

  count(chatroomId: string): Promise<number> {
    return Promise.resolve(this.byRoom.get(chatroomId)?.size ?? 0);
  }

  clear(chatroomId: string): Promise<ChatroomMember[]> {
    const room = this.byRoom.get(chatroomId);
    if (!room) return Promise.resolve([]);
    this.byRoom.delete(chatroomId);
    const out = [...room.values()];
    for (const m of out) this.byUser.delete(m.userId);
    return Promise.resolve(out);
  }

  /** Remove the user's entry from both indexes; returns it. */
  private drop(userId: string): ChatroomEntry | null {
    const e = this.byUser.get(userId);
    if (!e) return null;
    this.byUser.delete(userId);
    const room = this.byRoom.get(e.chatroomId);
    room?.delete(userId);
    if (room && room.size === 0) this.byRoom.delete(e.chatroomId);
    return e;
  }
}
