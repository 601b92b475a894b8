import type { Payload } from '../core/model.js';
import type { CallbackResponse } from './http.js';
import { readMsgBody } from './msgbody.js';

/** What one target's before-send reply decided. */
export type TargetDecision =
  | { action: 'allow' }
  | { action: 'replace'; payload: Payload }
  | { action: 'reject'; code: number; msg: string }
  | { action: 'drop' };

/** A reply that cannot be acted on: the target's failure policy decides (like an HTTP error). */
export class UnusableReplyError extends Error {
  constructor(reason: string) {
    super(`unusable reply: ${reason}`);
    this.name = 'UnusableReplyError';
  }
}

/** An integer ErrorCode (a decimal string is accepted), or undefined. */
function errorCode(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v === 'string' && /^-?\d{1,15}$/.test(v.trim())) return Number(v.trim());
  return undefined;
}

/**
 * Tencent's before-send reply, read defensively: every field may be missing, null or of the wrong type.
 * Throws UnusableReplyError for a non-2xx status, a body that is not a JSON object, a missing or
 * non-integer ErrorCode, and (with ErrorCode 0) a MsgBody that is neither missing/null/[] nor a usable
 * body (see readMsgBody) or a CloudCustomData that is neither missing/null nor a string. ErrorInfo that
 * is not a string is ignored. Never throws anything else.
 *
 * - ErrorCode 0: allowed; a usable MsgBody replaces the content of `payload` (one equal to what was
 *   sent leaves it exactly as it was), a string CloudCustomData replaces `extra`.
 * - 2: dropped silently.
 * - 120001–130000 (single chats) / 10100–10200 (groups): rejected with that code and ErrorInfo.
 * - any other code (1 included): rejected with 20006 (single) / 10016 (group) and ErrorInfo.
 */
export function interpretBeforeReply(res: CallbackResponse, c2c: boolean, payload: Payload): TargetDecision {
  if (res.status < 200 || res.status >= 300) throw new UnusableReplyError(`HTTP ${res.status}`);
  if (res.truncated) throw new UnusableReplyError('reply body too long');
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.text);
  } catch {
    throw new UnusableReplyError('reply is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UnusableReplyError('reply is not a JSON object');
  const reply = parsed as Record<string, unknown>;
  const code = errorCode(reply['ErrorCode']);
  if (code === undefined) throw new UnusableReplyError('ErrorCode is missing or not an integer');
  const info = typeof reply['ErrorInfo'] === 'string' ? reply['ErrorInfo'] : '';
  if (code === 0) {
    const body = reply['MsgBody'];
    const ccd = reply['CloudCustomData'];
    if (ccd !== undefined && ccd !== null && typeof ccd !== 'string') throw new UnusableReplyError('CloudCustomData must be a string');
    const hasBody = !(body === undefined || body === null || (Array.isArray(body) && body.length === 0));
    if (!hasBody && typeof ccd !== 'string') return { action: 'allow' };
    let out = payload;
    if (hasBody) {
      const r = readMsgBody(body, payload);
      if (!r.ok) throw new UnusableReplyError(r.reason);
      out = r.payload;
    }
    if (typeof ccd === 'string') out = { ...out, mentionedTarget: [...out.mentionedTarget], extra: ccd };
    return { action: 'replace', payload: out };
  }
  if (code === 2) return { action: 'drop' };
  const [lo, hi] = c2c ? [120001, 130000] : [10100, 10200];
  if (code >= lo && code <= hi) return { action: 'reject', code, msg: info };
  // 1 (or anything else): Tencent's "forbidden" code for the sender.
  return { action: 'reject', code: c2c ? 20006 : 10016, msg: info || 'rejected by callback' };
}
