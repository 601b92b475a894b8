import { beforeAll, describe, expect, it } from 'vitest';
import { useServer } from '../helpers/use-server.js';

interface Member {
  member_id: string;
  alias: string;
  type: number;
  extra: string;
  createDt: number;
}
interface Conv {
  type: number;
  target: string;
  line: number;
}
interface ConvState {
  conversation: Conv;
  unread: number;
  lastMessageUid: number;
  lastTimestamp: number;
  readTimestamp: number;
}
interface Message {
  messageId: number;
  sender: string;
  conv: Conv;
  payload: { type: number; base64edData: string; [k: string]: unknown };
  toUsers: string[];
  timestamp: number;
}

const SUCCESS = { code: 0, msg: 'success' };
const INVALID = { code: 251, msg: 'Invalid parameter' };
const NOT_EXIST = { code: 253, msg: 'not exist' };
const NO_RIGHT = { code: 248, msg: 'no right to operate' };
const NOT_IN_GROUP = { code: 9, msg: 'not in group' };
const MEMBER_KEYS = ['alias', 'createDt', 'extra', 'member_id', 'type'];
const GROUP_KEYS = [
  'extra',
  'history_message',
  'join_type',
  'max_member_count',
  'mute',
  'name',
  'owner',
  'portrait',
  'private_chat',
  'searchable',
  'super_group',
  'target_id',
  'type',
];

// Fixture users (beforeAll): an owner, members and an outsider who is in no group.
const O = 'g-owner';
const A = 'g-alice';
const B = 'g-bob';
const C = 'g-carol';
const D = 'g-dave';
const X = 'g-outsider';

const t = useServer({ admin: { strictSend: true } }); // the send rules through admin sends (trusted by default)
let seq = 0;
const fresh = (p: string) => `${p}-${++seq}`;

const envelope = async (path: string, body: unknown) => (await t.admin.post(path, body)).body;
async function group(members: string[], info: Record<string, unknown> = {}): Promise<string> {
  const gid = fresh('grp');
  await t.admin.createGroup(gid, O, members, info);
  return gid;
}
const memberList = async (gid: string) => (await t.admin.ok<{ members: Member[] }>('/group/member/list', { groupId: gid })).members;
/** member_id → type, for comparing without caring about list order. */
const types = async (gid: string) => Object.fromEntries((await memberList(gid)).map((m) => [m.member_id, m.type]));
const groupInfo = (gid: string) => t.admin.ok<Record<string, unknown>>('/group/get_info', { groupId: gid });
const groupsOf = async (userId: string) => (await t.admin.ok<{ groupIds: string[] }>('/group/of_user', { userId })).groupIds;
const sendCode = (sender: string, gid: string) =>
  t.admin.code('/message/send', { sender, conv: { type: 1, target: gid, line: 0 }, payload: { type: 1, searchableContent: `from ${sender}` } });

/** The conversation `userId` has with a group on a line, if any (POST /admin/conversation/list). */
async function groupConv(userId: string, gid: string, line = 0): Promise<ConvState | undefined> {
  const { conversations } = await t.admin.ok<{ conversations: ConvState[] }>('/conversation/list', { userId });
  return conversations.find((c) => c.conversation.type === 1 && c.conversation.target === gid && c.conversation.line === line);
}
/** The last message `userId` has in the group conversation. */
async function lastMessage(userId: string, gid: string, line = 0): Promise<Message> {
  const c = await groupConv(userId, gid, line);
  expect(c, `${userId} has no conversation with ${gid} on line ${line}`).toBeDefined();
  return t.admin.ok<Message>('/message/get_one', { messageUid: c!.lastMessageUid });
}
const decodeData = (b64: string) => JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as Record<string, unknown>;

beforeAll(async () => {
  for (const u of [O, A, B, C, D, X]) await t.admin.createUser(u);
});

