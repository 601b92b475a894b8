import { describe, expect, it } from 'vitest';
import { single, text } from '../helpers/messages.js';
import { connectRefused, eventually, getToken, withTimeout, wsUrl } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';

/**
 * Per-connection limits: frame size (1009), frame rate (error 250, then 4008), malformed frames
 * (error 251, connection kept) and the heartbeat that cuts off a peer that stopped answering pings.
 */

describe('frame size limit (maxFrameBytes 1024)', () => {
  const t = useServer({ gateway: { maxFrameBytes: 1024 } });

  it('accepts a frame under the limit and closes the socket with 1009 on one over it', async () => {
    const [u] = await t.users('u');
    const d = await t.device(u);
    // Padded with a field the server ignores (a frame id is at most 128 characters).
    const small = JSON.stringify({ type: 'ping', id: 'p1', pad: 'p'.repeat(900) });
    expect(Buffer.byteLength(small)).toBeLessThan(1024);
    d.sendRaw(small);
    expect(await d.waitType('pong')).toEqual({ type: 'pong', id: 'p1' });
    d.sendRaw(JSON.stringify({ type: 'ping', id: 'p2', pad: 'p'.repeat(2000) }));
    expect((await withTimeout(d.closed, 5000, 'close')).code).toBe(1009);
    await eventually(async () => (await t.admin.ok<{ sessions: unknown[] }>('/user/onlinestatus', { userId: u })).sessions.length === 0, 'session gone');
  });
});

describe('rate limit (1 frame/s, burst 5)', () => {
  const t = useServer({ gateway: { rateLimitPerSecond: 1, rateLimitBurst: 5 } });

  it('answers the burst, then error 250 frames, then closes with 4008', async () => {
    const [u] = await t.users('u');
    const d = await t.device(u);
    for (let i = 0; i < 30; i++) d.send({ type: 'ping', id: i });
    const closed = await withTimeout(d.closed, 5000, 'close');
    expect(closed.code).toBe(4008);
    const pongs = d.frames.filter((f) => f.type === 'pong');
    const errors = d.frames.filter((f) => f.type === 'error');
    expect(pongs.length).toBeGreaterThanOrEqual(5);
    expect(pongs.slice(0, 5).map((f) => f['id'])).toEqual([0, 1, 2, 3, 4]);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    for (const e of errors) expect(e).toEqual({ type: 'error', code: 250, msg: 'over frequency' });
    // Errors come after the burst was used up.
    expect(d.frames.findIndex((f) => f.type === 'error')).toBeGreaterThan(d.frames.indexOf(pongs[4]!));
  });

  it('a device within the limit is never refused', async () => {
    const [u] = await t.users('u');
    const d = await t.device(u);
    for (let i = 0; i < 5; i++) d.send({ type: 'ping', id: i });
    await d.waitType('pong', (f) => f['id'] === 4);
    expect(d.frames.filter((f) => f.type === 'error')).toEqual([]);
    expect(d.closeInfo).toBeUndefined();
  });
});

describe('malformed frames', () => {
  const t = useServer();

  it('answer error 251 and leave the connection usable', async () => {
    const [a, u] = await t.users('a', 'u');
    const d = await t.device(u);
    const bad: Array<string | Buffer> = ['{not json', '[1,2]', '"ping"', '{"id":"x"}', 'null', Buffer.from([1, 2, 3])];
    for (const b of bad) {
      const mark = d.mark;
      d.sendRaw(b);
      const e = await d.waitType('error', undefined, { from: mark, label: `error for ${String(b)}` });
      expect(e).toMatchObject({ type: 'error', code: 251, msg: 'Invalid parameter' });
      expect(e['id']).toBeUndefined();
    }
    // An unknown frame type is refused with its id echoed.
    d.send({ type: 'teleport', id: 'q1' });
    expect(await d.waitType('error', (f) => f['id'] === 'q1')).toMatchObject({ code: 251, id: 'q1' });
    const beforeSync = d.mark;
    d.send({ type: 'sync', cursor: -5 });
    expect(await d.waitType('error', undefined, { from: beforeSync })).toMatchObject({ code: 251 });
    // Still usable: ping/pong and live delivery.
    d.send({ type: 'ping', id: 'alive' });
    expect(await d.waitType('pong')).toEqual({ type: 'pong', id: 'alive' });
    const m = await t.admin.send(a, single(u), text('after the garbage'));
    await d.waitMessage(m.messageUid);
    expect(d.closeInfo).toBeUndefined();
  });
});

describe('heartbeat (heartbeatMs 1000)', () => {
  const t = useServer({ gateway: { heartbeatMs: 1000 } });

  it('cuts off a peer that does not answer pings while an answering one stays connected', async () => {
    const [a, u] = await t.users('a', 'u');
    const mute = await t.device(u, 'mute', { ws: { autoPong: false } });
    const healthy = await t.device(u, 'healthy');
    const closed = await withTimeout(mute.closed, 6000, 'the unresponsive peer to be cut off');
    expect(closed.code).toBe(1006); // terminated without a close frame
    expect(mute.pings).toBeGreaterThanOrEqual(1);
    // The healthy peer saw the same pings and is still served after the next one.
    const seen = healthy.pings;
    await healthy.waitPing(seen, { timeoutMs: 3000 });
    const m = await t.admin.send(a, single(u), text('still there'));
    await healthy.waitMessage(m.messageUid);
    expect(healthy.closeInfo).toBeUndefined();
    const s = await t.admin.ok<{ sessions: Array<{ clientId: string }> }>('/user/onlinestatus', { userId: u });
    expect(s.sessions.map((x) => x.clientId)).toEqual(['healthy']);
  });
});

describe('connections per user (maxConnectionsPerUser 2)', () => {
  const t = useServer({ gateway: { maxConnectionsPerUser: 2 } });

  it("closes a user's third connection with 4011, keeps the first two, and accepts one again once a slot is free", async () => {
    const [u, v] = await t.users('u', 'v');
    const d1 = await t.device(u, 'c1');
    const d2 = await t.device(u, 'c2');
    const third = await connectRefused(wsUrl(t.url, await getToken(t.admin, u, 'c3')));
    expect(third.info.code).toBe(4011);
    // Closed right after the upgrade: no hello, nothing replayed.
    expect(third.frames).toEqual([]);
    // The first two still receive; another user is not affected by u's count.
    const w = await t.device(v, 'v1');
    await t.admin.send(v, single(u), text('still here'));
    for (const d of [d1, d2]) await d.waitType('message');
    expect(d1.closeInfo).toBeUndefined();
    expect(w.closeInfo).toBeUndefined();
    d1.close();
    await eventually(async () => (await t.admin.ok<{ sessions: unknown[] }>('/user/onlinestatus', { userId: u })).sessions.length === 1, 'one session left');
    const d4 = await t.device(u, 'c4');
    d4.send({ type: 'ping', id: 'p' });
    await d4.waitType('pong');
  });
});
