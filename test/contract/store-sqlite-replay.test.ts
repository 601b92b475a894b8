/**
 * SQLite-specific checks of the store's query plans and bookkeeping: replay reads bounded index
 * ranges (never every event of an audience type, never a temp B-tree over events), the send, get,
 * recall and delete paths use indexes, replay stops at the durable horizon instead of spinning,
 * pages stay exact for a user in more groups than a page holds, and the maintained user count
 * survives an upgrade from schema 3.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ConvType, MessageKind, PersistFlag, type Conversation, type Payload } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import type { MessageDraft, ReplayPage } from '../../src/core/ports/store.js';
import { migrate } from '../../src/store/sqlite/migrations.js';
import { SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite/sqlite-store.js';
import { MEMBERSHIP_SQL } from '../../src/store/sqlite/groups.js';
import { REPLAY_SQL } from '../../src/store/sqlite/sync.js';
import { replayedSeqs } from '../helpers/replay-pages.js';

const dirs: string[] = [];
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempFile(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-plans-'));
  dirs.push(d);
  return path.join(d, 'switchboard.db');
}

function open(file: string, over: Partial<SqliteStoreOptions> = {}): SqliteStore {
  const s = new SqliteStore({ file, synchronous: 'NORMAL', nodeId: 1, commitMaxBatch: 512, commitMaxDelayMs: 0, inlineFanoutMax: 3, ...over });
  stores.push(s);
  return s;
}

async function closeStore(s: SqliteStore): Promise<void> {
  stores.splice(stores.indexOf(s), 1);
  await s.close();
}

const payload = (over: Partial<Payload> = {}): Payload => ({ ...normalizePayload({ type: 1, content: 'x', persistFlag: PersistFlag.count }), ...over });
const single = (target: string): Conversation => ({ type: ConvType.single, target, line: 0 });
const group = (target: string): Conversation => ({ type: ConvType.group, target, line: 0 });
const channel = (target: string): Conversation => ({ type: ConvType.channel, target, line: 0 });
const draft = (sender: string, conv: Conversation, over: Partial<MessageDraft> = {}): MessageDraft => ({
  sender,
  conv,
  payload: payload(),
  kind: MessageKind.conversation,
  toUsers: [],
  ...over,
});

/**
 * EXPLAIN QUERY PLAN details of a statement with the given parameters, or a dummy value for each.
 * (SQLite's STAT4 statistics can make a plan depend on the values bound, hence real ones where known.)
 */
function plan(db: Database.Database, sql: string, params?: Array<string | number>): string[] {
  const named = [...new Set(sql.match(/@[A-Za-z_]\w*/g) ?? [])];
  const positional = (sql.match(/\?/g) ?? []).length;
  const stmt = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
  const rows = (
    params
      ? stmt.all(...params)
      : named.length > 0
        ? stmt.all(Object.fromEntries(named.map((n) => [n.slice(1), 0])))
        : stmt.all(...new Array<number>(positional).fill(0))
  ) as Array<{ detail: string }>;
  return rows.map((r) => r.detail);
}

/** A plan step that reads a whole table or index, or sorts rows in a temporary B-tree. */
const unbounded = (detail: string): boolean => /^SCAN\b/.test(detail) || /TEMP B-TREE/.test(detail);

/** A store with several large groups, a channel and one-to-one traffic: thousands of events. */
async function populated(file: string): Promise<void> {
  const s = open(file);
  const users = Array.from({ length: 20 }, (_, i) => `u${i}`);
  for (const u of users) await s.users.upsertUser(u, { name: u });
  for (let g = 0; g < 6; g++) {
    await s.groups.createGroup(`g${g}`, { owner: 'u0', name: `g${g}` }, users.slice(1, 8 + g).map((memberId) => ({ memberId })), 100);
  }
  await s.channels.upsertChannel('ch', { name: 'ch', owner: 'u0' });
  for (const u of users.slice(1, 10)) await s.channels.subscribe('ch', u, true);
  for (let round = 0; round < 10; round++) {
    const batch: Array<Promise<unknown>> = [];
    for (let i = 0; i < 400; i++) {
      const k = i % 10;
      if (k < 6) batch.push(s.messages.appendMessage(draft(`u${1 + (i % 5)}`, group(`g${k}`))));
      else if (k === 6) batch.push(s.messages.appendMessage(draft('u0', channel('ch'))));
      else batch.push(s.messages.appendMessage(draft(`u${i % 20}`, single(`u${(i + 3) % 20}`))));
    }
    await Promise.all(batch);
  }
  await s.groups.removeMembers('g2', ['u3']);
  await closeStore(s);
}

