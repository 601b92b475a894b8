import { perspective } from '../../core/message-plan.js';
import type { Conversation, Payload, StoredMessage } from '../../core/model.js';
import { MessageStatus, ReceiverState } from '../../core/model.js';
import type { ReplayPage, SyncEvent, SyncEventType, SyncStore } from '../../core/ports/store.js';
import { hiddenBy } from '../../core/unread.js';
import { AudienceType } from '../rows/messages.js';
import type { PgContext } from './context.js';
import { EventType, MESSAGE_COLS, type MessageRow, toMessage } from './message-rows.js';
import type { Queryable } from './pool.js';

/** A range of a shared audience's timeline a user may see: messages with from < message seq <= to (to null: no end). */
interface Interval {
  from: number;
  to: number | null;
}

interface Candidate {
  seq: number;
  type: number;
  uid: number;
  data: string | null;
  /** Shared-audience rows: the user's intervals in that audience (null: a per-user row, always visible). */
  gate: Interval[] | null;
  /** The seq of the message a shared row is about (null when the message is gone). */
  msgSeq: number | null;
}

interface Hide {
  conv_type: number;
  conv_target: string;
  conv_line: number;
  start_ts: number;
  end_ts: number;
}

/** Smallest first chunk read from one shared audience. */
const MIN_CHUNK = 4;

const TYPE_NAMES: Record<number, SyncEventType> = {
  [EventType.message]: 'message',
  [EventType.recall]: 'recall',
  [EventType.update]: 'update',
  [EventType.delete]: 'delete',
  [EventType.clear]: 'clear',
  [EventType.conv_delete]: 'conv_delete',
  [EventType.read]: 'read',
};

/** The cluster's committed cursor (the writer's counter row, as this snapshot sees it). */
const HEAD_SQL = `SELECT value FROM meta WHERE key = 'seq'`;

/**
 * Replay on PostgreSQL, with the semantics of SQLite's (src/store/sqlite/sync.ts: per-user rows merged
 * in seq order with the shared events of every audience the user is or was in, each shown by the
 * user's membership intervals; changes of a visible message shown whenever they happen).
 *
 * Horizon: every write batch of the cluster locks and advances `meta.seq` in the transaction that
 * writes its rows, so in one snapshot every row with seq <= meta.seq is visible and no row above it is
 * committed yet (PgWriter). A page reads meta.seq and its rows in one REPEATABLE READ snapshot and
 * never looks past it: a later commit cannot insert below what a page returned.
 *
 * Cost of a page of `limit` for a user in G shared audiences: one statement for the memberships, one
 * for the first `limit` per-user rows, one (rarely more) for the shared rows (see `candidates`), one for the
 * messages with their per-user states and one for the hides, plus the snapshot's BEGIN, horizon and
 * COMMIT. No scan.
 */
export class PgSync implements SyncStore {
  constructor(private readonly ctx: PgContext) {}

  headSeq(): Promise<number> {
    return this.ctx.read(async (q) => (await q.row<{ value: number }>(HEAD_SQL))?.value ?? 0);
  }

