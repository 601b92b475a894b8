import { CoreError } from '../../core/errors.js';
import type { Channel, Group, GroupMember } from '../../core/model.js';
import { GroupMemberType } from '../../core/model.js';
import type { ChannelFields, ChannelStore, GroupFields, GroupStore, MemberInput, MemberInterval } from '../../core/ports/store.js';
import { GROUP_COLUMNS, toChannel, toGroup, toMember, type ChannelRow, type GroupRow, type MemberRow } from '../rows/groups.js';
import type { GroupSendFacts, SqliteContext } from './context.js';
import type { SqliteUsers } from './users.js';
import { insertEffects } from './outbox-rows.js';
import { AudienceType } from '../rows/messages.js';
import { recordLeaves } from './message-rows.js';
import type { EffectSpec } from '../../core/ports/outbox.js';


/**
 * The membership reads of live fan-out (memberSeqs / audienceSeqs / pastGroupsOfUser), exported so
 * tests can pin their query plans. Current members come from the audience's primary key range; past
 * memberships from audience_history by audience (audience_history_audience: audience_type,
 * audience_id, left_seq, covering user_id and joined_seq through the primary key), or by user
 * (its primary key: user_id, audience_type, audience_id, joined_seq).
 */
export const MEMBERSHIP_SQL = {
  groupMembers: 'SELECT user_id, joined_seq FROM group_members WHERE group_id = ? AND type <> 4',
  channelSubscribers: 'SELECT user_id, subscribed_seq FROM channel_subscribers WHERE channel_id = ?',
  past: 'SELECT user_id, joined_seq, left_seq FROM audience_history WHERE audience_type = ? AND audience_id = ?',
  pastOfUser: 'SELECT DISTINCT audience_id FROM audience_history WHERE user_id = ? AND audience_type = ?',
} as const;

/** Inside a read: the past memberships of a shared audience, as closed intervals. */
function pastMembers(ctx: SqliteContext, audienceType: number, audienceId: string): MemberInterval[] {
  return (
    ctx.stmt(MEMBERSHIP_SQL.past).all(audienceType, audienceId) as Array<{ user_id: string; joined_seq: number; left_seq: number }>
  ).map((r) => ({ userId: r.user_id, since: r.joined_seq, until: r.left_seq }));
}

export class SqliteGroups implements GroupStore {
  constructor(
    private readonly ctx: SqliteContext,
    private readonly users: SqliteUsers,
  ) {}

  /** Inside a command: the group row or undefined. */
  row(groupId: string): GroupRow | undefined {
    return this.ctx.stmt('SELECT * FROM groups WHERE id = ?').get(groupId) as GroupRow | undefined;
  }

  /**
   * Inside a command: what a send reads of the group, with the next message number taken (msg_seq + 1,
   * now stored; it rolls back with the command), or undefined when the group does not exist. One
   * statement, in place of `row` on the send path; it returns only the columns a send reads (the whole
   * row cost about twice as much per group message).
   */
  rowTakingMsgSeq(groupId: string): GroupSendFacts | undefined {
    // Remembered (SqliteContext.groupFacts): then the number is written by a plain UPDATE, nothing read.
    const known = this.ctx.groupFacts.get(groupId);
    if (known) {
      const next: GroupSendFacts = { member_count: known.member_count, mute: known.mute, msg_seq: known.msg_seq + 1 };
      this.ctx.stmt('UPDATE groups SET msg_seq = ? WHERE id = ?').run(next.msg_seq, groupId);
      return this.ctx.groupFacts.remember(groupId, next);
    }
    const g = this.ctx.stmt('UPDATE groups SET msg_seq = msg_seq + 1 WHERE id = ? RETURNING member_count, mute, msg_seq').get(groupId) as
      | GroupSendFacts
      | undefined;
    return g ? this.ctx.groupFacts.remember(groupId, g) : undefined;
  }

  /** Inside a command: how many groups of `type` `owner` owns (index groups_owner). */
  ownedGroups(owner: string, type: number): number {
    return (this.ctx.stmt('SELECT COUNT(*) AS n FROM groups WHERE owner = ? AND type = ?').get(owner, type) as { n: number }).n;
  }

