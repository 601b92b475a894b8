import { Type, type Static } from '@sinclair/typebox';
import { CoreError } from '../../../core/errors.js';
import type { Hub } from '../../../core/hub.js';
import { normalizePayload, optionalLine, stringList } from '../../../core/payload.js';
import type { GroupFields, MemberInput } from '../../../core/ports/store.js';
import type { Notify } from '../../../core/services/groups.js';
import { channelOut, groupOut, memberOut } from '../mappers.js';
import { adminRoute, type AdminRouteDef } from '../plugin.js';
import { MAX_MEMBER_TYPES, MAX_PAGE_SIZE, MAX_USER_LIST } from '../../../core/limits.js';
import {
  ChannelInfo,
  GroupBase,
  GroupInfo,
  GroupInfoIn,
  GroupMemberIn,
  GroupMemberOut,
  Id,
  IdList,
  int32,
  OptExtra,
  OptId,
  OptInt32,
  optInt32,
  OptText,
  OptUrl,
  PayloadIn,
  Str,
  StrList,
  Text,
} from '../schemas.js';

/** Members given with their fields (create, add): at most MAX_USER_LIST per call. */
const MemberList = Type.Array(GroupMemberIn, { maxItems: MAX_USER_LIST });

/**
 * How a group change is announced. `to_lines` goes through the same line check as a conversation's
 * `line` (0 … 2^31−1), so an announcement can only land on a line a message could be sent to.
 */
function notifyOf(b: { to_lines?: number[] | null; notify_message?: Static<typeof PayloadIn> | null }, defaultLines: number[] = []): Notify {
  const lines = b.to_lines && b.to_lines.length > 0 ? b.to_lines.map((l, i) => optionalLine(l, `to_lines[${i}]`)) : defaultLines;
  return {
    lines: [...new Set(lines)],
    custom: b.notify_message ? normalizePayload(b.notify_message, 'notify_message') : undefined,
  };
}

function membersOf(list: Array<Static<typeof GroupMemberIn>>, extra?: string | null): MemberInput[] {
  return list.map((m) => ({
    memberId: m.member_id,
    ...(m.alias != null ? { alias: m.alias } : {}),
    ...(m.type != null ? { type: m.type } : {}),
    ...(m.extra != null ? { extra: m.extra } : extra != null ? { extra } : {}),
  }));
}

function groupFieldsOf(g: Static<typeof GroupInfoIn>): GroupFields {
  const f: GroupFields = {};
  if (g.name != null) f.name = g.name;
  if (g.portrait != null) f.portrait = g.portrait;
  if (g.owner != null && g.owner !== '') f.owner = g.owner;
  if (g.type != null) f.type = g.type;
  if (g.extra != null) f.extra = g.extra;
  if (g.mute != null) f.mute = g.mute;
  if (g.join_type != null) f.joinType = g.join_type;
  if (g.private_chat != null) f.privateChat = g.private_chat;
  if (g.searchable != null) f.searchable = g.searchable;
  if (g.history_message != null) f.historyMessage = g.history_message;
  if (g.max_member_count != null && g.max_member_count > 0) f.maxMemberCount = g.max_member_count;
  return f;
}

function requireOperator(op: string | null | undefined): string {
  if (!op) throw new CoreError('invalid_parameter', 'operator is required');
  return op;
}

/** Group id from `groupId` (get_info, member/list) or `group_id`. */
function groupIdOf(b: { groupId?: string | null; group_id?: string | null }): string {
  const id = b.groupId || b.group_id;
  if (!id) throw new CoreError('invalid_parameter', 'groupId is required');
  return id;
}

const MemberChange = Type.Object({ ...GroupBase, group_id: Id, members: IdList, is_manager: Type.Boolean() });

