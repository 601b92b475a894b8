import { afterEach, describe, expect, it, vi } from 'vitest';
import { SwitchboardClient, SwitchboardError, type ClientEvent, type ClientEvents, type ClientOptions } from '../../sdk/src/index.js';
import { fakeNetwork, flush, messageFrame } from './fake-websocket.js';

/**
 * The SDK's state machine against an in-memory socket (the test plays the server): connect,
 * exactly-once writes per socket, resend after reconnect, sync windows, acks, reads, liveness.
 */

type Recorded = { [E in ClientEvent]: { event: E; data: ClientEvents[E] } }[ClientEvent];

function setup(opts: Partial<ClientOptions> = {}): { client: SwitchboardClient; net: ReturnType<typeof fakeNetwork>; events: Recorded[] } {
  const net = fakeNetwork();
  const client = new SwitchboardClient({ url: 'ws://example.test/ws', token: 'tok', WebSocket: net.WebSocket, reconnect: false, ...opts });
  const events: Recorded[] = [];
  const all: ClientEvent[] = ['hello', 'message', 'recall', 'update', 'delete', 'clear', 'conversation_delete', 'read', 'synced', 'disconnected', 'reconnecting', 'error'];
  for (const e of all) client.on(e, (data) => events.push({ event: e, data } as Recorded));
  return { client, net, events };
}

