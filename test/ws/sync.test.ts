import { describe, expect, it } from 'vitest';
import { channel, createUsers, fresh, getOne, group, single, type SendResult, text } from '../helpers/messages.js';
import { cursorsOf, isIncreasing, isNonDecreasing, connectRaw, type Frame, type WsClient } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';

/**
 * Cursors and offline sync: a device resuming from its last cursor receives exactly what happened to
 * its user since — new messages, recalls, updates, deletes, clears and conversation deletes — in
 * order, once; cursor=0 gives the retained history as its current state.
 */

/** Frames between hello and synced (the replay), asserting the framing around them. */
function replayOf(c: WsClient): Frame[] {
  expect(c.frames[0]?.type).toBe('hello');
  const end = c.frames.findIndex((f) => f.type === 'synced');
  expect(end).toBeGreaterThan(0);
  return c.frames.slice(1, end);
}

/** A compact description of an event frame for exact comparisons. */
function describeFrame(f: Frame): string {
  switch (f.type) {
    case 'message':
      return `message ${f['message'].messageId} ${f['message'].payload.type}:${f['message'].payload.searchableContent}`;
    case 'recall':
    case 'update':
      return `${f.type} ${f['messageUid']}${f['message'] ? ` ${f['message'].messageId} ${f['message'].payload.type}:${f['message'].payload.searchableContent}` : ''}`;
    case 'delete':
      return `delete ${f['messageUid']}`;
    case 'clear':
      return `clear ${f['conv'].type}/${f['conv'].target}/${f['conv'].line}`;
    case 'conversation_delete':
      return `conversation_delete ${f['conv'].type}/${f['conv'].target}/${f['conv'].line}`;
    case 'read':
      return `read ${f['userId']} ${f['conv'].type}/${f['conv'].target}`;
    default:
      return f.type;
  }
}

