import { afterEach, describe, expect, it } from 'vitest';
import { single, text } from '../helpers/messages.js';
import { closeAllClients, device, withTimeout, WsClient, wsUrl } from '../helpers/ws-client.js';
import { useGateway } from './gateway-harness.js';
import { useServer } from '../helpers/use-server.js';

/**
 * A replay that fails (the store rejects a page, or the head) must not leave the connection in limbo,
 * never live and answering "already syncing" forever: it is closed with 1011 and the device reconnects
 * from its cursor. Faults are injected in a second gateway's store (gateway-harness.ts).
 */

describe('replay failures', () => {
  const t = useServer();
  const h = useGateway(t);
  afterEach(async () => {
    await closeAllClients();
    h.faults.restore('sync', 'replay');
    h.faults.restore('sync', 'headSeq');
  });

  it('a sync frame whose replay fails closes the connection with 1011; reconnecting resyncs', async () => {
    const [a, b] = await t.users('a', 'b');
    const d = await device(h.url, t.admin, b);
    const start = d.frames[1]!.cursor!;
    const m1 = await t.admin.send(a, single(b), text('one'));
    await d.waitMessage(m1.messageUid);

    const fault = h.faults.failNext('sync', 'replay', 1, (args) => args[0] === b);
    d.send({ type: 'sync', cursor: start });
    const closed = await withTimeout(d.closed, 5000, 'the 1011 close');
    expect(closed.code).toBe(1011);
    expect(fault.failed).toBe(1);
    // No error frame "already syncing" and no synced: the connection was closed, not left half-open.
    expect(d.frames.filter((f) => f.type === 'synced')).toHaveLength(1);

    const m2 = await t.admin.send(a, single(b), text('two'));
    const again = await device(h.url, t.admin, b, 'again', { cursor: start });
    expect(again.messageUids()).toEqual([m1.messageUid, m2.messageUid]);
    const m3 = await t.admin.send(a, single(b), text('three'));
    await again.waitMessage(m3.messageUid);
  });

  it('a failed replay at connect closes with 1011 instead of leaving the device unsynced', async () => {
    const [a, b] = await t.users('a', 'b');
    const m1 = await t.admin.send(a, single(b), text('one'));
    const token = await t.token(b, 'c1');

    h.faults.failNext('sync', 'replay', 1, (args) => args[0] === b);
    const c = new WsClient(wsUrl(h.url, token, 0));
    const closed = await withTimeout(c.closed, 5000, 'the 1011 close');
    expect(closed.code).toBe(1011);
    expect(c.frames.map((f) => f.type)).toEqual(['hello']);

    h.faults.failNext('sync', 'headSeq', 1);
    const c2 = new WsClient(wsUrl(h.url, token));
    expect((await withTimeout(c2.closed, 5000, 'the 1011 close')).code).toBe(1011);

    // Once the store answers again, the same token and cursor work.
    const ok = await device(h.url, t.admin, b, 'c2', { cursor: 0 });
    expect(ok.messageUids()).toEqual([m1.messageUid]);
  });

  it('a sync frame during a failing replay is not answered "already syncing" forever', async () => {
    const [a, b] = await t.users('a', 'b');
    const d = await device(h.url, t.admin, b);
    const start = d.frames[1]!.cursor!;
    const m1 = await t.admin.send(a, single(b), text('one'));
    await d.waitMessage(m1.messageUid);
    // The replay waits on the store, then fails; a second sync meanwhile is refused, as documented.
    const gate = h.faults.hold('sync', 'replay', (args) => args[0] === b);
    d.send({ type: 'sync', cursor: start });
    await gate.reached;
    const mark = d.mark;
    d.send({ type: 'sync', cursor: start });
    expect(await d.waitType('error', undefined, { from: mark })).toMatchObject({ code: 251, detail: 'already syncing' });
    gate.release({ fail: true });
    expect((await withTimeout(d.closed, 5000, 'the 1011 close')).code).toBe(1011);
  });
});
