import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EffectSpec } from '../../src/core/ports/outbox.js';
import { ConvType, MessageKind } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import { insertEffects } from '../../src/store/pg/effects.js';
import { PgStore } from '../../src/store/pg/pg-store.js';
import { postgresBackend } from '../helpers/backends.js';

/**
 * src/store/pg/effects.ts: the outbox rows a store command's effects become on PostgreSQL (the same
 * rows as SQLite's outbox writes: jobs in spec order, facts filled, one head per key with no active job).
 */
const backend = postgresBackend();
beforeAll(() => backend.setup!());
afterAll(() => backend.teardown!());

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function fresh(): Promise<PgStore> {
  const f = await backend.open({ inlineFanoutMax: 100 });
  cleanup = f.cleanup;
  return f.store as PgStore;
}

const job = (orderKey: string, over: Partial<EffectSpec> = {}): EffectSpec => ({ channel: 'webhook', target: 't', orderKey, kind: 'K', body: {}, meta: { m: '1' }, ...over });

interface JobRow {
  id: number;
  order_key: string;
  body: string;
  meta: string;
  status: number;
  next_at: number;
  created_at: number;
  ref: string | null;
}

describe('insertEffects on PostgreSQL', () => {
  it('writes the jobs in spec order with their facts filled; a key gets its first new job as head unless it has one', async () => {
    const s = await fresh();
    await s.ctx.write((tx) => insertEffects(tx, [job('old')]));
    const before = Date.now();
    await s.ctx.write((tx) =>
      insertEffects(
        tx,
        [
          job('a', { body: { x: 1 }, fill: { ownedGroups: { owner: 'o', type: 0, field: 'n' }, messageSeq: 'seq' }, ref: 'r:1' }),
          job('old'),
          job('a', { notBefore: before + 60_000 }),
          job('b', { fill: { unreadOf: { user: 'u', field: 'unread' } } }),
        ],
        { ownedGroups: async () => 5, unread: async (u) => (u === 'u' ? 2 : 0), message: { uid: 1, timestamp: 2, seq: 3 } },
      ),
    );
    const jobs = await s.ctx.db.rows<JobRow>('SELECT id, order_key, body, meta, status, next_at, created_at, ref FROM outbox ORDER BY id');
    expect(jobs.map((j) => [j.id, j.order_key, JSON.parse(j.body) as unknown, j.status, j.ref])).toEqual([
      [1, 'old', {}, 0, null],
      [2, 'a', { x: 1, n: 5, seq: 3 }, 0, 'r:1'],
      [3, 'old', {}, 0, null],
      [4, 'a', {}, 0, null],
      [5, 'b', { unread: 2 }, 0, null],
    ]);
    expect(JSON.parse(jobs[1]!.meta)).toEqual({ m: '1' });
    expect(jobs[3]!.next_at).toBe(before + 60_000);
    expect(jobs[1]!.next_at).toBe(jobs[1]!.created_at);
    const heads = await s.ctx.db.rows<{ order_key: string; job_id: number }>('SELECT order_key, job_id FROM outbox_heads ORDER BY order_key');
    expect(heads).toEqual([
      { order_key: 'a', job_id: 2 },
      { order_key: 'b', job_id: 5 },
      { order_key: 'old', job_id: 1 },
    ]);
  });

  it('createGroup commits its effects with the group (owned groups as the command leaves them), and not when it fails', async () => {
    const s = await fresh();
    await s.users.upsertUser('o', { name: 'o' });
    const effect = job('g', { fill: { ownedGroups: { owner: 'o', type: 0, field: 'owned' } } });
    await s.groups.createGroup('g1', { owner: 'o' }, [], 10, [effect]);
    await s.groups.createGroup('g2', { owner: 'o' }, [], 10, [effect]);
    await expect(s.groups.createGroup('g3', { owner: 'o' }, [{ memberId: 'ghost' }], 10, [effect])).rejects.toMatchObject({ kind: 'not_exist' });
    const bodies = (await s.ctx.db.rows<{ body: string }>('SELECT body FROM outbox ORDER BY id')).map((r) => JSON.parse(r.body) as unknown);
    expect(bodies).toEqual([{ owned: 1 }, { owned: 2 }]);
  });

  it('an invalid job fails its command only', async () => {
    const s = await fresh();
    await expect(s.ctx.write((tx) => insertEffects(tx, [job('a', { ref: '' })]))).rejects.toMatchObject({ kind: 'invalid_parameter' });
    expect(await s.ctx.db.rows('SELECT id FROM outbox')).toEqual([]);
  });

  it('sends of one run take their groups\' message numbers together: consecutive per group, in seq order, none twice', async () => {
    const s = await fresh();
    for (const u of ['o', 'a', 'b']) await s.users.upsertUser(u, { name: u });
    await s.groups.createGroup('g1', { owner: 'o' }, [{ memberId: 'a' }], 10);
    await s.groups.createGroup('g2', { owner: 'o' }, [{ memberId: 'b' }], 10);
    const payload = { ...normalizePayload({ type: 1, content: 'x', persistFlag: 3 }) };
    const send = (targets: string[]) =>
      Promise.allSettled(
        targets.map((g) =>
          s.messages.appendMessage({
            sender: 'o',
            conv: { type: ConvType.group, target: g, line: 0 },
            payload,
            kind: MessageKind.conversation,
            toUsers: [],
            effects: [job(g, { fill: { groupSeq: 'gs', messageSeq: 'seq' } })],
          }),
        ),
      );
    // One run of eight (a batch: commitMaxBatch 8) that succeeds together; then one with a failing send,
    // re-run alone.
    const first = await send(['g1', 'g2', 'g1', 'g1', 'g2', 'g1', 'g2', 'g1']);
    expect(first.every((r) => r.status === 'fulfilled')).toBe(true);
    const second = await send(['g2', 'nope', 'g1']);
    expect(second.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const jobs = await s.ctx.db.rows<{ order_key: string; body: string }>('SELECT order_key, body FROM outbox ORDER BY id');
    const byGroup = new Map<string, Array<{ gs: number; seq: number }>>();
    for (const j of jobs) byGroup.set(j.order_key, [...(byGroup.get(j.order_key) ?? []), JSON.parse(j.body) as { gs: number; seq: number }]);
    for (const [g, n] of [['g1', 6], ['g2', 4]] as const) {
      const bodies = [...byGroup.get(g)!].sort((x, y) => x.seq - y.seq);
      expect(bodies.map((b) => b.gs), g).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    }
    const rows = await s.ctx.db.rows<{ id: string; msg_seq: number }>('SELECT id, msg_seq FROM groups ORDER BY id');
    expect(rows).toEqual([{ id: 'g1', msg_seq: 6 }, { id: 'g2', msg_seq: 4 }]);
  });
});
