import type { Conversation, Payload, StoredMessage } from '../../core/model.js';
import { MessageStatus, ReceiverState } from '../../core/model.js';
import { hiddenBy } from '../../core/unread.js';
import type { ReplayPage, SyncEvent, SyncEventType, SyncStore } from '../../core/ports/store.js';
import type { SqliteContext } from './context.js';
import { AudienceType, EventType, toMessage } from '../rows/messages.js';
import { messageRow, perspective } from './message-rows.js';

/** A range of a shared audience's timeline a user may see: messages with from < message seq <= to. */
interface Interval {
  from: number;
  to: number;
}

/** One event row read for a replay page. */
interface Candidate {
  seq: number;
  type: number;
  uid: number;
  data: string | null;
  /** Shared-audience rows: the user's membership intervals (null: a per-user row, always visible). */
  gate: Interval[] | null;
}

interface Hide {
  conv_type: number;
  conv_target: string;
  conv_line: number;
  start_ts: number;
  end_ts: number;
}

const TYPE_NAMES: Record<number, SyncEventType> = {
  [EventType.message]: 'message',
  [EventType.recall]: 'recall',
  [EventType.update]: 'update',
  [EventType.delete]: 'delete',
  [EventType.clear]: 'clear',
  [EventType.conv_delete]: 'conv_delete',
  [EventType.read]: 'read',
};

/**
 * The statements of a replay, exported so tests can pin their query plans. Every event read is an
 * index range bounded by `seq <= durable horizon` and a LIMIT: the user's inbox rows through the inbox
 * primary key, each shared audience's rows through events_audience (audience_type, audience_id, seq,
 * type, uid), which covers the query.
 */
export const REPLAY_SQL = {
  inbox: 'SELECT seq, type, uid, data FROM inbox WHERE user_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?',
  shared: 'SELECT seq, type, uid FROM events WHERE audience_type = ? AND audience_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?',
  groups: 'SELECT group_id AS id, joined_seq AS since FROM group_members WHERE user_id = ?',
  channels: 'SELECT channel_id AS id, subscribed_seq AS since FROM channel_subscribers WHERE user_id = ?',
  user: 'SELECT created_seq FROM users WHERE id = ?',
  history: 'SELECT audience_type, audience_id, joined_seq, left_seq FROM audience_history WHERE user_id = ?',
  messageSeq: 'SELECT seq FROM messages WHERE uid = ?',
} as const;

/** Smallest first chunk read from one shared audience. */
const MIN_CHUNK = 4;

/**
 * Rows of one source (the inbox, the write-behind buffer, one shared audience) in seq order, read in
 * chunks: the first of `chunk` rows, each next one twice as large up to `maxChunk`.
 */
class Cursor {
  private buf: Candidate[] = [];
  private pos = 0;
  private exhausted = false;

  constructor(
    private readonly fetch: (after: number, n: number) => Candidate[],
    private after: number,
    private chunk: number,
    private readonly maxChunk: number,
  ) {}

  peek(): Candidate | undefined {
    if (this.pos < this.buf.length) return this.buf[this.pos];
    if (this.exhausted) return undefined;
    this.buf = this.fetch(this.after, this.chunk);
    this.pos = 0;
    if (this.buf.length < this.chunk) this.exhausted = true;
    if (this.buf.length > 0) this.after = this.buf[this.buf.length - 1]!.seq;
    this.chunk = Math.min(this.chunk * 2, this.maxChunk);
    return this.buf[0];
  }

  shift(): void {
    this.pos++;
  }
}

/** A binary min-heap of cursors by the seq of their next row. */
class CursorHeap {
  private readonly items: Array<{ seq: number; cursor: Cursor }> = [];

  push(cursor: Cursor): void {
    const head = cursor.peek();
    if (!head) return;
    const a = this.items;
    a.push({ seq: head.seq, cursor });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.seq <= a[i]!.seq) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  /** The seq of the smallest next row, or undefined when every cursor is spent. */
  topSeq(): number | undefined {
    return this.items[0]?.seq;
  }

  pop(): Cursor | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!.cursor;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.seq < a[m]!.seq) m = l;
        if (r < a.length && a[r]!.seq < a[m]!.seq) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

export class SqliteSync implements SyncStore {
  constructor(private readonly ctx: SqliteContext) {}

  headSeq(): Promise<number> {
    return this.ctx.read(() => this.ctx.durableSeq());
  }

