import type { ErrorKind } from './errors.js';

/**
 * The stable result code and message of each core error kind: Wildfire's (seed 001), typos included,
 * because existing clients compare them. Used as they are by the admin API's envelope and the device
 * protocol's error frames; other surfaces map kinds to their own codes in their own envelope.
 */
export const WILDFIRE_CODES: Record<ErrorKind, readonly [number, string]> = {
  invalid_parameter: [251, 'Invalid parameter'],
  not_exist: [253, 'not exist'],
  not_in_group: [9, 'not in group'],
  not_in_channel: [21, 'not in channel'],
  not_in_chatroom: [20, 'not in chatroom'],
  group_muted: [241, 'group is muted'],
  user_blocked: [245, 'user is blocked'],
  no_right: [248, 'no right to operate'],
  group_already_exist: [11, 'group already exist'],
  group_full: [240, 'group exceed max member count'],
  // Wildfire answers a duplicate user name with code 4 and this exception text.
  name_taken: [4, '用户名不能重复，必须唯一！！！'],
  token_error: [6, 'token error'],
  in_blacklist: [246, 'user in black list'],
  already_friends: [23, 'already friends'],
  already_requested: [16, 'already send request'],
  friend_request_blocked: [18, 'friend request blocked'],
  friend_request_expired: [19, 'friend request expired'],
  sensitive_matched: [242, 'sensitive matched'],
  over_frequency: [250, 'over frequency'],
  not_implement: [254, 'not implement'],
  timeout: [249, 'timeout'],
  server_error: [4, 'server error'],
  robot_no_token: [27, 'robot no token'],
  conference_unavailable: [61, 'conference service not available'],
  // The before-send callback's code and text replace these (see codeOf).
  rejected: [242, 'sensitive matched'],
};

/** The code and message to show for an error: a callback's own, or Wildfire's for its kind. */
export function codeOf(kind: ErrorKind, code?: number, detail?: string): readonly [number, string] {
  if (kind === 'rejected' && code !== undefined) return [code, detail ?? WILDFIRE_CODES.rejected[1]];
  return WILDFIRE_CODES[kind];
}
