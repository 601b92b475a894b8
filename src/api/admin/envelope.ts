import type { FastifyError } from 'fastify';
import { isCoreError } from '../../core/errors.js';
import { codeOf, WILDFIRE_CODES } from '../../core/codes.js';
import { AdminAuthError } from './signing.js';

/**
 * The one place where errors become Wildfire's envelope `{code, msg}` (HTTP 200), with the codes and
 * messages of core/codes.ts, and the admin signature's own failures (AdminAuthError).
 */
export const OK_MSG = 'success';

export { WILDFIRE_CODES };

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
  if (err instanceof AdminAuthError) return { code: err.code, msg: err.msg, detail: err.reason, internal: false };
  if (isCoreError(err)) {
    const [code, msg] = codeOf(err.kind, err.code, err.detail);
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