  /**
   * Replay: the user's inbox rows (and buffered write-behind rows) merged in seq order with the shared
   * events of every audience the user is or was in, up to the durable horizon.
   *
   * Visibility of shared events: an audience (group, channel, every user) shows the events of messages
   * with from < message seq <= to for each interval of the user: a current membership is
   * (joined_seq, ∞), the broadcast timeline (created_seq, ∞), a past membership
   * (joined_seq, left_seq] from audience_history. Changes (recall, update, delete) of those messages
   * are shown whenever they happen, also after the user left — as the per-user rows of a small group
   * keep them. A later member sees nothing of earlier messages, not even their changes.
   *
   * Cost of one page of `limit` rows for a user in G shared audiences (current and past memberships,
   * plus the broadcast timeline), N events in the database:
   * - the memberships: G rows through the users' membership indexes;
   * - one index seek per audience to open its range: G·log N;
   * - rows read in seq order: each audience's first chunk is c = max(MIN_CHUNK, limit / G) rows, and a
   *   further chunk (twice the previous, at most `limit`) is read only once the merge consumed the
   *   previous one, so at most G·c + 2·limit ≤ 3·limit + MIN_CHUNK·G rows, merged with a heap;
   * - O(log N) per examined row for the message, its per-user state and, for a change event of a
   *   shared message, the message's seq.
   * Total O(G·log N + limit·log N); never a scan of other audiences' events or a sort of all events.
   *
   * Pages "examine" at most `limit` distinct seqs: rows filtered out by visibility count too, so a
   * page may hold fewer events than it examined, and `next` still advances past them. Rows beyond the
   * durable horizon are not read: the page ends there with done = true (their events reach a live
   * subscriber through the bus once durable, or the next replay).
   */
  replay(userId: string, after: number, limit: number, now: number): Promise<ReplayPage> {
    return this.ctx.read(() => {
      const c = this.ctx;
      const horizon = c.durableSeq();
      // A limit below 1 (or not a number) still examines one row, so a caller always progresses.
      const n = limit >= 1 ? Math.min(Math.floor(limit), Number.MAX_SAFE_INTEGER) : 1;
      if (!(after < horizon)) return { events: [], next: after, done: true };

      const heap = new CursorHeap();
      const inbox = c.stmt(REPLAY_SQL.inbox);
      heap.push(
        new Cursor(
          (a, k) => (inbox.all(userId, a, horizon, k) as Array<Omit<Candidate, 'gate'>>).map((r) => ({ ...r, gate: null })),
          after,
          n,
          n,
        ),
      );
      const pending = c.wb.pendingInbox(userId, after).filter((r) => r.seq <= horizon);
      if (pending.length > 0) {
        heap.push(new Cursor((a, k) => pending.filter((r) => r.seq > a).slice(0, k).map((r) => ({ ...r, gate: null })), after, n, n));
      }
      const audiences = this.sharedAudiences(userId);
      const shared = c.stmt(REPLAY_SQL.shared);
      const firstChunk = Math.min(n, Math.max(MIN_CHUNK, Math.ceil(n / Math.max(1, audiences.length))));
      for (const au of audiences) {
        // Nothing before the earliest interval can be visible: its messages and their later changes
        // all concern messages with seq <= from.
        const start = Math.max(after, au.intervals.reduce((m, i) => Math.min(m, i.from), Infinity));
        if (start >= horizon) continue;
        heap.push(
          new Cursor(
            (a, k) =>
              (shared.all(au.type, au.id, a, horizon, k) as Array<{ seq: number; type: number; uid: number }>).map((r) => ({
                ...r,
                data: null,
                gate: au.intervals,
              })),
            start,
            firstChunk,
            n,
          ),
        );
      }

      // The first n distinct seqs of the merge. A seq can come from two sources (a per-user row and a
      // shared row of the same event): both are merged into one candidate, so the loop also takes the
      // rows equal to the last seq once the page is full.
      const examined: Candidate[] = [];
      for (;;) {
        const top = heap.topSeq();
        if (top === undefined) break;
        const last = examined[examined.length - 1];
        if (examined.length >= n && top !== last?.seq) break;
        const cursor = heap.pop()!;
        const r = cursor.peek()!;
        cursor.shift();
        heap.push(cursor);
        if (last && last.seq === r.seq) {
          last.gate = last.gate === null || r.gate === null ? null : [...last.gate, ...r.gate];
          last.data ??= r.data;
        } else {
          examined.push({ ...r });
        }
      }
      const done = examined.length < n;
      const next = examined.length > 0 ? examined[examined.length - 1]!.seq : after;
      const page = examined.filter((r) => this.visible(r));
      if (page.length === 0) return { events: [], next, done };

      const hides = c
        .stmt('SELECT conv_type, conv_target, conv_line, start_ts, end_ts FROM user_hides WHERE user_id = ?')
        .all(userId) as Hide[];
      const messages = new Map<number, StoredMessage | null>();
      const view = (uid: number): StoredMessage | null => {
        if (messages.has(uid)) return messages.get(uid)!;
        const m = this.userView(userId, uid, now, hides);
        messages.set(uid, m);
        return m;
      };

      const events: SyncEvent[] = [];
      for (const r of page) {
        const type = TYPE_NAMES[r.type];
        if (!type) continue;
        if (r.data !== null) {
          const d = JSON.parse(r.data) as { conv: Conversation; start: number; end: number; reader?: string };
          events.push({ seq: r.seq, type, uid: r.uid, conv: d.conv, start: d.start, end: d.end, ...(d.reader ? { reader: d.reader } : {}) });
          continue;
        }
        if (type === 'delete') {
          events.push({ seq: r.seq, type, uid: r.uid });
          continue;
        }
        const m = view(r.uid);
        if (!m) {
          // Deleted, hidden or expired since: a message event is dropped, a change event stays bare.
          if (type !== 'message') events.push({ seq: r.seq, type, uid: r.uid });
          continue;
        }
        events.push({ seq: r.seq, type, uid: r.uid, message: m });
      }
      return { events, next, done };
    });
  }

