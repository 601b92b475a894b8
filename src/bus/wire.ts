import type { HubEvent } from '../core/events.js';

/**
 * The frames of the Redis bus, one JSON text per pub/sub message:
 *
 *   {"p":"<publisher id>","n":<sequence number>,"e":<HubEvent>}   an event
 *   {"p":"<publisher id>","n":<last sequence number>}              a heartbeat
 *
 * `n` counts a publisher's events from 1 (a heartbeat repeats the last one), so a receiver that knows a
 * publisher detects a lost event by a skipped number. Events are plain JSON data (no dates, bigints or
 * buffers), so they come back equal.
 */
export interface BusFrame {
  publisher: string;
  seq: number;
  /** Absent for a heartbeat. */
  event?: HubEvent;
}

/** Longest publisher id accepted from the wire (ours are UUIDs). */
const MAX_PUBLISHER = 64;

export function encodeEvent(publisher: string, seq: number, event: HubEvent): string {
  return `{"p":${JSON.stringify(publisher)},"n":${seq},"e":${JSON.stringify(event)}}`;
}

export function encodeHeartbeat(publisher: string, seq: number): string {
  return `{"p":${JSON.stringify(publisher)},"n":${seq}}`;
}

/**
 * A frame from the wire, or null when it is not one (anything may be published on a Redis channel;
 * a stranger's message must not reach subscribers). The event itself is trusted: only Switchboard
 * nodes of this cluster publish under its prefix.
 */
export function decodeFrame(raw: Buffer | string): BusFrame | null {
  let v: unknown;
  try {
    v = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const { p, n, e } = v as { p?: unknown; n?: unknown; e?: unknown };
  if (typeof p !== 'string' || p === '' || p.length > MAX_PUBLISHER) return null;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return null;
  if (e === undefined) return { publisher: p, seq: n };
  if (typeof e !== 'object' || e === null || typeof (e as { type?: unknown }).type !== 'string') return null;
  return { publisher: p, seq: n, event: e as HubEvent };
}
