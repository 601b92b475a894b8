import { describe, expect, it } from 'vitest';
import { single, text } from '../helpers/messages.js';
import { closeAllClients, connectRaw, connectRefused, eventually, memoryCursorStore, withTimeout, WsClient, wsUrl } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';

/**
 * Sessions: token checks at connect (4001/4000), revocation while connected (4003 with a reason) and
 * the online status routes answered from the connection registry.
 */

interface Session {
  clientId: string;
  userId: string;
  platform: number;
  status: number;
  lastSeen: number;
}

describe('sessions and auth', () => {
  const t = useServer();

  const sessionsOf = async (userId: string): Promise<Session[]> =>
    (await t.admin.ok<{ sessions: Session[] }>('/user/onlinestatus', { userId })).sessions;

  it('refuses a missing, unknown or forged token with 4001 (after the upgrade), and no frames', async () => {
    const [u] = await t.users('u');
    const good = await t.token(u, 'c1');
    const forged = (good[0] === 'A' ? 'B' : 'A') + good.slice(1);
    for (const url of [wsUrl(t.url), wsUrl(t.url, ''), wsUrl(t.url, 'not-a-token'), wsUrl(t.url, forged), wsUrl(t.url, good.slice(0, -1))]) {
      const { info, frames } = await connectRefused(url);
      expect(info.code, url).toBe(4001);
      expect(frames).toEqual([]);
    }
    // The good one still works.
    const d = await connectRaw(t.url, good);
    expect(d.frames[0]).toEqual({ type: 'hello', userId: u, clientId: 'c1' });
  });

  it('refuses a malformed cursor with 4000', async () => {
    const [u] = await t.users('u');
    const token = await t.token(u, 'c1');
    for (const cursor of ['abc', '-1', '1.5', '', '1e3', ' 1', '0x10']) {
      const { info } = await connectRefused(wsUrl(t.url, token, cursor));
      expect(info.code, `cursor=${cursor}`).toBe(4000);
    }
  });

  it('a token revoked by kickoff_client is refused (4001), and the SDK does not retry', async () => {
    const [u] = await t.users('u');
    const token = await t.token(u, 'c1');
    await t.admin.ok('/user/kickoff_client', { first: u, second: 'c1' });
    expect((await connectRefused(wsUrl(t.url, token))).info.code).toBe(4001);
    const sdk = t.sdk({ token, reconnect: { initialDelayMs: 10 } });
    const err = await sdk.client.connect().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 4001 });
    expect(sdk.events.filter((e) => e.event === 'disconnected').map((e) => e.data)).toEqual([{ code: 4001, reason: 'unauthorized', reconnecting: false }]);
  });

  it('kickoff_client closes only that client’s connections (4003 kicked); its old token is then refused', async () => {
    const [a, u] = await t.users('a', 'u');
    const tok1 = await t.token(u, 'phone');
    const phone = await connectRaw(t.url, tok1);
    const phone2 = await connectRaw(t.url, tok1); // the same client twice
    const desk = await t.device(u, 'desk');
    await t.admin.ok('/user/kickoff_client', { first: u, second: 'phone' });
    expect(await withTimeout(phone.closed, 5000, 'phone close')).toEqual({ code: 4003, reason: 'kicked' });
    expect(await withTimeout(phone2.closed, 5000, 'phone2 close')).toEqual({ code: 4003, reason: 'kicked' });
    const m = await t.admin.send(a, single(u), text('still here?'));
    await desk.waitMessage(m.messageUid);
    expect(desk.closeInfo).toBeUndefined();
    expect((await connectRefused(wsUrl(t.url, tok1))).info.code).toBe(4001);
    await eventually(async () => (await sessionsOf(u)).map((s) => s.clientId).join() === 'desk', 'only desk online');
    // A new token for the kicked client works again.
    await t.device(u, 'phone');
  });

  it('kickoff_client without a clientId closes every connection of the user', async () => {
    const [u] = await t.users('u');
    const phone = await t.device(u, 'phone');
    const desk = await t.device(u, 'desk');
    await t.admin.ok('/user/kickoff_client', { first: u });
    for (const d of [phone, desk]) expect(await withTimeout(d.closed, 5000, 'close')).toEqual({ code: 4003, reason: 'kicked' });
  });

  it('a kickoff racing with connects leaves no connection of the revoked token open', async () => {
    const [u] = await t.users('u');
    const clients: WsClient[] = [];
    // A few rounds, one client id each: connects with its token, and its kickoff fired among them.
    const tokens = await Promise.all(Array.from({ length: 6 }, (_, r) => t.token(u, `racer-${r}`)));
    for (let round = 0; round < tokens.length; round++) {
      let kick: Promise<unknown> = Promise.resolve();
      for (let i = 0; i < 40; i++) {
        clients.push(new WsClient(wsUrl(t.url, tokens[round])));
        if (i === 20) kick = t.admin.ok('/user/kickoff_client', { first: u, second: `racer-${round}` });
      }
      await kick;
    }
    // Each connection settles: refused, or accepted (hello) and then closed by the revocation.
    const outcomes = await Promise.all(
      clients.map(async (c) => {
        const first = await Promise.race([c.waitType('hello', undefined, { timeoutMs: 5000 }).then(() => 'hello'), c.closed.then(() => 'closed')]).catch(() => 'closed');
        if (first === 'closed') return (await c.closed).code;
        return Promise.race([c.closed.then((x) => x.code), withTimeout(new Promise<never>(() => undefined), 3000, '').catch(() => -1)]);
      }),
    );
    const survivors = outcomes.filter((c) => c === -1).length;
    expect(survivors, `${survivors} of ${clients.length} connections accepted with the token stayed open after its kickoff`).toBe(0);
    for (const code of outcomes) expect([4001, 4003]).toContain(code);
    expect((await t.admin.ok<{ sessions: unknown[] }>('/user/onlinestatus', { userId: u })).sessions).toEqual([]);
  });

  it('answers an upgrade on another path with 404 (no socket)', async () => {
    const [u] = await t.users('u');
    const c = new WsClient(wsUrl(t.url, await t.token(u, 'c1'), undefined, '/not-ws'));
    const status = await withTimeout(
      new Promise<number>((resolve) => c.ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))),
      5000,
      'the 404',
    );
    expect(status).toBe(404);
    c.terminate();
  });

  it('update_block_status 2 closes every connection of the user (4003 blocked); old tokens are refused', async () => {
    const [u] = await t.users('u');
    const tok1 = await t.token(u, 'phone');
    const tok2 = await t.token(u, 'desk');
    const phone = await connectRaw(t.url, tok1);
    const desk = t.sdk({ token: tok2, reconnect: { initialDelayMs: 10 } });
    await desk.client.connect();
    await t.admin.ok('/user/update_block_status', { userId: u, status: 2 });
    expect(await withTimeout(phone.closed, 5000, 'phone close')).toEqual({ code: 4003, reason: 'blocked' });
    const disc = await desk.waitFor((e) => e.event === 'disconnected');
    expect(disc.data).toEqual({ code: 4003, reason: 'blocked', reconnecting: false });
    for (const tok of [tok1, tok2]) expect((await connectRefused(wsUrl(t.url, tok))).info.code).toBe(4001);
    // While blocked no new token is issued; unblocked, a fresh one works.
    expect(await t.admin.code('/user/get_token', { userId: u, clientId: 'phone', platform: 1 })).toBe(245);
    await t.admin.ok('/user/update_block_status', { userId: u, status: 0 });
    await t.device(u, 'phone');
  });

  it('user/destroy closes its connections with 4003 destroyed and its tokens are refused', async () => {
    const [u] = await t.users('u');
    const tok = await t.token(u, 'phone');
    const phone = await connectRaw(t.url, tok);
    await t.admin.ok('/user/destroy', { userId: u });
    expect(await withTimeout(phone.closed, 5000, 'close')).toEqual({ code: 4003, reason: 'destroyed' });
    expect((await connectRefused(wsUrl(t.url, tok))).info.code).toBe(4001);
  });

  it('a device closing normally is removed from onlinestatus', async () => {
    const [u] = await t.users('u');
    expect(await sessionsOf(u)).toEqual([]);
    const phone = await t.device(u, 'phone', { platform: 2 });
    const desk = await t.device(u, 'desk', { platform: 3 });
    const s = (await sessionsOf(u)).sort((x, y) => x.clientId.localeCompare(y.clientId));
    expect(s.map(({ lastSeen: _, ...rest }) => rest)).toEqual([
      { clientId: 'desk', userId: u, platform: 3, status: 0 },
      { clientId: 'phone', userId: u, platform: 2, status: 0 },
    ]);
    for (const x of s) expect(x.lastSeen).toBeGreaterThan(0);
    await phone.close();
    await eventually(async () => (await sessionsOf(u)).map((x) => x.clientId).join() === 'desk', 'phone gone');
    desk.terminate(); // an abrupt end counts too
    await eventually(async () => (await sessionsOf(u)).length === 0, 'desk gone');
  });
});

