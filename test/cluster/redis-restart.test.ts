/**
 * Redis restarted mid-load under three nodes (issue 13, item 6). The nodes use a private redis-server
 * (helpers/redis-server.ts: a free port, killed with SIGKILL and started again empty — the shared Redis
 * is never touched); the store is the test PostgreSQL. A device of one user on each node; sends go on
 * through two nodes before, during and after the outage.
 *
 * Expected: sends keep being acknowledged meanwhile (the store does not need Redis); each node notices
 * the lost subscription (a `reconnect` gap) and its devices resync from their cursors, so every
 * acknowledged message reaches every device exactly once, in cursor order; presence, emptied by the
 * restart, is rewritten by every node; traffic flows across nodes again afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/admin-client.js';
import { createUsers, fresh, single, text } from '../helpers/messages.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { cursorsOf, device, eventually, isNonDecreasing } from '../helpers/ws-client.js';
import { useCluster } from './harness.js';

describe('Redis restarted under three nodes', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis.close();
  });
  const c = useCluster(() => ({ busUrl: redis.url }));

  it('nodes recover by themselves and every device resyncs what it missed, once each', async () => {
    const [alice, bob] = [fresh('alice'), fresh('bob')];
    await createUsers(c.nodes[0]!.admin, alice, bob);
    const devices = await Promise.all(c.nodes.map((n) => device(n.url, n.admin, bob, `bob-on-${n.index}`)));
    const acked: number[] = [];
    let stop = false;
    const worker = async (via: number): Promise<void> => {
      const admin = c.nodes[via]!.admin;
      for (let i = 0; !stop; i++) {
        const r = await admin.post<{ messageUid: number }>('/message/send', { sender: alice, conv: single(bob), payload: text(`via ${via}: ${i}`) });
        if (r.status === 200 && r.body.code === 0) acked.push(r.body.result!.messageUid);
      }
    };
    const workers = [worker(0), worker(1)];
    const until = (n: number, what: string): Promise<void> => eventually(async () => acked.length >= n, what, 30_000);
    await until(40, 'sends before the outage');
    await redis.stop();
    await until(acked.length + 40, 'sends while Redis is down');
    await redis.start();
    await until(acked.length + 40, 'sends after Redis is back');
    stop = true;
    await Promise.all(workers);

    for (const d of devices) {
      for (const uid of acked) await d.waitMessage(uid, { timeoutMs: 30_000 });
      const got = d.messageUids();
      for (const uid of acked) expect(got.filter((x) => x === uid).length, `message ${uid}`).toBe(1);
      expect(isNonDecreasing(cursorsOf(d.frames))).toBe(true);
    }
    // Every node saw the lost subscription.
    for (const n of c.nodes) {
      const m = await rawRequest(n.url, { method: 'GET', path: '/metrics' });
      expect(m.raw, `node ${n.index} metrics`).toMatch(/switchboard_bus_gaps_total\{reason="reconnect"\} [1-9]/);
    }
    // Presence is back (each node rewrote its devices), through any node.
    for (const n of c.nodes) {
      await eventually(async () => {
        const r = await n.admin.ok<{ sessions: Array<{ clientId: string }> }>('/user/onlinestatus', { userId: bob });
        return r.sessions.length === 3;
      }, `bob's three devices listed through node ${n.index}`, 10_000);
    }
    // And live traffic crosses nodes again.
    const after = await c.nodes[2]!.admin.send(alice, single(bob), text('after the restart'));
    for (const d of devices) await d.waitMessage(after.messageUid);
  }, 180_000);
});