describe('group/create', () => {
  it('answers {group_id} and adds the owner as type 2, members as type 0, with Wildfire member fields', async () => {
    const gid = fresh('create');
    const before = Date.now();
    const r = await t.admin.post('/group/create', {
      operator: O,
      group: { group_info: { target_id: gid, name: 'Team', owner: O, type: 2 }, members: [{ member_id: A }, { member_id: B, alias: 'Bobby', extra: '{"x":1}' }] },
    });
    expect(r.body).toEqual({ code: 0, msg: 'success', result: { group_id: gid } });

    const r2 = await t.admin.post<{ members: Member[] }>('/group/member/list', { groupId: gid });
    expect(r2.body.code).toBe(0);
    expect(Object.keys(r2.body.result!)).toEqual(['members']);
    const list = r2.body.result!.members;
    for (const m of list) {
      expect(Object.keys(m).sort()).toEqual(MEMBER_KEYS);
      expect(Number.isInteger(m.createDt)).toBe(true);
      expect(m.createDt).toBeGreaterThanOrEqual(before);
      expect(m.createDt).toBeLessThanOrEqual(Date.now());
    }
    const byId = (id: string) => list.find((m) => m.member_id === id);
    expect(list).toHaveLength(3);
    expect(byId(O)).toMatchObject({ alias: '', type: 2, extra: '' });
    expect(byId(A)).toMatchObject({ alias: '', type: 0, extra: '' });
    expect(byId(B)).toMatchObject({ alias: 'Bobby', type: 0, extra: '{"x":1}' });
  });

  it('keeps the owner listed among members as type 2 and downgrades any other type-2 member to 0', async () => {
    const gid = fresh('create-types');
    await t.admin.ok('/group/create', {
      operator: O,
      group: {
        group_info: { target_id: gid, name: 'n', owner: O, type: 2 },
        members: [{ member_id: O, type: 0 }, { member_id: A, type: 2 }, { member_id: B, type: 1 }],
      },
    });
    expect(await types(gid)).toEqual({ [O]: 2, [A]: 0, [B]: 1 });
    expect((await groupInfo(gid)).owner).toBe(O);
  });

  it('makes the operator the owner when group_info has none, and generates an id when target_id is absent', async () => {
    const r = await t.admin.ok<{ group_id: string }>('/group/create', { operator: A, group: { group_info: { name: 'auto', type: 2 }, members: [{ member_id: B }] } });
    expect(typeof r.group_id).toBe('string');
    expect(r.group_id.length).toBeGreaterThan(0);
    expect((await groupInfo(r.group_id)).owner).toBe(A);
    expect(await types(r.group_id)).toEqual({ [A]: 2, [B]: 0 });
  });

  it('applies member_extra to members without their own extra', async () => {
    const gid = fresh('create-extra');
    await t.admin.ok('/group/create', {
      operator: O,
      member_extra: 'shared',
      group: { group_info: { target_id: gid, name: 'n', owner: O, type: 2 }, members: [{ member_id: A }, { member_id: B, extra: 'own' }] },
    });
    const list = await memberList(gid);
    expect(list.find((m) => m.member_id === A)!.extra).toBe('shared');
    expect(list.find((m) => m.member_id === B)!.extra).toBe('own');
  });

  it('answers 11 when the group exists, leaving it unchanged', async () => {
    const gid = await group([A]);
    const r = await t.admin.post('/group/create', {
      operator: B,
      group: { group_info: { target_id: gid, name: 'other', owner: B, type: 2 }, members: [{ member_id: C }] },
    });
    expect(r.body).toEqual({ code: 11, msg: 'group already exist' });
    expect(await groupInfo(gid)).toMatchObject({ name: gid, owner: O });
    expect(await types(gid)).toEqual({ [O]: 2, [A]: 0 });
  });

  it('answers 253 for an unknown owner or member, and creates nothing', async () => {
    const g1 = fresh('create-ghost');
    expect(await envelope('/group/create', { operator: O, group: { group_info: { target_id: g1, name: 'n', owner: 'ghost-user', type: 2 }, members: [] } })).toEqual(NOT_EXIST);
    const g2 = fresh('create-ghost');
    expect(
      await envelope('/group/create', { operator: O, group: { group_info: { target_id: g2, name: 'n', owner: O, type: 2 }, members: [{ member_id: A }, { member_id: 'ghost-user' }] } }),
    ).toEqual(NOT_EXIST);
    expect(await envelope('/group/get_info', { groupId: g1 })).toEqual(NOT_EXIST);
    expect(await envelope('/group/get_info', { groupId: g2 })).toEqual(NOT_EXIST);
    expect(await groupsOf(A)).not.toContain(g2);
  });

  it('answers 251 for a missing group, owner and operator, or mistyped fields', async () => {
    const gid = fresh('create-bad');
    for (const body of [
      { operator: O },
      { operator: O, group: { members: [] } },
      { group: { group_info: { target_id: gid, name: 'n', type: 2 }, members: [] } },
      { operator: O, group: { group_info: { target_id: gid, name: 'n', type: 2 }, members: 'nope' } },
      { operator: O, group: { group_info: { target_id: gid, name: 'n', type: 2 }, members: [{ member_id: '' }] } },
      { operator: O, group: { group_info: { target_id: gid, name: 'n', type: '2' } } },
      { operator: O, to_lines: ['0'], group: { group_info: { target_id: gid, name: 'n', type: 2 } } },
    ]) {
      expect(await envelope('/group/create', body), JSON.stringify(body)).toEqual(INVALID);
    }
    expect(await envelope('/group/get_info', { groupId: gid })).toEqual(NOT_EXIST);
  });
});

