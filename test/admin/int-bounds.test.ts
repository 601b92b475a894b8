import { beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/admin-client.js';
import { fresh } from '../helpers/messages.js';
import { useServer } from '../helpers/use-server.js';

/**
 * Every integer of every admin route is bounded by the Java type of its Wildfire field: a Java int
 * (−2^31 … 2^31−1) or a long that JavaScript reads exactly (|x| ≤ 2^53−1). Anything outside answers
 * 251 (HTTP 200, Wildfire's envelope), stores nothing, and never reaches the store as an inexact
 * double (which used to answer 4 and log a store error).
 */

const INVALID = { code: 251, msg: 'Invalid parameter' };
const INT32_MAX = 2 ** 31 - 1;
const HUGE = 1e300;
/** Values no Java int field may take. */
const NOT_INT32 = [HUGE, 2 ** 31, -(2 ** 31) - 1];

const t = useServer();
let owner: string;
let member: string;
let gid: string;
let uid: number;

const envelope = async (path: string, body: unknown) => (await t.admin.post(path, body)).body;
/** Send a body as exact bytes (for integers JSON.stringify cannot write, like 2^63). */
const rawEnvelope = async (path: string, raw: string) => (await t.admin.post(path, undefined, { rawBody: raw })).body;

beforeAll(async () => {
  owner = fresh('ib-owner');
  member = fresh('ib-member');
  gid = fresh('ib-group');
  await t.admin.createUser(owner);
  await t.admin.createUser(member);
  await t.admin.createGroup(gid, owner, [member]);
  uid = (await t.admin.send(owner, { type: 0, target: member }, { type: 1, searchableContent: 'x', persistFlag: 1 })).messageUid;
});

describe('integer bounds on admin routes', () => {
  it('user/all refuses offsets and counts no Java int holds with 251, not a server error', async () => {
    expect(await envelope('/user/all', { count: 10, offset: HUGE })).toEqual(INVALID);
    expect(await rawEnvelope('/user/all', '{"count":10,"offset":9223372036854775808}')).toEqual(INVALID);
    expect(await envelope('/user/all', { count: HUGE, offset: 0 })).toEqual(INVALID);
    expect(await envelope('/user/all', { count: 10, offset: 2 ** 31 })).toEqual(INVALID);
    // The largest int is a valid offset: past the end, an empty page.
    expect(await t.admin.ok('/user/all', { count: 10, offset: INT32_MAX })).toEqual({ userInfoList: [] });
    // None of it was a server error (code 4) on that route.
    const metrics = await rawRequest(t.url, { method: 'GET', path: '/metrics' });
    expect(metrics.raw).not.toMatch(/switchboard_admin_requests_total\{route="\/user\/all",code="4"\}/);
  });

  it('user fields: gender, type, flag, platform and status are Java ints, updateDt a long below 2^53', async () => {
    for (const gender of NOT_INT32) {
      const id = fresh('ib-u');
      expect(await envelope('/user/create', { userId: id, name: id, gender })).toEqual(INVALID);
      expect((await envelope('/user/get_info', { userId: id })).code).toBe(253);
    }
    expect(await envelope('/user/create', { userId: fresh('ib-u'), name: fresh('n'), type: HUGE })).toEqual(INVALID);
    expect(await envelope('/user/create', { userId: fresh('ib-u'), name: fresh('n'), updateDt: HUGE })).toEqual(INVALID);
    expect(await envelope('/user/create', { userId: fresh('ib-u'), name: fresh('n'), updateDt: 2 ** 53 })).toEqual(INVALID);
    expect(await envelope('/user/update', { flag: 2 ** 31, userInfo: { userId: owner } })).toEqual(INVALID);
    expect(await envelope('/user/update', { flag: 4, userInfo: { userId: owner, gender: HUGE } })).toEqual(INVALID);
    expect(await envelope('/user/get_token', { userId: owner, clientId: 'c', platform: HUGE })).toEqual(INVALID);
    expect(await envelope('/user/update_block_status', { userId: owner, status: HUGE })).toEqual(INVALID);

    // The bounds themselves are accepted, stored and echoed exactly.
    const id = fresh('ib-u');
    await t.admin.ok('/user/create', { userId: id, name: id, gender: INT32_MAX, updateDt: Number.MAX_SAFE_INTEGER });
    const r = await t.admin.post('/user/get_info', { userId: id });
    expect(r.raw).toContain(`"gender":${INT32_MAX}`);
    expect(r.raw).not.toContain('e+');
  });

  it('group fields: type, max_member_count, member type and to_lines are Java ints; to_lines is a line (0 … 2^31−1)', async () => {
    const create = (info: Record<string, unknown>, extra: Record<string, unknown> = {}, members: unknown[] = [{ member_id: member }]) => {
      const id = fresh('ib-g');
      return { id, body: { operator: owner, group: { group_info: { target_id: id, name: id, owner, ...info }, members }, ...extra } };
    };
    const refused: Array<ReturnType<typeof create>> = [
      create({ type: HUGE }),
      create({ max_member_count: HUGE }),
      create({ mute: 2 ** 31 }),
      create({}, {}, [{ member_id: member, type: HUGE }]),
      create({}, { to_lines: [HUGE] }),
      create({}, { to_lines: [2 ** 31] }),
      create({}, { to_lines: [0, -1] }),
      create({}, { notify_message: { type: 1, mediaType: HUGE } }),
    ];
    for (const c of refused) {
      expect(await envelope('/group/create', c.body)).toEqual(INVALID);
      // Nothing was created: no group, no announcement conversation on a line like 1e+300.
      expect((await envelope('/group/get_info', { groupId: c.id })).code).toBe(253);
    }
    const { conversations } = await t.admin.ok<{ conversations: Array<{ conversation: { line: number } }> }>('/conversation/list', { userId: owner });
    expect(conversations.every((c) => Number.isInteger(c.conversation.line) && c.conversation.line <= INT32_MAX)).toBe(true);

    expect(await envelope('/group/modify', { operator: owner, group_id: gid, type: HUGE, value: 'x' })).toEqual(INVALID);
    expect(await envelope('/group/member/add', { group_id: gid, members: [{ member_id: member }], to_lines: [HUGE] })).toEqual(INVALID);
    expect(await envelope('/group/member/list', { groupId: gid, offset: HUGE })).toEqual(INVALID);

    // The largest line is accepted, and the announcement lands on exactly that line.
    const top = create({}, { to_lines: [INT32_MAX] });
    await t.admin.ok('/group/create', top.body);
    const after = await t.admin.ok<{ conversations: Array<{ conversation: { type: number; target: string; line: number } }> }>('/conversation/list', {
      userId: member,
    });
    expect(after.conversations.find((c) => c.conversation.target === top.id)?.conversation).toEqual({ type: 1, target: top.id, line: INT32_MAX });
  });

  it('channel fields: auto, state and subscribe are Java ints; create echoes nothing it could not read back', async () => {
    for (const body of [{ auto: HUGE }, { state: HUGE }, { state: 2 ** 31 }]) {
      const id = fresh('ib-c');
      expect(await envelope('/channel/create', { owner, name: id, targetId: id, ...body })).toEqual(INVALID);
      expect((await envelope('/channel/get', { channelId: id })).code).toBe(253);
    }
    const id = fresh('ib-c');
    await t.admin.ok('/channel/create', { owner, name: id, targetId: id, state: INT32_MAX });
    expect((await t.admin.post('/channel/get', { channelId: id })).raw).toContain(`"state":${INT32_MAX}`);
    expect(await envelope('/channel/subscribe', { channelId: id, userId: member, subscribe: HUGE })).toEqual(INVALID);
  });

  it('payload ints (type, mediaType, persistFlag, expireDuration, mentionedType) are Java ints', async () => {
    const send = (payload: Record<string, unknown>) =>
      envelope('/message/send', { sender: owner, conv: { type: 0, target: member, line: 0 }, payload: { type: 1, ...payload } });
    for (const v of NOT_INT32) {
      expect(await send({ mediaType: v })).toEqual(INVALID);
      expect(await send({ expireDuration: v })).toEqual(INVALID);
      expect(await send({ persistFlag: v })).toEqual(INVALID);
      expect(await send({ mentionedType: v })).toEqual(INVALID);
      expect(await send({ type: v })).toEqual(INVALID);
    }
    const ok = await t.admin.send(owner, { type: 0, target: member }, { type: INT32_MAX, mediaType: INT32_MAX, expireDuration: INT32_MAX, persistFlag: 1 });
    const got = await t.admin.post('/message/get_one', { messageUid: ok.messageUid });
    expect(got.raw).toContain(`"mediaType":${INT32_MAX}`);
    expect(got.raw).toContain(`"expireDuration":${INT32_MAX}`);
  });

  it('message routes: conversation type and line, lines, times and uids are bounded', async () => {
    const conv = (c: Record<string, unknown>) => envelope('/message/send', { sender: owner, conv: { type: 0, target: member, ...c }, payload: { type: 1 } });
    expect(await conv({ type: HUGE })).toEqual(INVALID);
    expect(await conv({ line: HUGE })).toEqual(INVALID);
    expect(await conv({ line: 2 ** 31 })).toEqual(INVALID);
    expect(await envelope('/message/multicast', { sender: owner, targets: [member], line: HUGE, payload: { type: 1 } })).toEqual(INVALID);
    expect(await envelope('/message/broadcast', { sender: owner, line: 2 ** 31, payload: { type: 1 } })).toEqual(INVALID);
    expect(await envelope('/message/update', { messageUid: uid, distribute: HUGE, payload: { type: 1 } })).toEqual(INVALID);
    expect(await envelope('/message/update', { messageUid: uid, distribute: 0, payload: { type: 1 }, updateTimestamp: HUGE })).toEqual(INVALID);
    expect(await envelope('/message/clear_by_user', { userId: member, conversation: { type: 0, target: owner }, startTime: HUGE })).toEqual(INVALID);
    expect(await envelope('/message/clear_by_user', { userId: member, conversation: { type: 0, target: owner }, endTime: 2 ** 53 })).toEqual(INVALID);
    expect(await envelope('/message/conv_read', { userId: member, conversationType: HUGE, target: owner })).toEqual(INVALID);
    expect(await envelope('/message/conv_read', { userId: member, type: 0, target: owner, line: HUGE })).toEqual(INVALID);
    // A uid is below 2^53 as a number; as a string, a Java long's decimal digits.
    expect(await envelope('/message/get_one', { messageUid: HUGE })).toEqual(INVALID);
    expect(await envelope('/message/get_one', { messageUid: 2 ** 53 })).toEqual(INVALID);
    expect(await rawEnvelope('/message/get_one', '{"messageUid":9223372036854775808}')).toEqual(INVALID);
    expect(await envelope('/message/get_one', { messageUid: '99999999999999999999' })).toEqual(INVALID);
    expect(await envelope('/message/delete', { messageUid: HUGE })).toEqual(INVALID);
    // The message refused updates left alone is still there, unchanged.
    expect((await t.admin.ok<{ payload: { searchableContent: string } }>('/message/get_one', { messageUid: uid })).payload.searchableContent).toBe('x');
    expect((await envelope('/message/get_one', { messageUid: String(2 ** 53) })).code).toBe(253);
  });

  it('callback administration ids are bounded too', async () => {
    expect(await envelope('/callback/deliveries', { beforeId: HUGE })).toEqual(INVALID);
    expect(await envelope('/callback/redeliver', { id: HUGE })).toEqual(INVALID);
  });
});
