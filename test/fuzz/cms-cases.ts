import fc from 'fast-check';
import { baseHeaders, rawHttp, requestBytes, type Header } from '../helpers/raw-http.js';
import { garbageBytes, hostileString, HUGE_UNITS, repeatTo, UNICODE_SAMPLES } from './arbitraries.js';
import { REPLY_DEADLINE_MS } from './config.js';
import { FX } from './fixtures.js';
import { assertAlive } from './invariants.js';
import type { FuzzServer } from './target.js';

/**
 * Cases of the notification centre's fuzz suite (cms-routes.fuzz.test.ts): every /v1/cms route, with
 * every token form and kind, ids that exist or not or are not ids at all, bodies shaped like the
 * seed's add/update with hostile values, garbage bodies, paging parameters, and unknown paths.
 */

export const CMS_ROUTES = [
  { method: 'POST', path: '/notify/add', operator: true, ok: '1002', body: true },
  { method: 'PUT', path: '/notify/:id/update', operator: true, ok: '1003', body: true },
  { method: 'DELETE', path: '/notify/:id/delete', operator: true, ok: '1004' },
  { method: 'GET', path: '/notify/list', operator: true, ok: 10000 },
  { method: 'GET', path: '/notify/:id/detail', operator: true, ok: 1001 },
  { method: 'GET', path: '/notify/:id/send', operator: true, ok: 10002 },
  { method: 'POST', path: '/notify/:id/send', operator: true, ok: 10002 },
  { method: 'GET', path: '/message/list', operator: false, ok: 1000 },
  { method: 'PUT', path: '/message/:id/readOneNotifyMessage', operator: false, ok: 10000 },
  { method: 'PUT', path: '/message/readAllNotifyMessage', operator: false, ok: 10000 },
  { method: 'DELETE', path: '/message/:id/deleteOne', operator: false, ok: 10001 },
  { method: 'DELETE', path: '/message/deleteAll', operator: false, ok: 10001 },
] as const;

export type TokenKind = 'operator' | 'user' | 'none' | 'forged' | 'huge' | 'empty';
export type TokenForm = 'bearer' | 'bare' | 'header' | 'query' | 'lowercase-bearer';
export type IdKind = 'draft' | 'sent' | 'unknown-hex' | 'hostile';

export interface CmsCase {
  route: number;
  /** Not a route: an unknown path under /v1/cms instead. */
  unknownPath: string | null;
  token: TokenKind;
  form: TokenForm;
  id: IdKind;
  hostileId: string;
  body: { kind: 'fields'; value: Record<string, unknown> } | { kind: 'garbage'; bytes: Buffer } | { kind: 'huge'; unit: string; n: number } | { kind: 'none' };
  query: Record<string, string>;
  contentType: string | null;
}

const fieldValue = fc.oneof(
  hostileString,
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(hostileString, { maxLength: 4 }),
  fc.dictionary(hostileString, hostileString, { maxKeys: 3 }),
);

/** Fields of add/update: mostly well-typed with hostile strings, sometimes mistyped. */
const fieldsArb: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    title: fc.oneof(hostileString, fieldValue),
    body: fc.oneof(hostileString, fieldValue),
    message_body: fieldValue,
    send_method: fc.oneof(fc.constantFrom('web', 'email', 'sms', 'mobile', 'WEB', ''), fieldValue),
    message_type: fc.oneof(hostileString, fieldValue),
    send_to: fc.oneof(
      fc.subarray([FX.member1, FX.member2, FX.owner, FX.outsider], { minLength: 1 }),
      fc.array(fc.oneof(fc.constantFrom(FX.member1, 'nobody'), hostileString), { maxLength: 5 }),
      fieldValue,
    ),
    use_web_when_miss: fc.oneof(fc.boolean(), fieldValue),
    lng: fc.oneof(fc.constantFrom('en', 'zh', 'zh-CN', ''), fieldValue),
    translations: fc.oneof(fc.dictionary(fc.constantFrom('zh', 'de', ''), fc.record({ title: hostileString, body: hostileString })), fieldValue),
    options: fc.oneof(fc.dictionary(hostileString, fieldValue, { maxKeys: 4 }), fieldValue),
  },
  { requiredKeys: [] },
);

