import type { ErrorKind } from '../core/errors.js';

/**
 * Wildfire's result codes and messages for each core error kind, typos included: existing clients
 * compare them. Shared by the admin API envelope and the WebSocket protocol's error frames.
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
  over_frequency: [250, 'over frequency'],
  not_implement: [254, 'not implement'],
  timeout: [249, 'timeout'],
  server_error: [4, 'server error'],
  sign_missing: [239, 'api not signed or sign parameter not completion'],
  sign_expired: [243, 'sign expired'],
  auth_failure: [244, 'auth failure'],
  replayed: [244, 'auth failure'],
  // The before-send callback's code and text replace these (see codeOf).
  rejected: [242, 'sensitive matched'],
};

/** The code and message to show for an error: a callback's own, or Wildfire's for its kind. */
export function codeOf(kind: ErrorKind, code?: number, detail?: string): readonly [number, string] {
  if (kind === 'rejected' && code !== undefined) return [code, detail ?? WILDFIRE_CODES.rejected[1]];
  return WILDFIRE_CODES[kind];
}
