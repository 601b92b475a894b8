import { Type } from '@sinclair/typebox';
import { CoreError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import { normalizeConversation, normalizePayload, parseUid, stringList } from '../../core/payload.js';
import type { UserFields } from '../../core/ports/store.js';
import { UpdateUserFlag } from '../../core/services/users.js';
import { adminRoute, type AdminRouteDef } from '../admin/plugin.js';
import { ConversationIn, Int, int32, MessageUid, OptId, OptIdList, OptInt53, OptText, OptUrl, PayloadIn, RobotOut, Str } from '../admin/schemas.js';
import { robotOf } from './auth.js';
import { robotGroupRoutes } from './group-routes.js';
import { lookupRoutes } from './lookup-routes.js';
import { robotOut } from '../admin/mappers.js';

const tags = ['robot'];

/** Wildfire's OutputRobot as the robot itself gets it (RobotService.getProfile): no secret. */
const Profile = Type.Omit(RobotOut, ['secret']);

/**
 * Wildfire's MyInfoType (RobotService.updateProfile) → the user/update flag bit and field. The mobile
 * (3) may not be changed by a robot (Wildfire: "use the admin API"): it is accepted and ignored, as
 * are unknown types.
 */
const PROFILE_TYPES: Record<number, { flag: number; field: keyof UserFields }> = {
  0: { flag: UpdateUserFlag.displayName, field: 'displayName' },
  1: { flag: UpdateUserFlag.portrait, field: 'portrait' },
  2: { flag: UpdateUserFlag.gender, field: 'gender' },
  4: { flag: UpdateUserFlag.email, field: 'email' },
  5: { flag: UpdateUserFlag.address, field: 'address' },
  6: { flag: UpdateUserFlag.company, field: 'company' },
  7: { flag: UpdateUserFlag.social, field: 'social' },
  8: { flag: UpdateUserFlag.extra, field: 'extra' },
};

/** A message the robot itself sent: no_right (248) for anyone else's. */
async function ownMessage(hub: Hub, robotId: string, uid: number): Promise<void> {
  const m = await hub.messages.get(uid);
  if (m.sender !== robotId) throw new CoreError('no_right', 'a robot may change only its own messages');
}

/**
 * The robot's own API (Wildfire's RobotService SDK), under /robot: every call acts as the robot that
 * signed it (header `rid`, see RobotAuth), whatever a body says.
 */
export function robotApiRoutes(hub: Hub): AdminRouteDef[] {
  return [
    ...lookupRoutes(hub, tags),
    ...robotGroupRoutes(hub),
    adminRoute({
      path: '/conference/request',
      summary: 'Not supported (no media server): always code 61 "conference service not available"',
      tags,
      body: Type.Object({}, { additionalProperties: true }),
      handler: () => Promise.reject(new CoreError('conference_unavailable', 'Switchboard has no media server')),
    }),
    adminRoute({
      path: '/message/send',
      summary: 'Send a message as the robot (the body’s sender is ignored)',
      tags,
      body: Type.Object({ sender: OptId, conv: ConversationIn, payload: PayloadIn, toUsers: OptIdList }),
      result: Type.Object({ messageUid: Int, timestamp: Int }),
      handler: async (b, req) => {
        const r = await hub.messages.send({
          sender: robotOf(req.headers),
          conv: normalizeConversation(b.conv),
          payload: normalizePayload(b.payload),
          toUsers: stringList(b.toUsers, 'toUsers'),
          origin: { kind: 'admin', ip: req.ip },
        });
        return { messageUid: r.message.uid, timestamp: r.message.timestamp };
      },
    }),
    adminRoute({
      path: '/message/recall',
      summary: 'Recall a message the robot sent; the result is the original as a JSON string; 248 for another sender’s',
      tags,
      body: Type.Object({ messageUid: MessageUid }),
      result: Type.String(),
      handler: async (b, req) => {
        const robotId = robotOf(req.headers);
        const uid = parseUid(b.messageUid);
        await ownMessage(hub, robotId, uid);
        return (await hub.messages.recall(uid, robotId, {}, { kind: 'admin', ip: req.ip })).original;
      },
    }),
    adminRoute({
      path: '/message/update',
      summary: 'Replace the content of a message the robot sent (distribute=1 pushes it to devices); 248 for another sender’s',
      tags,
      body: Type.Object({ messageUid: MessageUid, payload: PayloadIn, distribute: Type.Optional(int32({ minimum: 0, maximum: 1 })), updateTimestamp: OptInt53 }),
      handler: async (b, req) => {
        const uid = parseUid(b.messageUid);
        await ownMessage(hub, robotOf(req.headers), uid);
        await hub.messages.update(uid, normalizePayload(b.payload), (b.distribute ?? 1) === 1, b.updateTimestamp || undefined);
      },
    }),
    adminRoute({
      path: '/profile',
      summary: 'The robot’s own profile and robot record (OutputRobot, without the secret)',
      tags,
      body: Type.Object({}, { additionalProperties: true }),
      result: Profile,
      handler: async (_b, req) => {
        const { user: u, robot: r } = await hub.robots.get(robotOf(req.headers));
        // The robot's own view leaves its secret out.
        const { secret: _secret, ...profile } = robotOut(u, r);
        return profile;
      },
    }),
    adminRoute({
      path: '/update_profile',
      summary: 'Change one profile field of the robot: intValue is Wildfire’s MyInfoType (3, mobile, and unknown types change nothing)',
      tags,
      body: Type.Object({ intValue: int32(), strValue: OptText }),
      handler: async (b, req) => {
        const robotId = robotOf(req.headers);
        const t = PROFILE_TYPES[b.intValue];
        if (!t) return;
        const value = b.strValue ?? '';
        const fields: UserFields = {};
        if (t.field === 'gender') {
          if (!/^-?[0-9]{1,9}$/.test(value)) throw new CoreError('invalid_parameter', 'gender must be an integer');
          fields.gender = Number(value);
        } else {
          (fields as Record<string, string>)[t.field] = value;
        }
        const { user } = await hub.robots.get(robotId);
        // user/update overwrites every selected field; the name flag is never set here.
        await hub.users.update(user.userId, t.flag, fields);
      },
    }),
    adminRoute({
      path: '/set_callback',
      summary: 'Set the URL the robot’s incoming messages are posted to (absolute http(s); 251 for an empty or bad one)',
      tags,
      body: Type.Object({ url: OptUrl }),
      handler: async (b, req) => {
        if (!b.url) throw new CoreError('invalid_parameter', 'url is required');
        await hub.robots.setCallback(robotOf(req.headers), b.url);
      },
    }),
    adminRoute({
      path: '/get_callback',
      summary: 'The robot’s callback URL ("" for none)',
      tags,
      body: Type.Object({}, { additionalProperties: true }),
      result: Type.Object({ url: Str }),
      handler: async (_b, req) => ({ url: (await hub.robots.get(robotOf(req.headers))).robot.callback }),
    }),
    adminRoute({
      path: '/delete_callback',
      summary: 'Remove the robot’s callback: its incoming messages are no longer posted',
      tags,
      body: Type.Object({}, { additionalProperties: true }),
      handler: async (_b, req) => {
        await hub.robots.setCallback(robotOf(req.headers), '');
      },
    }),
  ];
}
