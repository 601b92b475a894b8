import { invalid } from '../errors.js';
import { MAX_ESCALATE_MINUTES, MAX_SCHEDULE_AHEAD_MS, MIN_ESCALATE_MINUTES } from '../limits.js';
import type { NotificationOptions } from '../notifications/model.js';

/**
 * The delivery fields of a notification, ours (not in seed 004), kept in its `options`:
 * - `schedule_at`: when a `send` goes out (epoch ms in `options`; the API takes ISO 8601 with an
 *   offset, or epoch ms). A send before then schedules it; null or absent: at once.
 * - `escalate_after_minutes` + `escalate_method` (`email` | `sms`, `mobile` accepted): a web
 *   notification a recipient has not read that many minutes after it was sent goes to that recipient
 *   by e-mail or SMS. Fractions of a minute are allowed (0.01 = 0.6 s).
 */
export const SCHEDULE_AT = 'schedule_at';
export const ESCALATE_AFTER = 'escalate_after_minutes';
export const ESCALATE_METHOD = 'escalate_method';
export const DELIVERY_OPTION_KEYS = [SCHEDULE_AT, ESCALATE_AFTER, ESCALATE_METHOD] as const;

export type EscalateMethod = 'email' | 'sms';

export interface DeliveryOptions {
  /** Epoch ms, or null: at once. */
  scheduleAt: number | null;
  escalate: { afterMs: number; method: EscalateMethod } | null;
}

/** ISO 8601 with a time zone (Z or ±hh:mm), as the seed writes times. */
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** A time given as ISO 8601 with an offset, or epoch ms; invalid_parameter otherwise. */
export function parseTime(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && ISO.test(v)) {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  throw invalid(`${what} must be an ISO 8601 time with a time zone (2026-12-02T09:00:00+08:00) or epoch milliseconds`);
}

export function parseEscalateMethod(v: unknown): EscalateMethod {
  if (v === 'email') return 'email';
  if (v === 'sms' || v === 'mobile') return 'sms';
  throw invalid(`${ESCALATE_METHOD} must be email or sms (mobile)`);
}

/**
 * A notification's options as given on add or modify, with the delivery fields checked and normalised
 * (other keys kept as given): `schedule_at` to epoch ms, at most MAX_SCHEDULE_AHEAD_MS ahead (a past
 * time means at once); `escalate_after_minutes` within [MIN, MAX] and only with `escalate_method`
 * (email or sms; mobile is stored as sms). A null value removes the field (null minutes remove the
 * method too). Escalation applies to `web` notifications; on others it is kept but never fires.
 */
export function checkDeliveryOptions(options: NotificationOptions, now: number): NotificationOptions {
  const out: NotificationOptions = { ...options };
  const at = out[SCHEDULE_AT];
  if (at === null) delete out[SCHEDULE_AT];
  else if (at !== undefined) {
    const t = parseTime(at, SCHEDULE_AT);
    if (t > now + MAX_SCHEDULE_AHEAD_MS) throw invalid(`${SCHEDULE_AT} is more than a year ahead`);
    out[SCHEDULE_AT] = t;
  }
  const m = out[ESCALATE_AFTER];
  if (m === null) {
    delete out[ESCALATE_AFTER];
    delete out[ESCALATE_METHOD];
  } else if (m !== undefined && (typeof m !== 'number' || !Number.isFinite(m) || m < MIN_ESCALATE_MINUTES || m > MAX_ESCALATE_MINUTES)) {
    throw invalid(`${ESCALATE_AFTER} must be a number of minutes from ${MIN_ESCALATE_MINUTES} to ${MAX_ESCALATE_MINUTES}`);
  }
  const how = out[ESCALATE_METHOD];
  if (how === null) delete out[ESCALATE_METHOD];
  else if (how !== undefined) out[ESCALATE_METHOD] = parseEscalateMethod(how);
  if (out[ESCALATE_AFTER] !== undefined && out[ESCALATE_METHOD] === undefined) throw invalid(`${ESCALATE_AFTER} needs ${ESCALATE_METHOD} (email or sms)`);
  return out;
}

/** The delivery fields of stored options (leniently: anything malformed reads as absent). */
export function deliveryOptions(options: NotificationOptions): DeliveryOptions {
  const s = options[SCHEDULE_AT];
  const m = options[ESCALATE_AFTER];
  const how = options[ESCALATE_METHOD];
  return {
    scheduleAt: typeof s === 'number' && Number.isFinite(s) ? s : null,
    escalate:
      typeof m === 'number' && Number.isFinite(m) && m > 0 && (how === 'email' || how === 'sms') ? { afterMs: Math.round(m * 60_000), method: how } : null,
  };
}
