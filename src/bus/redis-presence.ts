import { randomUUID } from 'node:crypto';
import { Redis, type Result } from 'ioredis';
import type { Presence, SessionInfo } from '../core/ports/presence.js';
import { redactUrl } from './redis-bus.js';

export interface RedisPresenceOptions {
  url: string;
  /** Same prefix as the bus: `<prefix>presence:…`. */
  prefix: string;
  nodeId: number;
  /** A node that has not refreshed its entry for this long is dead: its sessions are removed. Default 15 000 ms. */
  ttlMs?: number;
  /** How often this node refreshes its entry and removes dead nodes' sessions (default ttl / 3). */
  refreshMs?: number;
  connectTimeoutMs?: number;
  onError?: (err: unknown, what: string) => void;
}

/**
 * Removes the sessions of every node whose entry expired. KEYS[1] = the nodes zset; ARGV = now, prefix,
 * and optionally a node key to remove whatever its expiry (this node rewriting its own entries).
 */
const REAP = `
local P = ARGV[2]
local dead
if ARGV[3] then dead = { ARGV[3] } else dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) end
for _, node in ipairs(dead) do
  local nk = P .. 'n:' .. node
  local members = redis.call('ZRANGE', nk, 0, -1)
  for _, m in ipairs(members) do
    local u = cjson.decode(m)[1]
    redis.call('ZREM', P .. 'all', m)
    redis.call('SREM', P .. 'u:' .. u, m)
  end
  redis.call('DEL', nk)
  if not ARGV[3] then redis.call('ZREM', KEYS[1], node) end
end
return #dead
`;

/**
 * Cluster-wide presence in Redis (keys under `<prefix>presence:`):
 *
 * - `all` — zset (score 0, ordered by member) of every session: the member is the JSON array
 *   `[userId, clientId, platform, connectedAt, node, key]`, so pages are stable and start with the user;
 * - `u:<userId>` — set of that user's session members;
 * - `n:<nodeKey>` — zset of one node process's members (counts, per-node pages, clean-up);
 * - `nodes` — zset of live node processes (`<nodeId>:<uuid>`) scored by when they expire.
 *
 * This node is the source of truth for its own sessions: it writes each change as it happens (one
 * MULTI), and rewrites all of its entries whenever its connection (re)opens — after a Redis restart
 * nothing is left, after a cut some writes may have failed. Every node refreshes its `nodes` entry and
 * removes the sessions of expired ones (a node killed without cleaning up) every `refreshMs`.
 * Writes never wait and never throw; they are dropped while Redis is unreachable (the rewrite on
 * reconnect restores them).
 */
