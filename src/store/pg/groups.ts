import { CoreError } from '../../core/errors.js';
import type { Group, GroupMember } from '../../core/model.js';
import { GroupMemberType } from '../../core/model.js';
import type { EffectSpec } from '../../core/ports/outbox.js';
import type { GroupFields, GroupStore, MemberInput, MemberInterval } from '../../core/ports/store.js';
import { AudienceType } from '../rows/messages.js';
import { MEMBERSHIP_SQL, recordLeaves, toInterval, type IntervalRow } from './audience.js';
import { GROUP_COLUMNS, toGroup, toMember, type GroupRow, type MemberRow } from '../rows/groups.js';
import type { PgContext } from './context.js';
import { insertEffects } from './effects.js';
import type { Queryable } from './pool.js';
import type { PgTx } from './writer.js';


function givenFields(fields: GroupFields): Array<[string, string | number]> {
  return (Object.keys(GROUP_COLUMNS) as Array<keyof GroupFields>)
    .filter((k) => fields[k] !== undefined)
    .map((k) => [GROUP_COLUMNS[k], fields[k] as string | number]);
}

const MEMBER_COLS = 'user_id, alias, type, extra, created_at';

/** The group row, or undefined (inside a command or a read). */
export function groupRow(q: Queryable, groupId: string): Promise<GroupRow | undefined> {
  return q.row<GroupRow>('SELECT * FROM groups WHERE id = $1', [groupId]);
}

async function mustGroup(q: Queryable, groupId: string): Promise<GroupRow> {
  const g = await groupRow(q, groupId);
  if (!g) throw new CoreError('not_exist', `group ${groupId} does not exist`);
  return g;
}

function memberRow(q: Queryable, groupId: string, userId: string): Promise<MemberRow | undefined> {
  return q.row<MemberRow>(`SELECT ${MEMBER_COLS} FROM group_members WHERE group_id = $1 AND user_id = $2`, [groupId, userId]);
}

/** Inside a command: how many groups of `type` `owner` owns. */
async function ownedGroups(q: Queryable, owner: string, type: number): Promise<number> {
  return (await q.row<{ n: number }>('SELECT COUNT(*) AS n FROM groups WHERE owner = $1 AND type = $2', [owner, type]))!.n;
}

/** The type a member input gets: only the owner is owner; an admin may set manager/normal/silent/allowed. */
function inputType(m: MemberInput, owner: string): number {
  const type = m.type ?? GroupMemberType.normal;
  if (m.memberId === owner) return GroupMemberType.owner;
  if (type === GroupMemberType.owner || type === GroupMemberType.removed || type < 0 || type > 5) return GroupMemberType.normal;
  return type;
}

/**
 * Add or update members in one statement (SQLite's loop, folded): a user listed twice counts as
 * listed once, its later entry winning and absent texts taken from the earlier one; an existing
 * member keeps the texts not given and, when it is the owner, its type; a new one joins at the current
 * cursor. Throws not_exist (the first unknown user), group_full (the limit: the group's own, else
 * `maxMembers`). Returns the group row as left.
 */
async function upsertMembers(tx: PgTx, groupId: string, owner: string, members: MemberInput[], maxMembers: number, now: number): Promise<GroupRow> {
  const folded = new Map<string, { alias: string | null; type: number; extra: string | null }>();
  for (const m of members) {
    const prev = folded.get(m.memberId);
    folded.set(m.memberId, { alias: m.alias ?? prev?.alias ?? null, type: inputType(m, owner), extra: m.extra ?? prev?.extra ?? null });
  }
  const ids = [...folded.keys()];
  const r = (await tx.row<GroupRow & { missing: string | null; added: number }>(
    `WITH x AS (SELECT * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[]) WITH ORDINALITY AS x(u, a, t, e, o)),
     upd AS (UPDATE group_members m SET alias = COALESCE(x.a, m.alias), type = CASE WHEN m.type = ${GroupMemberType.owner} THEN m.type ELSE x.t END,
               extra = COALESCE(x.e, m.extra)
               FROM x WHERE m.group_id = $1 AND m.user_id = x.u),
     ins AS (INSERT INTO group_members(group_id, user_id, alias, type, extra, joined_seq, created_at)
             SELECT $1, x.u, COALESCE(x.a, ''), x.t, COALESCE(x.e, ''), $6, $7 FROM x
              WHERE NOT EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = $1 AND m.user_id = x.u)
             RETURNING user_id),
     g AS (UPDATE groups SET member_count = member_count + (SELECT COUNT(*) FROM ins) WHERE id = $1 RETURNING *)
     SELECT g.*, (SELECT COUNT(*) FROM ins) AS added,
       (SELECT x.u FROM x WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = x.u) ORDER BY x.o LIMIT 1) AS missing
       FROM g`,
    [
      groupId,
      ids,
      ids.map((id) => folded.get(id)!.alias),
      ids.map((id) => folded.get(id)!.type),
      ids.map((id) => folded.get(id)!.extra),
      tx.currentSeq(),
      now,
    ],
  ))!;
  if (r.missing !== null) throw new CoreError('not_exist', `user ${r.missing} does not exist`);
  const limit = r.max_member_count > 0 ? r.max_member_count : maxMembers;
  if (r.added > 0 && r.member_count > limit) throw new CoreError('group_full');
  return r;
}

