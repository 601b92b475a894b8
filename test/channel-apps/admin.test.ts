import { describe, expect, it } from 'vitest';
import { useServer } from '../helpers/use-server.js';

/** The channel gateway's signed admin management routes (docs/admin-api.md, "Channel gateway"). */
describe('channel gateway management (admin API)', () => {
  const t = useServer();
  let n = 0;
  const fresh = (p: string): string => `${p}-${++n}-${Date.now().toString(36)}`;

  it('the minimal contract: channel_app/create and channel_account/create, exactly as scripts call them', async () => {
    const [agent] = await t.users('agent');
    const appId = fresh('app');
    const app = await t.admin.ok<Record<string, unknown>>('/channel_app/create', { appId, secret: 'sek', protocol: '002', baseUrl: 'http://127.0.0.1:9/qmt' });
    expect(app).toMatchObject({ appId, secret: 'sek', protocol: '002', baseUrl: 'http://127.0.0.1:9/qmt', outboundToken: '', status: 0 });
    const accountId = fresh('acc');
    const acc = await t.admin.ok<Record<string, unknown>>('/channel_account/create', { channelAccountId: accountId, channelId: 'wechat', appId, agents: [agent] });
    expect(acc).toMatchObject({ channelAccountId: accountId, channelId: 'wechat', appId, agents: [agent], enabled: true });
    // Running the script again replaces (same createDt).
    const again = await t.admin.ok<Record<string, unknown>>('/channel_app/create', { appId, secret: 'sek2', protocol: '002', baseUrl: 'http://127.0.0.1:9/qmt', outboundToken: 'tok' });
    expect(again).toMatchObject({ secret: 'sek2', outboundToken: 'tok', createDt: app['createDt'] });
    expect(await t.admin.ok('/channel_app/get', { appId })).toEqual(again);
    expect((await t.admin.ok<{ list: unknown[] }>('/channel_account/list', { appId })).list).toEqual([acc]);
  });

  it('create, update, get, list and delete of every record kind; references checked; a parent with children cannot go', async () => {
    const [a1, a2] = await t.users('a1', 'a2');
    const appId = fresh('app');
    await t.admin.ok('/channel_app/create', { appId, secret: 's', protocol: '000', baseUrl: 'https://apps.example/hook', attributes: { isSystem: false } });
    expect(await t.admin.ok('/channel_app/update', { appId, status: 1 })).toMatchObject({ status: 1, protocol: '000', attributes: { isSystem: false } });
    const versionId = fresh('v');
    await t.admin.ok('/channel_app_version/create', { versionId, appId, number: '1.0', name: 'first', messageWebhookUrl: 'https://apps.example/v1' });
    await t.admin.ok('/channel_app_version_channel/create', { versionId, channelId: 'email' });
    expect(await t.admin.ok('/channel_app_version_channel/get', { versionId, channelId: 'email' })).toMatchObject({ versionId, channelId: 'email' });
    expect((await t.admin.ok<{ list: unknown[] }>('/channel_app_version_channel/list', { versionId })).list).toHaveLength(1);
    await t.admin.ok('/channel_app_channel/create', { channelId: fresh('email'), name: 'E-mail', appId, attributes: { ifDisplaySubject: true } });
    const accountId = fresh('acc');
    await t.admin.ok('/channel_account/create', { channelAccountId: accountId, channelId: 'email', appId, accountName: 'Support', agents: [a1] });
    expect(await t.admin.ok('/channel_account/update', { channelAccountId: accountId, agents: [a1, a2], enabled: false })).toMatchObject({
      agents: [a1, a2],
      enabled: false,
      accountName: 'Support',
    });
    expect(await t.admin.ok('/channel_app_version/update', { versionId, name: 'renamed' })).toMatchObject({ name: 'renamed', number: '1.0' });
    // Unknown references and ids.
    expect(await t.admin.code('/channel_account/create', { channelAccountId: fresh('x'), channelId: 'c', appId: 'no-such-app', agents: [] })).toBe(253);
    expect(await t.admin.code('/channel_account/create', { channelAccountId: fresh('x'), channelId: 'c', appId, agents: ['no-such-user'] })).toBe(253);
    expect(await t.admin.code('/channel_app_version_channel/create', { versionId: 'no-such-version', channelId: 'c' })).toBe(253);
    expect(await t.admin.code('/channel_app/get', { appId: 'no-such-app' })).toBe(253);
    expect(await t.admin.code('/channel_app/update', { appId: 'no-such-app', status: 0 })).toBe(253);
    expect(await t.admin.code('/channel_app/delete', { appId: 'no-such-app' })).toBe(253);
    // Children first.
    expect(await t.admin.code('/channel_app/delete', { appId })).toBe(248);
    expect(await t.admin.code('/channel_app_version/delete', { versionId })).toBe(248);
    expect(await t.admin.ok('/channel_app_version_channel/delete', { versionId, channelId: 'email' })).toEqual({ deleted: true });
    expect(await t.admin.ok('/channel_app_version/delete', { versionId })).toEqual({ deleted: true });
    expect(await t.admin.ok('/channel_account/delete', { channelAccountId: accountId })).toEqual({ deleted: true });
    const channels = (await t.admin.ok<{ list: Array<{ channelId: string; appId: string }> }>('/channel_app_channel/list', {})).list.filter((c) => c.appId === appId);
    for (const c of channels) await t.admin.ok('/channel_app_channel/delete', { channelId: c.channelId });
    expect(await t.admin.ok('/channel_app/delete', { appId })).toEqual({ deleted: true });
    expect(await t.admin.code('/channel_app/get', { appId })).toBe(253);
  });

  it('refuses malformed input with 251: bad protocol, non-http URL, missing and oversized fields', async () => {
    const appId = fresh('app');
    expect(await t.admin.code('/channel_app/create', { appId, secret: 's', protocol: '001', baseUrl: 'http://x' })).toBe(251);
    expect(await t.admin.code('/channel_app/create', { appId, secret: 's', protocol: '002', baseUrl: 'ftp://x/y' })).toBe(251);
    expect(await t.admin.code('/channel_app/create', { appId, secret: 's', protocol: '002', baseUrl: 'not a url' })).toBe(251);
    expect(await t.admin.code('/channel_app/create', { appId, protocol: '002', baseUrl: 'http://x' })).toBe(251);
    expect(await t.admin.code('/channel_app/create', { appId: 'x'.repeat(129), secret: 's', protocol: '002', baseUrl: 'http://x' })).toBe(251);
    expect(await t.admin.code('/channel_app/create', { appId, secret: 's', protocol: '002', baseUrl: 'http://x', attributes: { big: 'y'.repeat(70_000) } })).toBe(251);
    expect(await t.admin.code('/channel_account/create', { channelAccountId: fresh('a'), channelId: 'c', appId, agents: 'alice' })).toBe(251);
    expect(await t.admin.code('/channel_app/get', {})).toBe(251);
  });

  it('contacts: create (with an IM user), get by id or account, update, list pages, delete', async () => {
    const appId = fresh('app');
    await t.admin.ok('/channel_app/create', { appId, secret: 's', protocol: '002', baseUrl: 'http://127.0.0.1:9/x' });
    const accountId = fresh('acc');
    await t.admin.ok('/channel_account/create', { channelAccountId: accountId, channelId: 'wechat', appId, agents: [] });
    const c = await t.admin.ok<{ contactId: string }>('/channel_contact/create', { channelAccountId: accountId, account: 'wx-1', name: 'Ann', avatarUrl: 'http://a/1.png' });
    expect(c.contactId).toMatch(/^cu_[0-9a-f]{32}$/);
    const user = await t.admin.ok<{ displayName: string; portrait: string }>('/user/get_info', { userId: c.contactId });
    expect(user).toMatchObject({ displayName: 'Ann', portrait: 'http://a/1.png' });
    expect(await t.admin.ok('/channel_contact/get', { channelAccountId: accountId, account: 'wx-1' })).toMatchObject({ contactId: c.contactId, name: 'Ann' });
    expect(await t.admin.ok('/channel_contact/update', { contactId: c.contactId, screenName: 'annie', avatarUrl: '' })).toMatchObject({ screenName: 'annie', avatarUrl: '' });
    await t.admin.ok('/channel_contact/create', { channelAccountId: accountId, account: 'wx-2' });
    const page1 = await t.admin.ok<{ list: Array<{ contactId: string }> }>('/channel_contact/list', { channelAccountId: accountId, limit: 1 });
    expect(page1.list).toHaveLength(1);
    const page2 = await t.admin.ok<{ list: Array<{ contactId: string }> }>('/channel_contact/list', { channelAccountId: accountId, after: page1.list[0]!.contactId });
    expect(page2.list).toHaveLength(1);
    expect(await t.admin.code('/channel_contact/create', { channelAccountId: 'no-such-account', account: 'x' })).toBe(253);
    expect(await t.admin.code('/channel_contact/get', { contactId: 'cu_nope' })).toBe(253);
    expect(await t.admin.code('/channel_contact/get', {})).toBe(251);
    expect(await t.admin.code('/channel_contact/list', { channelAccountId: accountId, limit: 0 })).toBe(251);
    expect(await t.admin.ok('/channel_contact/delete', { contactId: c.contactId })).toEqual({ deleted: true });
    expect(await t.admin.code('/channel_contact/delete', { contactId: c.contactId })).toBe(253);
    expect(await t.admin.code('/channel_message/get', { guid: 'nope' })).toBe(253);
    expect(await t.admin.code('/channel_message/get', {})).toBe(251);
  });
});