export function groupRoutes(hub: Hub): AdminRouteDef[] {
  const groups = hub.groups;
  const tags = ['groups'];
  return [
    adminRoute({
      path: '/group/create',
      summary: 'Create a group with members; the owner (or operator) is added as owner',
      tags,
      body: Type.Object({
        ...GroupBase,
        group: Type.Object({ group_info: GroupInfoIn, members: Type.Optional(Type.Union([MemberList, Type.Null()])) }),
        member_extra: OptExtra,
      }),
      result: Type.Object({ group_id: Str }),
      handler: async (b, req) => {
        const info = b.group.group_info;
        const g = await groups.create(
          b.operator ?? '',
          info.target_id ?? undefined,
          groupFieldsOf(info),
          membersOf(b.group.members ?? [], b.member_extra),
          notifyOf(b),
          { kind: 'admin', ip: req.ip },
        );
        return { group_id: g.groupId };
      },
    }),
    adminRoute({
      path: '/group/del',
      summary: 'Dismiss a group',
      tags,
      body: Type.Object({ ...GroupBase, group_id: Id }),
      handler: async (b, req) => groups.dismiss(requireOperator(b.operator), b.group_id, notifyOf(b), { kind: 'admin', ip: req.ip }),
    }),
    adminRoute({
      path: '/group/get_info',
      summary: 'Get a group',
      tags,
      body: Type.Object({ groupId: OptId, group_id: OptId }),
      result: GroupInfo,
      handler: async (b) => groupOut(await groups.get(groupIdOf(b))),
    }),
    adminRoute({
      path: '/group/modify',
      summary: 'Modify one group field: type 0 name, 1 portrait, 2 extra, 3 mute, 4 join type, 5 private chat, 6 searchable, 7 history, 8 max members',
      tags,
      body: Type.Object({ ...GroupBase, group_id: Id, type: int32({ minimum: 0, maximum: 8 }), value: OptExtra }),
      handler: async (b) => groups.modify(requireOperator(b.operator), b.group_id, b.type, b.value ?? '', notifyOf(b, [0])),
    }),
    adminRoute({
      path: '/group/transfer',
      summary: 'Make a member the owner',
      tags,
      body: Type.Object({ ...GroupBase, group_id: Id, new_owner: Id }),
      handler: async (b) => groups.transfer(requireOperator(b.operator), b.group_id, b.new_owner, notifyOf(b)),
    }),
    adminRoute({
      path: '/group/member/list',
      summary: 'List the members of a group, in joining order; offset/count page through them (default: all, as Wildfire)',
      tags,
      body: Type.Object({
        groupId: OptId,
        group_id: OptId,
        offset: optInt32({ minimum: 0, description: 'Members to skip (default 0)' }),
        count: optInt32({ minimum: 1, maximum: MAX_PAGE_SIZE, description: `Most members to return, at most ${MAX_PAGE_SIZE} (default: all from offset)` }),
      }),
      result: Type.Object({ members: Type.Array(GroupMemberOut) }),
      handler: async (b) => {
        const all = await groups.members(groupIdOf(b));
        const from = b.offset ?? 0;
        const page = b.count != null ? all.slice(from, from + b.count) : from > 0 ? all.slice(from) : all;
        return { members: page.map(memberOut) };
      },
    }),
    adminRoute({
      path: '/group/member/add',
      summary: 'Add (or update) members',
      tags,
      body: Type.Object({ ...GroupBase, group_id: Id, members: Type.Array(GroupMemberIn, { minItems: 1, maxItems: MAX_USER_LIST }), member_extra: OptExtra }),
      handler: async (b, req) =>
        groups.addMembers(b.operator ?? '', b.group_id, membersOf(b.members, b.member_extra), notifyOf(b), { kind: 'admin', ip: req.ip }),
    }),
    adminRoute({
      path: '/group/member/del',
      summary: 'Remove members (not the owner)',
      tags,
      body: Type.Object({ ...GroupBase, group_id: Id, members: IdList }),
      handler: async (b, req) =>
        groups.removeMembers(requireOperator(b.operator), b.group_id, stringList(b.members, 'members', { nonEmpty: true }), notifyOf(b), {
          kind: 'admin',
          ip: req.ip,
        }),
    }),
    adminRoute({
      path: '/group/member/quit',
      summary: 'The operator leaves the group',
      tags,
      body: Type.Object({ ...GroupBase, group_id: Id }),
      handler: async (b, req) => groups.quit(requireOperator(b.operator), b.group_id, notifyOf(b), { kind: 'admin', ip: req.ip }),
    }),
    adminRoute({
      path: '/group/manager/set',
      summary: 'Make members managers (is_manager true) or normal members (false)',
      tags,
      body: MemberChange,
      handler: async (b) =>
        groups.setManagers(requireOperator(b.operator), b.group_id, stringList(b.members, 'members', { nonEmpty: true }), b.is_manager, notifyOf(b)),
    }),
    adminRoute({
      path: '/group/manager/mute',
      summary: 'Mute members (is_manager true) or unmute them (false)',
      tags,
      body: MemberChange,
      handler: async (b) =>
        groups.muteMembers(requireOperator(b.operator), b.group_id, stringList(b.members, 'members', { nonEmpty: true }), b.is_manager, notifyOf(b)),
    }),
    adminRoute({
      path: '/group/manager/allow',
      summary: 'Let members speak in a muted group (is_manager true) or withdraw it (false)',
      tags,
      body: MemberChange,
      handler: async (b) =>
        groups.allowMembers(requireOperator(b.operator), b.group_id, stringList(b.members, 'members', { nonEmpty: true }), b.is_manager, notifyOf(b)),
    }),
    adminRoute({
      path: '/group/member/get',
      summary: 'One member of a group; 253 for an unknown group, a non-member or a removed member',
      tags,
      body: Type.Object({ groupId: OptId, group_id: OptId, memberId: Id }),
      result: GroupMemberOut,
      handler: async (b) => memberOut(await groups.member(groupIdOf(b), b.memberId)),
    }),
    adminRoute({
      path: '/group/member/set_alias',
      summary: "Set a member's alias in the group (memberId empty: the operator's); announced with notification 111 on to_lines (default line 0, as Wildfire)",
      tags,
      body: Type.Object({ ...GroupBase, group_id: Id, memberId: OptId, alias: OptText }),
      handler: async (b) => groups.setMemberField(b.operator ?? '', b.group_id, b.memberId ?? '', 'alias', b.alias ?? '', notifyOf(b, [0])),
    }),
    adminRoute({
      path: '/group/member/set_extra',
      summary: "Set a member's extra in the group (memberId empty: the operator's); announced with notification 123 on to_lines (default line 0, as Wildfire)",
      tags,
      body: Type.Object({ ...GroupBase, group_id: Id, memberId: OptId, extra: OptExtra }),
      handler: async (b) => groups.setMemberField(b.operator ?? '', b.group_id, b.memberId ?? '', 'extra', b.extra ?? '', notifyOf(b, [0])),
    }),
    adminRoute({
      path: '/group/of_user_by_type',
      summary: 'The groups where a user is a member of one of groupMemberTypes (0 normal, 1 manager, 2 owner, 3 muted, 5 allowed; all when empty)',
      tags,
      body: Type.Object({
        userId: Id,
        groupMemberTypes: Type.Optional(Type.Union([Type.Array(int32({ minimum: 0, maximum: 5 }), { maxItems: MAX_MEMBER_TYPES }), Type.Null()])),
      }),
      result: Type.Object({ groupIds: StrList }),
      handler: async (b) => ({ groupIds: await groups.ofUserByType(b.userId, b.groupMemberTypes ?? []) }),
    }),
    adminRoute({
      path: '/group/common_group',
      summary: 'The groups both users (first, second) are members of',
      tags,
      body: Type.Object({ first: Id, second: Id }),
      result: Type.Object({ groupIds: StrList }),
      handler: async (b) => ({ groupIds: await groups.common(b.first, b.second) }),
    }),
    adminRoute({
      path: '/group/of_user',
      summary: 'The groups a user is a member of',
      tags,
      body: Type.Object({ userId: Id }),
      result: Type.Object({ groupIds: StrList }),
      handler: async (b) => ({ groupIds: await groups.ofUser(b.userId) }),
    }),
  ];
}