describe('cursors and offline sync', () => {
  const t = useServer();

  it('without a cursor a device gets only new events; with cursor=0 the history then synced', async () => {
    const [a, b] = await t.users('a', 'b');
    const old: SendResult[] = [];
    for (let i = 0; i < 3; i++) old.push(await t.admin.send(a, single(b), text(`old ${i}`)));

    const live = await t.device(b, 'b-live');
    expect(live.frames.map((f) => f.type)).toEqual(['hello', 'synced']);
    const fresh1 = await t.admin.send(a, single(b), text('new'));
    await live.waitMessage(fresh1.messageUid);
    expect(live.messageUids()).toEqual([fresh1.messageUid]);

    const full = await t.device(b, 'b-full', { cursor: 0 });
    const replay = replayOf(full);
    expect(replay.map((f) => f['message']?.messageId)).toEqual([...old.map((r) => r.messageUid), fresh1.messageUid]);
    for (const f of replay) expect(f['message']).toEqual(await getOne(t.admin, f['message'].messageId));
    const synced = full.frames[replay.length + 1]!;
    expect(synced).toEqual({ type: 'synced', cursor: replay[replay.length - 1]!.cursor });
    expect(isIncreasing(cursorsOf(replay))).toBe(true);
    // synced of the live device is at most the first new message's cursor minus one.
    expect(live.frames[1]!.cursor).toBeLessThan(live.frames[2]!.cursor!);
    expect(live.frames[2]!.cursor).toBe(replay[3]!.cursor);
  });

  it('cursor=0 replays current state: recalled as type 80 (then its recall), deleted never, updated with new content', async () => {
    const [a, b] = await t.users('a', 'b');
    const rec = await t.admin.send(a, single(b), text('to recall'));
    const del = await t.admin.send(a, single(b), text('to delete'));
    const upd = await t.admin.send(a, single(b), text('to update'));
    const keep = await t.admin.send(a, single(b), text('kept'));
    await t.admin.ok('/message/recall', { operator: a, messageUid: rec.messageUid });
    await t.admin.ok('/message/delete', { messageUid: del.messageUid });
    await t.admin.ok('/message/update', { messageUid: upd.messageUid, payload: text('updated!'), distribute: 1 });

    const d = await t.device(b, 'b1', { cursor: 0 });
    const replay = replayOf(d);
    expect(replay.map(describeFrame)).toEqual([
      `message ${rec.messageUid} 80:`,
      `message ${upd.messageUid} 1:updated!`,
      `message ${keep.messageUid} 1:kept`,
      `recall ${rec.messageUid} ${rec.messageUid} 80:`,
      `delete ${del.messageUid}`,
      `update ${upd.messageUid} ${upd.messageUid} 1:updated!`,
    ]);
    const recalled = await getOne(t.admin, rec.messageUid);
    expect(recalled.payload['type']).toBe(80);
    expect(replay[0]!['message']).toEqual(recalled);
    expect(replay[3]!['message']).toEqual(recalled);
    expect(replay[1]!['message']).toEqual(await getOne(t.admin, upd.messageUid));
    expect(d.frames.some((f) => f['message']?.messageId === del.messageUid)).toBe(false);
    expect(isIncreasing(cursorsOf(replay))).toBe(true);
  });

  it('cursors never decrease across every frame type on a connection', async () => {
    const [a, b, c] = await t.users('a', 'b', 'c');
    const g = fresh('g');
    await t.admin.createGroup(g, a, [b, c]);
    const seed = await t.admin.send(a, single(b), text('seed'));
    const watcher = await t.device(b, 'b-watch', { cursor: 0 });
    const other = await t.device(b, 'b-other');
    const ad = await t.device(a, 'a1');

    const m1 = await t.admin.send(a, single(b), text('one'));
    const gm = await t.admin.send(c, group(g), text('group'));
    await t.admin.send(a, single(b), text('transparent', { persistFlag: 4 }));
    await t.admin.ok('/message/update', { messageUid: m1.messageUid, payload: text('one (edited)'), distribute: 1 });
    await t.admin.ok('/message/recall', { operator: a, messageUid: seed.messageUid });
    await t.admin.ok('/message/delete', { messageUid: gm.messageUid });
    other.send({ type: 'read', id: 'r1', conv: single(a), timestamp: m1.timestamp });
    await other.waitType('read_ok');
    ad.send({ type: 'read', id: 'r2', conv: single(b), timestamp: m1.timestamp });
    await ad.waitType('read_ok');
    ad.send({ type: 'send', id: 's1', conv: single(b), payload: text('device sent') });
    await ad.waitType('sent');
    await t.admin.ok('/message/clear_by_user', { userId: b, conversation: single(c) });
    await t.admin.ok('/conversation/delete', { userId: b, conversation: group(g) });
    const marker = await t.admin.send(a, single(b), text('marker'));

    for (const d of [watcher, other]) {
      await d.waitMessage(marker.messageUid);
      const types = new Set(d.frames.map((f) => f.type));
      for (const ty of ['message', 'update', 'recall', 'delete', 'read', 'clear', 'conversation_delete', 'synced']) expect(types, ty).toContain(ty);
      const cursors = cursorsOf(d.frames);
      expect(cursors.length).toBe(d.frames.filter((f) => f.type !== 'hello' && f.type !== 'read_ok' && f.type !== 'sent').length);
      expect(isNonDecreasing(cursors), cursors.join(',')).toBe(true);
      // Stored events have distinct cursors; only the transparent message shares one.
      const stored = d.frames.filter((f) => typeof f.cursor === 'number' && f.type !== 'synced' && f['transparent'] !== true);
      expect(isIncreasing(cursorsOf(stored))).toBe(true);
    }
  });

  it('offline → online: exactly the events after the cursor, in order, once', async () => {
    const [a, b, c] = await t.users('a', 'b', 'c');
    const g = fresh('g');
    await t.admin.createGroup(g, a, [b, c]);

    // Online: a few messages arrive live.
    const d1 = await t.device(b, 'b-phone');
    const m1 = await t.admin.send(a, single(b), text('m1'));
    const m2 = await t.admin.send(a, single(b), text('m2'));
    const m3 = await t.admin.send(a, single(b), text('m3'));
    const mc1 = await t.admin.send(c, single(b), text('mc1'));
    const g0 = await t.admin.send(a, group(g), text('g0'));
    await d1.waitMessage(g0.messageUid);
    expect(d1.messageUids()).toEqual([m1, m2, m3, mc1, g0].map((r) => r.messageUid));
    const last = d1.lastCursor!;
    await d1.close();

    // Offline: changes of every kind.
    const m4 = await t.admin.send(a, single(b), text('m4'));
    const m5 = await t.admin.send(a, single(b), text('m5'));
    await t.admin.send(c, single(b), text('mc2 (hidden by the clear below)'));
    await t.admin.send(a, group(g), text('g1 (hidden by the conversation delete below)'));
    await t.admin.send(a, single(c), text('not for b'));
    await t.admin.ok('/message/recall', { operator: a, messageUid: m1.messageUid });
    await t.admin.ok('/message/update', { messageUid: m2.messageUid, payload: text('m2 edited'), distribute: 1 });
    await t.admin.ok('/message/update', { messageUid: m5.messageUid, payload: text('m5 quietly edited'), distribute: 0 });
    await t.admin.ok('/message/delete', { messageUid: m3.messageUid });
    await t.admin.ok('/message/recall', { operator: a, messageUid: m4.messageUid });
    await t.admin.ok('/message/clear_by_user', { userId: b, conversation: single(c) });
    await t.admin.ok('/conversation/delete', { userId: b, conversation: group(g) });
    const m6 = await t.admin.send(a, single(b), text('m6'));

    const d2 = await t.device(b, 'b-phone', { cursor: last });
    const replay = replayOf(d2);
    expect(replay.map(describeFrame)).toEqual([
      `message ${m4.messageUid} 80:`,
      `message ${m5.messageUid} 1:m5 quietly edited`,
      `recall ${m1.messageUid} ${m1.messageUid} 80:`,
      `update ${m2.messageUid} ${m2.messageUid} 1:m2 edited`,
      `delete ${m3.messageUid}`,
      `recall ${m4.messageUid} ${m4.messageUid} 80:`,
      `clear 0/${c}/0`,
      `conversation_delete 1/${g}/0`,
      `message ${m6.messageUid} 1:m6`,
    ]);
    const cursors = cursorsOf(replay);
    expect(cursors[0]).toBeGreaterThan(last);
    expect(isIncreasing(cursors)).toBe(true);
    expect(d2.frames[replay.length + 1]).toEqual({ type: 'synced', cursor: cursors[cursors.length - 1] });
    expect(replay[6]).toMatchObject({ conv: single(c), startTime: 0 });
    expect(replay[6]!['endTime']).toBeGreaterThanOrEqual(mc1.timestamp);
    for (const f of replay.filter((x) => x['message'])) expect(f['message']).toEqual(await getOne(t.admin, f['message'].messageId));

    // Live again: a new message follows with a larger cursor and nothing is repeated.
    const m7 = await t.admin.send(a, single(b), text('m7'));
    const f7 = await d2.waitMessage(m7.messageUid);
    expect(f7.cursor).toBeGreaterThan(cursors[cursors.length - 1]!);
    expect(d2.frames.slice(replay.length + 2).map((f) => f.type)).toEqual(['message']);

    // Resuming from the synced cursor of an up-to-date device replays nothing.
    const d3 = await t.device(b, 'b-tablet', { cursor: f7.cursor });
    expect(d3.frames.map((f) => f.type)).toEqual(['hello', 'synced']);
    expect(d3.frames[1]!.cursor).toBe(f7.cursor);
  });

  it('offline sync covers single, small and large groups, channels, multicast and broadcast', async () => {
    const [a, b] = [fresh('a'), fresh('b')];
    const crowd = Array.from({ length: 11 }, () => fresh('c'));
    await createUsers(t.admin, a, b, ...crowd);
    const small = fresh('small');
    await t.admin.createGroup(small, a, [b]);
    const big = fresh('big'); // 13 members > inlineFanoutMax 10: a shared timeline
    await t.admin.createGroup(big, a, [b, ...crowd]);
    const ch = fresh('ch');
    await t.admin.ok('/channel/create', { owner: a, name: 'ch', targetId: ch });
    for (const u of [b, ...crowd]) await t.admin.ok('/channel/subscribe', { channelId: ch, userId: u, subscribe: 1 });

    const d1 = await t.device(b, 'b1');
    const last = d1.frames[1]!.cursor!;
    await d1.close();
    const sent: number[] = [];
    sent.push((await t.admin.send(a, single(b), text('single'))).messageUid);
    sent.push((await t.admin.send(a, group(small), text('small group'))).messageUid);
    sent.push((await t.admin.send(crowd[0]!, group(big), text('big group'))).messageUid);
    sent.push((await t.admin.send(a, channel(ch), text('channel'))).messageUid);
    sent.push((await t.admin.ok<{ messageUid: number }>('/message/multicast', { sender: a, targets: [b, crowd[1]], payload: text('multicast') })).messageUid);
    sent.push((await t.admin.ok<{ messageUid: number }>('/message/broadcast', { sender: a, payload: text('broadcast') })).messageUid);
    sent.push((await t.admin.send(b, group(big), text('own big group message'))).messageUid);

    const d2 = await connectRaw(t.url, await t.token(b, 'b1'), { cursor: last });
    const replay = replayOf(d2);
    expect(replay.map((f) => f['message']?.messageId)).toEqual(sent);
    for (const f of replay) expect(f['message']).toEqual(await getOne(t.admin, f['message'].messageId));
    expect(isIncreasing(cursorsOf(replay))).toBe(true);
  });

  it('a sync frame on a live connection replays from the given cursor and ends with synced', async () => {
    const [a, b] = await t.users('a', 'b');
    const d = await t.device(b, 'b1');
    const start = d.frames[1]!.cursor!;
    const r1 = await t.admin.send(a, single(b), text('one'));
    const r2 = await t.admin.send(a, single(b), text('two'));
    await d.waitMessage(r2.messageUid);
    const mark = d.mark;
    d.send({ type: 'sync', cursor: start });
    const synced = await d.waitType('synced', undefined, { from: mark });
    const replayed = d.frames.slice(mark, d.frames.indexOf(synced));
    expect(replayed.map((f) => f['message']?.messageId)).toEqual([r1.messageUid, r2.messageUid]);
    expect(synced.cursor).toBe(replayed[1]!.cursor);
    // And live delivery goes on.
    const r3 = await t.admin.send(a, single(b), text('three'));
    await d.waitMessage(r3.messageUid, { from: mark });
  });
});

