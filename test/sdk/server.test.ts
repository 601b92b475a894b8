import { describe, expect, it } from 'vitest';
import type { ClientEvents } from '../../sdk/src/index.js';
import { eventually, memoryCursorStore, withTimeout } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';
import { single, text } from '../helpers/messages.js';

/**
 * The SDK against a real server on port 0: exactly-once sends during replay, explicit sync, ack and
 * read, and reconnecting (backoff with a cap) to a server that was stopped and started again.
 */

describe('SDK against a live server', () => {
  const t = useServer({ gateway: { replayPageSize: 3 } });

  it('a transparent (persistFlag 4) send written during replay reaches the receiver once', async () => {
    const [a, b] = await t.users('a', 'b');
    for (let i = 0; i < 12; i++) await t.admin.send(b, single(a), text(`history ${i}`));
    const bob = await t.device(b, 'b-phone');
    const sdk = t.sdk({ token: await t.token(a, 'a-sdk'), cursor: 0 });
    let during: Promise<unknown> | undefined;
    sdk.client.on('hello', () => {
      during ??= sdk.client.send(single(b), text('typing…', { persistFlag: 4 }));
    });
    await sdk.client.connect();
    const stored = sdk.events.filter((e) => e.event === 'message' && !e.data.transparent);
    expect(stored).toHaveLength(12);
    await withTimeout(Promise.resolve(during), 5000, 'the transparent send');
    // A stored message sent after it: by the time it arrives, a doubled write would have too.
    const after = await sdk.client.send(single(b), text('after'));
    await bob.waitMessage(after.messageUid);
    const transparent = bob.frames.filter((f) => f.type === 'message' && f['transparent'] === true);
    expect(transparent.map((f) => f['message'].payload.searchableContent)).toEqual(['typing…']);
  });

  it('sync(0) emits the history once more, in order; sync() is a barrier; lastCursor never moves back', async () => {
    const [a, b] = await t.users('a', 'b');
    const uids: number[] = [];
    for (let i = 0; i < 7; i++) uids.push((await t.admin.send(a, single(b), text(`m${i}`))).messageUid);
    const saved: number[] = [];
    const sdk = t.sdk({ token: await t.token(b, 'b-sdk'), cursorStore: { load: () => 0, save: (c) => void saved.push(c) } });
    await sdk.client.connect();
    expect(sdk.messageUids()).toEqual(uids);
    const top = sdk.client.lastCursor!;
    const mark = sdk.mark;
    const r = await sdk.client.sync(0);
    expect(r.cursor).toBeGreaterThanOrEqual(top);
    expect(sdk.messageUids(mark)).toEqual(uids);
    expect(sdk.client.lastCursor).toBe(r.cursor);
    expect(saved).toEqual([...saved].sort((x, y) => x - y));
    expect(new Set(saved).size).toBe(saved.length);

    // A barrier: a message committed before it is emitted before it resolves.
    const m = await t.admin.send(a, single(b), text('late'));
    await sdk.client.sync();
    expect(sdk.messageUids().at(-1)).toBe(m.messageUid);
    expect(sdk.messageUids().filter((u) => u === m.messageUid)).toHaveLength(1);
  });

  it('with autoAck off, delivery moves only on ack(); read() resolves with the mark and reaches the other party', async () => {
    const [a, b] = await t.users('a', 'b');
    const sdk = t.sdk({ token: await t.token(b, 'b-sdk'), autoAck: false, ackIntervalMs: 10 });
    await sdk.client.connect();
    const alice = t.sdk({ token: await t.token(a, 'a-sdk') });
    await alice.client.connect();
    const m1 = await t.admin.send(a, single(b), text('one'));
    const m2 = await t.admin.send(a, single(b), text('two'));
    await sdk.waitMessage(m2.messageUid);
    // A barrier round trip: any automatic ack would have been written before its reply.
    await sdk.client.sync();
    expect(await t.admin.ok('/message/delivery', { userId: b })).toEqual({ timestamp: 0 });
    sdk.client.ack(m1.timestamp);
    await eventually(async () => (await t.admin.ok<{ timestamp: number }>('/message/delivery', { userId: b })).timestamp === m1.timestamp, 'ack(m1)');
    sdk.client.ack();
    await eventually(async () => (await t.admin.ok<{ timestamp: number }>('/message/delivery', { userId: b })).timestamp === m2.timestamp, 'ack() of the newest');

    const read = await sdk.client.read(single(a), m2.timestamp);
    expect(read).toEqual({ timestamp: m2.timestamp });
    expect(await t.admin.ok('/message/conv_read', { userId: b, type: 0, target: a, line: 0 })).toEqual({ timestamp: m2.timestamp });
    const receipt = (await alice.waitFor((e) => e.event === 'read')).data as ClientEvents['read'];
    expect(receipt).toMatchObject({ userId: b, conv: single(b), timestamp: m2.timestamp });
    // A refused read rejects with the server's code.
    await expect(sdk.client.read({ type: 0, target: '', line: 0 }, 1)).rejects.toMatchObject({ code: 251 });
  });
});

describe('SDK reconnect', () => {
  const t = useServer();

  it('retries with capped, jittered backoff while the server is down, resumes from its cursor after the restart, and close() stops it', async () => {
    const [a, b] = await t.users('a', 'b');
    const store = memoryCursorStore();
    const maxDelayMs = 80;
    const sdk = t.sdk({ token: await t.token(b, 'b-sdk'), cursorStore: store, reconnect: { initialDelayMs: 10, maxDelayMs, factor: 2, jitter: 0.5 } });
    const delays: number[] = [];
    sdk.client.on('reconnecting', ({ delayMs }) => void delays.push(delayMs));
    await sdk.client.connect();
    const m1 = await t.admin.send(a, single(b), text('before'));
    await sdk.waitMessage(m1.messageUid);
    await t.stop();
    // Several failed attempts while the server is down (each refused connection is one).
    await sdk.waitFor(() => sdk.events.filter((e) => e.event === 'disconnected').length >= 5, { label: 'five failed attempts', timeoutMs: 10_000 });
    expect(delays.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...delays)).toBeLessThanOrEqual(maxDelayMs);
    expect(new Set(delays).size).toBeGreaterThan(1);
    expect(sdk.events.filter((e) => e.event === 'disconnected').every((e) => e.event === 'disconnected' && e.data.reconnecting)).toBe(true);
    const pending = sdk.client.send(single(a), text('sent while down'));

    await t.restart();
    const m2 = await t.admin.send(a, single(b), text('after'));
    const sent = await withTimeout(pending, 10_000, 'the queued send');
    await sdk.waitMessage(m2.messageUid, { timeoutMs: 10_000 });
    await sdk.waitMessage(sent.messageUid, { timeoutMs: 10_000 });
    const uids = sdk.messageUids();
    expect(new Set(uids).size).toBe(uids.length);
    expect(uids.slice().sort((x, y) => x - y)).toEqual([m1.messageUid, m2.messageUid, sent.messageUid].sort((x, y) => x - y));
    expect(store.value).toBe(sdk.client.lastCursor);

    sdk.client.close();
    await eventually(async () => (await t.admin.ok<{ sessions: unknown[] }>('/user/onlinestatus', { userId: b })).sessions.length === 0, 'b offline');
    const n = sdk.events.length;
    // A message for b after close() is not delivered: the client holds no socket and no timer.
    const m3 = await t.admin.send(a, single(b), text('after close'));
    const raw = await t.device(b, 'b-raw', { cursor: store.value });
    await raw.waitMessage(m3.messageUid);
    expect(sdk.events.length).toBe(n);
  });
});