describe('group/get_info', () => {
  it('answers Wildfire\'s snake_case PojoGroupInfo, by groupId or group_id', async () => {
    const gid = await group([A]);
    const r = await t.admin.post<Record<string, unknown>>('/group/get_info', { groupId: gid });
    expect(r.body.code).toBe(0);
    expect(Object.keys(r.body.result!).sort()).toEqual(GROUP_KEYS);
    expect(r.body.result).toEqual({
      target_id: gid,
      name: gid,
      portrait: '',
      owner: O,
      type: 2,
      extra: '',
      mute: 0,
      join_type: 0,
      private_chat: 0,
      searchable: 0,
      history_message: 0,
      max_member_count: 0,
      super_group: false,
    });
    expect(await t.admin.ok('/group/get_info', { group_id: gid })).toEqual(r.body.result);
  });

  it('keeps the fields given at creation', async () => {
    const gid = await group([A], { portrait: 'https://img.example/g.png', extra: '{"k":"v"}', type: 1, join_type: 1, private_chat: 1, mute: 1 });
    expect(await groupInfo(gid)).toMatchObject({ portrait: 'https://img.example/g.png', extra: '{"k":"v"}', type: 1, join_type: 1, private_chat: 1, mute: 1 });
  });

  it('answers 253 for an unknown group and 251 without an id', async () => {
    expect(await envelope('/group/get_info', { groupId: 'no-such-group' })).toEqual(NOT_EXIST);
    expect(await envelope('/group/get_info', {})).toEqual(INVALID);
    expect(await envelope('/group/get_info', { groupId: '' })).toEqual(INVALID);
    expect(await envelope('/group/get_info', { groupId: 12 })).toEqual(INVALID);
  });
});

describe('group/del', () => {
  it('dismisses the group: get_info and member/list answer 253 and of_user drops it', async () => {
    const gid = await group([A, B]);
    expect(await envelope('/group/del', { operator: O, group_id: gid })).toEqual(SUCCESS);
    expect(await envelope('/group/get_info', { groupId: gid })).toEqual(NOT_EXIST);
    expect(await envelope('/group/member/list', { groupId: gid })).toEqual(NOT_EXIST);
    expect(await groupsOf(A)).not.toContain(gid);
    expect(await sendCode(A, gid)).toBe(253);
  });

  it('answers 251 without operator or group_id and 253 for an unknown group', async () => {
    const gid = await group([A]);
    expect(await envelope('/group/del', { group_id: gid })).toEqual(INVALID);
    expect(await envelope('/group/del', { operator: O })).toEqual(INVALID);
    expect(await envelope('/group/del', { operator: O, group_id: '' })).toEqual(INVALID);
    expect((await groupInfo(gid)).owner).toBe(O);
    expect(await envelope('/group/del', { operator: O, group_id: 'no-such-group' })).toEqual(NOT_EXIST);
  });
});

