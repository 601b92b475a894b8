import { describe, expect, it } from 'vitest';
import { CmsClient, members, operator } from '../helpers/cms.js';
import { eventually } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';

describe("notification centre: a user's inbox (seed 004)", () => {
  const t = useServer();
  const cms = (): CmsClient => new CmsClient(t.url);

  /** Send `n` notifications to the users, oldest first; their ids. */
  async function sent(op: { token: string }, to: string[], n: number, extra: Record<string, unknown> = {}): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = await cms().add(op.token, { title: `title ${i}`, body: `body ${i}`, message_type: `type ${i}`, send_to: to, ...extra });
      await cms().send(op.token, id);
      ids.push(id);
    }
    await t.server.hub.notifications.idle();
    return ids;
  }

  it('list answers 1000 with data in the seed\'s item shape, newest first, totalCount, unreadCount and paging', async () => {
    const op = await operator(t);
    const [a] = await members(t, 1);
    const ids = await sent(op, [a!.userId], 3);
    const r = await cms().call('GET', '/message/list', { token: a!.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      data: [2, 1, 0].map((i) => ({ body: `body ${i}`, has_read: false, id: ids[i], title: `title ${i}`, type: `type ${i}` })),
      error_code: 1000,
      msg: 'get list data success',
      totalCount: 3,
      unreadCount: 3,
    });
    const p = await cms().inbox(a!.token, { page: '2', page_size: '2' });
    expect((p['data'] as Array<{ id: string }>).map((x) => x.id)).toEqual([ids[0]]);
    expect(p['totalCount']).toBe(3);
  });

  it('read one answers 10000 and marks only that item; read all marks the rest; counts follow the rows', async () => {
    const op = await operator(t);
    const [a] = await members(t, 1);
    const ids = await sent(op, [a!.userId], 3);
    const r = await cms().call('PUT', `/message/${ids[1]}/readOneNotifyMessage`, { token: a!.token });
    expect(r).toMatchObject({ status: 200, body: { error_code: 10000, msg: 'read notify message success' } });
    // Reading it again is fine and changes nothing.
    expect((await cms().call('PUT', `/message/${ids[1]}/readOneNotifyMessage`, { token: a!.token })).status).toBe(200);
    let list = await cms().inbox(a!.token);
    expect((list['data'] as Array<{ id: string; has_read: boolean }>).map((x) => [x.id, x.has_read])).toEqual([
      [ids[2], false],
      [ids[1], true],
      [ids[0], false],
    ]);
    expect(list['unreadCount']).toBe(2);
    expect((await cms().inbox(a!.token, { unread_only: 'true' }))['totalCount']).toBe(2);
    const all = await cms().call('PUT', '/message/readAllNotifyMessage', { token: a!.token });
    expect(all).toMatchObject({ status: 200, body: { error_code: 10000, msg: 'read notify message success' } });
    list = await cms().inbox(a!.token);
    expect(list).toMatchObject({ totalCount: 3, unreadCount: 0 });
    expect((list['data'] as Array<{ has_read: boolean }>).every((x) => x.has_read)).toBe(true);
    // The operator sees it read.
    expect(await cms().detail(op.token, ids[0]!)).toMatchObject({ has_read: [{ id: a!.userId }], unread: [], has_read_total: 1 });
  });

  it('delete one answers 10001; delete all clears the inbox; an empty inbox answers too', async () => {
    const op = await operator(t);
    const [a] = await members(t, 1);
    const ids = await sent(op, [a!.userId], 3);
    const r = await cms().call('DELETE', `/message/${ids[0]}/deleteOne`, { token: a!.token });
    expect(r).toMatchObject({ status: 200, body: { error_code: 10001, msg: 'clear notify message success' } });
    expect(await cms().call('DELETE', `/message/${ids[0]}/deleteOne`, { token: a!.token })).toMatchObject({ status: 404, body: { error_code: 40401 } });
    expect(await cms().inbox(a!.token)).toMatchObject({ totalCount: 2, unreadCount: 2 });
    const all = await cms().call('DELETE', '/message/deleteAll', { token: a!.token });
    expect(all).toMatchObject({ status: 200, body: { error_code: 10001, msg: 'clear notify message success' } });
    expect(await cms().inbox(a!.token)).toEqual({ data: [], error_code: 1000, msg: 'get list data success', totalCount: 0, unreadCount: 0 });
    expect((await cms().call('DELETE', '/message/deleteAll', { token: a!.token })).status).toBe(200);
    expect((await cms().call('PUT', '/message/readAllNotifyMessage', { token: a!.token })).status).toBe(200);
  });

  it("one user cannot read or delete another's items: 404, nothing changed", async () => {
    const op = await operator(t);
    const [a, b] = await members(t, 2);
    const [mine] = await sent(op, [a!.userId], 1);
    for (const [m, p] of [
      ['PUT', `/message/${mine}/readOneNotifyMessage`],
      ['DELETE', `/message/${mine}/deleteOne`],
    ] as const) {
      expect(await cms().call(m, p, { token: b!.token })).toMatchObject({ status: 404, body: { error_code: 40401, msg: 'message not found' } });
    }
    await cms().ok('PUT', '/message/readAllNotifyMessage', b!.token);
    await cms().ok('DELETE', '/message/deleteAll', b!.token);
    expect(await cms().inbox(a!.token)).toMatchObject({ totalCount: 1, unreadCount: 1, data: [{ id: mine, has_read: false }] });
    expect(await cms().inbox(b!.token)).toMatchObject({ totalCount: 0 });
    // Unknown and malformed ids: 404 too.
    for (const id of ['0123456789abcdef01234567', 'zzz', '%zz']) {
      expect((await cms().call('PUT', `/message/${id}/readOneNotifyMessage`, { token: a!.token })).status).toBe(404);
    }
  });

  it('a draft (not sent) is in no inbox; an e-mail that cannot go out (no SMTP) lands in the web inbox only with use_web_when_miss', async () => {
    const op = await operator(t);
    const [a] = await members(t, 1);
    await cms().add(op.token, { send_to: [a!.userId] });
    expect((await cms().inbox(a!.token))['totalCount']).toBe(0);
    const [quiet] = await sent(op, [a!.userId], 1, { send_method: 'email' });
    const [fallback] = await sent(op, [a!.userId], 1, { send_method: 'email', use_web_when_miss: true });
    // Without SMTP the e-mail jobs fail (through the outbox, after the fan-out): wait for both outcomes.
    const failed = async (id: string): Promise<boolean> =>
      ((await cms().detail(op.token, id))['deliveries'] as Array<{ status: string }>).every((d) => d.status === 'failed');
    await eventually(async () => (await failed(quiet!)) && (await failed(fallback!)), 'both e-mails failed');
    await eventually(async () => ((await cms().inbox(a!.token))['totalCount'] as number) === 1, 'the fallback row');
    const ids = ((await cms().inbox(a!.token))['data'] as Array<{ id: string }>).map((x) => x.id);
    expect(ids).toEqual([fallback]);
    expect(ids).not.toContain(quiet);
  });

  it('lng: ?lng= or Accept-Language picks a translation, else the default content', async () => {
    const op = await operator(t);
    const [a] = await members(t, 1);
    const [id] = await sent(op, [a!.userId], 1, { title: 'Update', body: 'New things', lng: 'en', translations: { zh: { title: '更新', body: '新功能' }, 'pt-BR': { title: 'Atualização', body: 'Novidades' } } });
    const item = async (q: Record<string, string>, headers: Record<string, string> = {}): Promise<unknown> =>
      ((await cms().call('GET', '/message/list', { token: a!.token, query: q, headers })).body['data'] as unknown[])[0];
    expect(await item({})).toEqual({ body: 'New things', has_read: false, id, title: 'Update', type: 'type 0' });
    expect(await item({ lng: 'zh' })).toMatchObject({ title: '更新', body: '新功能' });
    expect(await item({ lng: 'zh-CN' })).toMatchObject({ title: '更新' });
    expect(await item({}, { 'accept-language': 'pt-BR,pt;q=0.9' })).toMatchObject({ title: 'Atualização' });
    expect(await item({ lng: 'pt' })).toMatchObject({ title: 'Atualização' });
    expect(await item({ lng: 'de' })).toMatchObject({ title: 'Update' });
  });

  it('an operator has an inbox of its own too', async () => {
    const op = await operator(t);
    const [id] = await sent(op, [op.userId], 1);
    await eventually(async () => ((await cms().inbox(op.token))['totalCount'] as number) === 1, 'operator inbox');
    expect(((await cms().inbox(op.token))['data'] as Array<{ id: string }>)[0]!.id).toBe(id);
  });

  it('a destroyed user\'s inbox is gone for a user created again with its id; the operator\'s counts stay', async () => {
    const op = await operator(t);
    const [a] = await members(t, 1);
    const ids = await sent(op, [a!.userId], 2);
    await cms().call('PUT', `/message/${ids[0]}/readOneNotifyMessage`, { token: a!.token });
    await t.admin.ok('/user/destroy', { userId: a!.userId });
    await t.admin.createUser(a!.userId, { email: `${a!.userId}@example.test` });
    const again = await t.token(a!.userId, 'web');
    expect(await cms().inbox(again)).toMatchObject({ data: [], totalCount: 0, unreadCount: 0 });
    const detail = await cms().call('GET', `/notify/${ids[0]}/detail`, { token: op.token });
    expect(detail.status).toBe(200);
    expect(((detail.body as Record<string, unknown>)['data'] as Record<string, unknown>)['has_read']).toEqual([expect.objectContaining({ id: a!.userId })]);
  });
});
