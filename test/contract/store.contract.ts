/**
 * The Store contract (src/core/ports/store.ts), run against every backend.
 *
 * A backend's test file calls `storeContract(name, factory)`. The factory returns a fresh, empty store
 * (and a cleanup that closes it, tolerating a store the test already closed). Only the Store interface
 * is used here: nothing in this file may depend on a backend.
 *
 * Time: tests that need distinct message timestamps set the process clock with vi.setSystemTime (Date
 * only is faked, so the event loop is untouched); expectations are computed from the timestamps the
 * store returns, so a backend that stamps messages otherwise still passes.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CoreError, type ErrorKind } from '../../src/core/errors.js';
import {
  ConvType,
  GroupMemberType,
  MessageKind,
  MessageStatus,
  PersistFlag,
  UserStatus,
  type Conversation,
  type Payload,
  type StoredMessage,
  type User,
} from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import type { AppendResult, MemberInterval, MessageDraft, Store, SyncEvent, UserFields } from '../../src/core/ports/store.js';
import { recallPayload, RECALL_CONTENT_TYPE } from '../../src/core/recall.js';
import { hashToken, newToken } from '../../src/core/tokens.js';

export interface StoreFactoryOptions {
  /** Groups/channels with more receivers than this use one shared event read by membership. */
  inlineFanoutMax: number;
}
export type StoreFactory = (opts: StoreFactoryOptions) => Promise<{ store: Store; cleanup: () => Promise<void> }>;

const DEFAULT_FANOUT = 100;
const MAX_MEMBERS = 100;

// ------------------------------------------------------------------------------------------ helpers

export async function expectCoreError(p: Promise<unknown>, kind: ErrorKind): Promise<CoreError> {
  let err: unknown = undefined;
  let resolved = false;
  try {
    await p;
    resolved = true;
  } catch (e) {
    err = e;
  }
  expect(resolved, `expected a CoreError '${kind}', but the promise resolved`).toBe(false);
  expect(err, `expected a CoreError '${kind}', got ${String(err)}`).toBeInstanceOf(CoreError);
  expect((err as CoreError).kind).toBe(kind);
  return err as CoreError;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function payload(over: Partial<Payload> = {}): Payload {
  return { ...normalizePayload({ type: 1, content: 'hello', searchableContent: 'hello', persistFlag: PersistFlag.persist }), ...over };
}

const single = (target: string, line = 0): Conversation => ({ type: ConvType.single, target, line });
const group = (target: string, line = 0): Conversation => ({ type: ConvType.group, target, line });
const channel = (target: string, line = 0): Conversation => ({ type: ConvType.channel, target, line });

function draft(sender: string, conv: Conversation, over: Partial<MessageDraft> = {}): MessageDraft {
  return { sender, conv, payload: payload(), kind: MessageKind.conversation, toUsers: [], ...over };
}

/** As MessageService.multicast builds it: one uid, each target receives a single chat from the sender. */
function multicastDraft(sender: string, targets: string[], over: Partial<MessageDraft> = {}): MessageDraft {
  return { sender, conv: single(sender), payload: payload(), kind: MessageKind.multicast, toUsers: targets, ...over };
}

function broadcastDraft(sender: string, over: Partial<MessageDraft> = {}): MessageDraft {
  return { sender, conv: single(sender), payload: payload(), kind: MessageKind.broadcast, toUsers: [], ...over };
}

/** Freeze Date at `ms` (only Date is faked: timers and setImmediate keep running). */
function clockAt(ms: number): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(ms);
}

class Fixture {
  constructor(readonly s: Store) {}

  user(userId: string, fields: UserFields = {}): Promise<User> {
    return this.s.users.upsertUser(userId, { name: `name-${userId}`, ...fields });
  }

  async users(...ids: string[]): Promise<void> {
    for (const id of ids) await this.user(id);
  }

  send(d: MessageDraft): Promise<AppendResult> {
    return this.s.messages.appendMessage(d);
  }

  async group(groupId: string, owner: string, members: string[], maxMembers = MAX_MEMBERS): Promise<void> {
    await this.s.groups.createGroup(groupId, { owner, name: `group ${groupId}` }, members.map((memberId) => ({ memberId })), maxMembers);
  }

  /** Every event of the user after `after`, page by page, checking the paging invariants on the way. */
  async replayAll(userId: string, after = 0, limit = 1000, now = Date.now()): Promise<SyncEvent[]> {
    const out: SyncEvent[] = [];
    let cursor = after;
    for (let guard = 0; guard < 10_000; guard++) {
      const page = await this.s.sync.replay(userId, cursor, limit, now);
      expect(page.events.length).toBeLessThanOrEqual(limit);
      expect(page.next).toBeGreaterThanOrEqual(cursor);
      for (const e of page.events) {
        expect(e.seq).toBeGreaterThan(cursor);
        expect(e.seq).toBeLessThanOrEqual(page.next);
      }
      out.push(...page.events);
      if (page.done) return out;
      expect(page.next, 'a page that is not done must advance the cursor').toBeGreaterThan(cursor);
      cursor = page.next;
    }
    throw new Error('replay did not finish');
  }

  /** The messages the user currently sees through replay (message events only). */
  async inbox(userId: string, now = Date.now()): Promise<StoredMessage[]> {
    const events = await this.replayAll(userId, 0, 1000, now);
    return events.filter((e) => e.type === 'message').map((e) => e.message!);
  }

  async inboxUids(userId: string, now = Date.now()): Promise<number[]> {
    return (await this.inbox(userId, now)).map((m) => m.uid);
  }
}

function useStore(factory: StoreFactory, inlineFanoutMax: number): () => Fixture {
  let fixture: Fixture | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const made = await factory({ inlineFanoutMax });
    fixture = new Fixture(made.store);
    cleanup = made.cleanup;
  });
  afterEach(async () => {
    vi.useRealTimers();
    await cleanup?.();
    fixture = undefined;
    cleanup = undefined;
  });
  return () => {
    if (!fixture) throw new Error('store not ready');
    return fixture;
  };
}

// ------------------------------------------------------------- membership history (both delivery paths)

/**
 * A member of group g goes offline holding the cursor of message `seen`; more is sent; it is removed;
 * then more is sent and messages from before, during and after its membership change. Its replay from
 * `seen` must hold exactly the messages sent while it was a member and the later changes of those
 * messages — what per-user rows give a small group, and what a large group's shared timeline must give
 * too. Needs a group of 4 members (owner o, a, b, off).
 */
async function formerMemberReplay(f: Fixture): Promise<void> {
  await f.users('o', 'a', 'b', 'off');
  await f.group('g', 'o', ['a', 'b']);
  const before = await f.send(draft('o', group('g'), { payload: payload({ content: 'before-join' }) }));
  await f.s.groups.addMembers('g', [{ memberId: 'off' }], MAX_MEMBERS);
  const seen = await f.send(draft('a', group('g'), { payload: payload({ content: 'seen' }) }));
  const m1 = await f.send(draft('o', group('g'), { payload: payload({ content: 'while-1' }) }));
  const m2 = await f.send(draft('a', group('g'), { payload: payload({ content: 'while-2' }) }));
  const m3 = await f.send(draft('b', group('g'), { payload: payload({ content: 'while-3' }) }));
  expect(await f.s.groups.removeMembers('g', ['off'])).toEqual(['off']);
  const after = await f.send(draft('o', group('g'), { payload: payload({ content: 'after-leave' }) }));
  const rec1 = await f.s.messages.recallMessage(m1.message.uid, 'o', {});
  const upd2 = await f.s.messages.updateMessage(m2.message.uid, payload({ content: 'while-2 edited' }), true, Date.now());
  const del3 = await f.s.messages.deleteMessage(m3.message.uid, {});
  const recSeen = await f.s.messages.recallMessage(seen.message.uid, 'a', {});
  await f.s.messages.recallMessage(before.message.uid, 'o', {});
  await f.s.messages.updateMessage(after.message.uid, payload({ content: 'after-leave edited' }), true, Date.now());

  const events = await f.replayAll('off', seen.seq);
  expect(events.map((e) => [e.type, e.uid])).toEqual([
    ['message', m1.message.uid],
    ['message', m2.message.uid],
    // m3's message event is gone: it was deleted since.
    ['recall', m1.message.uid],
    ['update', m2.message.uid],
    ['delete', m3.message.uid],
    ['recall', seen.message.uid],
  ]);
  expect(events.map((e) => e.seq)).toEqual([m1.seq, m2.seq, rec1.seq, upd2.seq, del3.seq, recSeen.seq]);
  expect(events[0]!.message?.status).toBe(MessageStatus.recalled);
  expect(events[1]!.message?.payload.content).toBe('while-2 edited');
  const text = JSON.stringify(events);
  expect(text).not.toContain('after-leave');
  expect(text).not.toContain('before-join');
  // From the start: the whole membership, nothing from before or after it.
  expect(await f.inboxUids('off')).toEqual([seen.message.uid, m1.message.uid, m2.message.uid]);
  // The members who stayed are unaffected.
  expect(await f.inboxUids('b')).toEqual([before.message.uid, seen.message.uid, m1.message.uid, m2.message.uid, after.message.uid]);
}

/** Leave, messages meanwhile, join again: the second membership is a new interval. */
async function rejoinReplay(f: Fixture): Promise<void> {
  await f.users('o', 'a', 'b', 'r');
  await f.group('g', 'o', ['a', 'b', 'r']);
  const m1 = await f.send(draft('o', group('g'), { payload: payload({ content: 'first-stay' }) }));
  await f.s.groups.removeMembers('g', ['r']);
  const away = await f.send(draft('o', group('g'), { payload: payload({ content: 'while-away' }) }));
  await f.s.groups.addMembers('g', [{ memberId: 'r' }], MAX_MEMBERS);
  const m3 = await f.send(draft('a', group('g'), { payload: payload({ content: 'second-stay' }) }));
  await f.s.messages.recallMessage(away.message.uid, 'o', {});
  const rec1 = await f.s.messages.recallMessage(m1.message.uid, 'o', {});
  const events = await f.replayAll('r');
  expect(events.map((e) => [e.type, e.uid])).toEqual([
    ['message', m1.message.uid],
    ['message', m3.message.uid],
    ['recall', m1.message.uid],
  ]);
  expect(events[2]!.seq).toBe(rec1.seq);
  expect(JSON.stringify(events)).not.toContain('while-away');
}

/** A destroyed user's memberships are forgotten: created again with the same id, it sees nothing. */
async function destroyedReplay(f: Fixture): Promise<void> {
  await f.users('o', 'a', 'b', 'd');
  await f.group('g', 'o', ['a', 'b', 'd']);
  await f.send(draft('o', group('g')));
  await f.s.groups.removeMembers('g', ['d']);
  await f.s.users.destroyUser('d');
  await f.user('d');
  expect(await f.replayAll('d')).toEqual([]);
  await f.s.groups.addMembers('g', [{ memberId: 'd' }], MAX_MEMBERS);
  const m2 = await f.send(draft('o', group('g')));
  expect(await f.inboxUids('d')).toEqual([m2.message.uid]);
}

/** A dismissed group: its former members still replay what was sent to them. */
async function dismissedReplay(f: Fixture): Promise<void> {
  await f.users('o', 'a', 'b', 'c');
  await f.group('g', 'o', ['a', 'b', 'c']);
  const m1 = await f.send(draft('a', group('g')));
  const m2 = await f.send(draft('o', group('g')));
  await f.s.groups.deleteGroup('g');
  const rec = await f.s.messages.recallMessage(m1.message.uid, 'a', {});
  for (const u of ['o', 'a', 'b', 'c']) {
    const events = await f.replayAll(u);
    expect(events.map((e) => [e.type, e.uid]), u).toEqual([
      ['message', m1.message.uid],
      ['message', m2.message.uid],
      ['recall', m1.message.uid],
    ]);
    expect(events[2]!.seq).toBe(rec.seq);
  }
}

/** Unsubscribe and subscribe again: each subscription is an interval. Needs 3 subscribers. */
async function channelIntervalsReplay(f: Fixture): Promise<void> {
  await f.users('o', 's1', 's2', 's3');
  await f.s.channels.upsertChannel('ch', { name: 'n', owner: 'o' });
  for (const u of ['s1', 's2', 's3']) await f.s.channels.subscribe('ch', u, true);
  const m1 = await f.send(draft('o', channel('ch'), { payload: payload({ content: 'subscribed-1' }) }));
  await f.s.channels.subscribe('ch', 's3', false);
  const away = await f.send(draft('o', channel('ch'), { payload: payload({ content: 'unsubscribed' }) }));
  await f.s.channels.subscribe('ch', 's3', true);
  const m3 = await f.send(draft('o', channel('ch'), { payload: payload({ content: 'subscribed-2' }) }));
  await f.s.messages.recallMessage(m1.message.uid, 'o', {});
  await f.s.messages.recallMessage(away.message.uid, 'o', {});
  const events = await f.replayAll('s3');
  expect(events.map((e) => [e.type, e.uid])).toEqual([
    ['message', m1.message.uid],
    ['message', m3.message.uid],
    ['recall', m1.message.uid],
  ]);
  expect((await f.replayAll('o')).map((e) => [e.type, e.uid])).toEqual([
    ['message', m1.message.uid],
    ['message', away.message.uid],
    ['message', m3.message.uid],
    ['recall', m1.message.uid],
    ['recall', away.message.uid],
  ]);
}

// ------------------------------------------------------------- membership intervals (live fan-out)

/** The users an event about a message of seq `origin` reaches by the given intervals (the port's rule). */
function reachedBy(intervals: MemberInterval[], origin: number): string[] {
  return [...new Set(intervals.filter((i) => i.since < origin && (i.until === undefined || origin <= i.until)).map((i) => i.userId))].sort();
}

/** A write that recorded one event (a message, or a change with the seq of its message). */
type Shared = Pick<AppendResult, 'seq' | 'audience'> & { messageSeq?: number };

/** One event of a shared audience with the audience's intervals as read right after it committed. */
interface Observed {
  label: string;
  seq: number;
  /** The seq of the message the event is about (its own for a message event). */
  origin: number;
  intervals: MemberInterval[];
}

/**
 * Live fan-out reads an audience's intervals (memberSeqs / audienceSeqs) once its event has committed
 * and sends the event to the users they reach: for every event, those users must be exactly the users
 * whose replay holds it.
 */
async function expectIntervalsMatchReplay(f: Fixture, events: Observed[], users: string[]): Promise<void> {
  const replayed = new Map<string, Set<number>>();
  for (const u of users) replayed.set(u, new Set((await f.replayAll(u)).map((e) => e.seq)));
  for (const e of events) {
    const byReplay = users.filter((u) => replayed.get(u)!.has(e.seq)).sort();
    expect(reachedBy(e.intervals, e.origin), `${e.label} (seq ${e.seq})`).toEqual(byReplay);
  }
}

// ------------------------------------------------------------------------------------------ unread

const convKey = (c: Conversation): string => `${c.type}/${c.target}/${c.line}`;

/** Until the clock has passed `ts`, so that the next message is stamped later (a condition, not a sleep). */
async function clockPast(ts: number): Promise<void> {
  while (Date.now() <= ts) await tick();
}

/** Send, then let the clock pass the message's timestamp: each message of a test has its own time. */
async function sendApart(f: Fixture, d: MessageDraft): Promise<AppendResult> {
  const r = await f.send(d);
  await clockPast(r.message.timestamp);
  return r;
}

/**
 * The user's unread counters as the store shows them, each checked against the store's recount by
 * the rule: every conversation of the list (counter = recount), every conversation of `also` that is
 * not listed (recount 0), and the totals by conversation type (= the sum over the list). Returns the
 * counters by conversation.
 */
async function checkedUnread(f: Fixture, userId: string, also: Conversation[] = []): Promise<Map<string, number>> {
  const list = await f.s.conversations.listConversations(userId);
  const out = new Map<string, number>();
  const totals = new Map<number, number>();
  for (const c of list) {
    expect(c.unread, `${userId} ${convKey(c.conv)}: never negative`).toBeGreaterThanOrEqual(0);
    expect(await f.s.conversations.recountUnread(userId, c.conv), `${userId} ${convKey(c.conv)}: counter ${c.unread} vs recount`).toBe(c.unread);
    out.set(convKey(c.conv), c.unread);
    totals.set(c.conv.type, (totals.get(c.conv.type) ?? 0) + c.unread);
  }
  for (const conv of also) {
    if (out.has(convKey(conv))) continue;
    expect(await f.s.conversations.recountUnread(userId, conv), `${userId} ${convKey(conv)}: not listed, so the recount must be 0`).toBe(0);
    out.set(convKey(conv), 0);
  }
  for (const type of [ConvType.single, ConvType.group, ConvType.channel]) {
    expect(await f.s.messages.unreadTotal(userId, type), `${userId}: total over type ${type}`).toBe(totals.get(type) ?? 0);
  }
  return out;
}

/** Check every counter of the user against the recount, and the unread of `conv` against `expected`. */
async function expectUnread(f: Fixture, userId: string, conv: Conversation, expected: number, label = ''): Promise<void> {
  const counters = await checkedUnread(f, userId, [conv]);
  expect(counters.get(convKey(conv)), `${label} ${userId} ${convKey(conv)}`).toBe(expected);
}