describe('group/modify', () => {
  it('sets name (0), portrait (1), extra (2), join type (4) and private chat (5)', async () => {
    const gid = await group([A]);
    const modify = (type: number, value: string) => envelope('/group/modify', { operator: O, group_id: gid, type, value });
    expect(await modify(0, 'Renamed')).toEqual(SUCCESS);
    expect(await modify(1, 'https://img.example/p.png')).toEqual(SUCCESS);
    expect(await modify(2, '{"e":1}')).toEqual(SUCCESS);
    expect(await modify(4, '2')).toEqual(SUCCESS);
    expect(await modify(5, '1')).toEqual(SUCCESS);
    expect(await groupInfo(gid)).toMatchObject({ name: 'Renamed', portrait: 'https://img.example/p.png', extra: '{"e":1}', join_type: 2, private_chat: 1 });
  });

  it('refuses numeric values outside each type\'s range (251) and announces history/max-members changes only with a custom message', async () => {
    const gid = await group([A]);
    const modify = (type: number, value: string, extra: Record<string, unknown> = {}) =>
      envelope('/group/modify', { operator: O, group_id: gid, type, value, ...extra });
    for (const [type, value] of [[3, '7'], [4, '3'], [5, 'x'], [6, '-1'], [7, '2'], [8, '0'], [8, '-5'], [8, '1e3']] as const) {
      expect(await modify(type, value), `${type}=${value}`).toEqual(INVALID);
    }
    const before = await groupConv(A, gid);
    expect(await modify(7, '1')).toEqual(SUCCESS);
    expect(await modify(8, '50')).toEqual(SUCCESS);
    expect(await groupInfo(gid)).toMatchObject({ history_message: 1, max_member_count: 50 });
    // Types 7 and 8 have no Wildfire notification: nothing new in the group although to_lines defaults to [0].
    expect((await groupConv(A, gid))?.lastMessageUid).toBe(before?.lastMessageUid);
  });

  it('type 3 value "1" mutes the group: a normal member gets 241, the owner still sends; "0" lifts it', async () => {
    const gid = await group([A]);
    expect(await sendCode(A, gid)).toBe(0);
    expect(await envelope('/group/modify', { operator: O, group_id: gid, type: 3, value: '1' })).toEqual(SUCCESS);
    expect((await groupInfo(gid)).mute).toBe(1);
    expect(await envelope('/message/send', { sender: A, conv: { type: 1, target: gid, line: 0 }, payload: { type: 1 } })).toEqual({ code: 241, msg: 'group is muted' });
    expect(await sendCode(O, gid)).toBe(0);
    await t.admin.ok('/group/modify', { operator: O, group_id: gid, type: 3, value: '0' });
    expect((await groupInfo(gid)).mute).toBe(0);
    expect(await sendCode(A, gid)).toBe(0);
  });

  it('announces the change in the group on line 0 by default (content type 110 for a name)', async () => {
    const gid = await group([A]);
    await t.admin.ok('/group/modify', { operator: O, group_id: gid, type: 0, value: 'New name' });
    const m = await lastMessage(A, gid);
    expect(m.sender).toBe(O);
    expect(m.conv).toEqual({ type: 1, target: gid, line: 0 });
    expect(m.payload.type).toBe(110);
    expect(decodeData(m.payload.base64edData)).toMatchObject({ g: gid, o: O, n: 'New name' });
  });

  it('answers 251 for an unknown type, a non-integer value for a numeric field or a missing operator / group_id; 253 for an unknown group', async () => {
    const gid = await group([A]);
    for (const body of [
      { operator: O, group_id: gid, type: 99, value: 'x' },
      { operator: O, group_id: gid, type: -1, value: 'x' },
      { operator: O, group_id: gid, type: '0', value: 'x' },
      { operator: O, group_id: gid, value: 'x' },
      { operator: O, group_id: gid, type: 3, value: 'yes' },
      { operator: O, group_id: gid, type: 3, value: '1.5' },
      { operator: O, group_id: gid, type: 4, value: '' },
      { group_id: gid, type: 0, value: 'x' },
      { operator: O, type: 0, value: 'x' },
    ]) {
      expect(await envelope('/group/modify', body), JSON.stringify(body)).toEqual(INVALID);
    }
    expect(await groupInfo(gid)).toMatchObject({ name: gid, mute: 0, join_type: 0 });
    expect(await envelope('/group/modify', { operator: O, group_id: 'no-such-group', type: 0, value: 'x' })).toEqual(NOT_EXIST);
  });
});

describe('group/transfer', () => {
  it('makes a member the owner (type 2) and the old owner a normal member', async () => {
    const gid = await group([A, B]);
    expect(await envelope('/group/transfer', { operator: O, group_id: gid, new_owner: A })).toEqual(SUCCESS);
    expect((await groupInfo(gid)).owner).toBe(A);
    expect(await types(gid)).toEqual({ [O]: 0, [A]: 2, [B]: 0 });
    // The old owner may now quit; the new one may not.
    expect(await envelope('/group/member/quit', { operator: O, group_id: gid })).toEqual(SUCCESS);
    expect(await envelope('/group/member/quit', { operator: A, group_id: gid })).toEqual(NO_RIGHT);
  });

  it('answers 9 for a non-member, 253 for an unknown group and 251 for missing fields', async () => {
    const gid = await group([A]);
    expect(await envelope('/group/transfer', { operator: O, group_id: gid, new_owner: X })).toEqual(NOT_IN_GROUP);
    expect((await groupInfo(gid)).owner).toBe(O);
    expect(await envelope('/group/transfer', { operator: O, group_id: 'no-such-group', new_owner: A })).toEqual(NOT_EXIST);
    for (const body of [{ operator: O, group_id: gid }, { group_id: gid, new_owner: A }, { operator: O, new_owner: A }, { operator: O, group_id: gid, new_owner: '' }]) {
      expect(await envelope('/group/transfer', body), JSON.stringify(body)).toEqual(INVALID);
    }
  });
});

