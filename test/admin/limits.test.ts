import { beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_CONTENT_LENGTH,
  MAX_EXTRA_LENGTH,
  MAX_ID_LENGTH,
  MAX_PAGE_SIZE,
  MAX_TEXT_LENGTH,
  MAX_TO_LINES,
  MAX_URL_LENGTH,
  MAX_USER_LIST,
} from '../../src/core/limits.js';
import { rawRequest } from '../helpers/admin-client.js';
import { convList, createUsers, fresh, group } from '../helpers/messages.js';
import { startTestServer } from '../helpers/server.js';
import { useServer } from '../helpers/use-server.js';

/**
 * Every string and list of every admin route has an upper bound (docs/security.md): exactly at it
 * the request is accepted, one over it answers 251 and stores nothing. The bounds are read from the
 * running server's OpenAPI document (generated from the schemas that validate requests), so a field
 * added without a bound fails here. Regression cases of issue 8: 12 000 `to_lines` (which used to
 * take 10–18 s and write one conversation per line into every member's list) and integers with
 * blanks in `group/modify`.
 */

const INVALID = { code: 251, msg: 'Invalid parameter' };
const SUCCESS = { code: 0, msg: 'success' };

const t = useServer();
let owner: string;
let member: string;
let gid: string;

const envelope = async (path: string, body: unknown) => (await t.admin.post(path, body)).body;
/** An id of exactly `n` characters, unique in the run. */
const idOf = (n: number, prefix = 'x'): string => {
  const base = fresh(prefix);
  return base.length >= n ? base.slice(0, n) : base + 'i'.repeat(n - base.length);
};
const ids = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

beforeAll(async () => {
  owner = fresh('lim-owner');
  member = fresh('lim-member');
  gid = fresh('lim-group');
  await createUsers(t.admin, owner, member);
  await t.admin.createGroup(gid, owner, [member]);
});

type Schema = {
  type?: string;
  maxLength?: number;
  maxItems?: number;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
};

/** Paths (within a request body) of strings without maxLength and arrays without maxItems. */
function unbounded(s: Schema, at: string, out: string[]): void {
  if (s.type === 'string' && s.maxLength === undefined && s.enum === undefined && s.const === undefined) out.push(at);
  if (s.type === 'array' && s.maxItems === undefined) out.push(at);
  for (const [k, v] of Object.entries(s.properties ?? {})) unbounded(v, `${at}.${k}`, out);
  if (s.items) unbounded(s.items, `${at}[]`, out);
  for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])]) unbounded(alt, at, out);
}

describe('every admin input is bounded', () => {
  it('every string of every route body has a maxLength and every list a maxItems', async () => {
    const doc = JSON.parse((await rawRequest(t.url, { method: 'GET', path: '/docs/json' })).raw) as {
      paths: Record<string, { post?: { requestBody?: { content: Record<string, { schema: Schema }> } } }>;
    };
    const routes = Object.keys(doc.paths).filter((p) => p.startsWith('/admin/'));
    expect(routes.length).toBeGreaterThan(50);
    const missing: string[] = [];
    for (const p of routes) {
      for (const c of Object.values(doc.paths[p]?.post?.requestBody?.content ?? {})) unbounded(c.schema, p, missing);
    }
    expect(missing, 'request fields without an upper bound').toEqual([]);
  });
});

