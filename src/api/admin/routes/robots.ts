import { Type } from '@sinclair/typebox';
import type { Hub } from '../../../core/hub.js';
import type { JobStatus } from '../../../core/ports/outbox.js';
import type { UserFields } from '../../../core/ports/store.js';
import { ROBOT_CHANNEL } from '../../../core/services/robots.js';
import { adminRoute, type AdminRouteDef } from '../plugin.js';
import { Id, Int, OptExtra, OptId, OptInt, OptInt32, OptInt53, OptText, OptUrl, RobotOut, Str, Text } from '../schemas.js';
import { robotOut } from '../mappers.js';

const tags = ['robots'];

/** Wildfire's InputCreateRobot: a user's profile fields plus owner, secret, callback and robotExtra. */
const RobotIn = Type.Object(
  {
    userId: OptId,
    name: Text,
    password: OptText,
    displayName: OptText,
    portrait: OptUrl,
    gender: OptInt32,
    mobile: OptText,
    email: OptText,
    address: OptText,
    company: OptText,
    social: OptText,
    extra: OptExtra,
    updateDt: OptInt53,
    owner: OptId,
    secret: OptText,
    callback: OptUrl,
    robotExtra: OptExtra,
  },
  { additionalProperties: true },
);

const Delivery = Type.Object({
  id: Int,
  robotId: Str,
  status: Str,
  attempts: Int,
  createdAt: Int,
  nextAt: Int,
  deliveredAt: Int,
  lastError: Str,
  lastResponse: Str,
  body: Type.Unknown(),
});

export function robotRoutes(hub: Hub): AdminRouteDef[] {
  return [
    adminRoute({
      path: '/robot/create',
      summary: 'Create or update a robot: a user of type 1 whose incoming messages are posted to its callback; missing userId, owner and secret are generated (owner: the robot)',
      tags,
      body: RobotIn,
      result: Type.Object({ userId: Str, secret: Str }),
      handler: async (b) => {
        const profile: UserFields = {};
        for (const k of ['displayName', 'portrait', 'mobile', 'email', 'address', 'company', 'social', 'extra'] as const) {
          const v = b[k];
          if (v !== undefined && v !== null) profile[k] = v;
        }
        if (b.gender !== undefined && b.gender !== null) profile.gender = b.gender;
        return hub.robots.create({
          userId: b.userId ?? undefined,
          name: b.name,
          profile,
          owner: b.owner ?? undefined,
          secret: b.secret ?? undefined,
          callback: b.callback ?? undefined,
          robotExtra: b.robotExtra ?? undefined,
        });
      },
    }),
    adminRoute({
      path: '/user/get_robot_info',
      summary: "A robot's profile, owner, secret, callback and robotExtra; 253 for a user that is not a robot",
      tags,
      body: Type.Object({ robotId: Id }),
      result: RobotOut,
      handler: async (b) => {
        const { user: u, robot: r } = await hub.robots.get(b.robotId);
        return robotOut(u, r);
      },
    }),
    adminRoute({
      path: '/robot/deliveries',
      summary: 'Switchboard: the robot callback delivery log, newest first (redeliver dead ones with /callback/redeliver)',
      tags,
      body: Type.Object({
        status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('in_flight'), Type.Literal('delivered'), Type.Literal('dead'), Type.Null()])),
        robotId: OptId,
        beforeId: OptInt,
        limit: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1000 }), Type.Null()])),
      }),
      result: Type.Object({ deliveries: Type.Array(Delivery) }),
      handler: async (b) => {
        const jobs = await hub.outbox.list({
          channel: ROBOT_CHANNEL,
          limit: b.limit ?? 100,
          ...(b.status ? { status: b.status as JobStatus } : {}),
          ...(b.robotId ? { target: b.robotId } : {}),
          ...(b.beforeId ? { beforeId: b.beforeId } : {}),
        });
        return {
          deliveries: jobs.map((j) => ({
            id: j.id,
            robotId: j.target,
            status: j.status,
            attempts: j.attempts,
            createdAt: j.createdAt,
            nextAt: j.nextAt,
            deliveredAt: j.deliveredAt,
            lastError: j.lastError,
            lastResponse: j.lastResponse,
            body: JSON.parse(j.body) as unknown,
          })),
        };
      },
    }),
  ];
}