describe('group/member/list', () => {
  it('accepts group_id as well as groupId; 253 for an unknown group, 251 without an id', async () => {
    const gid = await group([A]);
    expect(await t.admin.ok('/group/member/list', { group_id: gid })).toEqual({ members: await memberList(gid) });
    expect(await envelope('/group/member/list', { groupId: 'no-such-group' })).toEqual(NOT_EXIST);
    expect(await envelope('/group/member/list', {})).toEqual(INVALID);
  });

  it('pages with optional offset/count in a stable order; without them it answers every member (as Wildfire)', async () => {
    const gid = await group([A, B, C, D]);
    const all = await memberList(gid);
    const ids = all.map((m) => m.member_id);
    expect([...ids].sort()).toEqual([O, A, B, C, D].sort());
    const page = async (body: Record<string, unknown>) =>
      (await t.admin.ok<{ members: Member[] }>('/group/member/list', { groupId: gid, ...body })).members.map((m) => m.member_id);
    expect(await page({ offset: 0, count: 2 })).toEqual(ids.slice(0, 2));
    expect(await page({ offset: 2, count: 2 })).toEqual(ids.slice(2, 4));
    expect(await page({ offset: 4, count: 2 })).toEqual(ids.slice(4));
    expect(await page({ offset: 5, count: 2 })).toEqual([]);
    expect(await page({ count: 3 })).toEqual(ids.slice(0, 3));
    expect(await page({ offset: 3 })).toEqual(ids.slice(3));
    expect(await page({ offset: null, count: null })).toEqual(ids);
    // Pages carry full members, the same objects as the whole list.
    expect((await t.admin.ok<{ members: Member[] }>('/group/member/list', { groupId: gid, offset: 1, count: 1 })).members).toEqual([all[1]]);
    for (const bad of [{ offset: -1 }, { count: 0 }, { count: -3 }, { offset: 1.5 }, { count: '2' }, { offset: 2 ** 31 }]) {
      expect(await envelope('/group/member/list', { groupId: gid, ...bad })).toEqual(INVALID);
    }
    expect(await envelope('/group/member/list', { groupId: 'no-such-group', offset: 0, count: 1 })).toEqual(NOT_EXIST);
  });
});

describe('group/member/add', () => {
  it('adds members (with alias and extra) who can then send; of_user lists the group', async () => {
    const gid = await group([A]);
    expect(await sendCode(B, gid)).toBe(9);
    expect(await envelope('/group/member/add', { operator: O, group_id: gid, members: [{ member_id: B, alias: 'B!', extra: 'e' }, { member_id: C }] })).toEqual(SUCCESS);
    const list = await memberList(gid);
    expect(list.map((m) => m.member_id).sort()).toEqual([A, B, C, O].sort());
    expect(list.find((m) => m.member_id === B)).toMatchObject({ alias: 'B!', type: 0, extra: 'e' });
    expect(await sendCode(B, gid)).toBe(0);
    expect(await groupsOf(C)).toContain(gid);
  });

  it('updates a member added again, never makes anyone but the owner type 2 and keeps the owner type 2', async () => {
    const gid = await group([A]);
    await t.admin.ok('/group/member/add', { operator: O, group_id: gid, members: [{ member_id: A, alias: 'Al' }, { member_id: B, type: 2 }, { member_id: O, type: 0 }] });
    const list = await memberList(gid);
    expect(list).toHaveLength(3);
    expect(list.find((m) => m.member_id === A)!.alias).toBe('Al');
    expect(await types(gid)).toEqual({ [O]: 2, [A]: 0, [B]: 0 });
  });

  it('answers 253 for an unknown group or user (adding nobody) and 251 for missing or mistyped fields', async () => {
    const gid = await group([A]);
    expect(await envelope('/group/member/add', { operator: O, group_id: 'no-such-group', members: [{ member_id: B }] })).toEqual(NOT_EXIST);
    expect(await envelope('/group/member/add', { operator: O, group_id: gid, members: [{ member_id: B }, { member_id: 'ghost-user' }] })).toEqual(NOT_EXIST);
    expect(Object.keys(await types(gid)).sort()).toEqual([A, O].sort());
    for (const body of [{ operator: O, group_id: gid }, { operator: O, members: [{ member_id: B }] }, { operator: O, group_id: gid, members: [B] }]) {
      expect(await envelope('/group/member/add', body), JSON.stringify(body)).toEqual(INVALID);
    }
  });
});

