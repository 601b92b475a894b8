import { afterEach, describe, expect, it } from 'vitest';
import { bodySignature, ok, tencentSign, type CallbackRequest } from '../helpers/callback-receiver.js';
import {
  TOKEN,
  expectKeys,
  expectMillis,
  expectSeconds,
  expectTencentRequest,
  expectUint32,
  textOf,
  useReceiver,
  useCallbackServer,
} from '../helpers/callbacks.js';
import { convList, createUsers, fresh, getOne, single, text } from '../helpers/messages.js';
import type { TestServer } from '../helpers/server.js';
import { useServer } from '../helpers/use-server.js';

/**
 * The request every callback is: Tencent's query string (SdkAppid, CallbackCommand, contenttype,
 * ClientIP, OptPlatform, RequestTime, Sign), our headers (delivery id, attempt, body HMAC), and the
 * C2C.CallbackAfterSendMsg body of seed 003 field by field, with the recipient's real unread count and
 * a MsgKey that recalls the message.
 */

/** The user's unread total over single chats, as conversation/list reports it. */
async function unreadSingle(t: TestServer, userId: string): Promise<number> {
  return (await convList(t.admin, userId)).filter((c) => c.conversation.type === 0).reduce((n, c) => n + c.unread, 0);
}

const C2C_AFTER_KEYS = [
  'CallbackCommand',
  'From_Account',
  'To_Account',
  'MsgSeq',
  'MsgRandom',
  'MsgTime',
  'MsgKey',
  'MsgId',
  'OnlineOnlyFlag',
  'SendMsgResult',
  'ErrorInfo',
  'UnreadMsgNum',
  'MsgBody',
  'CloudCustomData',
];

