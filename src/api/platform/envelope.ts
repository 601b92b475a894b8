import type { FastifyError } from 'fastify';
import { ParentMissingError } from '../../core/channel-apps/inbound.js';
import { isCoreError } from '../../core/errors.js';

/**
 * The one place where errors become seed 000's envelope `{Code, Message}` (docs/channel-gateway.md,
 * "Seed 000 codes"). The reference's processing codes: 1200001 (processing failed) and 1200002 (the
 * parent message does not exist: send it first), with HTTP 500; a caller's own mistakes answer 4xx
 * with 1200001 so that apps do not retry them; authentication failures their HTTP status as Code.
 */
export const PROCESSING_FAILED = 1200001;
export const PARENT_MISSING = 1200002;

/** The platform key or the address allow-list refused the call (nothing was done). */
export class PlatformAuthError extends Error {
  constructor(
    readonly status: 401 | 403,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'PlatformAuthError';
  }
}

export interface PlatformReply {
  status: number;
  body: { Code: number; Message: string };
  /** Our fault: logged as an error. */
  internal: boolean;
}

export function toPlatformReply(err: unknown): PlatformReply {
  if (err instanceof PlatformAuthError) return { status: err.status, body: { Code: err.status, Message: err.reason }, internal: false };
  if (err instanceof ParentMissingError) return { status: 500, body: { Code: PARENT_MISSING, Message: err.message }, internal: false };
  if (isCoreError(err)) {
    const msg = err.detail ?? err.kind;
    switch (err.kind) {
      case 'invalid_parameter':
        return { status: 400, body: { Code: PROCESSING_FAILED, Message: msg }, internal: false };
      case 'not_exist':
        return { status: 404, body: { Code: PROCESSING_FAILED, Message: msg }, internal: false };
      case 'no_right':
      case 'user_blocked':
        return { status: 403, body: { Code: PROCESSING_FAILED, Message: msg }, internal: false };
      case 'timeout':
        return { status: 504, body: { Code: PROCESSING_FAILED, Message: msg }, internal: false };
      default:
        return { status: 500, body: { Code: PROCESSING_FAILED, Message: err.kind === 'server_error' ? 'processing failed' : msg }, internal: err.kind === 'server_error' };
    }
  }
  const fe = err as Partial<FastifyError> & { validation?: unknown };
  if (fe.validation) return { status: 400, body: { Code: PROCESSING_FAILED, Message: fe.message ?? 'invalid body' }, internal: false };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: { Code: PROCESSING_FAILED, Message: fe.code ?? 'bad request' }, internal: false };
  }
  return { status: 500, body: { Code: PROCESSING_FAILED, Message: 'processing failed' }, internal: true };
}