describe('group/member/del', () => {
  it('removes members, who can no longer send (9) and lose the group in of_user', async () => {
    const gid = await group([A, B, C]);
    expect(await envelope('/group/member/del', { operator: O, group_id: gid, members: [A, B] })).toEqual(SUCCESS);
    expect(Object.keys(await types(gid)).sort()).toEqual([C, O].sort());
    expect(await sendCode(A, gid)).toBe(9);
    expect(await groupsOf(A)).not.toContain(gid);
  });

  it('answers 248 for the owner (removing nobody), 253 for an unknown group, 251 for missing fields', async () => {
    const gid = await group([A]);
    expect(await envelope('/group/member/del', { operator: O, group_id: gid, members: [A, O] })).toEqual(NO_RIGHT);
    expect(await types(gid)).toEqual({ [O]: 2, [A]: 0 });
    expect(await envelope('/group/member/del', { operator: O, group_id: 'no-such-group', members: [A] })).toEqual(NOT_EXIST);
    for (const body of [{ group_id: gid, members: [A] }, { operator: O, group_id: gid, members: [] }, { operator: O, group_id: gid }, { operator: O, members: [A] }]) {
      expect(await envelope('/group/member/del', body), JSON.stringify(body)).toEqual(INVALID);
    }
  });
});

describe('group/member/quit', () => {
  it('removes the operator from the group', async () => {
    const gid = await group([A, B]);
    expect(await envelope('/group/member/quit', { operator: A, group_id: gid })).toEqual(SUCCESS);
    expect(Object.keys(await types(gid)).sort()).toEqual([B, O].sort());
    expect(await groupsOf(A)).not.toContain(gid);
  });

  it('answers 248 for the owner, 9 for a non-member, 253 for an unknown group, 251 without operator', async () => {
    const gid = await group([A]);
    expect(await envelope('/group/member/quit', { operator: O, group_id: gid })).toEqual(NO_RIGHT);
    expect(await envelope('/group/member/quit', { operator: X, group_id: gid })).toEqual(NOT_IN_GROUP);
    expect(await envelope('/group/member/quit', { operator: A, group_id: 'no-such-group' })).toEqual(NOT_EXIST);
    expect(await envelope('/group/member/quit', { group_id: gid })).toEqual(INVALID);
    expect(await envelope('/group/member/quit', { operator: A })).toEqual(INVALID);
    expect(await types(gid)).toEqual({ [O]: 2, [A]: 0 });
  });
});