describe('a long absence (replayPageSize 50)', () => {
  const t = useServer({ gateway: { replayPageSize: 50 } });

  it('replays ~600 missed messages (more bytes than the send-buffer cap) in order, once, with live ones interleaved correctly', async () => {
    const [a, b] = await t.users('a', 'b');
    const d1 = await t.device(b, 'b1');
    const last = d1.frames[1]!.cursor!;
    await d1.close();

    // 600 messages of ~2 KB: 1.2 MB, above the default 1 MiB send-buffer cap.
    const filler = 'x'.repeat(2000);
    const sent: number[] = new Array<number>(600);
    for (let i = 0; i < 600; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, k) => {
          sent[i + k] = (await t.admin.send(a, single(b), text(`${i + k} ${filler}`))).messageUid;
        }),
      );
    }
    const expected = [...sent].sort((x, y) => x - y);

    const d2 = await connectRaw(t.url, await t.token(b, 'b1'), { cursor: last, waitSynced: false });
    await d2.waitType('hello');
    // Live messages while the replay runs: they must come once, after what precedes them.
    const liveOnes: number[] = [];
    for (let i = 0; i < 20; i++) liveOnes.push((await t.admin.send(a, single(b), text(`live ${i}`))).messageUid);
    await d2.waitType('synced', undefined, { timeoutMs: 20_000 });
    await d2.waitMessage(liveOnes[liveOnes.length - 1]!, { timeoutMs: 10_000 });

    const got = d2.messageUids();
    expect(got.length).toBe(620);
    expect(new Set(got).size).toBe(620);
    expect(got).toEqual([...expected, ...liveOnes]);
    const stored = d2.frames.filter((f) => f.type === 'message');
    expect(isIncreasing(cursorsOf(stored))).toBe(true);
    expect(d2.closeInfo).toBeUndefined();
  });

  it('a transparent message arriving during the replay is delivered with a cursor that does not go back', async () => {
    const [a, b] = await t.users('a', 'b');
    for (let i = 0; i < 600; i += 20) await Promise.all(Array.from({ length: 20 }, (_, k) => t.admin.send(a, single(b), text(`old ${i + k}`))));
    const d = await connectRaw(t.url, await t.token(b, 'b1'), { cursor: 0, waitSynced: false });
    await d.waitType('hello');
    const typing = await t.admin.send(a, single(b), text('typing', { persistFlag: 4 }));
    await d.waitType('synced', undefined, { timeoutMs: 20_000 });
    const tf = await d.waitMessage(typing.messageUid);
    expect(tf['transparent']).toBe(true);
    const i = d.frames.indexOf(tf);
    const previous = cursorsOf(d.frames.slice(0, i));
    expect(tf.cursor, `transparent frame #${i} after cursor ${previous[previous.length - 1]}`).toBeGreaterThanOrEqual(previous[previous.length - 1]!);
    expect(isNonDecreasing(cursorsOf(d.frames))).toBe(true);
    expect(d.messageUids().filter((u) => u !== typing.messageUid)).toHaveLength(600);
  });
});

