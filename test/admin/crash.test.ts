import { describe, expect, it } from 'vitest';
import { useChildServer } from '../helpers/child-server.js';
import { text } from '../helpers/payloads.js';

const SECRET = 'crash-test-secret';

/**
 * Acknowledged writes survive kill -9: the server runs as a child process with the default
 * synchronous=FULL; clients send concurrently; the process is killed while requests are in flight;
 * after a restart on the same data directory every acknowledged uid reads back with its content.
 */
describe('durability across kill -9', () => {
  const node = useChildServer({ secret: SECRET, startIn: 'manual' });

  it('keeps every acknowledged message, then issues larger uids', async () => {
    let child = await node.start();
    let admin = node.admin;
    for (const u of ['a', 'b', 'c']) await admin.ok('/user/create', { userId: u, name: u });
    await admin.ok('/group/create', { operator: 'a', group: { group_info: { target_id: 'g', name: 'g', owner: 'a' }, members: [{ member_id: 'b' }, { member_id: 'c' }] } });

    const acked = new Map<number, string>();
    let stop = false;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const s = `w${w}-${i}`;
        const conv = i % 2 === 0 ? { type: 0, target: 'b', line: 0 } : { type: 1, target: 'g', line: 0 };
        try {
          const r = await admin.post<{ messageUid: number }>('/message/send', { sender: 'a', conv, payload: text(s) });
          if (r.body.code === 0 && r.body.result) acked.set(r.body.result.messageUid, s);
        } catch {
          return; // connection refused or reset: the server is gone
        }
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => worker(w));
    // Kill once a good number of writes is acknowledged, while the workers keep sending.
    while (acked.size < 400) await new Promise<void>((r) => setImmediate(r));
    child.proc.kill('SIGKILL');
    const exit = await child.exited;
    stop = true;
    await Promise.all(workers);
    expect(exit.signal).toBe('SIGKILL');
    const before = Math.max(...acked.keys());

    child = await node.start();
    admin = node.admin;
    const missing: number[] = [];
    const entries = [...acked.entries()];
    for (let i = 0; i < entries.length; i += 32) {
      await Promise.all(
        entries.slice(i, i + 32).map(async ([uid, text]) => {
          const r = await admin.post<{ payload: { searchableContent: string } }>('/message/get_one', { messageUid: uid });
          if (r.body.code !== 0 || r.body.result?.payload.searchableContent !== text) missing.push(uid);
        }),
      );
    }
    expect(missing).toEqual([]);
    expect(acked.size).toBeGreaterThanOrEqual(400);

    const after = await admin.ok<{ messageUid: number }>('/message/send', { sender: 'a', conv: { type: 0, target: 'b', line: 0 }, payload: { type: 1 } });
    expect(after.messageUid).toBeGreaterThan(before);
    child.proc.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  }, 60_000);
});
