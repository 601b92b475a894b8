import { afterEach, describe, expect, it } from 'vitest';
import { CmsClient, LiveInboxClient, members, operator } from '../helpers/cms.js';
import { rawHttp } from '../helpers/raw-http.js';
import { handshakeHeaders, upgradeBytes } from '../helpers/raw-ws.js';
import { useServer } from '../helpers/use-server.js';
import { eventually } from '../helpers/ws-client.js';

describe('notification centre: the live inbox WebSocket', () => {
  const t = useServer({ notifications: { heartbeatMs: 1000 } });
  const cms = (): CmsClient => new CmsClient(t.url);
  const open: LiveInboxClient[] = [];
  const connect = async (token: string, query: Record<string, string> = {}, opts = {}): Promise<LiveInboxClient> => {
    const c = await LiveInboxClient.open(t.url, token, query, opts);
    open.push(c);
    return c;
  };
  // Sockets opened by a test are closed after it.
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });

  it('on connect: the unread backlog as an array (empty when none), newest first; then each new notification as a single object', async () => {
    const op = await operator(t);
    const [a] = await members(t, 1);
    const empty = await connect(a!.token);
    expect(empty.backlog()).toEqual([]);
    const ids: string[] = [];
    for (const title of ['one', 'two', 'three']) {
      const id = await cms().add(op.token, { title, body: `${title} body`, message_type: 'update message', send_to: [a!.userId] });
      await cms().send(op.token, id);
      ids.push(id);
      // The socket open before the send gets it live, as one object in the seed's item shape.
      expect(await empty.waitItem(id)).toEqual({ body: `${title} body`, has_read: false, id, title, type: 'update message' });
    }
    await cms().ok('PUT', `/message/${ids[1]}/readOneNotifyMessage`, a!.token);
    const later = await connect(a!.token);
    expect(later.backlog()).toEqual([
      { body: 'three body', has_read: false, id: ids[2], title: 'three', type: 'update message' },
      { body: 'one body', has_read: false, id: ids[0], title: 'one', type: 'update message' },
    ]);
    const next = await cms().add(op.token, { title: 'four', send_to: [a!.userId] });
    await cms().send(op.token, next);
    expect(await later.waitItem(next)).toMatchObject({ id: next, title: 'four', has_read: false });
    // Nothing else arrived on it: the backlog, then exactly the one push.
    expect(later.frames.items.length).toBe(2);
  });

  it('reads and deletes on one device reach the user\'s other sockets live, with the unread count; not other users\'', async () => {
    const op = await operator(t);
    const [a, b] = await members(t, 2);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await cms().add(op.token, { send_to: [a!.userId, b!.userId] });
      await cms().send(op.token, id);
      ids.push(id);
    }
    await t.server.hub.notifications.idle();
    const phone = await connect(a!.token);
    const laptop = await connect(a!.token);
    const other = await connect(b!.token);
    expect(phone.backlog().length).toBe(3);
    await cms().ok('PUT', `/message/${ids[0]}/readOneNotifyMessage`, a!.token);
    for (const s of [phone, laptop]) expect(await s.waitEvent('read')).toEqual({ event: 'read', ids: [ids[0]], unread: 2 });
    await cms().ok('DELETE', `/message/${ids[1]}/deleteOne`, a!.token);
    for (const s of [phone, laptop]) expect(await s.waitEvent('delete')).toEqual({ event: 'delete', ids: [ids[1]], unread: 1 });
    await cms().ok('PUT', '/message/readAllNotifyMessage', a!.token);
    for (const s of [phone, laptop]) expect(await s.waitEvent('read_all')).toEqual({ event: 'read_all', ids: [], unread: 0 });
    await cms().ok('DELETE', '/message/deleteAll', a!.token);
    for (const s of [phone, laptop]) expect(await s.waitEvent('delete_all')).toEqual({ event: 'delete_all', ids: [], unread: 0 });
    // b's socket learned none of it; b's own read reaches it.
    await cms().ok('PUT', `/message/${ids[2]}/readOneNotifyMessage`, b!.token);
    expect(await other.waitEvent('read')).toEqual({ event: 'read', ids: [ids[2]], unread: 2 });
    expect(other.frames.items.length).toBe(2);
    expect((await cms().inbox(b!.token))['unreadCount']).toBe(2);
  });

  it("an operator's delete retracts the notification from the recipients' sockets", async () => {
    const op = await operator(t);
    const [a] = await members(t, 1);
    const s = await connect(a!.token);
    const id = await cms().add(op.token, { send_to: [a!.userId] });
    await cms().send(op.token, id);
    await s.waitItem(id);
    await cms().ok('DELETE', `/notify/${id}/delete`, op.token);
    expect(await s.waitEvent('delete')).toEqual({ event: 'delete', ids: [id] });
  });

  it('?lng= picks the translation of the pushes and the backlog', async () => {
    const op = await operator(t);
    const [a] = await members(t, 1);
    const zh = await connect(a!.token, { lng: 'zh' });
    const plain = await connect(a!.token);
    const id = await cms().add(op.token, { title: 'Hello', body: 'World', lng: 'en', translations: { zh: { title: '你好', body: '世界' } }, send_to: [a!.userId] });
    await cms().send(op.token, id);
    expect(await zh.waitItem(id)).toMatchObject({ title: '你好', body: '世界' });
    expect(await plain.waitItem(id)).toMatchObject({ title: 'Hello', body: 'World' });
    expect((await connect(a!.token, { lng: 'zh-CN' })).backlog()[0]).toMatchObject({ title: '你好' });
  });

  it('the server pings and keeps a live socket open; a peer that stops answering pings is dropped', async () => {
    const [a] = await members(t, 1);
    const live = await connect(a!.token);
    const dead = await connect(a!.token, {}, { autoPong: false });
    // Dropped after an interval without a pong (heartbeatMs 1000 here): terminated, no close frame.
    expect((await dead.closed).code).toBe(1006);
    expect(dead.pings).toBeGreaterThan(0);
    expect(live.pings).toBeGreaterThan(0);
    // Still open several heartbeats on: the server never closes a socket that answers.
    const seen = live.pings;
    await eventually(async () => live.pings >= seen + 2, 'two more pings');
    expect(live.ws.readyState).toBe(live.ws.OPEN);
  });

  it('a revoked token closes its sockets with 4003 (that client only when one is named); the others stay', async () => {
    const [a] = await members(t, 1);
    const phoneToken = await t.token(a!.userId, 'phone');
    const phone = await connect(phoneToken);
    const web = await connect(a!.token);
    await t.admin.ok('/user/kickoff_client', { userId: a!.userId, clientId: 'phone' });
    expect((await phone.closed).code).toBe(4003);
    expect(web.ws.readyState).toBe(web.ws.OPEN);
    await t.admin.ok('/user/update_block_status', { userId: a!.userId, status: 2 });
    expect((await web.closed).code).toBe(4003);
  });

  it('sockets connecting while notifications are sent get each one exactly once (backlog or push)', async () => {
    const op = await operator(t);
    const [a] = await members(t, 1);
    const ids: string[] = [];
    const sending = (async () => {
      for (let i = 0; i < 6; i++) {
        const id = await cms().add(op.token, { title: `race ${i}`, send_to: [a!.userId] });
        ids.push(id);
        await cms().send(op.token, id);
      }
    })();
    const sockets = await Promise.all(Array.from({ length: 8 }, () => connect(a!.token)));
    await sending;
    await t.server.hub.notifications.idle();
    for (const s of sockets) {
      const seen = (): string[] => s.frames.items.flatMap((f) => (Array.isArray(f) ? f.map((x) => x['id'] as string) : [f['id'] as string]));
      // Every notification sent after the socket registered arrives live: wait for the last one.
      await s.frames.waitFor(() => seen().includes(ids[ids.length - 1]!), { label: 'the last notification' });
      const got = seen();
      expect(new Set(got).size, 'no duplicates').toBe(got.length);
      // Those sent before it connected are in its backlog; none is missing in between.
      const first = ids.findIndex((id) => got.includes(id));
      expect(got.sort()).toEqual(ids.slice(first).sort());
    }
  });

  it('malformed upgrades are answered over HTTP and the server keeps serving', async () => {
    const [a] = await members(t, 1);
    const path = `/v1/cms/getMessageRealTime?auth_token=${encodeURIComponent(a!.token)}`;
    const status = async (headers: ReturnType<typeof handshakeHeaders>, p = path): Promise<number | undefined> =>
      (await rawHttp(t.url, upgradeBytes(t.url, { path: p, headers }), { timeoutMs: 5000 })).response?.status;
    const base = handshakeHeaders(t.url);
    // No Sec-WebSocket-Key, a bad version: refused by the handshake (400/426), after a valid token.
    expect(await status(base.filter(([k]) => k !== 'Sec-WebSocket-Key'))).toBe(400);
    expect([400, 426]).toContain(await status(base.map(([k, v]) => [k, k === 'Sec-WebSocket-Version' ? '7' : v] as const)));
    // Tokens that are not: absurdly long, or only blanks.
    expect(await status(base, `/v1/cms/getMessageRealTime?auth_token=${'x'.repeat(6000)}`)).toBe(401);
    expect(await status(base, '/v1/cms/getMessageRealTime?auth_token=%20%20')).toBe(401);
    // Still serving.
    expect((await connect(a!.token)).backlog()).toEqual([]);
  });
});