describe('live events overflowing the hold buffer during a replay (replayPageSize 5, liveBufferMax 10)', () => {
  const t = useServer({ gateway: { replayPageSize: 5, liveBufferMax: 10 } });

  it('still delivers every message once and in order', async () => {
    const [a, b] = await t.users('a', 'b');
    const sent: number[] = [];
    for (let i = 0; i < 300; i += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, (_, k) => t.admin.send(a, single(b), text(`old ${i + k}`))));
      sent.push(...batch.map((r) => r.messageUid).sort((x, y) => x - y));
    }
    const d = await connectRaw(t.url, await t.token(b, 'b1'), { cursor: 0, waitSynced: false });
    await d.waitType('hello');
    // 60 live messages, 20 at a time, while the replay crawls through 60 pages.
    for (let i = 0; i < 60; i += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, (_, k) => t.admin.send(a, single(b), text(`live ${i + k}`))));
      sent.push(...batch.map((r) => r.messageUid).sort((x, y) => x - y));
    }
    await d.waitType('synced', undefined, { timeoutMs: 20_000 });
    await d.waitMessage(sent[sent.length - 1]!, { timeoutMs: 10_000 });
    expect(d.messageUids()).toEqual(sent);
    expect(isIncreasing(cursorsOf(d.frames.filter((f) => f.type === 'message')))).toBe(true);
  });
});
