import { Type } from '@sinclair/typebox';
import type { Hub } from '../../../core/hub.js';
import { adminRoute, type AdminRouteDef } from '../plugin.js';
import { Id, Int, int32, int53, OptExtra, OptId, OptInt32, OptUrl, Str, StrList, Text } from '../schemas.js';

const tags = ['chatrooms'];

/** Wildfire's InputChatroomId / InputGetChatroomInfo: a chatroom id (251 when empty). */
const ChatroomIdIn = Type.Object({ chatroomId: Id });

/** Wildfire's OutputGetChatroomInfo. */
const ChatroomInfoOut = Type.Object({
  chatroomId: Str,
  title: Str,
  desc: Str,
  portrait: Str,
  extra: Str,
  state: Int,
  memberCount: Int,
  createDt: Int,
  updateDt: Int,
});

/** Wildfire's OutputStringList. */
const StringListOut = Type.Object({ list: StrList });

/**
 * Wildfire's ChatroomAdmin: the open-source server's five routes (create, del, info, members,
 * user_chatroom) and the professional edition's five (blacklist, managers, mute), with the shapes of
 * the SDK's POJOs. Devices join and leave over the WebSocket protocol (docs/client-protocol.md).
 */
export function chatroomRoutes(hub: Hub): AdminRouteDef[] {
  const rooms = hub.chatrooms;
  return [
    adminRoute({
      path: '/chatroom/create',
      summary: 'Create a chatroom, or update an existing one (non-empty fields overwrite; the state always does)',
      tags,
      body: Type.Object({ chatroomId: OptId, title: Text, desc: OptExtra, portrait: OptUrl, extra: OptExtra, state: OptInt32 }),
      result: Type.Object({ chatroomId: Str }),
      handler: async (b) => {
        const c = await rooms.create(b.chatroomId ?? undefined, {
          title: b.title,
          ...(b.desc != null ? { desc: b.desc } : {}),
          ...(b.portrait != null ? { portrait: b.portrait } : {}),
          ...(b.extra != null ? { extra: b.extra } : {}),
          ...(b.state != null ? { state: b.state } : {}),
        });
        return { chatroomId: c.chatroomId };
      },
    }),
    adminRoute({
      path: '/chatroom/del',
      summary: 'Destroy a chatroom: it ends (state 2) and every device in it is removed; an unknown id changes nothing',
      tags,
      body: ChatroomIdIn,
      handler: async (b) => rooms.destroy(b.chatroomId),
    }),
    adminRoute({
      path: '/chatroom/info',
      summary: 'A chatroom with its current member count (ended rooms too)',
      tags,
      body: ChatroomIdIn,
      result: ChatroomInfoOut,
      handler: async (b) => {
        const c = await rooms.info(b.chatroomId);
        return {
          chatroomId: c.chatroomId,
          title: c.title,
          desc: c.desc,
          portrait: c.portrait,
          extra: c.extra,
          state: c.state,
          memberCount: c.memberCount,
          createDt: c.createDt,
          updateDt: c.updateDt,
        };
      },
    }),
    adminRoute({
      path: '/chatroom/members',
      summary: 'The users in a chatroom now, first joined first (253 when there are none)',
      tags,
      body: ChatroomIdIn,
      result: StringListOut,
      handler: async (b) => ({ list: await rooms.memberIds(b.chatroomId) }),
    }),
    adminRoute({
      path: '/chatroom/user_chatroom',
      summary: 'The chatroom a user is in, with the client that joined it (253 when none)',
      tags,
      body: Type.Object({ userId: Id }),
      result: Type.Object({ userId: Str, chatroomId: Str, clientId: Str, platform: Int }),
      handler: async (b) => rooms.ofUser(b.userId),
    }),
    adminRoute({
      path: '/chatroom/set_black_status',
      summary: 'Blacklist a user in a chatroom: status 1 may not send, 2 may neither join nor send (and leaves now), 0 lifts it; expiredTime in ms, 0 for no end',
      tags,
      body: Type.Object({ chatroomId: Id, userId: Id, status: int32({ minimum: 0, maximum: 2 }), expiredTime: Type.Optional(Type.Union([int53({ minimum: 0 }), Type.Null()])) }),
      handler: async (b) => rooms.setBlackStatus(b.chatroomId, b.userId, b.status, b.expiredTime ?? 0),
    }),
    adminRoute({
      path: '/chatroom/get_black_status',
      summary: "A chatroom's blacklist entries in force",
      tags,
      body: ChatroomIdIn,
      result: Type.Object({ infos: Type.Array(Type.Object({ userId: Str, state: Int, expiredTime: Int })) }),
      handler: async (b) => ({ infos: (await rooms.blackStatus(b.chatroomId)).map((e) => ({ userId: e.userId, state: e.state, expiredTime: e.expiredTime })) }),
    }),
    adminRoute({
      path: '/chatroom/set_manager',
      summary: 'Make a user a manager of a chatroom (status 1) or not (0): managers may send in a muted room',
      tags,
      body: Type.Object({ chatroomId: Id, userId: Id, status: int32({ minimum: 0, maximum: 1 }) }),
      handler: async (b) => rooms.setManager(b.chatroomId, b.userId, b.status),
    }),
    adminRoute({
      path: '/chatroom/get_manager_list',
      summary: "A chatroom's managers",
      tags,
      body: ChatroomIdIn,
      result: StringListOut,
      handler: async (b) => ({ list: await rooms.managers(b.chatroomId) }),
    }),
    adminRoute({
      path: '/chatroom/mute_all',
      summary: 'Mute a chatroom (status 1: only managers may send) or unmute it (0)',
      tags,
      body: Type.Object({ chatroomId: Id, status: int32({ minimum: 0, maximum: 1 }) }),
      handler: async (b) => rooms.muteAll(b.chatroomId, b.status),
    }),
  ];
}
