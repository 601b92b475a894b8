import { describe, expect, it } from 'vitest';
import { CoreError } from '../../src/core/errors.js';
import {
  forEachConversationRow,
  listedRecipients,
  perspective,
  planChange,
  planDelivery,
  readReceiptReceivers,
  recipientsToStore,
  takesGroupSeq,
  type DeliveryFacts,
} from '../../src/core/message-plan.js';
import { ConvType, GroupMemberType, MessageKind, PersistFlag, type Conversation, type MessageKindValue } from '../../src/core/model.js';

const single = (target: string): Conversation => ({ type: ConvType.single, target, line: 0 });
const group = (target: string): Conversation => ({ type: ConvType.group, target, line: 0 });
const channel = (target: string): Conversation => ({ type: ConvType.channel, target, line: 0 });

/** A little world: users, groups with members (id → type), channels with subscribers. */
function world(): DeliveryFacts & { taken: string[] } {
  const users = new Set(['a', 'b', 'c', 'd', 'o']);
  const groups = new Map([['g', { mute: 0, msgSeq: 7, members: new Map([['o', GroupMemberType.owner], ['a', 0], ['b', 0], ['s', GroupMemberType.silent]]) }]]);
  const channels = new Map([['ch', { owner: 'o', subs: ['a', 'b', 'c'] }]]);
  const taken: string[] = [];
  return {
    taken,
    userExists: (u) => users.has(u),
    userCount: () => users.size,
    group: (id, takeSeq) => {
      const g = groups.get(id);
      if (!g) return null;
      if (takeSeq) {
        g.msgSeq++;
        taken.push(id);
      }
      return { memberCount: g.members.size, mute: g.mute, msgSeq: g.msgSeq };
    },
    groupMember: (id, u) => {
      const t = groups.get(id)?.members.get(u);
      return t === undefined ? null : { type: t };
    },
    groupMemberIds: (id) => [...(groups.get(id)?.members.keys() ?? [])],
    channel: (id) => {
      const c = channels.get(id);
      return c ? { owner: c.owner, subscriberCount: c.subs.length } : null;
    },
    isSubscriber: (id, u) => channels.get(id)?.subs.includes(u) ?? false,
    subscriberIds: (id) => channels.get(id)?.subs ?? [],
  };
}

const msg = (sender: string, conv: Conversation, kind: MessageKindValue = MessageKind.conversation, toUsers: string[] = []) => ({ sender, conv, kind, toUsers });

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof CoreError) return e.kind;
    throw e;
  }
  return 'ok';
}

describe('message plan: who receives a message (core/message-plan.ts)', () => {
  it('single chats: sender and target listed; an unknown target is refused unless nothing is checked', () => {
    const f = world();
    expect(planDelivery(msg('a', single('b')), 'rules', f, 10)).toEqual({ audience: { kind: 'users', users: ['a', 'b'] }, extraUsers: [], count: 1 });
    expect(planDelivery(msg('a', single('a')), 'rules', f, 10).count).toBe(0);
    expect(code(() => planDelivery(msg('a', single('zz')), 'target', f, 10))).toBe('not_exist');
    expect(planDelivery(msg('a', single('zz')), 'none', f, 10).audience).toEqual({ kind: 'users', users: ['a', 'zz'] });
  });

  it('groups: members listed up to the fan-out limit, a shared timeline above it; send rules; the message number', () => {
    const f = world();
    expect(planDelivery(msg('a', group('g')), 'rules', f, 10, true)).toEqual({
      audience: { kind: 'users', users: ['a', 'o', 'b', 's'] },
      extraUsers: [],
      count: 3,
      groupSeq: 8,
    });
    expect(f.taken).toEqual(['g']);
    expect(planDelivery(msg('a', group('g')), 'rules', f, 3)).toEqual({ audience: { kind: 'group', groupId: 'g' }, extraUsers: [], count: 3 });
    expect(planDelivery(msg('a', group('g'), MessageKind.conversation, ['b', 'zz']), 'rules', f, 3).audience).toEqual({ kind: 'users', users: ['a', 'b'] });
    expect(code(() => planDelivery(msg('c', group('g')), 'rules', f, 10))).toBe('not_in_group');
    expect(code(() => planDelivery(msg('s', group('g')), 'rules', f, 10))).toBe('group_muted');
    expect(code(() => planDelivery(msg('c', group('nope')), 'target', f, 10))).toBe('not_exist');
    // Trusted: any sender.
    expect(planDelivery(msg('c', group('g')), 'target', f, 10).count).toBe(4);
    expect(planDelivery(msg('c', group('nope')), 'none', f, 10).audience).toEqual({ kind: 'users', users: ['c'] });
  });

  it('channels: the owner speaks to subscribers (shared above the limit, the owner then listed apart), a subscriber to the owner', () => {
    const f = world();
    expect(planDelivery(msg('o', channel('ch')), 'rules', f, 10).audience).toEqual({ kind: 'users', users: ['o', 'a', 'b', 'c'] });
    expect(planDelivery(msg('o', channel('ch')), 'rules', f, 2)).toEqual({ audience: { kind: 'channel', channelId: 'ch' }, extraUsers: ['o'], count: 3 });
    expect(planDelivery(msg('a', channel('ch')), 'rules', f, 2).audience).toEqual({ kind: 'users', users: ['a', 'o'] });
    expect(code(() => planDelivery(msg('d', channel('ch')), 'rules', f, 2))).toBe('not_in_channel');
    expect(code(() => planDelivery(msg('o', channel('x')), 'target', f, 2))).toBe('not_exist');
  });

  it('multicast, broadcast, chatroom', () => {
    const f = world();
    expect(planDelivery(msg('a', single('a'), MessageKind.multicast, ['b', 'c', 'b']), 'target', f, 10).audience).toEqual({ kind: 'users', users: ['a', 'b', 'c'] });
    expect(code(() => planDelivery(msg('a', single('a'), MessageKind.multicast, ['zz']), 'target', f, 10))).toBe('not_exist');
    expect(planDelivery(msg('a', single('a'), MessageKind.broadcast), 'target', f, 10)).toEqual({ audience: { kind: 'all' }, extraUsers: [], count: 4 });
    expect(planDelivery(msg('zz', single('zz'), MessageKind.broadcast), 'none', f, 10).count).toBe(5);
    expect(planDelivery(msg('a', { type: ConvType.chatroom, target: 'r', line: 0 }, MessageKind.conversation, ['b']), 'rules', f, 10).audience).toEqual({
      kind: 'chatroom',
      chatroomId: 'r',
      only: ['b'],
    });
  });

  it('changes go to the stored receivers, else the shared timeline whatever its size now', () => {
    const f = world();
    expect(planChange(msg('a', group('g')), ['a', 'b'], f, 1).audience).toEqual({ kind: 'users', users: ['a', 'b'] });
    expect(planChange(msg('a', group('g')), null, f, 100)).toEqual({ audience: { kind: 'group', groupId: 'g' }, extraUsers: [], count: 3 });
    expect(planChange(msg('o', channel('ch')), null, f, 100)).toEqual({ audience: { kind: 'channel', channelId: 'ch' }, extraUsers: ['o'], count: 3 });
    expect(planChange(msg('a', single('a'), MessageKind.broadcast), null, f, 100).audience).toEqual({ kind: 'all' });
    expect(f.taken).toEqual([]);
  });

  it('group message numbers are taken by stored or checked group messages only', () => {
    expect(takesGroupSeq({ kind: MessageKind.conversation })).toBe(true);
    expect(takesGroupSeq({ kind: MessageKind.conversation, system: true })).toBe(false);
    expect(takesGroupSeq({ kind: MessageKind.conversation, discard: true })).toBe(false);
    expect(takesGroupSeq({ kind: MessageKind.multicast })).toBe(false);
  });
});