describe('group/manager/set, mute and allow', () => {
  const change = (path: string, gid: string, members: string[], on: boolean) => envelope(`/group/manager/${path}`, { operator: O, group_id: gid, members, is_manager: on });

  it('manager/set: is_manager true makes members type 1, false back to 0', async () => {
    const gid = await group([A, B]);
    expect(await change('set', gid, [A, B], true)).toEqual(SUCCESS);
    expect(await types(gid)).toEqual({ [O]: 2, [A]: 1, [B]: 1 });
    expect(await change('set', gid, [B], false)).toEqual(SUCCESS);
    expect(await types(gid)).toEqual({ [O]: 2, [A]: 1, [B]: 0 });
  });

  it('manager/mute: is_manager true makes a member type 3 who then gets 241; false restores type 0', async () => {
    const gid = await group([A, B]);
    expect(await change('mute', gid, [A], true)).toEqual(SUCCESS);
    expect(await types(gid)).toEqual({ [O]: 2, [A]: 3, [B]: 0 });
    expect(await sendCode(A, gid)).toBe(241);
    expect(await sendCode(B, gid)).toBe(0);
    expect(await change('mute', gid, [A], false)).toEqual(SUCCESS);
    expect((await types(gid))[A]).toBe(0);
    expect(await sendCode(A, gid)).toBe(0);
  });

  it('manager/allow: is_manager true makes a member type 5 who may speak in a muted group, like a manager', async () => {
    const gid = await group([A, B, C]);
    await t.admin.ok('/group/modify', { operator: O, group_id: gid, type: 3, value: '1' });
    expect(await change('allow', gid, [A], true)).toEqual(SUCCESS);
    expect(await change('set', gid, [C], true)).toEqual(SUCCESS);
    expect(await types(gid)).toEqual({ [O]: 2, [A]: 5, [B]: 0, [C]: 1 });
    expect(await sendCode(A, gid)).toBe(0);
    expect(await sendCode(C, gid)).toBe(0);
    expect(await sendCode(B, gid)).toBe(241);
    expect(await change('allow', gid, [A], false)).toEqual(SUCCESS);
    expect((await types(gid))[A]).toBe(0);
    expect(await sendCode(A, gid)).toBe(241);
  });

  it('answers 248 for the owner, 9 for a non-member, 253 for an unknown group and 251 for bad input', async () => {
    const gid = await group([A]);
    for (const path of ['set', 'mute', 'allow']) {
      expect(await change(path, gid, [O], true), path).toEqual(NO_RIGHT);
      expect(await change(path, gid, [X], true), path).toEqual(NOT_IN_GROUP);
      expect(await change(path, 'no-such-group', [A], true), path).toEqual(NOT_EXIST);
      for (const body of [
        { operator: O, group_id: gid, members: [A] },
        { operator: O, group_id: gid, members: [A], is_manager: 'true' },
        { operator: O, group_id: gid, members: [], is_manager: true },
        { group_id: gid, members: [A], is_manager: true },
        { operator: O, members: [A], is_manager: true },
      ]) {
        expect(await envelope(`/group/manager/${path}`, body), `${path} ${JSON.stringify(body)}`).toEqual(INVALID);
      }
    }
    expect(await types(gid)).toEqual({ [O]: 2, [A]: 0 });
  });
});

describe('group/of_user', () => {
  it('lists exactly the groups a user is in', async () => {
    const u = fresh('of-user');
    await t.admin.createUser(u);
    expect(await t.admin.ok('/group/of_user', { userId: u })).toEqual({ groupIds: [] });
    const g1 = await group([u]);
    const g2 = await group([u, A]);
    const g3 = await group([A]);
    expect((await groupsOf(u)).sort()).toEqual([g1, g2].sort());
    await t.admin.ok('/group/member/quit', { operator: u, group_id: g1 });
    expect(await groupsOf(u)).toEqual([g2]);
    expect(await groupsOf(A)).toEqual(expect.arrayContaining([g2, g3]));
  });

  it('answers 253 for an unknown user and 251 without a userId', async () => {
    expect(await envelope('/group/of_user', { userId: 'ghost-user' })).toEqual(NOT_EXIST);
    expect(await envelope('/group/of_user', {})).toEqual(INVALID);
  });
});

