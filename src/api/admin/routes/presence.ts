import { Type } from '@sinclair/typebox';
import type { Hub } from '../../../core/hub.js';
import type { Presence } from '../../../core/ports/presence.js';
import { adminRoute, type AdminRouteDef } from '../plugin.js';
import { MAX_PAGE_SIZE } from '../../../core/limits.js';
import { Id, Int, Str, int32 } from '../schemas.js';

const tags = ['users'];

/**
 * Wildfire's online-status routes, answered cluster-wide from the Presence port (this node's registry
 * alone on one node; Redis in a cluster). Wildfire numbers nodes from 1: node = nodeId + 1.
 */
export function presenceRoutes(hub: Hub, presence: Presence): AdminRouteDef[] {
  return [
    adminRoute({
      path: '/user/onlinestatus',
      summary: "A user's connected devices (status 0 = online)",
      tags,
      body: Type.Object({ userId: Id }),
      result: Type.Object({
        sessions: Type.Array(Type.Object({ clientId: Str, userId: Str, platform: Int, status: Int, lastSeen: Int })),
      }),
      handler: async (b) => {
        await hub.users.get({ userId: b.userId });
        const now = Date.now();
        return {
          sessions: (await presence.sessions(b.userId)).map((s) => ({ clientId: s.clientId, userId: s.userId, platform: s.platform, status: 0, lastSeen: now })),
        };
      },
    }),
    adminRoute({
      path: '/user/session_list',
      summary: "A user's device sessions (clients holding a live token) and whether each is connected",
      tags,
      body: Type.Object({ userId: Id }),
      result: Type.Object({
        userSessions: Type.Array(
          Type.Object({ userId: Str, clientId: Str, platform: Int, pushType: Int, isOnline: Type.Boolean() }),
        ),
      }),
      handler: async (b) => {
        const online = new Map((await presence.sessions(b.userId)).map((s) => [s.clientId, s.platform]));
        const sessions = new Map((await hub.users.sessionClients(b.userId)).map((s) => [s.clientId, s.platform]));
        // A connected client whose token expired since it connected is still a session.
        for (const [clientId, platform] of online) if (!sessions.has(clientId)) sessions.set(clientId, platform);
        return {
          userSessions: [...sessions].map(([clientId, platform]) => ({ userId: b.userId, clientId, platform, pushType: 0, isOnline: online.has(clientId) })),
        };
      },
    }),
    adminRoute({
      path: '/user/online_count',
      summary: 'Connected devices per node (a JSON array, as in Wildfire)',
      tags,
      body: Type.Object({}),
      result: Type.Array(Type.Object({ node: Int, count: Int })),
      handler: async () => (await presence.counts()).map((c) => ({ node: c.node + 1, count: c.count })),
    }),
    adminRoute({
      path: '/user/online_list',
      summary: 'A page of connected devices of a node',
      tags,
      body: Type.Object({
        nodeId: Type.Optional(int32()),
        offset: int32({ minimum: 0 }),
        count: int32({ minimum: 1, maximum: MAX_PAGE_SIZE }),
      }),
      result: Type.Object({
        userClients: Type.Array(Type.Object({ userId: Str, clientId: Str, platform: Int })),
        totalCount: Int,
        offset: Int,
      }),
      handler: async (b) => {
        if (b.nodeId !== undefined && b.nodeId < 1) return { userClients: [], totalCount: 0, offset: b.offset };
        const page = await presence.list(b.offset, b.count, b.nodeId === undefined ? undefined : b.nodeId - 1);
        return {
          userClients: page.sessions.map((s) => ({ userId: s.userId, clientId: s.clientId, platform: s.platform })),
          totalCount: page.total,
          offset: b.offset,
        };
      },
    }),
  ];
}
