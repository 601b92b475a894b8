import { changeNeeds, type DeliveryFacts, type GroupFacts, type SendChecks } from '../../core/message-plan.js';
import type { Conversation, StoredMessage } from '../../core/model.js';
import { ConvType, MessageKind } from '../../core/model.js';
import type { FriendRelation } from '../../core/relations.js';
import { MESSAGE_COLS, type MessageRow, Params } from './message-rows.js';
import type { Queryable } from './pool.js';

/**
 * The facts of core's delivery rules (core/message-plan.ts) for one message, read in ONE statement
 * inside the command's transaction (rows loaded beforehand, since the rules are synchronous). An
 * accessor the rules never need for this case throws: the loader and the rules must agree.
 */

export type Routed = Pick<StoredMessage, 'sender' | 'conv' | 'kind' | 'toUsers'>;

/** What a send reads besides the delivery facts. */
export interface SendFacts {
  /** With opts.clientMsgId: the message stored earlier with it, if any (then nothing else is read or taken). */
  prior: MessageRow | null;
  facts: DeliveryFacts;
  /** The sender's status (undefined: no such user). Read only when `withSender`. */
  senderStatus: number | undefined;
  /** The receiver's relation to the sender and both user types (single chats, when `withRelation`). */
  relation: Pick<FriendRelation, 'state' | 'blacked'> | null;
  userTypes: { sender: number | undefined; receiver: number | undefined };
}

function missing(name: string): never {
  throw new Error(`delivery fact ${name} was not loaded for this message`);
}

function facts(over: Partial<DeliveryFacts>): DeliveryFacts {
  return {
    userExists: over.userExists ?? (() => missing('userExists')),
    userCount: over.userCount ?? (() => missing('userCount')),
    group: over.group ?? (() => missing('group')),
    groupMember: over.groupMember ?? (() => missing('groupMember')),
    groupMemberIds: over.groupMemberIds ?? (() => missing('groupMemberIds')),
    channel: over.channel ?? (() => missing('channel')),
    isSubscriber: over.isSubscriber ?? (() => missing('isSubscriber')),
    subscriberIds: over.subscriberIds ?? (() => missing('subscriberIds')),
  };
}

export interface SendRow {
  prior: MessageRow | null;
  sender_status: number | null;
  sender_type: number | null;
  target_type: number | null;
  relation: { state: number; blacked: number } | null;
  n: number | null;
  sender_exists: boolean | null;
  existing: string[] | null;
  target_exists: boolean | null;
  member_count: number | null;
  mute: number | null;
  msg_seq: number | null;
  sender_member: number | null;
  members: string[] | null;
  owner: string | null;
  subscriber_count: number | null;
  sender_sub: boolean | null;
  owner_sub: boolean | null;
}

/**
 * Whether loadSendFacts runs a statement for this send (it runs none when nothing is to be checked or
 * looked up: a system single chat or multicast, a trusted send to a chatroom): whether the send asks
 * for its seq only after a statement of its own answered (PgWriter's SubmitOptions.readsFirst). Keep
 * in step with loadSendFacts' columns.
 */
export function sendReadsFirst(msg: Routed, checks: SendChecks): boolean {
  if (checks === 'rules' || msg.kind === MessageKind.broadcast) return true;
  if (msg.kind === MessageKind.multicast) return checks !== 'none';
  if (msg.conv.type === ConvType.group || msg.conv.type === ConvType.channel) return true;
  return msg.conv.type === ConvType.single && checks !== 'none';
}

/**
 * Load what planDelivery reads for a new message, with the group's message number taken when
 * `takeGroupSeq` (the UPDATE is part of the statement), plus the sender's status (`withSender`), for a
 * single chat the receiver's relation to the sender (`withRelation`), and the message a resend with
 * `clientMsgId` repeats (then no group number is taken). One statement.
 */