describe('SQLite store query plans', () => {
  it('replay reads one bounded index range per source, with no scan and no temp B-tree, on a populated and analysed database', async () => {
    const file = tempFile();
    await populated(file);
    // Reopen: PRAGMA optimize at open has statistics to work with.
    const s = open(file);
    const ro = new Database(file, { readonly: true });
    try {
      expect((ro.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n).toBeGreaterThan(2000);
      for (const [name, sql] of Object.entries(REPLAY_SQL)) {
        const steps = plan(ro, sql);
        expect(steps.filter(unbounded), `${name}: ${steps.join(' | ')}`).toEqual([]);
      }
      // Live fan-out's membership intervals (current and past) are index ranges too.
      for (const [name, sql] of Object.entries(MEMBERSHIP_SQL)) {
        const steps = plan(ro, sql);
        expect(steps.filter(unbounded), `${name}: ${steps.join(' | ')}`).toEqual([]);
      }
      expect((ro.prepare(`SELECT COUNT(*) AS n FROM sqlite_stat1 WHERE tbl = 'events'`).get() as { n: number }).n, 'PRAGMA optimize analysed events').toBeGreaterThan(0);
      const head = await s.sync.headSeq();
      // From the start, from near the head, for a busy and for an unknown audience.
      for (const [after, id] of [
        [0, 'g0'],
        [head - 20, 'g0'],
        [0, 'nobody'],
      ] as const) {
        expect(plan(ro, REPLAY_SQL.shared, [1, id, after, head, 100])).toEqual([
          'SEARCH events USING COVERING INDEX events_audience (audience_type=? AND audience_id=? AND seq>? AND seq<?)',
        ]);
        expect(plan(ro, REPLAY_SQL.inbox, ['u3', after, head, 100])).toEqual(['SEARCH inbox USING PRIMARY KEY (user_id=? AND seq>? AND seq<?)']);
      }
      // The replay itself works on that database and prepared only those statements for its event reads.
      const page = await s.sync.replay('u3', 0, 100, Date.now());
      expect(page.events.length).toBe(100);
      expect(page.done).toBe(false);
      for (const sql of s.preparedSql()) {
        const steps = plan(ro, sql);
        expect(steps.filter(unbounded), `${sql}: ${steps.join(' | ')}`).toEqual([]);
      }
    } finally {
      ro.close();
    }
  });

  it('the send, get, recall, update and delete paths use indexes for every statement', async () => {
    const file = tempFile();
    await populated(file);
    const s = open(file);
    const ro = new Database(file, { readonly: true });
    try {
      const now = Date.now();
      // Sends of every kind, with the checks they run (sender status, membership, mute, existence).
      const one = await s.messages.appendMessage(draft('u1', single('u2'), { clientMsgId: 'c-1' }));
      await s.messages.appendMessage(draft('u1', single('u2'), { clientMsgId: 'c-1' })); // a resend
      const small = await s.groups.createGroup('small', { owner: 'u1', name: 's' }, [{ memberId: 'u2' }], 100);
      const inSmall = await s.messages.appendMessage(draft('u2', group(small.groupId)));
      const big = await s.messages.appendMessage(draft('u2', group('g0')));
      await s.messages.appendMessage(draft('u2', group('g0'), { toUsers: ['u3'] }));
      const ch = await s.messages.appendMessage(draft('u0', channel('ch')));
      await s.messages.appendMessage(draft('u5', channel('ch')));
      const multi = await s.messages.appendMessage({ ...draft('u1', single('u1')), kind: MessageKind.multicast, toUsers: ['u2', 'u3', 'u4'] });
      const bc = await s.messages.appendMessage({ ...draft('u0', single('u0')), kind: MessageKind.broadcast });
      await s.messages.appendMessage(draft('u1', single('u2'), { payload: payload({ persistFlag: PersistFlag.transparent }) }));
      // Reads and changes by uid.
      for (const r of [one, inSmall, big, ch, multi, bc]) expect(await s.messages.getMessage(r.message.uid, now)).not.toBeNull();
      await s.messages.recallMessage(one.message.uid, 'u1', {});
      await s.messages.recallMessage(big.message.uid, 'u2', {});
      await s.messages.recallMessage(multi.message.uid, 'u1', { kind: MessageKind.multicast, receivers: ['u2'] });
      await s.messages.deleteMessage(multi.message.uid, { kind: MessageKind.multicast, receivers: ['u3'] });
      await s.messages.updateMessage(inSmall.message.uid, payload({ content: 'edited' }), true, now);
      await s.messages.updateMessage(ch.message.uid, payload({ content: 'edited' }), true, now);
      await s.messages.deleteMessage(inSmall.message.uid, {});
      await s.messages.recallMessage(bc.message.uid, 'u0', { kind: MessageKind.broadcast });
      await s.messages.deleteMessage(bc.message.uid, { kind: MessageKind.broadcast });
      await s.messages.unreadTotal('u2', ConvType.single);
      // Per-user conversation state.
      await s.conversations.markRead('u4', single('u1'), 1); // before the last message: recounts unread
      await s.conversations.markRead('u2', single('u1'), now);
      await s.conversations.markRead('u2', group(small.groupId), now);
      await s.conversations.markDelivered('u2', now);
      await s.conversations.clearUserMessages('u3', group('g0'), 0, now);
      await s.conversations.deleteConversation('u3', single('u1'), now);
      await s.conversations.listConversations('u2');
      // Membership changes (they record history) and replay.
      await s.groups.removeMembers('g0', ['u4']);
      await s.channels.subscribe('ch', 'u4', false);
      for (const u of ['u2', 'u4']) await s.sync.replay(u, 0, 50, now);

      const prepared = s.preparedSql();
      // The statements of the hot path are among those checked.
      for (const part of ['INSERT INTO messages', 'FROM group_members WHERE group_id = ? AND user_id = ?', 'SELECT status FROM users WHERE id = ?', 'FROM messages WHERE uid = ?', 'FROM messages WHERE sender = ? AND client_msg_id = ?', "FROM meta WHERE key = 'user_count'", 'SELECT COUNT(*) AS n FROM inbox i JOIN messages m']) {
        expect(prepared.some((sql) => sql.includes(part)), part).toBe(true);
      }
      // What the broadcast count used to run, for contrast: it reads every user.
      expect(plan(ro, 'SELECT COUNT(*) AS n FROM users WHERE id <> ?').some(unbounded)).toBe(true);
      // The one sort allowed: a user's own conversation list, ordered by last message (it reads only
      // that user's rows through the primary key; an index by time would cost a write per message).
      const userList = (sql: string, steps: string[]): boolean =>
        sql.includes('FROM conversations') && sql.includes('ORDER BY last_ts DESC') && steps[0] === 'SEARCH conversations USING PRIMARY KEY (user_id=?)';
      const bad: string[] = [];
      for (const sql of prepared) {
        const steps = plan(ro, sql);
        if (steps.some(unbounded) && !userList(sql, steps)) bad.push(`${sql.replace(/\s+/g, ' ')}\n    ${steps.join('\n    ')}`);
      }
      expect(bad, bad.join('\n')).toEqual([]);
    } finally {
      ro.close();
    }
  });
});

describe('SQLite replay and the durable horizon', () => {
  for (const mode of ['NORMAL', 'FULL'] as const) {
    it(`a replay between a commit and its durability ends at the durable horizon, done, instead of asking to read on (${mode})`, async () => {
      // onCommit runs right after COMMIT, before the commit is marked durable (after its fsync with
      // FULL): a replay there sees a committed event that it must not show yet.
      let store: SqliteStore | undefined;
      let armed = false;
      const inWindow: Array<{ head: Promise<number>; page: Promise<ReplayPage> }> = [];
      let after = 0;
      const s = open(tempFile(), {
        synchronous: mode,
        onCommit: () => {
          if (!armed || !store) return;
          armed = false;
          inWindow.push({ head: store.sync.headSeq(), page: store.sync.replay('b', after, 10, Date.now()) });
        },
      });
      store = s;
      await s.users.upsertUser('a', { name: 'a' });
      await s.users.upsertUser('b', { name: 'b' });
      // A group larger than inlineFanoutMax (3): its messages are shared events.
      for (const u of ['c', 'd', 'e']) await s.users.upsertUser(u, { name: u });
      await s.groups.createGroup('g', { owner: 'a', name: 'g' }, ['b', 'c', 'd', 'e'].map((memberId) => ({ memberId })), 100);
      const m1 = await s.messages.appendMessage(draft('a', single('b')));
      after = m1.seq;
      armed = true;
      const [m2, m3] = await Promise.all([s.messages.appendMessage(draft('a', single('b'))), s.messages.appendMessage(draft('a', group('g')))]);
      expect(inWindow).toHaveLength(1);
      expect(await inWindow[0]!.head).toBe(m1.seq);
      // Before the fix the page was { events: [], next: after, done: false }: a caller reading until
      // done spun on it (in-thread, on microtasks that starve the fsync callback it waits for).
      expect(await inWindow[0]!.page).toEqual({ events: [], next: m1.seq, done: true });
      const later = await s.sync.replay('b', after, 10, Date.now());
      expect(later.events.map((e) => e.seq)).toEqual([m2.seq, m3.seq]);
      expect(later.done).toBe(true);
    });
  }
});

describe('SQLite user count', () => {
  it('an upgrade from schema 3 initialises the maintained user count from the users table', async () => {
    const file = tempFile();
    const db = new Database(file);
    migrate(db, 3);
    expect(db.pragma('user_version', { simple: true })).toBe(3);
    const ins = db.prepare('INSERT INTO users(id, name, created_seq, updated_at) VALUES (?, ?, 0, 0)');
    for (let i = 0; i < 7; i++) ins.run(`u${i}`, `n${i}`);
    db.close();

    const s = open(file);
    expect(await s.users.countUsers()).toBe(7);
    expect((await s.messages.appendMessage({ ...draft('u0', single('u0')), kind: MessageKind.broadcast })).count).toBe(6);
    await s.users.destroyUser('u1');
    await s.users.upsertUser('u9', { name: 'n9' });
    await s.users.upsertUser('u9', { name: 'n9', displayName: 'again' });
    await s.users.upsertUser('u8', { name: 'n8' });
    const reader = new Database(file, { readonly: true });
    try {
      const count = (reader.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
      expect(count).toBe(8);
      expect(reader.prepare(`SELECT value FROM meta WHERE key = 'user_count'`).get()).toEqual({ value: count });
    } finally {
      reader.close();
    }
    expect((await s.messages.appendMessage({ ...draft('u9', single('u9')), kind: MessageKind.broadcast })).count).toBe(7);
  });
});

describe('SQLite replay for a user in many groups', () => {
  it('pages stay exact when the user is in more groups than a page holds (chunked reads per group)', async () => {
    const s = open(':memory:', { inlineFanoutMax: 2 });
    for (const u of ['o', 'a', 'u']) await s.users.upsertUser(u, { name: u });
    const groups = Array.from({ length: 40 }, (_, i) => `g${i}`);
    for (const g of groups) await s.groups.createGroup(g, { owner: 'o', name: g }, [{ memberId: 'a' }, { memberId: 'u' }], 100);
    const expected: number[] = [];
    // Uneven traffic: a few busy groups, most with one or two messages.
    for (let i = 0; i < 300; i++) {
      const g = i % 3 === 0 ? groups[i % 40]! : groups[i % 4]!;
      const r = await s.messages.appendMessage(draft(i % 2 ? 'o' : 'a', group(g)));
      expected.push(r.seq);
    }
    await s.groups.removeMembers('g1', ['u']); // g1 continues as a past membership
    for (let i = 0; i < 20; i++) await s.messages.appendMessage(draft('o', group('g1')));
    for (const limit of [1, 10, 33, 1000]) expect(await replayedSeqs(s, 'u', limit), `limit ${limit}`).toEqual(expected);
  });
});
