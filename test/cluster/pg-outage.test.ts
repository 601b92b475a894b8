/**
 * PostgreSQL going away and coming back under three nodes (issue 13, item 6). The nodes reach the test
 * PostgreSQL through a TCP proxy (helpers/tcp-proxy.ts) that the test cuts — every connection reset,
 * new ones refused, as while a server restarts — and restores. The shared PostgreSQL itself is never
 * restarted (other suites use it).
 *
 * Expected: meanwhile every request is answered promptly with an error in the surface's envelope (no
 * hang, no crash, no acknowledged write lost), /ready answers 503 (a load balancer takes the nodes out);
 * afterwards every node serves again by itself, without a restart; every acknowledged message is stored
 * exactly once and reached the device that was connected throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPgUrl } from '../helpers/backends.js';
import { createUsers, fresh } from '../helpers/messages.js';
import { startProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { device, eventually } from '../helpers/ws-client.js';
import { useCluster } from './harness.js';
import { expectEachAckedOnce, expectServingAgain, readyStatus, sendLoad } from './outage-load.js';

describe('PostgreSQL cut off and back under three nodes', () => {
  let proxy: TcpProxy;
  beforeAll(async () => {
    const target = new URL(testPgUrl());
    proxy = await startProxy(Number(target.port || 5432), target.hostname);
  });
  afterAll(async () => {
    await proxy.close();
  });
  const c = useCluster(() => {
    const url = new URL(testPgUrl());
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    return { storeUrl: url.toString() };
  });

  it('requests fail cleanly meanwhile, nothing acknowledged is lost, service resumes by itself', async () => {
    const [alice, bob] = [fresh('alice'), fresh('bob')];
    await createUsers(c.nodes[0]!.admin, alice, bob);
    const bobOnC = await device(c.nodes[2]!.url, c.nodes[2]!.admin, bob);
    const load = sendLoad(c, alice, bob);
    await eventually(async () => load.acked.length >= 30, 'sends before the cut', 30_000);

    proxy.cut();
    const failedBefore = load.failures.length;
    await eventually(async () => load.failures.length >= failedBefore + 20, 'sends refused while PostgreSQL is away', 30_000);
    for (const n of c.nodes) expect(await readyStatus(n.url), `node ${n.index} /ready`).toBe(503);
    for (const n of c.nodes) expect(n.alive).toBe(true);

    proxy.restore();
    await expectServingAgain(c, alice, bob);
    const atRestore = load.acked.length;
    await eventually(async () => load.acked.length >= atRestore + 30, 'sends after the restore', 30_000);
    await load.stop();
    await expectEachAckedOnce(c, load, bobOnC, bob);
  }, 180_000);
});
