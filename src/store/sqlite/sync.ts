import type { Conversation, Payload, StoredMessage } from '../../core/model.js';
import { MessageStatus } from '../../core/model.js';
import type { ReplayPage, SyncEvent, SyncEventType, SyncStore } from '../../core/ports/store.js';
import type { SqliteContext } from './context.js';
import { EventType, messageRow, perspective, toMessage } from './message-rows.js';

interface Candidate {
  seq: number;
  type: number;
  uid: number;
  data: string | null;
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

export class SqliteSync implements SyncStore {
  constructor(private readonly ctx: SqliteContext) {}

  headSeq(): Promise<number> {
    return this.ctx.read(() => this.ctx.durableSeq());
  }

  replay(userId: string, after: number, limit: number, now: number): Promise<ReplayPage> {
    return this.ctx.read(() => {
      const c = this.ctx;
      // Each source yields at most `limit` rows in seq order; the first `limit` of their merge are exact.
      const rows = [
        ...(c.stmt('SELECT seq, type, uid, data FROM inbox WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?').all(userId, after, limit) as Candidate[]),
        ...c.wb.pendingInbox(userId, after).slice(0, limit),
        // Shared audiences: only events about messages sent after the user joined (msg.seq), so a
        // later member never learns of earlier messages, not even through their recall or update.
        ...(c
          .stmt(
            `SELECT e.seq, e.type, e.uid, NULL AS data FROM group_members m
             JOIN events e ON e.audience_type = 1 AND e.audience_id = m.group_id AND e.seq > ?
             JOIN messages msg ON msg.uid = e.uid AND msg.seq > m.joined_seq
             WHERE m.user_id = ? ORDER BY e.seq LIMIT ?`,
          )
          .all(after, userId, limit) as Candidate[]),
        ...(c
          .stmt(
            `SELECT e.seq, e.type, e.uid, NULL AS data FROM channel_subscribers s
             JOIN events e ON e.audience_type = 2 AND e.audience_id = s.channel_id AND e.seq > ?
             JOIN messages msg ON msg.uid = e.uid AND msg.seq > s.subscribed_seq
             WHERE s.user_id = ? ORDER BY e.seq LIMIT ?`,
          )
          .all(after, userId, limit) as Candidate[]),
        ...(c
          .stmt(
            `SELECT e.seq, e.type, e.uid, NULL AS data FROM users u
             JOIN events e ON e.audience_type = 3 AND e.audience_id = '' AND e.seq > ?
             JOIN messages msg ON msg.uid = e.uid AND msg.seq > u.created_seq
             WHERE u.id = ? ORDER BY e.seq LIMIT ?`,
          )
          .all(after, userId, limit) as Candidate[]),
      ];
      rows.sort((a, b) => a.seq - b.seq);
      const horizon = c.durableSeq();
      const page: Candidate[] = [];
      for (const r of rows) {
        if (r.seq > horizon) break; // committed but not yet durable: the next page will have it
        if (page.length > 0 && page[page.length - 1]!.seq === r.seq) continue; // sender row + shared row
        if (page.length === limit) break;
        page.push(r);
      }
      const done = page.length < limit && !rows.some((r) => r.seq > horizon);
      const next = page.length > 0 ? page[page.length - 1]!.seq : after;
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

  /** The message as `userId` sees it now, or null when deleted, hidden for the user, or expired. */
  private userView(userId: string, uid: number, now: number, hides: Hide[]): StoredMessage | null {
    const row = messageRow(this.ctx, uid);
    if (!row || row.status === MessageStatus.deleted) return null;
    if (row.expire_at > 0 && row.expire_at <= now) return null;
    const msg = toMessage(row);
    const conv = perspective(msg, userId);
    for (const h of hides) {
      if (
        h.conv_type === conv.type &&
        h.conv_target === conv.target &&
        h.conv_line === conv.line &&
        msg.timestamp >= h.start_ts &&
        msg.timestamp <= h.end_ts
      ) {
        return null;
      }
    }
    const state = this.ctx.stmt('SELECT state, payload FROM user_message_state WHERE user_id = ? AND uid = ?').get(userId, uid) as
      | { state: number; payload: string | null }
      | undefined;
    if (state?.state === 2) return null;
    if (state?.state === 1 && state.payload) {
      return { ...msg, payload: JSON.parse(state.payload) as Payload, status: MessageStatus.recalled };
    }
    return msg;
  }
}
