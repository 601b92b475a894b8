import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CallbackReceiver, type Json } from '../helpers/callback-receiver.js';
import { AFTER_COMMANDS, BEFORE_COMMANDS, expectUint32, startCallbackServer, textOf } from '../helpers/callbacks.js';
import { createUsers, fresh, getOne, group, single } from '../helpers/messages.js';
import type { TestServer } from '../helpers/server.js';
import { closeAllClients, device } from '../helpers/ws-client.js';

/**
 * Tencent's documented fields, field for field (issue 12 item 4): MsgId in both group message
 * callbacks, GroupAtInfo for mentions, CreateGroupNum, a per-group MsgSeq counted from 1, and a
 * MsgRandom / Random that differs per message and stays the same for one message.
 */

const text = (s: string, extra: Record<string, unknown> = {}) => ({ type: 1, searchableContent: s, persistFlag: 3, ...extra });

describe('Tencent callback fields', () => {
  let r: CallbackReceiver;
  let t: TestServer;
  beforeAll(async () => {
    r = await CallbackReceiver.start();
    t = await startCallbackServer(r, { commands: [...AFTER_COMMANDS, ...BEFORE_COMMANDS], timeoutMs: 2000, beforeSendPolicy: 'allow' });
  });
  afterEach(closeAllClients);
  afterAll(async () => {
    await t.close();
    await r.close();
  });

  const groupAfter = (g: string, s: string) => r.waitDelivered('Group.CallbackAfterSendMsg', (b) => b.GroupId === g && textOf(b) === s);
  const groupBefore = (g: string, s: string) => r.waitFor((q) => q.command === 'Group.CallbackBeforeSendMsg' && q.json.GroupId === g && textOf(q.json) === s);

  it('group MsgSeq: 1, 2, 3… per group, each group on its own; notifications and member changes take no number', async () => {
    const [o, m, n] = [fresh('o'), fresh('m'), fresh('n')];
    await createUsers(t.admin, o, m, n);
    const [g1, g2] = [fresh('g'), fresh('g')];
    // Group creation announces itself with a notification message: it takes no MsgSeq.
    await t.admin.createGroup(g1, o, [m]);
    await t.admin.createGroup(g2, o, [m]);
    const sends: Array<[string, string]> = [
      [g1, 'a1'],
      [g2, 'b1'],
      [g1, 'a2'],
      [g1, 'a3'],
      [g2, 'b2'],
    ];
    for (const [g, s] of sends.slice(0, 3)) await t.admin.send(m, group(g), text(s));
    // A member added in between (its notification is a group message too): still no number.
    await t.admin.ok('/group/member/add', { operator: o, group_id: g1, members: [{ member_id: n }] });
    for (const [g, s] of sends.slice(3)) await t.admin.send(m, group(g), text(s));
    // A device's online-only message takes the next number as well.
    const dev = await device(t.url, t.admin, n);
    dev.send({ type: 'send', id: 'x', conv: group(g1), payload: text('a4', { persistFlag: 4 }) });
    await dev.waitType('sent', (f) => f['id'] === 'x');

    const seqOf = async (g: string, s: string): Promise<number> => (await groupAfter(g, s)).json.MsgSeq as number;
    expect([await seqOf(g1, 'a1'), await seqOf(g1, 'a2'), await seqOf(g1, 'a3'), await seqOf(g1, 'a4')]).toEqual([1, 2, 3, 4]);
    expect([await seqOf(g2, 'b1'), await seqOf(g2, 'b2')]).toEqual([1, 2]);
  });

  it('group MsgSeq under concurrent sends: every number once, in commit order (the order members receive them)', async () => {
    const [o, m] = [fresh('o'), fresh('m')];
    await createUsers(t.admin, o, m);
    const g = fresh('g');
    await t.admin.createGroup(g, o, [m]);
    const dev = await device(t.url, t.admin, o);
    const from = dev.mark;
    const texts = Array.from({ length: 30 }, (_, i) => `c${i}`);
    const sent = await Promise.all(texts.map((s) => t.admin.send(m, group(g), text(s))));
    const after = await Promise.all(texts.map((s) => groupAfter(g, s)));
    const seqs = after.map((a) => a.json.MsgSeq as number);
    expect([...seqs].sort((x, y) => x - y)).toEqual(texts.map((_, i) => i + 1));
    // A member receives them in commit order (by cursor); their numbers follow it. (Uids do not: a
    // before-send hook reserves a message's uid before the message is stored.)
    for (const s of sent) await dev.waitMessage(s.messageUid);
    const seqByUid = new Map(sent.map((s, i) => [s.messageUid, seqs[i]!]));
    expect(dev.messageUids(from).map((u) => seqByUid.get(u))).toEqual(texts.map((_, i) => i + 1));
  });

  it('MsgId: the device clientMsgId in Group.CallbackBeforeSendMsg and Group.CallbackAfterSendMsg; "" for admin sends', async () => {
    const [o, m] = [fresh('o'), fresh('m')];
    await createUsers(t.admin, o, m);
    const g = fresh('g');
    await t.admin.createGroup(g, o, [m]);
    const dev = await device(t.url, t.admin, m, 'm-phone', { platform: 1 });
    dev.send({ type: 'send', id: 'd1', conv: group(g), payload: text('from-device'), clientMsgId: 'client-msg-42' });
    await dev.waitType('sent', (f) => f['id'] === 'd1');
    expect((await groupBefore(g, 'from-device')).json.MsgId).toBe('client-msg-42');
    expect((await groupAfter(g, 'from-device')).json.MsgId).toBe('client-msg-42');

    await t.admin.send(m, group(g), text('from-admin'));
    expect((await groupBefore(g, 'from-admin')).json.MsgId).toBe('');
    expect((await groupAfter(g, 'from-admin')).json.MsgId).toBe('');
  });

  it('GroupAtInfo: users (mentionedType 1), everyone (2, with any users listed after it); absent without mentions', async () => {
    const [o, m1, m2] = [fresh('o'), fresh('m'), fresh('m')];
    await createUsers(t.admin, o, m1, m2);
    const g = fresh('g');
    await t.admin.createGroup(g, o, [m1, m2]);
    await t.admin.send(o, group(g), text('at-two', { mentionedType: 1, mentionedTarget: [m1, m2, m1] }));
    await t.admin.send(o, group(g), text('at-all', { mentionedType: 2 }));
    await t.admin.send(o, group(g), text('at-all-and-one', { mentionedType: 2, mentionedTarget: [m2] }));
    await t.admin.send(o, group(g), text('at-nobody'));
    await t.admin.send(o, group(g), text('type-1-no-targets', { mentionedType: 1 }));

    const users = [
      { GroupAtAllFlag: 0, GroupAt_Account: m1 },
      { GroupAtAllFlag: 0, GroupAt_Account: m2 },
    ];
    for (const get of [groupBefore, groupAfter]) {
      expect((await get(g, 'at-two')).json.GroupAtInfo).toEqual(users);
      expect((await get(g, 'at-all')).json.GroupAtInfo).toEqual([{ GroupAtAllFlag: 1 }]);
      expect((await get(g, 'at-all-and-one')).json.GroupAtInfo).toEqual([{ GroupAtAllFlag: 1 }, { GroupAtAllFlag: 0, GroupAt_Account: m2 }]);
      expect('GroupAtInfo' in (await get(g, 'at-nobody')).json).toBe(false);
      expect('GroupAtInfo' in (await get(g, 'type-1-no-targets')).json).toBe(false);
    }
  });

  it('Random (groups) and MsgRandom (single chats): 32-bit, different for each message, the same in the before- and after-callback of one message', async () => {
    const [o, m, a, b] = [fresh('o'), fresh('m'), fresh('a'), fresh('b')];
    await createUsers(t.admin, o, m, a, b);
    const g = fresh('g');
    await t.admin.createGroup(g, o, [m]);
    const n = 25;
    const gTexts = Array.from({ length: n }, (_, i) => `r${i}`);
    const cTexts = Array.from({ length: n }, (_, i) => `q${i}`);
    // Sent at once: many share the same millisecond, where the uid's upper bits are equal.
    await Promise.all([...gTexts.map((s) => t.admin.send(m, group(g), text(s))), ...cTexts.map((s) => t.admin.send(a, single(b), text(s)))]);

    const groupRandoms: number[] = [];
    for (const s of gTexts) {
      const before = (await groupBefore(g, s)).json as Json;
      const after = (await groupAfter(g, s)).json as Json;
      expectUint32(after.Random, 'Random');
      expect(before.Random, `Random of ${s} before and after`).toBe(after.Random);
      groupRandoms.push(after.Random as number);
    }
    expect(new Set(groupRandoms).size).toBe(n);

    const c2cRandoms: number[] = [];
    for (const s of cTexts) {
      const before = await r.waitFor((q) => q.command === 'C2C.CallbackBeforeSendMsg' && q.json.From_Account === a && textOf(q.json) === s);
      const after = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a && textOf(x) === s);
      expectUint32(after.json.MsgRandom, 'MsgRandom');
      expect(before.json.MsgRandom).toBe(after.json.MsgRandom);
      expect(after.json.MsgKey).toBe(`${after.json.MsgSeq}_${after.json.MsgRandom}_${after.json.MsgTime}`);
      c2cRandoms.push(after.json.MsgRandom as number);
    }
    expect(new Set(c2cRandoms).size).toBe(n);
    // Not merely the uid's upper bits (the same for messages sent within ~17 minutes).
    expect(c2cRandoms.some((x) => x >= 2 ** 21)).toBe(true);
  });

  it('the MsgKey of a callback still recalls its message', async () => {
    const [a, b] = [fresh('a'), fresh('b')];
    await createUsers(t.admin, a, b);
    const s = await t.admin.send(a, single(b), text('recall-me'));
    const after = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a && textOf(x) === 'recall-me');
    await t.admin.ok('/message/recall', { operator: a, msgKey: after.json.MsgKey });
    expect((await getOne(t.admin, s.messageUid)).payload['type']).toBe(80);
    // A key with another MsgRandom names no message.
    const [seq, random, time] = String(after.json.MsgKey).split('_');
    const wrong = `${seq}_${(Number(random) + 1) % 2 ** 32}_${time}`;
    expect(await t.admin.code('/message/recall', { operator: a, msgKey: wrong })).toBe(253);
  });

  it('CreateGroupNum: the owner’s groups of that type, the new one included', async () => {
    const [o, p, m] = [fresh('o'), fresh('p'), fresh('m')];
    await createUsers(t.admin, o, p, m);
    const created = async (g: string) => (await r.waitDelivered('Group.CallbackAfterCreateGroup', (b) => b.GroupId === g)).json.CreateGroupNum as number;
    const [g1, g2, g3, g4] = [fresh('g'), fresh('g'), fresh('g'), fresh('g')];
    await t.admin.createGroup(g1, o, [m], { type: 2 });
    expect(await created(g1)).toBe(1);
    await t.admin.createGroup(g2, o, [m], { type: 2 });
    expect(await created(g2)).toBe(2);
    await t.admin.createGroup(g3, o, [m], { type: 1 });
    expect(await created(g3)).toBe(1);
    await t.admin.createGroup(g4, p, [m], { type: 2 });
    expect(await created(g4)).toBe(1);
    // A dismissed group no longer counts.
    await t.admin.ok('/group/del', { operator: o, group_id: g1 });
    const g5 = fresh('g');
    await t.admin.createGroup(g5, o, [m], { type: 2 });
    expect(await created(g5)).toBe(2);
  });
});