/** Groups and their members on PostgreSQL. */
export class PgGroups implements GroupStore {
  constructor(private readonly ctx: PgContext) {}

  createGroup(groupId: string, fields: GroupFields & { owner: string }, members: MemberInput[], maxMembers: number, effects?: EffectSpec[]): Promise<Group> {
    return this.ctx.write(async (tx) => {
      const facts = (await tx.row<{ taken: boolean; owner: boolean }>(
        'SELECT EXISTS (SELECT 1 FROM groups WHERE id = $1) AS taken, EXISTS (SELECT 1 FROM users WHERE id = $2) AS owner',
        [groupId, fields.owner],
      ))!;
      if (facts.taken) throw new CoreError('group_already_exist');
      if (!facts.owner) throw new CoreError('not_exist', `user ${fields.owner} does not exist`);
      const now = Date.now();
      const given = givenFields(fields).filter(([c]) => c !== 'owner');
      await tx.run(
        `INSERT INTO groups(id, owner, created_at, updated_at${given.map(([c]) => `, ${c}`).join('')})
         VALUES ($1, $2, $3, $3${given.map((_, i) => `, $${i + 4}`).join('')})`,
        [groupId, fields.owner, now, ...given.map(([, v]) => v)],
      );
      const all = members.some((m) => m.memberId === fields.owner) ? members : [{ memberId: fields.owner }, ...members];
      const g = await upsertMembers(tx, groupId, fields.owner, all, maxMembers, now);
      await insertEffects(tx, effects, { ownedGroups: (owner, type) => ownedGroups(tx, owner, type) });
      return toGroup(g);
    });
  }

  deleteGroup(groupId: string, effects?: EffectSpec[]): Promise<{ members: string[] }> {
    return this.ctx.write(async (tx) => {
      const rows = await tx.rows<{ user_id: string; joined_seq: number; gone: boolean }>(
        `WITH g AS (DELETE FROM groups WHERE id = $1 RETURNING id),
         m AS (DELETE FROM group_members WHERE group_id = $1 AND EXISTS (SELECT 1 FROM g) RETURNING user_id, joined_seq)
         SELECT user_id, joined_seq, false AS gone FROM m UNION ALL SELECT NULL, NULL, true FROM g`,
        [groupId],
      );
      if (!rows.some((r) => r.gone)) throw new CoreError('not_exist', `group ${groupId} does not exist`);
      const left = rows.filter((r) => !r.gone).sort((a, b) => (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0));
      await insertEffects(tx, effects);
      await recordLeaves(tx, AudienceType.group, groupId, left.map((r) => ({ userId: r.user_id, since: r.joined_seq })));
      return { members: left.map((r) => r.user_id) };
    });
  }

  async getGroup(groupId: string): Promise<Group | null> {
    const g = await groupRow(this.ctx.db, groupId);
    return g ? toGroup(g) : null;
  }

  updateGroup(groupId: string, fields: GroupFields): Promise<Group> {
    return this.ctx.write(async (tx) => {
      const given = givenFields(fields);
      const g = await tx.row<GroupRow>(
        `UPDATE groups SET ${given.map(([c], i) => `${c} = $${i + 3}, `).join('')}updated_at = $2 WHERE id = $1 RETURNING *`,
        [groupId, Date.now(), ...given.map(([, v]) => v)],
      );
      if (!g) throw new CoreError('not_exist', `group ${groupId} does not exist`);
      return toGroup(g);
    });
  }

