import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { MAX_NODE_ID } from '../../core/ids.js';

export interface NodeLeaseOptions {
  /** The id to take when it is free (config nodeId); else the lowest free one. */
  preferred: number;
  /** How long a lease lasts without renewal (ms); renewed every third of it. */
  ttlMs: number;
  onError?: (err: unknown) => void;
  /** The lease could not be renewed in time: this node must stop writing. */
  onLost?: () => void;
}

/**
 * A node id (0..31, part of every message uid) leased in PostgreSQL, so that nodes started with one
 * configuration still get distinct ids.
 *
 * Contract: at most one live holder per id. A holder renews its lease every ttl/3; `valid()` is false
 * from the moment its last successful renewal is older than the ttl, so a node cut off from the
 * database stops writing (uids with its id) before another node may take the id over. Taking over an
 * expired id is safe for uids: a new holder seeds its generator above every stored uid.
 *
 * An expired lease is not given up: renewals go on, and one that still finds the row under this
 * holder makes the lease valid again (nobody took the id in between: a taker replaces the holder, a
 * release deletes the row), so a node cut off from the database longer than the ttl writes again once
 * it is back. Only a lease found taken over is lost for good (`onLost`).
 */
export class NodeLease {
  private timer: NodeJS.Timeout | null = null;
  private validUntil: number;
  /** Taken over by another holder, or released: never valid again. */
  private lost = false;
  /** onError already told that the lease expired (once per outage). */
  private expiredReported = false;

  private constructor(
    private readonly pool: pg.Pool,
    readonly nodeId: number,
    private readonly holder: string,
    private readonly opts: NodeLeaseOptions,
    now: number,
  ) {
    this.validUntil = now + opts.ttlMs;
    this.timer = setInterval(() => void this.renew(), Math.max(50, Math.floor(opts.ttlMs / 3)));
    this.timer.unref();
  }

  static async acquire(pool: pg.Pool, opts: NodeLeaseOptions): Promise<NodeLease> {
    const holder = randomUUID();
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('LOCK TABLE node_leases IN EXCLUSIVE MODE');
      const now = Date.now();
      const live = new Set(
        (await client.query<{ node_id: number }>('SELECT node_id FROM node_leases WHERE expires_at > $1', [now])).rows.map((r) => r.node_id),
      );
      let id = -1;
      if (opts.preferred >= 0 && opts.preferred <= MAX_NODE_ID && !live.has(opts.preferred)) id = opts.preferred;
      for (let i = 0; id < 0 && i <= MAX_NODE_ID; i++) if (!live.has(i)) id = i;
      if (id < 0) {
        await client.query('ROLLBACK');
        throw new Error(`every node id (0..${MAX_NODE_ID}) is leased by a live node`);
      }
      await client.query(
        `INSERT INTO node_leases(node_id, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (node_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at`,
        [id, holder, now + opts.ttlMs],
      );
      await client.query('COMMIT');
      return new NodeLease(pool, id, holder, opts, now);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** True while the lease is known to be held (checked before every write batch). */
  valid(now: number = Date.now()): boolean {
    return !this.lost && now < this.validUntil;
  }

  private async renew(): Promise<void> {
    if (this.lost) return;
    const started = Date.now();
    try {
      const res = await this.pool.query('UPDATE node_leases SET expires_at = $3 WHERE node_id = $1 AND holder = $2', [
        this.nodeId,
        this.holder,
        started + this.opts.ttlMs,
      ]);
      if (res.rowCount === 1) {
        this.validUntil = started + this.opts.ttlMs;
        this.expiredReported = false;
        return;
      }
      this.markLost();
    } catch (err) {
      this.opts.onError?.(err);
      if (Date.now() >= this.validUntil && !this.expiredReported) {
        this.expiredReported = true;
        this.opts.onError?.(new Error(`node id ${this.nodeId}: lease expired while the database is unreachable; writes refused until it is renewed`));
      }
    }
  }

  private markLost(): void {
    if (this.lost) return;
    this.lost = true;
    this.opts.onLost?.();
  }

  /** Stop renewing and give the id back. */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.lost) return;
    this.lost = true;
    await this.pool.query('DELETE FROM node_leases WHERE node_id = $1 AND holder = $2', [this.nodeId, this.holder]).catch((err: unknown) => this.opts.onError?.(err));
  }
}
