import { Type } from '@sinclair/typebox';
import { CoreError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import { ConvType } from '../../core/model.js';
import { normalizePayload, stringList } from '../../core/payload.js';
import { channelOut } from '../admin/mappers.js';
import { adminRoute, type AdminRouteDef } from '../admin/plugin.js';
import { ChannelInfo, Id, IdList, Int, int32, OptExtra, OptLine, PayloadIn, Str } from '../admin/schemas.js';
import { channelOf } from './auth.js';
import { lookupRoutes } from './lookup-routes.js';

const tags = ['channel'];

/** Wildfire's ChannelState bits that change what a channel may do through its own API. */
const STATE_ACTIVE_SUBSCRIBE = 0x04;
const STATE_MESSAGE_UNSUBSCRIBED = 0x08;
const STATE_GLOBAL = 0x80;

/**
 * A channel's own API (Wildfire's ChannelServiceApi SDK), under /channel: every call acts for the
 * channel that signed it (header `cid`), whatever a body says.
 */
export function channelApiRoutes(hub: Hub): AdminRouteDef[] {
  return [
    ...lookupRoutes(hub, tags),
    adminRoute({
      path: '/message/send',
      summary: 'Send a message in the channel as its owner, to its subscribers or to `targets` only (each must subscribe, 248, unless the channel state allows messages to non-subscribers)',
      tags,
      body: Type.Object({ line: OptLine, targets: Type.Optional(Type.Union([IdList, Type.Null()])), payload: PayloadIn }),
      result: Type.Object({ messageUid: Int, timestamp: Int }),
      handler: async (b, req) => {
        const c = await hub.channels.get(channelOf(req.headers));
        const targets = stringList(b.targets, 'targets');
        if (targets.length > 0 && (c.state & (STATE_MESSAGE_UNSUBSCRIBED | STATE_GLOBAL)) === 0) {
          for (const t of targets) {
            if (!(await hub.channels.isSubscribed(c.channelId, t))) throw new CoreError('no_right', `User ${t} not in channel`);
          }
        }
        const r = await hub.messages.send({
          sender: c.owner,
          conv: { type: ConvType.channel, target: c.channelId, line: b.line ?? 0 },
          payload: normalizePayload(b.payload),
          toUsers: targets,
          origin: { kind: 'admin', ip: req.ip },
        });
        return { messageUid: r.message.uid, timestamp: r.message.timestamp };
      },
    }),
    adminRoute({
      path: '/subscribe',
      summary: 'Subscribe (subscribe 1) or unsubscribe (0) a user; subscribing needs the channel state bit 0x04 (active subscribe), else 248',
      tags,
      body: Type.Object({ target: Id, subscribe: int32({ minimum: 0, maximum: 1 }) }),
      handler: async (b, req) => {
        const c = await hub.channels.get(channelOf(req.headers));
        if (b.subscribe > 0 && (c.state & STATE_ACTIVE_SUBSCRIBE) === 0) throw new CoreError('no_right', 'the channel may not subscribe users itself');
        await hub.users.get({ userId: b.target });
        await hub.channels.subscribe(c.channelId, b.target, b.subscribe > 0);
      },
    }),
    adminRoute({
      path: '/subscriber_list',
      summary: 'The users subscribing to the channel ({list})',
      tags,
      body: Type.Object({}, { additionalProperties: true }),
      result: Type.Object({ list: Type.Array(Str) }),
      handler: async (_b, req) => ({ list: await hub.channels.subscribers(channelOf(req.headers)) }),
    }),
    adminRoute({
      path: '/is_subscriber',
      summary: 'Whether a user subscribes to the channel (a bare boolean result)',
      tags,
      body: Type.Object({ userId: Id }),
      result: Type.Boolean(),
      handler: async (b, req) => hub.channels.isSubscribed(channelOf(req.headers), b.userId),
    }),
    adminRoute({
      path: '/update_profile',
      summary: 'Change one field of the channel: type is Wildfire’s ModifyChannelInfoType (0 name, 1 portrait, 2 desc, 3 extra, 4 secret, 5 callback, 6 automatic; 7 menu: 254)',
      tags,
      body: Type.Object({ type: int32(), value: OptExtra }),
      handler: async (b, req) => hub.channels.modify(channelOf(req.headers), b.type, b.value ?? ''),
    }),
    adminRoute({
      path: '/get_profile',
      summary: 'The channel itself (OutputGetChannelInfo, as /admin/channel/get)',
      tags,
      body: Type.Object({}, { additionalProperties: true }),
      result: ChannelInfo,
      handler: async (_b, req) => channelOut(await hub.channels.get(channelOf(req.headers))),
    }),
  ];
}
