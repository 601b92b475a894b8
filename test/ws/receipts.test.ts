import { describe, expect, it } from 'vitest';
import { channel, convEntry, convList, fresh, group, single, type SendResult, text } from '../helpers/messages.js';
import { connectRaw, eventually } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';

/**
 * Receipts: device read reports feed conv_read and the unread counts and reach the reader's other
 * devices and the other party; delivery acks feed /admin/message/delivery.
 */

/** Far beyond any clock difference (the server takes at most now + 5 s). */
const FUTURE = 10 ** 12;
const SKEW_MS = 5_000;

describe('receipts', () => {
  const t = useServer();

  it('a read report: read_ok, receipts to the other party (their perspective) and to the reader’s other device; conv_read and unread follow', async () => {
    const [a, b] = await t.users('a', 'b');
    const a1 = await t.device(a, 'a1');
    const a2 = await t.device(a, 'a2');
    const b1 = await t.device(b, 'b1');
    const b2 = await t.device(b, 'b2');
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
    const [a, b] = await t.users('a', 'b');
    const a1 = await t.device(a, 'a1');
    const b1 = t.sdk({ token: await t.token(b, 'b1') });
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
    const [a, b, c] = await t.users('a', 'b', 'c');
    const g = fresh('g');
    await t.admin.createGroup(g, a, [b, c]);
    const [ad, bd, cd] = await Promise.all([a, b, c].map((u) => t.device(u)));
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
    const [a, b] = await t.users('a', 'b');
    const b1 = await t.device(b, 'b1');
    const m1 = await t.admin.send(a, single(b), text('one'));
    const f1 = await b1.waitMessage(m1.messageUid);
    expect(await t.admin.ok('/message/delivery', { userId: b })).toEqual({ timestamp: 0 });
    b1.send({ type: 'ack', cursor: f1.cursor, timestamp: m1.timestamp });
    await eventually(async () => (await t.admin.ok<{ timestamp: number }>('/message/delivery', { userId: b })).timestamp === m1.timestamp, 'the raw ack');

    // A malformed ack is refused with 251 and the connection stays usable.
    b1.send({ type: 'ack', timestamp: 'yesterday' });
    expect(await b1.waitType('error')).toMatchObject({ code: 251 });

    const sdk = t.sdk({ token: await t.token(b, 'b-sdk'), ackIntervalMs: 20 });
    await sdk.client.connect();
    const m2 = await t.admin.send(a, single(b), text('two'));
    await sdk.waitMessage(m2.messageUid);
    await eventually(async () => (await t.admin.ok<{ timestamp: number }>('/message/delivery', { userId: b })).timestamp === m2.timestamp, 'the SDK ack');
  });

  it('a read report for a single chat with a user one never exchanged a message with is refused (253) and reaches nobody', async () => {
    const [alice, mallory] = await t.users('alice', 'mallory');
    const a1 = await t.device(alice, 'a1');
    const start = (await a1.waitType('synced')).cursor!;
    const m1 = await t.device(mallory, 'm1');
    m1.send({ type: 'read', id: 'x1', conv: single(alice), timestamp: Date.now() });
    expect(await m1.waitType('error', (f) => f['id'] === 'x1')).toMatchObject({ code: 253 });
    // Nor is a chat with an unknown user.
    m1.send({ type: 'read', id: 'x2', conv: single(fresh('ghost')), timestamp: Date.now() });
    expect(await m1.waitType('error', (f) => f['id'] === 'x2')).toMatchObject({ code: 253 });
    expect(m1.frames.filter((f) => f.type === 'read' || f.type === 'read_ok')).toEqual([]);
    expect(await t.admin.ok('/message/conv_read', { userId: mallory, type: 0, target: alice, line: 0 })).toEqual({ timestamp: 0 });
    expect(await convList(t.admin, mallory)).toEqual([]);

    // Nothing was recorded for alice: her live device and a resync see only the next message.
    const marker = await t.admin.send(mallory, single(alice), text('marker'));
    await a1.waitMessage(marker.messageUid);
    expect(a1.frames.filter((f) => f.type === 'read')).toEqual([]);
    const a2 = await connectRaw(t.url, await t.token(alice, 'a2'), { cursor: start });
    expect(a2.frames.filter((f) => f.type !== 'hello' && f.type !== 'synced').map((f) => f.type)).toEqual(['message']);

    // Once a message was exchanged (mallory's marker), mallory's read report is a receipt as usual.
    m1.send({ type: 'read', id: 'x3', conv: single(alice), timestamp: marker.timestamp });
    expect(await m1.waitType('read_ok', (f) => f['id'] === 'x3')).toMatchObject({ timestamp: marker.timestamp });
    expect(await a1.waitType('read')).toMatchObject({ userId: mallory, conv: single(mallory), timestamp: marker.timestamp });
    // ... but only on the line the message was on.
    m1.send({ type: 'read', id: 'x4', conv: single(alice, 1), timestamp: marker.timestamp });
    expect(await m1.waitType('error', (f) => f['id'] === 'x4')).toMatchObject({ code: 253 });
  });

  it('a read report for a group one is not a member of, or a channel one neither owns nor subscribes to, is refused (253)', async () => {
    const [a, b, outsider] = await t.users('a', 'b', 'out');
    const g = fresh('g');
    await t.admin.createGroup(g, a, [b]);
    const ch = fresh('ch');
    await t.admin.ok('/channel/create', { owner: a, name: ch, targetId: ch });
    const m = await t.admin.send(a, group(g), text('members only'));
    const [ad, bd] = await Promise.all([a, b].map((u) => t.device(u)));
    const od = await t.device(outsider);
    od.send({ type: 'read', id: 'g', conv: group(g), timestamp: m.timestamp });
    expect(await od.waitType('error', (f) => f['id'] === 'g')).toMatchObject({ code: 253 });
    od.send({ type: 'read', id: 'ng', conv: group(fresh('nogroup')), timestamp: m.timestamp });
    expect(await od.waitType('error', (f) => f['id'] === 'ng')).toMatchObject({ code: 253 });
    od.send({ type: 'read', id: 'c', conv: channel(ch), timestamp: m.timestamp });
    expect(await od.waitType('error', (f) => f['id'] === 'c')).toMatchObject({ code: 253 });
    expect(await t.admin.ok('/message/conv_read', { userId: outsider, conversationType: 1, target: g })).toEqual({ timestamp: 0 });

    // A subscriber may read the channel; after being removed, the outsider may not read the group.
    await t.admin.ok('/channel/subscribe', { channelId: ch, userId: outsider, subscribe: 1 });
    od.send({ type: 'read', id: 'c2', conv: channel(ch), timestamp: m.timestamp });
    expect(await od.waitType('read_ok', (f) => f['id'] === 'c2')).toMatchObject({ timestamp: m.timestamp });
    bd!.send({ type: 'read', id: 'b1', conv: group(g), timestamp: m.timestamp - 1 });
    expect(await bd!.waitType('read_ok', (f) => f['id'] === 'b1')).toMatchObject({ timestamp: m.timestamp - 1 });
    await t.admin.ok('/group/member/del', { operator: a, group_id: g, members: [b] });
    bd!.send({ type: 'read', id: 'b2', conv: group(g), timestamp: m.timestamp });
    expect(await bd!.waitType('error', (f) => f['id'] === 'b2')).toMatchObject({ code: 253 });
    // The owner got b's first receipt only.
    const marker = await t.admin.send(a, single(b), text('marker'));
    await ad!.waitMessage(marker.messageUid);
    expect(ad!.frames.filter((f) => f.type === 'read').map((f) => f['timestamp'])).toEqual([m.timestamp - 1]);
  });

  it('a read report or ack from the future is taken as at most now + 5 s, so it cannot stick', async () => {
    const [a, b] = await t.users('a', 'b');
    const m = await t.admin.send(a, single(b), text('hi'));
    const b1 = await t.device(b, 'b1');
    const a1 = await t.device(a, 'a1');

    const before = Date.now();
    b1.send({ type: 'read', id: 'f', conv: single(a), timestamp: before + FUTURE });
    const ok = await b1.waitType('read_ok', (f) => f['id'] === 'f');
    const after = Date.now();
    expect(ok['timestamp']).toBeGreaterThanOrEqual(m.timestamp);
    expect(ok['timestamp']).toBeLessThanOrEqual(after + SKEW_MS);
    const receipt = await a1.waitType('read');
    expect(receipt['timestamp']).toBe(ok['timestamp']);
    const { timestamp: mark } = await t.admin.ok<{ timestamp: number }>('/message/conv_read', { userId: b, type: 0, target: a, line: 0 });
    expect(mark).toBe(ok['timestamp']);

    b1.send({ type: 'ack', timestamp: Date.now() + FUTURE });
    await eventually(async () => (await t.admin.ok<{ timestamp: number }>('/message/delivery', { userId: b })).timestamp > 0, 'the ack');
    const { timestamp: delivered } = await t.admin.ok<{ timestamp: number }>('/message/delivery', { userId: b });
    expect(delivered).toBeGreaterThanOrEqual(before);
    expect(delivered).toBeLessThanOrEqual(Date.now() + SKEW_MS);
  });
});
