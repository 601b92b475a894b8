import { describe, expect, it } from 'vitest';
import { single, text } from '../helpers/messages.js';
import { connectRaw, cursorsOf, isIncreasing, type Frame, type WsClient } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';

/**
 * Read receipts keep cursor order under load. A read report and a message for the same user often
 * commit in the same group commit; the core must publish each committed call's events before any
 * later one's, or the device (which drops a cursor at or below the last it saw) loses the receipt
 * for good while its cursor has already passed it.
 */

const ROUNDS = 200;
const IN_FLIGHT = 4;

/** What identifies a frame of the user's stream, whether it came live or by replay. */
function key(f: Frame): string {
  if (f.type === 'message') return `message@${f.cursor}#${f['message'].messageId}`;
  if (f.type === 'read') return `read@${f.cursor}:${f['userId']}:${f['timestamp']}`;
  return `${f.type}@${f.cursor}`;
}

describe('receipt order', () => {
  // Rounds of frames far above the default per-socket rate limit.
  const t = useServer({ gateway: { rateLimitPerSecond: 100_000, rateLimitBurst: 100_000 } });

  it('concurrent read reports and sends: the live device gets every receipt in cursor order, and a resync gives the same stream', async () => {
    const [alice, bob, carol] = await t.users('alice', 'bob', 'carol');
    const seed = await t.admin.send(alice, single(bob), text('seed'));
    const b1 = await t.device(bob, 'b1');
    const c1 = await t.device(carol, 'c1');
    const a1 = await t.device(alice, 'a1');
    const start = (await a1.waitType('synced')).cursor!;
    const from = a1.mark;

    // Each read report raises bob's mark by 1 ms (all in the past), so each one makes a receipt for alice.
    const base = seed.timestamp - 10_000;
    // Rounds of one report and one send, a few rounds in flight, so that reports and sends keep
    // landing in the same group commits in both orders.
    const acked = (i: number) =>
      Promise.all([
        b1.waitType('read_ok', (f) => f['id'] === `r${i}`, { timeoutMs: 20_000 }),
        c1.waitType('sent', (f) => f['id'] === `s${i}`, { timeoutMs: 20_000 }),
      ]);
    for (let i = 1; i <= ROUNDS; i++) {
      b1.send({ type: 'read', id: `r${i}`, conv: single(alice), timestamp: base + i });
      c1.send({ type: 'send', id: `s${i}`, conv: single(alice), payload: text(`c${i}`) });
      if (i > IN_FLIGHT) await acked(i - IN_FLIGHT);
    }
    await acked(ROUNDS);
    expect(b1.frames.filter((f) => f.type === 'error')).toEqual([]);
    expect(c1.frames.filter((f) => f.type === 'error')).toEqual([]);
    expect(b1.frames.filter((f) => f.type === 'read_ok').map((f) => f['timestamp'])).toEqual(Array.from({ length: ROUNDS }, (_, i) => base + i + 1));

    // The gateway delivers in bus order: once a later marker arrives, everything before it was pushed.
    const marker = await t.admin.send(carol, single(alice), text('marker'));
    await a1.waitMessage(marker.messageUid, { timeoutMs: 20_000 });
    const live = a1.frames.slice(from);
    const receipts = live.filter((f) => f.type === 'read');
    expect(receipts.map((f) => f['timestamp'])).toEqual(Array.from({ length: ROUNDS }, (_, i) => base + i + 1));
    for (const r of receipts) expect(r).toMatchObject({ userId: bob, conv: single(bob) });
    expect(live.filter((f) => f.type === 'message')).toHaveLength(ROUNDS + 1);
    expect(isIncreasing(cursorsOf(live)), cursorsOf(live).join(',')).toBe(true);

    // A device resyncing from alice's first cursor receives exactly the same stream.
    const a2: WsClient = await connectRaw(t.url, await t.token(alice, 'a2'), { cursor: start });
    const replayed = a2.frames.slice(0, a2.frames.findIndex((f) => f.type === 'synced')).filter((f) => f.type !== 'hello');
    expect(replayed.map(key)).toEqual(live.map(key));
  });
});
