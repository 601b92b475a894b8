import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { rawRequest, type AdminClient } from './admin-client.js';
import type { TestServer } from './server.js';

/** Fixtures of the channel gateway's tests: apps and accounts, seed 002 and seed 000 clients, a fake contact-info server. */

export const PLATFORM_KEY = 'platform-key-for-tests';
let n = 0;
export const freshId = (p: string): string => `${p}-${++n}-${process.pid}-${Date.now().toString(36)}`;

export interface ChannelSetup {
  appId: string;
  secret: string;
  accountId: string;
  agents: string[];
}

/** An app of `protocol` with one account answered by fresh agents (users). */
export async function channelSetup(t: TestServer, protocol: '000' | '002', agentCount = 1, app: Record<string, unknown> = {}): Promise<ChannelSetup> {
  const agents = await t.users(...Array.from({ length: agentCount }, () => 'agent'));
  const appId = freshId('app');
  const secret = `secret-${appId}`;
  await t.admin.ok('/channel_app/create', { appId, secret, protocol, baseUrl: 'http://127.0.0.1:9/app', ...app });
  const accountId = freshId('acc');
  await t.admin.ok('/channel_account/create', { channelAccountId: accountId, channelId: protocol === '002' ? 'wechat' : 'email', appId, agents });
  return { appId, secret, accountId, agents };
}

export function sign002(appId: string, key: string, timestamp: string): string {
  return crypto.createHash('sha1').update(appId + key + timestamp).digest('hex');
}

export interface StaffReply {
  status: number;
  body: { errcode: number; errmsg: string };
}

/** POST a seed 002 route (`staffService/message` by default), signed with `secret` unless the query is given. */
export async function staffPost(
  t: Pick<TestServer, 'url'>,
  appId: string,
  secret: string,
  body: unknown,
  opts: { route?: string; timestamp?: string; query?: string; rawBody?: string; version?: string } = {},
): Promise<StaffReply> {
  const ts = opts.timestamp ?? String(Date.now());
  const query = opts.query ?? `timestamp=${ts}&signature=${sign002(appId, secret, ts)}`;
  const res = await rawRequest(t.url, {
    path: `/api/${opts.version ?? 'v1'}/${encodeURIComponent(appId)}/${opts.route ?? 'staffService/message'}${query === '' ? '' : `?${query}`}`,
    headers: { 'content-type': 'application/json' },
    body: opts.rawBody ?? JSON.stringify(body),
  });
  return { status: res.status, body: JSON.parse(res.raw) as StaffReply['body'] };
}

/** A seed 000 call with the platform key (or `key`). */
export async function platform(
  t: Pick<TestServer, 'url'>,
  method: 'POST' | 'PUT',
  path: string,
  body: unknown,
  opts: { key?: string | null; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const key = opts.key === undefined ? PLATFORM_KEY : opts.key;
  const res = await rawRequest(t.url, {
    method,
    path: `/api/v3/messaging/platform${path}`,
    headers: { 'content-type': 'application/json', ...(key !== null ? { authorization: `Bearer ${key}` } : {}), ...(opts.headers ?? {}) },
    body: body === undefined ? '' : JSON.stringify(body),
  });
  return { status: res.status, body: (res.raw === '' ? {} : JSON.parse(res.raw)) as Record<string, unknown> };
}

/** A seed 000 message body. */
export function message000(accountId: string, contact: string, over: { message?: Record<string, unknown>; [k: string]: unknown } = {}): Record<string, unknown> {
  const { message, ...rest } = over;
  return {
    channelAccountId: accountId,
    isReceive: true,
    createTime: '2026-12-02T09:00:00Z',
    channelAppContactIdentity: { channelaccount: contact, name: `Name of ${contact}` },
    message: { channelId: 'email', originalMessageId: freshId('om'), contents: [{ id: 'c1', type: 'text', text: 'hello' }], ...message },
    ...rest,
  };
}

export async function channelMessage(admin: AdminClient, guid: string): Promise<Record<string, unknown> & { uid: number; conversationId: string; contactId: string }> {
  return admin.ok('/channel_message/get', { guid });
}

/** An HTTP server on port 0 answering every request with `handler` (closed after the file). */
export function useFakeServer(handler: http.RequestListener): { readonly url: string; readonly hits: number } {
  const server = http.createServer((req, res) => {
    state.hits++;
    handler(req, res);
  });
  const state = { url: '', hits: 0 };
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return state;
}