export async function loadSendFacts(
  q: Queryable,
  msg: Routed,
  checks: SendChecks,
  inlineFanoutMax: number,
  opts: { takeGroupSeq: boolean; withSender: boolean; withRelation: boolean; clientMsgId?: string | undefined },
): Promise<SendFacts> {
  const b = new Params();
  // Added on first use: a parameter no clause uses has no type PostgreSQL could infer.
  let senderParam: string | undefined;
  const sender = (): string => (senderParam ??= b.p(msg.sender));
  const cols: string[] = [];
  let from = '';
  let cte = '';
  // A resend: the first message with this (sender, clientMsgId), and nothing taken for this one.
  const resend = opts.clientMsgId ? `sender = ${sender()} AND client_msg_id = ${b.p(opts.clientMsgId)}` : null;
  if (resend) cols.push(`(SELECT row_to_json(p) FROM (SELECT ${MESSAGE_COLS} FROM messages WHERE ${resend}) AS p) AS prior`);
  if (opts.withSender) cols.push(`(SELECT status FROM users WHERE id = ${sender()}) AS sender_status`);
  const { conv } = msg;
  const isSingle = msg.kind === MessageKind.conversation && conv.type === ConvType.single;
  if (opts.withRelation && isSingle) {
    const t = b.p(conv.target);
    cols.push(
      `(SELECT json_build_object('state', state, 'blacked', blacked) FROM friends WHERE user_id = ${t} AND friend_uid = ${sender()}) AS relation`,
      `(SELECT type FROM users WHERE id = ${sender()}) AS sender_type`,
      `(SELECT type FROM users WHERE id = ${t}) AS target_type`,
    );
  }
  const toUsers = msg.toUsers;
  if (msg.kind === MessageKind.broadcast) {
    cols.push(`(SELECT COUNT(*) FROM users) AS n`, `EXISTS (SELECT 1 FROM users WHERE id = ${sender()}) AS sender_exists`);
  } else if (msg.kind === MessageKind.multicast) {
    if (checks !== 'none') cols.push(`ARRAY(SELECT id FROM users WHERE id = ANY(${b.p(toUsers)}::text[])) AS existing`);
  } else if (conv.type === ConvType.single) {
    if (checks !== 'none') cols.push(`EXISTS (SELECT 1 FROM users WHERE id = ${b.p(conv.target)}) AS target_exists`);
  } else if (conv.type === ConvType.group) {
    const g = b.p(conv.target);
    const to = b.p(toUsers);
    cte = opts.takeGroupSeq
      ? `WITH g AS (UPDATE groups SET msg_seq = msg_seq + 1 WHERE id = ${g}${resend ? ` AND NOT EXISTS (SELECT 1 FROM messages WHERE ${resend})` : ''}
                  RETURNING member_count, mute, msg_seq) `
      : `WITH g AS (SELECT member_count, mute, msg_seq FROM groups WHERE id = ${g}) `;
    cols.push(
      'g.member_count',
      'g.mute',
      'g.msg_seq',
      `(SELECT type FROM group_members WHERE group_id = ${g} AND user_id = ${sender()}) AS sender_member`,
      `CASE WHEN cardinality(${to}::text[]) > 0 THEN ARRAY(SELECT user_id FROM group_members WHERE group_id = ${g} AND user_id = ANY(${to}::text[]))
            WHEN g.member_count <= ${b.p(inlineFanoutMax)} THEN ARRAY(SELECT user_id FROM group_members WHERE group_id = ${g} ORDER BY user_id COLLATE "C") END AS members`,
    );
    from = ' FROM (SELECT 1) AS one LEFT JOIN g ON true';
  } else if (conv.type === ConvType.channel) {
    const c = b.p(conv.target);
    const to = b.p(toUsers);
    cols.push(
      'c.owner',
      'c.subscriber_count',
      `EXISTS (SELECT 1 FROM channel_subscribers WHERE channel_id = ${c} AND user_id = ${sender()}) AS sender_sub`,
      `EXISTS (SELECT 1 FROM channel_subscribers s WHERE s.channel_id = ${c} AND s.user_id = c.owner) AS owner_sub`,
      `CASE WHEN cardinality(${to}::text[]) > 0 THEN ARRAY(SELECT user_id FROM channel_subscribers WHERE channel_id = ${c} AND user_id = ANY(${to}::text[]))
            WHEN c.subscriber_count <= ${b.p(inlineFanoutMax)} THEN ARRAY(SELECT user_id FROM channel_subscribers WHERE channel_id = ${c} ORDER BY user_id COLLATE "C") END AS members`,
    );
    from = ` FROM (SELECT 1) AS one LEFT JOIN channels c ON c.id = ${c}`;
  }
  const row: Partial<SendRow> = cols.length > 0 ? ((await q.row<SendRow>(`${cte}SELECT ${cols.join(', ')}${from}`, b.values)) ?? {}) : {};
  return {
    prior: row.prior ?? null,
    facts: sendFacts(msg, row),
    senderStatus: row.sender_status ?? undefined,
    relation: row.relation ?? null,
    userTypes: { sender: row.sender_type ?? undefined, receiver: row.target_type ?? undefined },
  };
}

