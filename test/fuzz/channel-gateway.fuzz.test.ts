import crypto from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseHeaders, rawHttp, requestBytes, type Header } from '../helpers/raw-http.js';
import { REPLY_DEADLINE_MS, testTimeoutMs } from './config.js';
import { FX } from './fixtures.js';
import { guardedCase } from './invariants.js';
import { runProperty, summarize } from './run-property.js';
import { FuzzServer } from './target.js';

/**
 * Fuzzing the channel gateway's two inbound surfaces on a real server process: seed 002's
 * staff-service routes (signature, timestamps, bodies shaped like the seed's and garbage) and seed
 * 000's platform routes (key, bodies, caches, contacts). Besides the suite's invariants (invariants.ts):
 * seed 002 answers HTTP 200 `{errcode, errmsg}` on its routes (404 elsewhere), never 30004; seed 000
 * answers `{Code, Message}`, never a 5xx other than the protocol's 1200002 (parent not seen yet).
 */

const KEY = 'fuzz-platform-key';
const APP = 'fz-app';
const SECRET = 'fz-app-secret';
const ACCOUNT = 'fz-account';

/** The app and account of the fuzz (made once per server start). */
const made = new WeakMap<FuzzServer, number>();
async function ensureApp(server: FuzzServer): Promise<void> {
  if (made.get(server) === server.starts) return;
  await server.admin.ok('/channel_app/create', { appId: APP, secret: SECRET, protocol: '002', baseUrl: 'http://127.0.0.1:9/app' });
  await server.admin.ok('/channel_account/create', { channelAccountId: ACCOUNT, channelId: 'wechat', appId: APP, agents: [FX.outsider] });
  made.set(server, server.starts);
}

const sign = (ts: string): string => crypto.createHash('sha1').update(APP + SECRET + ts).digest('hex');

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', 'null', '{}', 'event.CLICK.RG', 'RG', '__proto__', 'constructor', 'http://127.0.0.1/x', 'a'.repeat(2000)),
  fc.nat({ max: 4 }).map((i) => 'x'.repeat([1025, 10_000, 70_000, 1_100_000, 3][i]!)),
);
const anyValue = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 3 }), fc.array(text, { maxLength: 4 }));
const field = (name: string, freq = 2) =>
  fc.option(fc.oneof({ arbitrary: text, weight: 4 }, { arbitrary: anyValue, weight: 1 }), { nil: undefined, freq }).map((v) => [name, v] as const);
/** A field the seed requires: usually present and a short string. */
const must = (name: string) => fc.oneof({ weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 20 }).map((v) => [name, v] as const) }, { weight: 1, arbitrary: field(name) });

function record(fields: ReadonlyArray<fc.Arbitrary<readonly [string, unknown]>>): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(...fields, fc.dictionary(fc.string({ maxLength: 12 }), anyValue, { maxKeys: 3 })).map((parts) => {
    const extra = parts[parts.length - 1] as Record<string, unknown>;
    const out: Record<string, unknown> = { ...extra };
    for (const p of parts.slice(0, -1) as Array<readonly [string, unknown]>) if (p[1] !== undefined) out[p[0]] = p[1];
    return out;
  });
}

// ---------------------------------------------------------------------------------- seed 002

interface StaffCase {
  route: string;
  query: 'ms' | 's' | 'none' | 'no-signature' | 'bad-signature' | 'stale' | 'repeat';
  appId: string;
  body: string;
}

const staffBody = fc.oneof(
  {
    weight: 6,
    arbitrary: record([
      must('FromUserId'),
      field('FromUserName'),
      fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom('text', 'image', 'voice', 'video', 'file', 'event.CLICK.RG', 'event.VIEW.x', 'odd').map((t) => ['MsgType', t] as const) },
        { weight: 1, arbitrary: field('MsgType') },
      ),
      must('Content'),
      field('ServiceId'),
      field('accname'),
      field('Tag'),
      field('user_id'),
      field('content'),
      field('msgtype'),
    ]).map((o) => JSON.stringify(o)),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '{', '{"FromUserId":"u","MsgType":"text","Content":"x"', '[]', 'null', '{"__proto__":{"x":1}}') },
);

const staffArb: fc.Arbitrary<StaffCase> = fc.record({
  route: fc.constantFrom('staffService/message', 'staffService/message', 'leavemessage', 'staffService/demand', 'staffService/other'),
  query: fc.constantFrom('ms', 's', 'none', 'no-signature', 'bad-signature', 'stale', 'repeat'),
  appId: fc.oneof({ weight: 8, arbitrary: fc.constant(APP) }, { weight: 1, arbitrary: fc.constantFrom('nope', '%00', 'a'.repeat(300), '..') }),
  body: staffBody,
});

