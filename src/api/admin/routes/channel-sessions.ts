import { Type } from '@sinclair/typebox';
import type { Hub } from '../../../core/hub.js';
import { MAX_PAGE_SIZE } from '../../../core/limits.js';
import type { ServiceSession } from '../../../core/service-session-rules.js';
import { adminRoute, type AdminRouteDef } from '../plugin.js';
import { Id, MessageUid, int32 } from '../schemas.js';

const tags = ['channel gateway'];

const Session = Type.Object({
  serviceId: Type.String(),
  channelAccountId: Type.String(),
  contact: Type.String(),
  state: Type.String(),
  agent: Type.String(),
  openedAt: Type.Number(),
  lastActivityAt: Type.Number(),
  idleAt: Type.Number(),
  closedAt: Type.Number(),
  closeReason: Type.String(),
});
const State = Type.Union([Type.Literal('queued'), Type.Literal('assigned'), Type.Literal('closed'), Type.Null()]);
const OptFilter = Type.Optional(Type.Union([Id, Type.Null()]));
const Delivery = Type.Object({}, { additionalProperties: true });

const out = (s: ServiceSession): ServiceSession => ({ ...s });

/**
 * Customer-service sessions (docs/channel-gateway.md) and the delivery status of replies:
 * signed admin routes in the admin envelope. Refusals: 253 unknown session or message, 251 an agent
 * outside the account's pool, 248 a closed session (or one that changed during a transfer).
 */
export function channelSessionRoutes(hub: Hub): AdminRouteDef[] {
  const svc = hub.serviceSessions;
  return [
    adminRoute({
      path: '/channel_session/list',
      summary: 'Customer-service sessions, newest first, filtered by state, agent, channel account or contact',
      tags,
      body: Type.Object({
        state: Type.Optional(State),
        agent: OptFilter,
        channelAccountId: OptFilter,
        contact: OptFilter,
        offset: Type.Optional(int32({ minimum: 0 })),
        count: Type.Optional(int32({ minimum: 1, maximum: MAX_PAGE_SIZE })),
      }),
      result: Type.Object({ sessions: Type.Array(Session), total: Type.Number() }),
      handler: async (b) => {
        const r = await svc.list({
          ...(b.state ? { state: b.state } : {}),
          ...(b.agent ? { agent: b.agent } : {}),
          ...(b.channelAccountId ? { channelAccountId: b.channelAccountId } : {}),
          ...(b.contact ? { contact: b.contact } : {}),
          offset: b.offset ?? 0,
          limit: b.count ?? 100,
        });
        return { sessions: r.sessions.map(out), total: r.total };
      },
    }),
    adminRoute({
      path: '/channel_session/get',
      summary: 'One customer-service session (253 when unknown)',
      tags,
      body: Type.Object({ serviceId: Id }),
      result: Session,
      handler: async (b) => out(await svc.get(b.serviceId)),
    }),
    adminRoute({
      path: '/channel_session/assign',
      summary: "Assign a queued or assigned session to an agent of the account's pool, online or not",
      tags,
      body: Type.Object({ serviceId: Id, agent: Id }),
      result: Session,
      handler: async (b) => out(await svc.assign(b.serviceId, b.agent)),
    }),
    adminRoute({
      path: '/channel_session/transfer',
      summary: 'Move an open session from its agent to another agent of the pool (248 if it changed meanwhile)',
      tags,
      body: Type.Object({ serviceId: Id, to: Id }),
      result: Session,
      handler: async (b) => out(await svc.transfer(b.serviceId, b.to)),
    }),
    adminRoute({
      path: '/channel_session/close',
      summary: 'Close an open session (248 when closed already)',
      tags,
      body: Type.Object({ serviceId: Id }),
      result: Session,
      handler: async (b) => out(await svc.close(b.serviceId, 'admin')),
    }),
    adminRoute({
      path: '/channel_message/delivery',
      summary: "A reply's delivery through its channel app: status (pending, sent, delivered, failed), error, the app's ids and the outbox jobs",
      tags,
      body: Type.Object({ messageUid: MessageUid }),
      result: Delivery,
      handler: async (b) => (await hub.channelDeliveries.view(Number(b.messageUid))) as unknown as Record<string, unknown>,
    }),
  ];
}
