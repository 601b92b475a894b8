import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { convEntry, createUsers, fresh, group, single, type SendResult } from '../helpers/messages.js';
import type { TestServer } from '../helpers/server.js';
import { closeAllClients, device, eventually, getToken, sdkDevice, startWsServer } from '../helpers/ws-client.js';

/**
 * Receipts: device read reports feed conv_read and the unread counts and reach the reader's other
 * devices and the other party; delivery acks feed /admin/message/delivery.
 */

const text = (s: string) => ({ type: 1, searchableContent: s, persistFlag: 3 });

describe('receipts', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startWsServer();
  });
  afterEach(closeAllClients);
  afterAll(async () => {
    await t.close();
  });

  it('a read report: read_ok, receipts to the other party (their perspective) and to the reader’s other device; conv_read and unread follow', async () => {
    const [a, b] = [fresh('a'), fresh('b')];
    await createUsers(t.admin, a, b);
    const a1 = await device(t.url, t.admin, a, 'a1');
    const a2 = await device(t.url, t.admin, a, 'a2');
    const b1 = await device(t.url, t.admin, b, 'b1');
    const b2 = await device(t.url, t.admin, b, 'b2');
    const ms: SendResult[] = [];
    for (let i = 0; i < 3; i++) ms.push(await t.admin.send(a, single(b), text(`m${i}`)));
    await b1.waitMessage(ms[2]!.messageUid);
    expect((await convEntry(t.admin, b, single(a)))?.unread).toBe(3);
    expect(await t.admin.ok('/message/conv_read', { userId: b, type: 0, target: a, line: 0 })).toEqual({ timestamp: 0 });

    const ts = ms[2]!.timestamp;
    b1.send({ type: 'read', id: 'r1', conv: single(a), timestamp: ts });
    expect(await b1.waitType('read_ok')).toEqual({ type: 'read_ok', id: 'r1', timestamp: ts });

    for (const d of [a1, a2]) {
      const f = await d.waitType('read');
      expect(Object.keys(f).sort()).toEqual(['conv', 'cursor', 'timestamp', 'type', 'userId']);
      expect(f).toMatchObject({ type: 'read', userId: b, conv: single(b), timestamp: ts });
    }
    const own = await b2.waitType('read');
    expect(own).toMatchObject({ type: 'read', userId: b, conv: single(a), timestamp: ts });
    expect(own.cursor).toBeGreaterThan(b2.frames.find((f) => f['message']?.messageId === ms[2]!.messageUid)!.cursor!);

    expect(await t.admin.ok('/message/conv_read', { userId: b, type: 0, target: a, line: 0 })).toEqual({ timestamp: ts });
    expect((await convEntry(t.admin, b, single(a)))?.unread).toBe(0);
    expect((await convEntry(t.admin, b, single(a)))?.readTimestamp).toBe(ts);
    // The sender's own unread is untouched (it never had any).
    expect((await convEntry(t.admin, a, single(b)))?.unread).toBe(0);

    // A read mark never moves back: an older report answers the current mark and tells nobody.
    b1.send({ type: 'read', id: 'r2', conv: single(a), timestamp: ms[0]!.timestamp - 1 });
    expect(await b1.waitType('read_ok', (f) => f['id'] === 'r2')).toEqual({ type: 'read_ok', id: 'r2', timestamp: ts });
    expect(await t.admin.ok('/message/conv_read', { userId: b, type: 0, target: a, line: 0 })).toEqual({ timestamp: ts });
    const marker = await t.admin.send(b, single(a), text('marker'));
    await a1.waitMessage(marker.messageUid);
    expect(a1.frames.filter((f) => f.type === 'read')).toHaveLength(1);

    // A new message makes it unread again.
    await t.admin.send(a, single(b), text('later'));
    expect((await convEntry(t.admin, b, single(a)))?.unread).toBe(1);
  });

  it('the SDK read() reaches the other party', async () => {
    const [a, b] = [fresh('a'), fresh('b')];
    await createUsers(t.admin, a, b);
    const a1 = await device(t.url, t.admin, a, 'a1');
    const b1 = sdkDevice(t.url, { token: await getToken(t.admin, b, 'b1') });
    await b1.client.connect();
    const m = await t.admin.send(a, single(b), text('hi'));
    await b1.waitMessage(m.messageUid);
    b1.client.read(single(a), m.timestamp);
    expect(await a1.waitType('read')).toMatchObject({ userId: b, conv: single(b), timestamp: m.timestamp });
    // and b's SDK gets its own read mark as an event
    const ev = await b1.waitFor((e) => e.event === 'read');
    expect(ev.data).toMatchObject({ userId: b, conv: single(a), timestamp: m.timestamp });
  });

  it('small group: the other members get the read receipt with the group conversation', async () => {
    const [a, b, c] = [fresh('a'), fresh('b'), fresh('c')];
    await createUsers(t.admin, a, b, c);
    const g = fresh('g');
    await t.admin.createGroup(g, a, [b, c]);
    const [ad, bd, cd] = await Promise.all([a, b, c].map((u) => device(t.url, t.admin, u)));
    const m = await t.admin.send(c, group(g), text('question'));
    await bd!.waitMessage(m.messageUid);
    bd!.send({ type: 'read', id: 'r', conv: group(g), timestamp: m.timestamp });
    await bd!.waitType('read_ok');
    for (const d of [ad!, cd!]) expect(await d.waitType('read')).toMatchObject({ userId: b, conv: group(g), timestamp: m.timestamp });
    expect(await t.admin.ok('/message/conv_read', { userId: b, conversationType: 1, target: g })).toEqual({ timestamp: m.timestamp });
    expect((await convEntry(t.admin, b, group(g)))?.unread).toBe(0);
    expect((await convEntry(t.admin, a, group(g)))?.unread).toBe(1);
  });

  it('delivery acks: a raw ack and the SDK’s batched ack feed /admin/message/delivery', async () => {
    const [a, b] = [fresh('a'), fresh('b')];
    await createUsers(t.admin, a, b);
    const b1 = await device(t.url, t.admin, b, 'b1');
    const m1 = await t.admin.send(a, single(b), text('one'));
    const f1 = await b1.waitMessage(m1.messageUid);
    expect(await t.admin.ok('/message/delivery', { userId: b })).toEqual({ timestamp: 0 });
    b1.send({ type: 'ack', cursor: f1.cursor, timestamp: m1.timestamp });
    await eventually(async () => (await t.admin.ok<{ timestamp: number }>('/message/delivery', { userId: b })).timestamp === m1.timestamp, 'the raw ack');

    // A malformed ack is refused with 251 and the connection stays usable.
    b1.send({ type: 'ack', timestamp: 'yesterday' });
    expect(await b1.waitType('error')).toMatchObject({ code: 251 });

    const sdk = sdkDevice(t.url, { token: await getToken(t.admin, b, 'b-sdk'), ackIntervalMs: 20 });
    await sdk.client.connect();
    const m2 = await t.admin.send(a, single(b), text('two'));
    await sdk.waitMessage(m2.messageUid);
    await eventually(async () => (await t.admin.ok<{ timestamp: number }>('/message/delivery', { userId: b })).timestamp === m2.timestamp, 'the SDK ack');
  });
});
