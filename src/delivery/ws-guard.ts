import type { WebSocket } from 'ws';
import type { Logger } from '../log.js';

/**
 * How long a socket the server closed may take to finish the closing handshake before it is cut off.
 * Until then its frames are still parsed (bounded by maxPayload each), so a peer that never answers
 * the close costs at most this long.
 */
export const CLOSING_HANDSHAKE_MS = 5000;

/**
 * Give a WebSocket an 'error' listener. `ws` reports every frame it rejects (reserved opcode, RSV1,
 * unmasked, bad close code, oversized control frame, invalid UTF-8, over maxPayload…) as an 'error'
 * event, also after a close it started; an EventEmitter with no 'error' listener throws, which would
 * end the process. Call it before anything else on every socket `ws` hands over: the receiver only
 * parses on a later 'data' event, so nothing can be emitted before a listener added synchronously in
 * the handleUpgrade callback. `ws` itself closes the socket (1002/1007/1009) after such an error.
 */
export function guard(ws: WebSocket, log: Logger): void {
  ws.on('error', (err: Error & { code?: string }) => {
    log.debug({ code: err.code, msg: err.message }, 'websocket peer error');
  });
}

/**
 * Close with `code` — a refused socket (token, cursor), one closed at shutdown, on an internal error,
 * or any connection the server ends — and cut it off if the peer does not complete the closing
 * handshake within CLOSING_HANDSHAKE_MS (instead of `ws`'s 30 s). Never throws.
 */
export function closeWithDeadline(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    ws.terminate();
    return;
  }
  const cutOff = setTimeout(() => ws.terminate(), CLOSING_HANDSHAKE_MS);
  cutOff.unref();
  ws.once('close', () => clearTimeout(cutOff));
}