describe('to_lines (issue 8: unbounded work per request)', () => {
  it(`group/manager/set with 12 000 distinct lines is refused with 251 at once and writes nothing`, async () => {
    const before = await convList(t.admin, member);
    const lines = Array.from({ length: 12_000 }, (_, i) => i);
    const started = Date.now();
    const r = await envelope('/group/manager/set', { operator: owner, group_id: gid, members: [member], is_manager: true, to_lines: lines });
    const took = Date.now() - started;
    expect(r).toEqual(INVALID);
    expect(took, 'refused before any work').toBeLessThan(2000);
    // The member is still a normal member, and nobody got an announcement on any line.
    const members = await t.admin.ok<{ members: Array<{ member_id: string; type: number }> }>('/group/member/list', { groupId: gid });
    expect(members.members.find((m) => m.member_id === member)?.type).toBe(0);
    expect(await convList(t.admin, member)).toEqual(before);
    expect((await convList(t.admin, owner)).filter((c) => c.conversation.target === gid)).toEqual([]);
  });

  it(`every route taking to_lines accepts ${MAX_TO_LINES} lines and refuses ${MAX_TO_LINES + 1} (251, nothing changed)`, async () => {
    const [o, a, b] = await t.users('tl-o', 'tl-a', 'tl-b');
    const g = fresh('tl-g');
    const over = Array.from({ length: MAX_TO_LINES + 1 }, (_, i) => i);
    const atLimit = over.slice(0, MAX_TO_LINES);
    expect(
      await envelope('/group/create', { operator: o, to_lines: over, group: { group_info: { target_id: g, name: g, owner: o }, members: [{ member_id: a }] } }),
    ).toEqual(INVALID);
    expect(await envelope('/group/get_info', { groupId: g })).toEqual({ code: 253, msg: 'not exist' });
    expect(
      await envelope('/group/create', { operator: o, to_lines: atLimit, group: { group_info: { target_id: g, name: g, owner: o }, members: [{ member_id: a }] } }),
    ).toEqual({ ...SUCCESS, result: { group_id: g } });
    const announced = async () => (await convList(t.admin, a)).filter((c) => c.conversation.target === g).length;
    expect(await announced()).toBe(MAX_TO_LINES);
    const refused: Array<[string, Record<string, unknown>]> = [
      ['/group/modify', { operator: o, group_id: g, type: 0, value: 'renamed' }],
      ['/group/transfer', { operator: o, group_id: g, new_owner: a }],
      ['/group/member/add', { operator: o, group_id: g, members: [{ member_id: b }] }],
      ['/group/member/del', { operator: o, group_id: g, members: [a] }],
      ['/group/member/quit', { operator: a, group_id: g }],
      ['/group/manager/set', { operator: o, group_id: g, members: [a], is_manager: true }],
      ['/group/manager/mute', { operator: o, group_id: g, members: [a], is_manager: true }],
      ['/group/manager/allow', { operator: o, group_id: g, members: [a], is_manager: true }],
      ['/group/del', { operator: o, group_id: g }],
    ];
    for (const [path, body] of refused) expect(await envelope(path, { ...body, to_lines: over }), path).toEqual(INVALID);
    // Nothing changed: same name, owner and members, no new announcement.
    expect(await t.admin.ok('/group/get_info', { groupId: g })).toMatchObject({ name: g, owner: o });
    const members = await t.admin.ok<{ members: Array<{ member_id: string; type: number }> }>('/group/member/list', { groupId: g });
    expect(members.members.map((m) => [m.member_id, m.type]).sort()).toEqual([[a, 0], [o, 2]].sort());
    expect(await announced()).toBe(MAX_TO_LINES);
  });
});

describe('group/modify numeric values (issue 8: loose integers)', () => {
  it('refuses integers with blanks, signs or other decoration for types 3..8 (251) and stores nothing', async () => {
    const g = fresh('mod-g');
    await t.admin.createGroup(g, owner, [member]);
    const info = () => t.admin.ok<Record<string, unknown>>('/group/get_info', { groupId: g });
    const before = await info();
    const loose: Array<[number, string]> = [
      [3, ' 1'],
      [3, '1 '],
      [3, '\t1'],
      [3, '1\n'],
      [4, ' 2'],
      [5, '\r1'],
      [6, '1\u00a0'],
      [7, '+1'],
      [8, ' 5'],
      [8, '5 '],
      [8, '\t7'],
      [8, '5\n'],
      [8, '0x5'],
      [8, '5e0'],
      [8, '٥'], // an Arabic-Indic digit five
    ];
    for (const [type, value] of loose) {
      expect(await envelope('/group/modify', { operator: owner, group_id: g, type, value }), `${type}=${JSON.stringify(value)}`).toEqual(INVALID);
    }
    expect(await info()).toEqual(before);
    // Plain decimals are taken.
    expect(await envelope('/group/modify', { operator: owner, group_id: g, type: 8, value: '7' })).toEqual(SUCCESS);
    expect(await envelope('/group/modify', { operator: owner, group_id: g, type: 3, value: '1' })).toEqual(SUCCESS);
    expect(await info()).toMatchObject({ max_member_count: 7, mute: 1 });
  });

  it('bounds a text value by its field: name 1 KiB, portrait 8 KiB, extra 64 KiB', async () => {
    const g = fresh('mod-t');
    await t.admin.createGroup(g, owner, [member]);
    const modify = (type: number, value: string) => envelope('/group/modify', { operator: owner, group_id: g, type, value, to_lines: [] });
    for (const [type, max, field] of [
      [0, MAX_TEXT_LENGTH, 'name'],
      [1, MAX_URL_LENGTH, 'portrait'],
      [2, MAX_EXTRA_LENGTH, 'extra'],
    ] as const) {
      expect(await modify(type, 'v'.repeat(max + 1)), field).toEqual(INVALID);
      expect(await modify(type, 'v'.repeat(max)), field).toEqual(SUCCESS);
      expect((await t.admin.ok<Record<string, string>>('/group/get_info', { groupId: g }))[field]).toHaveLength(max);
    }
  });
});

