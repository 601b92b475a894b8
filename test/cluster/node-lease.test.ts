/**
 * Node id leases in PostgreSQL (src/store/pg/node-lease.ts): nodes asking for the same id get distinct
 * ones; a lease that expired while its node was cut off from the database is valid again once the
 * node is back, unless another node took the id meanwhile — then it is lost for good. The cut is a
 * TCP proxy between the lease's pool and the test PostgreSQL (the shared server is never restarted).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_NODE_ID } from '../../src/core/ids.js';
import { migrate } from '../../src/store/pg/migrations.js';
import { NodeLease } from '../../src/store/pg/node-lease.js';
import { openPool } from '../../src/store/pg/pool.js';
import { dropSchema, testPgUrl, testSchema } from '../helpers/backends.js';
import { startProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { eventually } from '../helpers/ws-client.js';

describe('node id leases', () => {
  const url = testPgUrl();
  const schema = testSchema();
  let direct: pg.Pool;
  let proxy: TcpProxy;
  let viaProxy: pg.Pool;
  const leases: NodeLease[] = [];

  beforeAll(async () => {
    direct = openPool({ url, schema, max: 4 });
    await migrate(direct, schema);
    const target = new URL(url);
    proxy = await startProxy(Number(target.port || 5432), target.hostname);
    const proxied = new URL(url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    viaProxy = openPool({ url: proxied.toString(), schema, max: 2, connectTimeoutMs: 1000, onError: () => undefined });
  });
  afterAll(async () => {
    for (const l of leases) await l.release();
    await viaProxy.end();
    await proxy.close();
    await direct.end();
    await dropSchema(url, schema);
  });

  const take = async (pool: pg.Pool, preferred: number, ttlMs = 30_000, events: string[] = []): Promise<NodeLease> => {
    const l = await NodeLease.acquire(pool, { preferred, ttlMs, onLost: () => events.push('lost'), onError: () => events.push('error') });
    leases.push(l);
    return l;
  };

  it('one configured id, distinct leased ids; none left past the last', async () => {
    const all: NodeLease[] = [];
    for (let i = 0; i <= MAX_NODE_ID; i++) all.push(await take(direct, 5));
    expect(all[0]!.nodeId).toBe(5);
    expect(new Set(all.map((l) => l.nodeId)).size).toBe(MAX_NODE_ID + 1);
    await expect(NodeLease.acquire(direct, { preferred: 5, ttlMs: 30_000 })).rejects.toThrow(/every node id/);
    // A released id is free again at once.
    const five = all[0]!;
    await five.release();
    expect((await take(direct, 5)).nodeId).toBe(5);
    for (const l of leases.splice(0)) await l.release();
  });

  it('expired while cut off, nobody took it: valid again once the database is back', async () => {
    const events: string[] = [];
    const l = await take(viaProxy, 7, 600, events);
    expect(l.valid()).toBe(true);
    proxy.cut();
    await eventually(async () => !l.valid(), 'the lease to expire while cut off', 10_000);
    proxy.restore();
    await eventually(async () => l.valid(), 'the lease to be renewed', 10_000);
    expect(events).not.toContain('lost');
    await l.release();
  });

  it('expired while cut off and taken by another node: lost for good', async () => {
    const events: string[] = [];
    const l = await take(viaProxy, 9, 600, events);
    proxy.cut();
    await eventually(async () => !l.valid(), 'the lease to expire while cut off', 10_000);
    const other = await take(direct, 9);
    expect(other.nodeId).toBe(9);
    proxy.restore();
    await eventually(async () => events.includes('lost'), 'the first holder to learn it lost the id', 10_000);
    expect(l.valid()).toBe(false);
    expect(other.valid()).toBe(true);
  });
});
