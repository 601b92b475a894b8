import fc from 'fast-check';
import { rawHttp } from '../helpers/raw-http.js';
import { buildAdminRequest, framingArb, SDK_FRAMING, type Framing } from './admin-requests.js';
import { fieldPaths, schemaAt, type AdminRoute } from './admin-routes.js';
import { garbageBytes } from './arbitraries.js';
import { REPLY_DEADLINE_MS } from './config.js';
import { POOLS } from './fixtures.js';
import { checkAdminReply, guardedCase, type AdminVerdict } from './invariants.js';
import { jsonText } from './json-text.js';
import { applyMutations, HUGE_ARRAY_SIZES, HUGE_STRING_SIZES, mutationsArb, synth, type Mutation } from './mutations.js';
import { oracleViolations } from './oracles.js';
import { summarize } from './run-property.js';
import { validArb, type GenContext, type JsonSchema } from './schema-arbitrary.js';
import { FUZZ_SECRET, type FuzzServer } from './target.js';

/** Cases of the admin-route properties: what is generated, how it is sent and checked. */

export interface AdminCase {
  route: AdminRoute;
  /** Overrides route.path (path spellings, unknown paths). */
  path?: string;
  known?: boolean | 'either';
  /** The body as a value (serialised with fixture references resolved), or raw bytes. */
  body: unknown;
  raw?: Buffer;
  framing: Framing;
  /** What was done to the body, for the report. */
  notes: string[];
}

export function describeCase(c: AdminCase): string {
  const f = c.framing;
  const framing = f.sign === 'valid' && f.contentType === 'sdk' && f.length === 'exact' && f.extra === 'none' ? '' : ` framing=${JSON.stringify(f)}`;
  const body = c.raw ? summarize(c.raw) : summarize(c.body);
  return `POST ${c.path ?? c.route.path}${framing}${c.notes.length ? ` [${c.notes.join('; ')}]` : ''} body=${body}`;
}

const limits = () => ({ maxStringChars: Number.POSITIVE_INFINITY, maxToLines: Number.POSITIVE_INFINITY });

/** A valid-shaped body for `route` with zero to three mutations. */
export function mutatedBodyArb(routes: AdminRoute[], happy = 0.5): fc.Arbitrary<AdminCase> {
  const ctx: GenContext = { pools: POOLS, happy };
  return fc.constantFrom(...routes).chain((route) =>
    fc.tuple(validArb(route.body, '', ctx), mutationsArb).map(([value, muts]: [unknown, Mutation[]]) => {
      const { value: body, notes } = applyMutations(value, route.body, muts, limits());
      return { route, body, framing: SDK_FRAMING, notes };
    }),
  );
}

