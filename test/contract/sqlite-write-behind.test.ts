/**
 * The SQLite store's write-behind of per-user rows across an unclean stop (src/store/sqlite/
 * write-behind.ts): a message the store acknowledged has its inbox rows and unread after a restart
 * from what was committed, whatever the order of reservations, flushes and appends — in particular a
 * message with a reserved identity (before-send hooks) appended after a flush that already moved the
 * recovery watermark past its uid. Re-derived rows go only to receivers that still exist and existed
 * when the message was sent.
 *
 * A crash is simulated by copying the committed database (VACUUM INTO, the buffer left behind) and
 * opening the copy: what a restart after kill -9 finds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ConvType, MessageKind, PersistFlag, type Conversation } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import type { AppendResult, MessageDraft, Store } from '../../src/core/ports/store.js';
import type { SqliteContext } from '../../src/store/sqlite/context.js';
import { SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite/sqlite-store.js';

const dirs: string[] = [];
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempFile(name = 'switchboard.db'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-wb-'));
  dirs.push(d);
  return path.join(d, name);
}

/** Derived rows stay buffered unless a command needs a user's rows or the test flushes. */
function open(file: string, over: Partial<SqliteStoreOptions> = {}): SqliteStore {
  const s = new SqliteStore({
    file,
    synchronous: 'NORMAL',
    nodeId: 3,
    commitMaxBatch: 64,
    commitMaxDelayMs: 0,
    inlineFanoutMax: 10,
    flushIntervalMs: 3_600_000,
    flushMaxRows: 1_000_000_000,
    ...over,
  });
  stores.push(s);
  return s;
}

async function closeStore(s: SqliteStore): Promise<void> {
  stores.splice(stores.indexOf(s), 1);
  await s.close();
}

/** The write-out of every buffered row (the 200 ms timer's job), now. */
function flush(s: SqliteStore): Promise<void> {
  return (s as unknown as { ctx: SqliteContext }).ctx.flushNow();
}

/** What a restart after kill -9 finds: the committed database, without the buffer. */
function crashCopy(file: string): string {
  const copy = tempFile('crashed.db');
  const ro = new Database(file, { readonly: true });
  try {
    ro.exec(`VACUUM INTO '${copy.replace(/'/g, "''")}'`);
  } finally {
    ro.close();
  }
  return copy;
}

function derivedUid(file: string): number {
  const ro = new Database(file, { readonly: true });
  try {
    return (ro.prepare(`SELECT value FROM meta WHERE key = 'derived_uid'`).get() as { value: number } | undefined)?.value ?? 0;
  } finally {
    ro.close();
  }
}

const single = (target: string): Conversation => ({ type: ConvType.single, target, line: 0 });
const draft = (sender: string, conv: Conversation, over: Partial<MessageDraft> = {}): MessageDraft => ({
  sender,
  conv,
  payload: normalizePayload({ type: 1, content: 'x', persistFlag: PersistFlag.count }),
  kind: MessageKind.conversation,
  toUsers: [],
  ...over,
});

/** The uids of the messages the user's sync shows, in cursor order. */
async function synced(s: Store, userId: string): Promise<number[]> {
  const uids: number[] = [];
  let after = 0;
  for (;;) {
    const page = await s.sync.replay(userId, after, 100, Date.now());
    for (const e of page.events) if (e.type === 'message') uids.push(e.uid);
    if (page.done) return uids;
    after = page.next;
  }
}

/** The unread of `conv` in the user's list (0 when not listed), checked against the recount. */
async function unread(s: Store, userId: string, conv: Conversation): Promise<number> {
  const entry = (await s.conversations.listConversations(userId)).find((c) => c.conv.type === conv.type && c.conv.target === conv.target);
  const n = entry?.unread ?? 0;
  expect(await s.conversations.recountUnread(userId, conv), `${userId}/${conv.target}: counter vs recount`).toBe(n);
  return n;
}

async function users(s: Store, ...ids: string[]): Promise<void> {
  for (const u of ids) await s.users.upsertUser(u, { name: u });
}

