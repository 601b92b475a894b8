import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreError } from '../../src/core/errors.js';
import { PgStore } from '../../src/store/pg/pg-store.js';
import type { SubmitOptions } from '../../src/store/pg/writer.js';
import { dropSchema, pgAdmin, testPgUrl, testSchema } from '../helpers/backends.js';

/** A write that takes a seq and stores it with `node` in seq_probe (after a read of its own first, with `readFirst`); answers the seq. */
function probe(s: PgStore, node: number, opts: SubmitOptions, readFirst = false): Promise<number> {
  return s.ctx.write(async (tx) => {
    if (readFirst) await tx.row('SELECT 1 AS one');
    const seq = tx.nextSeq();
    await tx.run('INSERT INTO seq_probe(seq, node) VALUES ($1, $2)', [seq, node]);
    return seq;
  }, opts);
}

/**
 * The PostgreSQL writer and node leases across several handles on one database (what several nodes
 * of a cluster share): cursor order = commit order, distinct node ids, lease loss stops writes.
 * Store-level behaviour is in the contract suites (they run on 'postgresql' too).
 */
describe('PostgreSQL writer and node leases (two handles on one database)', () => {
  const url = testPgUrl();
  let schema = '';
  const opened: PgStore[] = [];
  const open = async (nodeId = 0, leaseTtlMs?: number): Promise<PgStore> => {
    const s = await PgStore.open({ url, schema, nodeId, commitMaxBatch: 8, inlineFanoutMax: 100, poolSize: 4, ...(leaseTtlMs ? { leaseTtlMs } : {}) });
    opened.push(s);
    return s;
  };

  beforeAll(async () => {
    schema = testSchema();
    // A scratch table of this test's own: the writer's invariants do not depend on the parts.
    const s = await open();
    await s.ctx.pool.query('CREATE TABLE seq_probe(seq BIGINT PRIMARY KEY, node BIGINT NOT NULL)');
  });

  afterAll(async () => {
    for (const s of opened) await s.close();
    await dropSchema(url, schema);
  });

  it('migrates once when several nodes start together, and leases each a distinct node id', async () => {
    const more = await Promise.all([open(5), open(5), open(5)]);
    const ids = [opened[0]!.nodeId, ...more.map((s) => s.nodeId)];
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain(5);
    const migrations = await pgAdmin(url, (c) => c.query(`SELECT name FROM ${schema}.schema_migrations`));
    expect(migrations.rows.map((r: { name: string }) => r.name)).toEqual([...new Set(migrations.rows.map((r: { name: string }) => r.name))]);
    for (const s of more) {
      await s.close();
      opened.splice(opened.indexOf(s), 1);
    }
    // Closed nodes gave their ids back: the next node gets its preferred id again.
    const again = await open(5);
    expect(again.nodeId).toBe(5);
    await again.close();
    opened.splice(opened.indexOf(again), 1);
  });

  it('seqs allocated by two nodes concurrently are distinct and visible in order: a reader never finds a seq below one it saw', async () => {
    const a = opened[0]!;
    const b = await open();
    const reader = a.ctx.db;
    let stop = false;
    const violations: string[] = [];
    // The reader polls the head and checks that every probe row at or below a head it saw earlier was
    // already visible then (nothing commits "into the past").
    const readerLoop = (async () => {
      let seen = new Set<number>();
      let head = 0;
      while (!stop) {
        const rows = await reader.rows<{ seq: number }>('SELECT seq FROM seq_probe ORDER BY seq');
        const now = new Set(rows.map((r) => r.seq));
        for (const s of now) if (s <= head && !seen.has(s)) violations.push(`seq ${s} appeared after head ${head}`);
        seen = now;
        head = rows.length > 0 ? rows[rows.length - 1]!.seq : 0;
      }
    })();
    const write = (s: PgStore, node: number, i: number): Promise<number> =>
      s.ctx.write(async (tx) => {
        const seq = tx.nextSeq();
        // Widen the window between allocation and commit, so an unordered scheme would be caught.
        if (i % 3 === 0) await tx.run('SELECT pg_sleep(0.002)');
        await tx.run('INSERT INTO seq_probe(seq, node) VALUES ($1, $2)', [seq, node]);
        return seq;
      });
    const jobs: Array<Promise<number>> = [];
    for (let i = 0; i < 150; i++) jobs.push(write(a, 1, i), write(b, 2, i));
    const seqs = await Promise.all(jobs);
    stop = true;
    await readerLoop;
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(violations).toEqual([]);
    const head = (await reader.row<{ value: number }>("SELECT value FROM meta WHERE key = 'seq'"))!.value;
    expect(head).toBe(Math.max(...seqs));
    await b.close();
    opened.splice(opened.indexOf(b), 1);
  });

  it('a failing command rolls back alone; the seqs it took are never handed out again', async () => {
    const a = opened[0]!;
    const results = await Promise.allSettled([
      a.ctx.write(async (tx) => tx.nextSeq()),
      a.ctx.write(async (tx) => {
        tx.nextSeq();
        await tx.run('INSERT INTO seq_probe(seq, node) VALUES (-1, 9)');
        throw new CoreError('not_exist');
      }),
      a.ctx.write(async (tx) => {
        await tx.run('SELECT * FROM no_such_table');
        return 0;
      }),
      a.ctx.write(async (tx) => tx.nextSeq()),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ kind: 'not_exist' });
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ kind: 'server_error' });
    const first = (results[0] as PromiseFulfilledResult<number>).value;
    const last = (results[3] as PromiseFulfilledResult<number>).value;
    expect(last).toBe(first + 2);
    expect(await a.ctx.db.row('SELECT * FROM seq_probe WHERE seq = -1')).toBeUndefined();
  });

  it('concurrent commands run together; one failing (a CoreError or a statement error) fails alone, the others commit', async () => {
    const a = opened[0]!;
    const ok = (v: number) => probe(a, v, { concurrent: true });
    // All succeed: every seq distinct, every row there.
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => ok(100 + i)));
    expect(new Set(all).size).toBe(20);
    expect((await a.ctx.db.rows('SELECT seq FROM seq_probe WHERE node >= 100 AND node < 120')).length).toBe(20);
    const results = await Promise.allSettled([
      ok(200),
      a.ctx.write(
        async (tx) => {
          await tx.run('INSERT INTO seq_probe(seq, node) VALUES ($1, 201)', [tx.nextSeq()]);
          throw new CoreError('not_exist');
        },
        { concurrent: true },
      ),
      ok(202),
      a.ctx.write(
        async (tx) => {
          // A duplicate key: the statement error aborts the transaction for the whole run.
          await tx.run('INSERT INTO seq_probe(seq, node) VALUES ($1, 203)', [all[0]]);
          return 0;
        },
        { concurrent: true },
      ),
      ok(204),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ kind: 'not_exist' });
    expect((results[3] as PromiseRejectedResult).reason).toMatchObject({ kind: 'server_error' });
    const nodes = (await a.ctx.db.rows<{ node: number }>('SELECT node FROM seq_probe WHERE node >= 200 ORDER BY node')).map((r) => r.node);
    // Each command's row once (the run that failed left nothing), the failed ones' none.
    expect(nodes).toEqual([200, 202, 204]);
  });

  it('readsFirst runs start before their batch\'s counter lock answered: seqs stay distinct and commit-ordered across two nodes; one asking for a seq before its first answer is re-run alone', async () => {
    const [a, b] = [opened[0]!, await open()];
    // Each command reads first (the statement goes out behind BEGIN and the lock), then takes its seq.
    const cmd = (s: PgStore, node: number) => probe(s, node, { concurrent: true, readsFirst: true }, true);
    const seqs = await Promise.all(Array.from({ length: 40 }, (_, i) => cmd(i % 2 ? a : b, 300 + i)));
    expect(new Set(seqs).size).toBe(40);
    const stored = (await a.ctx.db.rows<{ seq: number }>('SELECT seq FROM seq_probe WHERE node >= 300 AND node < 340 ORDER BY seq')).map((r) => r.seq);
    expect(stored).toEqual([...seqs].sort((x, y) => x - y));
    // Misuse: a seq asked for before any statement answered. The run fails (rolled back) and each command
    // runs again alone, after the lock: both still commit, with distinct seqs, once each.
    const early = (node: number) => probe(a, node, { concurrent: true, readsFirst: true });
    const both = await Promise.all([early(400), early(401)]);
    expect(new Set(both).size).toBe(2);
    expect((await a.ctx.db.rows('SELECT node FROM seq_probe WHERE node IN (400, 401)')).length).toBe(2);
    await b.close();
    opened.splice(opened.indexOf(b), 1);
  });

  it('overlapping batches: a batch started while the one before commits sees its writes, is acknowledged after it, and survives its failed COMMIT', async () => {
    const a = opened[0]!;
    await a.ctx.pool.query('CREATE TABLE overlap_probe(k TEXT PRIMARY KEY, n BIGINT NOT NULL)');
    await a.ctx.pool.query("INSERT INTO overlap_probe VALUES ('c', 0)");
    // Read-then-write commands, each alone (not concurrent), submitted in waves while earlier batches
    // commit (maxBatch 8: several batches in flight): every one must see every earlier one's write.
    const acked: number[] = [];
    const bump = (i: number) =>
      a.ctx
        .write(async (tx) => {
          const r = await tx.row<{ n: number }>("SELECT n FROM overlap_probe WHERE k = 'c'");
          await tx.run("UPDATE overlap_probe SET n = $1 WHERE k = 'c'", [r!.n + 1]);
          return { n: r!.n + 1, seq: tx.nextSeq() };
        })
        .then((v) => {
          acked.push(i);
          return v;
        });
    const jobs: Array<Promise<{ n: number; seq: number }>> = [];
    for (let wave = 0; wave < 6; wave++) {
      for (let i = 0; i < 10; i++) jobs.push(bump(wave * 10 + i));
      await new Promise((r) => setImmediate(r));
    }
    const out = await Promise.all(jobs);
    // Submission order = the order each saw the counter, took its seq, and was acknowledged.
    expect(out.map((o) => o.n)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(out.map((o) => o.seq)).toEqual(out.map((o) => o.seq).sort((x, y) => x - y));
    expect(acked).toEqual(Array.from({ length: 60 }, (_, i) => i));
    // A batch whose COMMIT fails (a deferred unique check) rejects alone; the batch after it commits.
    await a.ctx.pool.query('CREATE TABLE overlap_deferred(k TEXT, CONSTRAINT overlap_deferred_k UNIQUE (k) DEFERRABLE INITIALLY DEFERRED)');
    const bad = a.ctx.write(async (tx) => {
      await tx.run("INSERT INTO overlap_deferred VALUES ('x'), ('x')");
      return tx.nextSeq();
    });
    const same = Array.from({ length: 7 }, () => a.ctx.write(async (tx) => tx.nextSeq()));
    await new Promise((r) => setImmediate(r));
    const later = Array.from({ length: 8 }, () => bump(0));
    const [badR, ...sameR] = await Promise.allSettled([bad, ...same]);
    expect(badR!.status).toBe('rejected');
    expect(sameR.every((r) => r.status === 'rejected')).toBe(true);
    expect((await Promise.all(later)).map((o) => o.n)).toEqual(Array.from({ length: 8 }, (_, i) => 61 + i));
  });

  it('a node whose lease was taken over refuses writes and reports not ready; another node holds the id', async () => {
    const s = await open(20, 300);
    expect(s.nodeId).toBe(20);
    // Another holder takes the id (as after this node was cut off past its lease).
    await s.ctx.pool.query('UPDATE node_leases SET holder = $1 WHERE node_id = 20', ['someone-else']);
    await expect
      .poll(async () => {
        try {
          await s.ctx.write(async (tx) => tx.nextSeq());
          return 'written';
        } catch (err) {
          return (err as CoreError).kind;
        }
      })
      .toBe('server_error');
    expect(await s.ping()).toBe(false);
  });
});