const bob = { type: 0, target: 'bob', line: 0 };
const text = (s: string) => ({ type: 1, searchableContent: s });

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('connect()', () => {
  it('is idempotent: the same promise and one socket while connecting or connected', async () => {
    const { client, net } = setup();
    const p1 = client.connect();
    const p2 = client.connect();
    expect(p2).toBe(p1);
    expect(net.sockets).toHaveLength(1);
    net.last().accept(5);
    await p1;
    expect(client.connect()).toBe(p1);
    expect(net.sockets).toHaveLength(1);
    expect(client.lastCursor).toBe(5);
    client.close();
    // After close() it starts anew, from the cursor it had.
    const p3 = client.connect();
    expect(p3).not.toBe(p1);
    expect(net.sockets).toHaveLength(2);
    expect(net.last().cursorParam).toBe('5');
    net.last().accept(5);
    await p3;
    client.close();
  });

  it('close() while the token function is pending opens no socket and rejects connect() (code 0)', async () => {
    let release!: (t: string) => void;
    const { client, net } = setup({ token: () => new Promise<string>((r) => (release = r)) });
    const p = client.connect();
    await flush();
    client.close();
    release('late-token');
    await expect(p).rejects.toMatchObject({ code: 0, name: 'SwitchboardError' });
    await flush();
    expect(net.sockets).toHaveLength(0);
  });

  it('a connect() after close() while an old token fetch is pending opens exactly one socket, with the new token', async () => {
    const releases: Array<(t: string) => void> = [];
    const { client, net } = setup({ token: () => new Promise<string>((r) => releases.push(r)) });
    const first = client.connect();
    await flush();
    client.close();
    const second = client.connect();
    await flush();
    expect(releases).toHaveLength(2);
    releases[0]!('old');
    releases[1]!('new');
    await flush();
    expect(net.sockets.map((s) => s.tokenParam)).toEqual(['new']);
    net.last().accept(1);
    await second;
    await expect(first).rejects.toMatchObject({ code: 0 });
    client.close();
  });

  it('loads the cursor from cursorStore and refuses a stored cursor that is not a non-negative integer', async () => {
    const ok = setup({ cursorStore: { load: async () => 42, save: () => undefined } });
    const p = ok.client.connect();
    await flush();
    expect(ok.net.last().cursorParam).toBe('42');
    ok.net.last().accept(42);
    await p;
    ok.client.close();

    const bad = setup({ cursorStore: { load: () => -3, save: () => undefined } });
    await expect(bad.client.connect()).rejects.toThrow(/cursorStore.load\(\) must be a non-negative integer/);
    expect(bad.net.sockets).toHaveLength(0);
  });

  it('rejects on a fatal close (4001 with a static token) and does not retry', async () => {
    const { client, net, events } = setup({ reconnect: { initialDelayMs: 1 } });
    const p = client.connect();
    net.last().open();
    net.last().serverClose(4001, 'unauthorized');
    await expect(p).rejects.toMatchObject({ code: 4001 });
    expect(events.filter((e) => e.event === 'disconnected').map((e) => e.data)).toEqual([{ code: 4001, reason: 'unauthorized', reconnecting: false }]);
    expect(events.some((e) => e.event === 'reconnecting')).toBe(false);
    expect(net.sockets).toHaveLength(1);
  });

  it('checks its options', () => {
    const net = fakeNetwork();
    const base = { url: 'ws://h/ws', token: 't', WebSocket: net.WebSocket };
    expect(() => new SwitchboardClient({ ...base, url: 'not a url' })).toThrow(TypeError);
    expect(() => new SwitchboardClient({ ...base, url: 'http://h/ws' })).toThrow(/ws:\/\/ or wss:\/\//);
    expect(() => new SwitchboardClient({ ...base, token: '' })).toThrow(/token/);
    expect(() => new SwitchboardClient({ ...base, cursor: 1.5 })).toThrow(/options.cursor/);
    expect(() => new SwitchboardClient({ ...base, reconnect: { jitter: 2 } })).toThrow(/reconnect.jitter/);
    expect(() => new SwitchboardClient({ ...base, reconnect: { initialDelayMs: 100, maxDelayMs: 10 } })).toThrow(/maxDelayMs/);
    expect(() => new SwitchboardClient({ ...base, ackIntervalMs: 0 })).toThrow(/ackIntervalMs/);
    expect(() => new SwitchboardClient({ url: 'ws://h/ws', token: 't' })).toThrow(/no WebSocket implementation/);
  });
});

describe('send(): each frame written exactly once per socket', () => {
  it('a send during replay is written once, not again at synced', async () => {
    const { client, net } = setup();
    const p = client.connect();
    const s = net.last();
    s.accept(0, { synced: false });
    const sent = client.send(bob, text('during replay'), { clientMsgId: 'cm-1' });
    s.receive(messageFrame(1, 100));
    s.receive({ type: 'synced', cursor: 1 });
    await p;
    expect(s.sentOf('send')).toHaveLength(1);
    expect(s.sentOf('send')[0]).toMatchObject({ clientMsgId: 'cm-1', conv: bob, payload: text('during replay') });
    s.receive({ type: 'sent', id: s.sentOf('send')[0]!['id'], messageUid: 7, timestamp: 9 });
    await expect(sent).resolves.toEqual({ messageUid: 7, timestamp: 9, duplicate: false });
    client.close();
  });

  it('sends queued before hello go out at hello, in call order, once; a send from the hello handler follows them', async () => {
    const { client, net } = setup({ reconnect: { initialDelayMs: 1 } });
    const p = client.connect();
    const s = net.last();
    const a = client.send(bob, text('a'));
    const b = client.send(bob, text('b'));
    let c: Promise<unknown> | undefined;
    client.on('hello', () => {
      c ??= client.send(bob, text('c'));
    });
    s.open();
    expect(s.sentOf('send')).toHaveLength(0); // open is not accepted: nothing before hello
    s.receive({ type: 'hello', userId: 'u', clientId: 'c' });
    s.receive({ type: 'synced', cursor: 0 });
    await p;
    expect(s.sentOf('send').map((f) => (f['payload'] as { searchableContent: string }).searchableContent)).toEqual(['a', 'b', 'c']);
    client.close();
    await expect(a).rejects.toMatchObject({ code: 0 });
    await expect(b).rejects.toMatchObject({ code: 0 });
    await expect(c).rejects.toMatchObject({ code: 0 });
  });

  it('after a reconnect only unanswered sends are written again, once, with the same clientMsgId and id', async () => {
    vi.useFakeTimers();
    const { client, net } = setup({ reconnect: { initialDelayMs: 10, maxDelayMs: 10, jitter: 0 } });
    const p = client.connect();
    const s1 = net.last();
    s1.accept(3);
    await p;
    const answered = client.send(bob, text('answered'));
    const open1 = client.send(bob, text('unanswered 1'));
    const open2 = client.send(bob, text('unanswered 2'), { clientMsgId: 'mine' });
    const [f1, f2, f3] = s1.sentOf('send');
    s1.receive({ type: 'sent', id: f1!['id'], messageUid: 1, timestamp: 1 });
    await expect(answered).resolves.toMatchObject({ messageUid: 1 });
    s1.serverClose(1001, 'server shutting down');
    await vi.advanceTimersByTimeAsync(10);
    const s2 = net.last();
    expect(s2).not.toBe(s1);
    expect(s2.cursorParam).toBe('3');
    s2.accept(3, { synced: false });
    s2.receive({ type: 'synced', cursor: 3 });
    const resent = s2.sentOf('send');
    expect(resent.map((f) => [f['id'], f['clientMsgId']])).toEqual([
      [f2!['id'], f2!['clientMsgId']],
      [f3!['id'], 'mine'],
    ]);
    s2.receive({ type: 'sent', id: f2!['id'], messageUid: 2, timestamp: 2, duplicate: true });
    s2.receive({ type: 'error', id: f3!['id'], code: 245, msg: 'user is blocked' });
    await expect(open1).resolves.toEqual({ messageUid: 2, timestamp: 2, duplicate: true });
    await expect(open2).rejects.toMatchObject({ code: 245 });
    expect(s1.sentOf('send')).toHaveLength(3);
    client.close();
  });

  it('a close 1009 (frame too big) fails the sends in flight instead of resending them forever', async () => {
    vi.useFakeTimers();
    const { client, net } = setup({ reconnect: { initialDelayMs: 10, maxDelayMs: 10, jitter: 0 } });
    const p = client.connect();
    net.last().accept(0);
    await p;
    const big = client.send(bob, text('x'.repeat(1000)));
    net.last().serverClose(1009, 'frame too big');
    await expect(big).rejects.toMatchObject({ code: 1009 });
    await vi.advanceTimersByTimeAsync(10);
    net.last().accept(0);
    expect(net.last().sentOf('send')).toHaveLength(0);
    client.close();
  });

  it('a send without a reply fails with 249 after requestTimeoutMs; a late reply is ignored', async () => {
    vi.useFakeTimers();
    const { client, net } = setup({ requestTimeoutMs: 500 });
    const p = client.connect();
    net.last().accept(0);
    await p;
    const s = client.send(bob, text('lost'));
    const assertion = expect(s).rejects.toMatchObject({ code: 249 });
    await vi.advanceTimersByTimeAsync(500);
    await assertion;
    net.last().receive({ type: 'sent', id: net.last().sentOf('send')[0]!['id'], messageUid: 1, timestamp: 1 });
    client.close();
  });

  it('send() before connect() rejects (code 0), and an unserialisable payload is a TypeError', async () => {
    const { client, net } = setup();
    await expect(client.send(bob, text('early'))).rejects.toMatchObject({ code: 0 });
    const p = client.connect();
    net.last().accept(0);
    await p;
    await expect(client.send(bob, { type: 1, extra: 10n as unknown as string })).rejects.toThrow(TypeError);
    client.close();
  });
});

describe('read()', () => {
  it('resolves with the read mark; queued while disconnected and written once at hello', async () => {
    vi.useFakeTimers();
    const { client, net } = setup({ reconnect: { initialDelayMs: 10, maxDelayMs: 10, jitter: 0 } });
    const p = client.connect();
    net.last().accept(0);
    await p;
    const r1 = client.read(bob, 1000);
    const f1 = net.last().sentOf('read')[0]!;
    expect(f1).toMatchObject({ conv: bob, timestamp: 1000 });
    net.last().receive({ type: 'read_ok', id: f1['id'], timestamp: 1000 });
    await expect(r1).resolves.toEqual({ timestamp: 1000 });

    net.last().serverClose(1006, '');
    const r2 = client.read(bob, 2000);
    await vi.advanceTimersByTimeAsync(10);
    net.last().accept(0);
    expect(net.last().sentOf('read')).toHaveLength(1);
    net.last().receive({ type: 'read_ok', id: net.last().sentOf('read')[0]!['id'], timestamp: 2000 });
    await expect(r2).resolves.toEqual({ timestamp: 2000 });
    await expect(client.read(bob, -1)).rejects.toThrow(RangeError);
    client.close();
  });
});

describe('acks', () => {
  it('automatic acks are batched: one per interval, with the newest timestamp', async () => {
    vi.useFakeTimers();
    const { client, net } = setup({ ackIntervalMs: 100 });
    const p = client.connect();
    const s = net.last();
    s.accept(0);
    await p;
    s.receive(messageFrame(1, 11, 5000));
    s.receive(messageFrame(2, 12, 6000));
    expect(s.sentOf('ack')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(s.sentOf('ack')).toEqual([{ type: 'ack', cursor: 2, timestamp: 6000 }]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.sentOf('ack')).toHaveLength(1);
    client.close();
  });

  it('with autoAck false nothing is acked until ack(); ack() sends the newest, ack(ts) that timestamp', async () => {
    vi.useFakeTimers();
    const { client, net } = setup({ autoAck: false, ackIntervalMs: 10 });
    const p = client.connect();
    const s = net.last();
    s.accept(0);
    await p;
    s.receive(messageFrame(1, 11, 5000));
    s.receive(messageFrame(2, 12, 6000));
    await vi.advanceTimersByTimeAsync(100);
    expect(s.sentOf('ack')).toHaveLength(0);
    client.ack(5000);
    expect(s.sentOf('ack')).toEqual([{ type: 'ack', cursor: 2, timestamp: 5000 }]);
    client.ack(4000); // never backwards
    client.ack();
    expect(s.sentOf('ack').map((f) => f['timestamp'])).toEqual([5000, 6000]);
    expect(() => client.ack(-5)).toThrow(RangeError);
    client.close();
  });

  it('an ack due while disconnected goes out when the next socket is accepted; close() flushes a batched one', async () => {
    vi.useFakeTimers();
    const { client, net } = setup({ ackIntervalMs: 1000, reconnect: { initialDelayMs: 10, maxDelayMs: 10, jitter: 0 } });
    const p = client.connect();
    net.last().accept(0);
    await p;
    net.last().receive(messageFrame(1, 11, 5000));
    net.last().serverClose(1006, '');
    await vi.advanceTimersByTimeAsync(1000);
    net.last().accept(1);
    expect(net.last().sentOf('ack')).toEqual([{ type: 'ack', cursor: 1, timestamp: 5000 }]);
    net.last().receive(messageFrame(2, 12, 7000));
    const last = net.last();
    client.close();
    expect(last.sentOf('ack').map((f) => f['timestamp'])).toEqual([5000, 7000]);
  });
});

describe('events and cursors', () => {
  it('emits each cursor-bearing event once, in order, drops replays at or below the cursor, and saves the cursor', async () => {
    const saved: number[] = [];
    const { client, net, events } = setup({ cursorStore: { load: () => undefined, save: (c) => void saved.push(c) } });
    const p = client.connect();
    await flush();
    const s = net.last();
    s.accept(0, { synced: false });
    s.receive(messageFrame(1, 11));
    s.receive(messageFrame(1, 11)); // repeated: dropped
    s.receive({ type: 'recall', cursor: 2, messageUid: 11, message: messageFrame(0, 99)['message'] });
    s.receive({ type: 'update', cursor: 3, messageUid: 11 });
    s.receive({ type: 'delete', cursor: 4, messageUid: 11 });
    s.receive({ type: 'clear', cursor: 5, conv: bob, startTime: 0, endTime: 10 });
    s.receive({ type: 'conversation_delete', cursor: 6, conv: bob, endTime: 10 });
    s.receive({ type: 'read', cursor: 7, userId: 'bob', conv: bob, timestamp: 10 });
    s.receive(messageFrame(7, 55, 1, { transparent: true }));
    s.receive({ type: 'future_frame', cursor: 8 });
    s.receive({ type: 'synced', cursor: 8 });
    await p;
    expect(events.map((e) => e.event)).toEqual(['hello', 'message', 'recall', 'update', 'delete', 'clear', 'conversation_delete', 'read', 'message', 'synced']);
    expect(events[2]!.data).toMatchObject({ cursor: 2, messageUid: 11, message: { messageId: 99 } });
    expect(events[3]!.data).toEqual({ cursor: 3, messageUid: 11 });
    expect(events[8]!.data).toMatchObject({ cursor: 7, transparent: true, message: { messageId: 55 } });
    expect(saved).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(client.lastCursor).toBe(8);
    client.close();
  });

  it('a failing cursorStore.save is reported as an error event; a throwing handler does not break the client', async () => {
    const { client, net, events } = setup({ cursorStore: { load: () => 0, save: () => Promise.reject(new Error('disk full')) } });
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => void uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      client.on('message', () => {
        throw new Error('handler bug');
      });
      const p = client.connect();
      await flush();
      net.last().accept(0, { synced: false });
      net.last().receive(messageFrame(1, 11));
      net.last().receive({ type: 'synced', cursor: 1 });
      await p;
      await flush();
      await new Promise<void>((r) => setImmediate(r));
      expect(events.filter((e) => e.event === 'error').map((e) => e.data)).toEqual([{ code: 0, msg: 'cursorStore.save failed', detail: 'disk full' }]);
      expect(events.filter((e) => e.event === 'message')).toHaveLength(1);
      expect(client.lastCursor).toBe(1);
      expect(uncaught).toEqual([expect.objectContaining({ message: 'handler bug' })]);
    } finally {
      process.off('uncaughtException', onUncaught);
      client.close();
    }
  });

  it('a server error without an id is an error event', async () => {
    const { client, net, events } = setup();
    const p = client.connect();
    net.last().accept(0);
    await p;
    net.last().receive({ type: 'error', code: 250, msg: 'over frequency' });
    expect(events.at(-1)).toEqual({ event: 'error', data: { code: 250, msg: 'over frequency' } });
    client.close();
  });
});

describe('sync()', () => {
  it('sends a sync frame and resolves at its synced; from an older cursor the window is emitted once more', async () => {
    const { client, net, events } = setup();
    const p = client.connect();
    const s = net.last();
    s.accept(0, { synced: false });
    for (let c = 1; c <= 3; c++) s.receive(messageFrame(c, 10 + c));
    s.receive({ type: 'synced', cursor: 3 });
    await p;
    const mark = events.length;
    const done = client.sync(1);
    await flush();
    expect(s.sentOf('sync')).toEqual([{ type: 'sync', id: expect.any(String), cursor: 1 }]);
    // A live frame already in flight before the server read the sync, then the replay from 1.
    s.receive(messageFrame(4, 14));
    s.receive(messageFrame(2, 12));
    s.receive(messageFrame(3, 13));
    s.receive(messageFrame(4, 14));
    s.receive({ type: 'synced', cursor: 4 });
    await expect(done).resolves.toEqual({ cursor: 4 });
    const uids = events.slice(mark).flatMap((e) => (e.event === 'message' ? [e.data.message.messageId] : []));
    expect(uids).toEqual([14, 12, 13]);
    // The window is closed: a repeat of 3 is dropped again.
    s.receive(messageFrame(3, 13));
    expect(events.at(-1)!.event).toBe('synced');
    expect(client.lastCursor).toBe(4);
    client.close();
  });

  it('without a cursor it is a barrier from lastCursor; it waits for a replay under way', async () => {
    const { client, net } = setup();
    const p = client.connect();
    const s = net.last();
    s.accept(0, { synced: false });
    const barrier = client.sync();
    await flush();
    expect(s.sentOf('sync')).toHaveLength(0); // the connect replay is not over
    s.receive(messageFrame(1, 11));
    s.receive({ type: 'synced', cursor: 1 });
    await p;
    await flush();
    expect(s.sentOf('sync')).toEqual([{ type: 'sync', id: expect.any(String), cursor: 1 }]);
    s.receive({ type: 'synced', cursor: 1 });
    await expect(barrier).resolves.toEqual({ cursor: 1 });
    client.close();
  });

  it('refuses bad cursors, a cursor ahead of lastCursor, and syncing before connect()', async () => {
    const { client, net } = setup();
    await expect(client.sync()).rejects.toMatchObject({ code: 0 });
    const p = client.connect();
    net.last().accept(5);
    await p;
    await expect(client.sync(-1)).rejects.toThrow(RangeError);
    await expect(client.sync(6)).rejects.toThrow(/ahead of lastCursor/);
    client.close();
  });

  it('a sync refused by the server rejects with its code and leaves the client live', async () => {
    const { client, net } = setup();
    const p = client.connect();
    const s = net.last();
    s.accept(5);
    await p;
    const refused = client.sync(2);
    await flush();
    s.receive({ type: 'error', id: s.sentOf('sync')[0]!['id'], code: 251, msg: 'Invalid parameter', detail: 'already syncing' });
    await expect(refused).rejects.toMatchObject({ code: 251, detail: 'already syncing' });
    const again = client.sync();
    await flush();
    expect(s.sentOf('sync')).toHaveLength(2);
    s.receive({ type: 'synced', cursor: 5 });
    await expect(again).resolves.toEqual({ cursor: 5 });
    client.close();
  });

  it('a re-replay interrupted by a disconnect resumes from where it was, and its promise resolves after the reconnect', async () => {
    vi.useFakeTimers();
    const { client, net, events } = setup({ reconnect: { initialDelayMs: 10, maxDelayMs: 10, jitter: 0 } });
    const p = client.connect();
    const s1 = net.last();
    s1.accept(0, { synced: false });
    for (let c = 1; c <= 4; c++) s1.receive(messageFrame(c, 10 + c));
    s1.receive({ type: 'synced', cursor: 4 });
    await p;
    const mark = events.length;
    const done = client.sync(0);
    await vi.advanceTimersByTimeAsync(0);
    s1.receive(messageFrame(1, 11));
    s1.receive(messageFrame(2, 12));
    s1.serverClose(1006, '');
    await vi.advanceTimersByTimeAsync(10);
    const s2 = net.last();
    expect(s2.cursorParam).toBe('2');
    s2.accept(0, { synced: false });
    s2.receive(messageFrame(3, 13));
    s2.receive(messageFrame(4, 14));
    s2.receive(messageFrame(5, 15));
    s2.receive({ type: 'synced', cursor: 5 });
    await expect(done).resolves.toEqual({ cursor: 5 });
    const uids = events.slice(mark).flatMap((e) => (e.event === 'message' ? [e.data.message.messageId] : []));
    expect(uids).toEqual([11, 12, 13, 14, 15]);
    client.close();
  });
});

describe('liveness', () => {
  it('a socket silent for a ping interval is dropped (1006 ping timeout) and the client reconnects', async () => {
    vi.useFakeTimers();
    const { client, net, events } = setup({ pingIntervalMs: 1000, reconnect: { initialDelayMs: 10, maxDelayMs: 10, jitter: 0 } });
    const p = client.connect();
    const s1 = net.last();
    s1.accept(0);
    await p;
    await vi.advanceTimersByTimeAsync(1000);
    expect(s1.sentOf('ping')).toHaveLength(1);
    s1.receive({ type: 'pong' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(s1.sentOf('ping')).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1000); // no answer to the second ping
    expect(events.filter((e) => e.event === 'disconnected').map((e) => e.data)).toEqual([{ code: 1006, reason: 'ping timeout', reconnecting: true }]);
    expect(s1.closedByClient).toEqual({ code: 1000, reason: 'ping timeout' });
    await vi.advanceTimersByTimeAsync(10);
    expect(net.sockets).toHaveLength(2);
    client.close();
  });

  it('close() is final: unanswered requests are rejected and nothing is written after it', async () => {
    const { client, net } = setup();
    const p = client.connect();
    const s = net.last();
    s.accept(0);
    await p;
    const pending = client.send(bob, text('x'));
    client.close();
    await expect(pending).rejects.toBeInstanceOf(SwitchboardError);
    expect(s.closedByClient).toEqual({ code: 1000, reason: 'client closed' });
    expect(s.onmessage).toBeNull();
  });
});