describe('SQLite write-behind: reserved identities and the recovery watermark', () => {
  it('a reserved identity appended after a flush keeps its per-user rows across a crash', async () => {
    const file = tempFile();
    const s = open(file);
    await users(s, 'a', 'b');
    const id = await s.messages.reserveUid();
    const m1 = await s.messages.appendMessage(draft('a', single('b')));
    // The flush moves the watermark past the reserved uid while its before-send hook runs.
    await flush(s);
    expect(derivedUid(file)).toBeGreaterThanOrEqual(id.uid);
    const late = await s.messages.appendMessage(draft('a', single('b'), { identity: id }));
    const m3 = await s.messages.appendMessage(draft('a', single('b')));
    expect(late.message.uid).toBe(id.uid);
    expect(late.message.uid).toBeLessThan(m1.message.uid);

    const r = open(crashCopy(file));
    const expected = [m1.message.uid, late.message.uid, m3.message.uid];
    expect(await synced(r, 'b')).toEqual(expected);
    expect(await synced(r, 'a')).toEqual(expected);
    expect(await unread(r, 'b', single('a'))).toBe(3);
    expect((await r.conversations.listConversations('a')).map((c) => c.conv.target)).toEqual(['b']);
    // How: the late append lowered the watermark below its uid, in its own commit.
    expect(derivedUid(file)).toBe(id.uid - 1);

    // The next flush raises the watermark again; nothing is re-derived twice.
    await flush(s);
    expect(derivedUid(file)).toBeGreaterThanOrEqual(m3.message.uid);
    const again = open(crashCopy(file));
    expect(await synced(again, 'b')).toEqual(expected);
    expect(await unread(again, 'b', single('a'))).toBe(3);
  });

  it('every interleaving of reservation, flush and append survives a crash at every step', async () => {
    const file = tempFile();
    const s = open(file);
    await users(s, 'a', 'b', 'c');
    const sent: number[] = [];
    const ids = [await s.messages.reserveUid(), await s.messages.reserveUid()];
    const check = async (): Promise<void> => {
      const r = open(crashCopy(file));
      expect(await synced(r, 'b')).toEqual(sent);
      expect(await unread(r, 'b', single('a'))).toBe(sent.length);
      await closeStore(r);
    };
    const send = async (over: Partial<MessageDraft> = {}): Promise<AppendResult> => {
      const m = await s.messages.appendMessage(draft('a', single('b'), over));
      sent.push(m.message.uid);
      return m;
    };
    // Reserved then appended before any flush; a reservation that is never used; a flush between.
    await send();
    await send({ identity: ids[0] });
    const unused = await s.messages.reserveUid();
    await check();
    await flush(s);
    // A flush passed a reservation that is never appended: the watermark is not held below it.
    expect(derivedUid(file)).toBeGreaterThanOrEqual(unused.uid);
    await check();
    // Reserved before the flush, appended after it, with messages before and after it; then reserved
    // after the flush and appended late too.
    await send();
    await send({ identity: ids[1] });
    const id3 = await s.messages.reserveUid();
    await send();
    await check();
    await flush(s);
    await send({ identity: id3 });
    await check();
    await flush(s);
    await check();
  });

  it('an identity reserved before a restart and appended after it keeps its rows across a crash', async () => {
    const file = tempFile();
    let s = open(file);
    await users(s, 'a', 'b');
    const id = await s.messages.reserveUid();
    const m1 = await s.messages.appendMessage(draft('a', single('b')));
    await closeStore(s); // flushes: the watermark passes the reservation
    s = open(file);
    const late = await s.messages.appendMessage(draft('a', single('b'), { identity: id }));
    const r = open(crashCopy(file));
    expect(await synced(r, 'b')).toEqual([m1.message.uid, late.message.uid]);
    expect(await unread(r, 'b', single('a'))).toBe(2);
  });
});

describe('SQLite write-behind: re-derived rows only for receivers of the message', () => {
  it('a receiver destroyed, or destroyed and created again, before the crash gets no rows back', async () => {
    const file = tempFile();
    const s = open(file);
    await users(s, 'a', 'b', 'c');
    await s.messages.appendMessage(draft('a', single('b')));
    await s.messages.appendMessage(draft('a', single('c')));
    // Both stay buffered; b is destroyed, c destroyed and created again under the same id.
    await s.users.destroyUser('b');
    await s.users.destroyUser('c');
    await users(s, 'c');
    const kept = await s.messages.appendMessage(draft('a', single('c')));

    const copy = crashCopy(file);
    const r = open(copy);
    expect(await synced(r, 'c')).toEqual([kept.message.uid]);
    expect(await unread(r, 'c', single('a'))).toBe(1);
    await closeStore(r);
    const db = new Database(copy, { readonly: true });
    try {
      expect(db.prepare(`SELECT COUNT(*) AS n FROM inbox WHERE user_id = 'b'`).get()).toEqual({ n: 0 });
      expect(db.prepare(`SELECT COUNT(*) AS n FROM conversations WHERE user_id = 'b'`).get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  });
});