describe('message plan: per-user rows and views', () => {
  it('recipients: a plain single chat derives them, everything else stores them', () => {
    const m = msg('a', single('b'));
    expect(listedRecipients(m, null)).toEqual(['a', 'b']);
    expect(listedRecipients(msg('a', single('a')), null)).toEqual(['a']);
    expect(listedRecipients(msg('a', group('g')), null)).toBeNull();
    expect(listedRecipients(msg('a', group('g')), ['a', 'b'])).toEqual(['a', 'b']);
    expect(recipientsToStore(m, ['a', 'b'])).toBeNull();
    expect(recipientsToStore(m, ['b', 'a'])).toEqual(['b', 'a']);
    expect(recipientsToStore(msg('a', group('g')), ['a'])).toEqual(['a']);
  });

  it('the conversation as each user sees it', () => {
    expect(perspective(msg('a', single('b')), 'b')).toEqual(single('a'));
    expect(perspective(msg('a', single('b')), 'a')).toEqual(single('b'));
    expect(perspective(msg('a', group('g')), 'b')).toEqual(group('g'));
    expect(perspective(msg('a', single('a'), MessageKind.multicast), 'c')).toEqual(single('a'));
  });

  it('conversation rows: none for unpersisted messages, none for the sender of a multicast', () => {
    const rows = (m: Parameters<typeof forEachConversationRow>[0], r: string[]) => {
      const out: Array<[string, string]> = [];
      forEachConversationRow(m, r, (u, c) => out.push([u, c.target]));
      return out;
    };
    expect(rows({ ...msg('a', single('b')), persistFlag: PersistFlag.count }, ['a', 'b'])).toEqual([['a', 'b'], ['b', 'a']]);
    expect(rows({ ...msg('a', single('b')), persistFlag: PersistFlag.none }, ['a', 'b'])).toEqual([]);
    expect(rows({ ...msg('a', single('b')), persistFlag: PersistFlag.transparent }, ['a', 'b'])).toEqual([]);
    expect(rows({ ...msg('a', single('a'), MessageKind.multicast), persistFlag: PersistFlag.persist }, ['a', 'b', 'c'])).toEqual([['b', 'a'], ['c', 'a']]);
  });

  it('read receipts: the other party of a single chat, the other members of a small group', () => {
    const facts = {
      userExists: (u: string) => u !== 'ghost',
      groupMemberCount: (g: string) => (g === 'g' ? 3 : null),
      groupMembersNotRemoved: () => ['a', 'b', 'c'],
    };
    expect(readReceiptReceivers('a', single('b'), facts, 10)).toEqual([{ userId: 'b', conv: single('a') }]);
    expect(readReceiptReceivers('a', single('a'), facts, 10)).toEqual([]);
    expect(readReceiptReceivers('a', single('ghost'), facts, 10)).toEqual([]);
    expect(readReceiptReceivers('a', group('g'), facts, 10).map((r) => r.userId)).toEqual(['b', 'c']);
    expect(readReceiptReceivers('a', group('g'), facts, 2)).toEqual([]);
    expect(readReceiptReceivers('z', group('g'), facts, 10)).toEqual([]);
    expect(readReceiptReceivers('a', group('none'), facts, 10)).toEqual([]);
    expect(readReceiptReceivers('a', channel('ch'), facts, 10)).toEqual([]);
  });
});
