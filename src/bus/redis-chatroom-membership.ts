import { Redis, type Result } from 'ioredis';
import type { ChatroomEntry, ChatroomMember, ChatroomMembership } from '../core/ports/chatroom-membership.js';
import { redactUrl } from './redis-bus.js';

export interface RedisChatroomMembershipOptions {
  url: string;
  /** Same prefix as the bus: `<prefix>chatroom:…`. */
  prefix: string;
  /** This node: its sessions start with `${nodeId}:`; the entries of its previous run are purged at connect. */
  nodeId: number;
  connectTimeoutMs?: number;
  onError?: (err: unknown, what: string) => void;
}

/**
 * Keys (P = `<prefix>chatroom:`): `u:<userId>` hash {c: room, m: member JSON, s: session} — the user's
 * one entry; `r:<room>` zset of user ids scored by join order (`order`, a counter); `n:<nodeId>` set
 * of users who joined through that node (for the purge).
 */
const JOIN = `
local P, room, uid, m, sess, node = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local uk = P .. 'u:' .. uid
local prev = redis.call('HMGET', uk, 'c', 'm')
if prev[1] then redis.call('ZREM', P .. 'r:' .. prev[1], uid) end
redis.call('HSET', uk, 'c', room, 'm', m, 's', sess)
redis.call('ZADD', P .. 'r:' .. room, redis.call('INCR', P .. 'order'), uid)
redis.call('SADD', P .. 'n:' .. node, uid)
if prev[1] then return prev end
return false
`;

const LEAVE = `
local P, room, uid, sess = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local uk = P .. 'u:' .. uid
local cur = redis.call('HMGET', uk, 'c', 'm', 's')
if cur[1] ~= room then return false end
if sess ~= '' and cur[3] ~= sess then return false end
redis.call('DEL', uk)
redis.call('ZREM', P .. 'r:' .. room, uid)
return cur[2]
`;

const CLEAR = `
local P, room = ARGV[1], ARGV[2]
local rk = P .. 'r:' .. room
local ids = redis.call('ZRANGE', rk, 0, -1)
local out = {}
for _, uid in ipairs(ids) do
  local uk = P .. 'u:' .. uid
  local cur = redis.call('HMGET', uk, 'c', 'm')
  if cur[1] == room then
    table.insert(out, cur[2])
    redis.call('DEL', uk)
  end
end
redis.call('DEL', rk)
return out
`;

/** Remove every entry made through node ARGV[2]'s sessions (prefix ARGV[3]): a previous run of this node. */
const PURGE = `
local P, node, sp = ARGV[1], ARGV[2], ARGV[3]
local nk = P .. 'n:' .. node
local ids = redis.call('SMEMBERS', nk)
local n = 0
for _, uid in ipairs(ids) do
  local uk = P .. 'u:' .. uid
  local cur = redis.call('HMGET', uk, 'c', 's')
  if cur[2] and string.sub(cur[2], 1, string.len(sp)) == sp then
    redis.call('DEL', uk)
    redis.call('ZREM', P .. 'r:' .. cur[1], uid)
    n = n + 1
  end
end
redis.call('DEL', nk)
return n
`;

/**
 * Chatroom membership shared by every node, in Redis. Each method is one Lua script or one read, so
 * it is atomic with respect to the others on every node (the port's contract). Entries of a node that
 * restarts are purged when it connects (its sessions all start with its node id); a node that dies
 * and never comes back leaves its entries until their rooms are cleared — see docs/scaling.md.
 */
export class RedisChatroomMembership implements ChatroomMembership {
  private readonly P: string;
  private readonly redis: Redis;

  private constructor(private readonly opts: RedisChatroomMembershipOptions) {
    this.P = `${opts.prefix}chatroom:`;
    this.redis = new Redis(opts.url, {
      lazyConnect: true,
      connectTimeout: Math.min(opts.connectTimeoutMs ?? 10_000, 10_000),
      retryStrategy: (times) => Math.min(50 * times, 1000),
      // A call while Redis is away fails at once (the device gets server_error) rather than waiting.
      enableOfflineQueue: false,
      connectionName: `switchboard-chatrooms-${opts.nodeId}`,
    });
    this.redis.defineCommand('sbJoin', { numberOfKeys: 0, lua: JOIN });
    this.redis.defineCommand('sbLeave', { numberOfKeys: 0, lua: LEAVE });
    this.redis.defineCommand('sbClear', { numberOfKeys: 0, lua: CLEAR });
    this.redis.defineCommand('sbPurge', { numberOfKeys: 0, lua: PURGE });
    this.redis.on('error', (err) => opts.onError?.(err, 'redis chatroom membership'));
  }

  static async connect(opts: RedisChatroomMembershipOptions): Promise<RedisChatroomMembership> {
    const m = new RedisChatroomMembership(opts);
    try {
      await m.redis.connect();
      await m.redis.sbPurge(m.P, String(opts.nodeId), `${opts.nodeId}:`);
    } catch (err) {
      await m.close();
      throw new Error(`cannot reach Redis at ${redactUrl(opts.url)} for chatrooms: ${String(err)}`);
    }
    return m;
  }

  async join(chatroomId: string, member: ChatroomMember): Promise<ChatroomEntry | null> {
    const node = member.session.split(':')[0] ?? '';
    const prev = await this.redis.sbJoin(this.P, chatroomId, member.userId, JSON.stringify(member), member.session, node);
    return prev ? { chatroomId: prev[0], member: JSON.parse(prev[1]) as ChatroomMember } : null;
  }

  async leave(chatroomId: string, userId: string, session?: string): Promise<ChatroomMember | null> {
    const m = await this.redis.sbLeave(this.P, chatroomId, userId, session ?? '');
    return m ? (JSON.parse(m) as ChatroomMember) : null;
  }

  async of(userId: string): Promise<ChatroomEntry | null> {
    const [c, m] = await this.redis.hmget(`${this.P}u:${userId}`, 'c', 'm');
    return c && m ? { chatroomId: c, member: JSON.parse(m) as ChatroomMember } : null;
  }

  async members(chatroomId: string, limit: number): Promise<ChatroomMember[]> {
    if (limit <= 0) return [];
    const ids = await this.redis.zrange(`${this.P}r:${chatroomId}`, '0', String(limit - 1));
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hmget(`${this.P}u:${id}`, 'c', 'm');
    const res = (await pipe.exec()) ?? [];
    const out: ChatroomMember[] = [];
    for (const [err, v] of res) {
      if (err) throw err;
      const [c, m] = v as [string | null, string | null];
      if (c === chatroomId && m) out.push(JSON.parse(m) as ChatroomMember);
    }
    return out;
  }

  count(chatroomId: string): Promise<number> {
    return this.redis.zcard(`${this.P}r:${chatroomId}`);
  }

  async clear(chatroomId: string): Promise<ChatroomMember[]> {
    const ms = await this.redis.sbClear(this.P, chatroomId);
    return ms.map((m) => JSON.parse(m) as ChatroomMember);
  }

  async close(): Promise<void> {
    if (this.redis.status === 'ready') {
      try {
        await this.redis.quit();
      } catch {
        // closing anyway
      }
    }
    this.redis.disconnect();
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    sbJoin(p: string, room: string, userId: string, member: string, session: string, node: string): Result<[string, string] | null, Context>;
    sbLeave(p: string, room: string, userId: string, session: string): Result<string | null, Context>;
    sbClear(p: string, room: string): Result<string[], Context>;
    sbPurge(p: string, node: string, sessionPrefix: string): Result<number, Context>;
  }
}