export function channelRoutes(hub: Hub): AdminRouteDef[] {
  const channels = hub.channels;
  const tags = ['channels'];
  const ChannelUser = Type.Object({ channelId: Id, userId: Id, subscribe: OptInt32 });
  return [
    adminRoute({
      path: '/channel/create',
      summary: 'Create (or overwrite) a channel owned by a user; the result carries its id and secret (newer Wildfire versions return both)',
      tags,
      body: Type.Object({
        owner: Id,
        name: Text,
        targetId: OptId,
        callback: OptUrl,
        portrait: OptUrl,
        auto: OptInt32,
        secret: OptText,
        desc: OptExtra,
        state: OptInt32,
        extra: OptExtra,
      }),
      result: Type.Object({ targetId: Str, secret: Str }),
      handler: async (b) => {
        const c = await channels.create(b.targetId ?? undefined, {
          name: b.name,
          owner: b.owner,
          portrait: b.portrait ?? '',
          desc: b.desc ?? '',
          extra: b.extra ?? '',
          secret: b.secret ?? '',
          callback: b.callback ?? '',
          automatic: b.auto ?? 0,
          state: b.state ?? 0,
        });
        return { targetId: c.channelId, secret: c.secret };
      },
    }),
    adminRoute({
      path: '/channel/get',
      summary: 'Get a channel',
      tags,
      body: Type.Object({ channelId: Id }),
      result: ChannelInfo,
      handler: async (b) => channelOut(await channels.get(b.channelId)),
    }),
    adminRoute({
      path: '/channel/destroy',
      summary: 'Destroy a channel',
      tags,
      body: Type.Object({ channelId: Id }),
      handler: async (b) => channels.destroy(b.channelId),
    }),
    adminRoute({
      path: '/channel/subscribe',
      summary: 'Subscribe (subscribe 1, the default) or unsubscribe (0) a user',
      tags,
      body: ChannelUser,
      handler: async (b) => channels.subscribe(b.channelId, b.userId, (b.subscribe ?? 1) !== 0),
    }),
    adminRoute({
      path: '/channel/is_subscribed',
      summary: 'Whether a user subscribes to a channel',
      tags,
      body: ChannelUser,
      result: Type.Object({ value: Type.Boolean() }),
      handler: async (b) => ({ value: await channels.isSubscribed(b.channelId, b.userId) }),
    }),
  ];
}
