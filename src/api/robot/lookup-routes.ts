import { Type } from '@sinclair/typebox';
import { CoreError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import { MAX_TEXT_LENGTH } from '../../core/limits.js';
import type { UserLookup } from '../../core/ports/store.js';
import { userOut } from '../admin/mappers.js';
import { adminRoute, type AdminRouteDef } from '../admin/plugin.js';
import { OptId, OptText, Str, UserInfo } from '../admin/schemas.js';

/**
 * The two lookups both of Wildfire's caller SDKs (RobotService and ChannelServiceApi) offer under
 * their own prefix, with the same body and answer: a user by id, name or mobile, and who an
 * application auth code names.
 */
export function lookupRoutes(hub: Hub, tags: string[]): AdminRouteDef[] {
  return [
    adminRoute({
      path: '/user_info',
      summary: 'A user by userId, name or mobile (first given wins); 253 when none',
      tags,
      body: Type.Object({ userId: OptId, name: OptText, mobile: OptText }),
      result: UserInfo,
      handler: async (b) => {
        let by: UserLookup;
        if (b.userId) by = { userId: b.userId };
        else if (b.name) by = { name: b.name };
        else if (b.mobile) by = { mobile: b.mobile };
        else throw new CoreError('invalid_parameter', 'one of userId, name, mobile is required');
        return userOut(await hub.users.get(by));
      },
    }),
    adminRoute({
      path: '/application/get_user_info',
      summary: 'Who an application auth code names (as /admin/user/app_get_user_info: a live device token)',
      tags,
      body: Type.Object({ authCode: Type.String({ minLength: 1, maxLength: MAX_TEXT_LENGTH }) }),
      result: Type.Object({ userId: Str, displayName: Str, portraitUrl: Str }),
      handler: async (b) => hub.users.appUserInfo(b.authCode),
    }),
  ];
}
