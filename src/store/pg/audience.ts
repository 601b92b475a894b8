import type { MemberInterval } from '../../core/ports/store.js';
import type { PgTx } from './writer.js';

/**
 * Membership history of the shared audiences (groups and channels), as SQLite's message-rows.ts keeps
 * it: the same table, the same rows, the same intervals (MemberInterval).
 */

/**
 * Inside a write command: members leave a shared audience (removed, unsubscribed, the group or channel
 * gone). Each keeps the interval (since, now] in audience_history (now: the current cursor), so replay
 * still gives it the shared events of messages sent while it was a member. Skipped for a leaver when
 * the audience has no shared event after its `since` (the interval could show nothing). One statement.
 */
export async function recordLeaves(tx: PgTx, audienceType: number, audienceId: string, leavers: Array<{ userId: string; since: number }>): Promise<void> {
  if (leavers.length === 0) return;
  await tx.run(
    `INSERT INTO audience_history(user_id, audience_type, audience_id, joined_seq, left_seq)
     SELECT u, $1, $2, s, $3 FROM unnest($4::text[], $5::bigint[]) AS x(u, s)
      WHERE s < (SELECT seq FROM events WHERE audience_type = $1 AND audience_id = $2 ORDER BY seq DESC LIMIT 1)
     ON CONFLICT (user_id, audience_type, audience_id, joined_seq) DO UPDATE SET left_seq = GREATEST(audience_history.left_seq, EXCLUDED.left_seq)`,
    [audienceType, audienceId, tx.currentSeq(), leavers.map((l) => l.userId), leavers.map((l) => l.since)],
  );
}

/** A row of MEMBERSHIP_SQL's queries: `until` null for a current membership. */
export interface IntervalRow {
  user_id: string;
  since: number;
  until: number | null;
}

export function toInterval(r: IntervalRow): MemberInterval {
  return r.until === null ? { userId: r.user_id, since: r.since } : { userId: r.user_id, since: r.since, until: r.until };
}

/**
 * The membership reads of live fan-out, each one statement (one snapshot: a leave commits its
 * history row with the membership delete, so a user is never in neither list). Current memberships
 * first (by user id), then past ones (by the end of the interval).
 */
export const MEMBERSHIP_SQL = {
  group: `SELECT * FROM (
            SELECT user_id, joined_seq AS since, NULL::bigint AS until, 0 AS part FROM group_members WHERE group_id = $1 AND type <> 4
            UNION ALL
            SELECT user_id, joined_seq, left_seq, 1 FROM audience_history WHERE audience_type = $2 AND audience_id = $1) s
          ORDER BY part, until, user_id COLLATE "C", since`,
  /** part 2: the channel's owner (absent: the channel is gone). */
  channel: `SELECT * FROM (
              SELECT user_id, subscribed_seq AS since, NULL::bigint AS until, 0 AS part FROM channel_subscribers WHERE channel_id = $1
              UNION ALL
              SELECT user_id, joined_seq, left_seq, 1 FROM audience_history WHERE audience_type = $2 AND audience_id = $1
              UNION ALL
              SELECT owner, 0, NULL, 2 FROM channels WHERE id = $1) s
            ORDER BY part, until, user_id COLLATE "C", since`,
  pastOfUser: 'SELECT DISTINCT audience_id FROM audience_history WHERE user_id = $1 AND audience_type = $2',
} as const;
