/**
 * The load and the checks the PostgreSQL outage suites share (pg-outage: the network cut; pg-restart:
 * the server restarted): sends from alice to bob through two nodes in a loop, each outcome recorded;
 * afterwards, every acknowledged message must have reached a device connected throughout once and be
 * stored once (read back by a fresh device replaying from cursor 0).
 */
import { expect } from 'vitest';
import { rawRequest } from '../helpers/admin-client.js';
import { single, text } from '../helpers/messages.js';
import { eventually, getToken, sdkDevice, type WsClient } from '../helpers/ws-client.js';
import type { Cluster } from './harness.js';

export interface SendLoad {
  /** uids of the sends answered with code 0. */
  readonly acked: number[];
  /** Sends answered with anything else: HTTP status, code, time to the answer. */
  readonly failures: Array<{ status: number; code: number; ms: number }>;
  /** Sends that got no answer (a connection error, a malformed reply). */
  readonly unclean: string[];
  /** Stop the loop; resolves when the last send in flight is answered. */
  stop(): Promise<void>;
}

/** Sends from `alice` to `bob` through nodes 0 and 1, one at a time each, until stopped. */
export function sendLoad(c: Cluster, alice: string, bob: string): SendLoad {
  const acked: number[] = [];
  const failures: SendLoad['failures'] = [];
  const unclean: string[] = [];
  let stopped = false;
  const worker = async (via: number): Promise<void> => {
    const admin = c.nodes[via]!.admin;
    for (let i = 0; !stopped; i++) {
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
  return {
    acked,
    failures,
    unclean,
    stop: async () => {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

/** GET /ready of a node: its HTTP status. */
export async function readyStatus(url: string): Promise<number> {
  return (await rawRequest(url, { method: 'GET', path: '/ready' })).status;
}

/** Every node answers /ready 200 again and accepts a send, by itself (within 30 s each). */
export async function expectServingAgain(c: Cluster, alice: string, bob: string): Promise<void> {
  for (const n of c.nodes) {
    await eventually(async () => (await readyStatus(n.url)) === 200, `node ${n.index} ready again`, 30_000);
    await eventually(
      async () => (await n.admin.post('/message/send', { sender: alice, conv: single(bob), payload: text(`probe ${n.index}`) })).body.code === 0,
      `a send through node ${n.index}`,
      30_000,
    );
  }
}

/**
 * Every acknowledged send of `load`: answered without a hang and refused in the admin envelope
 * otherwise; on `live` (connected throughout) once; in the store once (replayed through node 1).
 */
export async function expectEachAckedOnce(c: Cluster, load: SendLoad, live: WsClient, bob: string): Promise<void> {
  expect(load.unclean).toEqual([]);
  expect(load.failures.every((f) => f.code !== 0 && f.ms < 10_000)).toBe(true);
  for (const uid of load.acked) await live.waitMessage(uid, { timeoutMs: 30_000 });
  const got = live.messageUids();
  for (const uid of load.acked) expect(got.filter((x) => x === uid).length, `live ${uid}`).toBe(1);
  const audit = sdkDevice(c.nodes[1]!.url, { token: await getToken(c.nodes[1]!.admin, bob, 'bob-audit'), cursor: 0 });
  void audit.client.connect().catch(() => undefined);
  await audit.waitFor((e) => e.event === 'synced', { label: 'the audit replay', timeoutMs: 30_000 });
  const stored = audit.messageUids();
  for (const uid of load.acked) expect(stored.filter((x) => x === uid).length, `stored ${uid}`).toBe(1);
  audit.close();
}
