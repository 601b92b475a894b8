import { describe, expect, it } from 'vitest';
import { single, text } from '../helpers/messages.js';
import { cursorsOf, isNonDecreasing } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';

/**
 * A cursor ahead of the server's head (a device that talked to a server since restored from a backup,
 * or a buggy client) must not silence the device: the server answers `synced` with its real head and
 * `reset: true`, the device adopts it, and everything after it is delivered.
 */

describe('a cursor ahead of the head', () => {
  const t = useServer();

  it('at connect: synced carries the real head with reset:true, and later messages arrive', async () => {
    const [a, b] = await t.users('a', 'b');
    const before = await t.admin.send(a, single(b), text('before'));
    // A device at the head, for reference.
    const ref = await t.device(b, 'ref');
    const head = ref.frames[1]!.cursor!;

    const d = await t.device(b, 'future', { cursor: 999_999_999 });
    expect(d.frames[0]).toMatchObject({ type: 'hello' });
    expect(d.frames[1]).toEqual({ type: 'synced', cursor: d.frames[1]!.cursor, reset: true });
    const adopted = d.frames[1]!.cursor!;
    // The real head: at least the reference device's, far below the device's cursor.
    expect(adopted).toBeGreaterThanOrEqual(head);
    expect(adopted).toBeLessThan(999_999_999);
    expect(d.frames).toHaveLength(2); // nothing replayed: the device's state is unknown, it starts at the head
    expect(d.messageUids()).not.toContain(before.messageUid);

    const m1 = await t.admin.send(a, single(b), text('after 1'));
    const m2 = await t.admin.send(a, single(b), text('after 2'));
    await d.waitMessage(m2.messageUid);
    expect(d.messageUids()).toEqual([m1.messageUid, m2.messageUid]);
    expect(d.frames[2]!.cursor!).toBeGreaterThan(adopted);
    expect(isNonDecreasing(cursorsOf(d.frames))).toBe(true);
    // The device resumes from what it adopted: nothing is skipped or repeated.
    const again = await t.device(b, 'future2', { cursor: adopted });
    expect(again.messageUids()).toEqual([m1.messageUid, m2.messageUid]);
    expect(again.frames.at(-1)).toEqual({ type: 'synced', cursor: d.lastCursor });
  });

  it('a sync frame with a future cursor: synced with the connection’s position and reset:true, then live as before', async () => {
    const [a, b] = await t.users('a', 'b');
    const d = await t.device(b);
    const m1 = await t.admin.send(a, single(b), text('one'));
    await d.waitMessage(m1.messageUid);
    const at = d.lastCursor!;

    const mark = d.mark;
    d.send({ type: 'sync', cursor: 999_999_999 });
    const synced = await d.waitType('synced', undefined, { from: mark });
    expect(synced).toEqual({ type: 'synced', cursor: at, reset: true });

    const m2 = await t.admin.send(a, single(b), text('two'));
    const f = await d.waitMessage(m2.messageUid);
    expect(f.cursor!).toBeGreaterThan(at);
    expect(d.messageUids()).toEqual([m1.messageUid, m2.messageUid]);
    expect(isNonDecreasing(cursorsOf(d.frames))).toBe(true);

    // A sync frame with a cursor beyond 2^53 is refused like any malformed cursor (251), the connection stays.
    const mark2 = d.mark;
    d.sendRaw('{"type":"sync","cursor":9007199254740993}');
    expect(await d.waitType('error', undefined, { from: mark2 })).toMatchObject({ code: 251 });
    const m3 = await t.admin.send(a, single(b), text('three'));
    await d.waitMessage(m3.messageUid);
  });

  it('a sync frame with a valid cursor still replays and ends with a plain synced', async () => {
    const [a, b] = await t.users('a', 'b');
    const d = await t.device(b);
    const start = d.frames[1]!.cursor!;
    const m1 = await t.admin.send(a, single(b), text('one'));
    await d.waitMessage(m1.messageUid);
    const mark = d.mark;
    d.send({ type: 'sync', cursor: start });
    const synced = await d.waitType('synced', undefined, { from: mark });
    expect(synced).toEqual({ type: 'synced', cursor: d.lastCursor });
    expect(d.messageUids(mark)).toEqual([m1.messageUid]);
  });
});