describe('callback requests (token, HMAC key, fast retries)', () => {
  const r = useReceiver();
  // Enough attempts (20 ms doubling to 200 ms) for a retried job to span a second boundary.
  const t = useCallbackServer(r, { maxAttempts: 20 });
  afterEach(() => {
    r.handler = () => undefined;
  });

  it('an admin send: POST /cb with the Tencent query string, a valid Sign, the body HMAC and a delivery id', async () => {
    const [a, b] = await t.users('a', 'b');
    const t0 = Date.now();
    await t.admin.send(a, single(b), text('query string'));
    const q = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a);
    expectTencentRequest(q, { command: 'C2C.CallbackAfterSendMsg', optPlatform: 'RESTAPI' });
    expect(Number(q.query['RequestTime'])).toBeGreaterThanOrEqual(Math.floor(t0 / 1000));
    // The Sign checked independently of the helper, the way a Tencent receiver does.
    expect(q.query['Sign']).toBe(tencentSign('tok', q.query['RequestTime']!));
    expect(q.query['SdkAppid']).toBe('1400000001');
    expect(q.headers['x-switchboard-signature']).toBe(bodySignature('key', q.raw));
    expect(q.deliveryId).toMatch(/^[0-9]+$/);
    expect(q.attempt).toBe(1);

    // A second job has its own delivery id.
    await t.admin.send(a, single(b), text('second job'));
    const q2 = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a && textOf(x) === 'second job');
    expect(q2.deliveryId).toMatch(/^[0-9]+$/);
    expect(q2.deliveryId).not.toBe(q.deliveryId);
    expect(q2.attempt).toBe(1);
  });

  it('a retried job keeps its delivery id, counts attempts up and signs every attempt afresh (RequestTime moves on)', async () => {
    const [a, b] = await t.users('a', 'b');
    const marker = `retry-${a}`;
    // Fail every attempt until one arrives in a later second than the first, and that one too: the
    // attempt after it is computed in a later second than the first attempt's RequestTime.
    let first: CallbackRequest | undefined;
    let crossed = false;
    r.handler = (q) => {
      if (textOf(q.json) !== marker) return undefined;
      if (!first) {
        first = q;
        return { status: 500, body: 'down' };
      }
      if (Math.floor(q.receivedAt / 1000) <= Math.floor(first.receivedAt / 1000)) return { status: 500, body: 'still down' };
      if (!crossed) {
        crossed = true;
        return { status: 503, body: 'one more' };
      }
      return undefined;
    };
    await t.admin.send(a, single(b), text(marker));
    const done = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => textOf(x) === marker, { timeoutMs: 5000 });
    const attempts = r.all('C2C.CallbackAfterSendMsg', (x) => textOf(x) === marker);
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(attempts.at(-1)).toBe(done);
    expect(attempts.slice(0, -1).every((x) => !ok(x))).toBe(true);
    // One job: one delivery id; attempts numbered 1, 2, 3, …
    expect(new Set(attempts.map((x) => x.deliveryId)).size).toBe(1);
    expect(attempts.map((x) => x.attempt)).toEqual(attempts.map((_, i) => i + 1));
    for (const [i, x] of attempts.entries()) {
      expectTencentRequest(x, { command: 'C2C.CallbackAfterSendMsg', optPlatform: 'RESTAPI' });
      // Same body every time, so the same HMAC; each attempt's Sign matches its own RequestTime.
      expect(x.raw).toBe(attempts[0]!.raw);
      expect(x.query['Sign']).toBe(tencentSign(TOKEN, x.query['RequestTime']!));
      if (i > 0) {
        expect(Number(x.query['RequestTime'])).toBeGreaterThanOrEqual(Number(attempts[i - 1]!.query['RequestTime']));
        // Computed after the previous attempt was answered.
        expect(Number(x.query['RequestTime'])).toBeGreaterThanOrEqual(Math.floor(attempts[i - 1]!.receivedAt / 1000));
      }
    }
    expect(Number(done.query['RequestTime'])).toBeGreaterThan(Number(attempts[0]!.query['RequestTime']));
  });

  it('a device send reports the device: OptPlatform Android for platform 2 (iOS for 1), ClientIP, MsgId = clientMsgId', async () => {
    const [a, b, c] = await t.users('a', 'b', 'c');
    const phone = await t.device(a, 'a-android', { platform: 2 });
    phone.send({ type: 'send', id: 's1', conv: single(b), payload: text('from android'), clientMsgId: `cmid-${a}` });
    const sent = await phone.waitType('sent', (f) => f['id'] === 's1');
    const q = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a && textOf(x) === 'from android');
    expectTencentRequest(q, { command: 'C2C.CallbackAfterSendMsg', optPlatform: 'Android' });
    expect(q.json.MsgId).toBe(`cmid-${a}`);
    expect(q.json.MsgTime).toBe(Math.floor((sent['timestamp'] as number) / 1000));

    const iphone = await t.device(c, 'c-iphone', { platform: 1 });
    iphone.send({ type: 'send', id: 's2', conv: single(b), payload: text('from iphone') });
    await iphone.waitType('sent', (f) => f['id'] === 's2');
    const q2 = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === c);
    expectTencentRequest(q2, { command: 'C2C.CallbackAfterSendMsg', optPlatform: 'iOS' });
    // No clientMsgId: an empty MsgId string.
    expect(q2.json.MsgId).toBe('');
  });

  it('C2C.CallbackAfterSendMsg carries every field of seed 003 with its type', async () => {
    const [a, b] = await t.users('a', 'b');
    const t0 = Date.now();
    const s = await t.admin.send(a, single(b), text('red packet', { extra: 'your cloud custom data' }));
    const q = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a);
    const body = q.json;
    expectKeys(body, C2C_AFTER_KEYS, ['EventTime'], 'C2C.CallbackAfterSendMsg');
    expect(body.CallbackCommand).toBe('C2C.CallbackAfterSendMsg');
    expect(body.From_Account).toBe(a);
    expect(body.To_Account).toBe(b);
    expectUint32(body.MsgSeq, 'MsgSeq');
    expectUint32(body.MsgRandom, 'MsgRandom');
    expectSeconds(body.MsgTime, t0, Date.now(), 'MsgTime');
    expect(body.MsgTime).toBe(Math.floor(s.timestamp / 1000));
    expect(body.MsgKey).toBe(`${body.MsgSeq}_${body.MsgRandom}_${body.MsgTime}`);
    expect(body.MsgId).toBe('');
    expect(body.OnlineOnlyFlag).toBe(0);
    expect(body.SendMsgResult).toBe(0);
    expect(body.ErrorInfo).toBe('send msg succeed');
    expect(body.UnreadMsgNum).toBe(1);
    expect(body.MsgBody).toEqual([{ MsgType: 'TIMTextElem', MsgContent: { Text: 'red packet' } }]);
    expect(body.CloudCustomData).toBe('your cloud custom data');
    if ('EventTime' in body) expectMillis(body.EventTime, t0, Date.now(), 'EventTime');
    // Two messages never share a MsgKey.
    await t.admin.send(a, single(b), text('another'));
    const q2 = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a && textOf(x) === 'another');
    expect(q2.json.MsgKey).not.toBe(body.MsgKey);
    expect(q2.json.UnreadMsgNum).toBe(2);
  });

  it("an image's MsgBody has Tencent's three ImageInfoArray entries: 1 original (with its size), 2 large, 3 thumbnail", async () => {
    const [a, b] = await t.users('a', 'b');
    const url = 'https://files.example.com/fs/1/photo.png';
    await t.admin.send(a, single(b), { type: 3, searchableContent: '[图片]', content: '{"w":640,"h":480}', mediaType: 1, remoteMediaUrl: url, persistFlag: 3 });
    const q = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a);
    expect(q.json.MsgBody).toEqual([
      {
        MsgType: 'TIMImageElem',
        MsgContent: {
          UUID: '',
          ImageFormat: 3,
          ImageInfoArray: [
            { Type: 1, Size: 0, Width: 640, Height: 480, URL: url },
            { Type: 2, Size: 0, Width: 0, Height: 0, URL: url },
            { Type: 3, Size: 0, Width: 0, Height: 0, URL: url },
          ],
        },
      },
    ]);
  });

  it('UnreadMsgNum is the recipient total over single chats: persistFlag 3 counts, 1 and 4 do not; a device read lowers it', async () => {
    const [rcpt, s1, s2] = await t.users('r', 's', 's');
    const sends: Array<{ from: string; flag: number; label: string; unread: number; online: number }> = [
      { from: s1, flag: 3, label: 'm1', unread: 1, online: 0 },
      { from: s2, flag: 3, label: 'm2', unread: 2, online: 0 },
      { from: s1, flag: 1, label: 'm3', unread: 2, online: 0 },
      { from: s2, flag: 3, label: 'm4', unread: 3, online: 0 },
      { from: s1, flag: 4, label: 'm5', unread: 3, online: 1 },
      { from: s2, flag: 1, label: 'm6', unread: 3, online: 0 },
    ];
    const ts = new Map<string, number>();
    for (const x of sends) ts.set(x.label, (await t.admin.send(x.from, single(rcpt), text(`${rcpt}-${x.label}`, { persistFlag: x.flag }))).timestamp);
    for (const x of sends) {
      const q = await r.waitDelivered('C2C.CallbackAfterSendMsg', (b) => textOf(b) === `${rcpt}-${x.label}`);
      expect({ label: x.label, unread: q.json.UnreadMsgNum, online: q.json.OnlineOnlyFlag, to: q.json.To_Account }).toEqual({
        label: x.label,
        unread: x.unread,
        online: x.online,
        to: rcpt,
      });
    }
    // The server's own view agrees.
    const total = (await convList(t.admin, rcpt)).filter((c) => c.conversation.type === 0).reduce((n, c) => n + c.unread, 0);
    expect(total).toBe(3);

    // The recipient reads s1's chat (1 counted message) from an Android device: the report says 2 left.
    const dev = await t.device(rcpt, 'r-phone', { platform: 2 });
    const t0 = Date.now();
    dev.send({ type: 'read', id: 'rd', conv: single(s1), timestamp: ts.get('m3')! });
    await dev.waitType('read_ok', (f) => f['id'] === 'rd');
    const rep = await r.waitDelivered('C2C.CallbackAfterMsgReport', (b) => b.Report_Account === rcpt);
    expectTencentRequest(rep, { command: 'C2C.CallbackAfterMsgReport', optPlatform: 'Android' });
    expectKeys(rep.json, ['CallbackCommand', 'Report_Account', 'Peer_Account', 'LastReadTime', 'UnreadMsgNum', 'EventTime'], [], 'C2C.CallbackAfterMsgReport');
    expect(rep.json.Report_Account).toBe(rcpt);
    expect(rep.json.Peer_Account).toBe(s1);
    expect(rep.json.LastReadTime).toBe(Math.floor(ts.get('m3')! / 1000));
    expect(rep.json.UnreadMsgNum).toBe(2);
    expectMillis(rep.json.EventTime, t0, Date.now(), 'EventTime');

    // The next message's callback counts from there.
    await t.admin.send(s1, single(rcpt), text(`${rcpt}-m7`));
    const q7 = await r.waitDelivered('C2C.CallbackAfterSendMsg', (b) => textOf(b) === `${rcpt}-m7`);
    expect(q7.json.UnreadMsgNum).toBe(3);
  });

  it('UnreadMsgNum is taken as each message commits: 20 concurrent sends to one user report 1..20, once each', async () => {
    const rcpt = fresh('r');
    const senders = [fresh('s'), fresh('s'), fresh('s'), fresh('s')];
    await createUsers(t.admin, rcpt, ...senders);
    await Promise.all(Array.from({ length: 20 }, (_, i) => t.admin.send(senders[i % 4]!, single(rcpt), text(`${rcpt}-c${i}`))));
    const counts: number[] = [];
    for (let i = 0; i < 20; i++) counts.push((await r.waitDelivered('C2C.CallbackAfterSendMsg', (b) => textOf(b) === `${rcpt}-c${i}`)).json.UnreadMsgNum);
    expect([...counts].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await unreadSingle(t, rcpt)).toBe(20);
  });

  it('the MsgKey recalls the message (messageUid or msgKey), C2C.CallbackAfterMsgWithDraw names it; an unknown key is 253', async () => {
    const [a, b] = await t.users('a', 'b');
    const s1 = await t.admin.send(a, single(b), text('recall me'));
    const s2 = await t.admin.send(a, single(b), text('recall me too'));
    const k1 = (await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a && textOf(x) === 'recall me')).json.MsgKey as string;
    const k2 = (await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a && textOf(x) === 'recall me too')).json.MsgKey as string;

    const t0 = Date.now();
    await t.admin.ok('/message/recall', { operator: a, messageUid: k1 });
    const m1 = await getOne(t.admin, s1.messageUid);
    expect(m1.payload['type']).toBe(80);
    const w = await r.waitDelivered('C2C.CallbackAfterMsgWithDraw', (x) => x.MsgKey === k1);
    expectTencentRequest(w, { command: 'C2C.CallbackAfterMsgWithDraw', optPlatform: 'RESTAPI' });
    expectKeys(w.json, ['CallbackCommand', 'From_Account', 'To_Account', 'MsgKey', 'UnreadMsgNum', 'EventTime'], [], 'C2C.CallbackAfterMsgWithDraw');
    expect(w.json.From_Account).toBe(a);
    expect(w.json.To_Account).toBe(b);
    expect(Number.isInteger(w.json.UnreadMsgNum)).toBe(true);
    // The count the server itself reports for b once the recall committed.
    expect(w.json.UnreadMsgNum).toBe(await unreadSingle(t, b));
    expectMillis(w.json.EventTime, t0, Date.now(), 'EventTime');

    await t.admin.ok('/message/recall', { operator: a, msgKey: k2 });
    expect((await getOne(t.admin, s2.messageUid)).payload['type']).toBe(80);
    const w2 = await r.waitDelivered('C2C.CallbackAfterMsgWithDraw', (x) => x.MsgKey === k2);
    expect(w2.json.From_Account).toBe(a);
    expect(w2.json.UnreadMsgNum).toBe(await unreadSingle(t, b));

    const unknown = await t.admin.post('/message/recall', { operator: a, messageUid: '123456_999_1700000000' });
    expect(unknown.body).toEqual({ code: 253, msg: 'not exist' });
    const unknown2 = await t.admin.post('/message/recall', { operator: a, msgKey: '123456_999_1700000000' });
    expect(unknown2.body).toEqual({ code: 253, msg: 'not exist' });
  });
  it('recalling an unread message lowers the UnreadMsgNum of C2C.CallbackAfterMsgWithDraw (a recalled message is not unread)', async () => {
    const [a, b] = await t.users('a', 'b');
    await t.admin.send(a, single(b), text('unread 1'));
    await t.admin.send(a, single(b), text('unread 2'));
    const k = (await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a && textOf(x) === 'unread 1')).json.MsgKey as string;
    expect((await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a && textOf(x) === 'unread 2')).json.UnreadMsgNum).toBe(2);
    await t.admin.ok('/message/recall', { operator: a, messageUid: k });
    const w = await r.waitDelivered('C2C.CallbackAfterMsgWithDraw', (x) => x.MsgKey === k);
    // b had 2 unread messages; one of them is now a recall notification (persistFlag 1, not counted).
    expect(w.json.UnreadMsgNum).toBe(1);
  });
});

