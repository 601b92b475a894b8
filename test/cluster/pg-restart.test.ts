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
import { rawRequest } from '../helpers/admin-client.js';
import { createUsers, fresh, single, text } from '../helpers/messages.js';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/pg-server.js';
import { device, eventually, getToken, sdkDevice } from '../helpers/ws-client.js';
import { useCluster } from './harness.js';

describe('PostgreSQL restarted under three nodes', () => {
  let pg: PrivatePostgres;
  beforeAll(async () => {
    pg = await startPrivatePostgres();
  }, 60_000);
  afterAll(async () => {
    await pg.close();
  });
  const c = useCluster(() => ({ storeUrl: pg.url }));

  const ready = async (url: string): Promise<number> => (await rawRequest(url, { method: 'GET', path: '/ready' })).status;

  it('requests fail cleanly while it is down, nothing acknowledged is lost, service resumes by itself', async () => {
    const [alice, bob] = [fresh('alice'), fresh('bob')];
    await createUsers(c.nodes[0]!.admin, alice, bob);
    const bobOnC = await device(c.nodes[2]!.url, c.nodes[2]!.admin, bob);
    const acked: number[] = [];
    const failures: Array<{ status: number; code: number; ms: number }> = [];
    const unclean: string[] = [];
    let stop = false;
    const worker = async (via: number): Promise<void> => {
      const admin = c.nodes[via]!.admin;
      for (let i = 0; !stop; i++) {
        const t0 = Date.now();
        try {
          const r = await admin.post<{ messageUid: number }>('/message/send', { sender: alice, conv: single(bob), payload: text(`via ${via}: ${i}`) });
          if (r.status === 200 && r.body.code === 0) acked.push(r.body.result!.messageUid);
          else failures.push({ status: r.status, code: r.body.code, ms: Date.now() - t0 });
        } catch (err) {
          unclean.push(String(err));
        }
      }
    };
    const workers = [worker(0), worker(1)];
    await eventually(async () => acked.length >= 30, 'sends before the restart', 30_000);

    await pg.crash();
    const failedBefore = failures.length;
    await eventually(async () => failures.length >= failedBefore + 20, 'sends refused while PostgreSQL is down', 30_000);
    for (const n of c.nodes) expect(await ready(n.url), `node ${n.index} /ready`).toBe(503);
    for (const n of c.nodes) expect(n.alive).toBe(true);

    await pg.start();
    for (const n of c.nodes) {
      await eventually(async () => (await ready(n.url)) === 200, `node ${n.index} ready again`, 30_000);
      await eventually(
        async () => (await n.admin.post('/message/send', { sender: alice, conv: single(bob), payload: text(`probe ${n.index}`) })).body.code === 0,
        `a send through node ${n.index}`,
        30_000,
      );
    }
    const atRestart = acked.length;
    await eventually(async () => acked.length >= atRestart + 30, 'sends after the restart', 30_000);
    stop = true;
    await Promise.all(workers);

    expect(unclean).toEqual([]);
    expect(failures.every((f) => f.code !== 0 && f.ms < 10_000)).toBe(true);
    // Every acknowledged message: on the device connected throughout, once; in the store, once.
    for (const uid of acked) await bobOnC.waitMessage(uid, { timeoutMs: 30_000 });
    const live = bobOnC.messageUids();
    for (const uid of acked) expect(live.filter((x) => x === uid).length, `live ${uid}`).toBe(1);
    const audit = sdkDevice(c.nodes[1]!.url, { token: await getToken(c.nodes[1]!.admin, bob, 'bob-audit'), cursor: 0 });
    void audit.client.connect().catch(() => undefined);
    await audit.waitFor((e) => e.event === 'synced', { label: 'the audit replay', timeoutMs: 30_000 });
    const stored = audit.messageUids();
    for (const uid of acked) expect(stored.filter((x) => x === uid).length, `stored ${uid}`).toBe(1);
    audit.close();
  }, 180_000);
});
