import { Type } from '@sinclair/typebox';
import { CoreError } from '../../../core/errors.js';
import type { Hub } from '../../../core/hub.js';
import type { UserFields, UserLookup } from '../../../core/ports/store.js';
import { userOut } from '../mappers.js';
import { adminRoute, type AdminRouteDef } from '../plugin.js';
import { MAX_PAGE_SIZE, MAX_TEXT_LENGTH, MAX_USERS_BY_EMAIL } from '../../../core/limits.js';
import { Id, Int, Int32, int32, OptId, OptInt32, OptText, Str, Text, UserInfo, UserInfoIn } from '../schemas.js';

const tags = ['users'];
const USER_TYPES = new Set([0, 1, 2, 3, 100]);

type UserInfoInput = {
  name?: string | null;
  displayName?: string | null;
  portrait?: string | null;
  gender?: number | null;
  mobile?: string | null;
  email?: string | null;
  address?: string | null;
  company?: string | null;
  social?: string | null;
  extra?: string | null;
  type?: number | null;
};

/** Present (non-null) profile fields of a Wildfire InputOutputUserInfo. */
function fieldsOf(u: UserInfoInput): UserFields {
  const f: UserFields = {};
  for (const k of ['name', 'displayName', 'portrait', 'mobile', 'email', 'address', 'company', 'social', 'extra'] as const) {
    const v = u[k];
    if (v !== undefined && v !== null) f[k] = v;
  }
  if (u.gender !== undefined && u.gender !== null) f.gender = u.gender;
  if (u.type !== undefined && u.type !== null) {
    if (!USER_TYPES.has(u.type)) throw new CoreError('invalid_parameter', 'type must be 0, 1, 2, 3 or 100');
    f.type = u.type;
  }
  return f;
}

export function userRoutes(hub: Hub): AdminRouteDef[] {
  const users = hub.users;
  return [
    adminRoute({
      path: '/user/create',
      summary: 'Create a user, or update it when the userId exists (a missing userId is generated)',
      tags,
      body: UserInfoIn,
      result: Type.Object({ userId: Str, name: Str }),
      handler: async (b) => {
        const f = fieldsOf(b);
        if (!f.name) throw new CoreError('invalid_parameter', 'name is required');
        const u = await users.create(b.userId ?? undefined, { ...f, name: f.name });
        return { userId: u.userId, name: u.name };
      },
    }),
    adminRoute({
      path: '/user/update',
      summary: 'Overwrite the profile fields selected by the flag bits',
      tags,
      body: Type.Object({ flag: int32({ minimum: 1 }), userInfo: UserInfoIn }),
      handler: async (b) => {
        if (!b.userInfo.userId) throw new CoreError('invalid_parameter', 'userInfo.userId is required');
        await users.update(b.userInfo.userId, b.flag, fieldsOf(b.userInfo));
      },
    }),
    adminRoute({
      path: '/user/destroy',
      summary: 'Remove a user: profile, tokens (connected devices are closed), memberships; an unknown user answers 0 (its tokens are revoked)',
      tags,
      body: Type.Object({ userId: Id }),
      handler: async (b) => {
        await users.destroy(b.userId);
      },
    }),
    adminRoute({
      path: '/user/get_info',
      summary: 'Get a user by userId, name, mobile or email (first given wins)',
      tags,
      body: Type.Object({ userId: OptId, name: OptText, mobile: OptText, email: OptText }),
      result: UserInfo,
      handler: async (b) => {
        let by: UserLookup;
        if (b.userId) by = { userId: b.userId };
        else if (b.name) by = { name: b.name };
        else if (b.mobile) by = { mobile: b.mobile };
        else if (b.email) by = { email: b.email };
        else throw new CoreError('invalid_parameter', 'one of userId, name, mobile, email is required');
        return userOut(await users.get(by));
      },
    }),
    adminRoute({
      path: '/user/get_info_by_email',
      summary: `The users with an email (at most ${MAX_USERS_BY_EMAIL}); the body is the email as a bare JSON string (the SDK) or {"email": …}; 253 when none`,
      tags,
      bareString: 'email',
      body: Type.Object({ email: Text }),
      result: Type.Object({ userInfos: Type.Array(UserInfo) }),
      handler: async (b) => ({ userInfos: (await users.byEmail(b.email, MAX_USERS_BY_EMAIL)).map(userOut) }),
    }),
    adminRoute({
      path: '/user/get_token',
      summary: 'Issue the token a device of this user logs in with, bound to (userId, clientId); any user id (an unknown one can log in once created); 27 for a robot',
      tags,
      body: Type.Object({ userId: Id, clientId: Id, platform: OptInt32 }),
      result: Type.Object({ userId: Str, token: Str }),
      handler: async (b) => ({ userId: b.userId, token: await users.issueToken(b.userId, b.clientId, b.platform ?? 0) }),
    }),
    adminRoute({
      path: '/user/app_get_user_info',
      summary: "Who an application's auth code names: {userId, displayName, portraitUrl}; the code is a live device token of the user (Switchboard has no separate auth codes); 6 otherwise",
      tags,
      body: Type.Object({ authCode: Type.String({ minLength: 1, maxLength: MAX_TEXT_LENGTH }) }),
      result: Type.Object({ userId: Str, displayName: Str, portraitUrl: Str }),
      handler: async (b) => users.appUserInfo(b.authCode),
    }),
    adminRoute({
      path: '/user/all',
      summary: 'Page through all users',
      tags,
      body: Type.Object({ count: int32({ minimum: 1, maximum: MAX_PAGE_SIZE }), offset: int32({ minimum: 0 }) }),
      result: Type.Object({ userInfoList: Type.Array(UserInfo) }),
      handler: async (b) => ({ userInfoList: (await users.list(b.offset, b.count)).map(userOut) }),
    }),
    adminRoute({
      path: '/user/update_block_status',
      summary: 'Set a user status: 0 normal, 1 muted, 2 blocked (revokes tokens)',
      tags,
      body: Type.Object({ userId: Id, status: Int32 }),
      handler: async (b) => {
        await users.setStatus(b.userId, b.status);
      },
    }),
    adminRoute({
      path: '/user/check_block_status',
      summary: "A user's status (0 normal, 1 muted, 2 blocked)",
      tags,
      body: Type.Object({ userId: Id }),
      result: Type.Object({ status: Int }),
      handler: async (b) => ({ status: await users.status(b.userId) }),
    }),
    adminRoute({
      path: '/user/get_blocked_list',
      summary: 'Users whose status is not normal',
      tags,
      body: Type.Object({}),
      result: Type.Object({ statusList: Type.Array(Type.Object({ userId: Str, status: Int })) }),
      handler: async () => ({ statusList: await users.blockedList() }),
    }),
    adminRoute({
      path: '/user/kickoff_client',
      summary: 'Revoke the tokens of one client of a user (all clients when none is given) and close its connections',
      tags,
      body: Type.Object({ first: OptId, second: OptId, userId: OptId, clientId: OptId }),
      handler: async (b) => {
        const userId = b.first || b.userId;
        if (!userId) throw new CoreError('invalid_parameter', 'first (userId) is required');
        const clientId = b.second || b.clientId || undefined;
        await users.kickoff(userId, clientId);
      },
    }),
    adminRoute({
      path: '/user/set_role',
      summary: 'Switchboard: set a user role (user or operator; operators use the notification centre)',
      tags,
      body: Type.Object({ userId: Id, role: Type.Union([Type.Literal('user'), Type.Literal('operator')]) }),
      handler: async (b) => {
        await users.setRole(b.userId, b.role);
      },
    }),
  ];
}