export function sendFacts(msg: Routed, r: Partial<SendRow>): DeliveryFacts {
  const { conv, sender } = msg;
  if (msg.kind === MessageKind.broadcast) {
    return facts({ userCount: () => r.n ?? 0, userExists: (u) => (u === sender ? r.sender_exists === true : missing('userExists')) });
  }
  if (msg.kind === MessageKind.multicast) {
    const existing = new Set(r.existing ?? []);
    return facts({ userExists: (u) => existing.has(u) });
  }
  if (conv.type === ConvType.single) return facts({ userExists: (u) => (u === conv.target ? r.target_exists === true : missing('userExists')) });
  if (conv.type === ConvType.group) {
    const group: GroupFacts | null = r.member_count === null || r.member_count === undefined ? null : { memberCount: r.member_count, mute: r.mute ?? 0, msgSeq: r.msg_seq ?? 0 };
    const members = r.members ?? null;
    const listed = new Set(members ?? []);
    return facts({
      group: () => group,
      groupMember: (_g, u) => {
        if (u === sender) return r.sender_member === null || r.sender_member === undefined ? null : { type: r.sender_member };
        if (msg.toUsers.includes(u)) return listed.has(u) ? { type: 0 } : null;
        return missing('groupMember');
      },
      groupMemberIds: () => members ?? missing('groupMemberIds'),
    });
  }
  if (conv.type === ConvType.channel) {
    const channel = r.owner === null || r.owner === undefined ? null : { owner: r.owner, subscriberCount: r.subscriber_count ?? 0 };
    const members = r.members ?? null;
    const listed = new Set(members ?? []);
    return facts({
      channel: () => channel,
      isSubscriber: (_c, u) => {
        if (msg.toUsers.length > 0 && msg.toUsers.includes(u)) return listed.has(u);
        if (u === sender) return r.sender_sub === true;
        if (channel && u === channel.owner) return r.owner_sub === true;
        return missing('isSubscriber');
      },
      subscriberIds: () => members ?? missing('subscriberIds'),
    });
  }
  return facts({});
}

/** Load what planChange reads for a stored message (nothing for a listed one). */
export async function loadChangeFacts(q: Queryable, msg: Routed, recipients: string[] | null): Promise<DeliveryFacts> {
  const need = changeNeeds(msg, recipients);
  if (need === 'group') {
    const g = await q.row<{ member_count: number; mute: number; msg_seq: number }>('SELECT member_count, mute, msg_seq FROM groups WHERE id = $1', [msg.conv.target]);
    return facts({ group: () => (g ? { memberCount: g.member_count, mute: g.mute, msgSeq: g.msg_seq } : null) });
  }
  if (need === 'channel') {
    const c = await q.row<{ owner: string; subscriber_count: number }>('SELECT owner, subscriber_count FROM channels WHERE id = $1', [msg.conv.target]);
    return facts({ channel: () => (c ? { owner: c.owner, subscriberCount: c.subscriber_count } : null) });
  }
  if (need === 'users') {
    const r = await q.row<{ n: number; sender_exists: boolean }>(
      'SELECT (SELECT COUNT(*) FROM users) AS n, EXISTS (SELECT 1 FROM users WHERE id = $1) AS sender_exists',
      [msg.sender],
    );
    return facts({ userCount: () => r?.n ?? 0, userExists: (u) => (u === msg.sender ? r?.sender_exists === true : missing('userExists')) });
  }
  return facts({});
}

/** The conversation key columns of a list of conversations, as unnest arrays. */
export function convArrays(convs: Conversation[]): { types: number[]; targets: string[]; lines: number[] } {
  return { types: convs.map((c) => c.type), targets: convs.map((c) => c.target), lines: convs.map((c) => c.line) };
}
