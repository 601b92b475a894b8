import { rawHttp, requestBytes } from '../helpers/raw-http.js';
import type { JsonSchema } from './schema-arbitrary.js';

/**
 * The admin routes as the running server publishes them (GET /docs/json, its OpenAPI document): every
 * path under /admin/, whether it is signed, and its body schema. A route added to the server joins
 * the fuzz suite without a change here.
 */
export interface AdminRoute {
  /** Full path, e.g. /admin/message/send. */
  path: string;
  methods: string[];
  signed: boolean;
  body: JsonSchema;
}

interface OpenApiOperation {
  security?: unknown[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

export async function discoverAdminRoutes(baseUrl: string): Promise<AdminRoute[]> {
  const res = await rawHttp(baseUrl, requestBytes({ method: 'GET', path: '/docs/json', headers: [['Host', new URL(baseUrl).host], ['Connection', 'close']] }), {
    timeoutMs: 10_000,
  });
  if (!res.response || res.response.status !== 200) throw new Error(`GET /docs/json: ${res.outcome} ${res.response?.status ?? ''}`);
  const doc = JSON.parse(res.response.body.toString('utf8')) as { paths: Record<string, Record<string, OpenApiOperation>> };
  const routes: AdminRoute[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    if (!path.startsWith('/admin/')) continue;
    const methods = Object.keys(ops).map((m) => m.toUpperCase());
    const op = ops['post'] ?? Object.values(ops)[0]!;
    const schema = op.requestBody?.content?.['application/json']?.schema ?? { type: 'object', properties: {} };
    routes.push({ path, methods, signed: (op.security?.length ?? 0) > 0, body: schema });
  }
  if (routes.length < 10) throw new Error(`only ${routes.length} admin routes in /docs/json`);
  return routes;
}

/** Paths of the fields of `schema` (through nested objects, not into arrays) whose type is `kind`. */
export function fieldPaths(schema: JsonSchema, kind: 'array' | 'string', prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [k, raw] of Object.entries(schema.properties ?? {})) {
    const s = nonNull(raw);
    if (s.type === kind) out.push([...prefix, k]);
    if (s.type === 'object') out.push(...fieldPaths(s, kind, [...prefix, k]));
  }
  return out;
}

/** The non-null branch of a nullable union (the schema itself otherwise). */
export function nonNull(s: JsonSchema): JsonSchema {
  const branches = s.anyOf ?? s.oneOf;
  if (!branches) return s;
  return branches.find((b) => b.type !== 'null' && !(b.enum?.length === 1 && b.enum[0] === null)) ?? s;
}

/** The schema at `path` below `schema` (following object properties). */
export function schemaAt(schema: JsonSchema, path: string[]): JsonSchema | undefined {
  let s: JsonSchema | undefined = schema;
  for (const k of path) s = s ? nonNull(s).properties?.[k] : undefined;
  return s ? nonNull(s) : undefined;
}
