import { describe, expect, it } from 'vitest';
import { CallbackReceiver, OK_REPLY, type CallbackRequest, type Reply } from '../helpers/callback-receiver.js';
import {
  AFTER_COMMANDS,
  BEFORE_COMMANDS,
  GROUP_TYPES,
  expectKeys,
  expectMillis,
  expectSeconds,
  expectTencentRequest,
  expectUint32,
  textOf,
  useReceiver,
  useCallbackServer,
} from '../helpers/callbacks.js';
import { convEntry, fresh, getOne, group, single, type MessageData, text } from '../helpers/messages.js';
import type { TestServer } from '../helpers/server.js';
import type { WsClient } from '../helpers/ws-client.js';

/**
 * C2C.CallbackBeforeSendMsg and Group.CallbackBeforeSendMsg: synchronous, with the reply deciding.
 * The receiver decides from the text of the message: "allow…" ErrorCode 0, "reject…" 1, "custom…"
 * a code of the command's pass-through range (120005 C2C, 10150 group), "swap…" the other command's
 * range, "drop…" 2, "modify…" a replaced MsgBody and CloudCustomData, "hang…" no answer (past the
 * 1 s timeout), "fail…" HTTP 500, "trickle…" a reply body trickled one byte every 200 ms (never
 * ending), "malformed…" a MsgBody with an image whose ImageInfoArray is [null]; a custom element whose
 * Data starts with "echo" gets its own MsgBody back.
 *
 * Durations are measured with performance.now() and asserted as bounds (at most the timeout plus a
 * generous margin), never used to synchronise.
 */

const MARGIN_MS = 1500;

/** The reply of the audit: a MsgBody whose image has a null ImageInfoArray entry. */
const MALFORMED = { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', MsgBody: [{ MsgType: 'TIMImageElem', MsgContent: { ImageInfoArray: [null] } }] };

function decide(q: CallbackRequest): Reply | undefined {
  if (!BEFORE_COMMANDS.includes(q.command)) return undefined;
  const c2c = q.command === 'C2C.CallbackBeforeSendMsg';
  const s = textOf(q.json);
  const data = String(q.json?.MsgBody?.[0]?.MsgContent?.Data ?? '');
  // A custom element whose Data starts with "echo": answer with the MsgBody it was sent.
  if (data.startsWith('echo')) return { body: { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', MsgBody: q.json.MsgBody } };
  if (s.startsWith('trickle')) return { trickle: { intervalMs: 200 } };
  if (s.startsWith('malformed')) return { body: MALFORMED };
  if (s.startsWith('reject')) return { body: { ActionStatus: 'OK', ErrorCode: 1, ErrorInfo: 'not allowed here' } };
  if (s.startsWith('custom')) return { body: { ActionStatus: 'OK', ErrorCode: c2c ? 120005 : 10150, ErrorInfo: 'custom reason' } };
  if (s.startsWith('swap')) return { body: { ActionStatus: 'OK', ErrorCode: c2c ? 10150 : 120005, ErrorInfo: 'wrong range' } };
  if (s.startsWith('drop')) return { body: { ActionStatus: 'OK', ErrorCode: 2, ErrorInfo: '' } };
  if (s.startsWith('modify')) {
    return {
      body: { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'censored' } }], CloudCustomData: 'new-ccd' },
    };
  }
  if (s.startsWith('hang')) return { hang: true };
  if (s.startsWith('fail')) return { status: 500, body: 'boom' };
  return { body: OK_REPLY };
}

const COMMANDS = [...AFTER_COMMANDS, ...BEFORE_COMMANDS];

const C2C_BEFORE_KEYS = ['CallbackCommand', 'From_Account', 'To_Account', 'MsgSeq', 'MsgRandom', 'MsgTime', 'MsgKey', 'MsgId', 'OnlineOnlyFlag', 'MsgBody', 'CloudCustomData'];
const GROUP_BEFORE_KEYS = ['CallbackCommand', 'GroupId', 'Type', 'From_Account', 'Operator_Account', 'Random', 'MsgId', 'OnlineOnlyFlag', 'MsgBody', 'CloudCustomData'];

