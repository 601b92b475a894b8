import type { Audience } from '../../core/ports/store.js';
import { AudienceType } from '../rows/messages.js';
import { EventType, Params } from './message-rows.js';
import type { Queryable } from './pool.js';
import { addSentConversations, noSentConversations, sentConversationsPart, type MessageUnreadFacts, type SentConversations } from './unread.js';
import type { RunStatements } from './writer.js';

/**
 * The rows a new message writes (its message row, its event: per-user inbox rows or one shared events
 * row, and its receivers' conversation rows), written for all the sends of a writer run at once
 * (PgTx.together): one statement taking every send's rows as arrays (INSERT … SELECT FROM unnest), so
 * one executor start-up and one answer per run instead of one per send. A send alone writes through the
 * same statement with its own rows only, so a run stores exactly what its sends alone would.
 */

/** The message row's columns, in SENT_MESSAGE_COLUMNS order. */
export interface SentMessageRow {
  uid: number;
  seq: number;
  sender: string;
  convType: number;
  convTarget: string;
  convLine: number;
  /** JSON of the payload. */
  payload: string;
  toUsers: string | null;
  kind: number;
  timestamp: number;
  expireAt: number;
  clientId: string;
  platform: number;
  clientMsgId: string | null;
  recipients: string | null;
}

/** What one send writes. */
export interface SentRows {
  message: SentMessageRow;
  /** The shared events row's audience, or null (a listed audience, a chatroom). */
  shared: { type: number; id: string } | null;
  /** Users who get an inbox row. */
  inbox: string[];
  /** The conversation rows it moves (one entry per row). */
  conversations: SentConversations;
}

/** The rows of a new message with this seq, for this audience (extraUsers: inbox rows besides it). */
export function sentRows(message: SentMessageRow, audience: Audience, extraUsers: string[], unread: MessageUnreadFacts): SentRows {
  const conversations = noSentConversations();
  if (audience.kind === 'users') addSentConversations(conversations, unread, audience.users);
  if (audience.kind === 'chatroom') return { message, shared: null, inbox: [], conversations };
  const shared =
    audience.kind === 'users'
      ? null
      : audience.kind === 'group'
        ? { type: AudienceType.group, id: audience.groupId }
        : audience.kind === 'channel'
          ? { type: AudienceType.channel, id: audience.channelId }
          : { type: AudienceType.all, id: '' };
  return { message, shared, inbox: audience.kind === 'users' ? [...audience.users, ...extraUsers] : extraUsers, conversations };
}

/** Column arrays of several sends' message rows, in the insert's order, each with its array type. */
function messageColumns(b: Params, rows: readonly SentMessageRow[]): string {
  const col = (f: (r: SentMessageRow) => unknown, type: string): string => `${b.p(rows.map(f))}::${type}[]`;
  return [
    col((r) => r.uid, 'bigint'),
    col((r) => r.seq, 'bigint'),
    col((r) => r.sender, 'text'),
    col((r) => r.convType, 'bigint'),
    col((r) => r.convTarget, 'text'),
    col((r) => r.convLine, 'bigint'),
    col((r) => r.payload, 'text'),
    col((r) => r.toUsers, 'text'),
    col((r) => r.kind, 'bigint'),
    col((r) => r.timestamp, 'bigint'),
    col((r) => r.expireAt, 'bigint'),
    col((r) => r.clientId, 'text'),
    col((r) => r.platform, 'bigint'),
    col((r) => r.clientMsgId, 'text'),
    col((r) => r.recipients, 'text'),
  ].join(', ');
}

const MESSAGE_INSERT_COLS = 'uid, seq, sender, conv_type, conv_target, conv_line, payload, to_users, kind, timestamp, expire_at, client_id, platform, client_msg_id, recipients';

/**
 * Split conversation rows into layers of distinct conversations: layer k holds the k-th row of each
 * conversation, so applying the layers in order moves every row in the sends' order.
 */
function layers(rows: readonly SentConversations[]): SentConversations[] {
  const out: SentConversations[] = [];
  const seen = new Map<string, number>();
  for (const r of rows) {
    for (let i = 0; i < r.users.length; i++) {
      const key = `${r.users[i]!}\u0000${r.types[i]!}\u0000${r.targets[i]!}\u0000${r.lines[i]!}`;
      const k = seen.get(key) ?? 0;
      seen.set(key, k + 1);
      const l = (out[k] ??= noSentConversations());
      l.users.push(r.users[i]!);
      l.types.push(r.types[i]!);
      l.targets.push(r.targets[i]!);
      l.lines.push(r.lines[i]!);
      l.counts.push(r.counts[i]!);
      l.uids.push(r.uids[i]!);
      l.stamps.push(r.stamps[i]!);
    }
  }
  return out;
}

/** Runs data-modifying CTE parts as one statement. */
function runParts(q: Queryable, b: Params, parts: string[]): Promise<number> {
  return q.run(`WITH ${parts.join(', ')} SELECT 1`, b.values);
}

/**
 * Writes the rows of several sends (in their seq order): the message rows, events and inbox rows and
 * the first layer of conversation rows in one statement; a conversation moved by several of the sends
 * once more per further message, each layer one more statement after it (pipelined, in order).
 */
export const SENT_ROWS: RunStatements<SentRows, void> = {
  async run(q, items) {
    const b = new Params();
    const parts = [`msg AS (INSERT INTO messages(${MESSAGE_INSERT_COLS}) SELECT * FROM unnest(${messageColumns(b, items.map((i) => i.message))}))`];
    const shared = items.filter((i) => i.shared !== null);
    if (shared.length > 0) {
      parts.push(
        `ev AS (INSERT INTO events(seq, type, uid, audience_type, audience_id) SELECT x.s, ${EventType.message}, x.u, x.t, x.id
           FROM unnest(${b.p(shared.map((i) => i.message.seq))}::bigint[], ${b.p(shared.map((i) => i.message.uid))}::bigint[],
                       ${b.p(shared.map((i) => i.shared!.type))}::bigint[], ${b.p(shared.map((i) => i.shared!.id))}::text[]) AS x(s, u, t, id))`,
      );
    }
    const inbox = { users: [] as string[], seqs: [] as number[], uids: [] as number[] };
    for (const i of items) {
      for (const u of i.inbox) {
        inbox.users.push(u);
        inbox.seqs.push(i.message.seq);
        inbox.uids.push(i.message.uid);
      }
    }
    if (inbox.users.length > 0) {
      parts.push(
        `ib AS (INSERT INTO inbox(user_id, seq, type, uid, data) SELECT x.u, x.s, ${EventType.message}, x.m, NULL
           FROM unnest(${b.p(inbox.users)}::text[], ${b.p(inbox.seqs)}::bigint[], ${b.p(inbox.uids)}::bigint[]) AS x(u, s, m))`,
      );
    }
    const [first, ...more] = layers(items.map((i) => i.conversations));
    if (first) parts.push(sentConversationsPart(b, first));
    const done = [runParts(q, b, parts)];
    for (const l of more) {
      const lb = new Params();
      done.push(runParts(q, lb, [sentConversationsPart(lb, l)]));
    }
    await Promise.all(done);
    return items.map(() => undefined);
  },
};
