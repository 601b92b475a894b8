import { isCoreError } from '../../core/errors.js';

/**
 * Seed 002's reply codes (docs/channel-gateway.md, "Seed 002 codes"), always HTTP 200 with
 * `{errcode, errmsg}`. 0 and 30001…30005 are the reference server's; 30006…30010 are Switchboard's,
 * in the same range.
 */
export const StaffCode = {
  ok: 0,
  /** `signature` or `timestamp` missing from the query. */
  missingParameter: 30001,
  /** No app (with a secret) for the appid of the path, or the app is not a 002 app. */
  unknownApp: 30002,
  /** The signature is not lowercase_hex(sha1(appid + appsecret + timestamp)). */
  badSignature: 30003,
  /** Internal failure (the message may not have been stored; retry). */
  internal: 30004,
  /** The body is not a JSON object (or is larger than the body limit). */
  badJson: 30005,
  /** The timestamp is not a number of ms or s within channelGateway.signatureWindowMs of the server clock. */
  staleTimestamp: 30006,
  /** A required body field is missing, has the wrong type or is too long. */
  invalidBody: 30007,
  /** No such account of the app (`accname`), the app has no account, or the account is disabled. */
  unknownAccount: 30008,
  /** The app is disabled (status ≠ 0). */
  appDisabled: 30009,
  /** No such route. */
  notFound: 30010,
} as const;

const MESSAGES: Record<number, string> = {
  0: 'ok',
  30001: 'missing parameter: signature and timestamp are required',
  30002: 'unknown appid',
  30003: 'signature check failed',
  30004: 'internal error',
  30005: 'body is not valid JSON',
  30006: 'timestamp out of the accepted window',
  30007: 'invalid body',
  30008: 'unknown or disabled channel account',
  30009: 'app disabled',
  30010: 'not found',
};

/** A refusal of the surface itself (signature, body, window), with its code. */
export class StaffError extends Error {
  constructor(
    readonly code: number,
    readonly detail?: string,
  ) {
    super(detail ?? MESSAGES[code] ?? 'error');
    this.name = 'StaffError';
  }
}

export interface StaffReply {
  body: { errcode: number; errmsg: string };
  internal: boolean;
}

export function ok(): StaffReply {
  return { body: { errcode: 0, errmsg: 'ok' }, internal: false };
}

/** The one place where anything thrown becomes `{errcode, errmsg}`. */
export function toStaffReply(err: unknown): StaffReply {
  if (err instanceof StaffError) {
    const base = MESSAGES[err.code] ?? 'error';
    return { body: { errcode: err.code, errmsg: err.detail ? `${base}: ${err.detail}` : base }, internal: false };
  }
  if (isCoreError(err)) {
    switch (err.kind) {
      case 'invalid_parameter':
        return { body: { errcode: StaffCode.invalidBody, errmsg: `${MESSAGES[30007]}: ${err.detail ?? ''}` }, internal: false };
      case 'not_exist':
      case 'no_right':
        return { body: { errcode: StaffCode.unknownAccount, errmsg: `${MESSAGES[30008]}: ${err.detail ?? ''}` }, internal: false };
      default:
        return { body: { errcode: StaffCode.internal, errmsg: MESSAGES[30004]! }, internal: err.kind === 'server_error' };
    }
  }
  return { body: { errcode: StaffCode.internal, errmsg: MESSAGES[30004]! }, internal: true };
}