  member(groupId: string, userId: string): MemberRow | undefined {
    return this.ctx
      .stmt('SELECT user_id, alias, type, extra, created_at FROM group_members WHERE group_id = ? AND user_id = ?')
      .get(groupId, userId) as MemberRow | undefined;
  }

  /**
   * Inside a command: the group's member ids, remembered (SqliteContext.groupMembers; every insert or
   * delete of a member forgets them), so a group send reads them once, not per message.
   */
  memberIds(groupId: string): readonly string[] {
    const known = this.ctx.groupMembers.get(groupId);
    if (known) return known;
    const ids = (this.ctx.stmt('SELECT user_id FROM group_members WHERE group_id = ?').all(groupId) as Array<{ user_id: string }>).map((r) => r.user_id);
    return this.ctx.groupMembers.remember(groupId, ids);
  }

  private mustRow(groupId: string): GroupRow {
    const g = this.row(groupId);
    if (!g) throw new CoreError('not_exist', `group ${groupId} does not exist`);
    return g;
  }

  private applyFields(groupId: string, fields: GroupFields, now: number): void {
    const keys = (Object.keys(fields) as Array<keyof GroupFields>).filter((k) => fields[k] !== undefined);
    const sets = keys.map((k) => `${GROUP_COLUMNS[k]} = ?, `).join('');
    this.ctx
      .stmt(`UPDATE groups SET ${sets}updated_at = ? WHERE id = ?`)
      .run(...keys.map((k) => fields[k] as string | number), now, groupId);
    this.ctx.groupFacts.forget(groupId);
  }