/** A small deterministic PRNG (mulberry32), so a failing walk can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ------------------------------------------------------------------------------------------ contract

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    // ------------------------------------------------------------------ users
    describe('users', () => {
      const fx = useStore(factory, DEFAULT_FANOUT);

      it('answers ping', async () => {
        expect(await fx().s.ping()).toBe(true);
      });

      it('creates a user with defaults for absent fields', async () => {
        const f = fx();
        const u = await f.s.users.upsertUser('u1', { name: 'alice', displayName: 'Alice', email: 'a@example.com' });
        expect(u).toMatchObject({
          userId: 'u1',
          name: 'alice',
          displayName: 'Alice',
          email: 'a@example.com',
          portrait: '',
          mobile: '',
          gender: 0,
          type: 0,
          extra: '',
          role: 'user',
          status: UserStatus.normal,
        });
        expect(await f.s.users.getUser({ userId: 'u1' })).toEqual(u);
      });

      it('upsert of an existing user overwrites only the given fields', async () => {
        const f = fx();
        await f.s.users.upsertUser('u1', { name: 'alice', displayName: 'Alice', email: 'a@example.com', gender: 1 });
        const u = await f.s.users.upsertUser('u1', { name: 'alice2', displayName: 'Alice B' });
        expect(u).toMatchObject({ userId: 'u1', name: 'alice2', displayName: 'Alice B', email: 'a@example.com', gender: 1 });
        expect(await f.s.users.countUsers()).toBe(1);
        expect(await f.s.users.getUser({ name: 'alice' })).toBeNull();
        expect((await f.s.users.getUser({ name: 'alice2' }))?.userId).toBe('u1');
      });

      it('refuses a name that belongs to another user (name_taken), on upsert and update', async () => {
        const f = fx();
        await f.s.users.upsertUser('u1', { name: 'alice' });
        await f.s.users.upsertUser('u2', { name: 'bob' });
        await expectCoreError(f.s.users.upsertUser('u3', { name: 'alice' }), 'name_taken');
        expect(await f.s.users.getUser({ userId: 'u3' })).toBeNull();
        await expectCoreError(f.s.users.updateUser('u2', { name: 'alice' }), 'name_taken');
        expect((await f.s.users.getUser({ userId: 'u2' }))?.name).toBe('bob');
        // Keeping one's own name is fine.
        expect((await f.s.users.upsertUser('u1', { name: 'alice', company: 'ACME' })).company).toBe('ACME');
      });

      it('updateUser changes the given fields and throws not_exist for an unknown user', async () => {
        const f = fx();
        await f.s.users.upsertUser('u1', { name: 'alice', mobile: '123' });
        const u = await f.s.users.updateUser('u1', { displayName: 'Al', extra: '{"x":1}' });
        expect(u).toMatchObject({ name: 'alice', mobile: '123', displayName: 'Al', extra: '{"x":1}' });
        await expectCoreError(f.s.users.updateUser('ghost', { displayName: 'x' }), 'not_exist');
      });

      it('finds users by id, name, mobile and email; null when unknown', async () => {
        const f = fx();
        await f.s.users.upsertUser('u1', { name: 'alice', mobile: '555-1', email: 'a@x.org' });
        await f.s.users.upsertUser('u2', { name: 'bob' });
        expect((await f.s.users.getUser({ userId: 'u1' }))?.name).toBe('alice');
        expect((await f.s.users.getUser({ name: 'bob' }))?.userId).toBe('u2');
        expect((await f.s.users.getUser({ mobile: '555-1' }))?.userId).toBe('u1');
        expect((await f.s.users.getUser({ email: 'a@x.org' }))?.userId).toBe('u1');
        expect(await f.s.users.getUser({ userId: 'nobody' })).toBeNull();
        expect(await f.s.users.getUser({ name: 'nobody' })).toBeNull();
        expect(await f.s.users.getUser({ mobile: '000' })).toBeNull();
        expect(await f.s.users.getUser({ email: 'no@x.org' })).toBeNull();
        // An empty mobile/email names nobody, even though u2 has neither.
        expect(await f.s.users.getUser({ mobile: '' })).toBeNull();
        expect(await f.s.users.getUser({ email: '' })).toBeNull();
      });

      it('getUsers returns the known users and skips unknown ids', async () => {
        const f = fx();
        await f.users('a', 'b', 'c');
        const got = await f.s.users.getUsers(['a', 'ghost', 'c']);
        expect(got.map((u) => u.userId).sort()).toEqual(['a', 'c']);
      });

      it('lists users in disjoint pages covering everyone, and counts them', async () => {
        const f = fx();
        const ids = ['u1', 'u2', 'u3', 'u4', 'u5'];
        await f.users(...ids);
        expect(await f.s.users.countUsers()).toBe(5);
        const pages = [await f.s.users.listUsers(0, 2), await f.s.users.listUsers(2, 2), await f.s.users.listUsers(4, 2)];
        expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
        const all = pages.flat().map((u) => u.userId);
        expect(new Set(all).size).toBe(5);
        expect([...all].sort()).toEqual(ids);
        expect(await f.s.users.listUsers(5, 2)).toEqual([]);
        // Paging is stable: the same query answers the same page.
        expect((await f.s.users.listUsers(2, 2)).map((u) => u.userId)).toEqual(pages[1]!.map((u) => u.userId));
      });

      it('sets a status, lists non-normal statuses, and throws not_exist for an unknown user', async () => {
        const f = fx();
        await f.users('a', 'b', 'c');
        await f.s.users.setUserStatus('a', UserStatus.muted);
        await f.s.users.setUserStatus('b', UserStatus.blocked);
        expect((await f.s.users.getUser({ userId: 'b' }))?.status).toBe(UserStatus.blocked);
        expect((await f.s.users.listUserStatuses()).sort((x, y) => x.userId.localeCompare(y.userId))).toEqual([
          { userId: 'a', status: UserStatus.muted },
          { userId: 'b', status: UserStatus.blocked },
        ]);
        await f.s.users.setUserStatus('a', UserStatus.normal);
        expect(await f.s.users.listUserStatuses()).toEqual([{ userId: 'b', status: UserStatus.blocked }]);
        await expectCoreError(f.s.users.setUserStatus('ghost', UserStatus.blocked), 'not_exist');
      });

      it('blocking revokes every token of the user; unblocking allows new tokens', async () => {
        const f = fx();
        await f.users('a', 'b');
        const exp = Date.now() + 3_600_000;
        const [t1, t2, t3] = [newToken(), newToken(), newToken()].map(hashToken);
        await f.s.tokens.insertToken(t1!, { userId: 'a', clientId: 'c1', platform: 1, expiresAt: exp });
        await f.s.tokens.insertToken(t2!, { userId: 'a', clientId: 'c2', platform: 2, expiresAt: exp });
        await f.s.tokens.insertToken(t3!, { userId: 'b', clientId: 'c1', platform: 1, expiresAt: exp });
        await f.s.users.setUserStatus('a', UserStatus.blocked);
        expect(await f.s.tokens.findToken(t1!, Date.now())).toBeNull();
        expect(await f.s.tokens.findToken(t2!, Date.now())).toBeNull();
        expect(await f.s.tokens.findToken(t3!, Date.now())).not.toBeNull();
        await expectCoreError(f.s.tokens.insertToken(hashToken(newToken()), { userId: 'a', clientId: 'c1', platform: 1, expiresAt: exp }), 'user_blocked');
        await f.s.users.setUserStatus('a', UserStatus.normal);
        const t4 = hashToken(newToken());
        await f.s.tokens.insertToken(t4, { userId: 'a', clientId: 'c1', platform: 1, expiresAt: exp });
        expect(await f.s.tokens.findToken(t4, Date.now())).not.toBeNull();
      });

      it('sets a role; not_exist for an unknown user', async () => {
        const f = fx();
        await f.users('a');
        await f.s.users.setUserRole('a', 'operator');
        expect((await f.s.users.getUser({ userId: 'a' }))?.role).toBe('operator');
        await f.s.users.setUserRole('a', 'user');
        expect((await f.s.users.getUser({ userId: 'a' }))?.role).toBe('user');
        await expectCoreError(f.s.users.setUserRole('ghost', 'operator'), 'not_exist');
      });

      it('destroy removes the profile, memberships, subscriptions and tokens, keeps messages', async () => {
        const f = fx();
        await f.users('owner', 'victim', 'other');
        await f.group('g1', 'owner', ['victim', 'other']);
        await f.group('g2', 'owner', ['victim']);
        await f.s.channels.upsertChannel('ch', { name: 'news', owner: 'owner' });
        await f.s.channels.subscribe('ch', 'victim', true);
        const tok = hashToken(newToken());
        await f.s.tokens.insertToken(tok, { userId: 'victim', clientId: 'c', platform: 1, expiresAt: Date.now() + 60_000 });
        const sent = await f.send(draft('victim', single('other')));

        const r = await f.s.users.destroyUser('victim');
        expect([...r.groups].sort()).toEqual(['g1', 'g2']);
        expect(await f.s.users.getUser({ userId: 'victim' })).toBeNull();
        expect(await f.s.users.getUser({ name: 'name-victim' })).toBeNull();
        expect(await f.s.users.countUsers()).toBe(2);
        expect(await f.s.groups.groupsOfUser('victim')).toEqual([]);
        expect(await f.s.groups.getMember('g1', 'victim')).toBeNull();
        expect((await f.s.groups.listMembers('g1')).map((m) => m.memberId).sort()).toEqual(['other', 'owner']);
        expect((await f.s.groups.getGroup('g1'))?.memberCount).toBe(2);
        expect((await f.s.groups.getGroup('g2'))?.memberCount).toBe(1);
        expect(await f.s.channels.isSubscribed('ch', 'victim')).toBe(false);
        expect(await f.s.tokens.findToken(tok, Date.now())).toBeNull();
        expect((await f.s.messages.getMessage(sent.message.uid, Date.now()))?.sender).toBe('victim');
        await expectCoreError(f.s.users.destroyUser('victim'), 'not_exist');
        // The id and name are free again.
        expect((await f.s.users.upsertUser('victim', { name: 'name-victim' })).userId).toBe('victim');
        expect(await f.s.groups.groupsOfUser('victim')).toEqual([]);
      });

      it('concurrent creations of two users with the same name: exactly one gets name_taken', async () => {
        const f = fx();
        const settled = await Promise.allSettled([
          f.s.users.upsertUser('x1', { name: 'same' }),
          f.s.users.upsertUser('x2', { name: 'same' }),
        ]);
        expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const rejected = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(rejected).toHaveLength(1);
        expect(rejected[0]!.reason).toBeInstanceOf(CoreError);
        expect((rejected[0]!.reason as CoreError).kind).toBe('name_taken');
        expect(await f.s.users.countUsers()).toBe(1);
      });
    });

    // ------------------------------------------------------------------ tokens
    describe('tokens', () => {
      const fx = useStore(factory, DEFAULT_FANOUT);

      it('stores a token hash and finds its live record until it expires', async () => {
        const f = fx();
        await f.users('a');
        const hash = hashToken(newToken());
        const expiresAt = Date.now() + 10_000;
        await f.s.tokens.insertToken(hash, { userId: 'a', clientId: 'dev1', platform: 2, expiresAt });
        expect(await f.s.tokens.findToken(hash, Date.now())).toEqual({ userId: 'a', clientId: 'dev1', platform: 2, expiresAt });
        expect(await f.s.tokens.findToken(hash, expiresAt - 1)).not.toBeNull();
        expect(await f.s.tokens.findToken(hash, expiresAt)).toBeNull();
        expect(await f.s.tokens.findToken(hash, expiresAt + 1)).toBeNull();
        expect(await f.s.tokens.findToken(hashToken(newToken()), Date.now())).toBeNull();
      });

      it('revokes the tokens of one client, then all of them, and counts what it revoked', async () => {
        const f = fx();
        await f.users('a', 'b');
        const exp = Date.now() + 60_000;
        const h = Array.from({ length: 4 }, () => hashToken(newToken()));
        await f.s.tokens.insertToken(h[0]!, { userId: 'a', clientId: 'c1', platform: 1, expiresAt: exp });
        await f.s.tokens.insertToken(h[1]!, { userId: 'a', clientId: 'c1', platform: 1, expiresAt: exp });
        await f.s.tokens.insertToken(h[2]!, { userId: 'a', clientId: 'c2', platform: 1, expiresAt: exp });
        await f.s.tokens.insertToken(h[3]!, { userId: 'b', clientId: 'c1', platform: 1, expiresAt: exp });
        expect(await f.s.tokens.revokeTokens('a', 'c1')).toBe(2);
        expect(await f.s.tokens.findToken(h[0]!, Date.now())).toBeNull();
        expect(await f.s.tokens.findToken(h[1]!, Date.now())).toBeNull();
        expect(await f.s.tokens.findToken(h[2]!, Date.now())).not.toBeNull();
        expect(await f.s.tokens.revokeTokens('a', 'c1')).toBe(0);
        expect(await f.s.tokens.revokeTokens('a')).toBe(1);
        expect(await f.s.tokens.findToken(h[2]!, Date.now())).toBeNull();
        expect(await f.s.tokens.findToken(h[3]!, Date.now()), "other users' tokens stay").not.toBeNull();
      });

      it('stores a token for a user id never created (Wildfire) and refuses one for a blocked user (user_blocked)', async () => {
        const f = fx();
        await f.users('a');
        await f.s.users.setUserStatus('a', UserStatus.blocked);
        const h1 = hashToken(newToken());
        const h2 = hashToken(newToken());
        await f.s.tokens.insertToken(h1, { userId: 'ghost', clientId: 'c', platform: 1, expiresAt: Date.now() + 60_000 });
        await expectCoreError(f.s.tokens.insertToken(h2, { userId: 'a', clientId: 'c', platform: 1, expiresAt: Date.now() + 60_000 }), 'user_blocked');
        expect((await f.s.tokens.findToken(h1, Date.now()))?.userId).toBe('ghost');
        expect(await f.s.tokens.findToken(h2, Date.now())).toBeNull();
        expect(await f.s.users.sinceSeq('ghost'), 'the user itself still does not exist').toBeNull();
        expect(await f.s.tokens.revokeTokens('ghost')).toBe(1);
      });
    });

    // ------------------------------------------------------------------ groups
    describe('groups', () => {
      const fx = useStore(factory, DEFAULT_FANOUT);

      it('creates a group, adding the owner as type owner', async () => {
        const f = fx();
        await f.users('o', 'a', 'b');
        const g = await f.s.groups.createGroup('g', { owner: 'o', name: 'Team', extra: 'x', type: 2 }, [{ memberId: 'a', alias: 'A' }, { memberId: 'b' }], MAX_MEMBERS);
        expect(g).toMatchObject({ groupId: 'g', owner: 'o', name: 'Team', extra: 'x', type: 2, memberCount: 3, mute: 0 });
        expect(await f.s.groups.getGroup('g')).toEqual(g);
        const members = await f.s.groups.listMembers('g');
        expect(members.map((m) => m.memberId).sort()).toEqual(['a', 'b', 'o']);
        expect(members.find((m) => m.memberId === 'o')?.type).toBe(GroupMemberType.owner);
        expect(members.find((m) => m.memberId === 'a')).toMatchObject({ type: GroupMemberType.normal, alias: 'A' });
        expect((await f.s.groups.getMember('g', 'b'))?.type).toBe(GroupMemberType.normal);
        expect(await f.s.groups.getMember('g', 'nobody')).toBeNull();
        expect(await f.s.groups.getGroup('nope')).toBeNull();
      });

      it('the owner listed among the members is still the owner, and counted once', async () => {
        const f = fx();
        await f.users('o', 'a');
        const g = await f.s.groups.createGroup('g', { owner: 'o' }, [{ memberId: 'o', type: GroupMemberType.normal }, { memberId: 'a' }], MAX_MEMBERS);
        expect(g.memberCount).toBe(2);
        expect((await f.s.groups.getMember('g', 'o'))?.type).toBe(GroupMemberType.owner);
      });

      it('refuses an existing group id (group_already_exist) and leaves it unchanged', async () => {
        const f = fx();
        await f.users('o', 'a', 'b');
        await f.group('g', 'o', ['a']);
        await expectCoreError(f.s.groups.createGroup('g', { owner: 'b', name: 'other' }, [{ memberId: 'a' }], MAX_MEMBERS), 'group_already_exist');
        expect(await f.s.groups.getGroup('g')).toMatchObject({ owner: 'o', name: 'group g', memberCount: 2 });
        expect(await f.s.groups.getMember('g', 'b')).toBeNull();
      });

      it('refuses an unknown owner or member (not_exist) and creates nothing', async () => {
        const f = fx();
        await f.users('o', 'a');
        await expectCoreError(f.s.groups.createGroup('g', { owner: 'ghost' }, [{ memberId: 'a' }], MAX_MEMBERS), 'not_exist');
        await expectCoreError(f.s.groups.createGroup('g', { owner: 'o' }, [{ memberId: 'a' }, { memberId: 'ghost' }], MAX_MEMBERS), 'not_exist');
        expect(await f.s.groups.getGroup('g')).toBeNull();
        expect(await f.s.groups.groupsOfUser('a')).toEqual([]);
        expect(await f.s.groups.groupsOfUser('o')).toEqual([]);
      });

      it('refuses more members than allowed (group_full), with no trace; exactly the limit is fine', async () => {
        const f = fx();
        await f.users('o', 'a', 'b', 'c');
        await expectCoreError(f.s.groups.createGroup('g', { owner: 'o' }, [{ memberId: 'a' }, { memberId: 'b' }, { memberId: 'c' }], 3), 'group_full');
        expect(await f.s.groups.getGroup('g')).toBeNull();
        expect(await f.s.groups.groupsOfUser('a')).toEqual([]);
        const g = await f.s.groups.createGroup('g', { owner: 'o' }, [{ memberId: 'a' }, { memberId: 'b' }], 3);
        expect(g.memberCount).toBe(3);
        await expectCoreError(f.s.groups.addMembers('g', [{ memberId: 'c' }], 3), 'group_full');
        expect(await f.s.groups.getMember('g', 'c')).toBeNull();
        expect((await f.s.groups.getGroup('g'))?.memberCount).toBe(3);
      });

      it("a group's own maxMemberCount takes precedence over the default limit", async () => {
        const f = fx();
        await f.users('o', 'a', 'b');
        await f.s.groups.createGroup('g', { owner: 'o', maxMemberCount: 2 }, [{ memberId: 'a' }], 1000);
        await expectCoreError(f.s.groups.addMembers('g', [{ memberId: 'b' }], 1000), 'group_full');
        await f.s.groups.updateGroup('g', { maxMemberCount: 3 });
        await f.s.groups.addMembers('g', [{ memberId: 'b' }], 1000);
        expect((await f.s.groups.getGroup('g'))?.memberCount).toBe(3);
      });

      it('adds members; re-adding updates without counting twice; unknown group or user is not_exist with no partial add', async () => {
        const f = fx();
        await f.users('o', 'a', 'b', 'c');
        await f.group('g', 'o', []);
        await f.s.groups.addMembers('g', [{ memberId: 'a' }, { memberId: 'b', alias: 'B' }], MAX_MEMBERS);
        expect((await f.s.groups.getGroup('g'))?.memberCount).toBe(3);
        await f.s.groups.addMembers('g', [{ memberId: 'b', alias: 'BB' }], MAX_MEMBERS);
        expect((await f.s.groups.getGroup('g'))?.memberCount).toBe(3);
        expect((await f.s.groups.getMember('g', 'b'))?.alias).toBe('BB');
        await expectCoreError(f.s.groups.addMembers('nope', [{ memberId: 'c' }], MAX_MEMBERS), 'not_exist');
        await expectCoreError(f.s.groups.addMembers('g', [{ memberId: 'c' }, { memberId: 'ghost' }], MAX_MEMBERS), 'not_exist');
        expect(await f.s.groups.getMember('g', 'c')).toBeNull();
        expect((await f.s.groups.getGroup('g'))?.memberCount).toBe(3);
      });

      it('removes members, ignoring unknown ids; the owner cannot be removed (no_right)', async () => {
        const f = fx();
        await f.users('o', 'a', 'b', 'c');
        await f.group('g', 'o', ['a', 'b', 'c']);
        const removed = await f.s.groups.removeMembers('g', ['a', 'ghost', 'b']);
        expect([...removed].sort()).toEqual(['a', 'b']);
        expect((await f.s.groups.getGroup('g'))?.memberCount).toBe(2);
        expect(await f.s.groups.getMember('g', 'a')).toBeNull();
        expect(await f.s.groups.groupsOfUser('a')).toEqual([]);
        await expectCoreError(f.s.groups.removeMembers('g', ['c', 'o']), 'no_right');
        expect(await f.s.groups.getMember('g', 'c'), 'a refused command leaves no trace').not.toBeNull();
        expect((await f.s.groups.getGroup('g'))?.memberCount).toBe(2);
        expect(await f.s.groups.removeMembers('g', ['a'])).toEqual([]);
      });

      it('sets member types of members only (not_in_group) and never of the owner (no_right)', async () => {
        const f = fx();
        await f.users('o', 'a', 'b', 'out');
        await f.group('g', 'o', ['a', 'b']);
        await f.s.groups.setMemberType('g', ['a', 'b'], GroupMemberType.manager);
        expect((await f.s.groups.getMember('g', 'a'))?.type).toBe(GroupMemberType.manager);
        expect((await f.s.groups.getMember('g', 'b'))?.type).toBe(GroupMemberType.manager);
        await expectCoreError(f.s.groups.setMemberType('g', ['a', 'out'], GroupMemberType.silent), 'not_in_group');
        expect((await f.s.groups.getMember('g', 'a'))?.type, 'no partial change').toBe(GroupMemberType.manager);
        await expectCoreError(f.s.groups.setMemberType('g', ['o'], GroupMemberType.normal), 'no_right');
        expect((await f.s.groups.getMember('g', 'o'))?.type).toBe(GroupMemberType.owner);
      });

      it('transfers ownership to a member only; the old owner becomes a normal member', async () => {
        const f = fx();
        await f.users('o', 'a', 'out');
        await f.group('g', 'o', ['a']);
        await expectCoreError(f.s.groups.transferGroup('g', 'out'), 'not_in_group');
        await expectCoreError(f.s.groups.transferGroup('nope', 'a'), 'not_exist');
        expect((await f.s.groups.getGroup('g'))?.owner).toBe('o');
        await f.s.groups.transferGroup('g', 'a');
        expect((await f.s.groups.getGroup('g'))?.owner).toBe('a');
        expect((await f.s.groups.getMember('g', 'a'))?.type).toBe(GroupMemberType.owner);
        expect((await f.s.groups.getMember('g', 'o'))?.type).toBe(GroupMemberType.normal);
        // The old owner can now be removed, the new one cannot.
        expect(await f.s.groups.removeMembers('g', ['o'])).toEqual(['o']);
        await expectCoreError(f.s.groups.removeMembers('g', ['a']), 'no_right');
      });

      it('updates group fields; not_exist for an unknown group', async () => {
        const f = fx();
        await f.users('o');
        await f.group('g', 'o', []);
        const g = await f.s.groups.updateGroup('g', { name: 'renamed', mute: 1, portrait: 'p.png' });
        expect(g).toMatchObject({ name: 'renamed', mute: 1, portrait: 'p.png', owner: 'o' });
        expect(await f.s.groups.getGroup('g')).toMatchObject({ name: 'renamed', mute: 1 });
        await expectCoreError(f.s.groups.updateGroup('nope', { name: 'x' }), 'not_exist');
      });

      it('deletes a group and reports its members; not_exist afterwards', async () => {
        const f = fx();
        await f.users('o', 'a');
        await f.group('g', 'o', ['a']);
        const r = await f.s.groups.deleteGroup('g');
        expect([...r.members].sort()).toEqual(['a', 'o']);
        expect(await f.s.groups.getGroup('g')).toBeNull();
        expect(await f.s.groups.groupsOfUser('a')).toEqual([]);
        await expectCoreError(f.s.groups.deleteGroup('g'), 'not_exist');
        // The id can be used again, with a fresh member list.
        await f.group('g', 'a', []);
        expect((await f.s.groups.listMembers('g')).map((m) => m.memberId)).toEqual(['a']);
      });

      it("lists a user's groups", async () => {
        const f = fx();
        await f.users('o', 'a');
        await f.group('g1', 'o', ['a']);
        await f.group('g2', 'o', []);
        await f.group('g3', 'a', []);
        expect([...(await f.s.groups.groupsOfUser('a'))].sort()).toEqual(['g1', 'g3']);
        expect([...(await f.s.groups.groupsOfUser('o'))].sort()).toEqual(['g1', 'g2']);
        expect(await f.s.groups.groupsOfUser('ghost')).toEqual([]);
      });

      it('concurrent creations of one group id: exactly one succeeds', async () => {
        const f = fx();
        await f.users('o', 'p');
        const settled = await Promise.allSettled([
          f.s.groups.createGroup('g', { owner: 'o' }, [], MAX_MEMBERS),
          f.s.groups.createGroup('g', { owner: 'p' }, [], MAX_MEMBERS),
        ]);
        expect(settled.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
        const rej = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
        expect((rej.reason as CoreError).kind).toBe('group_already_exist');
        expect((await f.s.groups.getGroup('g'))?.memberCount).toBe(1);
      });

      it('concurrent additions cannot overfill a group together', async () => {
        const f = fx();
        await f.users('o', 'a', 'b', 'c');
        await f.group('g', 'o', [], 3);
        const settled = await Promise.allSettled([
          f.s.groups.addMembers('g', [{ memberId: 'a' }], 3),
          f.s.groups.addMembers('g', [{ memberId: 'b' }], 3),
          f.s.groups.addMembers('g', [{ memberId: 'c' }], 3),
        ]);
        expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
        for (const r of settled) if (r.status === 'rejected') expect((r.reason as CoreError).kind).toBe('group_full');
        expect((await f.s.groups.getGroup('g'))?.memberCount).toBe(3);
        expect(await f.s.groups.listMembers('g')).toHaveLength(3);
      });
    });

    // ------------------------------------------------------------------ channels
    describe('channels', () => {
      const fx = useStore(factory, DEFAULT_FANOUT);

      it('creates, overwrites, reads and destroys a channel', async () => {
        const f = fx();
        await f.users('o', 'p');
        const c = await f.s.channels.upsertChannel('ch', { name: 'News', owner: 'o', desc: 'd', secret: 's', callback: 'http://cb' });
        expect(c).toMatchObject({ channelId: 'ch', name: 'News', owner: 'o', desc: 'd', secret: 's', callback: 'http://cb', portrait: '', automatic: 0, state: 0 });
        expect(await f.s.channels.getChannel('ch')).toEqual(c);
        const c2 = await f.s.channels.upsertChannel('ch', { name: 'News 2', owner: 'p' });
        expect(c2).toMatchObject({ name: 'News 2', owner: 'p', desc: '' });
        await f.s.channels.destroyChannel('ch');
        expect(await f.s.channels.getChannel('ch')).toBeNull();
        expect(await f.s.channels.getChannel('never')).toBeNull();
      });

      it('refuses an unknown owner (not_exist)', async () => {
        const f = fx();
        await expectCoreError(f.s.channels.upsertChannel('ch', { name: 'x', owner: 'ghost' }), 'not_exist');
        expect(await f.s.channels.getChannel('ch')).toBeNull();
      });

      it('subscribes and unsubscribes; not_exist for an unknown channel or user', async () => {
        const f = fx();
        await f.users('o', 'a');
        await f.s.channels.upsertChannel('ch', { name: 'x', owner: 'o' });
        expect(await f.s.channels.isSubscribed('ch', 'a')).toBe(false);
        await f.s.channels.subscribe('ch', 'a', true);
        await f.s.channels.subscribe('ch', 'a', true);
        expect(await f.s.channels.isSubscribed('ch', 'a')).toBe(true);
        await f.s.channels.subscribe('ch', 'a', false);
        expect(await f.s.channels.isSubscribed('ch', 'a')).toBe(false);
        await expectCoreError(f.s.channels.subscribe('nope', 'a', true), 'not_exist');
        await expectCoreError(f.s.channels.subscribe('ch', 'ghost', true), 'not_exist');
        expect(await f.s.channels.isSubscribed('ch', 'ghost')).toBe(false);
      });
    });

    // ------------------------------------------------------------------ messages
    describe('messages', () => {
      const fx = useStore(factory, DEFAULT_FANOUT);

      it('trusted sends check only that the target exists: any sender (even unknown, blocked or not a member), for every conversation type', async () => {
        const f = fx();
        await f.users('o', 'a', 'b', 'blocked');
        await f.s.users.setUserStatus('blocked', UserStatus.blocked);
        await f.group('g', 'o', ['a']);
        await f.s.channels.upsertChannel('ch', { name: 'n', owner: 'o' });
        await f.s.channels.subscribe('ch', 'a', true);
        const trusted = { trusted: true };
        for (const sender of ['ghost', 'blocked', 'b']) {
          expect((await f.send(draft(sender, single('a'), trusted))).audience).toEqual({ kind: 'users', users: [sender, 'a'] });
          expect((await f.send(draft(sender, group('g'), trusted))).count).toBe(2);
          expect((await f.send(draft(sender, channel('ch'), trusted))).audience).toEqual({ kind: 'users', users: [sender, 'o'] });
          expect((await f.send(multicastDraft(sender, ['a', 'b'], trusted))).count).toBe(sender === 'b' ? 1 : 2);
          await expectCoreError(f.send(draft(sender, single('nobody'), trusted)), 'not_exist');
          await expectCoreError(f.send(draft(sender, group('nog'), trusted)), 'not_exist');
          await expectCoreError(f.send(draft(sender, channel('noch'), trusted)), 'not_exist');
          await expectCoreError(f.send(multicastDraft(sender, ['a', 'nobody'], trusted)), 'not_exist');
        }
        // The owner of a channel speaks to its subscribers.
        expect((await f.send(draft('o', channel('ch'), trusted))).audience).toEqual({ kind: 'users', users: ['o', 'a'] });
      });

      it('stores a single-chat message and returns it with a uid, a cursor and its receivers', async () => {
        const f = fx();
        await f.users('a', 'b');
        const before = Date.now();
        const p = payload({ content: 'hi b', extra: 'e', mentionedTarget: ['b'] });
        const r = await f.send(draft('a', single('b'), { payload: p, clientId: 'dev', platform: 3 }));
        const after = Date.now();
        expect(r.duplicate).toBe(false);
        expect(r.count).toBe(1);
        expect(r.seq).toBeGreaterThan(0);
        expect(Number.isSafeInteger(r.message.uid) && r.message.uid > 0).toBe(true);
        expect(r.message).toMatchObject({
          sender: 'a',
          conv: single('b'),
          payload: p,
          toUsers: [],
          kind: MessageKind.conversation,
          status: MessageStatus.normal,
          updatedAt: 0,
          clientId: 'dev',
          platform: 3,
        });
        expect(r.message.timestamp).toBeGreaterThanOrEqual(before - 5_000);
        expect(r.message.timestamp).toBeLessThanOrEqual(after + 5_000);
        expect(await f.s.messages.getMessage(r.message.uid, Date.now())).toEqual(r.message);
        expect(await f.s.messages.getMessage(r.message.uid + 1, Date.now())).toBeNull();
      });

      it('gives later messages larger uids and cursors', async () => {
        const f = fx();
        await f.users('a', 'b');
        let last: AppendResult | undefined;
        for (let i = 0; i < 10; i++) {
          const r = await f.send(draft(i % 2 ? 'a' : 'b', single(i % 2 ? 'b' : 'a')));
          if (last) {
            expect(r.message.uid).toBeGreaterThan(last.message.uid);
            expect(r.seq).toBeGreaterThan(last.seq);
          }
          last = r;
        }
        expect(await f.s.sync.headSeq()).toBeGreaterThanOrEqual(last!.seq);
      });

      it('refuses an unknown sender or receiver (not_exist), leaving no trace', async () => {
        const f = fx();
        await f.users('a', 'b');
        const head = await f.s.sync.headSeq();
        await expectCoreError(f.send(draft('ghost', single('b'))), 'not_exist');
        await expectCoreError(f.send(draft('a', single('ghost'))), 'not_exist');
        await expectCoreError(f.send(draft('a', group('nogroup'))), 'not_exist');
        await expectCoreError(f.send(draft('a', channel('nochannel'))), 'not_exist');
        await expectCoreError(f.send(multicastDraft('a', ['b', 'ghost'])), 'not_exist');
        expect(await f.s.sync.headSeq()).toBe(head);
        expect(await f.inbox('b')).toEqual([]);
        expect(await f.inbox('a')).toEqual([]);
      });

      it('refuses a blocked or muted sender (user_blocked)', async () => {
        const f = fx();
        await f.users('a', 'b', 'm');
        await f.s.users.setUserStatus('a', UserStatus.blocked);
        await f.s.users.setUserStatus('m', UserStatus.muted);
        await expectCoreError(f.send(draft('a', single('b'))), 'user_blocked');
        await expectCoreError(f.send(draft('m', single('b'))), 'user_blocked');
        await f.s.users.setUserStatus('a', UserStatus.normal);
        expect((await f.send(draft('a', single('b')))).seq).toBeGreaterThan(0);
        expect(await f.inbox('b')).toHaveLength(1);
      });

      it('group sends: not_in_group for non-members, group_muted for a muted group or a silenced member', async () => {
        const f = fx();
        await f.users('o', 'mgr', 'a', 'quiet', 'allowed', 'out');
        await f.group('g', 'o', ['mgr', 'a', 'quiet', 'allowed']);
        await f.s.groups.setMemberType('g', ['mgr'], GroupMemberType.manager);
        await f.s.groups.setMemberType('g', ['quiet'], GroupMemberType.silent);
        await f.s.groups.setMemberType('g', ['allowed'], GroupMemberType.allowed);

        await expectCoreError(f.send(draft('out', group('g'))), 'not_in_group');
        await expectCoreError(f.send(draft('quiet', group('g'))), 'group_muted');
        const ok = await f.send(draft('a', group('g')));
        expect(ok.count).toBe(4);

        await f.s.groups.updateGroup('g', { mute: 1 });
        await expectCoreError(f.send(draft('a', group('g'))), 'group_muted');
        for (const who of ['o', 'mgr', 'allowed']) {
          expect((await f.send(draft(who, group('g')))).seq, `${who} may speak in a muted group`).toBeGreaterThan(0);
        }
        // Removing a member takes away the right to send.
        await f.s.groups.updateGroup('g', { mute: 0 });
        await f.s.groups.removeMembers('g', ['a']);
        await expectCoreError(f.send(draft('a', group('g'))), 'not_in_group');
      });

      it('system messages skip the membership and mute checks', async () => {
        const f = fx();
        await f.users('o', 'a', 'out');
        await f.group('g', 'o', ['a']);
        await f.s.groups.updateGroup('g', { mute: 1 });
        const r = await f.send(draft('out', group('g'), { system: true }));
        expect(r.seq).toBeGreaterThan(0);
        expect(await f.inboxUids('a')).toEqual([r.message.uid]);
      });

      it('a group message reaches every member, and toUsers restricts it to the listed members', async () => {
        const f = fx();
        await f.users('o', 'a', 'b', 'out');
        await f.group('g', 'o', ['a', 'b']);
        const all = await f.send(draft('o', group('g')));
        const some = await f.send(draft('o', group('g'), { toUsers: ['a', 'out'] }));
        expect(all.count).toBe(2);
        expect(some.count).toBe(1);
        expect(some.message.toUsers).toEqual(['a', 'out']);
        expect(await f.inboxUids('a')).toEqual([all.message.uid, some.message.uid]);
        expect(await f.inboxUids('b')).toEqual([all.message.uid]);
        expect(await f.inboxUids('o')).toEqual([all.message.uid, some.message.uid]);
        expect(await f.inboxUids('out')).toEqual([]);
      });

      it('channel sends: the owner reaches subscribers, a subscriber reaches the owner, others get not_in_channel', async () => {
        const f = fx();
        await f.users('o', 's1', 's2', 'out');
        await f.s.channels.upsertChannel('ch', { name: 'n', owner: 'o' });
        await f.s.channels.subscribe('ch', 's1', true);
        await f.s.channels.subscribe('ch', 's2', true);
        const down = await f.send(draft('o', channel('ch')));
        expect(down.count).toBe(2);
        const up = await f.send(draft('s1', channel('ch')));
        expect(up.count).toBe(1);
        await expectCoreError(f.send(draft('out', channel('ch'))), 'not_in_channel');
        expect(await f.inboxUids('s1')).toEqual([down.message.uid, up.message.uid]);
        expect(await f.inboxUids('s2')).toEqual([down.message.uid]);
        expect(await f.inboxUids('o')).toEqual([down.message.uid, up.message.uid]);
        expect(await f.inboxUids('out')).toEqual([]);
      });

      it('multicast: one uid, each target receives it, nobody else', async () => {
        const f = fx();
        await f.users('a', 'b', 'c', 'd');
        const r = await f.send(multicastDraft('a', ['b', 'c']));
        expect(r.count).toBe(2);
        expect(r.message.kind).toBe(MessageKind.multicast);
        expect(await f.inboxUids('b')).toEqual([r.message.uid]);
        expect(await f.inboxUids('c')).toEqual([r.message.uid]);
        expect(await f.inboxUids('d')).toEqual([]);
      });

      it('a transparent message (persistFlag 4) is checked and gets a uid, but is never stored', async () => {
        const f = fx();
        await f.users('a', 'b', 'out');
        await f.group('g', 'a', ['b']);
        const head = await f.s.sync.headSeq();
        const before = await f.send(draft('a', single('b')));
        const t = await f.send(draft('a', single('b'), { payload: payload({ persistFlag: PersistFlag.transparent }) }));
        expect(t.seq).toBe(0);
        expect(t.message.uid).toBeGreaterThan(before.message.uid);
        expect(t.count).toBe(1);
        expect(t.message.payload.persistFlag).toBe(PersistFlag.transparent);
        expect(await f.s.messages.getMessage(t.message.uid, Date.now())).toBeNull();
        expect(await f.inboxUids('b')).toEqual([before.message.uid]);
        expect(await f.s.sync.headSeq()).toBe(before.seq);
        expect(before.seq).toBeGreaterThan(head);
        const after = await f.send(draft('a', single('b')));
        expect(after.message.uid).toBeGreaterThan(t.message.uid);
        // Still checked:
        await expectCoreError(f.send(draft('out', group('g'), { payload: payload({ persistFlag: PersistFlag.transparent }) })), 'not_in_group');
        expect((await f.s.conversations.listConversations('b'))[0]?.lastUid).toBe(after.message.uid);
      });

      it('a resend with the same clientMsgId returns the first result as a duplicate', async () => {
        const f = fx();
        await f.users('a', 'b', 'c');
        const first = await f.send(draft('a', single('b'), { clientMsgId: 'm-1', payload: payload({ content: 'one' }) }));
        const again = await f.send(draft('a', single('b'), { clientMsgId: 'm-1', payload: payload({ content: 'one' }) }));
        expect(first.duplicate).toBe(false);
        expect(again.duplicate).toBe(true);
        expect(again.message.uid).toBe(first.message.uid);
        expect(again.seq).toBe(first.seq);
        expect(again.message.payload.content).toBe('one');
        // Another sender's identical clientMsgId is a different message.
        const other = await f.send(draft('c', single('b'), { clientMsgId: 'm-1' }));
        expect(other.duplicate).toBe(false);
        expect(other.message.uid).not.toBe(first.message.uid);
        expect(await f.inboxUids('b')).toEqual([first.message.uid, other.message.uid]);
      });

      it('concurrent resends with one clientMsgId store one message', async () => {
        const f = fx();
        await f.users('a', 'b');
        const rs = await Promise.all(Array.from({ length: 5 }, () => f.send(draft('a', single('b'), { clientMsgId: 'dup' }))));
        expect(new Set(rs.map((r) => r.message.uid)).size).toBe(1);
        expect(rs.filter((r) => !r.duplicate)).toHaveLength(1);
        expect(await f.inboxUids('b')).toHaveLength(1);
      });

      it("recalls in place with core's recall payload; a second recall changes nothing", async () => {
        const f = fx();
        await f.users('a', 'b');
        const sent = await f.send(draft('a', single('b'), { payload: payload({ content: 'secret' }) }));
        const r = await f.s.messages.recallMessage(sent.message.uid, 'admin', {});
        expect(r.unchanged).toBe(false);
        expect(r.seq).toBeGreaterThan(sent.seq);
        expect(r.message.uid).toBe(sent.message.uid);
        expect(r.message.status).toBe(MessageStatus.recalled);
        expect(r.message.payload).toEqual(recallPayload(sent.message, 'admin'));
        const stored = await f.s.messages.getMessage(sent.message.uid, Date.now());
        expect(stored?.status).toBe(MessageStatus.recalled);
        expect(stored?.payload).toEqual(recallPayload(sent.message, 'admin'));
        expect(stored?.payload.type).toBe(RECALL_CONTENT_TYPE);
        expect(stored?.payload.content).toBe('admin');
        expect(JSON.parse(stored!.payload.extra)).toMatchObject({ s: 'a', c: 'secret', ts: sent.message.timestamp });

        const head = await f.s.sync.headSeq();
        const again = await f.s.messages.recallMessage(sent.message.uid, 'someone else', {});
        expect(again.unchanged).toBe(true);
        expect(again.seq).toBe(0);
        expect(again.message.payload.content, 'the first recall stays').toBe('admin');
        expect(await f.s.messages.getMessage(sent.message.uid, Date.now())).toEqual(stored);
        expect(await f.s.sync.headSeq()).toBe(head);
      });

      it('recall, update and delete of an unknown message are not_exist', async () => {
        const f = fx();
        await f.users('a');
        await expectCoreError(f.s.messages.recallMessage(123456, 'a', {}), 'not_exist');
        await expectCoreError(f.s.messages.updateMessage(123456, payload(), true, Date.now()), 'not_exist');
        await expectCoreError(f.s.messages.deleteMessage(123456, {}), 'not_exist');
      });

      it('a scope kind that does not match the message is not_exist, and changes nothing', async () => {
        const f = fx();
        await f.users('a', 'b');
        const conv = await f.send(draft('a', single('b')));
        const multi = await f.send(multicastDraft('a', ['b']));
        const bcast = await f.send(broadcastDraft('a'));
        await expectCoreError(f.s.messages.recallMessage(conv.message.uid, 'a', { kind: MessageKind.broadcast }), 'not_exist');
        await expectCoreError(f.s.messages.recallMessage(multi.message.uid, 'a', { kind: MessageKind.broadcast }), 'not_exist');
        await expectCoreError(f.s.messages.deleteMessage(bcast.message.uid, { kind: MessageKind.multicast }), 'not_exist');
        await expectCoreError(f.s.messages.deleteMessage(conv.message.uid, { kind: MessageKind.multicast, receivers: ['b'] }), 'not_exist');
        for (const r of [conv, multi, bcast]) {
          expect((await f.s.messages.getMessage(r.message.uid, Date.now()))?.status).toBe(MessageStatus.normal);
        }
        expect(await f.inboxUids('b')).toEqual([conv.message.uid, multi.message.uid, bcast.message.uid]);
        // With the right kind it works.
        expect((await f.s.messages.recallMessage(bcast.message.uid, 'a', { kind: MessageKind.broadcast })).unchanged).toBe(false);
      });

      it('recalls a multicast for some receivers only; others keep the original', async () => {
        const f = fx();
        await f.users('a', 'b', 'c', 'd');
        const sent = await f.send(multicastDraft('a', ['b', 'c'], { payload: payload({ content: 'oops' }) }));
        const r = await f.s.messages.recallMessage(sent.message.uid, 'a', { kind: MessageKind.multicast, receivers: ['b', 'd'] });
        expect(r.unchanged).toBe(false);
        expect(r.seq).toBeGreaterThan(sent.seq);
        expect(r.audience).toEqual({ kind: 'users', users: ['b'] });
        const bView = (await f.inbox('b'))[0]!;
        expect(bView.uid).toBe(sent.message.uid);
        expect(bView.status).toBe(MessageStatus.recalled);
        expect(bView.payload).toEqual(recallPayload(sent.message, 'a'));
        const cView = (await f.inbox('c'))[0]!;
        expect(cView.status).toBe(MessageStatus.normal);
        expect(cView.payload.content).toBe('oops');
        expect(await f.inbox('d'), 'd never received it and learns nothing').toEqual([]);
        expect(await f.replayAll('d')).toEqual([]);
        expect((await f.s.messages.getMessage(sent.message.uid, Date.now()))?.status).toBe(MessageStatus.normal);
        // b learns of it through a recall event.
        const bEvents = await f.replayAll('b');
        expect(bEvents.map((e) => e.type)).toEqual(['message', 'recall']);
        // Again for b: nothing changes.
        const again = await f.s.messages.recallMessage(sent.message.uid, 'a', { kind: MessageKind.multicast, receivers: ['b'] });
        expect(again.unchanged).toBe(true);
        expect(again.seq).toBe(0);
      });

      it('deletes a multicast for some receivers only; others keep it', async () => {
        const f = fx();
        await f.users('a', 'b', 'c');
        const sent = await f.send(multicastDraft('a', ['b', 'c']));
        const r = await f.s.messages.deleteMessage(sent.message.uid, { kind: MessageKind.multicast, receivers: ['b'] });
        expect(r.unchanged).toBe(false);
        expect(r.seq).toBeGreaterThan(sent.seq);
        expect(await f.inbox('b')).toEqual([]);
        expect((await f.replayAll('b')).some((e) => e.type === 'delete' && e.uid === sent.message.uid)).toBe(true);
        expect(await f.inboxUids('c')).toEqual([sent.message.uid]);
        expect(await f.s.messages.getMessage(sent.message.uid, Date.now())).not.toBeNull();
      });

      it('updates the content; distribute records an event devices receive', async () => {
        const f = fx();
        await f.users('a', 'b');
        const sent = await f.send(draft('a', single('b')));
        const at = Date.now() + 1234;
        const quiet = await f.s.messages.updateMessage(sent.message.uid, payload({ content: 'v2' }), false, at);
        expect(quiet.seq).toBe(0);
        expect(quiet.message.payload.content).toBe('v2');
        expect(quiet.message.updatedAt).toBe(at);
        expect(await f.s.messages.getMessage(sent.message.uid, Date.now())).toMatchObject({ updatedAt: at, payload: { content: 'v2' } });
        expect((await f.replayAll('b')).map((e) => e.type)).toEqual(['message']);

        const loud = await f.s.messages.updateMessage(sent.message.uid, payload({ content: 'v3' }), true, at + 1);
        expect(loud.seq).toBeGreaterThan(sent.seq);
        expect(loud.unchanged).toBe(false);
        const events = await f.replayAll('b');
        expect(events.map((e) => e.type)).toEqual(['message', 'update']);
        expect(events[1]!.seq).toBe(loud.seq);
        expect(events[1]!.message?.payload.content).toBe('v3');
        expect(events[0]!.message?.payload.content, 'replay shows the current content').toBe('v3');
      });

      it('delete leaves a tombstone: the message is gone for reads and changes, and a delete event is recorded', async () => {
        const f = fx();
        await f.users('a', 'b');
        const sent = await f.send(draft('a', single('b'), { payload: payload({ content: 'bye' }) }));
        const r = await f.s.messages.deleteMessage(sent.message.uid, {});
        expect(r.unchanged).toBe(false);
        expect(r.seq).toBeGreaterThan(sent.seq);
        expect(r.message.uid).toBe(sent.message.uid);
        expect(r.message.payload.content, 'the result carries the original').toBe('bye');
        expect(await f.s.messages.getMessage(sent.message.uid, Date.now())).toBeNull();
        await expectCoreError(f.s.messages.deleteMessage(sent.message.uid, {}), 'not_exist');
        await expectCoreError(f.s.messages.recallMessage(sent.message.uid, 'a', {}), 'not_exist');
        await expectCoreError(f.s.messages.updateMessage(sent.message.uid, payload(), true, Date.now()), 'not_exist');
        const events = await f.replayAll('b');
        expect(events.filter((e) => e.type === 'message')).toEqual([]);
        const del = events.find((e) => e.type === 'delete');
        expect(del?.uid).toBe(sent.message.uid);
        expect(del?.seq).toBe(r.seq);
        expect(JSON.stringify(events)).not.toContain('bye');
      });

      it('an expiring message is gone after its expireDuration', async () => {
        const f = fx();
        await f.users('a', 'b');
        const sent = await f.send(draft('a', single('b'), { payload: payload({ expireDuration: 10 }) }));
        const ts = sent.message.timestamp;
        expect(await f.s.messages.getMessage(sent.message.uid, ts + 9_999)).not.toBeNull();
        expect(await f.s.messages.getMessage(sent.message.uid, ts + 10_000)).toBeNull();
        expect(await f.inboxUids('b', ts + 5_000)).toEqual([sent.message.uid]);
        expect(await f.inboxUids('b', ts + 10_001)).toEqual([]);
      });

      it('a member who joined later learns nothing of changes to messages sent before', async () => {
        const f = fx();
        await f.users('o', 'a', 'late');
        await f.group('g', 'o', ['a']);
        const m1 = await f.send(draft('o', group('g'), { payload: payload({ content: 'before-1' }) }));
        const m2 = await f.send(draft('o', group('g'), { payload: payload({ content: 'before-2' }) }));
        const m3 = await f.send(draft('o', group('g'), { payload: payload({ content: 'before-3' }) }));
        await f.s.groups.addMembers('g', [{ memberId: 'late' }], MAX_MEMBERS);
        await f.s.messages.recallMessage(m1.message.uid, 'o', {});
        await f.s.messages.updateMessage(m2.message.uid, payload({ content: 'before-2 edited' }), true, Date.now());
        await f.s.messages.deleteMessage(m3.message.uid, {});
        const m4 = await f.send(draft('o', group('g')));
        const events = await f.replayAll('late');
        expect(events.map((e) => e.uid)).toEqual([m4.message.uid]);
        expect(JSON.stringify(events)).not.toContain('before-');
        // Members from the start see every change (a deleted message's own event is omitted by contract; its delete stays).
        expect((await f.replayAll('a')).map((e) => e.type)).toEqual(['message', 'message', 'recall', 'update', 'delete', 'message']);
      });

      it('a user created after a broadcast learns nothing of its recall', async () => {
        const f = fx();
        await f.users('admin', 'a');
        const r = await f.send(broadcastDraft('admin', { payload: payload({ content: 'early news' }) }));
        await f.user('late');
        await f.s.messages.recallMessage(r.message.uid, 'admin', { kind: MessageKind.broadcast });
        expect(await f.replayAll('late')).toEqual([]);
        expect((await f.replayAll('a')).map((e) => e.type)).toContain('recall');
      });

      it('broadcast reaches every user created before it and no user created after', async () => {
        const f = fx();
        await f.users('admin', 'a', 'b');
        const r1 = await f.send(broadcastDraft('admin'));
        expect(r1.count).toBe(2);
        expect(r1.seq).toBeGreaterThan(0);
        await f.user('late');
        const r2 = await f.send(broadcastDraft('admin'));
        expect(r2.count).toBe(3);
        expect(await f.inboxUids('a')).toEqual([r1.message.uid, r2.message.uid]);
        expect(await f.inboxUids('b')).toEqual([r1.message.uid, r2.message.uid]);
        expect(await f.inboxUids('late')).toEqual([r2.message.uid]);
        // Recall for everyone; per-receiver delete for one.
        await f.s.messages.recallMessage(r1.message.uid, 'admin', { kind: MessageKind.broadcast });
        expect((await f.inbox('a'))[0]?.status).toBe(MessageStatus.recalled);
        await f.s.messages.deleteMessage(r2.message.uid, { kind: MessageKind.broadcast, receivers: ['b'] });
        expect(await f.inboxUids('b')).toEqual([r1.message.uid]);
        expect(await f.inboxUids('a')).toEqual([r1.message.uid, r2.message.uid]);
      });

      it('a broadcast counts every other user, exactly, across creates, updates and destroys', async () => {
        const f = fx();
        await f.users('a', 'b', 'c');
        expect((await f.send(broadcastDraft('a'))).count).toBe(2);
        await f.user('b', { displayName: 'again' }); // an upsert of an existing user adds nobody
        await expectCoreError(f.s.users.upsertUser('d', { name: 'name-a' }), 'name_taken');
        expect((await f.send(broadcastDraft('a'))).count).toBe(2);
        await Promise.all(['d', 'e', 'f'].map((id) => f.user(id)));
        await f.s.users.destroyUser('c');
        await expectCoreError(f.s.users.destroyUser('c'), 'not_exist');
        expect(await f.s.users.countUsers()).toBe(5);
        expect((await f.send(broadcastDraft('b'))).count).toBe(4);
        // A system broadcast whose sender is not a user reaches every user.
        expect((await f.send(broadcastDraft('ghost', { system: true }))).count).toBe(5);
        await f.s.users.destroyUser('a');
        expect((await f.send(broadcastDraft('b'))).count).toBe(3);
        expect(await f.s.users.countUsers()).toBe(4);
      });

      it('a blocked user cannot broadcast', async () => {
        const f = fx();
        await f.users('admin', 'a');
        await f.s.users.setUserStatus('admin', UserStatus.blocked);
        await expectCoreError(f.send(broadcastDraft('admin')), 'user_blocked');
        expect(await f.inbox('a')).toEqual([]);
      });
    });

    // ------------------------------------------------------------------ conversations
    describe('conversations', () => {
      const fx = useStore(factory, DEFAULT_FANOUT);

      it('counts persistFlag 3 messages as unread for receivers, not for the sender', async () => {
        const f = fx();
        await f.users('a', 'b');
        const counted = payload({ persistFlag: PersistFlag.count });
        await f.send(draft('a', single('b'), { payload: counted }));
        await f.send(draft('a', single('b'), { payload: counted }));
        const last = await f.send(draft('a', single('b'), { payload: payload({ persistFlag: PersistFlag.persist }) }));
        const bConvs = await f.s.conversations.listConversations('b');
        expect(bConvs).toHaveLength(1);
        expect(bConvs[0]).toMatchObject({ conv: single('a'), unread: 2, lastUid: last.message.uid, lastTimestamp: last.message.timestamp, readTimestamp: 0 });
        const aConvs = await f.s.conversations.listConversations('a');
        expect(aConvs).toHaveLength(1);
        expect(aConvs[0]).toMatchObject({ conv: single('b'), unread: 0, lastUid: last.message.uid });
        expect(await f.s.messages.unreadTotal('b', ConvType.single)).toBe(2);
        expect(await f.s.messages.unreadTotal('a', ConvType.single)).toBe(0);
        expect(await f.s.messages.unreadTotal('b', ConvType.group)).toBe(0);
      });

      it('lists conversations most recent first, ties by type, target, line; pages by keyset continue exactly, past a cursor that left the list', async () => {
        const f = fx();
        await f.users('b', 's1', 's2', 's3', 's4', 's5');
        await f.group('g1', 's1', ['b']);
        await f.group('g2', 's1', ['b']);
        const t0 = Date.now();
        const counted = payload({ persistFlag: PersistFlag.count });
        // Three instants (the messages' own, through a reserved identity: the store's clock may run in
        // another thread); several conversations share each (ties ordered by type, target, line).
        const at = async (ms: number, sender: string, conv: Conversation): Promise<void> => {
          await f.send(draft(sender, conv, { payload: counted, identity: { ...(await f.s.messages.reserveUid()), timestamp: t0 + ms } }));
        };
        for (const line of [0, 2]) await at(1000, 's1', single('b', line));
        await at(1000, 's3', single('b'));
        await at(2000, 's1', group('g2'));
        await at(2000, 's5', single('b'));
        await at(2000, 's1', group('g1'));
        await at(3000, 's2', single('b'));
        await at(3000, 's4', single('b'));
        const key = (c: { conv: Conversation; lastTimestamp: number }) => `${c.lastTimestamp - t0}/${c.conv.type}/${c.conv.target}/${c.conv.line}`;
        const all = await f.s.conversations.listConversations('b');
        expect(all.map(key)).toEqual(['3000/0/s2/0', '3000/0/s4/0', '2000/0/s5/0', '2000/1/g1/0', '2000/1/g2/0', '1000/0/s1/0', '1000/0/s1/2', '1000/0/s3/0']);
        for (const limit of [1, 2, 3, 8, 20]) {
          const pages: string[] = [];
          let after: { lastTimestamp: number; conv: Conversation } | undefined;
          for (let guard = 0; guard < 20; guard++) {
            const page = await f.s.conversations.listConversations('b', { limit, after });
            expect(page.length).toBeLessThanOrEqual(limit);
            pages.push(...page.map(key));
            const last = page.at(-1);
            if (page.length < limit || !last) break;
            after = { lastTimestamp: last.lastTimestamp, conv: last.conv };
          }
          expect(pages, `limit ${limit}`).toEqual(all.map(key));
        }
        // A cursor whose conversation is no longer listed (deleted since) still continues after its place.
        await f.s.conversations.deleteConversation('b', group('g1'), Date.now());
        const rest = await f.s.conversations.listConversations('b', { limit: 10, after: { lastTimestamp: t0 + 2000, conv: group('g1') } });
        expect(rest.map(key)).toEqual(['2000/1/g2/0', '1000/0/s1/0', '1000/0/s1/2', '1000/0/s3/0']);
      });

      it('counts group messages for every member but the sender', async () => {
        const f = fx();
        await f.users('o', 'a', 'b');
        await f.group('g', 'o', ['a', 'b']);
        await f.send(draft('a', group('g'), { payload: payload({ persistFlag: PersistFlag.count }) }));
        const unread = async (u: string) => (await f.s.conversations.listConversations(u)).find((c) => c.conv.target === 'g')?.unread;
        expect(await unread('o')).toBe(1);
        expect(await unread('b')).toBe(1);
        expect(await unread('a')).toBe(0);
        expect(await f.s.messages.unreadTotal('b', ConvType.group)).toBe(1);
      });

      it('markRead raises the read timestamp, recounts unread, and never lowers it', async () => {
        const f = fx();
        await f.users('a', 'b');
        const t0 = Date.now();
        const counted = payload({ persistFlag: PersistFlag.count });
        const sent: AppendResult[] = [];
        for (let i = 1; i <= 3; i++) {
          clockAt(t0 + i * 1000);
          sent.push(await f.send(draft('a', single('b'), { payload: counted })));
        }
        const [m1, m2, m3] = sent.map((r) => r.message);
        const unreadAfter = (ts: number) => sent.filter((r) => r.message.timestamp > ts).length;
        const r1 = await f.s.conversations.markRead('b', single('a'), m1!.timestamp);
        expect(r1.timestamp).toBe(m1!.timestamp);
        expect(r1.seq).toBeGreaterThan(sent[2]!.seq);
        expect(await f.s.conversations.getReadTimestamp('b', single('a'))).toBe(m1!.timestamp);
        expect((await f.s.conversations.listConversations('b'))[0]).toMatchObject({ unread: unreadAfter(m1!.timestamp), readTimestamp: m1!.timestamp });

        const r2 = await f.s.conversations.markRead('b', single('a'), m2!.timestamp);
        expect(r2.timestamp).toBe(m2!.timestamp);
        expect((await f.s.conversations.listConversations('b'))[0]?.unread).toBe(unreadAfter(m2!.timestamp));

        const lower = await f.s.conversations.markRead('b', single('a'), m1!.timestamp);
        expect(lower.timestamp, 'never lowers').toBe(m2!.timestamp);
        expect(await f.s.conversations.getReadTimestamp('b', single('a'))).toBe(m2!.timestamp);
        expect((await f.s.conversations.listConversations('b'))[0]?.unread).toBe(unreadAfter(m2!.timestamp));

        await f.s.conversations.markRead('b', single('a'), m3!.timestamp);
        expect(await f.s.messages.unreadTotal('b', ConvType.single)).toBe(0);
        expect(await f.s.conversations.getReadTimestamp('a', single('b')), "the other side's mark is separate").toBe(0);
        await expectCoreError(f.s.conversations.markRead('ghost', single('a'), 1), 'not_exist');
      });

      it("markRead's recount only counts messages the user received (toUsers)", async () => {
        const f = fx();
        await f.users('o', 'b', 'c');
        await f.group('g', 'o', ['b', 'c']);
        const t0 = Date.now();
        const counted = payload({ persistFlag: PersistFlag.count });
        clockAt(t0 + 1000);
        const toB = await f.send(draft('o', group('g'), { payload: counted, toUsers: ['b'] }));
        clockAt(t0 + 2000);
        await f.send(draft('o', group('g'), { payload: counted }));
        const unread = async (u: string) => (await f.s.conversations.listConversations(u)).find((x) => x.conv.target === 'g')?.unread;
        expect(await unread('c')).toBe(1);
        expect(await unread('b')).toBe(2);
        const mark = toB.message.timestamp - 1; // before both messages
        await f.s.conversations.markRead('c', group('g'), mark);
        expect(await unread('c'), 'c never received the message addressed to b').toBe(1);
        await f.s.conversations.markRead('b', group('g'), mark);
        expect(await unread('b')).toBe(2);
      });

      it("markRead's recount counts the multicasts the user received", async () => {
        const f = fx();
        await f.users('a', 'b', 'c');
        const t0 = Date.now();
        const counted = payload({ persistFlag: PersistFlag.count });
        clockAt(t0 + 1000);
        const multi = await f.send(multicastDraft('a', ['b', 'c'], { payload: counted }));
        clockAt(t0 + 2000);
        const direct = await f.send(draft('a', single('b'), { payload: counted }));
        const unread = async () => (await f.s.conversations.listConversations('b')).find((x) => x.conv.target === 'a')?.unread;
        expect(await unread()).toBe(2);
        await f.s.conversations.markRead('b', single('a'), multi.message.timestamp - 1);
        expect(await unread(), 'nothing was read: both messages are after the mark').toBe(2);
        await f.s.conversations.markRead('b', single('a'), multi.message.timestamp);
        expect(await unread()).toBe(direct.message.timestamp > multi.message.timestamp ? 1 : 0);
      });

      it('clearUserMessages hides a time range for one user only', async () => {
        const f = fx();
        await f.users('a', 'b');
        const t0 = Date.now();
        const sent: AppendResult[] = [];
        for (let i = 1; i <= 3; i++) {
          clockAt(t0 + i * 1000);
          sent.push(await f.send(draft('a', single('b'))));
        }
        const [m1, m2] = sent.map((r) => r.message);
        const start = m1!.timestamp;
        const end = m2!.timestamp;
        const r = await f.s.conversations.clearUserMessages('b', single('a'), start, end);
        expect(r.seq).toBeGreaterThan(sent[2]!.seq);
        const expected = sent.filter((x) => x.message.timestamp < start || x.message.timestamp > end).map((x) => x.message.uid);
        expect(await f.inboxUids('b')).toEqual(expected);
        expect(await f.inboxUids('a'), 'the other side keeps everything').toEqual(sent.map((x) => x.message.uid));
        const clear = (await f.replayAll('b')).find((e) => e.type === 'clear');
        expect(clear).toMatchObject({ seq: r.seq, conv: single('a'), start, end });
        await expectCoreError(f.s.conversations.clearUserMessages('ghost', single('a'), 0, 1), 'not_exist');
        // Messages after the range are not hidden.
        clockAt(t0 + 10_000);
        const later = await f.send(draft('a', single('b')));
        expect(await f.inboxUids('b')).toEqual([...expected, ...(later.message.timestamp > end ? [later.message.uid] : [])]);
      });

      it('deleteConversation removes it from one user\'s list and hides its messages up to then', async () => {
        const f = fx();
        await f.users('a', 'b', 'c');
        const t0 = Date.now();
        clockAt(t0 + 1000);
        const m1 = await f.send(draft('a', single('b'), { payload: payload({ persistFlag: PersistFlag.count }) }));
        await f.send(draft('c', single('b')));
        const r = await f.s.conversations.deleteConversation('b', single('a'), m1.message.timestamp);
        expect(r.seq).toBeGreaterThan(m1.seq);
        const bList = await f.s.conversations.listConversations('b');
        expect(bList.map((c) => c.conv.target)).toEqual(['c']);
        expect(await f.s.messages.unreadTotal('b', ConvType.single)).toBe(0);
        expect((await f.s.conversations.listConversations('a')).map((c) => c.conv.target), "not from others' lists").toEqual(['b']);
        expect((await f.inbox('b')).map((m) => m.sender)).toEqual(['c']);
        expect(await f.inboxUids('a')).toEqual([m1.message.uid]);
        expect((await f.replayAll('b')).some((e) => e.type === 'conv_delete' && e.seq === r.seq)).toBe(true);
        await expectCoreError(f.s.conversations.deleteConversation('ghost', single('a'), Date.now()), 'not_exist');
        // A new message brings the conversation back, with only the new message.
        clockAt(t0 + 2000);
        const m2 = await f.send(draft('a', single('b')));
        expect((await f.s.conversations.listConversations('b')).map((c) => c.conv.target).sort()).toEqual(['a', 'c']);
        const visible = m2.message.timestamp > m1.message.timestamp ? [m2.message.uid] : [];
        expect((await f.inbox('b')).filter((m) => m.sender === 'a').map((m) => m.uid)).toEqual(visible);
      });

      it('delivery timestamps start at 0 and never go down', async () => {
        const f = fx();
        await f.users('a', 'b');
        expect(await f.s.conversations.getDeliveryTimestamp('a')).toBe(0);
        expect(await f.s.conversations.markDelivered('a', 2000)).toBe(2000);
        expect(await f.s.conversations.markDelivered('a', 1000)).toBe(2000);
        expect(await f.s.conversations.getDeliveryTimestamp('a')).toBe(2000);
        expect(await f.s.conversations.markDelivered('a', 3000)).toBe(3000);
        expect(await f.s.conversations.getDeliveryTimestamp('b')).toBe(0);
        await expectCoreError(f.s.conversations.markDelivered('ghost', 1), 'not_exist');
      });
    });

    // ------------------------------------------------------------------ unread counters
    describe('unread counters follow the rule of core/unread.ts (counter = recount after every mutation)', () => {
      const fx = useStore(factory, DEFAULT_FANOUT);
      const counted = (over: Partial<Payload> = {}): Payload => payload({ persistFlag: PersistFlag.count, ...over });

      it('delete for everyone: a counted message stops counting; an uncounted one changes nothing', async () => {
        const f = fx();
        await f.users('a', 'b', 'c');
        const m1 = await sendApart(f, draft('a', single('b'), { payload: counted() }));
        const m2 = await sendApart(f, draft('a', single('b'), { payload: counted() }));
        const m3 = await sendApart(f, draft('a', single('b'), { payload: counted() }));
        const p = await sendApart(f, draft('a', single('b')));
        const fromC = await sendApart(f, draft('c', single('b'), { payload: counted() }));
        await expectUnread(f, 'b', single('a'), 3);
        await expectUnread(f, 'b', single('c'), 1);
        await f.s.messages.deleteMessage(m2.message.uid, {});
        await expectUnread(f, 'b', single('a'), 2, 'after deleting m2');
        await f.s.messages.deleteMessage(p.message.uid, {});
        await expectUnread(f, 'b', single('a'), 2, 'after deleting a persistFlag 1 message');
        await f.s.messages.deleteMessage(fromC.message.uid, {});
        await expectUnread(f, 'b', single('c'), 0, "after deleting c's only message");
        await f.s.messages.recallMessage(m3.message.uid, 'a', {});
        await expectUnread(f, 'b', single('a'), 1, 'after recalling m3');
        await f.s.messages.deleteMessage(m3.message.uid, {});
        await expectUnread(f, 'b', single('a'), 1, 'deleting a recalled message changes nothing');
        await f.s.messages.deleteMessage(m1.message.uid, {});
        await expectUnread(f, 'b', single('a'), 0);
        await expectUnread(f, 'a', single('b'), 0, 'the sender never counts its own');
      });

      it('per-receiver recall: only those receivers stop counting it', async () => {
        const f = fx();
        await f.users('a', 'b', 'c', 'd');
        const multi = await sendApart(f, multicastDraft('a', ['b', 'c', 'd'], { payload: counted() }));
        await sendApart(f, draft('a', single('b'), { payload: counted() }));
        for (const [u, n] of [['b', 2], ['c', 1], ['d', 1]] as const) await expectUnread(f, u, single('a'), n);
        await f.s.messages.recallMessage(multi.message.uid, 'a', { kind: MessageKind.multicast, receivers: ['b'] });
        for (const [u, n] of [['b', 1], ['c', 1], ['d', 1]] as const) await expectUnread(f, u, single('a'), n, 'recalled for b');
        const again = await f.s.messages.recallMessage(multi.message.uid, 'a', { kind: MessageKind.multicast, receivers: ['b', 'c'] });
        expect(again.audience).toEqual({ kind: 'users', users: ['c'] });
        for (const [u, n] of [['b', 1], ['c', 0], ['d', 1]] as const) await expectUnread(f, u, single('a'), n, 'recalled for b and c');
        // Deleting it for a receiver it was recalled for changes nothing more.
        await f.s.messages.deleteMessage(multi.message.uid, { kind: MessageKind.multicast, receivers: ['c'] });
        await expectUnread(f, 'c', single('a'), 0);
        // Recalled for everyone: d stops counting it; b and c are unchanged.
        await f.s.messages.recallMessage(multi.message.uid, 'a', { kind: MessageKind.multicast });
        for (const [u, n] of [['b', 1], ['c', 0], ['d', 0]] as const) await expectUnread(f, u, single('a'), n, 'recalled for everyone');
      });

      it('per-receiver delete: only those receivers stop counting it; a second delete changes nothing', async () => {
        const f = fx();
        await f.users('a', 'b', 'c');
        const multi = await sendApart(f, multicastDraft('a', ['b', 'c'], { payload: counted() }));
        await f.s.messages.deleteMessage(multi.message.uid, { kind: MessageKind.multicast, receivers: ['b'] });
        await expectUnread(f, 'b', single('a'), 0);
        await expectUnread(f, 'c', single('a'), 1);
        await f.s.messages.deleteMessage(multi.message.uid, { kind: MessageKind.multicast, receivers: ['b'] });
        await expectUnread(f, 'b', single('a'), 0);
        await f.s.messages.deleteMessage(multi.message.uid, {});
        await expectUnread(f, 'b', single('a'), 0);
        await expectUnread(f, 'c', single('a'), 0);
      });

      it('recall of a message already read, or hidden, changes nothing', async () => {
        const f = fx();
        await f.users('a', 'b');
        const m1 = await sendApart(f, draft('a', single('b'), { payload: counted() }));
        const m2 = await sendApart(f, draft('a', single('b'), { payload: counted() }));
        await f.s.conversations.markRead('b', single('a'), m1.message.timestamp);
        await expectUnread(f, 'b', single('a'), 1);
        await f.s.messages.recallMessage(m1.message.uid, 'a', {});
        await expectUnread(f, 'b', single('a'), 1, 'm1 was read');
        const m3 = await sendApart(f, draft('a', single('b'), { payload: counted() }));
        await sendApart(f, draft('a', single('b'), { payload: counted() }));
        await f.s.conversations.clearUserMessages('b', single('a'), m3.message.timestamp, m3.message.timestamp);
        await expectUnread(f, 'b', single('a'), 2, 'm2 and m4');
        await f.s.messages.recallMessage(m3.message.uid, 'a', {});
        await expectUnread(f, 'b', single('a'), 2, 'm3 was hidden');
        await f.s.messages.recallMessage(m2.message.uid, 'a', {});
        await expectUnread(f, 'b', single('a'), 1);
      });

      it('clear: a range hides what it covers from the count; a later message counts again', async () => {
        const f = fx();
        await f.users('a', 'b');
        const ms: AppendResult[] = [];
        for (let i = 0; i < 4; i++) ms.push(await sendApart(f, draft('a', single('b'), { payload: counted() })));
        const ts = ms.map((m) => m.message.timestamp);
        await f.s.conversations.clearUserMessages('b', single('a'), 1, ts[0]! - 1);
        await expectUnread(f, 'b', single('a'), 4, 'a range before every message');
        await f.s.conversations.clearUserMessages('b', single('a'), ts[1]!, ts[2]!);
        await expectUnread(f, 'b', single('a'), 2, 'm2 and m3 hidden');
        await expectUnread(f, 'a', single('b'), 0, "the other party's view is untouched");
        await f.s.conversations.clearUserMessages('b', single('a'), 0, ts[3]!);
        await expectUnread(f, 'b', single('a'), 0, 'everything hidden');
        await sendApart(f, draft('a', single('b'), { payload: counted() }));
        await expectUnread(f, 'b', single('a'), 1, 'a later message');
        // Deleting a hidden message changes nothing.
        await f.s.messages.deleteMessage(ms[0]!.message.uid, {});
        await expectUnread(f, 'b', single('a'), 1);
      });

      it('clear_by_user in a group: only that member stops counting what it hides', async () => {
        const f = fx();
        await f.users('o', 'a', 'b');
        await f.group('g', 'o', ['a', 'b']);
        const m1 = await sendApart(f, draft('o', group('g'), { payload: counted() }));
        await sendApart(f, draft('o', group('g'), { payload: counted() }));
        await f.s.conversations.clearUserMessages('a', group('g'), 0, m1.message.timestamp);
        await expectUnread(f, 'a', group('g'), 1);
        await expectUnread(f, 'b', group('g'), 2);
        await f.s.messages.deleteMessage(m1.message.uid, {});
        await expectUnread(f, 'a', group('g'), 1, 'm1 was hidden for a');
        await expectUnread(f, 'b', group('g'), 1);
      });

      it('conversation delete: nothing before it counts; a later message brings the conversation back, counted', async () => {
        const f = fx();
        await f.users('a', 'b');
        const m1 = await sendApart(f, draft('a', single('b'), { payload: counted() }));
        const m2 = await sendApart(f, draft('a', single('b'), { payload: counted() }));
        await expectUnread(f, 'b', single('a'), 2);
        await f.s.conversations.deleteConversation('b', single('a'), m2.message.timestamp);
        expect((await f.s.conversations.listConversations('b')).map((c) => c.conv)).toEqual([]);
        await expectUnread(f, 'b', single('a'), 0, 'deleted');
        const m3 = await sendApart(f, draft('a', single('b'), { payload: counted() }));
        await expectUnread(f, 'b', single('a'), 1, 'a later message');
        await f.s.messages.recallMessage(m1.message.uid, 'a', {});
        await f.s.messages.deleteMessage(m2.message.uid, {});
        await expectUnread(f, 'b', single('a'), 1, 'changes of hidden messages change nothing');
        await f.s.messages.recallMessage(m3.message.uid, 'a', {});
        await expectUnread(f, 'b', single('a'), 0);
      });

      it('read: the mark takes away what is at or before it; a later message counts; delete after read', async () => {
        const f = fx();
        await f.users('a', 'b');
        const ms: AppendResult[] = [];
        for (let i = 0; i < 3; i++) ms.push(await sendApart(f, draft('a', single('b'), { payload: counted() })));
        await f.s.conversations.markRead('b', single('a'), ms[1]!.message.timestamp);
        await expectUnread(f, 'b', single('a'), 1);
        await f.s.messages.deleteMessage(ms[0]!.message.uid, {});
        await expectUnread(f, 'b', single('a'), 1, 'deleting a read message');
        await f.s.messages.deleteMessage(ms[2]!.message.uid, {});
        await expectUnread(f, 'b', single('a'), 0, 'deleting the unread one');
        await f.s.messages.deleteMessage(ms[1]!.message.uid, {});
        await expectUnread(f, 'b', single('a'), 0);
        await sendApart(f, draft('a', single('b'), { payload: counted() }));
        await expectUnread(f, 'b', single('a'), 1, 'a later message');
        await f.s.conversations.markRead('b', single('a'), ms[0]!.message.timestamp);
        await expectUnread(f, 'b', single('a'), 1, 'a lower mark is ignored');
      });

      it('a read mark or a hide ahead of the clock: messages stamped up to it do not count, later ones do', async () => {
        const f = fx();
        await f.users('a', 'b', 'c');
        const m0 = await sendApart(f, draft('a', single('b'), { payload: counted() }));
        const ahead = m0.message.timestamp + 60_000;
        await f.s.conversations.markRead('b', single('a'), ahead);
        await f.s.conversations.clearUserMessages('c', single('a'), 0, ahead);
        for (let i = 0; i < 3; i++) {
          await sendApart(f, draft('a', single('b'), { payload: counted() }));
          await sendApart(f, draft('a', single('c'), { payload: counted() }));
        }
        await expectUnread(f, 'b', single('a'), 0, 'read up to a time ahead of these messages');
        await expectUnread(f, 'c', single('a'), 0, 'hidden up to a time ahead of these messages');
        expect(await f.inbox('c'), 'replay hides them too').toEqual([]);
        // Group members alike: the mark is per conversation.
        await f.group('g', 'a', ['b']);
        await sendApart(f, draft('a', group('g'), { payload: counted() }));
        await expectUnread(f, 'b', group('g'), 1, 'another conversation of b counts');
      });

      it('group messages: every member but the sender counts them, and each mutation moves exactly the affected members', async () => {
        const f = fx();
        await f.users('o', 'a', 'b', 'c');
        await f.group('g', 'o', ['a', 'b', 'c']);
        const a1 = await sendApart(f, draft('a', group('g'), { payload: counted() }));
        const o1 = await sendApart(f, draft('o', group('g'), { payload: counted() }));
        await sendApart(f, draft('b', group('g')));
        const a2 = await sendApart(f, draft('a', group('g'), { payload: counted() }));
        const expectAll = async (want: Record<string, number>, label: string): Promise<void> => {
          for (const [u, n] of Object.entries(want)) await expectUnread(f, u, group('g'), n, label);
        };
        await expectAll({ o: 2, a: 1, b: 3, c: 3 }, 'sent');
        await f.s.messages.deleteMessage(a1.message.uid, {});
        await expectAll({ o: 1, a: 1, b: 2, c: 2 }, 'a1 deleted');
        await f.s.messages.recallMessage(o1.message.uid, 'o', {});
        await expectAll({ o: 1, a: 0, b: 1, c: 1 }, 'o1 recalled');
        await f.s.conversations.markRead('b', group('g'), a2.message.timestamp);
        await expectAll({ o: 1, a: 0, b: 0, c: 1 }, 'b read');
        await f.s.messages.deleteMessage(a2.message.uid, { receivers: ['c'] });
        await expectAll({ o: 1, a: 0, b: 0, c: 0 }, 'a2 deleted for c');
        await sendApart(f, draft('a', group('g'), { payload: counted(), toUsers: ['b'] }));
        await expectAll({ o: 1, a: 0, b: 1, c: 0 }, 'to b only');
        await f.s.messages.recallMessage(a2.message.uid, 'a', { receivers: ['o'] });
        await expectAll({ o: 0, a: 0, b: 1, c: 0 }, 'a2 recalled for o');
      });

      it('persistFlag 0, 1, 3, 4: only 3 counts; an update that changes the flag moves the count', async () => {
        const f = fx();
        await f.users('a', 'b', 'c');
        const none = await sendApart(f, draft('a', single('b'), { payload: payload({ persistFlag: PersistFlag.none }) }));
        const persist = await sendApart(f, draft('a', single('b'), { payload: payload({ persistFlag: PersistFlag.persist }) }));
        const count = await sendApart(f, draft('a', single('b'), { payload: counted() }));
        await sendApart(f, draft('a', single('b'), { payload: payload({ persistFlag: PersistFlag.transparent }) }));
        await expectUnread(f, 'b', single('a'), 1);
        const update = (r: AppendResult, persistFlag: number) =>
          f.s.messages.updateMessage(r.message.uid, payload({ persistFlag, content: `now ${persistFlag}` }), true, Date.now());
        await update(persist, PersistFlag.count);
        await expectUnread(f, 'b', single('a'), 2, '1 → 3');
        await update(none, PersistFlag.count);
        await expectUnread(f, 'b', single('a'), 3, '0 → 3');
        await update(count, PersistFlag.none);
        await expectUnread(f, 'b', single('a'), 2, '3 → 0');
        await update(persist, PersistFlag.persist);
        await expectUnread(f, 'b', single('a'), 1, '3 → 1');
        await update(none, PersistFlag.count);
        await expectUnread(f, 'b', single('a'), 1, '3 → 3');
        await f.s.conversations.markRead('b', single('a'), count.message.timestamp);
        await update(count, PersistFlag.count);
        await expectUnread(f, 'b', single('a'), 0, '0 → 3 of a read message');
        await expectUnread(f, 'a', single('b'), 0, 'never the sender');

        // A conversation holding only persistFlag 0 messages is not listed; made countable, it is.
        const only0 = await sendApart(f, draft('a', single('c'), { payload: payload({ persistFlag: PersistFlag.none }) }));
        expect(await f.s.conversations.listConversations('c')).toEqual([]);
        await expectUnread(f, 'c', single('a'), 0);
        await update(only0, PersistFlag.count);
        expect((await f.s.conversations.listConversations('c')).map((c) => [c.conv, c.unread, c.lastUid])).toEqual([[single('a'), 1, only0.message.uid]]);
        await expectUnread(f, 'c', single('a'), 1);
        await update(only0, PersistFlag.none);
        await expectUnread(f, 'c', single('a'), 0);
      });

      it('a persistFlag 3 message from a user to itself never counts', async () => {
        const f = fx();
        await f.users('a');
        await sendApart(f, draft('a', single('a'), { payload: counted() }));
        await expectUnread(f, 'a', single('a'), 0);
      });

      it('a random walk of sends and mutations: every counter equals the recount after every step', async () => {
        const f = fx();
        const users = ['a', 'b', 'c', 'd'];
        await f.users(...users);
        await f.group('g', 'a', ['b', 'c', 'd']);
        const seed = 0x5eed + users.length;
        const rnd = prng(seed);
        const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
        const sent: AppendResult[] = [];
        const flags = [PersistFlag.none, PersistFlag.persist, PersistFlag.count, PersistFlag.count];
        const convsOf = (u: string): Conversation[] => [...users.filter((x) => x !== u).map((x) => single(x)), group('g')];
        const log: string[] = [];
        for (let step = 0; step < 40; step++) {
          const op = sent.length < 3 ? 0 : Math.floor(rnd() * 9);
          const u = pick(users);
          const target = sent.length > 0 ? pick(sent) : undefined;
          let label = '';
          switch (op) {
            case 0:
            case 1:
            case 2: {
              const p = payload({ persistFlag: pick(flags) });
              const kind = Math.floor(rnd() * 3);
              const to = pick(users.filter((x) => x !== u));
              const d =
                kind === 0 ? draft(u, single(to), { payload: p }) : kind === 1 ? draft(u, group('g'), { payload: p }) : multicastDraft(u, users.filter((x) => x !== u), { payload: p });
              sent.push(await sendApart(f, d));
              label = `send ${u} kind ${kind} flag ${p.persistFlag}`;
              break;
            }
            case 3:
              label = `delete ${target!.message.uid}`;
              await f.s.messages.deleteMessage(target!.message.uid, {}).catch(() => undefined);
              break;
            case 4:
              label = `delete ${target!.message.uid} for ${u}`;
              await f.s.messages.deleteMessage(target!.message.uid, { receivers: [u] }).catch(() => undefined);
              break;
            case 5: {
              const mine = rnd() < 0.5;
              label = `recall ${target!.message.uid}${mine ? '' : ` for ${u}`}`;
              await f.s.messages.recallMessage(target!.message.uid, 'a', mine ? {} : { receivers: [u] }).catch(() => undefined);
              break;
            }
            case 6: {
              const flag = pick(flags);
              label = `update ${target!.message.uid} to ${flag}`;
              await f.s.messages.updateMessage(target!.message.uid, payload({ persistFlag: flag }), true, Date.now()).catch(() => undefined);
              break;
            }
            case 7: {
              const conv = pick(convsOf(u));
              const a = pick(sent).message.timestamp;
              const b = pick(sent).message.timestamp;
              label = `clear ${u} ${convKey(conv)} ${Math.min(a, b)}..${Math.max(a, b)}`;
              await f.s.conversations.clearUserMessages(u, conv, Math.min(a, b), Math.max(a, b));
              break;
            }
            case 8: {
              const conv = pick(convsOf(u));
              if (rnd() < 0.25) {
                label = `conversation delete ${u} ${convKey(conv)}`;
                await f.s.conversations.deleteConversation(u, conv, target!.message.timestamp);
              } else {
                label = `read ${u} ${convKey(conv)} at ${target!.message.timestamp}`;
                await f.s.conversations.markRead(u, conv, target!.message.timestamp);
              }
              break;
            }
          }
          log.push(label);
          for (const x of users) {
            try {
              await checkedUnread(f, x, convsOf(x));
            } catch (err) {
              throw new Error(`seed ${seed}, step ${step} (${log.join('; ')}): ${String(err)}`);
            }
          }
        }
      });

      describe('shared timelines (inlineFanoutMax 2)', () => {
        const fxShared = useStore(factory, 2);

        it('messages of a shared timeline are not counted, and the recount agrees', async () => {
          const f = fxShared();
          await f.users('o', 'a', 'b', 'c');
          await f.group('g', 'o', ['a', 'b', 'c']);
          const m = await sendApart(f, draft('a', group('g'), { payload: counted() }));
          for (const u of ['o', 'b', 'c']) await expectUnread(f, u, group('g'), 0);
          await f.s.messages.recallMessage(m.message.uid, 'a', {});
          await f.s.conversations.markRead('b', group('g'), m.message.timestamp);
          for (const u of ['o', 'b', 'c']) await expectUnread(f, u, group('g'), 0);
        });
      });
    });

    // ------------------------------------------------------------------ sync
    describe('sync', () => {
      const fx = useStore(factory, DEFAULT_FANOUT);

      it('an empty store has head 0 and replays nothing', async () => {
        const f = fx();
        await f.users('a');
        expect(await f.s.sync.headSeq()).toBe(0);
        const page = await f.s.sync.replay('a', 0, 10, Date.now());
        expect(page).toEqual({ events: [], next: 0, done: true });
      });

      it('replays in pages, in order, with no gap or duplicate, and respects `after`', async () => {
        const f = fx();
        await f.users('a', 'b', 'c');
        const sent: AppendResult[] = [];
        for (let i = 0; i < 23; i++) {
          sent.push(await f.send(draft(i % 3 === 0 ? 'c' : 'a', single('b'), { payload: payload({ content: `m${i}` }) })));
          if (i % 4 === 0) await f.send(draft('a', single('c'))); // noise for someone else
        }
        const all = await f.replayAll('b', 0, 1000);
        expect(all.map((e) => e.uid)).toEqual(sent.map((r) => r.message.uid));
        expect(all.map((e) => e.seq)).toEqual(sent.map((r) => r.seq));
        expect(all.map((e) => e.message?.payload.content)).toEqual(sent.map((_, i) => `m${i}`));

        for (const limit of [1, 4, 5, 23]) {
          const pages: number[][] = [];
          let cursor = 0;
          for (;;) {
            const page = await f.s.sync.replay('b', cursor, limit, Date.now());
            expect(page.events.length).toBeLessThanOrEqual(limit);
            pages.push(page.events.map((e) => e.seq));
            if (page.done) break;
            expect(page.next).toBeGreaterThan(cursor);
            cursor = page.next;
          }
          expect(pages.flat(), `limit ${limit}`).toEqual(sent.map((r) => r.seq));
        }

        const mid = sent[9]!.seq;
        const rest = await f.replayAll('b', mid, 6);
        expect(rest.map((e) => e.uid)).toEqual(sent.slice(10).map((r) => r.message.uid));
        const end = await f.s.sync.replay('b', sent[22]!.seq, 10, Date.now());
        expect(end.events).toEqual([]);
        expect(end.done).toBe(true);
        expect(end.next).toBeGreaterThanOrEqual(sent[22]!.seq);
      });

      it("a user's replay never shows other people's conversations", async () => {
        const f = fx();
        await f.users('a', 'b', 'c');
        await f.send(draft('a', single('b')));
        await f.send(multicastDraft('a', ['b']));
        await f.s.conversations.markRead('b', single('a'), Date.now());
        expect(await f.replayAll('c')).toEqual([]);
      });

      it('replays the current state: recalled and updated content, without deleted or hidden messages', async () => {
        const f = fx();
        await f.users('a', 'b', 'c');
        const r1 = await f.send(draft('a', single('b'), { payload: payload({ content: 'one' }) }));
        const r2 = await f.send(draft('a', single('b'), { payload: payload({ content: 'two' }) }));
        const r3 = await f.send(draft('a', single('b'), { payload: payload({ content: 'three' }) }));
        const r4 = await f.send(draft('c', single('b'), { payload: payload({ content: 'four' }) }));
        await f.s.messages.recallMessage(r1.message.uid, 'a', {});
        await f.s.messages.updateMessage(r2.message.uid, payload({ content: 'two, edited' }), false, Date.now());
        await f.s.messages.deleteMessage(r3.message.uid, {});
        await f.s.conversations.clearUserMessages('b', single('c'), 0, r4.message.timestamp);

        const bMsgs = await f.inbox('b');
        expect(bMsgs.map((m) => m.uid)).toEqual([r1.message.uid, r2.message.uid]);
        expect(bMsgs[0]).toMatchObject({ status: MessageStatus.recalled, payload: { type: RECALL_CONTENT_TYPE, content: 'a' } });
        expect(bMsgs[1]!.payload.content).toBe('two, edited');
        expect(await f.inboxUids('a')).toEqual([r1.message.uid, r2.message.uid]);
        expect(await f.inboxUids('c'), 'the hide is for b only').toEqual([r4.message.uid]);
        const events = await f.replayAll('b');
        expect(events.map((e) => e.type)).toEqual(['message', 'message', 'recall', 'delete', 'clear']);
        for (const e of events) expect(['three', 'four']).not.toContain(e.message?.payload.content);
      });

      it('cursors follow commit order under concurrent appends: a reader that passed a cursor never misses an event', async () => {
        const f = fx();
        await f.users('a', 'b', 'c');
        await f.group('g', 'a', ['b', 'c']);
        let finished = false;
        const seen: SyncEvent[] = [];
        let cursor = 0;
        const reader = (async () => {
          for (;;) {
            const last = finished;
            const page = await f.s.sync.replay('b', cursor, 7, Date.now());
            for (const e of page.events) {
              expect(e.seq).toBeGreaterThan(cursor);
              seen.push(e);
            }
            cursor = page.next;
            if (page.done) {
              if (last) return;
              await tick();
            }
          }
        })();
        reader.catch(() => undefined); // its failure is reported by `await reader` below
        const pending: Promise<AppendResult>[] = [];
        for (let i = 0; i < 120; i++) {
          const d = i % 3 === 0 ? draft('c', group('g')) : i % 3 === 1 ? draft('a', single('b')) : draft('c', single('b'));
          pending.push(f.send(d));
          if (i % 9 === 8) await tick();
        }
        const results = await Promise.all(pending);
        finished = true;
        await reader;
        const seqs = results.map((r) => r.seq);
        expect(new Set(seqs).size).toBe(seqs.length);
        expect(new Set(results.map((r) => r.message.uid)).size).toBe(results.length);
        const seenSeqs = seen.map((e) => e.seq);
        for (let i = 1; i < seenSeqs.length; i++) expect(seenSeqs[i]).toBeGreaterThan(seenSeqs[i - 1]!);
        expect([...seenSeqs].sort((x, y) => x - y)).toEqual([...seqs].sort((x, y) => x - y));
        expect(await f.s.sync.headSeq()).toBeGreaterThanOrEqual(Math.max(...seqs));
      });

      it('concurrent appends: valid ones succeed, each invalid one fails alone with its own error', async () => {
        const f = fx();
        await f.users('a', 'b', 'c', 'blocked');
        await f.group('g', 'a', ['b']);
        await f.s.users.setUserStatus('blocked', UserStatus.blocked);
        const cases: Array<{ d: MessageDraft; kind?: ErrorKind }> = [];
        for (let i = 0; i < 60; i++) {
          switch (i % 6) {
            case 0:
              cases.push({ d: draft('a', single('b'), { payload: payload({ content: `ok${i}` }) }) });
              break;
            case 1:
              cases.push({ d: draft('c', group('g')), kind: 'not_in_group' });
              break;
            case 2:
              cases.push({ d: draft('a', group('g'), { payload: payload({ content: `ok${i}` }) }) });
              break;
            case 3:
              cases.push({ d: draft('a', single('ghost')), kind: 'not_exist' });
              break;
            case 4:
              cases.push({ d: draft('blocked', single('b')), kind: 'user_blocked' });
              break;
            default:
              cases.push({ d: multicastDraft('c', ['b'], { payload: payload({ content: `ok${i}` }) }) });
          }
        }
        const settled = await Promise.allSettled(cases.map((c) => f.send(c.d)));
        const okUids: number[] = [];
        settled.forEach((r, i) => {
          const want = cases[i]!.kind;
          if (want) {
            expect(r.status, `case ${i}`).toBe('rejected');
            const reason = (r as PromiseRejectedResult).reason as unknown;
            expect(reason).toBeInstanceOf(CoreError);
            expect((reason as CoreError).kind).toBe(want);
          } else {
            expect(r.status, `case ${i}`).toBe('fulfilled');
            okUids.push((r as PromiseFulfilledResult<AppendResult>).value.message.uid);
          }
        });
        expect(okUids).toHaveLength(30);
        const bUids = await f.inboxUids('b');
        expect([...bUids].sort((x, y) => x - y)).toEqual([...okUids].sort((x, y) => x - y));
        for (const m of await f.inbox('b')) expect(m.payload.content).toMatch(/^ok\d+$/);
      });

      it('sends submitted together store exactly what the same sends one at a time store: rows, counters, seq order', async () => {
        // The same set-up twice in one store (ids prefixed by the round); then the same sends, all at once
        // in round 0 (a backend may write them together), one after another in round 1. Hides and read
        // marks fall between the sends' timestamps (identities reserved at points of a timeline, not in
        // the order of sending); conversations are moved by several of the sends, some not existing yet.
        const f = fx();
        const views: unknown[] = [];
        for (const k of [0, 1]) {
          const id = (x: string): string => `r${k}${x}`;
          await f.users(id('a'), id('b'), id('c'), id('d'));
          await f.group(id('g'), id('a'), [id('b'), id('c')]);
          const early = [await sendApart(f, draft(id('a'), single(id('b')))), await sendApart(f, draft(id('a'), group(id('g'))))];
          const plan: Array<[number, MessageDraft]> = [
            [5, draft(id('a'), single(id('b')))],
            [15, draft(id('a'), single(id('b')))],
            [12, multicastDraft(id('a'), [id('b'), id('c'), id('d')])],
            [25, draft(id('a'), group(id('g')))],
            [26, draft(id('a'), single(id('b')))],
            [35, draft(id('a'), group(id('g')))],
            [36, draft(id('b'), single(id('a')))],
            [37, draft(id('a'), single(id('d')))],
            [38, draft(id('c'), group(id('g')))],
            [39, broadcastDraft(id('a'))],
            [40, draft(id('a'), single(id('d')))],
            [28, draft(id('a'), group(id('g')), { payload: payload({ persistFlag: PersistFlag.persist }) })],
          ];
          // The timeline: each point its own millisecond; a uid is issued at or after its timestamp.
          const at = new Map<number, number>();
          const identity = new Map<number, { uid: number; timestamp: number }>();
          for (const point of [...new Set([...plan.map(([p]) => p), 10, 20, 30])].sort((x, y) => x - y)) {
            if (plan.some(([p]) => p === point)) identity.set(point, await f.s.messages.reserveUid());
            at.set(point, identity.get(point)?.timestamp ?? Date.now());
            await clockPast(at.get(point)!);
          }
          await f.s.conversations.clearUserMessages(id('b'), single(id('a')), at.get(10)!, at.get(20)!);
          await f.s.conversations.markRead(id('c'), group(id('g')), at.get(30)!);
          // Counted, but the last (persist: stored, never counted).
          const drafts = plan.map(([p, d]): MessageDraft => ({ ...d, payload: p === 28 ? d.payload : { ...d.payload, persistFlag: PersistFlag.count }, identity: identity.get(p)! }));
          let sent: AppendResult[] = [];
          if (k === 0) sent = await Promise.all(drafts.map((d) => f.send(d)));
          else for (const d of drafts) sent.push(await f.send(d));
          const seqs = sent.map((r) => r.seq);
          for (let i = 1; i < seqs.length; i++) expect(seqs[i], `seq order, round ${k}`).toBeGreaterThan(seqs[i - 1]!);
          const index = new Map([...early, ...sent].map((r, i) => [r.message.uid, i]));
          const stamp = new Map([...early, ...sent].map((r) => [r.message.uid, r.message.timestamp]));
          const local = (c: Conversation): Conversation => ({ ...c, target: c.target.slice(2) });
          const view: Record<string, unknown> = {};
          for (const u of ['a', 'b', 'c', 'd']) {
            await checkedUnread(f, id(u), [single(id('a')), single(id('b')), single(id('d')), group(id('g'))]);
            view[u] = {
              conversations: (await f.s.conversations.listConversations(id(u)))
                .map((c) => ({ conv: local(c.conv), unread: c.unread, last: index.get(c.lastUid), ofLast: c.lastTimestamp === stamp.get(c.lastUid), read: c.readTimestamp === at.get(30) }))
                .sort((x, y) => convKey(x.conv).localeCompare(convKey(y.conv))),
              events: (await f.replayAll(id(u))).map((e) => [e.type, index.get(e.uid)]),
            };
          }
          views.push(view);
        }
        expect(views[0]).toEqual(views[1]);
      });
    });

    // ------------------------------------------------------------------ shared audiences
    describe('shared audience (inlineFanoutMax 2)', () => {
      const fx = useStore(factory, 2);

      it('a group send reads the group as it is after every change (members, mute, a rejected send, a dismissal) and numbers its messages 1, 2, 3…', async () => {
        const f = fx();
        await f.users('o', 'a', 'b', 'c');
        await f.group('g', 'o', ['a', 'b']);
        /** A send whose job records the group's message number (fill.groupSeq), and that number. */
        const numbered = async (sender: string): Promise<{ count: number; gs: unknown }> => {
          const effects = [{ channel: 'webhook', target: 'cb', orderKey: `gs-${sender}`, kind: 'K', body: { gs: 0 }, meta: {}, fill: { groupSeq: 'gs' } }];
          const r = await f.send(draft(sender, group('g'), { effects }));
          const [job] = await f.s.outbox.list({ limit: 1 });
          return { count: r.count, gs: (JSON.parse(job!.body) as { gs: unknown }).gs };
        };
        expect(await numbered('a')).toEqual({ count: 2, gs: 1 });
        expect(await numbered('o')).toEqual({ count: 2, gs: 2 });
        await f.s.groups.addMembers('g', [{ memberId: 'c' }], MAX_MEMBERS);
        expect(await numbered('c')).toEqual({ count: 3, gs: 3 });
        await f.s.groups.updateGroup('g', { mute: 1 });
        await expectCoreError(f.send(draft('a', group('g'))), 'group_muted');
        expect(await numbered('o'), 'a refused send takes no number').toEqual({ count: 3, gs: 4 });
        await f.s.groups.updateGroup('g', { mute: 0 });
        await f.s.groups.removeMembers('g', ['b']);
        expect(await numbered('a')).toEqual({ count: 2, gs: 5 });
        await f.s.users.destroyUser('c');
        expect(await numbered('a')).toEqual({ count: 1, gs: 6 });
        await f.s.groups.deleteGroup('g');
        await expectCoreError(f.send(draft('a', group('g'))), 'not_exist');
        await f.group('g', 'o', ['a', 'b']);
        expect(await numbered('b'), 'a group created again under the same id starts again').toEqual({ count: 2, gs: 1 });
      });

      it('a group above the limit is addressed as a whole and replayed to its members by membership', async () => {
        const f = fx();
        await f.users('o', 'a', 'b', 'late', 'out');
        await f.group('g', 'o', ['a', 'b']);
        const m1 = await f.send(draft('a', group('g')));
        expect(m1.audience).toEqual({ kind: 'group', groupId: 'g' });
        expect(m1.count).toBe(2);
        for (const u of ['o', 'a', 'b']) expect(await f.inboxUids(u), u).toEqual([m1.message.uid]);
        expect(await f.inboxUids('out')).toEqual([]);

        await f.s.groups.addMembers('g', [{ memberId: 'late' }], MAX_MEMBERS);
        expect(await f.inboxUids('late'), 'joined after m1').toEqual([]);
        const m2 = await f.send(draft('o', group('g')));
        expect(m2.count).toBe(3);
        expect(await f.inboxUids('late')).toEqual([m2.message.uid]);
        expect(await f.inboxUids('b')).toEqual([m1.message.uid, m2.message.uid]);
        expect(await f.inboxUids('out')).toEqual([]);

        await f.s.groups.removeMembers('g', ['b']);
        const m3 = await f.send(draft('o', group('g')));
        expect(m3.count).toBe(2);
        expect(await f.inboxUids('b'), 'removed before m3').not.toContain(m3.message.uid);
        expect(await f.inboxUids('late')).toEqual([m2.message.uid, m3.message.uid]);
        await expectCoreError(f.send(draft('b', group('g'))), 'not_in_group');
      });

      it('a group at the limit still gets per-user delivery', async () => {
        const f = fx();
        await f.users('o', 'a');
        await f.group('g', 'o', ['a']);
        const r = await f.send(draft('o', group('g')));
        expect(r.audience.kind).toBe('users');
        expect(r.audience.kind === 'users' ? [...r.audience.users].sort() : []).toEqual(['a', 'o']);
        expect(await f.inboxUids('a')).toEqual([r.message.uid]);
      });

      it('recall, update and delete of a shared message reach every member', async () => {
        const f = fx();
        await f.users('o', 'a', 'b');
        await f.group('g', 'o', ['a', 'b']);
        const r1 = await f.send(draft('o', group('g'), { payload: payload({ content: 'one' }) }));
        const r2 = await f.send(draft('o', group('g'), { payload: payload({ content: 'two' }) }));
        const r3 = await f.send(draft('o', group('g'), { payload: payload({ content: 'three' }) }));
        const rec = await f.s.messages.recallMessage(r1.message.uid, 'o', {});
        expect(rec.audience).toEqual({ kind: 'group', groupId: 'g' });
        const upd = await f.s.messages.updateMessage(r2.message.uid, payload({ content: 'two!' }), true, Date.now());
        const del = await f.s.messages.deleteMessage(r3.message.uid, {});
        for (const u of ['o', 'a', 'b']) {
          const events = await f.replayAll(u);
          expect(events.map((e) => e.type), u).toEqual(['message', 'message', 'recall', 'update', 'delete']);
          expect(events.map((e) => e.seq)).toEqual([r1.seq, r2.seq, rec.seq, upd.seq, del.seq]);
          expect(events[0]!.message?.status).toBe(MessageStatus.recalled);
          expect(events[1]!.message?.payload.content).toBe('two!');
          expect(events[4]!.uid).toBe(r3.message.uid);
        }
      });

      it('a member who joined a large group later learns nothing of changes to earlier messages', async () => {
        const f = fx();
        await f.users('o', 'a', 'b', 'late');
        await f.group('g', 'o', ['a', 'b']);
        const m1 = await f.send(draft('o', group('g'), { payload: payload({ content: 'before-1' }) }));
        const m2 = await f.send(draft('o', group('g'), { payload: payload({ content: 'before-2' }) }));
        const m3 = await f.send(draft('o', group('g'), { payload: payload({ content: 'before-3' }) }));
        await f.s.groups.addMembers('g', [{ memberId: 'late' }], MAX_MEMBERS);
        await f.s.messages.recallMessage(m1.message.uid, 'o', {});
        await f.s.messages.updateMessage(m2.message.uid, payload({ content: 'before-2 edited' }), true, Date.now());
        await f.s.messages.deleteMessage(m3.message.uid, {});
        const m4 = await f.send(draft('o', group('g')));
        const events = await f.replayAll('late');
        expect(events.map((e) => e.uid)).toEqual([m4.message.uid]);
        expect(JSON.stringify(events)).not.toContain('before-');
      });

      it('toUsers on a large group delivers to the listed members only', async () => {
        const f = fx();
        await f.users('o', 'a', 'b', 'c');
        await f.group('g', 'o', ['a', 'b', 'c']);
        const r = await f.send(draft('o', group('g'), { toUsers: ['b'] }));
        expect(r.count).toBe(1);
        expect(await f.inboxUids('b')).toEqual([r.message.uid]);
        expect(await f.inboxUids('a')).toEqual([]);
        expect(await f.inboxUids('c')).toEqual([]);
      });

      it('clear and conversation delete hide shared messages for one member only', async () => {
        const f = fx();
        await f.users('o', 'a', 'b');
        await f.group('g', 'o', ['a', 'b']);
        const r = await f.send(draft('o', group('g')));
        await f.s.conversations.clearUserMessages('a', group('g'), 0, r.message.timestamp);
        await f.s.conversations.deleteConversation('o', group('g'), r.message.timestamp);
        expect(await f.inboxUids('a')).toEqual([]);
        expect(await f.inboxUids('o')).toEqual([]);
        expect(await f.inboxUids('b')).toEqual([r.message.uid]);
      });

      it('a channel above the limit reaches its subscribers and its owner, not later subscribers', async () => {
        const f = fx();
        await f.users('o', 's1', 's2', 's3', 'late', 'out');
        await f.s.channels.upsertChannel('ch', { name: 'n', owner: 'o' });
        for (const s of ['s1', 's2', 's3']) await f.s.channels.subscribe('ch', s, true);
        const r = await f.send(draft('o', channel('ch')));
        expect(r.audience).toEqual({ kind: 'channel', channelId: 'ch' });
        expect(r.count).toBe(3);
        await f.s.channels.subscribe('ch', 'late', true);
        const r2 = await f.send(draft('o', channel('ch')));
        for (const s of ['s1', 's2', 's3']) expect(await f.inboxUids(s), s).toEqual([r.message.uid, r2.message.uid]);
        expect(await f.inboxUids('o')).toEqual([r.message.uid, r2.message.uid]);
        expect(await f.inboxUids('late')).toEqual([r2.message.uid]);
        expect(await f.inboxUids('out')).toEqual([]);
      });
    });

    // ------------------------------------------------------------------ membership history
    // The same scenarios on both delivery paths: per-user rows (small) and shared timelines (large).
    for (const [label, limit] of [
      ['per-user rows', DEFAULT_FANOUT],
      ['shared timeline, inlineFanoutMax 2', 2],
    ] as const) {
      describe(`membership history (${label})`, () => {
        const fx = useStore(factory, limit);

        it('a member removed while offline replays from its old cursor what was sent while it was a member, and nothing after', async () => {
          await formerMemberReplay(fx());
        });

        it('rejoining opens a new interval: nothing from while away', async () => {
          await rejoinReplay(fx());
        });

        it('a destroyed user is created again without its past memberships', async () => {
          await destroyedReplay(fx());
        });

        it('members of a dismissed group keep what was sent to them, and its later recalls', async () => {
          await dismissedReplay(fx());
        });

        it('channel subscriptions are intervals too', async () => {
          await channelIntervalsReplay(fx());
        });
      });
    }

    // ------------------------------------------------------------------ membership intervals
    describe('membership intervals for live fan-out (inlineFanoutMax 2)', () => {
      const fx = useStore(factory, 2);

      it('memberSeqs: current members without until, past memberships with until, several per user; a dismissed group keeps the past ones', async () => {
        const f = fx();
        await f.users('o', 'a', 'b', 'c', 'd', 'e');
        await f.group('g', 'o', ['a', 'b', 'c']);
        const events: Observed[] = [];
        const seen = async (label: string, r: Shared): Promise<void> => {
          expect(r.audience, `${label} goes to the shared timeline`).toEqual({ kind: 'group', groupId: 'g' });
          events.push({ label, seq: r.seq, origin: r.messageSeq ?? r.seq, intervals: await f.s.groups.memberSeqs('g') });
        };
        const m1 = await f.send(draft('a', group('g'), { payload: payload({ content: 'm1' }) }));
        await seen('m1', m1);
        await f.s.groups.addMembers('g', [{ memberId: 'd' }], MAX_MEMBERS);
        const m2 = await f.send(draft('o', group('g'), { payload: payload({ content: 'm2' }) }));
        await seen('m2', m2);
        expect(await f.s.groups.removeMembers('g', ['b'])).toEqual(['b']);
        let rows = await f.s.groups.memberSeqs('g');
        const bPast = rows.filter((r) => r.userId === 'b');
        expect(bPast).toHaveLength(1);
        expect(bPast[0]!.until, 'a past membership has an end').toBeDefined();
        expect(bPast[0]!.since).toBeLessThan(m1.seq);
        expect(bPast[0]!.until!).toBeGreaterThanOrEqual(m2.seq);
        for (const u of ['o', 'a', 'c', 'd']) expect(rows.filter((r) => r.userId === u).map((r) => r.until), u).toEqual([undefined]);
        expect(rows.some((r) => r.userId === 'e')).toBe(false);
        expect(await f.s.groups.pastGroupsOfUser('b')).toEqual(['g']);
        expect(await f.s.groups.pastGroupsOfUser('a')).toEqual([]);

        const m3 = await f.send(draft('a', group('g'), { payload: payload({ content: 'm3' }) }));
        await seen('m3', m3);
        expect(bPast[0]!.until!).toBeLessThan(m3.seq);
        await f.s.groups.addMembers('g', [{ memberId: 'b' }], MAX_MEMBERS); // joins again
        rows = await f.s.groups.memberSeqs('g');
        const bRows = rows.filter((r) => r.userId === 'b');
        expect(bRows).toHaveLength(2);
        const bNow = bRows.find((r) => r.until === undefined);
        expect(bNow?.since).toBeGreaterThanOrEqual(m3.seq);
        const m4 = await f.send(draft('o', group('g'), { payload: payload({ content: 'm4' }) }));
        await seen('m4', m4);
        await f.s.groups.removeMembers('g', ['c']);
        const toDelete = await f.send(draft('d', group('g'), { payload: payload({ content: 'to delete' }) }));
        // Changes of every message, each reaching whoever was a member when it was sent.
        const rec1 = await f.s.messages.recallMessage(m1.message.uid, 'a', {});
        await seen('recall m1', rec1);
        const upd2 = await f.s.messages.updateMessage(m2.message.uid, payload({ content: 'm2!' }), true, Date.now());
        await seen('update m2', upd2);
        const del = await f.s.messages.deleteMessage(toDelete.message.uid, {});
        await seen('delete', del);
        expect(del.messageSeq).toBe(toDelete.seq);
        const rec3 = await f.s.messages.recallMessage(m3.message.uid, 'a', {});
        await seen('recall m3', rec3);
        await f.s.groups.deleteGroup('g');
        rows = await f.s.groups.memberSeqs('g');
        expect(rows.length).toBeGreaterThan(0);
        expect(rows.filter((r) => r.until === undefined), 'a dismissed group has no current member').toEqual([]);
        expect([...new Set(rows.map((r) => r.userId))].sort()).toEqual(['a', 'b', 'c', 'd', 'o']);
        expect(await f.s.groups.pastGroupsOfUser('a')).toEqual(['g']);
        const rec4 = await f.s.messages.recallMessage(m4.message.uid, 'o', {});
        await seen('recall m4 after the dismissal', rec4);
        const upd2b = await f.s.messages.updateMessage(m2.message.uid, payload({ content: 'm2!!' }), true, Date.now());
        await seen('update m2 after the dismissal', upd2b);

        // Spot checks of the rule, then the whole of it against replay.
        expect(reachedBy(events.find((e) => e.label === 'recall m1')!.intervals, m1.seq)).toEqual(['a', 'b', 'c', 'o']);
        expect(reachedBy(events.find((e) => e.label === 'recall m3')!.intervals, m3.seq)).toEqual(['a', 'c', 'd', 'o']);
        expect(reachedBy(events.find((e) => e.label === 'recall m4 after the dismissal')!.intervals, m4.seq)).toEqual(['a', 'b', 'c', 'd', 'o']);
        await expectIntervalsMatchReplay(f, events, ['o', 'a', 'b', 'c', 'd', 'e']);
      });

      it('audienceSeqs: the owner and subscribers, past subscriptions with until; a destroyed channel keeps the past ones', async () => {
        const f = fx();
        await f.users('o', 's1', 's2', 's3', 's4', 'late', 'out');
        await f.s.channels.upsertChannel('ch', { name: 'n', owner: 'o' });
        // Four subscribers: above inlineFanoutMax 2 also once one has left.
        for (const u of ['s1', 's2', 's3', 's4']) await f.s.channels.subscribe('ch', u, true);
        const events: Observed[] = [];
        const seen = async (label: string, r: Shared): Promise<void> => {
          expect(r.audience, `${label} goes to the shared timeline`).toEqual({ kind: 'channel', channelId: 'ch' });
          events.push({ label, seq: r.seq, origin: r.messageSeq ?? r.seq, intervals: await f.s.channels.audienceSeqs('ch') });
        };
        const c1 = await f.send(draft('o', channel('ch'), { payload: payload({ content: 'c1' }) }));
        await seen('c1', c1);
        await f.s.channels.subscribe('ch', 's3', false);
        let rows = await f.s.channels.audienceSeqs('ch');
        expect(rows.filter((r) => r.userId === 's3').map((r) => r.until !== undefined)).toEqual([true]);
        expect(rows.find((r) => r.userId === 'o')).toEqual({ userId: 'o', since: 0 });
        const c2 = await f.send(draft('o', channel('ch'), { payload: payload({ content: 'c2' }) }));
        await seen('c2', c2);
        // Not observed: its message event leaves replay once it is deleted.
        const c3 = await f.send(draft('o', channel('ch'), { payload: payload({ content: 'c3' }) }));
        await f.s.channels.subscribe('ch', 'late', true);
        const rec1 = await f.s.messages.recallMessage(c1.message.uid, 'o', {});
        await seen('recall c1', rec1);
        const upd2 = await f.s.messages.updateMessage(c2.message.uid, payload({ content: 'c2!' }), true, Date.now());
        await seen('update c2', upd2);
        await f.s.channels.destroyChannel('ch');
        rows = await f.s.channels.audienceSeqs('ch');
        expect(rows.filter((r) => r.until === undefined), 'a destroyed channel has no current subscriber').toEqual([]);
        // Every subscription that saw shared events (late's saw the changes above) is kept.
        expect([...new Set(rows.map((r) => r.userId))].sort()).toEqual(['late', 's1', 's2', 's3', 's4']);
        const del3 = await f.s.messages.deleteMessage(c3.message.uid, {});
        await seen('delete c3 after the destruction', del3);
        const rec2 = await f.s.messages.recallMessage(c2.message.uid, 'o', {});
        await seen('recall c2 after the destruction', rec2);

        expect(reachedBy(events.find((e) => e.label === 'recall c1')!.intervals, c1.seq)).toEqual(['o', 's1', 's2', 's3', 's4']);
        expect(reachedBy(events.find((e) => e.label === 'update c2')!.intervals, c2.seq)).toEqual(['o', 's1', 's2', 's4']);
        expect(reachedBy(events.find((e) => e.label === 'recall c2 after the destruction')!.intervals, c2.seq)).toEqual(['s1', 's2', 's4']);
        await expectIntervalsMatchReplay(f, events, ['o', 's1', 's2', 's3', 's4', 'late', 'out']);
      });

      it('destroyUser reports its channels and the audiences whose past memberships of it were dropped', async () => {
        const f = fx();
        await f.users('o', 'a', 'b', 'v');
        await f.group('g1', 'o', ['a', 'b', 'v']);
        await f.group('g2', 'o', ['a', 'b', 'v']);
        await f.s.channels.upsertChannel('ch1', { name: 'n', owner: 'o' });
        await f.s.channels.upsertChannel('ch2', { name: 'n', owner: 'o' });
        for (const ch of ['ch1', 'ch2']) for (const u of ['a', 'b', 'v']) await f.s.channels.subscribe(ch, u, true);
        for (const conv of [group('g1'), group('g2'), channel('ch1'), channel('ch2')]) await f.send(draft('o', conv));
        await f.s.groups.removeMembers('g2', ['v']);
        await f.s.channels.subscribe('ch2', 'v', false);
        expect((await f.s.groups.memberSeqs('g2')).some((r) => r.userId === 'v')).toBe(true);

        const r = await f.s.users.destroyUser('v');
        expect(r.groups).toEqual(['g1']);
        expect(r.channels).toEqual(['ch1']);
        expect(r.past).toEqual({ groups: ['g2'], channels: ['ch2'] });
        for (const g of ['g1', 'g2']) expect((await f.s.groups.memberSeqs(g)).some((x) => x.userId === 'v'), g).toBe(false);
        for (const ch of ['ch1', 'ch2']) expect((await f.s.channels.audienceSeqs(ch)).some((x) => x.userId === 'v'), ch).toBe(false);
        expect(await f.s.groups.pastGroupsOfUser('v')).toEqual([]);
      });
    });

    describe('shared timelines under load (inlineFanoutMax 2)', () => {
      const fx = useStore(factory, 2);

      it('replay pages across several groups, a channel, broadcasts and per-user rows: in order, no gap, no duplicate', async () => {
        const f = fx();
        await f.users('o', 'a', 'b', 'u', 'x');
        for (const g of ['g1', 'g2', 'g3', 'g4']) await f.group(g, 'o', ['a', 'b', 'u']);
        await f.group('other', 'o', ['a', 'b', 'x']); // u is never in it
        await f.s.channels.upsertChannel('ch', { name: 'n', owner: 'o' });
        for (const s of ['a', 'b', 'u']) await f.s.channels.subscribe('ch', s, true);

        const expected: number[] = [];
        const groupMsgs: AppendResult[] = [];
        let inG4 = true;
        for (let i = 0; i < 240; i++) {
          const k = i % 8;
          if (i === 120) {
            await f.s.groups.removeMembers('g4', ['u']);
            inG4 = false;
          }
          if (k === 0) {
            const r = await f.send(draft('o', group('g1')));
            groupMsgs.push(r);
            expected.push(r.seq);
          } else if (k === 1) expected.push((await f.send(draft(i % 16 === 1 ? 'u' : 'a', group('g2')))).seq);
          else if (k === 2) expected.push((await f.send(draft('b', group('g3')))).seq);
          else if (k === 3) {
            const r = await f.send(draft('a', group('g4')));
            if (inG4) expected.push(r.seq);
          } else if (k === 4) expected.push((await f.send(draft('a', single('u')))).seq);
          else if (k === 5) await f.send(draft('o', group('other')));
          else if (k === 6) expected.push((await f.send(draft('o', channel('ch')))).seq);
          else if (i % 24 === 7) expected.push((await f.send(broadcastDraft('x'))).seq);
          else await f.send(draft('a', single('x')));
        }
        // Changes of earlier group messages, interleaved with new ones.
        for (const r of groupMsgs.slice(0, 10)) {
          expected.push((await f.s.messages.recallMessage(r.message.uid, 'o', {})).seq);
          expected.push((await f.send(draft('b', group('g3')))).seq);
        }
        expect(new Set(expected).size).toBe(expected.length);
        expect(expected.length).toBeGreaterThan(150);

        for (const limit of [1, 3, 7, 50, 1000]) {
          const seqs: number[] = [];
          let cursor = 0;
          for (let guard = 0; ; guard++) {
            expect(guard, 'replay must finish').toBeLessThan(2000);
            const page = await f.s.sync.replay('u', cursor, limit, Date.now());
            expect(page.events.length).toBeLessThanOrEqual(limit);
            for (const e of page.events) {
              expect(e.seq).toBeGreaterThan(cursor);
              expect(e.seq).toBeLessThanOrEqual(page.next);
              seqs.push(e.seq);
            }
            if (page.done) break;
            expect(page.next).toBeGreaterThan(cursor);
            cursor = page.next;
          }
          expect(seqs, `limit ${limit}`).toEqual(expected);
        }
        // Resuming from any cursor gives exactly the rest.
        for (const from of [expected[0]!, expected[57]!, expected[expected.length - 2]!]) {
          expect((await f.replayAll('u', from, 9)).map((e) => e.seq)).toEqual(expected.filter((s) => s > from));
        }
      });
    });

    // ------------------------------------------------------------------ lifecycle
    describe('close', () => {
      const fx = useStore(factory, DEFAULT_FANOUT);

      it('flushes pending writes, then refuses later calls', async () => {
        const f = fx();
        await f.users('a');
        const pending = f.s.users.upsertUser('b', { name: 'bee' });
        await f.s.close();
        expect((await pending).userId).toBe('b');
        expect(await f.s.ping().catch(() => false), 'a closed store is not reachable').toBe(false);
        await expect(f.s.users.upsertUser('c', { name: 'cee' })).rejects.toBeInstanceOf(Error);
        await expect(f.s.users.getUser({ userId: 'a' })).rejects.toBeInstanceOf(Error);
      });
    });
  });
}