describe('group notifications', () => {
  it('with to_lines [0], group/create sends a content-type-104 message into the group, data {g, o, n}', async () => {
    const gid = fresh('notify');
    await t.admin.ok('/group/create', {
      operator: O,
      to_lines: [0],
      group: { group_info: { target_id: gid, name: 'Notified', owner: O, type: 2 }, members: [{ member_id: A }, { member_id: B }] },
    });
    for (const u of [A, B, O]) {
      const m = await lastMessage(u, gid);
      expect(m.sender).toBe(O);
      expect(m.conv).toEqual({ type: 1, target: gid, line: 0 });
      expect(m.payload.type).toBe(104);
      expect(decodeData(m.payload.base64edData)).toMatchObject({ g: gid, o: O, n: 'Notified' });
    }
  });

  it('sends nothing without to_lines, and on the given line otherwise', async () => {
    const silent = await group([A]);
    expect(await groupConv(A, silent)).toBeUndefined();

    const gid = fresh('notify-line');
    await t.admin.ok('/group/create', { operator: O, to_lines: [1], group: { group_info: { target_id: gid, name: 'n', owner: O, type: 2 }, members: [{ member_id: A }] } });
    expect(await groupConv(A, gid, 0)).toBeUndefined();
    expect((await lastMessage(A, gid, 1)).payload.type).toBe(104);
  });

  it('uses notify_message when given, and announces member/add (105) to the new member too', async () => {
    const gid = fresh('notify-custom');
    await t.admin.ok('/group/create', {
      operator: O,
      to_lines: [0],
      notify_message: { type: 1001, content: 'welcome', persistFlag: 1 },
      group: { group_info: { target_id: gid, name: 'n', owner: O, type: 2 }, members: [{ member_id: A }] },
    });
    expect((await lastMessage(A, gid)).payload).toMatchObject({ type: 1001, content: 'welcome' });

    await t.admin.ok('/group/member/add', { operator: O, group_id: gid, to_lines: [0], members: [{ member_id: C }] });
    for (const u of [A, C]) {
      const m = await lastMessage(u, gid);
      expect(m.payload.type).toBe(105);
      expect(decodeData(m.payload.base64edData)).toMatchObject({ g: gid, o: O, ms: [C] });
    }
  });

  it('announces kick (106), quit (107), transfer (109) and dismiss (108) to the members concerned', async () => {
    const gid = await group([A, B, C, D]);
    const notified = async (u: string, type: number, data: Record<string, unknown>) => {
      const m = await lastMessage(u, gid);
      expect(m.payload.type, `${u} ${type}`).toBe(type);
      expect(decodeData(m.payload.base64edData), `${u} ${type}`).toMatchObject({ g: gid, ...data });
    };
    // X is not a member: ignored, and not named in the notification.
    await t.admin.ok('/group/member/del', { operator: O, group_id: gid, to_lines: [0], members: [D, X] });
    await notified(D, 106, { o: O, ms: [D] });
    await notified(A, 106, { o: O, ms: [D] });
    await t.admin.ok('/group/member/quit', { operator: C, group_id: gid, to_lines: [0] });
    await notified(C, 107, { o: C });
    await notified(A, 107, { o: C });
    await t.admin.ok('/group/transfer', { operator: O, group_id: gid, new_owner: A, to_lines: [0] });
    await notified(B, 109, { o: O, m: A });
    await t.admin.ok('/group/del', { operator: A, group_id: gid, to_lines: [0] });
    await notified(B, 108, { o: A });
  });
});

describe('group member limit', () => {
  const small = useServer({ messaging: { maxGroupMembers: 3 } });
  beforeAll(async () => {
    for (const u of [O, A, B, C, D]) await small.admin.createUser(u);
  });

  it('answers 240 for a group created over the limit, and creates nothing', async () => {
    const r = await small.admin.post('/group/create', {
      operator: O,
      group: { group_info: { target_id: 'too-big', name: 'n', owner: O, type: 2 }, members: [{ member_id: A }, { member_id: B }, { member_id: C }] },
    });
    expect(r.body).toEqual({ code: 240, msg: 'group exceed max member count' });
    expect((await small.admin.post('/group/get_info', { groupId: 'too-big' })).body).toEqual(NOT_EXIST);
  });

  it('answers 240 when member/add would pass the limit, and has room again after a member leaves', async () => {
    await small.admin.createGroup('full', O, [A, B]);
    expect((await small.admin.post('/group/member/add', { operator: O, group_id: 'full', members: [{ member_id: C }] })).body).toEqual({
      code: 240,
      msg: 'group exceed max member count',
    });
    const list = async () => (await small.admin.ok<{ members: Member[] }>('/group/member/list', { groupId: 'full' })).members.map((m) => m.member_id).sort();
    expect(await list()).toEqual([A, B, O].sort());
    // Re-adding an existing member is not growth.
    await small.admin.ok('/group/member/add', { operator: O, group_id: 'full', members: [{ member_id: A, alias: 'again' }] });
    await small.admin.ok('/group/member/quit', { operator: B, group_id: 'full' });
    await small.admin.ok('/group/member/add', { operator: O, group_id: 'full', members: [{ member_id: C }] });
    expect(await list()).toEqual([A, C, O].sort());
  });

  it('frees the place of a destroyed user', async () => {
    await small.admin.createGroup('full-2', O, [A, C]);
    expect(await small.admin.code('/group/member/add', { operator: O, group_id: 'full-2', members: [{ member_id: D }] })).toBe(240);
    await small.admin.ok('/user/destroy', { userId: C });
    await small.admin.ok('/group/member/add', { operator: O, group_id: 'full-2', members: [{ member_id: D }] });
    const { members } = await small.admin.ok<{ members: Member[] }>('/group/member/list', { groupId: 'full-2' });
    expect(members.map((m) => m.member_id).sort()).toEqual([A, D, O].sort());
  });
});
