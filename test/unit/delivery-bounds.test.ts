/**
 * Memory and liveness bounds of the fan-out's caches (src/delivery): invalidations of audiences that are
 * neither cached nor loading leave nothing behind; an audience that changes during every read fails
 * after a bounded number of reads instead of loading forever; GroupHints forgets invalidations no
 * tracked user can be affected by.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/ports/store.js';
import { AudienceCache } from '../../src/delivery/audience-cache.js';
import { GroupHints } from '../../src/delivery/group-hints.js';

type Rows = Array<{ userId: string; since: number; until?: number }>;

/** A store whose only used methods answer from `memberSeqs`; the rest is never called here. */
function storeWith(memberSeqs: (id: string) => Promise<Rows>): Store {
  const groups = { memberSeqs, groupsOfUser: async () => [], pastGroupsOfUser: async () => [] };
  return { groups, channels: { audienceSeqs: memberSeqs } } as unknown as Store;
}

describe('AudienceCache bounds', () => {
  it('an invalidation of an audience neither cached nor loading is not remembered', async () => {
    let reads = 0;
    const cache = new AudienceCache(
      storeWith(async () => {
        reads++;
        return [{ userId: 'u', since: 1 }];
      }),
    );
    for (let i = 0; i < 10_000; i++) cache.invalidate('group', `g${i}`);
    const generations = (cache as unknown as { generation: Map<string, number> }).generation;
    expect(generations.size).toBe(0);
    const m = await cache.load('group', 'g1');
    expect(m.size).toBe(1);
    expect(reads).toBe(1);
    expect(generations.size, 'nothing left once the load is done').toBe(0);
  });

  it('an audience that changes during every read fails after a bounded number of reads', async () => {
    let reads = 0;
    let cache: AudienceCache;
    const store = storeWith(async (id) => {
      reads++;
      cache.invalidate('group', id); // a membership change lands while each read is under way
      return [{ userId: 'u', since: 1 }];
    });
    cache = new AudienceCache(store);
    await expect(cache.load('group', 'busy')).rejects.toThrow(/changed during/);
    expect(reads).toBe(5);
    // Once it calms down, it loads.
    cache = new AudienceCache(storeWith(async () => [{ userId: 'u', since: 1 }]));
    expect((await cache.load('group', 'busy')).size).toBe(1);
  });
});

describe('GroupHints bounds', () => {
  it('forgets invalidations older than every tracked user’s read', async () => {
    const hints = new GroupHints(storeWith(async () => []), pino({ level: 'silent' }));
    for (let i = 0; i < 20_000; i++) hints.invalidate(`g${i}`);
    expect(hints.remembered).toBeLessThanOrEqual(1025);
    hints.track('u');
    await new Promise((r) => setImmediate(r)); // the user's (empty) group lists are read
    hints.invalidate('late');
    expect(hints.certainlyNotReached('u', 'late'), 'invalidated after the user was read: unknown').toBe(false);
    expect(hints.certainlyNotReached('u', 'g5'), 'an old, forgotten invalidation: the read is newer').toBe(true);
    for (let i = 0; i < 5_000; i++) hints.invalidate(`h${i}`);
    expect(hints.remembered).toBeLessThanOrEqual(1024 + 2 + 5_000);
    expect(hints.certainlyNotReached('u', 'late')).toBe(false);
  });
});