const REPEATED_TS = String(Date.now());

function staffQuery(q: StaffCase['query']): string {
  const ms = String(Date.now());
  switch (q) {
    case 'ms':
      return `timestamp=${ms}&signature=${sign(ms)}`;
    case 's': {
      const s = String(Math.floor(Date.now() / 1000));
      return `timestamp=${s}&signature=${sign(s)}`;
    }
    case 'none':
      return '';
    case 'no-signature':
      return `timestamp=${ms}`;
    case 'bad-signature':
      return `timestamp=${ms}&signature=${sign(ms).toUpperCase()}`;
    case 'stale': {
      const old = String(Date.now() - 30 * 86_400_000);
      return `timestamp=${old}&signature=${sign(old)}`;
    }
    case 'repeat':
      return `timestamp=${REPEATED_TS}&signature=${sign(REPEATED_TS)}`;
  }
}

async function send(server: FuzzServer, method: string, path: string, body: string, headers: Header[] = []): Promise<{ status: number; json: unknown }> {
  const res = await rawHttp(
    server.url,
    requestBytes({ method, path, headers: [...baseHeaders(server.url, body), ['Content-Type', 'application/json'], ...headers], body }),
    { timeoutMs: REPLY_DEADLINE_MS },
  );
  if (res.outcome !== 'response' || !res.response) throw new Error(`${method} ${path}: no reply within ${REPLY_DEADLINE_MS} ms (${res.outcome} ${res.error ?? ''})`);
  const raw = res.response.body.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`${method} ${path}: HTTP ${res.response.status} with a body that is not JSON: ${raw.slice(0, 200)}`);
  }
  return { status: res.response.status, json };
}

async function staffCase(server: FuzzServer, c: StaffCase): Promise<void> {
  await server.ready();
  await ensureApp(server);
  await guardedCase(server, `002 ${c.route}`, async () => {
    const q = staffQuery(c.query);
    const r = await send(server, 'POST', `/api/v1/${encodeURIComponent(c.appId)}/${c.route}${q ? `?${q}` : ''}`, c.body);
    const j = r.json as { errcode?: unknown; errmsg?: unknown };
    if (c.route === 'staffService/other') {
      expect(r.status).toBe(404);
      expect(j.errcode).toBe(30010);
      return { refused: true };
    }
    expect(r.status).toBe(200);
    expect(typeof j.errcode).toBe('number');
    expect(typeof j.errmsg).toBe('string');
    expect(j.errcode, 'an internal failure (30004)').not.toBe(30004);
    if (c.query === 'none' || c.query === 'no-signature') expect(j.errcode).toBe(30001);
    if (j.errcode === 0) expect(['ms', 's', 'repeat']).toContain(c.query);
    return { refused: j.errcode !== 0 };
  });
}

// ---------------------------------------------------------------------------------- seed 000

interface PlatformCase {
  key: 'good' | 'none' | 'wrong';
  target: 'message' | 'caches' | 'contact' | 'result' | 'unknown';
  body: string;
  id: string;
}

const content = record([field('id'), fc.constantFrom('text', 'Text', 'htmlText', 'picture', 'FILE', 'location', 'video', 'audio', 'x').map((t) => ['type', t] as const), field('text'), field('htmlText'), field('url'), field('latitude')]);
const platformBody = fc.oneof(
  {
    weight: 6,
    arbitrary: record([
      fc.constantFrom(ACCOUNT, ACCOUNT, 'nope').map((v) => ['channelAccountId', v] as const),
      field('isReceive'),
      field('createTime'),
      record([must('channelaccount'), field('account'), field('name'), field('avatarUrl'), field('originalContactInfoUrl')]).map((v) => ['channelAppContactIdentity', v] as const),
      record([
        fc.constantFrom('email', 'wechat').map((v) => ['channelId', v] as const),
        field('originalMessageId'),
        field('originalParentId'),
        field('originalConversationId'),
        field('subject'),
        field('cc'),
        fc.array(content, { maxLength: 3 }).map((v) => ['contents', v] as const),
      ]).map((v) => ['message', v] as const),
    ]).map((o) => JSON.stringify(o)),
  },
  { weight: 1, arbitrary: record([field('cacheItem'), field('actionType')]).map((o) => JSON.stringify(o)) },
  // Send results (the outbound side's PUT conversations/messages/{id}), both revisions.
  {
    weight: 1,
    arbitrary: record([
      field('sendStatus'),
      field('isSuccessful'),
      field('errorMessage'),
      field('originalMessageId'),
      field('originalMessageUrl'),
      fc.array(record([field('id'), field('url')]), { maxLength: 3 }).map((v) => ['urls', v] as const),
      fc.array(record([field('id'), field('url')]), { maxLength: 3 }).map((v) => ['content', v] as const),
    ]).map((o) => JSON.stringify(o)),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.constantFrom('', '{', 'null', '[]', '{"cacheItem":"app","actionType":"updated"}', '{"cacheItem":"__proto__"}') },
);

