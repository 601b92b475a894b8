/**
 * SQLite-specific checks of the unread counters (src/store/sqlite/unread.ts) beyond the store
 * contract: the recount stays exact when a message with a reserved identity is appended after
 * messages with larger uids (before-send hooks), also across a restart; rows re-derived after an
 * unclean stop follow the rule with the facts as they are now and are never counted twice; the
 * statements of the unread paths use indexes; an upgraded database starts with its mark horizon.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ConvType, MessageKind, PersistFlag, type Conversation, type Payload } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import type { AppendResult, MessageDraft, Store } from '../../src/core/ports/store.js';
import { migrate } from '../../src/store/sqlite/migrations.js';
import { SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite/sqlite-store.js';
import { RECOUNT_SQL } from '../../src/store/sqlite/unread.js';

const dirs: string[] = [];
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempFile(name = 'switchboard.db'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-unread-'));
  dirs.push(d);
  return path.join(d, name);
}

function open(file: string, over: Partial<SqliteStoreOptions> = {}): SqliteStore {
  const s = new SqliteStore({ file, synchronous: 'NORMAL', nodeId: 2, commitMaxBatch: 64, commitMaxDelayMs: 0, inlineFanoutMax: 10, ...over });
  stores.push(s);
  return s;
}

async function closeStore(s: SqliteStore): Promise<void> {
  stores.splice(stores.indexOf(s), 1);
  await s.close();
}

const counted = (over: Partial<Payload> = {}): Payload => ({ ...normalizePayload({ type: 1, content: 'x', persistFlag: PersistFlag.count }), ...over });
const single = (target: string): Conversation => ({ type: ConvType.single, target, line: 0 });
const draft = (sender: string, conv: Conversation, over: Partial<MessageDraft> = {}): MessageDraft => ({
  sender,
  conv,
  payload: counted(),
  kind: MessageKind.conversation,
  toUsers: [],
  ...over,
});

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
async function clockPast(ts: number): Promise<void> {
  while (Date.now() <= ts) await tick();
}

/** The unread of `conv` in the user's list (0 when not listed), checked against the recount. */
async function unread(s: Store, userId: string, conv: Conversation): Promise<number> {
  const entry = (await s.conversations.listConversations(userId)).find(
    (c) => c.conv.type === conv.type && c.conv.target === conv.target && c.conv.line === conv.line,
  );
  const n = entry?.unread ?? 0;
  expect(await s.conversations.recountUnread(userId, conv), `${userId}/${conv.target}: counter vs recount`).toBe(n);
  return n;
}

describe('SQLite unread: reserved identities appended late', () => {
  it('a message reserved before others but appended after them is counted, and so are they, by the recount too', async () => {
    const file = tempFile();
    let s = open(file);
    for (const u of ['a', 'b']) await s.users.upsertUser(u, { name: u });
    const id = await s.messages.reserveUid();
    // Other messages are accepted while the reserved one waits for its before-send hook.
    const others: AppendResult[] = [];
    for (let i = 0; i < 3; i++) others.push(await s.messages.appendMessage(draft('a', single('b'))));
    const late = await s.messages.appendMessage(draft('a', single('b'), { identity: id }));
    expect(late.message.uid).toBe(id.uid);
    for (const o of others) {
      expect(o.message.uid).toBeGreaterThan(late.message.uid);
      expect(o.seq).toBeLessThan(late.seq);
    }
    expect(await unread(s, 'b', single('a'))).toBe(4);
    // A mark before all of them makes the store recount: still all four.
    await s.conversations.markRead('b', single('a'), id.timestamp - 1);
    expect(await unread(s, 'b', single('a'))).toBe(4);
    await closeStore(s);

    // After a restart the recount is still exact.
    s = open(file);
    expect(await unread(s, 'b', single('a'))).toBe(4);

    // A reservation the store no longer remembers (here: made before the restart) is measured from
    // the stored messages when appended.
    await clockPast(Math.max(late.message.timestamp, ...others.map((o) => o.message.timestamp)));
    await closeStore(s);
    s = open(file);
    const id2 = await s.messages.reserveUid();
    await closeStore(s);
    s = open(file);
    const more: AppendResult[] = [];
    for (let i = 0; i < 2; i++) more.push(await s.messages.appendMessage(draft('a', single('b'))));
    const late2 = await s.messages.appendMessage(draft('a', single('b'), { identity: id2 }));
    expect(more.every((m) => m.message.uid > late2.message.uid && m.seq < late2.seq)).toBe(true);
    expect(await unread(s, 'b', single('a'))).toBe(7);
    await s.conversations.markRead('b', single('a'), id2.timestamp - 1);
    expect(await unread(s, 'b', single('a'))).toBe(3);
  });
});