  /** Insert or update members; returns how many were new. Checks users exist. */
  private upsertMembers(groupId: string, owner: string, members: MemberInput[], now: number): number {
    let added = 0;
    for (const m of members) {
      if (!this.users.exists(m.memberId)) throw new CoreError('not_exist', `user ${m.memberId} does not exist`);
      // Only the owner has type owner; an admin may set manager/normal/silent/allowed.
      let type = m.type ?? GroupMemberType.normal;
      if (m.memberId === owner) type = GroupMemberType.owner;
      else if (type === GroupMemberType.owner || type === GroupMemberType.removed || type < 0 || type > 5) type = GroupMemberType.normal;
      const existing = this.member(groupId, m.memberId);
      if (existing) {
        this.ctx
          .stmt(
            `UPDATE group_members SET alias = COALESCE(?, alias), type = ?, extra = COALESCE(?, extra)
             WHERE group_id = ? AND user_id = ?`,
          )
          .run(m.alias ?? null, existing.type === GroupMemberType.owner ? existing.type : type, m.extra ?? null, groupId, m.memberId);
      } else {
        this.ctx
          .stmt(
            `INSERT INTO group_members(group_id, user_id, alias, type, extra, joined_seq, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(groupId, m.memberId, m.alias ?? '', type, m.extra ?? '', this.ctx.currentSeq(), now);
        this.ctx.groupMembers.forget(groupId);
        added++;
      }
    }
    return added;
  }

  private bumpCount(groupId: string, delta: number, maxMembers: number): void {
    if (delta === 0) return;
    this.ctx.stmt('UPDATE groups SET member_count = member_count + ? WHERE id = ?').run(delta, groupId);
    this.ctx.groupFacts.forget(groupId);
    const g = this.row(groupId)!;
    const limit = g.max_member_count > 0 ? g.max_member_count : maxMembers;
    if (delta > 0 && g.member_count > limit) throw new CoreError('group_full');
  }

  createGroup(
    groupId: string,
    fields: GroupFields & { owner: string },
    members: MemberInput[],
    maxMembers: number,
    effects?: EffectSpec[],
  ): Promise<Group> {
    return this.ctx.write(() => {
      if (this.row(groupId)) throw new CoreError('group_already_exist');
      if (!this.users.exists(fields.owner)) throw new CoreError('not_exist', `user ${fields.owner} does not exist`);
      const now = Date.now();
      this.ctx.stmt('INSERT INTO groups(id, owner, created_at, updated_at) VALUES (?, ?, ?, ?)').run(groupId, fields.owner, now, now);
      this.applyFields(groupId, fields, now);
      const all = members.some((m) => m.memberId === fields.owner) ? members : [{ memberId: fields.owner }, ...members];
      const added = this.upsertMembers(groupId, fields.owner, all, now);
      this.bumpCount(groupId, added, maxMembers);
      insertEffects(this.ctx, effects, { ownedGroups: (owner, type) => this.ownedGroups(owner, type) });
      return toGroup(this.row(groupId)!);
    });
  }

  deleteGroup(groupId: string, effects?: EffectSpec[]): Promise<{ members: string[] }> {
    return this.ctx.write(() => {
      this.mustRow(groupId);
      const rows = this.ctx.stmt('SELECT user_id, joined_seq FROM group_members WHERE group_id = ?').all(groupId) as Array<{
        user_id: string;
        joined_seq: number;
      }>;
      const members = rows.map((r) => r.user_id);
      insertEffects(this.ctx, effects, {});
      recordLeaves(this.ctx, AudienceType.group, groupId, rows.map((r) => ({ userId: r.user_id, since: r.joined_seq })));
      this.ctx.stmt('DELETE FROM group_members WHERE group_id = ?').run(groupId);
      this.ctx.groupMembers.forget(groupId);
      this.ctx.stmt('DELETE FROM groups WHERE id = ?').run(groupId);
      this.ctx.groupFacts.forget(groupId);
      return { members };
    });
  }

  getGroup(groupId: string): Promise<Group | null> {
    return this.ctx.read(() => {
      const g = this.row(groupId);
      return g ? toGroup(g) : null;
    });
  }

  updateGroup(groupId: string, fields: GroupFields): Promise<Group> {
    return this.ctx.write(() => {
      this.mustRow(groupId);
      this.applyFields(groupId, fields, Date.now());
      return toGroup(this.row(groupId)!);
    });
  }

  transferGroup(groupId: string, newOwner: string): Promise<void> {
    return this.ctx.write(() => {
      const g = this.mustRow(groupId);
      if (!this.users.exists(newOwner)) throw new CoreError('not_exist', `user ${newOwner} does not exist`);
      if (!this.member(groupId, newOwner)) throw new CoreError('not_in_group', `${newOwner} is not a member`);
      if (g.owner === newOwner) return;
      const now = Date.now();
      this.ctx.stmt('UPDATE group_members SET type = ? WHERE group_id = ? AND user_id = ?').run(GroupMemberType.normal, groupId, g.owner);
      this.ctx.stmt('UPDATE group_members SET type = ? WHERE group_id = ? AND user_id = ?').run(GroupMemberType.owner, groupId, newOwner);
      this.ctx.stmt('UPDATE groups SET owner = ?, updated_at = ? WHERE id = ?').run(newOwner, now, groupId);
      this.ctx.groupFacts.forget(groupId);
    });
  }

  listMembers(groupId: string): Promise<GroupMember[]> {
    return this.ctx.read(() => {
      this.mustRow(groupId);
      return (
        this.ctx
          .stmt(
            'SELECT user_id, alias, type, extra, created_at FROM group_members WHERE group_id = ? AND type <> 4 ORDER BY created_at, user_id',
          )
          .all(groupId) as MemberRow[]
      ).map(toMember);
    });
  }

  getMember(groupId: string, userId: string): Promise<GroupMember | null> {
    return this.ctx.read(() => {
      const m = this.member(groupId, userId);
      return m ? toMember(m) : null;
    });
  }

  addMembers(groupId: string, members: MemberInput[], maxMembers: number, effects?: EffectSpec[]): Promise<void> {
    return this.ctx.write(() => {
      const g = this.mustRow(groupId);
      const added = this.upsertMembers(groupId, g.owner, members, Date.now());
      this.bumpCount(groupId, added, maxMembers);
      insertEffects(this.ctx, effects, {});
    });
  }

  removeMembers(groupId: string, userIds: string[], effects?: EffectSpec[]): Promise<string[]> {
    return this.ctx.write(() => {
      const g = this.mustRow(groupId);
      if (userIds.includes(g.owner)) throw new CoreError('no_right', 'the owner cannot be removed; transfer or dismiss the group');
      const removed: string[] = [];
      const leavers: Array<{ userId: string; since: number }> = [];
      for (const u of userIds) {
        const r = this.ctx.stmt('DELETE FROM group_members WHERE group_id = ? AND user_id = ? RETURNING joined_seq').get(groupId, u) as
          | { joined_seq: number }
          | undefined;
        if (!r) continue;
        this.ctx.groupMembers.forget(groupId);
        removed.push(u);
        leavers.push({ userId: u, since: r.joined_seq });
      }
      recordLeaves(this.ctx, AudienceType.group, groupId, leavers);
      this.ctx.stmt('UPDATE groups SET member_count = member_count - ?, updated_at = ? WHERE id = ?').run(removed.length, Date.now(), groupId);
      this.ctx.groupFacts.forget(groupId);
      if (removed.length > 0) insertEffects(this.ctx, effects, {});
      return removed;
    });
  }

  setMemberType(groupId: string, userIds: string[], type: number): Promise<void> {
    return this.ctx.write(() => {
      const g = this.mustRow(groupId);
      for (const u of userIds) {
        if (u === g.owner) throw new CoreError('no_right', 'the owner type cannot change');
        if (!this.member(groupId, u)) throw new CoreError('not_in_group', `${u} is not a member`);
        this.ctx.stmt('UPDATE group_members SET type = ? WHERE group_id = ? AND user_id = ?').run(type, groupId, u);
      }
    });
  }

  memberSeqs(groupId: string): Promise<MemberInterval[]> {
    // One read: a leave commits its history row with the membership delete, so a user is never in
    // neither list.
    return this.ctx.read(() => {
      const current = (this.ctx.stmt(MEMBERSHIP_SQL.groupMembers).all(groupId) as Array<{ user_id: string; joined_seq: number }>).map(
        (r): MemberInterval => ({ userId: r.user_id, since: r.joined_seq }),
      );
      return [...current, ...pastMembers(this.ctx, AudienceType.group, groupId)];
    });
  }

  pastGroupsOfUser(userId: string): Promise<string[]> {
    return this.ctx.read(() =>
      (this.ctx.stmt(MEMBERSHIP_SQL.pastOfUser).all(userId, AudienceType.group) as Array<{ audience_id: string }>).map((r) => r.audience_id),
    );
  }

  groupsOfUserByType(userId: string, types: number[]): Promise<string[]> {
    return this.ctx.read(() => {
      const rows = this.ctx.stmt('SELECT group_id, type FROM group_members WHERE user_id = ? AND type <> 4 ORDER BY group_id').all(userId) as Array<{
        group_id: string;
        type: number;
      }>;
      const wanted = new Set(types);
      return rows.filter((r) => wanted.size === 0 || wanted.has(r.type)).map((r) => r.group_id);
    });
  }

  updateMember(groupId: string, userId: string, fields: { alias?: string; extra?: string }): Promise<GroupMember> {
    return this.ctx.write(() => {
      this.mustRow(groupId);
      const m = this.member(groupId, userId);
      if (!m || m.type === GroupMemberType.removed) throw new CoreError('not_in_group', `${userId} is not a member`);
      this.ctx
        .stmt('UPDATE group_members SET alias = COALESCE(?, alias), extra = COALESCE(?, extra) WHERE group_id = ? AND user_id = ?')
        .run(fields.alias ?? null, fields.extra ?? null, groupId, userId);
      return toMember(this.member(groupId, userId)!);
    });
  }

  groupsOfUser(userId: string): Promise<string[]> {
    return this.ctx.read(() =>
      (
        this.ctx.stmt('SELECT group_id FROM group_members WHERE user_id = ? AND type <> 4 ORDER BY group_id').all(userId) as Array<{
          group_id: string;
        }>
      ).map((r) => r.group_id),
    );
  }
}


export class SqliteChannels implements ChannelStore {
  constructor(
    private readonly ctx: SqliteContext,
    private readonly users: SqliteUsers,
  ) {}

  row(channelId: string): ChannelRow | undefined {
    return this.ctx.stmt('SELECT * FROM channels WHERE id = ?').get(channelId) as ChannelRow | undefined;
  }

  isSubscriber(channelId: string, userId: string): boolean {
    return this.ctx.stmt('SELECT 1 FROM channel_subscribers WHERE channel_id = ? AND user_id = ?').get(channelId, userId) !== undefined;
  }

  subscriberIds(channelId: string): string[] {
    return (
      this.ctx.stmt('SELECT user_id FROM channel_subscribers WHERE channel_id = ?').all(channelId) as Array<{ user_id: string }>
    ).map((r) => r.user_id);
  }

  upsertChannel(channelId: string, f: ChannelFields): Promise<Channel> {
    return this.ctx.write(() => {
      if (!this.users.exists(f.owner)) throw new CoreError('not_exist', `user ${f.owner} does not exist`);
      const now = Date.now();
      this.ctx
        .stmt(
          `INSERT INTO channels(id, name, owner, portrait, description, extra, secret, callback, automatic, state, created_at, updated_at)
           VALUES (@id, @name, @owner, @portrait, @desc, @extra, @secret, @callback, @automatic, @state, @now, @now)
           ON CONFLICT(id) DO UPDATE SET name = @name, owner = @owner, portrait = @portrait, description = @desc, extra = @extra,
             secret = @secret, callback = @callback, automatic = @automatic, state = @state, updated_at = @now`,
        )
        .run({
          id: channelId,
          name: f.name,
          owner: f.owner,
          portrait: f.portrait ?? '',
          desc: f.desc ?? '',
          extra: f.extra ?? '',
          secret: f.secret ?? '',
          callback: f.callback ?? '',
          automatic: f.automatic ?? 0,
          state: f.state ?? 0,
          now,
        });
      return toChannel(this.row(channelId)!);
    });
  }

  getChannel(channelId: string): Promise<Channel | null> {
    return this.ctx.read(() => {
      const r = this.row(channelId);
      return r ? toChannel(r) : null;
    });
  }

  destroyChannel(channelId: string): Promise<void> {
    return this.ctx.write(() => {
      const r = this.ctx.stmt('DELETE FROM channels WHERE id = ?').run(channelId);
      if (r.changes === 0) throw new CoreError('not_exist', `channel ${channelId} does not exist`);
      const subs = this.ctx.stmt('SELECT user_id, subscribed_seq FROM channel_subscribers WHERE channel_id = ?').all(channelId) as Array<{
        user_id: string;
        subscribed_seq: number;
      }>;
      recordLeaves(this.ctx, AudienceType.channel, channelId, subs.map((x) => ({ userId: x.user_id, since: x.subscribed_seq })));
      this.ctx.stmt('DELETE FROM channel_subscribers WHERE channel_id = ?').run(channelId);
    });
  }

  subscribe(channelId: string, userId: string, on: boolean): Promise<void> {
    return this.ctx.write(() => {
      if (!this.row(channelId)) throw new CoreError('not_exist', `channel ${channelId} does not exist`);
      if (!this.users.exists(userId)) throw new CoreError('not_exist', `user ${userId} does not exist`);
      if (on) {
        const r = this.ctx
          .stmt(
            'INSERT OR IGNORE INTO channel_subscribers(channel_id, user_id, subscribed_seq, created_at) VALUES (?, ?, ?, ?)',
          )
          .run(channelId, userId, this.ctx.currentSeq(), Date.now());
        if (r.changes > 0) this.ctx.stmt('UPDATE channels SET subscriber_count = subscriber_count + 1 WHERE id = ?').run(channelId);
      } else {
        const r = this.ctx
          .stmt('DELETE FROM channel_subscribers WHERE channel_id = ? AND user_id = ? RETURNING subscribed_seq')
          .get(channelId, userId) as { subscribed_seq: number } | undefined;
        if (r) {
          this.ctx.stmt('UPDATE channels SET subscriber_count = subscriber_count - 1 WHERE id = ?').run(channelId);
          recordLeaves(this.ctx, AudienceType.channel, channelId, [{ userId, since: r.subscribed_seq }]);
        }
      }
    });
  }

  isSubscribed(channelId: string, userId: string): Promise<boolean> {
    return this.ctx.read(() => this.isSubscriber(channelId, userId));
  }

  audienceSeqs(channelId: string): Promise<MemberInterval[]> {
    return this.ctx.read(() => {
      const past = pastMembers(this.ctx, AudienceType.channel, channelId);
      const c = this.row(channelId);
      if (!c) return past; // destroyed: its subscriptions all became past ones
      const subs = (
        this.ctx.stmt(MEMBERSHIP_SQL.channelSubscribers).all(channelId) as Array<{ user_id: string; subscribed_seq: number }>
      ).map((r): MemberInterval => ({ userId: r.user_id, since: r.subscribed_seq }));
      const current = subs.some((x) => x.userId === c.owner) ? subs : [{ userId: c.owner, since: 0 }, ...subs];
      return [...current, ...past];
    });
  }
}
