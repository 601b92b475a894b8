import { describe, expect, it } from 'vitest';
import { useChildServer } from '../helpers/child-server.js';

const SECRET = 'relations-crash-secret';

/**
 * Acknowledged relation writes survive kill -9 (synchronous=FULL, a child process): friendships,
 * blacklists, sensitive words and user settings acknowledged while others are still in flight read
 * back after a restart on the same data directory.
 */
describe('relations across kill -9', () => {
  const node = useChildServer({ secret: SECRET, startIn: 'manual' });

  it('keeps every acknowledged friendship, blacklist entry, sensitive word and setting', async () => {
    const child = await node.start();
    const admin = node.admin;
    const acked: Array<{ i: number; kind: number }> = [];
    let stop = false;
    const worker = async (w: number): Promise<void> => {
      for (let i = w; !stop; i += 8) {
        const kind = i % 4;
        const body =
          kind === 0
            ? ['/friend/status', { userId: `u${i}`, friendUid: `v${i}`, status: 0 }]
            : kind === 1
              ? ['/blacklist/status', { userId: `u${i}`, targetUid: `v${i}`, status: 2 }]
              : kind === 2
                ? ['/sensitive/add', { words: [`word${i}`] }]
                : ['/user/put_setting', { userId: `u${i}`, scope: 3, key: `0-0-v${i}`, value: '1' }];
        try {
          const r = await admin.post(body[0] as string, body[1]);
          if (r.body.code === 0) acked.push({ i, kind });
        } catch {
          return; // the server is gone
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    while (acked.length < 200) await new Promise<void>((r) => setImmediate(r));
    child.proc.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    stop = true;
    await Promise.all(workers);

    await node.start();
    const after = node.admin;
    const words = new Set((await after.ok<{ words: string[] }>('/sensitive/query', {})).words);
    const missing: string[] = [];
    const check = async ({ i, kind }: { i: number; kind: number }): Promise<void> => {
      if (kind === 0) {
        const r = await after.ok<{ list: string[] }>('/friend/list', { userId: `v${i}` });
        if (!r.list.includes(`u${i}`)) missing.push(`friend ${i}`);
      } else if (kind === 1) {
        const r = await after.ok<{ list: string[] }>('/blacklist/list', { userId: `u${i}` });
        if (!r.list.includes(`v${i}`)) missing.push(`blacklist ${i}`);
      } else if (kind === 2) {
        if (!words.has(`word${i}`)) missing.push(`word ${i}`);
      } else {
        const r = await after.ok<{ value: string }>('/user/get_setting', { userId: `u${i}`, scope: 3, key: `0-0-v${i}` });
        if (r.value !== '1') missing.push(`setting ${i}`);
      }
    };
    for (let k = 0; k < acked.length; k += 32) await Promise.all(acked.slice(k, k + 32).map(check));
    expect(missing).toEqual([]);
  });
});
