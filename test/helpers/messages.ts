import { expect } from 'vitest';
import type { AdminClient } from './admin-client.js';
import type { Conv } from './payloads.js';

export { b64, channel, group, single, text, type Conv } from './payloads.js';

/**
 * Small fixtures shared by the message API tests (test/admin/messages-*.test.ts). Everything goes
 * through real signed HTTP via AdminClient; nothing here reaches into the server.
 */

/** Wildfire's envelope messages for the codes the message API answers with. */
export const MSG: Record<number, string> = {
  0: 'success',
  9: 'not in group',
  21: 'not in channel',
  241: 'group is muted',
  245: 'user is blocked',
  248: 'no right to operate',
  251: 'Invalid parameter',
  253: 'not exist',
};

export interface ConvEntry {
  conversation: Conv;
  unread: number;
  lastMessageUid: number;
  lastTimestamp: number;
  readTimestamp: number;
}

export interface SendResult {
  messageUid: number;
  timestamp: number;
}

export interface MessageData {
  messageId: number;
  sender: string;
  conv: Conv;
  payload: Record<string, unknown>;
  toUsers: string[];
  timestamp: number;
}

let counter = 0;
const run = Math.random().toString(36).slice(2, 7);

/** A fresh id, unique within the test run, so tests sharing a server never collide. */
export function fresh(prefix: string): string {
  counter += 1;
  return `${prefix}-${run}-${counter}`;
}

/** Every payload field as get_one gives it when only `type` (and `overrides`) were sent. */
export function fullPayload(type: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type,
    searchableContent: '',
    pushContent: '',
    pushData: '',
    content: '',
    base64edData: '',
    mediaType: 0,
    remoteMediaUrl: '',
    persistFlag: 0,
    expireDuration: 0,
    mentionedType: 0,
    mentionedTarget: [],
    extra: '',
    ...overrides,
  };
}

/** POST and assert an error envelope: HTTP 200, exactly `{code, msg}`, no result. */
export async function expectCode(admin: AdminClient, path: string, body: unknown, code: number, rawBody?: string): Promise<void> {
  const r = await admin.post(path, body, rawBody !== undefined ? { rawBody } : {});
  expect(r.status, `${path} ${rawBody ?? JSON.stringify(body)}`).toBe(200);
  expect(r.body, `${path} ${rawBody ?? JSON.stringify(body)}`).toEqual({ code, msg: MSG[code] });
}

/** POST a route whose success has no result: exactly `{code: 0, msg: "success"}`. */
export async function expectBareOk(admin: AdminClient, path: string, body: unknown): Promise<void> {
  const r = await admin.post(path, body);
  expect(r.status).toBe(200);
  expect(r.body, `${path} ${JSON.stringify(body)}`).toEqual({ code: 0, msg: 'success' });
}

export async function createUsers(admin: AdminClient, ...ids: string[]): Promise<void> {
  for (const id of ids) await admin.createUser(id);
}

export function getOne(admin: AdminClient, messageUid: number | string): Promise<MessageData> {
  return admin.ok<MessageData>('/message/get_one', { messageUid });
}

export async function convList(admin: AdminClient, userId: string): Promise<ConvEntry[]> {
  return (await admin.ok<{ conversations: ConvEntry[] }>('/conversation/list', { userId })).conversations;
}

/** The entry of `conv` in `userId`'s conversation list, if any. */
export async function convEntry(admin: AdminClient, userId: string, conv: { type: number; target: string; line?: number }): Promise<ConvEntry | undefined> {
  const line = conv.line ?? 0;
  return (await convList(admin, userId)).find(
    (c) => c.conversation.type === conv.type && c.conversation.target === conv.target && c.conversation.line === line,
  );
}
