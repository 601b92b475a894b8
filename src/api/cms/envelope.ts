import type { FastifyError } from 'fastify';
import { isCoreError } from '../../core/errors.js';

/**
 * The notification centre's failures: one `error_code` (a number), message and HTTP status each,
 * the one place where anything thrown under /v1/cms becomes the seed's envelope
 * `{error_code, msg}`. docs/notifications.md lists them. Success codes are the seed's own (routes.ts).
 */
export const CMS_ERRORS = {
  need_token: [401, 40100, 'need token'],
  invalid_token: [401, 40101, 'invalid or expired token'],
  operator_only: [403, 40300, 'operator token required'],
  notification_not_found: [404, 40400, 'notification not found'],
  message_not_found: [404, 40401, 'message not found'],
  no_route: [404, 40402, 'no such route'],
  invalid_parameter: [400, 40000, 'invalid parameter'],
  unknown_recipients: [400, 40001, 'unknown recipients'],
  invalid_json: [400, 40002, 'body is not valid JSON'],
  already_sent: [409, 40900, 'notification already sent'],
  body_too_large: [413, 41300, 'body too large'],
  unavailable: [503, 50300, 'service unavailable'],
} as const satisfies Record<string, readonly [number, number, string]>;

export type CmsErrorName = keyof typeof CMS_ERRORS;

/** A failure of the surface itself (authentication, a route's own checks): named, with a detail. */
export class CmsError extends Error {
  constructor(
    readonly error: CmsErrorName,
    readonly detail?: string,
  ) {
    super(detail ? `${error}: ${detail}` : error);
    this.name = 'CmsError';
  }
}

export interface CmsEnvelope {
  status: number;
  body: { error_code: number; msg: string };
  /** Our fault (logged). */
  internal: boolean;
}

function env(name: CmsErrorName, detail?: string, internal = false): CmsEnvelope {
  const [status, code, msg] = CMS_ERRORS[name];
  return { status, body: { error_code: code, msg: detail ? `${msg}: ${detail}` : msg }, internal };
}

/**
 * Map anything thrown while serving a request. `notFound` names the 404 of the route's object: the
 * operator's notification routes answer notification_not_found, the inbox routes message_not_found.
 */
export function toCmsEnvelope(err: unknown, notFound: 'notification_not_found' | 'message_not_found'): CmsEnvelope {
  if (err instanceof CmsError) return env(err.error, err.detail);
  if (isCoreError(err)) {
    switch (err.kind) {
      case 'not_exist':
        return err.detail?.startsWith('unknown recipients') ? env('unknown_recipients', err.detail.replace(/^unknown recipients: /, '')) : env(notFound);
      case 'no_right':
        return env('already_sent');
      case 'invalid_parameter':
        return env('invalid_parameter', err.detail);
      case 'token_error':
      case 'user_blocked':
        return env('invalid_token');
      default:
        return env('unavailable', undefined, true);
    }
  }
  const fe = err as Partial<FastifyError> & { validation?: unknown };
  if (fe.validation) return env('invalid_parameter', fe.message);
  if (fe.statusCode === 413 || fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return env('body_too_large');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return env('invalid_parameter', fe.code ?? 'malformed request');
  return env('unavailable', undefined, true);
}
