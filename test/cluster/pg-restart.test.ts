/**
 * PostgreSQL restarted under three nodes (issue 13, item 6). The nodes use a PostgreSQL of the test's
 * own (helpers/pg-server.ts: initdb into a temp directory, a free port), which the test shuts down
 * immediately under load — every backend killed, nothing checkpointed, as in a crash — and starts again
 * (WAL recovery). The shared PostgreSQL is never touched. pg-outage.test.ts cuts the network instead.
 *
 * Expected: meanwhile every request is answered promptly with an error in the admin envelope (no hang,
 * no crash of a node); afterwards every node serves again by itself; every acknowledged message is
 * stored exactly once and reached the device that was connected throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsers, fresh } from '../helpers/messages.js';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/pg-server.js';
import { device, eventually } from '../helpers/ws-client.js';
import { useCluster } from './harness.js';
import { expectEachAckedOnce, expectServingAgain, readyStatus, sendLoad } from './outage-load.js';

describe('PostgreSQL restarted under three nodes', () => {
  let pg: PrivatePostgres;
  beforeAll(async () => {
    pg = await startPrivatePostgres();
  }, 60_000);
  afterAll(async () => {
    await pg.close();
  });
  const c = useCluster(() => ({ storeUrl: pg.url }));


  it('requests fail cleanly while it is down, nothing acknowledged is lost, service resumes by itself', async () => {
    const [alice, bob] = [fresh('alice'), fresh('bob')];
    await createUsers(c.nodes[0]!.admin, alice, bob);
    const bobOnC = await device(c.nodes[2]!.url, c.nodes[2]!.admin, bob);
    const load = sendLoad(c, alice, bob);
    await eventually(async () => load.acked.length >= 30, 'sends before the restart', 30_000);

    await pg.crash();
    const failedBefore = load.failures.length;
    await eventually(async () => load.failures.length >= failedBefore + 20, 'sends refused while PostgreSQL is down', 30_000);
    for (const n of c.nodes) expect(await readyStatus(n.url), `node ${n.index} /ready`).toBe(503);
    for (const n of c.nodes) expect(n.alive).toBe(true);

    await pg.start();
    await expectServingAgain(c, alice, bob);
    const atRestart = load.acked.length;
    await eventually(async () => load.acked.length >= atRestart + 30, 'sends after the restart', 30_000);
    await load.stop();
    await expectEachAckedOnce(c, load, bobOnC, bob);
  }, 180_000);
});