/** Set `value` at `path`, creating missing parent objects with their required fields. */
function setDeep(root: Record<string, unknown>, schema: JsonSchema, path: string[], value: unknown): void {
  let cur = root;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    const next = cur[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[k] = synth(schemaAt(schema, path.slice(0, i + 1)), 0, 0) ?? {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

/**
 * A body for a route with one array field filled with thousands of valid, distinct (or equal) items.
 * The (route, field) pair is drawn uniformly, so that a field many routes share (to_lines) is drawn
 * as often as it occurs.
 */
export function largestArrayArb(routes: AdminRoute[]): fc.Arbitrary<AdminCase> {
  const pairs = routes.filter((r) => r.signed).flatMap((r) => fieldPaths(r.body, 'array').map((f) => [r, f] as const));
  const ctx: GenContext = { pools: POOLS, happy: 0.9 };
  return fc.constantFrom(...pairs).chain(([route, field]) =>
    fc
      .record({
        value: validArb(route.body, '', ctx),
        size: fc.constantFrom(...HUGE_ARRAY_SIZES),
        variant: fc.nat(),
      })
      .map(({ value, size, variant }) => {
        const body = (value !== null && typeof value === 'object' ? applyMutations(value, route.body, []).value : {}) as Record<string, unknown>;
        const n = field[field.length - 1] === 'to_lines' ? Math.min(size, limits().maxToLines) : size;
        const items = schemaAt(route.body, field)?.items;
        const same = variant % 4 === 0;
        setDeep(
          body,
          route.body,
          field,
          Array.from({ length: n }, (_, i) => synth(items, same ? 0 : i, variant)),
        );
        return { route, body, framing: SDK_FRAMING, notes: [`${field.join('.')} = ${n} ${same ? 'equal' : 'distinct'} valid items`] };
      }),
  );
}

/** A body for a route with one string field at a huge size (under and over the body limit). */
export function largestStringArb(routes: AdminRoute[]): fc.Arbitrary<AdminCase> {
  const withStrings = routes.filter((r) => r.signed && fieldPaths(r.body, 'string').length > 0);
  const ctx: GenContext = { pools: POOLS, happy: 0.85 };
  const sizes = HUGE_STRING_SIZES.filter((n) => n <= limits().maxStringChars);
  return fc.constantFrom(...withStrings).chain((route) =>
    fc
      .record({ value: validArb(route.body, '', ctx), field: fc.constantFrom(...fieldPaths(route.body, 'string')), size: fc.constantFrom(...sizes), unit: fc.constantFrom('a', 'é', '😀') })
      .map(({ value, field, size, unit }) => {
        const body = (value !== null && typeof value === 'object' ? applyMutations(value, route.body, []).value : {}) as Record<string, unknown>;
        setDeep(body, route.body, field, unit.repeat(size));
        return { route, body, framing: SDK_FRAMING, notes: [`${field.join('.')} = ${size}×${JSON.stringify(unit)}`] };
      }),
  );
}

const PATH_SPELLINGS: ReadonlyArray<(p: string) => { path: string; known: boolean | 'either' }> = [
  (p) => ({ path: `${p}?x=1&x=2`, known: true }),
  (p) => ({ path: `${p}/`, known: 'either' }),
  (p) => ({ path: p.replace('/admin/', '/admin//'), known: 'either' }),
  (p) => ({ path: p.toUpperCase().replace('/ADMIN/', '/admin/'), known: 'either' }),
  (p) => ({ path: `${p}%00`, known: 'either' }),
  (p) => ({ path: `${p}/..`, known: 'either' }),
  (p) => ({ path: p.replace('/admin/', '/admin/./'), known: 'either' }),
  (p) => ({ path: `${p}#frag`, known: 'either' }),
  (p) => ({ path: `${p};jsessionid=1`, known: 'either' }),
];

/** Raw garbage bodies on known routes, path spellings and unknown paths. */
export function garbageArb(routes: AdminRoute[]): fc.Arbitrary<AdminCase> {
  const ctx: GenContext = { pools: POOLS, happy: 0.5 };
  const route = fc.constantFrom(...routes);
  const target = fc.oneof(
    { arbitrary: route.map((r) => ({ route: r, path: r.path, known: true as boolean | 'either' })), weight: 6 },
    { arbitrary: fc.tuple(route, fc.constantFrom(...PATH_SPELLINGS)).map(([r, f]) => ({ route: r, ...f(r.path) })), weight: 2 },
    {
      arbitrary: fc.tuple(route, fc.stringMatching(/^[a-z_]{1,12}(\/[a-z_]{1,12})?$/)).map(([r, p]) => ({ route: r, path: `/admin/${p}`, known: false as boolean | 'either' })),
      weight: 1,
    },
  );
  return fc
    .tuple(
      target,
      fc.oneof(
        garbageBytes,
        // A valid body cut short.
        fc.tuple(route.chain((r) => validArb(r.body, '', ctx)), fc.nat()).map(([v, n]) => {
          const t = Buffer.from(jsonText(v));
          return t.subarray(0, n % Math.max(1, t.length));
        }),
      ),
    )
    .map(([t, raw]) => ({
      route: t.route,
      path: t.path,
      known: routes.some((r) => r.path === t.path) ? true : t.known,
      body: undefined,
      raw,
      framing: SDK_FRAMING,
      notes: ['raw body'],
    }));
}

/** Valid-shaped bodies sent with fuzzed framing: signature headers, content type, length framing. */
export function framedArb(routes: AdminRoute[]): fc.Arbitrary<AdminCase & { replay: boolean }> {
  const ctx: GenContext = { pools: POOLS, happy: 0.5 };
  return fc.constantFrom(...routes).chain((route) =>
    fc.record({ body: validArb(route.body, '', ctx), framing: framingArb, replay: fc.boolean() }).map(({ body, framing, replay }) => ({
      route,
      body,
      framing,
      notes: [],
      // Replays only of requests that were signed correctly (the second copy must be refused).
      replay: replay && route.signed && framing.sign === 'valid' && framing.length === 'exact',
    })),
  );
}

/** The bytes of a case's body. */
export function bodyBytes(server: FuzzServer, c: AdminCase): Buffer {
  return c.raw ?? Buffer.from(jsonText(c.body, server.resolve), 'utf8');
}

/** Send a case once (no invariants around it beyond the reply's own). */
export async function sendCase(server: FuzzServer, c: AdminCase, label: string, bytes?: Buffer): Promise<AdminVerdict> {
  const body = bodyBytes(server, c);
  const req = buildAdminRequest(server.url, { path: c.path ?? c.route.path, signed: c.route.signed, known: c.known ?? true }, body, c.framing, FUZZ_SECRET);
  const res = await rawHttp(server.url, bytes ?? req.bytes, { timeoutMs: REPLY_DEADLINE_MS, halfClose: req.halfClose });
  return checkAdminReply(label, res, req.exp);
}

/**
 * One admin case under every invariant; returns the verdict.
 */
export async function adminCase(server: FuzzServer, c: AdminCase): Promise<AdminVerdict | undefined> {
  const label = `POST ${c.path ?? c.route.path}`;
  let verdict: AdminVerdict | undefined;
  await guardedCase(server, label, async () => {
    verdict = await sendCase(server, c, label);
    if (!verdict.refused && c.raw === undefined) {
      const broken = oracleViolations(c.path ?? c.route.path, c.body);
      if (broken.length > 0) throw new Error(`${label}: ${broken.join('; ')}`);
    }
    return verdict;
  });
  return verdict;
}

/**
 * A correctly signed request sent twice, byte for byte: the copy must be refused (244 as a replay)
 * and change nothing.
 */
export async function replayCase(server: FuzzServer, c: AdminCase): Promise<void> {
  const label = `POST ${c.route.path} (replayed copy)`;
  const body = bodyBytes(server, c);
  const req = buildAdminRequest(server.url, { path: c.route.path, signed: c.route.signed, known: true }, body, c.framing, FUZZ_SECRET);
  if (req.exp.mayBare4xx || req.exp.mayClose) {
    // Framing the HTTP parser may refuse: no reply to compare a replay with.
    await adminCase(server, c);
    return;
  }
  const original = `POST ${c.route.path} (original of a replay)`;
  await guardedCase(server, original, async () => {
    const res = await rawHttp(server.url, req.bytes, { timeoutMs: REPLY_DEADLINE_MS });
    return checkAdminReply(original, res, req.exp);
  });
  await guardedCase(server, label, async () => {
    const res = await rawHttp(server.url, req.bytes, { timeoutMs: REPLY_DEADLINE_MS });
    const v = checkAdminReply(label, res, { ...req.exp, authentic: false });
    if (v.code !== 244) throw new Error(`${label}: a replayed request was answered code ${String(v.code)} (want 244)`);
    return v;
  });
}