/** Nothing about text `s` reached `dev` or the after-callbacks: proven by a marker sent after it in the same conversation. */
async function expectNothingStored(r: CallbackReceiver, t: TestServer, dev: WsClient, s: string, markerFrom: string, conv: { type: number; target: string }): Promise<void> {
  const marker = `allow-marker-${s}`;
  const m = await t.admin.send(markerFrom, conv, text(marker));
  await dev.waitMessage(m.messageUid);
  const after = conv.type === 0 ? 'C2C.CallbackAfterSendMsg' : 'Group.CallbackAfterSendMsg';
  await r.waitDelivered(after, (b) => textOf(b) === marker);
  expect(dev.frames.filter((f) => JSON.stringify(f).includes(s) && !JSON.stringify(f).includes(marker))).toEqual([]);
  expect(r.all(after, (b) => textOf(b) === s)).toEqual([]);
}

describe('before-send callbacks, policy allow (timeout 1 s)', () => {
  const r = useReceiver(decide);
  const t = useCallbackServer(r, { commands: COMMANDS, timeoutMs: 1000, beforeSendPolicy: 'allow' });

  it('C2C allow: the before-callback carries the message (Tencent query string and fields), then it is stored and announced', async () => {
    const [a, b] = await t.users('a', 'b');
    const t0 = Date.now();
    const s = await t.admin.send(a, single(b), text('allow-1', { extra: 'orig ccd' }));
    const t1 = Date.now();
    const before = await r.waitFor((q) => q.command === 'C2C.CallbackBeforeSendMsg' && q.json.From_Account === a);
    expectTencentRequest(before, { command: 'C2C.CallbackBeforeSendMsg', optPlatform: 'RESTAPI' });
    expect(before.headers['x-switchboard-delivery-id']).toBeUndefined();
    expectKeys(before.json, C2C_BEFORE_KEYS, ['EventTime'], 'C2C.CallbackBeforeSendMsg');
    expect(before.json).toMatchObject({
      From_Account: a,
      To_Account: b,
      MsgId: '',
      OnlineOnlyFlag: 0,
      MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'allow-1' } }],
      CloudCustomData: 'orig ccd',
    });
    expectUint32(before.json.MsgSeq, 'MsgSeq');
    expectUint32(before.json.MsgRandom, 'MsgRandom');
    expectSeconds(before.json.MsgTime, t0, t1, 'MsgTime');
    expect(typeof before.json.MsgKey).toBe('string');

    expect((await getOne(t.admin, s.messageUid)).payload['searchableContent']).toBe('allow-1');
    const after = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a);
    expect(after.index).toBeGreaterThan(before.index);
    expect(after.json.MsgBody).toEqual(before.json.MsgBody);
  });

  it("C2C before-callback's MsgKey is the message's key: MsgSeq_MsgRandom_MsgTime, as in the after-callback", async () => {
    const [a, b] = await t.users('a', 'b');
    await t.admin.send(a, single(b), text('allow-key'));
    const before = await r.waitFor((q) => q.command === 'C2C.CallbackBeforeSendMsg' && q.json.From_Account === a);
    expect(before.json.MsgKey).toBe(`${before.json.MsgSeq}_${before.json.MsgRandom}_${before.json.MsgTime}`);
    const after = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a);
    expect(before.json.MsgKey).toBe(after.json.MsgKey);
  });

  it('group allow: Group.CallbackBeforeSendMsg fields (Operator_Account admin, Random, EventTime ms)', async () => {
    const [o, m] = await t.users('o', 'm');
    const g = fresh('g');
    await t.admin.createGroup(g, o, [m]);
    const t0 = Date.now();
    const s = await t.admin.send(m, group(g), text('allow-group', { extra: 'g ccd' }));
    const before = await r.waitFor((q) => q.command === 'Group.CallbackBeforeSendMsg' && q.json.GroupId === g);
    expectTencentRequest(before, { command: 'Group.CallbackBeforeSendMsg', optPlatform: 'RESTAPI' });
    expectKeys(before.json, GROUP_BEFORE_KEYS, ['EventTime', 'TopicId', 'GroupAtInfo'], 'Group.CallbackBeforeSendMsg');
    expect(before.json).toMatchObject({
      From_Account: m,
      Operator_Account: 'admin',
      OnlineOnlyFlag: 0,
      MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'allow-group' } }],
      CloudCustomData: 'g ccd',
    });
    expect(GROUP_TYPES).toContain(before.json.Type);
    expectUint32(before.json.Random, 'Random');
    if ('EventTime' in before.json) expectMillis(before.json.EventTime, t0, Date.now(), 'EventTime');
    expect((await getOne(t.admin, s.messageUid)).payload['searchableContent']).toBe('allow-group');
    await r.waitDelivered('Group.CallbackAfterSendMsg', (x) => x.GroupId === g && textOf(x) === 'allow-group');
  });

  it('reject (ErrorCode 1): the admin send answers 20006 (C2C) / 10016 (group) with the ErrorInfo; nothing stored or announced', async () => {
    const [a, b, o] = await t.users('a', 'b', 'o');
    const g = fresh('g');
    await t.admin.createGroup(g, o, [a, b]);
    const bDev = await t.device(b);
    const unreadBefore = (await convEntry(t.admin, b, single(a)))?.unread ?? 0;

    const r1 = await t.admin.post('/message/send', { sender: a, conv: single(b), payload: text('reject-c2c') });
    expect(r1.status).toBe(200);
    expect(r1.body).toEqual({ code: 20006, msg: 'not allowed here' });
    await expectNothingStored(r, t, bDev, 'reject-c2c', a, single(b));
    expect((await convEntry(t.admin, b, single(a)))?.unread ?? 0).toBe(unreadBefore + 1); // the marker only

    const r2 = await t.admin.post('/message/send', { sender: a, conv: group(g), payload: text('reject-group') });
    expect(r2.body).toEqual({ code: 10016, msg: 'not allowed here' });
    await expectNothingStored(r, t, bDev, 'reject-group', a, group(g));
  });

  it('reject with a custom code: 120001–130000 passes through for C2C, 10100–10200 for groups; other codes are the forbidden code', async () => {
    const [a, b, o] = await t.users('a', 'b', 'o');
    const g = fresh('g');
    await t.admin.createGroup(g, o, [a, b]);
    const bDev = await t.device(b);

    expect((await t.admin.post('/message/send', { sender: a, conv: single(b), payload: text('custom-c2c') })).body).toEqual({ code: 120005, msg: 'custom reason' });
    expect((await t.admin.post('/message/send', { sender: a, conv: group(g), payload: text('custom-group') })).body).toEqual({ code: 10150, msg: 'custom reason' });
    expect((await t.admin.post('/message/send', { sender: a, conv: single(b), payload: text('swap-c2c') })).body).toEqual({ code: 20006, msg: 'wrong range' });
    expect((await t.admin.post('/message/send', { sender: a, conv: group(g), payload: text('swap-group') })).body).toEqual({ code: 10016, msg: 'wrong range' });
    await expectNothingStored(r, t, bDev, 'custom-c2c', a, single(b));
    await expectNothingStored(r, t, bDev, 'custom-group', a, group(g));
    expect(r.all('C2C.CallbackAfterSendMsg', (x) => textOf(x).startsWith('swap'))).toEqual([]);
  });

  it('drop (ErrorCode 2): the admin send answers 0 with a uid, but get_one answers 253; no after-callback, no frame', async () => {
    const [a, b] = await t.users('a', 'b');
    const bDev = await t.device(b);
    const s = await t.admin.send(a, single(b), text('drop-1'));
    expect(Number.isSafeInteger(s.messageUid) && s.messageUid > 0).toBe(true);
    expect((await t.admin.post('/message/get_one', { messageUid: s.messageUid })).body).toEqual({ code: 253, msg: 'not exist' });
    await expectNothingStored(r, t, bDev, 'drop-1', a, single(b));
  });

  it('modify: the replaced MsgBody and CloudCustomData are what is stored, delivered and announced (C2C and group)', async () => {
    const [a, b, o] = await t.users('a', 'b', 'o');
    const g = fresh('g');
    await t.admin.createGroup(g, o, [a, b]);
    const bDev = await t.device(b);

    const s = await t.admin.send(a, single(b), text('modify-c2c bad words', { extra: 'orig-ccd' }));
    const m: MessageData = await getOne(t.admin, s.messageUid);
    expect(m.payload).toMatchObject({ type: 1, searchableContent: 'censored', extra: 'new-ccd' });
    expect((await bDev.waitMessage(s.messageUid))['message']).toEqual(m);
    const after = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a && x.To_Account === b);
    expect(after.json.MsgBody).toEqual([{ MsgType: 'TIMTextElem', MsgContent: { Text: 'censored' } }]);
    expect(after.json.CloudCustomData).toBe('new-ccd');

    const sg = await t.admin.send(a, group(g), text('modify-group bad words', { extra: 'orig-ccd' }));
    const mg = await getOne(t.admin, sg.messageUid);
    expect(mg.payload).toMatchObject({ type: 1, searchableContent: 'censored', extra: 'new-ccd' });
    expect((await bDev.waitMessage(sg.messageUid))['message']).toEqual(mg);
    const ag = await r.waitDelivered('Group.CallbackAfterSendMsg', (x) => x.GroupId === g && x.From_Account === a);
    expect(ag.json.MsgBody).toEqual([{ MsgType: 'TIMTextElem', MsgContent: { Text: 'censored' } }]);
    expect(ag.json.CloudCustomData).toBe('new-ccd');
    expect(r.all('C2C.CallbackAfterSendMsg', (x) => textOf(x).startsWith('modify'))).toEqual([]);
  });

  it('timeout or failure under policy allow: the message is stored and announced', async () => {
    const [a, b] = await t.users('a', 'b');
    const t0 = Date.now();
    const s = await t.admin.send(a, single(b), text('hang-allow'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    const asked = await r.waitFor((q) => q.command === 'C2C.CallbackBeforeSendMsg' && textOf(q.json) === 'hang-allow');
    expect(asked.answer).toBe('hang');
    expect((await getOne(t.admin, s.messageUid)).payload['searchableContent']).toBe('hang-allow');
    await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => textOf(x) === 'hang-allow');

    const f = await t.admin.send(a, single(b), text('fail-allow'));
    expect((await getOne(t.admin, f.messageUid)).payload['searchableContent']).toBe('fail-allow');
    await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => textOf(x) === 'fail-allow');
  });

  it('a trickling back end under allow: the send is stored within about the timeout (the probe took 6 s)', async () => {
    const [a, b] = await t.users('a', 'b');
    const t0 = performance.now();
    const s = await t.admin.send(a, single(b), text('trickle-allow'));
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(1000);
    expect(ms).toBeLessThan(1000 + MARGIN_MS);
    const asked = await r.waitFor((q) => q.command === 'C2C.CallbackBeforeSendMsg' && textOf(q.json) === 'trickle-allow');
    expect(asked.answer).toBe('trickle');
    expect(asked.sentBytes).toBeGreaterThan(1);
    expect((await getOne(t.admin, s.messageUid)).payload['searchableContent']).toBe('trickle-allow');
    await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => textOf(x) === 'trickle-allow');
  });

  it('a malformed reply (ImageInfoArray [null]) under allow: the message is stored as sent, not answered "server error"', async () => {
    const [a, b, o] = await t.users('a', 'b', 'o');
    const r1 = await t.admin.post('/message/send', { sender: a, conv: single(b), payload: text('malformed-allow') });
    expect(r1.body.code).toBe(0);
    const uid = (r1.body.result as { messageUid: number }).messageUid;
    expect((await getOne(t.admin, uid)).payload).toMatchObject({ type: 1, searchableContent: 'malformed-allow' });
    await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => textOf(x) === 'malformed-allow');
    const g = fresh('g');
    await t.admin.createGroup(g, o, [a]);
    expect((await t.admin.post('/message/send', { sender: a, conv: group(g), payload: text('malformed-allow-group') })).body.code).toBe(0);
    await r.waitDelivered('Group.CallbackAfterSendMsg', (x) => textOf(x) === 'malformed-allow-group');
  });

  it('a back end echoing MsgBody for a link payload leaves the payload exactly as sent (pushContent stays "")', async () => {
    const [a, b] = await t.users('a', 'b');
    const link = { type: 8, searchableContent: 'A link title', pushContent: '', pushData: '', persistFlag: 3 };
    const echoed = await t.admin.send(a, single(b), { ...link, content: 'echo {"url":"https://example.com/x"}' });
    const plain = await t.admin.send(a, single(b), { ...link, content: 'plain {"url":"https://example.com/x"}' });
    const asked = await r.waitFor((q) => q.command === 'C2C.CallbackBeforeSendMsg' && String(q.json.MsgBody?.[0]?.MsgContent?.Data).startsWith('echo') && q.json.From_Account === a);
    expect(asked.json.MsgBody[0].MsgContent.Desc).toBe('A link title');
    const stored = (await getOne(t.admin, echoed.messageUid)).payload;
    const reference = (await getOne(t.admin, plain.messageUid)).payload;
    expect(stored['pushContent']).toBe('');
    expect({ ...stored, content: '' }).toEqual({ ...reference, content: '' });
    expect(stored['content']).toBe('echo {"url":"https://example.com/x"}');
  });

  it('from a device: reject and custom codes come back as error frames; modify and drop as sent frames', async () => {
    const [a, b] = await t.users('a', 'b');
    const aDev = await t.device(a, 'a-android', { platform: 2 });
    const bDev = await t.device(b);

    aDev.send({ type: 'send', id: 'rj', conv: single(b), payload: text('reject-device'), clientMsgId: 'cm-rj' });
    expect(await aDev.waitType('error', (f) => f['id'] === 'rj')).toMatchObject({ type: 'error', id: 'rj', code: 20006, msg: 'not allowed here' });
    const asked = await r.waitFor((q) => q.command === 'C2C.CallbackBeforeSendMsg' && textOf(q.json) === 'reject-device');
    expectTencentRequest(asked, { command: 'C2C.CallbackBeforeSendMsg', optPlatform: 'Android' });
    expect(asked.json.MsgId).toBe('cm-rj');

    aDev.send({ type: 'send', id: 'cu', conv: single(b), payload: text('custom-device') });
    expect(await aDev.waitType('error', (f) => f['id'] === 'cu')).toMatchObject({ type: 'error', id: 'cu', code: 120005, msg: 'custom reason' });

    aDev.send({ type: 'send', id: 'dr', conv: single(b), payload: text('drop-device') });
    const dropped = await aDev.waitType('sent', (f) => f['id'] === 'dr');
    expect(Number.isSafeInteger(dropped['messageUid'])).toBe(true);
    expect((await t.admin.post('/message/get_one', { messageUid: dropped['messageUid'] })).body).toEqual({ code: 253, msg: 'not exist' });

    aDev.send({ type: 'send', id: 'md', conv: single(b), payload: text('modify-device', { extra: 'x' }) });
    const sent = await aDev.waitType('sent', (f) => f['id'] === 'md');
    const m = await getOne(t.admin, sent['messageUid'] as number);
    expect(m.payload).toMatchObject({ searchableContent: 'censored', extra: 'new-ccd' });
    expect((await bDev.waitMessage(m.messageId))['message']).toEqual(m);

    for (const s of ['reject-device', 'custom-device', 'drop-device']) await expectNothingStored(r, t, bDev, s, a, single(b));
  });
});