const platformArb: fc.Arbitrary<PlatformCase> = fc.record({
  key: fc.constantFrom('good', 'good', 'good', 'none', 'wrong'),
  target: fc.constantFrom('message', 'message', 'caches', 'contact', 'result', 'unknown'),
  body: platformBody,
  id: fc.oneof(fc.constantFrom('cu_nope', 'x', '%2e%2e', 'a'.repeat(200)), fc.string({ minLength: 1, maxLength: 20 }).map(encodeURIComponent)),
});

async function platformCase(server: FuzzServer, c: PlatformCase): Promise<void> {
  await server.ready();
  await ensureApp(server);
  await guardedCase(server, `000 ${c.target}`, async () => {
    const auth: Header[] = c.key === 'none' ? [] : [['Authorization', `Bearer ${c.key === 'good' ? KEY : 'nope'}`]];
    const [method, path] =
      c.target === 'message'
        ? ['POST', '/conversations/messages']
        : c.target === 'caches'
          ? ['PUT', '/caches']
          : c.target === 'contact'
            ? ['POST', `/contact/${c.id}`]
            : c.target === 'result'
              ? ['PUT', `/conversations/messages/${c.id}`]
              : ['POST', '/conversations'];
    const r = await send(server, method, `/api/v3/messaging/platform${path}`, c.body, auth);
    const j = r.json as { Code?: unknown; Message?: unknown; guid?: unknown };
    if (c.target === 'unknown') {
      // An unknown path is 404 (its body may be parsed first), or 401 when the key was checked first.
      expect(c.key === 'good' ? [404] : [401, 404]).toContain(r.status);
      return { refused: true };
    }
    if (c.key !== 'good') {
      expect(r.status).toBe(401);
      return { refused: true };
    }
    if (r.status === 200) {
      if (c.target === 'message') expect(typeof j.guid).toBe('string');
      return { refused: c.target !== 'message' };
    }
    expect(typeof j.Code, `HTTP ${r.status} ${JSON.stringify(r.json)}`).toBe('number');
    expect(typeof j.Message).toBe('string');
    if (r.status >= 500) expect(j.Code, `HTTP ${r.status} ${JSON.stringify(j)}`).toBe(1200002);
    return { refused: true };
  });
}

describe('fuzz: channel gateway (seeds 000 and 002)', () => {
  const server = new FuzzServer({ env: { SWITCHBOARD_PLATFORM_KEY: KEY, SWITCHBOARD_CONTACT_INFO_TIMEOUT_MS: '1000' } });
  const file = import.meta.url;

  beforeAll(async () => {
    await server.ready();
  }, 60_000);
  afterAll(async () => {
    await server.dispose();
  });

  it(
    'seed 002: signed, unsigned, stale and repeated calls with seed-shaped and garbage bodies',
    async () => {
      await server.ready();
      await runProperty<StaffCase>({
        name: 'seed 002: signed, unsigned, stale and repeated calls with seed-shaped and garbage bodies',
        file,
        arb: staffArb,
        runs: [60, 3000],
        budgetMs: [10_000, 600_000],
        finish: () => server.finalCheck(),
        describe: (c) => `${c.route} ${c.query} app=${c.appId.slice(0, 20)} body=${summarize(c.body)}`,
        check: (c) => staffCase(server, c),
      });
    },
    testTimeoutMs(10_000, 600_000),
  );

  it(
    'seed 000: messages, caches and contacts with and without the key, seed-shaped and garbage bodies',
    async () => {
      await server.ready();
      await runProperty<PlatformCase>({
        name: 'seed 000: messages, caches and contacts with and without the key, seed-shaped and garbage bodies',
        file,
        arb: platformArb,
        runs: [60, 3000],
        budgetMs: [10_000, 600_000],
        finish: () => server.finalCheck(),
        describe: (c) => `${c.key} ${c.target} id=${c.id.slice(0, 20)} body=${summarize(c.body)}`,
        check: (c) => platformCase(server, c),
      });
    },
    testTimeoutMs(10_000, 600_000),
  );
});