  /** The shared audiences of a user with its intervals in each (current and past memberships). */
  private sharedAudiences(userId: string): Array<{ type: number; id: string; intervals: Interval[] }> {
    const c = this.ctx;
    const byKey = new Map<string, { type: number; id: string; intervals: Interval[] }>();
    const add = (type: number, id: string, from: number, to: number): void => {
      const key = `${type}\u0000${id}`;
      let au = byKey.get(key);
      if (!au) byKey.set(key, (au = { type, id, intervals: [] }));
      au.intervals.push({ from, to });
    };
    for (const g of c.stmt(REPLAY_SQL.groups).all(userId) as Array<{ id: string; since: number }>) add(AudienceType.group, g.id, g.since, Infinity);
    for (const s of c.stmt(REPLAY_SQL.channels).all(userId) as Array<{ id: string; since: number }>) add(AudienceType.channel, s.id, s.since, Infinity);
    const u = c.stmt(REPLAY_SQL.user).get(userId) as { created_seq: number } | undefined;
    if (u) add(AudienceType.all, '', u.created_seq, Infinity);
    for (const h of c.stmt(REPLAY_SQL.history).all(userId) as Array<{ audience_type: number; audience_id: string; joined_seq: number; left_seq: number }>) {
      add(h.audience_type, h.audience_id, h.joined_seq, h.left_seq);
    }
    return [...byKey.values()];
  }

  /** Whether the user may see a candidate: per-user rows always; shared rows by the message's seq. */
  private visible(r: Candidate): boolean {
    if (r.gate === null) return true;
    const msgSeq =
      r.type === EventType.message
        ? r.seq
        : (this.ctx.stmt(REPLAY_SQL.messageSeq).get(r.uid) as { seq: number } | undefined)?.seq;
    if (msgSeq === undefined) return false;
    return r.gate.some((i) => i.from < msgSeq && msgSeq <= i.to);
  }

  /** The message as `userId` sees it now, or null when deleted, hidden for the user, or expired. */
  private userView(userId: string, uid: number, now: number, hides: Hide[]): StoredMessage | null {
    const row = messageRow(this.ctx, uid);
    if (!row || row.status === MessageStatus.deleted) return null;
    if (row.expire_at > 0 && row.expire_at <= now) return null;
    const msg = toMessage(row);
    const conv = perspective(msg, userId);
    // The same hiding as the unread rule's (clause 5).
    const ranges = hides
      .filter((h) => h.conv_type === conv.type && h.conv_target === conv.target && h.conv_line === conv.line)
      .map((h) => ({ start: h.start_ts, end: h.end_ts }));
    if (ranges.length > 0 && hiddenBy(msg.timestamp, ranges)) return null;
    const state = this.ctx.stmt('SELECT state, payload FROM user_message_state WHERE user_id = ? AND uid = ?').get(userId, uid) as
      | { state: number; payload: string | null }
      | undefined;
    if (state?.state === ReceiverState.deleted) return null;
    if (state?.state === ReceiverState.recalled && state.payload) {
      return { ...msg, payload: JSON.parse(state.payload) as Payload, status: MessageStatus.recalled };
    }
    return msg;
  }
}