describe('callback requests without a token or HMAC key', () => {
  const r = useReceiver();
  const t = useServer(() => ({ callbacks: { url: `${r.url}/hook`, sdkAppId: '1400000009', firstRetryMs: 20, maxRetryMs: 200, pollMs: 20 } }));

  it('carries no RequestTime, Sign or X-Switchboard-Signature, but still the delivery id and attempt', async () => {
    const [a, b] = await t.users('a', 'b');
    await t.admin.send(a, single(b), text('unsigned'));
    const q = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a);
    expectTencentRequest(q, { command: 'C2C.CallbackAfterSendMsg', optPlatform: 'RESTAPI', token: null, hmacKey: null, appId: '1400000009', path: '/hook' });
    expect(q.query['RequestTime']).toBeUndefined();
    expect(q.query['Sign']).toBeUndefined();
    expect(q.deliveryId).toMatch(/^[0-9]+$/);
    expect(q.attempt).toBe(1);
  });
});

describe('a dual-stack listener (host ::): ClientIP is sent in its IPv4 form', () => {
  const r = useReceiver();
  // The test server listens on '::' and is reached at 127.0.0.1: callers appear as ::ffff:127.0.0.1.
  const t = useCallbackServer(r, {}, { host: '::' });

  it('admin and device sends report ClientIP 127.0.0.1, not ::ffff:127.0.0.1', async () => {
    const [a, b, c] = await t.users('a', 'b', 'c');
    await t.admin.send(a, single(b), text('dual-stack admin'));
    const q = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a);
    expectTencentRequest(q, { command: 'C2C.CallbackAfterSendMsg', optPlatform: 'RESTAPI', clientIp: '127.0.0.1' });

    const phone = await t.device(c, 'c-android', { platform: 2 });
    phone.send({ type: 'send', id: 'd1', conv: single(b), payload: text('dual-stack device') });
    await phone.waitType('sent', (f) => f['id'] === 'd1');
    const q2 = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === c);
    expectTencentRequest(q2, { command: 'C2C.CallbackAfterSendMsg', optPlatform: 'Android', clientIp: '127.0.0.1' });
  });
});