describe('online_count and online_list', () => {
  const t = useServer();

  it('count every connected device and page through them', async () => {
    expect(await t.admin.ok('/user/online_count', {})).toEqual([{ node: 1, count: 0 }]);
    const [a, b] = await t.users('a', 'b');
    const a1 = await t.device(a, 'a1', { platform: 1 });
    await t.device(a, 'a2', { platform: 2 });
    await t.device(b, 'b1', { platform: 5 });
    expect(await t.admin.ok('/user/online_count', {})).toEqual([{ node: 1, count: 3 }]);

    type Page = { userClients: Array<{ userId: string; clientId: string; platform: number }>; totalCount: number; offset: number };
    const p1 = await t.admin.ok<Page>('/user/online_list', { offset: 0, count: 2 });
    const p2 = await t.admin.ok<Page>('/user/online_list', { nodeId: 1, offset: 2, count: 2 });
    expect(p1.userClients).toHaveLength(2);
    expect(p2.userClients).toHaveLength(1);
    expect([p1.totalCount, p1.offset, p2.totalCount, p2.offset]).toEqual([3, 0, 3, 2]);
    const all = [...p1.userClients, ...p2.userClients].sort((x, y) => x.clientId.localeCompare(y.clientId));
    expect(all).toEqual([
      { userId: a, clientId: 'a1', platform: 1 },
      { userId: a, clientId: 'a2', platform: 2 },
      { userId: b, clientId: 'b1', platform: 5 },
    ]);
    expect(await t.admin.ok('/user/online_list', { nodeId: 7, offset: 0, count: 10 })).toEqual({ userClients: [], totalCount: 0, offset: 0 });

    await a1.close();
    await eventually(async () => (await t.admin.ok<Array<{ count: number }>>('/user/online_count', {}))[0]!.count === 2, 'count 2');
    const p = await t.admin.ok<Page>('/user/online_list', { offset: 0, count: 10 });
    expect(p.userClients.map((x) => x.clientId).sort()).toEqual(['a2', 'b1']);
    await closeAllClients();
    await eventually(async () => (await t.admin.ok<Array<{ count: number }>>('/user/online_count', {}))[0]!.count === 0, 'count 0');
  });
});

