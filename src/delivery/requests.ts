import { CoreError } from '../core/errors.js';
import type { Hub } from '../core/hub.js';
import { MAX_ID_LENGTH, MAX_TEXT_LENGTH } from '../core/limits.js';
import { longerThan, normalizeConversation } from '../core/payload.js';
import { relationOut, requestOut, settingOut, type ClientFrame } from './protocol.js';

/** The device frames a connection answers from the hub alone, whatever its sync state: receipts, relations, settings. */
export type RequestFrame = Extract<
  ClientFrame,
  { type: 'ack' | 'read' | 'friends' | 'friend_requests' | 'user_settings' | 'friend_add' | 'friend_answer' | 'friend_delete' | 'blacklist' }
>;

const REQUEST_TYPES: ReadonlySet<string> = new Set<RequestFrame['type']>([
  'ack',
  'read',
  'friends',
  'friend_requests',
  'user_settings',
  'friend_add',
  'friend_answer',
  'friend_delete',
  'blacklist',
]);

export function isRequestFrame(f: ClientFrame): f is RequestFrame {
  return REQUEST_TYPES.has(f.type);
}

/** Who asks: the connection's user and its origin (for the hooks that see where a change came from). */
export interface Requester {
  userId: string;
  origin: { kind: 'device'; ip: string; clientId: string; platform: number };
}

/**
 * Carry out one request frame for `who`: the reply frame to send, or undefined when the frame has none
 * (an `ack`; a `read` without an id). Throws CoreError for a malformed field (the connection answers
 * an error frame with the request's id).
 */
export async function answerRequest(hub: Hub, who: Requester, f: RequestFrame): Promise<string | undefined> {
  switch (f.type) {
    case 'ack': {
      if (typeof f.timestamp !== 'number' || !Number.isSafeInteger(f.timestamp) || f.timestamp < 0) {
        throw new CoreError('invalid_parameter', 'ack needs the timestamp of the newest message received');
      }
      await hub.messages.delivered(who.userId, f.timestamp);
      return undefined;
    }
    case 'read': {
      if (typeof f.timestamp !== 'number' || !Number.isSafeInteger(f.timestamp) || f.timestamp < 0) {
        throw new CoreError('invalid_parameter', 'read needs a timestamp');
      }
      const ts = await hub.messages.read(who.userId, normalizeConversation(f.conv), f.timestamp, who.origin);
      return f.id !== undefined ? JSON.stringify({ type: 'read_ok', id: f.id, timestamp: ts }) : undefined;
    }
    case 'friends': {
      const relations = await hub.relations.relations(who.userId);
      return JSON.stringify({ type: 'friends', id: f.id, relations: relations.map(relationOut) });
    }
    case 'friend_add': {
      // A friend request from this user (Wildfire's rules, not forced: 16, 18, 23, 246).
      const reason = optionalText(f.reason, 'reason');
      await hub.relations.sendRequest(who.userId, userIdOf(f.userId), reason, false);
      return relationOk(f.id);
    }
    case 'friend_answer': {
      if (typeof f.accept !== 'boolean') throw new CoreError('invalid_parameter', 'accept must be true or false');
      await hub.relations.answerRequest(who.userId, userIdOf(f.userId), f.accept);
      return relationOk(f.id);
    }
    case 'friend_delete': {
      await hub.relations.deleteFriend(who.userId, userIdOf(f.userId));
      return relationOk(f.id);
    }
    case 'blacklist': {
      if (typeof f.blacked !== 'boolean') throw new CoreError('invalid_parameter', 'blacked must be true or false');
      await hub.relations.setBlacklist(who.userId, userIdOf(f.userId), f.blacked ? 2 : 1);
      return relationOk(f.id);
    }
    case 'user_settings': {
      const settings = await hub.userSettings.list(who.userId);
      return JSON.stringify({ type: 'user_settings', id: f.id, settings: settings.map(settingOut) });
    }
    case 'friend_requests': {
      const requests = await hub.relations.requests(who.userId);
      return JSON.stringify({ type: 'friend_requests', id: f.id, requests: requests.map(requestOut) });
    }
  }
}

function relationOk(id: string | number | undefined): string {
  return JSON.stringify({ type: 'relation_ok', id });
}

/** A user id from a frame: a string of 1..MAX_ID_LENGTH characters. */
function userIdOf(v: unknown): string {
  if (typeof v !== 'string' || v === '') throw new CoreError('invalid_parameter', 'userId must be a non-empty string');
  if (longerThan(v, MAX_ID_LENGTH)) throw new CoreError('invalid_parameter', `userId must have at most ${MAX_ID_LENGTH} characters`);
  return v;
}

/** An optional text of a frame: absent or null is "", else a string of at most MAX_TEXT_LENGTH characters. */
function optionalText(v: unknown, name: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new CoreError('invalid_parameter', `${name} must be a string`);
  if (longerThan(v, MAX_TEXT_LENGTH)) throw new CoreError('invalid_parameter', `${name} must have at most ${MAX_TEXT_LENGTH} characters`);
  return v;
}
