import type { FriendRelation, FriendRequest } from '../../core/relations.js';

/** The friends and friend_requests tables' row shapes and their mapping, shared by every SQL store. */
export interface FriendRow {
  user_id: string;
  friend_uid: string;
  alias: string;
  extra: string;
  state: number;
  blacked: number;
  updated_at: number;
}

export interface RequestRow {
  from_uid: string;
  to_uid: string;
  reason: string;
  extra: string;
  status: number;
  updated_at: number;
}

export const FRIEND_COLS = 'user_id, friend_uid, alias, extra, state, blacked, updated_at';
export const REQUEST_COLS = 'from_uid, to_uid, reason, extra, status, updated_at';

export function toRelation(r: FriendRow): FriendRelation {
  return { userId: r.user_id, friendUid: r.friend_uid, alias: r.alias, extra: r.extra, state: r.state, blacked: r.blacked, updateDt: r.updated_at };
}

export function toRequest(r: RequestRow): FriendRequest {
  return { fromUid: r.from_uid, toUid: r.to_uid, reason: r.reason, extra: r.extra, status: r.status, updateDt: r.updated_at };
}