describe('before-send callbacks, policy reject (timeout 1 s)', () => {
  const r = useReceiver(decide);
  const t = useCallbackServer(r, { commands: COMMANDS, timeoutMs: 1000, beforeSendPolicy: 'reject' });

  it('a timeout rejects: the admin send answers 249, a device gets an error frame 249; nothing stored', async () => {
    const [a, b, o] = await t.users('a', 'b', 'o');
    const g = fresh('g');
    await t.admin.createGroup(g, o, [a, b]);
    const bDev = await t.device(b);

    const t0 = Date.now();
    const res = await t.admin.post('/message/send', { sender: a, conv: single(b), payload: text('hang-reject') });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(res.body).toEqual({ code: 249, msg: 'timeout' });
    expect((await r.waitFor((q) => textOf(q.json) === 'hang-reject')).answer).toBe('hang');

    const rg = await t.admin.post('/message/send', { sender: a, conv: group(g), payload: text('hang-reject-group') });
    expect(rg.body).toEqual({ code: 249, msg: 'timeout' });

    const aDev = await t.device(a);
    aDev.send({ type: 'send', id: 'h', conv: single(b), payload: text('hang-reject-device') });
    expect(await aDev.waitType('error', (f) => f['id'] === 'h')).toMatchObject({ type: 'error', id: 'h', code: 249 });

    await expectNothingStored(r, t, bDev, 'hang-reject', a, single(b));
    await expectNothingStored(r, t, bDev, 'hang-reject-group', a, group(g));
    await expectNothingStored(r, t, bDev, 'hang-reject-device', a, single(b));
  });

  it('an HTTP error rejects too (nothing stored); an answering back end still allows', async () => {
    const [a, b] = await t.users('a', 'b');
    const bDev = await t.device(b);
    const res = await t.admin.post('/message/send', { sender: a, conv: single(b), payload: text('fail-reject') });
    expect(res.body.code).not.toBe(0);
    await expectNothingStored(r, t, bDev, 'fail-reject', a, single(b));
    const s = await t.admin.send(a, single(b), text('allow-under-reject'));
    expect((await getOne(t.admin, s.messageUid)).payload['searchableContent']).toBe('allow-under-reject');
  });

  it('a trickling back end under reject: the send answers 249 within about the timeout (the probe: 6 s, then allowed); nothing stored', async () => {
    const [a, b] = await t.users('a', 'b');
    const bDev = await t.device(b);
    const t0 = performance.now();
    const res = await t.admin.post('/message/send', { sender: a, conv: single(b), payload: text('trickle-reject') });
    const ms = performance.now() - t0;
    expect(res.body).toEqual({ code: 249, msg: 'timeout' });
    expect(ms).toBeGreaterThanOrEqual(1000);
    expect(ms).toBeLessThan(1000 + MARGIN_MS);
    expect((await r.waitFor((q) => textOf(q.json) === 'trickle-reject')).answer).toBe('trickle');
    await expectNothingStored(r, t, bDev, 'trickle-reject', a, single(b));
  });

  it('a malformed reply under reject: code 4 with the reason (not a server error); nothing stored', async () => {
    const [a, b] = await t.users('a', 'b');
    const bDev = await t.device(b);
    const res = await t.admin.post('/message/send', { sender: a, conv: single(b), payload: text('malformed-reject') });
    expect(res.body).toEqual({ code: 4, msg: 'before-send callback failed: unusable reply: MsgBody[0].MsgContent.ImageInfoArray has no entry with a URL' });
    await expectNothingStored(r, t, bDev, 'malformed-reject', a, single(b));
  });
});
