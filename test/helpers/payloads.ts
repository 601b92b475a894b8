/**
 * Message payloads and conversations as the admin API and devices send them (Wildfire's JSON shapes).
 * The end-to-end tests build every message from these instead of repeating the literals.
 */

/** A conversation as the admin API and the device protocol carry it. */
export interface Conv {
  type: number;
  target: string;
  line: number;
}

export const single = (target: string, line = 0): Conv => ({ type: 0, target, line });
export const group = (target: string, line = 0): Conv => ({ type: 1, target, line });
export const channel = (target: string, line = 0): Conv => ({ type: 3, target, line });

/** Wildfire's persist flags: 0 not stored, 1 stored, 3 stored and counted as unread, 4 transparent. */
export const PERSIST = { none: 0, persist: 1, count: 3, transparent: 4 } as const;

/** A payload with the fields a text message always has, and any others. */
export interface TextPayload {
  type: number;
  searchableContent: string;
  persistFlag: number;
  [field: string]: unknown;
}

/**
 * A text message (content type 1) whose text is `s`, stored and counted as unread (persistFlag 3)
 * unless `extra` says otherwise; `extra` adds or replaces any payload field.
 */
export function text(s: string, extra: Record<string, unknown> = {}): TextPayload {
  return { type: 1, searchableContent: s, persistFlag: PERSIST.count, ...extra };
}

/** `s` in base64, as the binary payload field (base64edData) carries it. */
export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
