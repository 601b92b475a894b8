import { describe, expect, it } from 'vitest';
import { connectRaw, isIncreasing, withTimeout } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';

/**
 * Back-pressure: a device that stops reading is closed once its send buffer passes
 * gateway.maxBufferedBytes (4009) instead of growing server memory; other devices are unaffected;
 * the slow device resumes from its last cursor and gets everything by replay.
 */

describe('a device that never reads (maxBufferedBytes 64 KiB)', () => {
  const t = useServer({ gateway: { maxBufferedBytes: 65536 } });

  it('is closed with 4009 while a reading device of another user gets everything; it then resyncs from its cursor', async () => {
    const [a, slow, fast] = await t.users('a', 'slow', 'fast');
    const sd = await t.device(slow, 'slow-1');
    const fd = await t.device(fast, 'fast-1');
    // Stop reading: the kernel buffers fill, then the server-side send buffer.
    sd.ws.pause();

    const filler = 'z'.repeat(32 * 1024);
    const sent: number[] = [];
    const online = async (): Promise<boolean> =>
      (await t.admin.ok<{ sessions: unknown[] }>('/user/onlinestatus', { userId: slow })).sessions.length > 0;
    // Multicast one uid to both users, in rounds, until the server gives up on the slow device
    // (bounded: 64 MB of messages would be far past any socket buffer).
    for (let round = 0; round < 200 && (await online()); round++) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, (_, k) =>
          t.admin.ok<{ messageUid: number }>('/message/multicast', {
            sender: a,
            targets: [slow, fast],
            payload: { type: 1, searchableContent: `${round}-${k} ${filler}`, persistFlag: 3 },
          }),
        ),
      );
      sent.push(...batch.map((r) => r.messageUid));
    }
    expect(await online(), 'the slow device is still registered after 64 MB').toBe(false);
    sent.sort((x, y) => x - y);

    // The reading device got every message, once, in order.
    await fd.waitMessage(sent[sent.length - 1]!, { timeoutMs: 15_000 });
    expect(fd.messageUids()).toEqual(sent);
    expect(fd.closeInfo).toBeUndefined();

    // Reading again, the slow device drains what was already on its way, then sees 4009.
    sd.ws.resume();
    expect(await withTimeout(sd.closed, 10_000, 'the close of the slow device')).toEqual({ code: 4009, reason: expect.any(String) });
    const got = sd.messageUids();
    expect(got.length).toBeLessThan(sent.length);
    expect(got).toEqual(sent.slice(0, got.length));
    const last = sd.lastCursor!;

    // Reconnecting with its last cursor replays the rest, once, in order.
    const again = await connectRaw(t.url, await t.token(slow, 'slow-1'), { cursor: last, waitSynced: false });
    await again.waitType('synced', undefined, { timeoutMs: 20_000 });
    expect([...got, ...again.messageUids()]).toEqual(sent);
    expect(isIncreasing(again.frames.filter((f) => f.type === 'message').map((f) => f.cursor!))).toBe(true);
    expect(again.closeInfo).toBeUndefined();
  });
});

describe('a long absence of large messages (default gateway settings)', () => {
  const t = useServer();

  it('is replayed under flow control: no 4009 although the missed bytes far exceed maxBufferedBytes', async () => {
    const [a, b] = await t.users('a', 'b');
    const d1 = await t.device(b, 'b1');
    const last = d1.frames[1]!.cursor!;
    await d1.close();
    // 240 messages of 32 KiB (~7.5 MiB) while away: several times the 1 MiB cap and the socket buffers.
    const filler = 'y'.repeat(32 * 1024);
    const sent: number[] = [];
    for (let round = 0; round < 24; round++) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, (_, k) => t.admin.send(a, { type: 0, target: b }, { type: 1, searchableContent: `${round}-${k} ${filler}`, persistFlag: 3 })),
      );
      sent.push(...batch.map((r) => r.messageUid).sort((x, y) => x - y));
    }
    const d2 = await connectRaw(t.url, await t.token(b, 'b1'), { cursor: last, waitSynced: false });
    await d2.waitType('synced', undefined, { timeoutMs: 20_000 });
    expect(d2.messageUids()).toEqual(sent);
    expect(d2.closeInfo).toBeUndefined();
  });
});