describe('SQLite unread: rows re-derived after an unclean stop', () => {
  it('follow the rule with the facts of now, and rows already written are not counted twice', async () => {
    const file = tempFile();
    // Derived rows stay buffered (no flush) unless a command needs a user's rows written.
    const s = open(file, { flushIntervalMs: 3_600_000, flushMaxRows: 1_000_000_000 });
    for (const u of ['a', 'b', 'c', 'd']) await s.users.upsertUser(u, { name: u });
    const send = async (d: MessageDraft): Promise<AppendResult> => {
      const r = await s.messages.appendMessage(d);
      await clockPast(r.message.timestamp);
      return r;
    };
    const m1 = await send(draft('a', single('b')));
    await send(draft('a', single('b')));
    const m3 = await send(draft('a', single('b')));
    await send(draft('a', single('c')));
    const multi = await send({ ...draft('a', single('a')), kind: MessageKind.multicast, toUsers: ['b', 'c', 'd'] });
    // b's rows are written by its read; m3's recall writes a's and b's.
    await s.conversations.markRead('b', single('a'), m1.message.timestamp);
    await s.messages.recallMessage(m3.message.uid, 'a', {});
    // Buffered from here on: b's m6, d's message after the multicast was deleted for it (which wrote
    // d's earlier rows), c's message after its mark.
    await send(draft('a', single('b')));
    await send(draft('a', single('d')));
    await s.messages.deleteMessage(multi.message.uid, { kind: MessageKind.multicast, receivers: ['d'] });
    await send(draft('a', single('d')));
    // c read ahead of the clock; its next message, buffered, is stamped before the mark: it counts 0.
    await s.conversations.markRead('c', single('a'), Date.now() + 60_000);
    await send(draft('a', single('c')));

    // A snapshot of what is committed, without the buffer: what a restart after kill -9 finds (taken
    // first: listing conversations writes a user's buffered rows).
    const copy = tempFile('crashed.db');
    const ro = new Database(file, { readonly: true });
    try {
      ro.exec(`VACUUM INTO '${copy.replace(/'/g, "''")}'`);
    } finally {
      ro.close();
    }
    const snapshot = new Database(copy, { readonly: true });
    try {
      const noRows = snapshot.prepare('SELECT COUNT(*) AS n FROM messages m WHERE NOT EXISTS (SELECT 1 FROM inbox i WHERE i.seq = m.seq)').get() as { n: number };
      expect(noRows.n, 'messages whose per-user rows were only buffered').toBe(3);
    } finally {
      snapshot.close();
    }
    const expected = { b: await unread(s, 'b', single('a')), c: await unread(s, 'c', single('a')), d: await unread(s, 'd', single('a')) };
    expect(expected).toEqual({ b: 3, c: 0, d: 2 });

    const r = open(copy);
    expect(await unread(r, 'b', single('a'))).toBe(expected.b);
    expect(await unread(r, 'c', single('a'))).toBe(expected.c);
    expect(await unread(r, 'd', single('a'))).toBe(expected.d);
    expect(await unread(r, 'a', single('b'))).toBe(0);
  });
});