export class RedisPresence implements Presence {
  private readonly P: string;
  private readonly nodeKey: string;
  private readonly redis: Redis;
  private readonly mine = new Map<string, string>();
  private readonly ttlMs: number;
  private readonly onError: (err: unknown, what: string) => void;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly opts: RedisPresenceOptions) {
    this.P = `${opts.prefix}presence:`;
    this.nodeKey = `${opts.nodeId}:${randomUUID()}`;
    this.ttlMs = opts.ttlMs ?? 15_000;
    this.onError = opts.onError ?? (() => undefined);
    this.redis = new Redis(opts.url, {
      lazyConnect: true,
      connectTimeout: Math.min(opts.connectTimeoutMs ?? 10_000, 10_000),
      retryStrategy: (times) => Math.min(50 * times, 1000),
      // A write while Redis is away fails at once (the rewrite on reconnect covers it) rather than
      // queueing; a write in flight when the connection dropped is not resent after the rewrite.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      connectionName: `switchboard-presence-${this.nodeKey}`,
    });
    this.redis.defineCommand('sbReap', { numberOfKeys: 1, lua: REAP });
    this.redis.on('error', (err) => this.onError(err, 'redis presence'));
    let first = true;
    this.redis.on('ready', () => {
      if (first) {
        first = false;
        return;
      }
      this.rewrite().catch((err: unknown) => this.onError(err, 'redis presence: rewriting this node after a reconnect'));
    });
  }

  get nodeId(): number {
    return this.opts.nodeId;
  }

  static async connect(opts: RedisPresenceOptions): Promise<RedisPresence> {
    const p = new RedisPresence(opts);
    try {
      await p.redis.connect();
      await p.rewrite();
    } catch (err) {
      await p.close();
      throw new Error(`cannot reach Redis at ${redactUrl(opts.url)} for presence: ${String(err)}`);
    }
    const every = opts.refreshMs ?? Math.max(100, Math.floor(p.ttlMs / 3));
    p.timer = setInterval(() => {
      p.refresh().catch((err: unknown) => p.onError(err, 'redis presence: refresh'));
    }, every);
    p.timer.unref();
    return p;
  }

  connected(key: string, s: SessionInfo): void {
    const m = JSON.stringify([s.userId, s.clientId, s.platform, s.connectedAt, s.node, key]);
    this.mine.set(key, m);
    if (this.redis.status !== 'ready') return;
    this.redis
      .multi()
      .zadd(`${this.P}all`, 0, m)
      .sadd(`${this.P}u:${s.userId}`, m)
      .zadd(`${this.P}n:${this.nodeKey}`, 0, m)
      .exec()
      .catch((err: unknown) => this.onError(err, 'redis presence: recording a connection'));
  }

  disconnected(key: string): void {
    const m = this.mine.get(key);
    if (m === undefined) return;
    this.mine.delete(key);
    if (this.redis.status !== 'ready') return;
    const userId = (JSON.parse(m) as [string])[0];
    this.redis
      .multi()
      .zrem(`${this.P}all`, m)
      .srem(`${this.P}u:${userId}`, m)
      .zrem(`${this.P}n:${this.nodeKey}`, m)
      .exec()
      .catch((err: unknown) => this.onError(err, 'redis presence: recording a disconnection'));
  }

  async sessions(userId: string): Promise<SessionInfo[]> {
    const members = await this.redis.smembers(`${this.P}u:${userId}`);
    return members.map(parse).filter((s): s is SessionInfo => s !== null).sort((a, b) => a.connectedAt - b.connectedAt);
  }

  async counts(): Promise<Array<{ node: number; count: number }>> {
    const keys = await this.liveNodes();
    const pipe = this.redis.pipeline();
    for (const k of keys) pipe.zcard(`${this.P}n:${k}`);
    const res = (await pipe.exec()) ?? [];
    const byNode = new Map<number, number>([[this.opts.nodeId, 0]]);
    keys.forEach((k, i) => {
      const n = Number(k.split(':')[0]);
      const [err, c] = res[i] ?? [null, 0];
      if (err) throw err;
      byNode.set(n, (byNode.get(n) ?? 0) + Number(c));
    });
    return [...byNode.entries()].sort((a, b) => a[0] - b[0]).map(([node, count]) => ({ node, count }));
  }

  async list(offset: number, count: number, node?: number): Promise<{ sessions: SessionInfo[]; total: number }> {
    if (node === undefined) {
      const [members, total] = await Promise.all([this.redis.zrange(`${this.P}all`, String(offset), String(offset + count - 1)), this.redis.zcard(`${this.P}all`)]);
      return { sessions: members.map(parse).filter((s): s is SessionInfo => s !== null), total };
    }
    // One node id may have two processes listed for a while (one restarted before the other expired).
    const keys = (await this.liveNodes()).filter((k) => Number(k.split(':')[0]) === node).map((k) => `${this.P}n:${k}`);
    if (keys.length === 0) return { sessions: [], total: 0 };
    const pipe = this.redis.pipeline();
    for (const k of keys) {
      pipe.zrange(k, String(keys.length === 1 ? offset : 0), String(offset + count - 1));
      pipe.zcard(k);
    }
    const res = (await pipe.exec()) ?? [];
    const members: string[] = [];
    let total = 0;
    for (let i = 0; i < res.length; i += 2) {
      const [e1, m] = res[i]!;
      const [e2, c] = res[i + 1]!;
      if (e1 || e2) throw e1 ?? e2;
      members.push(...(m as string[]));
      total += Number(c);
    }
    const page = keys.length === 1 ? members : members.sort().slice(offset, offset + count);
    return { sessions: page.map(parse).filter((s): s is SessionInfo => s !== null), total };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.redis.status === 'ready') {
      try {
        // A clean stop leaves nothing behind for the others to expire.
        await this.redis.sbReap(`${this.P}nodes`, String(Date.now()), this.P, this.nodeKey);
        await this.redis.zrem(`${this.P}nodes`, this.nodeKey);
        await this.redis.quit();
      } catch {
        // best effort: the entry expires
      }
    }
    this.redis.disconnect();
  }

  private async liveNodes(): Promise<string[]> {
    return this.redis.zrangebyscore(`${this.P}nodes`, Date.now(), '+inf');
  }

  /** Replace everything Redis holds for this node by what it really has. */
  private async rewrite(): Promise<void> {
    // Listed as live first, so that no reader sees its sessions without their node.
    await this.redis.zadd(`${this.P}nodes`, Date.now() + this.ttlMs, this.nodeKey);
    await this.redis.sbReap(`${this.P}nodes`, String(Date.now()), this.P, this.nodeKey);
    const all = [...this.mine.values()];
    for (let i = 0; i < all.length; i += 1000) {
      const chunk = all.slice(i, i + 1000);
      const tx = this.redis.multi();
      for (const m of chunk) {
        tx.zadd(`${this.P}all`, 0, m);
        tx.sadd(`${this.P}u:${(JSON.parse(m) as [string])[0]}`, m);
        tx.zadd(`${this.P}n:${this.nodeKey}`, 0, m);
      }
      await tx.exec();
    }
    await this.refresh();
  }

  /** Keep this node alive and remove the sessions of nodes that are not. */
  private async refresh(): Promise<void> {
    if (this.closed || this.redis.status !== 'ready') return;
    const now = Date.now();
    await this.redis.zadd(`${this.P}nodes`, now + this.ttlMs, this.nodeKey);
    await this.redis.sbReap(`${this.P}nodes`, String(now), this.P);
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    sbReap(nodesKey: string, now: string, prefix: string, only?: string): Result<number, Context>;
  }
}

function parse(m: string): SessionInfo | null {
  try {
    const [userId, clientId, platform, connectedAt, node] = JSON.parse(m) as [string, string, number, number, number, string];
    return { userId, clientId, platform, connectedAt, node };
  } catch {
    return null;
  }
}