describe('notification centre: live inbox sockets per user (gateway.maxConnectionsPerUser 2)', () => {
  const t = useServer({ gateway: { maxConnectionsPerUser: 2 } });

  it("closes a user's third socket with 4011, keeps the first two, and accepts one again once a slot is free", async () => {
    const [a, b] = await members(t, 2);
    const first = await LiveInboxClient.open(t.url, a!.token);
    const second = await LiveInboxClient.open(t.url, a!.token);
    const other = await LiveInboxClient.open(t.url, b!.token);
    try {
      await expect(LiveInboxClient.open(t.url, a!.token)).rejects.toThrow(/closed 4011/);
      // The kept sockets still receive.
      const op = await operator(t);
      const cms = new CmsClient(t.url);
      const id = await cms.add(op.token, { title: 'kept', send_to: [a!.userId] });
      await cms.send(op.token, id);
      for (const s of [first, second]) await s.waitItem(id);
      first.close();
      await first.closed;
      // The server sees the close a moment later: retried until it has.
      await eventually(async () => {
        try {
          (await LiveInboxClient.open(t.url, a!.token)).close();
          return true;
        } catch {
          return false;
        }
      }, 'a socket accepted again');
      expect(other.ws.readyState).toBe(other.ws.OPEN);
    } finally {
      for (const s of [first, second, other]) s.close();
    }
  });
});
