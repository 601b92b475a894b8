import type { Audience } from '../../core/ports/store.js';
import { AudienceType, MESSAGE_COLS, type MessageRow } from '../rows/messages.js';
import type { Queryable } from './pool.js';

/**
 * Rows of the messages part, shared by messages.ts, conversations.ts and sync.ts. The tables and their
 * meaning are the same as SQLite's (the row shape, its mapping, EventType and AudienceType are shared:
 * src/store/rows/messages.ts); statements here are multi-row, one round trip each.
 */
export { EventType, toMessage, type MessageRow } from '../rows/messages.js';
export { MESSAGE_COLS };

/** SQL parameters, numbered as they are added (for statements assembled from parts). */
export class Params {
  readonly values: unknown[] = [];
  p(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

export async function messageRow(q: Queryable, uid: number): Promise<MessageRow | undefined> {
  return q.row<MessageRow>(`SELECT ${MESSAGE_COLS} FROM messages WHERE uid = $1`, [uid]);
}

/** The stored recipients column (JSON) as a list, or null. */
export function storedRecipients(column: string | null): string[] | null {
  return column === null ? null : (JSON.parse(column) as string[]);
}

/**
 * The data-modifying CTE parts recording one event for an audience: per-user inbox rows for a listed
 * audience (plus `extraUsers`), one shared `events` row otherwise. Nothing for a chatroom (delivered
 * live only). Each part is `name AS (…)`, to be joined into a WITH list.
 */
export function eventParts(b: Params, seq: number, type: number, uid: number, audience: Audience, extraUsers: string[] = [], data: string | null = null): string[] {
  if (audience.kind === 'chatroom') return [];
  const parts: string[] = [];
  const inboxUsers = audience.kind === 'users' ? [...audience.users, ...extraUsers] : extraUsers;
  const s = b.p(seq);
  const t = b.p(type);
  const u = b.p(uid);
  if (audience.kind !== 'users') {
    const [at, id] =
      audience.kind === 'group' ? [AudienceType.group, audience.groupId] : audience.kind === 'channel' ? [AudienceType.channel, audience.channelId] : [AudienceType.all, ''];
    parts.push(`ev AS (INSERT INTO events(seq, type, uid, audience_type, audience_id) VALUES (${s}, ${t}, ${u}, ${b.p(at)}, ${b.p(id)}))`);
  }
  if (inboxUsers.length > 0) {
    parts.push(`ib AS (INSERT INTO inbox(user_id, seq, type, uid, data) SELECT x, ${s}::bigint, ${t}::bigint, ${u}::bigint, ${b.p(data)}::text FROM unnest(${b.p(inboxUsers)}::text[]) AS x)`);
  }
  return parts;
}

/** Run data-modifying CTE parts as one statement (nothing when there are none). */
export async function runParts(q: Queryable, b: Params, parts: string[]): Promise<void> {
  if (parts.length === 0) return;
  await q.run(`WITH ${parts.join(', ')} SELECT 1`, b.values);
}

/** Record one event (see eventParts) in one statement. */
export async function writeEvent(q: Queryable, seq: number, type: number, uid: number, audience: Audience, extraUsers: string[] = []): Promise<void> {
  const b = new Params();
  await runParts(q, b, eventParts(b, seq, type, uid, audience, extraUsers));
}
