import { CoreError, type ErrorKind, isCoreError } from '../../core/errors.js';
import type { ChannelMessage } from '../../core/channel-apps/model.js';
import type { OutboxJob } from '../../core/ports/outbox.js';
import type { Store } from '../../core/ports/store.js';
import type { MessageLookup } from './channel-apps.js';
import { unpackChannelRecord, type ChannelMessageRow } from './channel-record.js';

/** The parts of a Store whose methods cross the thread boundary. */
export const STORE_PARTS = ['users', 'tokens', 'groups', 'channels', 'chatrooms', 'messages', 'conversations', 'sync', 'outbox', 'settings', 'robots', 'devices', 'relations', 'sensitiveWords', 'userSettings', 'notifications', 'notifyDelivery', 'channelApps', 'serviceSessions'] as const;
export type StorePart = (typeof STORE_PARTS)[number];

/** Main thread → writer thread. Calls are sent in batches (one postMessage per event-loop turn). */
export type ToWorker =
  | { type: 'calls'; calls: Array<{ id: number; part: StorePart; method: string; args: unknown[] }> }
  | { type: 'ping'; id: number }
  | { type: 'close' };

export interface SerializedError {
  kind: ErrorKind;
  detail?: string | undefined;
}

/** Writer thread → main thread. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'init-error'; message: string }
  | {
      type: 'results';
      /**
       * `echo`: the value is an AppendResult whose message.payload was left out because it is the
       * very payload of the call's draft (args[0].payload), which the caller holds: it puts it back.
       * `wire: 'channelRow'`: the value is the stored row of a channel message (or null), which the
       * main thread unpacks (see channelRowRead).
       */
      results: Array<{ id: number; ok: true; value: unknown; echo?: 'payload'; wire?: 'channelRow' } | { id: number; ok: false; error: SerializedError }>;
      commits: Array<{ size: number; ms: number }>;
      errors: string[];
      /** Outbox jobs claimed under grant() for this process's watcher (OutboxStore.watch). */
      claimed?: OutboxJob[];
      /** Outbox jobs leased by a settle as their keys' next jobs (settle's `next`), for the same watcher. */
      claimedNext?: OutboxJob[];
    }
  | { type: 'closed' };

export function serializeError(err: unknown): SerializedError {
  return isCoreError(err) ? { kind: err.kind, detail: err.detail } : { kind: 'server_error' };
}

export function deserializeError(e: SerializedError): CoreError {
  return new CoreError(e.kind, e.detail);
}

/** Methods a caller may invoke on a part: own functions of its prototype chain, never Object's. */
export function isStoreMethod(store: Store, part: string, method: string): boolean {
  if (!(STORE_PARTS as readonly string[]).includes(part)) return false;
  const target = store[part as StorePart] as unknown as Record<string, unknown>;
  return method !== 'constructor' && !(method in Object.prototype) && typeof target[method] === 'function';
}

/**
 * An appendMessage result answers the draft's own payload object (messages.ts), which the main thread
 * sent and still holds: it is not cloned back (a channel message's payload carries its metadata as
 * JSON in `extra`). Returns the value to post without that payload, or undefined when it does not apply.
 */
export function withoutEchoedPayload(part: string, method: string, args: unknown[], value: unknown): unknown {
  if (part !== 'messages' || method !== 'appendMessage') return undefined;
  const draft = args[0] as { payload?: unknown } | undefined;
  const v = value as { message?: { payload?: unknown } } | null;
  if (!v?.message || draft?.payload === undefined || v.message.payload !== draft.payload) return undefined;
  return { ...v, message: { ...v.message, payload: undefined } };
}

/** The main thread's side of withoutEchoedPayload: the draft's payload back into the result. */
export function restoreEchoedPayload(args: unknown[], value: unknown): unknown {
  const draft = args[0] as { payload: unknown };
  (value as { message: { payload: unknown } }).message.payload = draft.payload;
  return value;
}

/**
 * Why some values cross the boundary in another form: a structured clone costs per property on both
 * sides (the writer serialises, the main thread deserialises), a string is one copy. Measured per
 * reply of the outbound bench (2026-12-03, docs/benchmarks.md): the live notice's read-back of a
 * channel record cost the writer ~10 µs (unpacking its JSON document, then cloning a 22-field object)
 * and the main thread ~4; as its stored row it costs the writer under 1 µs and the main thread the same
 * (unpacking it there). (Outbox jobs as JSON text instead of clones: no gain, 1.3 + 4–5 µs against
 * 3.4 + 3.7, not done.) The form is private to the threaded store: callers get the same values as
 * from SqliteStore.
 */

/** The channelApps reads answered by the message's stored row (SqliteChannelApps.messageRow). */
const CHANNEL_ROW_READS = new Map<string, MessageLookup>([
  ['messageByUid', 'uid'],
  ['messageByGuid', 'guid'],
  ['messageByOriginal', 'original'],
]);

/** The lookup of a channel message read whose row crosses instead of the message, or undefined. */
export function channelRowRead(part: string, method: string): MessageLookup | undefined {
  return part === 'channelApps' ? CHANNEL_ROW_READS.get(method) : undefined;
}

/** The main thread's side of channelRowRead: the message of a row (null stays null). */
export function unpackChannelRow(value: unknown): ChannelMessage | null {
  return value === null ? null : unpackChannelRecord(value as ChannelMessageRow);
}
