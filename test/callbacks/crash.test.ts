import { describe, expect, it } from 'vitest';
import { ok, tencentSign } from '../helpers/callback-receiver.js';
import { textOf, useReceiver } from '../helpers/callbacks.js';
import { useChildServer } from '../helpers/child-server.js';
import { eventually } from '../helpers/ws-client.js';
import { text } from '../helpers/payloads.js';

const SECRET = 'callback-crash-secret';
const C2C = 'C2C.CallbackAfterSendMsg';

/**
 * Pending callbacks survive kill -9: the server runs as a child process (synchronous=FULL) while the
 * back end answers 503, so every job stays queued; clients keep sending while the process is killed;
 * the back end recovers and the server restarts on the same data directory. Every acknowledged
 * message's callback then arrives, each under exactly one delivery id (a job re-sent under the same
 * id counts once), and each sender's messages in the order they were acknowledged.
 */
describe('callbacks across kill -9', () => {
  let down = true;
  const receiver = useReceiver(() => (down ? { status: 503, body: 'back end restarting' } : undefined));
  const node = useChildServer(() => ({
    secret: SECRET,
    startIn: 'manual',
    env: {
      SWITCHBOARD_CALLBACK_URL: `${receiver.url}/cb`,
      SWITCHBOARD_CALLBACK_TOKEN: 'tok',
      SWITCHBOARD_SDK_APP_ID: '1400000001',
      SWITCHBOARD_CALLBACK_FIRST_RETRY_MS: '20',
      SWITCHBOARD_CALLBACK_MAX_RETRY_MS: '200',
      SWITCHBOARD_CALLBACK_POLL_MS: '20',
      // A job in flight when the process died is claimable again after its lease.
      SWITCHBOARD_CALLBACK_LEASE_MS: '1000',
    },
  }));

  it('delivers every acknowledged message once per delivery id after a restart', async () => {
    let child = await node.start();
    let admin = node.admin;
    const users = ['a', 'b', 'c', 'd'];
    for (const u of users) await admin.ok('/user/create', { userId: u, name: u });
    const convs: Array<[string, string]> = [
      ['a', 'b'],
      ['c', 'd'],
      ['a', 'c'],
      ['b', 'd'],
    ];

    // Worker w sends w<w>-<i> one after the other in one conversation: acknowledgement order is creation order.
    const acked = new Map<string, number>(); // text -> worker
    const ackedOrder: string[][] = [];
    let stop = false;
    const worker = async (w: number): Promise<void> => {
      ackedOrder[w] = [];
      const [from, to] = convs[w % convs.length]!;
      for (let i = 0; !stop; i++) {
        const s = `w${w}-${i}`;
        try {
          const res = await admin.post<{ messageUid: number }>('/message/send', {
            sender: from,
            conv: { type: 0, target: to, line: 0 },
            payload: text(s),
          });
          if (res.body.code === 0) {
            acked.set(s, w);
            ackedOrder[w]!.push(s);
          }
        } catch {
          return; // connection refused or reset: the server is gone
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    // Kill once enough is acknowledged and the back end has refused some attempts, while sends go on.
    await receiver.waitFor((q) => (q.attempt ?? 0) >= 2, { label: 'a retried attempt', timeoutMs: 10_000 });
    while (acked.size < 150) await new Promise<void>((res) => setImmediate(res));
    child.proc.kill('SIGKILL');
    const exit = await child.exited;
    stop = true;
    await Promise.all(workers);
    expect(exit.signal).toBe('SIGKILL');
    expect(receiver.requests.filter(ok)).toEqual([]);

    // The back end is back; so is the server, on the same data.
    down = false;
    const mark = receiver.mark;
    child = await node.start();
    admin = node.admin;
    for (const s of acked.keys()) {
      await receiver.waitDelivered(C2C, (b) => textOf(b) === s, { label: `the callback of ${s}`, timeoutMs: 20_000 });
    }

    // Each message: one delivery id, whatever the number of attempts or re-sends; distinct across messages.
    const idsByText = new Map<string, Set<string>>();
    for (const q of receiver.all(C2C)) {
      const s = textOf(q.json);
      if (!idsByText.has(s)) idsByText.set(s, new Set());
      idsByText.get(s)!.add(q.deliveryId ?? '(none)');
    }
    const multi = [...idsByText.entries()].filter(([, ids]) => ids.size !== 1).map(([s, ids]) => `${s}: ${[...ids].join(',')}`);
    expect(multi).toEqual([]);
    const deliveredIds = new Set(receiver.requests.filter((q) => q.command === C2C && ok(q) && acked.has(textOf(q.json))).map((q) => q.deliveryId));
    expect(deliveredIds.size).toBe(acked.size);
    expect(acked.size).toBeGreaterThanOrEqual(150);

    // Every attempt after the restart is signed afresh and well formed.
    for (const q of receiver.requests.slice(mark)) {
      expect(q.query['SdkAppid']).toBe('1400000001');
      expect(q.query['Sign']).toBe(tencentSign('tok', q.query['RequestTime']!));
      expect(Number(q.query['RequestTime'])).toBeGreaterThanOrEqual(Math.floor(q.receivedAt / 1000) - 60);
    }

    // Per sender (one conversation each), in acknowledgement order.
    for (const order of ackedOrder) {
      const firstDelivery = new Map<string, number>();
      for (const q of receiver.requests) {
        const s = textOf(q.json);
        if (q.command === C2C && ok(q) && order.includes(s) && !firstDelivery.has(s)) firstDelivery.set(s, q.index);
      }
      const byArrival = [...order].sort((x, y) => firstDelivery.get(x)! - firstDelivery.get(y)!);
      expect(byArrival).toEqual(order);
    }

    // Nothing left behind.
    await eventually(async () => {
      const st = await admin.ok<{ pending: number; in_flight: number; dead: number }>('/callback/stats', {});
      return st.pending === 0 && st.in_flight === 0;
    }, 'the outbox to drain', 10_000);
    expect((await admin.ok<{ dead: number }>('/callback/stats', {})).dead).toBe(0);

    child.proc.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  }, 60_000);
});
