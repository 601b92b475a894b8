import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawHttp } from '../helpers/raw-http.js';
import { adminCase, describeCase, framedArb, garbageArb, largestArrayArb, largestStringArb, mutatedBodyArb, replayCase, type AdminCase } from './admin-cases.js';
import { buildAdminRequest, SDK_FRAMING } from './admin-requests.js';
import { discoverAdminRoutes, type AdminRoute } from './admin-routes.js';
import { BODY_LIMIT, REPLY_DEADLINE_MS, testTimeoutMs } from './config.js';
import { FX } from './fixtures.js';
import { checkAdminReply, guardedCase } from './invariants.js';
import { runProperty } from './run-property.js';
import { FUZZ_SECRET, FuzzServer } from './target.js';

/**
 * Fuzzing every admin route of a real server process (`dist/cli.js serve`): the routes and their body
 * schemas come from the server's own OpenAPI document, so a new route is fuzzed without a change
 * here. Each case is checked against the invariants of invariants.ts (process alive, no 5xx or
 * internal error, a reply within 5 s, refused inputs change no stored data, canary devices served).
 */
describe('fuzz: admin routes', () => {
  const server = new FuzzServer();
  let routes: AdminRoute[] = [];

  beforeAll(async () => {
    await server.ready();
    routes = await discoverAdminRoutes(server.url);
  }, 60_000);
  afterAll(async () => {
    await server.dispose();
  });

  const file = import.meta.url;

  it('every admin route is fuzzed (discovered from /docs/json)', () => {
    const paths = routes.map((r) => r.path);
    for (const p of ['/admin/message/send', '/admin/group/manager/set', '/admin/user/create', '/admin/callback/set_target', '/admin/health']) expect(paths).toContain(p);
    expect(routes.find((r) => r.path === '/admin/health')?.signed).toBe(false);
    expect(routes.filter((r) => r.signed).length).toBeGreaterThan(40);
  });

  it(
    'admin routes: schema-shaped bodies with mutations',
    async () => {
      // A restart after an earlier failure is not charged to this property's time budget.
      await server.ready();
      await runProperty<AdminCase>({
        name: 'admin routes: schema-shaped bodies with mutations',
        file,
        arb: mutatedBodyArb(routes),
        runs: [70, 4000],
        budgetMs: [10_000, 900_000],
        finish: () => server.finalCheck(),
        describe: describeCase,
        check: async (c) => {
          await adminCase(server, c);
        },
      });
    },
    testTimeoutMs(10_000, 900_000),
  );

  it(
    'admin routes: every array field at its largest',
    async () => {
      // A restart after an earlier failure is not charged to this property's time budget.
      await server.ready();
      await runProperty<AdminCase>({
        name: 'admin routes: every array field at its largest',
        file,
        arb: largestArrayArb(routes),
        runs: [20, 1000],
        budgetMs: [6_000, 600_000],
        finish: () => server.finalCheck(),
        describe: describeCase,
        check: async (c) => {
          await adminCase(server, c);
        },
      });
    },
    testTimeoutMs(6_000, 600_000),
  );

  it(
    'admin routes: every string field at its largest',
    async () => {
      // A restart after an earlier failure is not charged to this property's time budget.
      await server.ready();
      await runProperty<AdminCase>({
        name: 'admin routes: every string field at its largest',
        file,
        arb: largestStringArb(routes),
        runs: [10, 600],
        budgetMs: [3_000, 300_000],
        finish: () => server.finalCheck(),
        describe: describeCase,
        check: async (c) => {
          await adminCase(server, c);
        },
      });
    },
    testTimeoutMs(3_000, 300_000),
  );

  it(
    'admin routes: garbage bodies, path spellings and unknown paths',
    async () => {
      // A restart after an earlier failure is not charged to this property's time budget.
      await server.ready();
      await runProperty<AdminCase>({
        name: 'admin routes: garbage bodies, path spellings and unknown paths',
        file,
        arb: garbageArb(routes),
        runs: [30, 2000],
        budgetMs: [3_000, 300_000],
        finish: () => server.finalCheck(),
        describe: describeCase,
        check: async (c) => {
          await adminCase(server, c);
        },
      });
    },
    testTimeoutMs(3_000, 300_000),
  );

  it(
    'admin routes: signature headers, content types and length framing',
    async () => {
      // A restart after an earlier failure is not charged to this property's time budget.
      await server.ready();
      await runProperty<AdminCase & { replay: boolean }>({
        name: 'admin routes: signature headers, content types and length framing',
        file,
        arb: framedArb(routes),
        runs: [50, 3000],
        budgetMs: [5_000, 600_000],
        finish: () => server.finalCheck(),
        describe: (c) => `${describeCase(c)}${c.replay ? ' (sent twice)' : ''}`,
        check: async (c) => {
          if (c.replay) await replayCase(server, c);
          else await adminCase(server, c);
        },
      });
    },
    testTimeoutMs(5_000, 600_000),
  );

  // The cases of issue 8's "What was found" that concern the admin API, as fixed regressions.

  it(
    'issue 8 #2 (to_lines unbounded): group/manager/set with 12 000 distinct lines is answered within 5 s',
    async () => {
      const route = routes.find((r) => r.path === '/admin/group/manager/set')!;
      const lines = Array.from({ length: 12_000 }, (_, i) => 1000 + i * 7);
      const c: AdminCase = {
        route,
        body: { operator: FX.owner, group_id: FX.group, members: [FX.member1], is_manager: true, to_lines: lines },
        framing: SDK_FRAMING,
        notes: ['12 000 distinct to_lines'],
      };
      await adminCase(server, c);
    },
    60_000,
  );

  it(
    'issue 8 #3 (loose integers): group/modify types 3..8 refuse " 5", "5 ", "\\t7", "5\\n" with 251 and store nothing',
    async () => {
      const route = routes.find((r) => r.path === '/admin/group/modify')!;
      for (const type of [3, 4, 5, 6, 7, 8]) {
        for (const value of [' 1', '1 ', '\t1', '1\n']) {
          const c: AdminCase = { route, body: { operator: FX.owner, group_id: FX.group, type, value }, framing: SDK_FRAMING, notes: [] };
          const v = await adminCase(server, c);
          expect(v?.code, `type ${type} value ${JSON.stringify(value)}`).toBe(251);
        }
      }
    },
    60_000,
  );

  it(
    'issue 8 #4 (oversized body): a body over the limit written without waiting for 100 Continue gets the 251 envelope, not a reset',
    async () => {
      const route = routes.find((r) => r.path === '/admin/message/send')!;
      // Several times the limit, so that the client is still writing when the server answers.
      const body = Buffer.from(JSON.stringify({ sender: FX.owner, conv: { type: 0, target: FX.member1, line: 0 }, payload: { type: 1, content: 'x'.repeat(8 * BODY_LIMIT) } }));
      // A raw client that writes the whole body at once.
      await guardedCase(server, 'oversized body (raw)', async () => {
        const req = buildAdminRequest(server.url, { path: route.path, signed: true, known: true }, body, SDK_FRAMING, FUZZ_SECRET);
        const res = await rawHttp(server.url, req.bytes, { timeoutMs: REPLY_DEADLINE_MS });
        const v = checkAdminReply('oversized body (raw)', res, req.exp);
        expect(v.code).toBe(251);
        return v;
      });
      // Node's fetch, as in the report.
      await guardedCase(server, 'oversized body (fetch)', async () => {
        const req = buildAdminRequest(server.url, { path: route.path, signed: true, known: true }, body, SDK_FRAMING, FUZZ_SECRET);
        const head = req.bytes.subarray(0, req.bytes.indexOf('\r\n\r\n')).toString('latin1').split('\r\n').slice(1);
        const headers = Object.fromEntries(head.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]).filter(([k]) => !/^(host|content-length)$/i.test(k!)));
        let reply: { status: number; body: { code: number } };
        try {
          const r = await fetch(`${server.url}${route.path}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(REPLY_DEADLINE_MS) });
          reply = { status: r.status, body: (await r.json()) as { code: number } };
        } catch (err) {
          throw new Error(`fetch of an oversized body failed instead of getting the 251 envelope: ${String((err as Error).cause ?? err)}`);
        }
        expect(reply).toEqual({ status: 200, body: { code: 251, msg: 'Invalid parameter' } });
        return { refused: true };
      });
    },
    60_000,
  );
});
