import { CoreError } from '../../core/errors.js';
import type { Channel } from '../../core/model.js';
import type { ChannelFields, ChannelStore, MemberInterval } from '../../core/ports/store.js';
import { AudienceType } from '../rows/messages.js';
import { MEMBERSHIP_SQL, recordLeaves, toInterval, type IntervalRow } from './audience.js';
import { toChannel, type ChannelRow } from '../rows/groups.js';
import type { PgContext } from './context.js';
import type { Queryable } from './pool.js';


/** The channel row, or undefined (inside a command or a read). */
export function channelRow(q: Queryable, channelId: string): Promise<ChannelRow | undefined> {
  return q.row<ChannelRow>('SELECT * FROM channels WHERE id = $1', [channelId]);
}

/** Channels and their subscribers on PostgreSQL. */
export class PgChannels implements ChannelStore {
  constructor(private readonly ctx: PgContext) {}

  upsertChannel(channelId: string, f: ChannelFields): Promise<Channel> {
    return this.ctx.write(async (tx) => {
      const r = await tx.row<ChannelRow>(
        `INSERT INTO channels(id, name, owner, portrait, description, extra, secret, callback, automatic, state, created_at, updated_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11 WHERE EXISTS (SELECT 1 FROM users WHERE id = $3)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, owner = EXCLUDED.owner, portrait = EXCLUDED.portrait,
           description = EXCLUDED.description, extra = EXCLUDED.extra, secret = EXCLUDED.secret, callback = EXCLUDED.callback,
           automatic = EXCLUDED.automatic, state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
         RETURNING *`,
        [
          channelId,
          f.name,
          f.owner,
          f.portrait ?? '',
          f.desc ?? '',
          f.extra ?? '',
          f.secret ?? '',
          f.callback ?? '',
          f.automatic ?? 0,
          f.state ?? 0,
          Date.now(),
        ],
      );
      if (!r) throw new CoreError('not_exist', `user ${f.owner} does not exist`);
      return toChannel(r);
    });
  }

  async getChannel(channelId: string): Promise<Channel | null> {
    const r = await channelRow(this.ctx.db, channelId);
    return r ? toChannel(r) : null;
  }

  destroyChannel(channelId: string): Promise<void> {
    return this.ctx.write(async (tx) => {
      const rows = await tx.rows<{ user_id: string | null; since: number | null }>(
        `WITH c AS (DELETE FROM channels WHERE id = $1 RETURNING id),
         s AS (DELETE FROM channel_subscribers WHERE channel_id = $1 AND EXISTS (SELECT 1 FROM c) RETURNING user_id, subscribed_seq)
         SELECT user_id, subscribed_seq AS since FROM s UNION ALL SELECT NULL, NULL FROM c`,
        [channelId],
      );
      if (!rows.some((r) => r.user_id === null)) throw new CoreError('not_exist', `channel ${channelId} does not exist`);
      const subs = rows.filter((r): r is { user_id: string; since: number } => r.user_id !== null);
      await recordLeaves(tx, AudienceType.channel, channelId, subs.map((x) => ({ userId: x.user_id, since: x.since })));
    });
  }

  subscribe(channelId: string, userId: string, on: boolean): Promise<void> {
    return this.ctx.write(async (tx) => {
      const facts = (await tx.row<{ channel: boolean; user: boolean }>(
        'SELECT EXISTS (SELECT 1 FROM channels WHERE id = $1) AS channel, EXISTS (SELECT 1 FROM users WHERE id = $2) AS user',
        [channelId, userId],
      ))!;
      if (!facts.channel) throw new CoreError('not_exist', `channel ${channelId} does not exist`);
      if (!facts.user) throw new CoreError('not_exist', `user ${userId} does not exist`);
      if (on) {
        await tx.run(
          `WITH s AS (INSERT INTO channel_subscribers(channel_id, user_id, subscribed_seq, created_at) VALUES ($1, $2, $3, $4)
                      ON CONFLICT DO NOTHING RETURNING 1)
           UPDATE channels SET subscriber_count = subscriber_count + 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM s)`,
          [channelId, userId, tx.currentSeq(), Date.now()],
        );
      } else {
        const r = await tx.row<{ subscribed_seq: number }>(
          `WITH s AS (DELETE FROM channel_subscribers WHERE channel_id = $1 AND user_id = $2 RETURNING subscribed_seq),
           c AS (UPDATE channels SET subscriber_count = subscriber_count - 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM s))
           SELECT subscribed_seq FROM s`,
          [channelId, userId],
        );
        if (r) await recordLeaves(tx, AudienceType.channel, channelId, [{ userId, since: r.subscribed_seq }]);
      }
    });
  }

  async isSubscribed(channelId: string, userId: string): Promise<boolean> {
    return (await this.ctx.db.row('SELECT 1 FROM channel_subscribers WHERE channel_id = $1 AND user_id = $2', [channelId, userId])) !== undefined;
  }

  async audienceSeqs(channelId: string): Promise<MemberInterval[]> {
    // One statement (one snapshot): subscribers, past subscriptions and the owner (part 2).
    const rows = await this.ctx.db.rows<IntervalRow & { part: number }>(MEMBERSHIP_SQL.channel, [channelId, AudienceType.channel]);
    const past = rows.filter((r) => r.part === 1).map(toInterval);
    const owner = rows.find((r) => r.part === 2);
    if (!owner) return past; // destroyed: its subscriptions all became past ones
    const subs = rows.filter((r) => r.part === 0).map(toInterval);
    const current = subs.some((x) => x.userId === owner.user_id) ? subs : [{ userId: owner.user_id, since: 0 }, ...subs];
    return [...current, ...past];
  }
}
