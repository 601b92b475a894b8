import type { Channel, Group, GroupMember } from '../../core/model.js';
import type { GroupFields } from '../../core/ports/store.js';

/** The groups, group_members and channels tables' row shapes and mappers, shared by every SQL store. */

export interface GroupRow {
  id: string;
  name: string;
  portrait: string;
  owner: string;
  type: number;
  extra: string;
  mute: number;
  join_type: number;
  private_chat: number;
  searchable: number;
  history_message: number;
  max_member_count: number;
  member_count: number;
  updated_at: number;
  /** The number of the group's latest message (Tencent's MsgSeq; 0 before the first). */
  msg_seq: number;
}

export interface MemberRow {
  user_id: string;
  alias: string;
  type: number;
  extra: string;
  created_at: number;
}

export function toGroup(r: GroupRow): Group {
  return {
    groupId: r.id,
    name: r.name,
    portrait: r.portrait,
    owner: r.owner,
    type: r.type,
    extra: r.extra,
    mute: r.mute,
    joinType: r.join_type,
    privateChat: r.private_chat,
    searchable: r.searchable,
    historyMessage: r.history_message,
    maxMemberCount: r.max_member_count,
    memberCount: r.member_count,
    updateDt: r.updated_at,
  };
}

export function toMember(r: MemberRow): GroupMember {
  return { memberId: r.user_id, alias: r.alias, type: r.type, extra: r.extra, createDt: r.created_at };
}

/** GroupFields key → column (a fixed list: the only names ever put in SQL text). */
export const GROUP_COLUMNS: Record<keyof GroupFields, string> = {
  name: 'name',
  portrait: 'portrait',
  owner: 'owner',
  type: 'type',
  extra: 'extra',
  mute: 'mute',
  joinType: 'join_type',
  privateChat: 'private_chat',
  searchable: 'searchable',
  historyMessage: 'history_message',
  maxMemberCount: 'max_member_count',
};

export interface ChannelRow {
  id: string;
  name: string;
  owner: string;
  portrait: string;
  description: string;
  extra: string;
  secret: string;
  callback: string;
  automatic: number;
  state: number;
  subscriber_count: number;
  updated_at: number;
}

export function toChannel(r: ChannelRow): Channel {
  return {
    channelId: r.id,
    name: r.name,
    owner: r.owner,
    portrait: r.portrait,
    desc: r.description,
    extra: r.extra,
    secret: r.secret,
    callback: r.callback,
    automatic: r.automatic,
    state: r.state,
    updateDt: r.updated_at,
  };
}