describe('SQLite unread: statements and upgrade', () => {
  /** A plan step that reads a whole table or index, or sorts in a temporary B-tree. */
  const unbounded = (detail: string): boolean => /^SCAN\b/.test(detail) || /TEMP B-TREE/.test(detail);
  const plan = (db: Database.Database, sql: string): string[] => {
    const named = [...new Set(sql.match(/@[A-Za-z_]\w*/g) ?? [])];
    const positional = (sql.match(/\?/g) ?? []).length;
    const stmt = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
    const rows = (named.length > 0 ? stmt.all(Object.fromEntries(named.map((n) => [n.slice(1), 0]))) : stmt.all(...new Array<number>(positional).fill(0))) as Array<{
      detail: string;
    }>;
    return rows.map((r) => r.detail);
  };

  it('every statement of the unread paths (views, deltas, recounts, horizon, slack) uses an index', async () => {
    const file = tempFile();
    const s = open(file);
    for (const u of ['a', 'b', 'c']) await s.users.upsertUser(u, { name: u });
    await s.groups.createGroup('g', { owner: 'a', name: 'g' }, [{ memberId: 'b' }, { memberId: 'c' }], 100);
    const id = await s.messages.reserveUid();
    const m1 = await s.messages.appendMessage(draft('a', single('b')));
    await s.messages.appendMessage(draft('a', single('b'), { identity: id }));
    // A mark ahead of the clock: the next sends read the receiver's view.
    await s.conversations.markRead('b', single('a'), m1.message.timestamp + 60_000);
    await s.conversations.clearUserMessages('c', { type: ConvType.group, target: 'g', line: 0 }, 0, m1.message.timestamp + 60_000);
    const g1 = await s.messages.appendMessage(draft('a', { type: ConvType.group, target: 'g', line: 0 }));
    await s.messages.appendMessage(draft('a', single('b')));
    await s.messages.recallMessage(g1.message.uid, 'a', { receivers: ['b'] });
    await s.messages.updateMessage(g1.message.uid, counted({ persistFlag: PersistFlag.persist }), false, Date.now());
    await s.messages.deleteMessage(m1.message.uid, {});
    await s.conversations.deleteConversation('b', single('a'), Date.now());
    await s.conversations.recountUnread('c', { type: ConvType.group, target: 'g', line: 0 });
    const ro = new Database(file, { readonly: true });
    try {
      const prepared = s.preparedSql();
      for (const part of ['FROM user_hides WHERE user_id = ?', 'SELECT read_ts FROM conversations', 'unread_mark_max', 'SELECT COUNT(*) AS n FROM inbox i JOIN messages m']) {
        expect(prepared.some((sql) => sql.includes(part)), part).toBe(true);
      }
      const bad: string[] = [];
      for (const sql of [...prepared, ...Object.values(RECOUNT_SQL), 'SELECT MIN(seq) AS s FROM messages WHERE uid > ?']) {
        const steps = plan(ro, sql);
        if (steps.some(unbounded) && !(sql.includes('ORDER BY last_ts DESC') && steps[0] === 'SEARCH conversations USING PRIMARY KEY (user_id=?)')) {
          bad.push(`${sql.replace(/\s+/g, ' ')}\n    ${steps.join('\n    ')}`);
        }
      }
      expect(bad, bad.join('\n')).toEqual([]);
    } finally {
      ro.close();
    }
  });

  it('an upgraded database starts with the latest read mark or hide end as its horizon: later sends still see older marks', async () => {
    const file = tempFile();
    const db = new Database(file);
    migrate(db, 4);
    const future = Date.now() + 3_600_000;
    db.prepare('INSERT INTO users(id, name, created_seq, updated_at) VALUES (?, ?, 0, 0)').run('a', 'a');
    db.prepare('INSERT INTO users(id, name, created_seq, updated_at) VALUES (?, ?, 0, 0)').run('b', 'b');
    db.prepare(`INSERT INTO meta(key, value) VALUES ('user_count', 2) ON CONFLICT(key) DO UPDATE SET value = 2`).run();
    // b read its chat with a up to an hour from now (written by an older version).
    db.prepare('INSERT INTO conversations(user_id, conv_type, conv_target, conv_line, unread, read_ts, visible) VALUES (?, 0, ?, 0, 0, ?, 0)').run('b', 'a', future);
    db.close();

    const s = open(file);
    await s.messages.appendMessage(draft('a', single('b')));
    expect(await unread(s, 'b', single('a')), 'stamped before the mark: read').toBe(0);
    const ro = new Database(file, { readonly: true });
    try {
      expect(ro.prepare(`SELECT value FROM meta WHERE key = 'unread_mark_max'`).get()).toEqual({ value: future });
    } finally {
      ro.close();
    }
  });
});
