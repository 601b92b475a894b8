import type { Chatroom } from '../../core/model.js';

/** The chatrooms table's row shape and mapper, shared by every SQL store. */
export interface ChatroomRow {
  id: string;
  title: string;
  desc: string;
  portrait: string;
  extra: string;
  state: number;
  mute: number;
  created_at: number;
  updated_at: number;
}

export function toChatroom(r: ChatroomRow): Chatroom {
  return {
    chatroomId: r.id,
    title: r.title,
    desc: r.desc,
    portrait: r.portrait,
    extra: r.extra,
    state: r.state,
    mute: r.mute,
    createDt: r.created_at,
    updateDt: r.updated_at,
  };
}
