import { describe, expect, it } from 'vitest';
import { CmsClient, members, operator, refusedUpgrade, type TokenForm } from '../helpers/cms.js';
import { useServer } from '../helpers/use-server.js';

const OPERATOR_ROUTES = [
  ['POST', '/notify/add'],
  ['PUT', '/notify/0123456789abcdef01234567/update'],
  ['DELETE', '/notify/0123456789abcdef01234567/delete'],
  ['GET', '/notify/list'],
  ['GET', '/notify/0123456789abcdef01234567/detail'],
  ['GET', '/notify/0123456789abcdef01234567/send'],
  ['POST', '/notify/0123456789abcdef01234567/send'],
] as const;
const USER_ROUTES = [
  ['GET', '/message/list'],
  ['PUT', '/message/0123456789abcdef01234567/readOneNotifyMessage'],
  ['PUT', '/message/readAllNotifyMessage'],
  ['DELETE', '/message/0123456789abcdef01234567/deleteOne'],
  ['DELETE', '/message/deleteAll'],
] as const;

describe('notification centre: tokens', () => {
  const t = useServer();
  const cms = (): CmsClient => new CmsClient(t.url);

  it('every route answers 401 without a token (40100) and with a bad one (40101)', async () => {
    for (const [m, p] of [...OPERATOR_ROUTES, ...USER_ROUTES]) {
      const body = m === 'GET' ? {} : { body: { title: 'x' } };
      const none = await cms().call(m, p, body);
      expect([none.status, none.body['error_code']], `${m} ${p}`).toEqual([401, 40100]);
      for (const token of ['not-a-token', 'x'.repeat(5000)]) {
        const bad = await cms().call(m, p, { token, ...body });
        expect([bad.status, bad.body['error_code']], `${m} ${p}`).toEqual([401, 40101]);
      }
    }
  });

  it("a user token on an operator route is 403 (40300), whatever the body; nothing is created", async () => {
    const [u] = await members(t, 1);
    for (const [m, p] of OPERATOR_ROUTES) {
      const r = await cms().call(m, p, { token: u!.token, ...(m === 'GET' ? {} : { body: { title: 'x', send_method: 'web', send_to: [u!.userId] } }) });
      expect([r.status, r.body['error_code']], `${m} ${p}`).toEqual([403, 40300]);
    }
  });

  it('the token is accepted as Bearer, bare Authorization, a token header or ?auth_token=', async () => {
    const op = await operator(t);
    for (const form of ['bearer', 'bare', 'header', 'query'] as TokenForm[]) {
      const r = await cms().call('GET', '/notify/list', { token: op.token, form });
      expect([r.status, r.body['error_code']], form).toEqual([200, 10000]);
      const u = await cms().call('GET', '/message/list', { token: op.token, form });
      expect([u.status, u.body['error_code']], form).toEqual([200, 1000]);
    }
  });

  it('a revoked token (kickoff) and a destroyed user are refused; a blocked user too', async () => {
    const [a, b, c] = await members(t, 3);
    expect((await cms().call('GET', '/message/list', { token: a!.token })).status).toBe(200);
    await t.admin.ok('/user/kickoff_client', { userId: a!.userId });
    expect(await cms().call('GET', '/message/list', { token: a!.token })).toMatchObject({ status: 401, body: { error_code: 40101 } });
    await t.admin.ok('/user/destroy', { userId: b!.userId });
    expect((await cms().call('GET', '/message/list', { token: b!.token })).status).toBe(401);
    await t.admin.ok('/user/update_block_status', { userId: c!.userId, status: 2 });
    expect((await cms().call('GET', '/message/list', { token: c!.token })).status).toBe(401);
  });

  it('a user made operator can manage notifications; made user again, cannot', async () => {
    const [u] = await members(t, 1);
    await t.admin.ok('/user/set_role', { userId: u!.userId, role: 'operator' });
    expect((await cms().call('GET', '/notify/list', { token: u!.token })).status).toBe(200);
    await t.admin.ok('/user/set_role', { userId: u!.userId, role: 'user' });
    expect((await cms().call('GET', '/notify/list', { token: u!.token })).status).toBe(403);
  });

  it('the live inbox refuses an upgrade without a token or with a bad one (401)', async () => {
    expect(await refusedUpgrade(t.url, undefined)).toBe(401);
    expect(await refusedUpgrade(t.url, 'bad-token')).toBe(401);
  });
});
