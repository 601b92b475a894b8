/**
 * The cluster-wide cursor counter's limit (src/store/pg/writer.ts): every write batch of every node
 * locks `meta.seq` from BEGIN to COMMIT, so batches of the whole cluster run one at a time. This
 * measures write commands per second (each takes one seq and inserts one row, like a 1:1 send's
 * event row) and batches per second, with 1, 2 and 3 writers ("nodes", each its own pool and
 * PgWriter, pipelined with generic plans as PgStore opens them) on one PostgreSQL, each keeping
 * IN_FLIGHT commands outstanding; each round once with commands run alone and once concurrent
 * (PgWriter.submit's `concurrent`: a batch's statements pipelined), interleaved.
 *
 *   SWITCHBOARD_TEST_PG_URL=postgres://… DURATION=5 IN_FLIGHT=256 npx tsx bench/pg-seq/run.ts
 *
 * A scratch schema is created and dropped. Figures: docs/scaling.md.
 */
import pg from 'pg';
import { migrate } from '../../src/store/pg/migrations.js';
import { openPool } from '../../src/store/pg/pool.js';
import { PgWriter } from '../../src/store/pg/writer.js';

const url = process.env['SWITCHBOARD_TEST_PG_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
const seconds = Number(process.env['DURATION'] ?? 5);
const inFlight = Number(process.env['IN_FLIGHT'] ?? 256);
const maxBatch = Number(process.env['BATCH'] ?? 512);
const schema = `bench_seq_${process.pid}`;

async function round(nodes: number, concurrent: boolean): Promise<{ cmds: number; batches: number; p50: number; p99: number }> {
  const pools = Array.from({ length: nodes }, () => openPool({ url, schema, max: 1, pipeline: true, genericPlans: true }));
  let batches = 0;
  const writers = pools.map((p) => new PgWriter(p, { maxBatch, onCommit: () => void batches++ }));
  const lat: number[] = [];
  let cmds = 0;
  const end = Date.now() + seconds * 1000;
  const loop = async (w: PgWriter, node: number): Promise<void> => {
    while (Date.now() < end) {
      const t0 = performance.now();
      await w.submit(async (tx) => {
        await tx.run('INSERT INTO bench_rows(seq, node, at) VALUES ($1, $2, $3)', [tx.nextSeq(), node, Date.now()]);
      }, { concurrent });
      lat.push(performance.now() - t0);
      cmds++;
    }
  };
  await Promise.all(writers.flatMap((w, i) => Array.from({ length: Math.ceil(inFlight / nodes) }, () => loop(w, i))));
  for (const w of writers) await w.close();
  for (const p of pools) await p.end();
  lat.sort((a, b) => a - b);
  const q = (f: number): number => lat[Math.min(lat.length - 1, Math.floor(lat.length * f))] ?? 0;
  return { cmds: cmds / seconds, batches: batches / seconds, p50: q(0.5), p99: q(0.99) };
}

async function main(): Promise<void> {
  const setup = openPool({ url, schema, max: 1 });
  await migrate(setup, schema);
  await setup.query('CREATE TABLE bench_rows(seq BIGINT PRIMARY KEY, node INT NOT NULL, at BIGINT NOT NULL)');
  await setup.end();
  try {
    console.log(`pg-seq: ${seconds}s per round, ${inFlight} commands in flight in total, batches of at most ${maxBatch}`);
    for (const nodes of [1, 2, 3]) {
      for (const concurrent of [false, true]) {
        const r = await round(nodes, concurrent);
        console.log(`nodes=${nodes}  ${concurrent ? 'concurrent' : 'alone     '}  commands/s=${r.cmds.toFixed(0)}  batches/s=${r.batches.toFixed(0)}  commands/batch=${(r.cmds / Math.max(1, r.batches)).toFixed(1)}  latency p50=${r.p50.toFixed(1)}ms p99=${r.p99.toFixed(1)}ms`);
      }
    }
  } finally {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
