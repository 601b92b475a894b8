import { Type } from '@sinclair/typebox';
import { CoreError } from '../../../core/errors.js';
import type { Hub } from '../../../core/hub.js';
import { MessageKind } from '../../../core/model.js';
import { normalizeConversation, normalizePayload, optionalLine, parseUid, stringList } from '../../../core/payload.js';
import { messageOut } from '../mappers.js';
import { adminRoute, type AdminRouteDef } from '../plugin.js';
import { ConversationIn, Id, IdList, Int, int32, int53, MessageOut, MessageUid, OptId, OptIdList, OptInt32, OptInt53, optInt32, OptLine, PayloadIn, Timestamp } from '../schemas.js';
import { MAX_CONVERSATION_PAGE } from '../../../core/limits.js';

const tags = ['messages'];

/** A callback MsgKey ("MsgSeq_MsgRandom_MsgTime"), at most 33 characters by its pattern. */
const MsgKey = Type.String({ pattern: '^[0-9]{1,10}_[0-9]{1,10}_[0-9]{1,11}$', maxLength: 33 });
/** A message uid, or a callback MsgKey naming one. */
const MessageUidOrKey = Type.Union([MessageUid, MsgKey]);

async function uidOrKey(hub: Hub, v: unknown): Promise<number> {
  if (typeof v === 'string' && v.includes('_')) {
    return hub.messages.uidOfKey(v);
  }
  if (v === undefined || v === null) throw new CoreError('invalid_parameter', 'messageUid (or msgKey) is required');
  return parseUid(v);
}

