/**
 * SQLite-specific: the outbox's statements on the delivery path (insert, claim and claim ahead with
 * and without a channel filter, settle with reactions, manual settles, get, byRef, revive) read bounded
 * index ranges (settle-and-claim-next included) — no full scan, no temp B-tree — on a database with thousands of jobs over many
 * channels, targets and references, so a claim's cost does not follow the delivery log's size.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import type { NewJob, OutboxJob } from '../../src/core/ports/outbox.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const dirs: string[] = [];
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** EXPLAIN QUERY PLAN details of a statement, with 0 for every parameter. */
function plan(db: Database.Database, sql: string): string[] {
  const n = (sql.match(/\?/g) ?? []).length;
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...new Array<number>(n).fill(0)) as Array<{ detail: string }>).map((r) => r.detail);
}

/** A plan step that reads a whole table or index, or sorts rows in a temporary B-tree. */
const unbounded = (detail: string): boolean => /^SCAN\b/.test(detail) || /TEMP B-TREE/.test(detail);

/** The delivery log's own listing and counters, and redelivery of every dead job (admin paths that read the log by design). */
const ADMIN_READS = [/WHERE status = 3 RETURNING/, /^SELECT \* FROM outbox (WHERE (status|target|id) .*)?ORDER BY id DESC LIMIT \?$/, /GROUP BY status/, /^SELECT COUNT\(\*\) AS n FROM outbox WHERE status = 3$/];

const job = (i: number, over: Partial<NewJob> = {}): NewJob => ({
  channel: ['webhook', 'sms', 'smtp'][i % 3]!,
  target: `t${i % 7}`,
  orderKey: `k${i % 50}`,
  kind: 'K',
  body: { i },
  meta: {},
  ...(i % 2 === 0 ? { ref: `msg:${i % 100}` } : {}),
  ...over,
});

it('the outbox delivery path uses indexes for every statement', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-outbox-plans-'));
  dirs.push(dir);
  const file = path.join(dir, 'switchboard.db');
  const s = new SqliteStore({ file, synchronous: 'NORMAL', nodeId: 1, commitMaxBatch: 512, commitMaxDelayMs: 0, inlineFanoutMax: 3 });
  stores.push(s);

  // A log of thousands of jobs: delivered, dead, pending, delayed, over three channels.
  await s.outbox.enqueue(Array.from({ length: 3_000 }, (_, i) => job(i)));
  await s.outbox.enqueue(Array.from({ length: 50 }, (_, i) => job(i, { orderKey: `late${i}`, notBefore: Date.now() + 3_600_000 })));
  const T = Date.now() + 60_000;
  for (let round = 0; round < 3; round++) {
    const claimed = await s.outbox.claim(T, 200, 1_000, round === 0 ? undefined : { channels: ['sms', 'webhook'], perTarget: 5, inFlight: {}, exclude: ['webhook\u0000t1'] });
    await s.outbox.settle(
      claimed.map((j, n) =>
        n % 3 === 0
          ? { id: j.id, lease: j.nextAt, ok: true, response: 'ok', at: T, then: { enqueue: [job(n, { channel: 'inbox', ref: j.ref ?? 'none' })] } }
          : n % 3 === 1
            ? { id: j.id, lease: j.nextAt, ok: false, error: 'x', response: '', nextAt: null }
            : { id: j.id, lease: j.nextAt, ok: false, error: 'x', response: '', nextAt: T + 10 },
      ),
    );
  }
  // Claim ahead under per-channel grants.
  const handed: OutboxJob[] = [];
  const stop = s.outbox.watch((js) => handed.push(...js));
  await s.outbox.grant('sms', 5, 60_000, { perTarget: 2 });
  await s.outbox.grant('inbox', 5, 60_000);
  await s.outbox.enqueue([job(1, { channel: 'sms', orderKey: 'fresh' })]);
  await s.outbox.enqueue([]);
  // Settle-and-claim-next: the settle leases the released keys' next jobs.
  const heads = await s.outbox.claim(Date.now(), 20, 1_000);
  const before = handed.length;
  await s.outbox.settle(
    heads.map((j) => ({ id: j.id, lease: j.nextAt, ok: true as const, response: 'ok', at: T })),
    Object.fromEntries(['webhook', 'sms', 'smtp'].map((c) => [c, { leaseMs: 60_000, limit: 10, opts: { perTarget: 3, inFlight: {}, exclude: [`${c}\u0000t2`] } }])),
  );
  await s.outbox.enqueue([]);
  expect(handed.length, 'the settle leased next jobs').toBeGreaterThan(before);
  stop();
  // Manual paths, queries.
  const [one] = await s.outbox.enqueue([job(2, { orderKey: 'manual' })]);
  await s.outbox.complete(one!, 'ok', T);
  await s.outbox.fail(one!, 'x', '', null);
  await s.outbox.get(one!);
  await s.outbox.byRef('msg:4');
  await s.outbox.byRef('none', 10);
  await s.outbox.revive(undefined, T, 10);
  await s.outbox.revive(one!, T, 10);
  await s.outbox.redeliver(undefined, T);

  const ro = new Database(file, { readonly: true });
  try {
    const outboxSql = s.preparedSql().filter((sql) => /\boutbox(_heads)?\b/.test(sql) && !ADMIN_READS.some((r) => r.test(sql)));
    for (const part of ['FROM outbox_heads WHERE channel = ? AND target >= ?', 'FROM outbox_heads WHERE channel = ? AND target > ?', 'FROM outbox_heads WHERE (channel, target) > (?, ?)', 'FROM outbox WHERE ref = ?', 'INSERT INTO outbox(', 'status = 3 ORDER BY id LIMIT ?']) {
      expect(outboxSql.some((sql) => sql.includes(part)), part).toBe(true);
    }
    const offenders = outboxSql
      .map((sql) => ({ sql, steps: plan(ro, sql) }))
      // The oldest dead jobs, a chunk at a time: the dead jobs' own index, read up to the LIMIT.
      .map(({ sql, steps }) => ({ sql, steps, bad: steps.filter((d) => unbounded(d) && !(/ORDER BY id LIMIT \?/.test(sql) && / INDEX outbox_dead$/.test(d))) }))
      .filter((x) => x.bad.length > 0)
      .map((x) => `${x.sql}: ${x.steps.join(' | ')}`);
    expect(offenders).toEqual([]);
    expect(plan(ro, 'SELECT * FROM outbox WHERE ref = ? ORDER BY id LIMIT ?').join(' | ')).toContain('outbox_ref');
  } finally {
    ro.close();
  }
});
