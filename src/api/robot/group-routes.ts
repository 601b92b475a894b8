import type { FastifyRequest } from 'fastify';
import { CoreError, isCoreError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import { GroupMemberType } from '../../core/model.js';
import type { AdminRouteDef } from '../admin/plugin.js';
import { groupRoutes } from '../admin/routes/groups.js';
import { robotOf } from './auth.js';

/**
 * What a robot may do to a group through /robot/group/*, as a member of it (the admin API's group
 * routes trust their operator; here the operator is always the robot and its rights are checked first):
 * - `any`: nothing required (create — the robot becomes the owner —, get_info, as in Wildfire);
 * - `member`: the robot is a member (member/list, member/get, member/quit, its own alias or extra);
 * - `manager`: the robot is the owner or a manager (modify, member/add, member/del of normal members,
 *   manager/mute, manager/allow, another member's alias or extra);
 * - `owner`: the robot owns the group (del, transfer, manager/set).
 */
type Right = 'any' | 'member' | 'manager' | 'owner';

const ROBOT_GROUP_PATHS: Record<string, Right> = {
  '/group/create': 'any',
  '/group/get_info': 'any',
  '/group/member/list': 'member',
  '/group/member/get': 'member',
  '/group/member/quit': 'member',
  '/group/modify': 'manager',
  '/group/member/add': 'manager',
  '/group/member/del': 'manager',
  '/group/manager/mute': 'manager',
  '/group/manager/allow': 'manager',
  '/group/member/set_alias': 'member',
  '/group/member/set_extra': 'member',
  '/group/del': 'owner',
  '/group/transfer': 'owner',
  '/group/manager/set': 'owner',
};

type Body = Record<string, unknown>;

function groupIdIn(b: Body): string {
  const id = b['group_id'] ?? b['groupId'];
  if (typeof id !== 'string' || id === '') throw new CoreError('invalid_parameter', 'group_id is required');
  return id;
}

/** The robot's member type in the group: not_in_group (9) when it is not a member. */
async function robotType(hub: Hub, groupId: string, robotId: string): Promise<number> {
  await hub.groups.get(groupId);
  try {
    return (await hub.groups.member(groupId, robotId)).type;
  } catch (err) {
    if (isCoreError(err) && err.kind === 'not_exist') throw new CoreError('not_in_group', `${robotId} is not a member of ${groupId}`);
    throw err;
  }
}

async function check(hub: Hub, path: string, right: Right, robotId: string, b: Body): Promise<void> {
  if (right === 'any') return;
  const groupId = groupIdIn(b);
  const type = await robotType(hub, groupId, robotId);
  const isOwner = type === GroupMemberType.owner;
  const isManager = isOwner || type === GroupMemberType.manager;
  let need: Right = right;
  // Changing another member's alias or extra needs a manager.
  if ((path === '/group/member/set_alias' || path === '/group/member/set_extra') && typeof b['memberId'] === 'string' && b['memberId'] !== '' && b['memberId'] !== robotId) {
    need = 'manager';
  }
  if (need === 'owner' && !isOwner) throw new CoreError('no_right', 'only the owner may do this');
  if (need === 'manager' && !isManager) throw new CoreError('no_right', 'only the owner or a manager may do this');
  // A manager removes normal members only.
  if (path === '/group/member/del' && !isOwner && Array.isArray(b['members'])) {
    for (const m of b['members']) {
      if (typeof m !== 'string') continue;
      const t = await hub.groups.member(groupId, m).then((x) => x.type, () => GroupMemberType.normal);
      if (t === GroupMemberType.owner || t === GroupMemberType.manager) throw new CoreError('no_right', 'a manager may not remove the owner or a manager');
    }
  }
}

/**
 * Wildfire's RobotService group calls (/robot/group/*): the admin API's group routes with the same
 * bodies and results, the robot as operator (a body's operator is ignored) after checking its rights.
 */
export function robotGroupRoutes(hub: Hub): AdminRouteDef[] {
  return groupRoutes(hub)
    .filter((r) => r.path in ROBOT_GROUP_PATHS)
    .map((r) => {
      const right = ROBOT_GROUP_PATHS[r.path]!;
      return {
        ...r,
        summary: `${r.summary} — as the robot (rights: ${right})`,
        tags: ['robot'],
        handler: async (body: unknown, req: FastifyRequest) => {
          const robotId = robotOf(req.headers);
          const b: Body = { ...(body as Body), operator: robotId };
          if (r.path === '/group/create') {
            const group = (b['group'] ?? {}) as Body;
            b['group'] = { ...group, group_info: { ...((group['group_info'] ?? {}) as Body), owner: robotId } };
          }
          await check(hub, r.path, right, robotId, b);
          return r.handler(b, req);
        },
      };
    });
}