export const cmsCaseArb: fc.Arbitrary<CmsCase> = fc.record({
  route: fc.nat(CMS_ROUTES.length - 1),
  unknownPath: fc.oneof(
    { arbitrary: fc.constant(null), weight: 12 },
    { arbitrary: fc.constantFrom('/', '/notify', '/notify/', '/message', '/notify/add/x', '/message//deleteOne', '/Notify/list', '/notify/list/', '/getMessageRealTime'), weight: 1 },
  ),
  token: fc.constantFrom<TokenKind>('operator', 'operator', 'operator', 'user', 'user', 'none', 'forged', 'huge', 'empty'),
  form: fc.constantFrom<TokenForm>('bearer', 'bare', 'header', 'query', 'lowercase-bearer'),
  id: fc.constantFrom<IdKind>('draft', 'sent', 'sent', 'unknown-hex', 'hostile'),
  hostileId: fc.oneof(hostileString, fc.constantFrom('%zz', '%00', '..', '%2F', 'x'.repeat(200), '0123456789ABCDEF01234567', '')),
  body: fc.oneof(
    { arbitrary: fieldsArb.map((value) => ({ kind: 'fields' as const, value })), weight: 6 },
    { arbitrary: garbageBytes.map((bytes) => ({ kind: 'garbage' as const, bytes })), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant('huge' as const), unit: fc.constantFrom(...HUGE_UNITS), n: fc.constantFrom(70_000, 1_100_000, 2_500_000) }), weight: 1 },
    { arbitrary: fc.constant({ kind: 'none' as const }), weight: 1 },
  ),
  query: fc.dictionary(fc.constantFrom('page', 'page_size', 'lng', 'unread_only', 'auth_token', 'x'), fc.oneof(fc.constantFrom('1', '0', '-1', '1000', '1001', '99999999999', 'abc', ''), fc.constantFrom(...UNICODE_SAMPLES)), {
    maxKeys: 3,
  }),
  contentType: fc.constantFrom(null, 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1'),
});

/** Per server start: an operator, a user, a draft and a sent notification (recreated when gone). */
export class CmsFixtures {
  private start = -1;
  operator = '';
  user = '';
  draft = '';
  sent = '';

  constructor(private readonly server: FuzzServer) {}

  async ready(): Promise<void> {
    if (this.start !== this.server.starts) {
      const a = this.server.admin;
      await a.ok('/user/create', { userId: 'fz-op', name: 'fz-op' });
      await a.ok('/user/set_role', { userId: 'fz-op', role: 'operator' });
      this.operator = await this.server.token('fz-op', 'fz-console');
      this.user = await this.server.token(FX.member1, 'fz-web');
      this.draft = '';
      this.sent = '';
      this.start = this.server.starts;
    }
    if (!this.draft || (await this.call('GET', `/notify/${this.draft}/detail`)).status !== 200) this.draft = await this.add();
    const s = this.sent ? await this.call('GET', `/notify/${this.sent}/detail`) : undefined;
    if (!s || s.status !== 200) {
      this.sent = await this.add();
      await this.call('GET', `/notify/${this.sent}/send`);
    }
  }

  private async add(): Promise<string> {
    const r = await this.call('POST', '/notify/add', { title: 'fixture', body: 'b', send_method: 'web', send_to: [FX.member1, FX.member2] });
    const id = (JSON.parse(r.body) as { id?: string }).id;
    if (!id) throw new Error(`fixture add failed: ${r.status} ${r.body}`);
    return id;
  }

