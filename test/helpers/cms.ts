import WebSocket from 'ws';
import { Recorder, type WaitOptions } from './ws-client.js';
import type { TestServer } from './server.js';
import { fresh } from './messages.js';

/** How a request carries its token (docs/notifications.md, Tokens). */
export type TokenForm = 'bearer' | 'bare' | 'header' | 'query';

export interface CmsResponse {
  status: number;
  body: Record<string, unknown>;
  text: string;
  contentType: string;
}

/** A client of the notification centre's HTTP routes (/v1/cms), as the seed's front ends call them. */
export class CmsClient {
  constructor(private readonly baseUrl: string) {}

  async call(
    method: string,
    path: string,
    opts: { token?: string; form?: TokenForm; body?: unknown; rawBody?: string; query?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<CmsResponse> {
    const url = new URL(`/v1/cms${path}`, this.baseUrl);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token !== undefined) {
      const form = opts.form ?? 'bearer';
      if (form === 'bearer') headers['authorization'] = `Bearer ${opts.token}`;
      else if (form === 'bare') headers['authorization'] = opts.token;
      else if (form === 'header') headers['token'] = opts.token;
      else url.searchParams.set('auth_token', opts.token);
    }
    const payload = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(url, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { unparsable: text };
    }
    return { status: res.status, body, text, contentType: res.headers.get('content-type') ?? '' };
  }

  /** A call that must succeed (HTTP 200); its body. */
  async ok(method: string, path: string, token: string, body?: unknown, query?: Record<string, string>): Promise<Record<string, unknown>> {
    const r = await this.call(method, path, { token, ...(body !== undefined ? { body } : {}), ...(query ? { query } : {}) });
    if (r.status !== 200) throw new Error(`${method} ${path} -> HTTP ${r.status} ${r.text}`);
    return r.body;
  }

  /** Add a notification (operator token); its id. */
  async add(token: string, body: Record<string, unknown>): Promise<string> {
    const r = await this.ok('POST', '/notify/add', token, { title: 't', body: 'b', send_method: 'web', message_type: 'm', ...body });
    return r['id'] as string;
  }

  send(token: string, id: string): Promise<Record<string, unknown>> {
    return this.ok('GET', `/notify/${id}/send`, token);
  }

  detail(token: string, id: string, query?: Record<string, string>): Promise<Record<string, unknown>> {
    return this.ok('GET', `/notify/${id}/detail`, token, undefined, query).then((b) => b['data'] as Record<string, unknown>);
  }

  /** The user's inbox list body. */
  inbox(token: string, query?: Record<string, string>): Promise<Record<string, unknown>> {
    return this.ok('GET', '/message/list', token, undefined, query);
  }
}

/** An operator: a fresh user with role "operator" and a token. */
export async function operator(t: TestServer): Promise<{ userId: string; token: string }> {
  const [userId] = await t.users('op');
  await t.admin.ok('/user/set_role', { userId, role: 'operator' });
  return { userId, token: await t.token(userId, 'console') };
}

/** Fresh users (created, with an email) and a token each. */
export async function members(t: TestServer, n: number, prefix = 'u'): Promise<Array<{ userId: string; token: string }>> {
  const out: Array<{ userId: string; token: string }> = [];
  for (let i = 0; i < n; i++) {
    const userId = fresh(prefix);
    await t.admin.createUser(userId, { email: `${userId}@example.test` });
    out.push({ userId, token: await t.token(userId, 'web') });
  }
  return out;
}

export type LiveFrame = Record<string, unknown> | Array<Record<string, unknown>>;

/** A live inbox socket (/v1/cms/getMessageRealTime), recording every frame parsed. */
export class LiveInboxClient {
  readonly frames = new Recorder<LiveFrame>((fs) => `${fs.length} frames: ${JSON.stringify(fs.slice(-8)).slice(0, 600)}`);
  readonly closed: Promise<{ code: number; reason: string }>;
  pings = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data)) as LiveFrame));
    ws.on('ping', () => {
      this.pings++;
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.frames.fail(`closed ${code}`);
        resolve({ code, reason: String(reason) });
      });
    });
  }

  /** Connect and wait for the backlog (the first frame, an array). */
  static async open(baseUrl: string, token: string, query: Record<string, string> = {}, wsOpts: WebSocket.ClientOptions = {}): Promise<LiveInboxClient> {
    const url = new URL('/v1/cms/getMessageRealTime', baseUrl.replace(/^http/, 'ws'));
    url.searchParams.set('auth_token', token);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const ws = new WebSocket(url, wsOpts);
    ws.on('error', () => undefined);
    const c = new LiveInboxClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
    await c.frames.waitFor((f) => Array.isArray(f), { label: 'backlog array' });
    return c;
  }

  backlog(): Array<Record<string, unknown>> {
    return this.frames.items[0] as Array<Record<string, unknown>>;
  }

  /** The first pushed item with this id (a single object). */
  waitItem(id: string, opts: WaitOptions = {}): Promise<Record<string, unknown>> {
    return this.frames.waitFor((f) => !Array.isArray(f) && f['id'] === id, { label: `item ${id}`, ...opts }) as Promise<Record<string, unknown>>;
  }

  /** The item, pushed live or already in the backlog the socket opened with (e.g. fired while it connected). */
  waitItemOrBacklog(id: string, opts: WaitOptions = {}): Promise<unknown> {
    return this.frames.waitFor(
      (f) => (Array.isArray(f) ? f.some((i) => (i as Record<string, unknown>)['id'] === id) : f['id'] === id),
      { label: `item ${id} (live or in the backlog)`, ...opts },
    );
  }

  waitEvent(event: string, opts: WaitOptions = {}): Promise<Record<string, unknown>> {
    return this.frames.waitFor((f) => !Array.isArray(f) && f['event'] === event, { label: `event ${event}`, ...opts }) as Promise<Record<string, unknown>>;
  }

  close(): void {
    this.ws.close();
  }
}

/** The HTTP status an upgrade of the live inbox is refused with. */
export function refusedUpgrade(baseUrl: string, token: string | undefined): Promise<number> {
  const url = new URL('/v1/cms/getMessageRealTime', baseUrl.replace(/^http/, 'ws'));
  if (token !== undefined) url.searchParams.set('auth_token', token);
  const ws = new WebSocket(url);
  return new Promise((resolve, reject) => {
    ws.on('error', () => undefined);
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      ws.close();
      reject(new Error('upgrade accepted'));
    });
  });
}