  replay(userId: string, after: number, limit: number, now: number): Promise<ReplayPage> {
    // A limit below 1 (or not a number) still examines one row, so a caller always progresses.
    const n = limit >= 1 ? Math.min(Math.floor(limit), 100_000) : 1;
    return this.ctx.snapshot(async (q) => {
      const horizon = (await q.row<{ value: number }>(HEAD_SQL))?.value ?? 0;
      if (!(after < horizon)) return { events: [], next: after, done: true };
      const candidates = await this.candidates(q, userId, after, horizon, n);
      // The first n distinct seqs. A seq appears at most once per source (inbox and events both key
      // on it), so a per-user row and a shared row of the same event merge into one candidate.
      const examined: Candidate[] = [];
      for (const r of candidates) {
        const last = examined[examined.length - 1];
        if (last && last.seq === r.seq) {
          last.gate = last.gate === null || r.gate === null ? null : [...last.gate, ...r.gate];
          last.data ??= r.data;
          last.msgSeq ??= r.msgSeq;
          continue;
        }
        if (examined.length >= n) break;
        examined.push({ ...r });
      }
      const done = examined.length < n;
      const next = examined.length > 0 ? examined[examined.length - 1]!.seq : after;
      const page = examined.filter((r) => visible(r));
      if (page.length === 0) return { events: [], next, done };
      const views = await this.userViews(q, userId, page, now);
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
        const m = views.get(r.uid) ?? null;
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

  /**
   * The user's per-user rows and the rows of its shared audiences with seq in (after, horizon] that
   * can be among the first n distinct seqs, in seq order (rows of one seq adjacent, the per-user row
   * first).
   *
   * Shared rows are read in chunks, as SQLite's replay does: each audience's first chunk holds
   * c = max(MIN_CHUNK, n / G) rows (one LATERAL index range per audience, all in one statement); an
   * audience whose chunk was full and ends below the n-th distinct seq of what was read so far is read
   * on, from where it stopped, with a chunk twice as large (at most n). Rows read: at most
   * G·c + 2·n ≤ 3·n + MIN_CHUNK·G; statements: usually one.
   */
  private async candidates(q: Queryable, userId: string, after: number, horizon: number, n: number): Promise<Candidate[]> {
    const audiences = await this.sharedAudiences(q, userId);
    const inbox = await q.rows<{ seq: number; type: number; uid: number; data: string | null }>(
      'SELECT seq, type, uid, data FROM inbox WHERE user_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4',
      [userId, after, horizon, n],
    );
    const out: Candidate[] = inbox.map((r) => ({ ...r, gate: null, msgSeq: null }));
    // Nothing before an audience's earliest interval can be visible: its range starts there.
    const first = Math.min(n, Math.max(MIN_CHUNK, Math.ceil(n / Math.max(1, audiences.length))));
    let open = audiences
      .map((a) => ({ ...a, start: Math.max(after, a.intervals.reduce((m, i) => Math.min(m, i.from), Infinity)), chunk: first }))
      .filter((a) => a.start < horizon);
    while (open.length > 0) {
      const shared = await q.rows<{ seq: number; type: number; uid: number; a: number; msg_seq: number | null }>(
        `SELECT e.seq, e.type, e.uid, x.o AS a, CASE WHEN e.type = ${EventType.message} THEN e.seq ELSE m.seq END AS msg_seq
           FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS x(t, id, start, k, o)
           CROSS JOIN LATERAL (
             SELECT seq, type, uid FROM events
              WHERE audience_type = x.t AND audience_id = x.id AND seq > x.start AND seq <= $5
              ORDER BY seq LIMIT x.k) AS e
           LEFT JOIN messages m ON e.type <> ${EventType.message} AND m.uid = e.uid`,
        [open.map((a) => a.type), open.map((a) => a.id), open.map((a) => a.start), open.map((a) => a.chunk), horizon],
      );
      const read = open.map(() => ({ rows: 0, last: 0 }));
      for (const r of shared) {
        out.push({ seq: r.seq, type: r.type, uid: r.uid, data: null, gate: open[r.a - 1]!.intervals, msgSeq: r.msg_seq });
        const got = read[r.a - 1]!;
        got.rows++;
        got.last = Math.max(got.last, r.seq);
      }
      out.sort((x, y) => x.seq - y.seq || (x.gate === null ? -1 : 1));
      const cut = nthDistinctSeq(out, n);
      open = open
        .map((a, i) => ({ ...a, start: read[i]!.last, chunk: Math.min(n, a.chunk * 2), full: read[i]!.rows >= a.chunk }))
        .filter((a) => a.full && a.start < cut)
        .map(({ full: _full, ...a }) => a);
    }
    return out;
  }

  /** The shared audiences of a user with its intervals in each (current and past memberships, the broadcast timeline). */
  private async sharedAudiences(q: Queryable, userId: string): Promise<Array<{ type: number; id: string; intervals: Interval[] }>> {
    const rows = await q.rows<{ t: number; id: string; since: number; until: number | null }>(
      `SELECT ${AudienceType.group}::bigint AS t, group_id AS id, joined_seq AS since, NULL::bigint AS until FROM group_members WHERE user_id = $1
       UNION ALL SELECT ${AudienceType.channel}, channel_id, subscribed_seq, NULL FROM channel_subscribers WHERE user_id = $1
       UNION ALL SELECT ${AudienceType.all}, '', created_seq, NULL FROM users WHERE id = $1
       UNION ALL SELECT audience_type, audience_id, joined_seq, left_seq FROM audience_history WHERE user_id = $1`,
      [userId],
    );
    const byKey = new Map<string, { type: number; id: string; intervals: Interval[] }>();
    for (const r of rows) {
      const key = `${r.t}\u0000${r.id}`;
      let au = byKey.get(key);
      if (!au) byKey.set(key, (au = { type: r.t, id: r.id, intervals: [] }));
      au.intervals.push({ from: r.since, to: r.until });
    }
    return [...byKey.values()];
  }

  /** The messages of the page as `userId` sees them now (absent: deleted, hidden for the user, or expired). */
  private async userViews(q: Queryable, userId: string, page: Candidate[], now: number): Promise<Map<number, StoredMessage>> {
    const uids = [...new Set(page.filter((r) => r.data === null && r.type !== EventType.delete).map((r) => r.uid))];
    const out = new Map<number, StoredMessage>();
    if (uids.length === 0) return out;
    const rows = await q.rows<MessageRow & { r_state: number | null; r_payload: string | null }>(
      `SELECT ${MESSAGE_COLS.split(', ').map((c) => `m.${c}`).join(', ')}, s.state AS r_state, s.payload AS r_payload
         FROM messages m LEFT JOIN user_message_state s ON s.user_id = $2 AND s.uid = m.uid
        WHERE m.uid = ANY($1::bigint[])`,
      [uids, userId],
    );
    const hides = await q.rows<Hide>('SELECT conv_type, conv_target, conv_line, start_ts, end_ts FROM user_hides WHERE user_id = $1', [userId]);
    for (const row of rows) {
      if (row.status === MessageStatus.deleted) continue;
      if (row.expire_at > 0 && row.expire_at <= now) continue;
      const msg = toMessage(row);
      const conv = perspective(msg, userId);
      // The same hiding as the unread rule's (clause 5).
      const ranges = hides
        .filter((h) => h.conv_type === conv.type && h.conv_target === conv.target && h.conv_line === conv.line)
        .map((h) => ({ start: h.start_ts, end: h.end_ts }));
      if (ranges.length > 0 && hiddenBy(msg.timestamp, ranges)) continue;
      if (row.r_state === ReceiverState.deleted) continue;
      if (row.r_state === ReceiverState.recalled && row.r_payload) {
        out.set(row.uid, { ...msg, payload: JSON.parse(row.r_payload) as Payload, status: MessageStatus.recalled });
        continue;
      }
      out.set(row.uid, msg);
    }
    return out;
  }
}

/** The n-th distinct seq of rows in seq order (Infinity when there are fewer). */
function nthDistinctSeq(rows: Candidate[], n: number): number {
  let distinct = 0;
  let last = -1;
  for (const r of rows) {
    if (r.seq === last) continue;
    last = r.seq;
    if (++distinct === n) return r.seq;
  }
  return Infinity;
}

/** Whether the user may see a candidate: per-user rows always; shared rows by the message's seq. */
function visible(r: Candidate): boolean {
  if (r.gate === null) return true;
  const msgSeq = r.msgSeq;
  if (msgSeq === null) return false;
  return r.gate.some((i) => i.from < msgSeq && (i.to === null || msgSeq <= i.to));
}
