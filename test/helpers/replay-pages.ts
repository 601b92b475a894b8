import { expect } from 'vitest';
import type { Store } from '../../src/core/ports/store.js';

/**
 * Every cursor `user` replays from 0, read in pages of `limit`. Each page holds at most `limit`
 * events and, unless it is the last, moves the cursor forward (checked as it goes).
 */
export async function replayedSeqs(store: Store, user: string, limit: number): Promise<number[]> {
  const seqs: number[] = [];
  let cursor = 0;
  for (let guard = 0; guard < 1000; guard++) {
    const page = await store.sync.replay(user, cursor, limit, Date.now());
    expect(page.events.length).toBeLessThanOrEqual(limit);
    seqs.push(...page.events.map((e) => e.seq));
    if (page.done) return seqs;
    expect(page.next).toBeGreaterThan(cursor);
    cursor = page.next;
  }
  throw new Error(`replay of ${user} did not end within 1000 pages of ${limit}`);
}
