/**
 * A failure with a code. Server-reported failures carry Wildfire's code (251 bad frame, 253 unknown
 * target, 9 not in group, 241 muted, 245 blocked, 250 rate limited…); connection failures carry the
 * close code (4001 unauthorized, 4003 revoked, 1009 frame too big, docs/client-protocol.md); the
 * client's own are 249 (no reply within `requestTimeoutMs`) and 0 (closed by `close()`, or no
 * connection could be made).
 */
export class SwitchboardError extends Error {
  constructor(
    readonly code: number,
    msg: string,
    readonly detail?: string,
  ) {
    super(detail ? `${msg} (${code}): ${detail}` : `${msg} (${code})`);
    this.name = 'SwitchboardError';
  }
}

/** Code of a request that got no reply in time (Wildfire's "timeout"). */
export const TIMEOUT_CODE = 249;
/** Code of a failure the client produced itself: closed by the app, or no socket could be made. */
export const CLIENT_CODE = 0;