  /** A well-formed call with the operator's token (or the user's). */
  async call(method: string, path: string, body?: unknown, as: 'operator' | 'user' = 'operator'): Promise<{ status: number; body: string }> {
    const res = await fetch(`${this.server.url}/v1/cms${path}`, {
      method,
      headers: { authorization: `Bearer ${as === 'operator' ? this.operator : this.user}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: await res.text() };
  }

  /**
   * What a refused input must leave unchanged: the operator's list (every notification with its
   * counts) and the user's inbox. Read until two reads agree, so a fan-out still finishing from an
   * earlier accepted send is not blamed on this case.
   */
  async snapshot(): Promise<string> {
    const read = async (): Promise<string> => {
      const list = await this.call('GET', '/notify/list', undefined);
      const inbox = await this.call('GET', '/message/list', undefined, 'user');
      return `${list.body}\n${inbox.body}`;
    };
    let a = await read();
    for (let i = 0; i < 20; i++) {
      const b = await read();
      if (a === b) return a;
      a = b;
    }
    return a;
  }
}

/** encodeURIComponent, with lone surrogates (which it refuses) sent as their raw UTF-8 bytes' escapes. */
function enc(v: string): string {
  try {
    return encodeURIComponent(v);
  } catch {
    return [...Buffer.from(v, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
  }
}

function tokenHeaders(c: CmsCase, fx: CmsFixtures): { headers: Header[]; query: string } {
  const t =
    c.token === 'operator' ? fx.operator : c.token === 'user' ? fx.user : c.token === 'forged' ? 'Zm9yZ2VkLXRva2VuLWZvcmdlZC10b2tlbi1mb3JnZWQtdG9r' : c.token === 'huge' ? 'T'.repeat(12_000) : c.token === 'empty' ? '' : undefined;
  if (t === undefined) return { headers: [], query: '' };
  switch (c.form) {
    case 'bearer':
      return { headers: [['Authorization', `Bearer ${t}`]], query: '' };
    case 'lowercase-bearer':
      return { headers: [['authorization', `bearer ${t}`]], query: '' };
    case 'bare':
      return { headers: [['Authorization', t]], query: '' };
    case 'header':
      return { headers: [['token', t]], query: '' };
    case 'query':
      return { headers: [], query: `auth_token=${enc(t)}` };
  }
}

export function describeCmsCase(c: CmsCase): string {
  const r = CMS_ROUTES[c.route]!;
  const body = c.body.kind === 'fields' ? JSON.stringify(c.body.value).slice(0, 200) : c.body.kind === 'garbage' ? `garbage ${c.body.bytes.toString('hex').slice(0, 40)}` : c.body.kind === 'huge' ? `huge ${c.body.n}` : 'none';
  return `${r.method} ${c.unknownPath ?? r.path} token=${c.token}/${c.form} id=${c.id}(${JSON.stringify(c.hostileId).slice(0, 30)}) q=${JSON.stringify(c.query)} ct=${c.contentType} body=${body}`;
}

/**
 * One case: send it raw, then the surface's contract: a reply within the deadline, never a 5xx, the
 * seed's envelope `{error_code, msg}` with JSON content and a Content-Length, the status a token of
 * that kind must get (401 without a valid one, 403 for a user on an operator route), the route's own
 * success code on 200, 404 40402 for an unknown path; and when refused, nothing changed.
 */
export async function cmsCase(server: FuzzServer, fx: CmsFixtures, c: CmsCase): Promise<{ refused: boolean }> {
  const route = CMS_ROUTES[c.route]!;
  const id = c.id === 'draft' ? fx.draft : c.id === 'sent' ? fx.sent : c.id === 'unknown-hex' ? 'ffffffffffffffffffffffff' : c.hostileId;
  const rawPath = (c.unknownPath ?? route.path).replace(':id', c.id === 'hostile' ? enc(id).replace(/%2F/g, '/') : id);
  const auth = tokenHeaders(c, fx);
  const q = [auth.query, ...Object.entries(c.query).map(([k, v]) => `${enc(k)}=${enc(v)}`)].filter((x) => x !== '').join('&');
  const path = `/v1/cms${rawPath}${q ? `?${q}` : ''}`;
  let body: Buffer | undefined;
  if (c.body.kind === 'fields') body = Buffer.from(JSON.stringify(c.body.value), 'utf8');
  else if (c.body.kind === 'garbage') body = c.body.bytes;
  else if (c.body.kind === 'huge') body = Buffer.from(JSON.stringify({ title: repeatTo(c.body.unit, c.body.n), send_method: 'web', send_to: [FX.member1] }), 'utf8');
  const headers: Header[] = [...baseHeaders(server.url, body), ...auth.headers, ...(c.contentType && body ? [['Content-Type', c.contentType] as const] : [])];
  const before = await fx.snapshot();
  const res = await rawHttp(server.url, requestBytes({ method: route.method, path, headers, ...(body ? { body } : {}) }), { timeoutMs: REPLY_DEADLINE_MS + 1000 });
  await assertAlive(server, describeCmsCase(c));
  if (res.outcome !== 'response' || !res.response) throw new Error(`no reply (${res.outcome} ${res.error ?? ''}) after ${Math.round(res.elapsedMs)} ms`);
  if (res.elapsedMs > REPLY_DEADLINE_MS) throw new Error(`replied after ${Math.round(res.elapsedMs)} ms`);
  const r = res.response;
  const text = r.body.toString('utf8');
  if (r.status >= 500) throw new Error(`HTTP ${r.status}: ${text.slice(0, 200)}`);
  if (r.headers['content-length'] === undefined) throw new Error('a reply without Content-Length');
  let env: { error_code?: unknown; msg?: unknown };
  try {
    env = JSON.parse(text) as typeof env;
  } catch {
    // Node's HTTP parser answers a request it cannot parse (a header it refuses) itself.
    if (r.status === 400 || r.status === 431) return { refused: true };
    throw new Error(`HTTP ${r.status} without JSON: ${text.slice(0, 200)}`);
  }
  if ((typeof env.error_code !== 'number' && typeof env.error_code !== 'string') || typeof env.msg !== 'string') {
    throw new Error(`HTTP ${r.status} without the {error_code, msg} envelope: ${text.slice(0, 200)}`);
  }
  const code = env.error_code;
  if (c.unknownPath !== null) {
    // "/message//deleteOne" sent as a DELETE is the deleteOne route with an empty id: the route's token
    // check comes first (401 40100 or 40101 without a valid token), then its body limit (413 41300 for
    // a body over it, read before the handler), then the id names nothing (404).
    const emptyIdRoute = c.unknownPath === '/message//deleteOne' && route.method === 'DELETE';
    const tokenRefused = emptyIdRoute && r.status === 401 && (code === 40100 || code === 40101);
    const bodyRefused = emptyIdRoute && c.body.kind === 'huge' && r.status === 413 && code === 41300;
    if (!tokenRefused && !bodyRefused && (r.status !== 404 || ![40400, 40401, 40402].includes(code as number))) {
      throw new Error(`an unknown path answered HTTP ${r.status} ${String(code)} (want 404)`);
    }
  } else if (r.status === 404 && code === 40402) {
    // Only a path parameter that is not a path segment (an encoded slash, "..") can miss the route.
    if (c.id !== 'hostile') throw new Error(`a route answered 404 40402 "no such route"`);
  } else if ((c.token === 'none' || c.token === 'empty') && ((c.token === 'empty' && c.form === 'query') || !c.query['auth_token']?.trim())) {
    if (r.status !== 401 || code !== 40100) throw new Error(`no token: HTTP ${r.status} ${String(code)} (want 401 40100)`);
  } else if (c.token === 'none' || c.token === 'empty') {
    // Only the generated auth_token query parameter, which is no token of anyone's.
    if (r.status !== 401 || code !== 40101) throw new Error(`a bad token: HTTP ${r.status} ${String(code)} (want 401 40101)`);
  } else if (c.token === 'forged' || c.token === 'huge') {
    if (r.status !== 401 || code !== 40101) throw new Error(`a bad token: HTTP ${r.status} ${String(code)} (want 401 40101)`);
  } else if (route.operator && c.token === 'user') {
    if (r.status !== 403 || code !== 40300) throw new Error(`a user on an operator route: HTTP ${r.status} ${String(code)} (want 403 40300)`);
  } else if (r.status === 200) {
    if (code !== route.ok) throw new Error(`HTTP 200 with error_code ${JSON.stringify(code)} (want ${JSON.stringify(route.ok)})`);
  } else if (![400, 404, 409, 413].includes(r.status) || typeof code !== 'number') {
    throw new Error(`a refusal with HTTP ${r.status} ${JSON.stringify(code)}`);
  }
  const refused = r.status !== 200;
  if (refused) {
    const after = await fx.snapshot();
    if (after !== before) throw new Error(`a refused input changed the data:\nbefore ${before.slice(0, 600)}\nafter  ${after.slice(0, 600)}`);
  }
  return { refused };
}
