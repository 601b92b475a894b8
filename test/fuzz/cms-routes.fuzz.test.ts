import { afterAll, beforeAll, describe, it } from 'vitest';
import { cmsCase, cmsCaseArb, CmsFixtures, describeCmsCase, type CmsCase } from './cms-cases.js';
import { testTimeoutMs } from './config.js';
import { guardedCase } from './invariants.js';
import { runProperty } from './run-property.js';
import { FuzzServer } from './target.js';

/**
 * Fuzzing the notification centre (/v1/cms, seed 004) of a real server process: every route with
 * every token form and kind, existing, unknown and malformed ids, seed-shaped bodies with hostile
 * values, garbage and oversized bodies, paging parameters, unknown paths. Invariants: invariants.ts
 * (alive, no 5xx, replies within 5 s, the canary), plus the surface's contract (cms-cases.ts).
 */
describe('fuzz: notification centre routes', () => {
  const server = new FuzzServer({ env: { SWITCHBOARD_NOTIFY_BODY_LIMIT: '2000000' } });
  const fx = new CmsFixtures(server);
  const file = import.meta.url;

  beforeAll(async () => {
    await server.ready();
  }, 60_000);
  afterAll(async () => {
    await server.dispose();
  });

  it(
    'cms routes: tokens, ids, bodies, paging and unknown paths',
    async () => {
      await server.ready();
      await runProperty<CmsCase>({
        name: 'cms routes: tokens, ids, bodies, paging and unknown paths',
        file,
        arb: cmsCaseArb,
        runs: [80, 4000],
        budgetMs: [15_000, 900_000],
        finish: () => server.finalCheck(),
        describe: describeCmsCase,
        check: async (c) => {
          // The operator, the user's token and the fixture notifications exist before the case's
          // snapshot is taken (creating them is not the case's doing).
          await server.ready();
          await fx.ready();
          await guardedCase(server, describeCmsCase(c), () => cmsCase(server, fx, c));
        },
      });
    },
    testTimeoutMs(15_000, 900_000),
  );
});
