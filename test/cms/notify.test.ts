import { describe, expect, it } from 'vitest';
import { CmsClient, members, operator } from '../helpers/cms.js';
import { eventually } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/;

describe('notification centre: the operator routes (seed 004)', () => {
  const t = useServer();
  const cms = (): CmsClient => new CmsClient(t.url);

  it('add answers the seed\'s string code "1002"; detail shows every field, recipients unread, not sent', async () => {
    const op = await operator(t);
    const [a, b] = await members(t, 2);
    const r = await cms().call('POST', '/notify/add', {
      token: op.token,
      body: { title: 'platform has update', body: 'update some new functions', send_method: 'web', message_type: 'update message', send_to: [a!.userId, b!.userId] },
    });
    expect(r.status).toBe(200);
    expect(r.contentType).toContain('application/json');
    expect(r.body).toMatchObject({ error_code: '1002', msg: 'add success' });
    const id = r.body['id'] as string;
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    const d = await cms().call('GET', `/notify/${id}/detail`, { token: op.token });
    expect(d.status).toBe(200);
    expect(d.body['error_code']).toBe(1001);
    expect(d.body['msg']).toBe('get data success');
    const data = d.body['data'] as Record<string, unknown>;
    const names = [a!, b!].map((u) => ({ id: u.userId, username: `name-${u.userId}` })).sort((x, y) => x.id.localeCompare(y.id));
    expect(data).toMatchObject({
      id,
      title: 'platform has update',
      message_body: 'update some new functions',
      message_type: 'update message',
      send_method: 'web',
      recipients: names,
      has_read: [],
      unread: names,
      has_send: false,
      send_at: null,
      use_web_when_miss: false,
      lng: '',
    });
    expect(data['date_created']).toMatch(ISO);
  });

  it('update answers "1003"; modifying a sent notification is refused (409) and nothing changes', async () => {
    const op = await operator(t);
    const [a, b] = await members(t, 2);
    const id = await cms().add(op.token, { send_to: [a!.userId] });
    const r = await cms().call('PUT', `/notify/${id}/update`, {
      token: op.token,
      body: { title: 'new title', body: 'new body', send_method: 'email', message_type: 'xxx', send_to: [b!.userId], use_web_when_miss: true, lng: 'en' },
    });
    expect(r).toMatchObject({ status: 200, body: { error_code: '1003', msg: 'modify success' } });
    expect(await cms().detail(op.token, id)).toMatchObject({
      title: 'new title',
      message_body: 'new body',
      send_method: 'email',
      message_type: 'xxx',
      recipients: [{ id: b!.userId }],
      use_web_when_miss: true,
      lng: 'en',
    });
    // Partial: only the fields given.
    await cms().ok('PUT', `/notify/${id}/update`, op.token, { title: 'only title', send_method: 'web' });
    expect(await cms().detail(op.token, id)).toMatchObject({ title: 'only title', message_body: 'new body' });
    await cms().send(op.token, id);
    const again = await cms().call('PUT', `/notify/${id}/update`, { token: op.token, body: { title: 'late' } });
    expect(again).toMatchObject({ status: 409, body: { error_code: 40900 } });
    expect((await cms().detail(op.token, id))['title']).toBe('only title');
  });

  it('send is a GET answering 10002 (POST accepted); sent once: a second send is 409', async () => {
    const op = await operator(t);
    const [a] = await members(t, 1);
    const id = await cms().add(op.token, { send_to: [a!.userId] });
    const r = await cms().call('GET', `/notify/${id}/send`, { token: op.token });
    expect(r).toMatchObject({ status: 200, body: { error_code: 10002, msg: 'send message success' } });
    const d = await cms().detail(op.token, id);
    expect(d['has_send']).toBe(true);
    expect(d['send_at']).toMatch(ISO);
    expect(await cms().call('GET', `/notify/${id}/send`, { token: op.token })).toMatchObject({ status: 409, body: { error_code: 40900 } });
    const id2 = await cms().add(op.token, { send_to: [a!.userId] });
    expect(await cms().call('POST', `/notify/${id2}/send`, { token: op.token })).toMatchObject({ status: 200, body: { error_code: 10002 } });
  });

  it('list answers 10000 with totalCount, newest first, paged; has_read/unread follow the reads', async () => {
    const op = await operator(t);
    const [a, b] = await members(t, 2);
    const first = await cms().add(op.token, { title: 'first', send_to: [a!.userId, b!.userId] });
    const second = await cms().add(op.token, { title: 'second', send_to: [a!.userId] });
    await cms().send(op.token, first);
    await eventually(async () => ((await cms().inbox(a!.token))['totalCount'] as number) === 1, 'a got it');
    await cms().ok('PUT', `/message/${first}/readOneNotifyMessage`, a!.token);
    const r = await cms().call('GET', '/notify/list', { token: op.token, query: { page: '1', page_size: '100' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ error_code: 10000, msg: 'query success' });
    const data = r.body['data'] as Array<Record<string, unknown>>;
    expect(r.body['totalCount']).toBeGreaterThanOrEqual(2);
    const ids = data.map((x) => x['id']);
    expect(ids.indexOf(second)).toBeLessThan(ids.indexOf(first));
    const f = data.find((x) => x['id'] === first)!;
    expect(f).toMatchObject({ title: 'first', has_send: true, has_read: [{ id: a!.userId, username: `name-${a!.userId}` }], unread: [{ id: b!.userId }], recipients_total: 2, has_read_total: 1, unread_total: 1 });
    expect(f['send_at']).toMatch(ISO);
    expect(data.find((x) => x['id'] === second)).toMatchObject({ has_send: false, send_at: null });
    // Paging: one per page.
    const p2 = await cms().call('GET', '/notify/list', { token: op.token, query: { page: '2', page_size: '1' } });
    expect((p2.body['data'] as unknown[]).length).toBe(1);
    expect(p2.body['totalCount']).toBe(r.body['totalCount']);
  });

  it('delete answers "1004" and removes a sent notification from every inbox; then 404', async () => {
    const op = await operator(t);
    const [a, b] = await members(t, 2);
    const id = await cms().add(op.token, { send_to: [a!.userId, b!.userId] });
    await cms().send(op.token, id);
    await eventually(async () => ((await cms().inbox(b!.token))['totalCount'] as number) === 1, 'b got it');
    const r = await cms().call('DELETE', `/notify/${id}/delete`, { token: op.token });
    expect(r).toMatchObject({ status: 200, body: { error_code: '1004', msg: 'delete success' } });
    for (const u of [a!, b!]) expect(await cms().inbox(u.token)).toMatchObject({ totalCount: 0, unreadCount: 0, data: [] });
    expect(await cms().call('DELETE', `/notify/${id}/delete`, { token: op.token })).toMatchObject({ status: 404, body: { error_code: 40400 } });
    expect(await cms().call('GET', `/notify/${id}/detail`, { token: op.token })).toMatchObject({ status: 404, body: { error_code: 40400 } });
  });

  it('unknown ids are 404 on every operator route; malformed ids too', async () => {
    const op = await operator(t);
    for (const id of ['0123456789abcdef01234567', 'nope', 'x'.repeat(300), '%zz']) {
      for (const [m, p] of [
        ['GET', `/notify/${id}/detail`],
        ['GET', `/notify/${id}/send`],
        ['PUT', `/notify/${id}/update`],
        ['DELETE', `/notify/${id}/delete`],
      ] as const) {
        const r = await cms().call(m, p, { token: op.token, ...(m === 'PUT' ? { body: { title: 'x' } } : {}) });
        expect(r.status, `${m} ${p}`).toBe(404);
        expect([40400, 40402]).toContain(r.body['error_code']);
      }
    }
  });

  it('add refuses unknown recipients, naming them (400, 40001); invalid fields are 400 40000; nothing stored', async () => {
    const op = await operator(t);
    const [a] = await members(t, 1);
    const before = (await cms().ok('GET', '/notify/list', op.token))['totalCount'];
    const r = await cms().call('POST', '/notify/add', { token: op.token, body: { title: 't', body: 'b', send_method: 'web', send_to: [a!.userId, 'ghost-1', 'ghost-2'] } });
    expect(r).toMatchObject({ status: 400, body: { error_code: 40001 } });
    expect(r.body['msg']).toContain('ghost-1');
    expect(r.body['msg']).toContain('ghost-2');
    expect(r.body['msg']).not.toContain(a!.userId);
    const bad: Array<Record<string, unknown>> = [
      { body: 'b', send_method: 'web', send_to: [a!.userId] }, // no title
      { title: '', send_method: 'web', send_to: [a!.userId] },
      { title: 't', send_method: 'pigeon', send_to: [a!.userId] },
      { title: 't', send_method: 'web', send_to: [] },
      { title: 't', send_method: 'web', send_to: 'abc' },
      { title: 't', send_method: 'web', send_to: [a!.userId, 7] },
      { title: 7, send_method: 'web', send_to: [a!.userId] },
      { title: 'x'.repeat(1025), send_method: 'web', send_to: [a!.userId] },
      { title: 't', send_method: 'web', send_to: [a!.userId], use_web_when_miss: 'yes' },
      { title: 't', send_method: 'web', send_to: [a!.userId], translations: { zh: { title: 1 } } },
    ];
    for (const body of bad) {
      const x = await cms().call('POST', '/notify/add', { token: op.token, body });
      expect([x.status, x.body['error_code']], JSON.stringify(body).slice(0, 80)).toEqual([400, 40000]);
    }
    expect(await cms().call('POST', '/notify/add', { token: op.token, rawBody: '{"title":' })).toMatchObject({ status: 400, body: { error_code: 40002 } });
    expect(await cms().call('POST', '/notify/add', { token: op.token, rawBody: '[1,2]' })).toMatchObject({ status: 400, body: { error_code: 40000 } });
    expect(await cms().call('POST', '/notify/add', { token: op.token, rawBody: '' })).toMatchObject({ status: 400, body: { error_code: 40000 } });
    expect((await cms().ok('GET', '/notify/list', op.token))['totalCount']).toBe(before);
  });

  it('"mobile" is accepted for sms; lng and translations are kept; bad paging is 400', async () => {
    const op = await operator(t);
    const [a] = await members(t, 1);
    const id = await cms().add(op.token, { send_method: 'mobile', send_to: [a!.userId], lng: 'en', translations: { zh: { title: '标题', body: '内容' } } });
    expect(await cms().detail(op.token, id)).toMatchObject({ send_method: 'sms', lng: 'en', translations: { zh: { title: '标题', body: '内容' } } });
    for (const q of <Array<Record<string, string>>>[{ page: '0' }, { page: 'x' }, { page_size: '0' }, { page_size: '1001' }, { page: '-1' }]) {
      const r = await cms().call('GET', '/notify/list', { token: op.token, query: q });
      expect([r.status, r.body['error_code']], JSON.stringify(q)).toEqual([400, 40000]);
    }
  });

  it('detail pages large audiences: recipients/has_read/unread one page each, with totals', async () => {
    const op = await operator(t);
    const us = await members(t, 5);
    const id = await cms().add(op.token, { send_to: us.map((u) => u.userId) });
    await cms().send(op.token, id);
    await eventually(async () => ((await cms().inbox(us[4]!.token))['totalCount'] as number) === 1, 'delivered');
    await cms().ok('PUT', `/message/${id}/readOneNotifyMessage`, us[0]!.token);
    const sorted = us.map((u) => u.userId).sort();
    const d = await cms().detail(op.token, id, { page: '2', page_size: '2' });
    expect((d['recipients'] as Array<{ id: string }>).map((r) => r.id)).toEqual(sorted.slice(2, 4));
    expect(d).toMatchObject({ recipients_total: 5, has_read_total: 1, unread_total: 4 });
  });

  it('unknown paths and methods under /v1/cms get the envelope\'s 404', async () => {
    const op = await operator(t);
    for (const [m, p] of [
      ['GET', '/nope'],
      ['POST', '/notify/list'],
      ['DELETE', '/notify/add'],
      ['GET', '/message/deleteAll'],
    ] as const) {
      const r = await cms().call(m, p, { token: op.token });
      expect([r.status, r.body['error_code']], `${m} ${p}`).toEqual([404, 40402]);
    }
  });

  it('bodies are JSON whatever the Content-Type says (or without one)', async () => {
    const op = await operator(t);
    const [a] = await members(t, 1);
    const body = JSON.stringify({ title: 't', send_method: 'web', send_to: [a!.userId] });
    for (const ct of [undefined, 'text/plain', 'application/x-www-form-urlencoded', 'application/json;charset=UTF-8']) {
      const res = await fetch(`${t.url}/v1/cms/notify/add`, {
        method: 'POST',
        headers: { authorization: `Bearer ${op.token}`, ...(ct ? { 'content-type': ct } : {}) },
        body: Buffer.from(body),
      });
      expect([res.status, ((await res.json()) as { error_code: unknown }).error_code], String(ct)).toEqual([200, '1002']);
    }
  });
});
