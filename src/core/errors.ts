/**
 * The one error type of the core. Every failure a caller may see is a CoreError with a stable
 * `kind` (stable codes in codes.ts); each API surface maps kinds to its own envelope in exactly one
 * place (admin: src/api/admin/envelope.ts). Failures of a surface's own authentication are the
 * surface's errors, not kinds of the core. Anything else thrown is a bug and is reported as a
 * server error without leaking its text.
 */
export type ErrorKind =
  | 'invalid_parameter' // malformed or missing input
  | 'not_exist' // unknown user, group, channel, message
  | 'not_in_group' // sender is not a member of the group
  | 'not_in_channel' // sender neither owns nor subscribes to the channel
  | 'not_in_chatroom' // the sending device is not in the chatroom
  | 'group_muted' // group is muted, or the member is silenced
  | 'user_blocked' // sender (or token owner) is blocked
  | 'no_right' // the operation is not allowed on this object (e.g. remove the owner)
  | 'group_already_exist'
  | 'group_full' // more members than the group allows
  | 'name_taken' // a user name already belongs to another user
  | 'token_error' // unknown, expired or revoked token
  | 'in_blacklist' // the receiver (or the request's target) has the sender on its blacklist
  | 'already_friends' // a friend request to a friend
  | 'already_requested' // a friend request repeated while the last one is pending
  | 'friend_request_blocked' // a friend request repeated too soon after a rejection
  | 'friend_request_expired' // answering a friend request older than the expiration
  | 'sensitive_matched' // a device message contains a sensitive word (filter mode reject)
  | 'over_frequency'
  | 'not_implement'
  | 'timeout'
  | 'server_error'
  | 'robot_no_token' // a robot (user type 1) has no device token: it answers through the admin API
  | 'conference_unavailable' // conference routes: Switchboard has no media server
  // refused by a before-send hook, with the hook's own code
  | 'rejected';

export class CoreError extends Error {
  readonly kind: ErrorKind;
  /** Safe to show to the caller: never contains secrets or internal state. */
  readonly detail: string | undefined;
  /** A code chosen outside the core (a before-send callback's), shown to the caller as is. */
  readonly code: number | undefined;

  constructor(kind: ErrorKind, detail?: string, code?: number) {
    super(detail ? `${kind}: ${detail}` : kind);
    this.name = 'CoreError';
    this.kind = kind;
    this.detail = detail;
    this.code = code;
  }
}

export function isCoreError(e: unknown): e is CoreError {
  return e instanceof CoreError;
}

export const invalid = (detail: string): CoreError => new CoreError('invalid_parameter', detail);
export const notExist = (detail: string): CoreError => new CoreError('not_exist', detail);
