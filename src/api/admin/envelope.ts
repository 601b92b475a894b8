import type { FastifyError } from 'fastify';
import type { ErrorKind } from '../../core/errors.js';
import { isCoreError } from '../../core/errors.js';

/**
 * The one place where errors become Wildfire's envelope `{code, msg}` (HTTP 200). Codes and messages
 * are Wildfire's, typos included: existing clients compare them.
 */
export const OK_MSG = 'success';

export const WILDFIRE_CODES: Record<ErrorKind, readonly [number, string]> = {
  invalid_parameter: [251, 'Invalid parameter'],
  not_exist: [253, 'not exist'],
  not_in_group: [9, 'not in group'],
  not_in_channel: [21, 'not in channel'],
  group_muted: [241, 'group is muted'],
  user_blocked: [245, 'user is blocked'],
  no_right: [248, 'no right to operate'],
  group_already_exist: [11, 'group already exist'],
  group_full: [240, 'group exceed max member count'],
  // Wildfire answers a duplicate user name with code 4 and this exception text.
  name_taken: [4, '用户名不能重复，必须唯一！！！'],
  token_error: [6, 'token error'],
  over_frequency: [250, 'over frequency'],
  not_implement: [254, 'not implement'],
  timeout: [249, 'timeout'],
  server_error: [4, 'server error'],
  sign_missing: [239, 'api not signed or sign parameter not completion'],
  sign_expired: [243, 'sign expired'],
  auth_failure: [244, 'auth failure'],
  replayed: [244, 'auth failure'],
};

export interface ErrorEnvelope {
  code: number;
  msg: string;
  /** Not on the wire body: a short explanation sent as the X-Switchboard-Error header. */
  detail?: string | undefined;
  /** True for failures that are our fault (logged as errors). */
  internal: boolean;
}

/** Map anything thrown while serving an admin request to its envelope. */
export function toEnvelope(err: unknown): ErrorEnvelope {
  if (isCoreError(err)) {
    const [code, msg] = WILDFIRE_CODES[err.kind];
    return { code, msg, detail: err.detail ?? err.kind, internal: err.kind === 'server_error' };
  }
  const fe = err as Partial<FastifyError> & { validation?: unknown };
  if (fe.validation) {
    return { code: 251, msg: 'Invalid parameter', detail: fe.message, internal: false };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Body too large, bad content length, unsupported media type, malformed JSON…
    return { code: 251, msg: 'Invalid parameter', detail: fe.code ?? fe.message, internal: false };
  }
  return { code: 4, msg: 'server error', detail: 'server error', internal: true };
}