describe('graceful shutdown', () => {
  const t = useServer();

  it('closes devices with 1001; the SDK reconnects to the restarted server and resumes from its cursor', async () => {
    const [a, b] = await t.users('a', 'b');
    const raw = await t.device(b, 'raw');
    const store = memoryCursorStore();
    const sdk = t.sdk({ token: await t.token(b, 'sdk'), cursorStore: store, reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
    await sdk.client.connect();
    const m1 = await t.admin.send(a, single(b), text('before'));
    await sdk.waitMessage(m1.messageUid);
    await t.stop();
    expect(await withTimeout(raw.closed, 5000, 'close')).toEqual({ code: 1001, reason: 'server shutting down' });
    const disc = await sdk.waitFor((e) => e.event === 'disconnected');
    expect(disc.data).toMatchObject({ code: 1001, reconnecting: true });
    // A send while disconnected waits and goes out after the reconnect.
    const pending = sdk.client.send(single(a), text('sent while offline'));

    // The same port and data: the SDK's URL and cursor stay valid.
    await t.restart();
    const sent = await withTimeout(pending, 10_000, 'the pending send');
    expect(sent.duplicate).toBe(false);
    const m2 = await t.admin.send(a, single(b), text('after'));
    await sdk.waitMessage(m2.messageUid, { timeoutMs: 10_000 });
    expect(sdk.messageUids()).toEqual([m1.messageUid, sent.messageUid, m2.messageUid]);
    expect(store.value).toBeGreaterThan(0);
  });
});