/** The 15 message endpoints of seed 001, plus conversation/list. */
export function messageRoutes(hub: Hub): AdminRouteDef[] {
  const m = hub.messages;
  return [
    adminRoute({
      path: '/message/send',
      summary: 'Send a message to a single, group or channel conversation',
      tags,
      body: Type.Object({ sender: Id, conv: ConversationIn, payload: PayloadIn, toUsers: OptIdList }),
      result: Type.Object({ messageUid: Int, timestamp: Int }),
      handler: async (b, req) => {
        const r = await m.send({
          sender: b.sender,
          conv: normalizeConversation(b.conv),
          payload: normalizePayload(b.payload),
          toUsers: stringList(b.toUsers, 'toUsers'),
          origin: { kind: 'admin', ip: req.ip },
        });
        return { messageUid: r.message.uid, timestamp: r.message.timestamp };
      },
    }),
    adminRoute({
      path: '/message/update',
      summary: 'Replace the content of a message; distribute=1 pushes the change to devices',
      tags,
      body: Type.Object({
        operator: OptId,
        messageUid: MessageUid,
        payload: PayloadIn,
        distribute: int32({ minimum: 0, maximum: 1 }),
        updateTimestamp: OptInt53,
      }),
      handler: async (b) => {
        await m.update(parseUid(b.messageUid), normalizePayload(b.payload), b.distribute === 1, b.updateTimestamp ?? undefined);
      },
    }),
    adminRoute({
      path: '/message/recall',
      summary: 'Recall a message in place (type 80); the result is the original as a JSON string. messageUid may be a callback MsgKey',
      tags,
      body: Type.Object({ operator: Id, messageUid: Type.Optional(MessageUidOrKey), msgKey: Type.Optional(Type.Union([MessageUidOrKey, Type.Null()])) }),
      result: Type.String(),
      handler: async (b, req) => {
        const uid = await uidOrKey(hub, b.messageUid ?? b.msgKey);
        return (await m.recall(uid, b.operator, {}, { kind: 'admin', ip: req.ip })).original;
      },
    }),
    adminRoute({
      path: '/message/multicast',
      summary: 'Send one message (one uid) to many users',
      tags,
      body: Type.Object({ sender: Id, targets: IdList, line: OptLine, payload: PayloadIn }),
      result: Type.Object({ messageUid: Int, timestamp: Int }),
      handler: async (b) => {
        const r = await m.multicast(b.sender, stringList(b.targets, 'targets', { nonEmpty: true }), optionalLine(b.line), normalizePayload(b.payload));
        return { messageUid: r.message.uid, timestamp: r.message.timestamp };
      },
    }),
    adminRoute({
      path: '/message/broadcast',
      summary: 'Send one message to every user; count is the number of recipients',
      tags,
      body: Type.Object({ sender: Id, line: OptLine, payload: PayloadIn }),
      result: Type.Object({ messageUid: Int, count: Int }),
      handler: async (b) => {
        const r = await m.broadcast(b.sender, optionalLine(b.line), normalizePayload(b.payload));
        return { messageUid: r.message.uid, count: r.count };
      },
    }),
    adminRoute({
      path: '/message/delete',
      summary: 'Delete a message for everyone (get_one then answers 253)',
      tags,
      body: Type.Object({ operator: OptId, messageUid: MessageUid }),
      handler: async (b) => {
        await m.delete(parseUid(b.messageUid));
      },
    }),
    adminRoute({
      path: '/message/clear_by_user',
      summary: "Hide a time range of a conversation from one user's view",
      tags,
      body: Type.Object({ userId: Id, conversation: ConversationIn, startTime: OptInt53, endTime: OptInt53 }),
      handler: async (b) => {
        await m.clearByUser(b.userId, normalizeConversation(b.conversation, 'conversation'), b.startTime ?? undefined, b.endTime ?? undefined);
      },
    }),
    adminRoute({
      path: '/conversation/delete',
      summary: "Remove a conversation from one user's list",
      tags,
      body: Type.Object({ userId: Id, conversation: ConversationIn }),
      handler: async (b) => {
        await m.deleteConversation(b.userId, normalizeConversation(b.conversation, 'conversation'));
      },
    }),
    adminRoute({
      path: '/conversation/list',
      summary: `Switchboard extension: a user's conversations with unread counts and read marks, most recent first, at most \`limit\` (1…${MAX_CONVERSATION_PAGE}, default ${MAX_CONVERSATION_PAGE}) after \`after\` (the previous page's \`next\`)`,
      tags,
      body: Type.Object({
        userId: Id,
        limit: optInt32({ minimum: 1, maximum: MAX_CONVERSATION_PAGE }),
        after: Type.Optional(Type.Union([Type.Object({ lastTimestamp: int53({ minimum: 0 }), conversation: ConversationIn }), Type.Null()])),
      }),
      result: Type.Object({
        conversations: Type.Array(
          Type.Object({
            conversation: Type.Object({ type: Int, target: Type.String(), line: Int }),
            unread: Int,
            lastMessageUid: Int,
            lastTimestamp: Int,
            readTimestamp: Int,
          }),
        ),
        next: Type.Union([Type.Object({ lastTimestamp: Int, conversation: Type.Object({ type: Int, target: Type.String(), line: Int }) }), Type.Null()]),
      }),
      handler: async (b) => {
        const limit = b.limit ?? MAX_CONVERSATION_PAGE;
        const after = b.after ? { lastTimestamp: b.after.lastTimestamp, conv: normalizeConversation(b.after.conversation, 'after.conversation') } : undefined;
        // One more than asked: whether a next page exists, without another query.
        const list = await hub.messages.conversations(b.userId, { limit: limit + 1, after });
        const page = list.slice(0, limit);
        const last = page.at(-1);
        return {
          conversations: page.map((c) => ({
            conversation: c.conv,
            unread: c.unread,
            lastMessageUid: c.lastUid,
            lastTimestamp: c.lastTimestamp,
            readTimestamp: c.readTimestamp,
          })),
          next: list.length > limit && last ? { lastTimestamp: last.lastTimestamp, conversation: last.conv } : null,
        };
      },
    }),
    adminRoute({
      path: '/message/get_one',
      summary: 'Get one message by uid (253 when absent, deleted or expired)',
      tags,
      body: Type.Object({ messageUid: MessageUid }),
      result: MessageOut,
      handler: async (b) => messageOut(await m.get(parseUid(b.messageUid))),
    }),
    adminRoute({
      path: '/message/recall_broadcast',
      summary: 'Recall a broadcast message for everyone',
      tags,
      body: Type.Object({ operator: Id, messageUid: MessageUid }),
      handler: async (b) => {
        await m.recall(parseUid(b.messageUid), b.operator, { kind: MessageKind.broadcast });
      },
    }),
    adminRoute({
      path: '/message/recall_multicast',
      summary: 'Recall a multicast message for some of its receivers',
      tags,
      body: Type.Object({ operator: Id, messageUid: MessageUid, receivers: IdList }),
      handler: async (b) => {
        await m.recall(parseUid(b.messageUid), b.operator, {
          kind: MessageKind.multicast,
          receivers: stringList(b.receivers, 'receivers', { nonEmpty: true }),
        });
      },
    }),
    adminRoute({
      path: '/message/delete_broadcast',
      summary: 'Delete a broadcast message for everyone',
      tags,
      body: Type.Object({ operator: OptId, messageUid: MessageUid }),
      handler: async (b) => {
        await m.delete(parseUid(b.messageUid), { kind: MessageKind.broadcast });
      },
    }),
    adminRoute({
      path: '/message/delete_multicast',
      summary: 'Delete a multicast message for some of its receivers',
      tags,
      body: Type.Object({ operator: OptId, messageUid: MessageUid, receivers: IdList }),
      handler: async (b) => {
        await m.delete(parseUid(b.messageUid), {
          kind: MessageKind.multicast,
          receivers: stringList(b.receivers, 'receivers', { nonEmpty: true }),
        });
      },
    }),
    adminRoute({
      path: '/message/conv_read',
      summary: "A user's read timestamp in a conversation (type or conversationType)",
      tags,
      body: Type.Object({ userId: Id, type: OptInt32, conversationType: OptInt32, target: Id, line: OptLine }),
      result: Timestamp,
      handler: async (b) => {
        const type = b.type ?? b.conversationType;
        if (type === undefined || type === null) throw new CoreError('invalid_parameter', 'type (or conversationType) is required');
        const conv = normalizeConversation({ type, target: b.target, line: b.line });
        return { timestamp: await m.readTimestamp(b.userId, conv) };
      },
    }),
    adminRoute({
      path: '/message/delivery',
      summary: "A user's delivery timestamp (latest message acknowledged by a device)",
      tags,
      body: Type.Object({ userId: Id }),
      result: Timestamp,
      handler: async (b) => ({ timestamp: await m.deliveryTimestamp(b.userId) }),
    }),
  ];
}