  transferGroup(groupId: string, newOwner: string): Promise<void> {
    return this.ctx.write(async (tx) => {
      const g = await mustGroup(tx, groupId);
      const facts = (await tx.row<{ user: boolean; member: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM users WHERE id = $2) AS user,
                EXISTS (SELECT 1 FROM group_members WHERE group_id = $1 AND user_id = $2) AS member`,
        [groupId, newOwner],
      ))!;
      if (!facts.user) throw new CoreError('not_exist', `user ${newOwner} does not exist`);
      if (!facts.member) throw new CoreError('not_in_group', `${newOwner} is not a member`);
      if (g.owner === newOwner) return;
      await tx.run(
        `WITH m AS (UPDATE group_members SET type = CASE WHEN user_id = $3 THEN ${GroupMemberType.owner} ELSE ${GroupMemberType.normal} END
                     WHERE group_id = $1 AND user_id IN ($2, $3))
         UPDATE groups SET owner = $3, updated_at = $4 WHERE id = $1`,
        [groupId, g.owner, newOwner, Date.now()],
      );
    });
  }

  async listMembers(groupId: string): Promise<GroupMember[]> {
    const rows = await this.ctx.db.rows<MemberRow & { has_group: boolean }>(
      `SELECT * FROM (
         SELECT ${MEMBER_COLS}, true AS has_group FROM group_members WHERE group_id = $1 AND type <> ${GroupMemberType.removed}
         UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, false FROM groups WHERE id = $1) s
       ORDER BY has_group, created_at, user_id COLLATE "C"`,
      [groupId],
    );
    // The group's own row (has_group false) sorts first; without it there is no such group.
    if (rows[0]?.has_group !== false) throw new CoreError('not_exist', `group ${groupId} does not exist`);
    return rows.slice(1).map(toMember);
  }

  async getMember(groupId: string, userId: string): Promise<GroupMember | null> {
    const m = await memberRow(this.ctx.db, groupId, userId);
    return m ? toMember(m) : null;
  }

  addMembers(groupId: string, members: MemberInput[], maxMembers: number, effects?: EffectSpec[]): Promise<void> {
    return this.ctx.write(async (tx) => {
      const g = await mustGroup(tx, groupId);
      await upsertMembers(tx, groupId, g.owner, members, maxMembers, Date.now());
      await insertEffects(tx, effects);
    });
  }

  removeMembers(groupId: string, userIds: string[], effects?: EffectSpec[]): Promise<string[]> {
    return this.ctx.write(async (tx) => {
      const g = await mustGroup(tx, groupId);
      if (userIds.includes(g.owner)) throw new CoreError('no_right', 'the owner cannot be removed; transfer or dismiss the group');
      const rows = await tx.rows<{ user_id: string; joined_seq: number }>(
        `WITH d AS (DELETE FROM group_members WHERE group_id = $1 AND user_id = ANY($2::text[]) RETURNING user_id, joined_seq),
         g AS (UPDATE groups SET member_count = member_count - (SELECT COUNT(*) FROM d), updated_at = $3 WHERE id = $1)
         SELECT user_id, joined_seq FROM d`,
        [groupId, userIds, Date.now()],
      );
      // In the order asked, as SQLite's one delete per id.
      const seqOf = new Map(rows.map((r) => [r.user_id, r.joined_seq]));
      const removed = [...new Set(userIds)].filter((u) => seqOf.has(u));
      await recordLeaves(tx, AudienceType.group, groupId, removed.map((u) => ({ userId: u, since: seqOf.get(u)! })));
      if (removed.length > 0) await insertEffects(tx, effects);
      return removed;
    });
  }

  setMemberType(groupId: string, userIds: string[], type: number): Promise<void> {
    return this.ctx.write(async (tx) => {
      const g = await mustGroup(tx, groupId);
      const members = new Set(
        (await tx.rows<{ user_id: string }>('SELECT user_id FROM group_members WHERE group_id = $1 AND user_id = ANY($2::text[])', [groupId, userIds])).map(
          (r) => r.user_id,
        ),
      );
      for (const u of userIds) {
        if (u === g.owner) throw new CoreError('no_right', 'the owner type cannot change');
        if (!members.has(u)) throw new CoreError('not_in_group', `${u} is not a member`);
      }
      if (userIds.length > 0) await tx.run('UPDATE group_members SET type = $3 WHERE group_id = $1 AND user_id = ANY($2::text[])', [groupId, userIds, type]);
    });
  }

  async memberSeqs(groupId: string): Promise<MemberInterval[]> {
    return (await this.ctx.db.rows<IntervalRow>(MEMBERSHIP_SQL.group, [groupId, AudienceType.group])).map(toInterval);
  }

  async pastGroupsOfUser(userId: string): Promise<string[]> {
    return (await this.ctx.db.rows<{ audience_id: string }>(MEMBERSHIP_SQL.pastOfUser, [userId, AudienceType.group])).map((r) => r.audience_id);
  }

  async groupsOfUserByType(userId: string, types: number[]): Promise<string[]> {
    const rows = await this.ctx.db.rows<{ group_id: string }>(
      `SELECT group_id FROM group_members WHERE user_id = $1 AND type <> ${GroupMemberType.removed}
        AND (cardinality($2::bigint[]) = 0 OR type = ANY($2::bigint[])) ORDER BY group_id COLLATE "C"`,
      [userId, types],
    );
    return rows.map((r) => r.group_id);
  }

  updateMember(groupId: string, userId: string, fields: { alias?: string; extra?: string }): Promise<GroupMember> {
    return this.ctx.write(async (tx) => {
      await mustGroup(tx, groupId);
      const m = await tx.row<MemberRow>(
        `UPDATE group_members SET alias = COALESCE($3, alias), extra = COALESCE($4, extra)
          WHERE group_id = $1 AND user_id = $2 AND type <> ${GroupMemberType.removed} RETURNING ${MEMBER_COLS}`,
        [groupId, userId, fields.alias ?? null, fields.extra ?? null],
      );
      if (!m) throw new CoreError('not_in_group', `${userId} is not a member`);
      return toMember(m);
    });
  }

  async groupsOfUser(userId: string): Promise<string[]> {
    const rows = await this.ctx.db.rows<{ group_id: string }>(
      `SELECT group_id FROM group_members WHERE user_id = $1 AND type <> ${GroupMemberType.removed} ORDER BY group_id COLLATE "C"`,
      [userId],
    );
    return rows.map((r) => r.group_id);
  }
}