describe('boundaries: exactly at a limit is accepted, one over is refused (251) and stores nothing', () => {
  it(`ids: ${MAX_ID_LENGTH} characters`, async () => {
    const ok = idOf(MAX_ID_LENGTH, 'id');
    const over = idOf(MAX_ID_LENGTH + 1, 'id');
    expect(await envelope('/user/create', { userId: over, name: over })).toEqual(INVALID);
    expect(await envelope('/user/get_info', { name: over })).toEqual({ code: 253, msg: 'not exist' });
    expect((await envelope('/user/create', { userId: ok, name: ok })).code).toBe(0);
    expect((await t.admin.ok<{ userId: string }>('/user/get_info', { userId: ok })).userId).toBe(ok);
    // A conversation target, a group id and a client id alike.
    expect(await envelope('/message/send', { sender: owner, conv: { type: 0, target: over }, payload: { type: 1 } })).toEqual(INVALID);
    expect(await envelope('/message/send', { sender: owner, conv: { type: 0, target: ok }, payload: { type: 1 } })).toMatchObject({ code: 0 });
    expect(await envelope('/group/create', { operator: owner, group: { group_info: { target_id: over, name: 'g' } } })).toEqual(INVALID);
    expect(await envelope('/group/get_info', { groupId: over.slice(0, MAX_ID_LENGTH) })).toEqual({ code: 253, msg: 'not exist' });
    expect(await envelope('/user/get_token', { userId: owner, clientId: over })).toEqual(INVALID);
    expect((await envelope('/user/get_token', { userId: owner, clientId: ok })).code).toBe(0);
  });

  it(`short text ${MAX_TEXT_LENGTH}, URLs ${MAX_URL_LENGTH}, extras ${MAX_EXTRA_LENGTH} characters (counted in code points)`, async () => {
    const cases: Array<[string, number]> = [
      ['name', MAX_TEXT_LENGTH],
      ['email', MAX_TEXT_LENGTH],
      ['portrait', MAX_URL_LENGTH],
      ['extra', MAX_EXTRA_LENGTH],
    ];
    for (const [field, max] of cases) {
      const over = fresh('u');
      expect(await envelope('/user/create', { userId: over, name: over, [field]: 'é'.repeat(max + 1) }), field).toEqual(INVALID);
      expect(await envelope('/user/get_info', { userId: over }), field).toEqual({ code: 253, msg: 'not exist' });
      const ok = fresh('u');
      // An astral character is one code point (two UTF-16 units): exactly at the bound is accepted.
      const value = '😀'.repeat(max);
      expect((await envelope('/user/create', { userId: ok, name: field === 'name' ? value : ok, [field]: value })).code, field).toBe(0);
      expect((await t.admin.ok<Record<string, string>>('/user/get_info', { userId: ok }))[field]).toBe(value);
    }
  });

  it(`user lists: ${MAX_USER_LIST} ids (members, toUsers, mentionedTarget, receivers, targets)`, async () => {
    const atLimit = ids(MAX_USER_LIST, 'nobody-');
    const over = ids(MAX_USER_LIST + 1, 'nobody-');
    // member/del skips ids that are not members: at the limit it succeeds and removes nothing.
    expect(await envelope('/group/member/del', { operator: owner, group_id: gid, members: over })).toEqual(INVALID);
    expect(await envelope('/group/member/del', { operator: owner, group_id: gid, members: atLimit })).toEqual(SUCCESS);
    expect(await envelope('/group/manager/set', { operator: owner, group_id: gid, members: over, is_manager: true })).toEqual(INVALID);
    expect(await envelope('/group/member/add', { operator: owner, group_id: gid, members: over.map((m) => ({ member_id: m })) })).toEqual(INVALID);
    expect(await envelope('/message/multicast', { sender: owner, targets: over, payload: { type: 1 } })).toEqual(INVALID);
    expect(await envelope('/message/recall_multicast', { operator: owner, messageUid: 1, receivers: over })).toEqual(INVALID);
    expect(await envelope('/message/delete_multicast', { operator: owner, messageUid: 1, receivers: over })).toEqual(INVALID);
    // toUsers and mentionedTarget of a group message: at the limit it is sent (to the listed members).
    const conv = group(gid);
    const before = await convList(t.admin, member);
    expect(await envelope('/message/send', { sender: owner, conv, toUsers: over, payload: { type: 1, persistFlag: 3 } })).toEqual(INVALID);
    expect(
      await envelope('/message/send', { sender: owner, conv, payload: { type: 1, persistFlag: 3, mentionedType: 1, mentionedTarget: over } }),
    ).toEqual(INVALID);
    expect(await convList(t.admin, member)).toEqual(before);
    expect((await envelope('/message/send', { sender: owner, conv, toUsers: [...atLimit.slice(1), member], payload: { type: 1 } })).code).toBe(0);
    expect(
      (await envelope('/message/send', { sender: owner, conv, payload: { type: 1, mentionedType: 1, mentionedTarget: atLimit } })).code,
    ).toBe(0);
    expect(await t.admin.ok<{ members: unknown[] }>('/group/member/list', { groupId: gid })).toMatchObject({ members: [{}, {}] });
  });

  it(`payload strings: ${MAX_CONTENT_LENGTH} characters (with a body limit raised above it)`, async () => {
    const big = await startTestServer({ admin: { bodyLimitBytes: 4 * 1024 * 1024 } });
    try {
      const [a, b] = await big.users('c-a', 'c-b');
      const send = (payload: Record<string, unknown>) => big.admin.post('/message/send', { sender: a, conv: { type: 0, target: b }, payload });
      expect((await send({ type: 1, content: 'c'.repeat(MAX_CONTENT_LENGTH + 1) })).body).toEqual(INVALID);
      expect((await send({ type: 1, remoteMediaUrl: 'u'.repeat(MAX_URL_LENGTH + 1) })).body).toEqual(INVALID);
      expect(await convList(big.admin, b)).toEqual([]);
      const r = await send({ type: 1, persistFlag: 3, content: 'c'.repeat(MAX_CONTENT_LENGTH), remoteMediaUrl: 'u'.repeat(MAX_URL_LENGTH) });
      expect(r.body.code).toBe(0);
      const uid = (r.body.result as { messageUid: number }).messageUid;
      const m = await big.admin.ok<{ payload: { content: string } }>('/message/get_one', { messageUid: uid });
      expect(m.payload.content).toHaveLength(MAX_CONTENT_LENGTH);
    } finally {
      await big.close();
    }
  });

  it(`pages: count up to ${MAX_PAGE_SIZE}`, async () => {
    expect(await envelope('/user/all', { count: MAX_PAGE_SIZE + 1, offset: 0 })).toEqual(INVALID);
    expect((await envelope('/user/all', { count: MAX_PAGE_SIZE, offset: 0 })).code).toBe(0);
    expect(await envelope('/group/member/list', { groupId: gid, offset: 0, count: MAX_PAGE_SIZE + 1 })).toEqual(INVALID);
    expect((await envelope('/group/member/list', { groupId: gid, offset: 0, count: MAX_PAGE_SIZE })).code).toBe(0);
    expect(await envelope('/user/online_list', { offset: 0, count: MAX_PAGE_SIZE + 1 })).toEqual(INVALID);
    expect(await envelope('/callback/deliveries', { limit: 1001 })).toEqual(INVALID);
  });

  it('callback targets: URL, secrets and the command list are bounded', async () => {
    const id = fresh('cb').replace(/[^A-Za-z0-9_.-]/g, '');
    const url = `http://127.0.0.1:9/${'p'.repeat(MAX_URL_LENGTH - 'http://127.0.0.1:9/'.length)}`;
    expect(await envelope('/callback/set_target', { id, url: `${url}p` })).toEqual(INVALID);
    expect(await envelope('/callback/set_target', { id, url: 'http://127.0.0.1:9/', token: 't'.repeat(MAX_TEXT_LENGTH + 1) })).toEqual(INVALID);
    expect(await envelope('/callback/set_target', { id, url: 'http://127.0.0.1:9/', commands: Array(65).fill('C2C.CallbackAfterSendMsg') })).toEqual(INVALID);
    expect((await t.admin.ok<{ targets: unknown[] }>('/callback/get_targets', {})).targets).toEqual([]);
    expect((await envelope('/callback/set_target', { id, url, enabled: false, commands: Array(64).fill('C2C.CallbackAfterSendMsg') })).code).toBe(0);
    expect(await envelope('/callback/delete_target', { id })).toEqual(SUCCESS);
  });
});
