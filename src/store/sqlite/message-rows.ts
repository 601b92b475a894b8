import { MESSAGE_COLS, type MessageRow } from '../rows/messages.js';
import type { Audience } from '../../core/ports/store.js';
import type { SqliteContext } from './context.js';
import { AudienceType } from '../rows/messages.js';

export function messageRow(ctx: SqliteContext, uid: number): MessageRow | undefined {
  return ctx.stmt(`SELECT ${MESSAGE_COLS} FROM messages WHERE uid = ?`).get(uid) as MessageRow | undefined;
}

/** The conversation as a user sees it: core's rule (core/message-plan.ts). */
export { perspective } from '../../core/message-plan.js';

/**
 * Record an event for an audience: per-user inbox rows for a listed audience, one shared row otherwise.
 * `extraUsers` get inbox rows in addition (e.g. a channel owner who is not a subscriber).
 */
export function writeEvent(
  ctx: SqliteContext,
  seq: number,
  type: number,
  uid: number,
  audience: Audience,
  data: string | null = null,
  extraUsers: string[] = [],
): void {
  // A chatroom's events are delivered live only: nothing is written for anyone to replay.
  if (audience.kind === 'chatroom') return;
  const inbox = ctx.stmt('INSERT INTO inbox(user_id, seq, type, uid, data) VALUES (?, ?, ?, ?, ?)');
  if (audience.kind === 'users') {
    for (const u of audience.users) inbox.run(u, seq, type, uid, data);
  } else {
    const [t, id] =
      audience.kind === 'group'
        ? [AudienceType.group, audience.groupId]
        : audience.kind === 'channel'
          ? [AudienceType.channel, audience.channelId]
          : [AudienceType.all, ''];
    ctx.stmt('INSERT INTO events(seq, type, uid, audience_type, audience_id) VALUES (?, ?, ?, ?, ?)').run(seq, type, uid, t, id);
  }
  for (const u of extraUsers) inbox.run(u, seq, type, uid, data);
}

/**
 * Members leave a shared audience (removed, unsubscribed, the group or channel gone): each keeps the
 * interval (since, now] in audience_history, so replay still gives it the shared events of messages
 * sent while it was a member (see SqliteSync.replay). Skipped when the audience has no shared event
 * after `since` (the interval could show nothing). One index seek plus one insert per leaver. Inside
 * a writer command.
 */
export function recordLeaves(ctx: SqliteContext, audienceType: number, audienceId: string, leavers: Array<{ userId: string; since: number }>): void {
  if (leavers.length === 0) return;
  const last = ctx
    .stmt('SELECT seq FROM events WHERE audience_type = ? AND audience_id = ? ORDER BY seq DESC LIMIT 1')
    .get(audienceType, audienceId) as { seq: number } | undefined;
  if (!last) return;
  const left = ctx.currentSeq();
  const ins = ctx.stmt(
    `INSERT INTO audience_history(user_id, audience_type, audience_id, joined_seq, left_seq) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(user_id, audience_type, audience_id, joined_seq) DO UPDATE SET left_seq = MAX(left_seq, excluded.left_seq)`,
  );
  for (const l of leavers) if (last.seq > l.since) ins.run(l.userId, audienceType, audienceId, l.since, left);
}
