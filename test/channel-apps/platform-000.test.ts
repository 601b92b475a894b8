import { describe, expect, it } from 'vitest';
import { channelMessage, channelSetup, freshId, message000, platform, PLATFORM_KEY, useFakeServer } from '../helpers/channel-apps.js';
import { startTestServer } from '../helpers/server.js';
import { useServer } from '../helpers/use-server.js';

/** Seed 000 inbound (docs/channel-gateway.md, "Seed 000"): messages, idempotency, isReceive, parents, caches, contacts, auth. */
describe('seed 000 inbound (platform)', () => {
  const info = useFakeServer((req, res) => {
    if (req.url === '/contact/big') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name: 'x'.repeat(100_000) }));
    } else if (req.url === '/contact/slow') {
      // Never answers: the refresh's deadline ends it.
    } else if (req.url === '/contact/broken') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('not json');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ channelAppContactIdentity: { name: 'Renamed', avatarUrl: 'http://cdn.example/new.png', screenName: 'renamed', vip: true } }));
    }
  });
  const t = useServer({ channelGateway: { platformKey: PLATFORM_KEY, contactInfoAllowPrivate: true, contactInfoTimeoutMs: 300, contactInfoMaxBytes: 4096 } });

  it("posts a message with every field kept; the agent's device receives it; the answer is {guid}", async () => {
    const s = await channelSetup(t, '000');
    const phone = await t.device(s.agents[0]!);
    const body = message000(s.accountId, 'ann@example.com', {
      siteId: 7,
      message: {
        channelId: 'email',
        originalMessageId: freshId('<mid'),
        originalConversationId: freshId('thread'),
        originalUrl: 'https://mail.example/m/1',
        subject: 'Order 42',
        cc: 'boss@example.com',
        contents: [
          { id: 'h1', type: 'HtmlText', htmlText: '<p>Hello <b>there</b></p>' },
          { id: 'f1', type: 'File', name: 'invoice.pdf', url: 'https://mail.example/a/1', mime: 'application/pdf' },
        ],
        importance: 'high',
      },
    });
    const r = await platform(t, 'POST', '/conversations/messages', body);
    expect(r.status).toBe(200);
    expect(Object.keys(r.body)).toEqual(['guid']);
    const guid = r.body['guid'] as string;
    const meta = await channelMessage(t.admin, guid);
    expect(meta).toMatchObject({
      guid,
      direction: 'in',
      isReceive: true,
      channelId: 'email',
      subject: 'Order 42',
      cc: 'boss@example.com',
      originalUrl: 'https://mail.example/m/1',
      createTime: Date.parse('2026-12-02T09:00:00Z'),
      contents: [
        { id: 'h1', type: 'htmlText', htmlText: '<p>Hello <b>there</b></p>' },
        { id: 'f1', type: 'file', name: 'invoice.pdf', url: 'https://mail.example/a/1', mime: 'application/pdf' },
      ],
      raw: { siteId: 7, importance: 'high' },
      delivery: 'none',
    });
    const frame = await phone.waitMessage(meta.uid);
    expect(frame['message']).toMatchObject({ sender: meta.contactId, conv: { type: 1, target: meta.conversationId, line: 0 } });
    expect(frame['message'].payload).toMatchObject({ type: 1, searchableContent: 'Hello there', content: '<p>Hello <b>there</b></p>', persistFlag: 3 });
    expect(JSON.parse(frame['message'].payload.extra as string)).toMatchObject({ channel: { guid, subject: 'Order 42', cc: 'boss@example.com' } });
    // The admin API shows it as any message.
    expect(await t.admin.ok('/message/get_one', { messageUid: meta.uid })).toMatchObject({ sender: meta.contactId });
    // The contact was created with its IM user.
    expect(await t.admin.ok('/channel_contact/get', { contactId: meta.contactId })).toMatchObject({ account: 'ann@example.com', name: 'Name of ann@example.com' });
  });

  it('is idempotent on (channelAccountId, originalMessageId): a retry answers the same guid and stores nothing twice', async () => {
    const s = await channelSetup(t, '000');
    const phone = await t.device(s.agents[0]!);
    const body = message000(s.accountId, 'bob@example.com');
    const first = await platform(t, 'POST', '/conversations/messages', body);
    const again = await platform(t, 'POST', '/conversations/messages', body);
    expect(again).toEqual(first);
    const next = await platform(t, 'POST', '/conversations/messages', message000(s.accountId, 'bob@example.com', { message: { contents: [{ type: 'text', text: 'second' }] } }));
    const second = await channelMessage(t.admin, next.body['guid'] as string);
    await phone.waitMessage(second.uid);
    const firstMeta = await channelMessage(t.admin, first.body['guid'] as string);
    // Exactly the two messages, in order: the retry added none.
    expect(phone.messageUids()).toEqual([firstMeta.uid, second.uid]);
    // `account` is accepted for the contact's id too, and the content types in either case.
    const viaAccount = await platform(t, 'POST', '/conversations/messages', {
      ...message000(s.accountId, 'x'),
      channelAppContactIdentity: { channelaccount: '', account: 'bob@example.com' },
      message: { channelId: 'email', contents: [{ type: 'TEXT', text: 'upper' }] },
    });
    expect((await channelMessage(t.admin, viaAccount.body['guid'] as string)).contactId).toBe(firstMeta.contactId);
  });

  it('concurrent posts of a new contact open one conversation; concurrent retries store one message; a retry after a restart answers the same guid', async () => {
    const s = await channelSetup(t, '000');
    const contact = freshId('kim');
    const posts = await Promise.all(Array.from({ length: 6 }, () => platform(t, 'POST', '/conversations/messages', message000(s.accountId, contact))));
    expect(posts.map((p) => p.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const metas = await Promise.all(posts.map((p) => channelMessage(t.admin, p.body['guid'] as string)));
    expect(new Set(metas.map((m) => m.conversationId)).size).toBe(1);
    expect(new Set(metas.map((m) => m.uid)).size).toBe(6);
    const same = message000(s.accountId, contact);
    const retries = await Promise.all(Array.from({ length: 5 }, () => platform(t, 'POST', '/conversations/messages', same)));
    expect(new Set(retries.map((r) => JSON.stringify(r))).size).toBe(1);
    const uid = (await channelMessage(t.admin, retries[0]!.body['guid'] as string)).uid;
    await t.restart();
    const after = await platform(t, 'POST', '/conversations/messages', same);
    expect(after).toEqual(retries[0]);
    expect((await channelMessage(t.admin, after.body['guid'] as string)).uid).toBe(uid);
  });

  it("an account's agents changed through the admin API join (or leave) its conversations with the next message", async () => {
    const s = await channelSetup(t, '000', 2);
    const [a1, a2] = s.agents as [string, string];
    const [a3] = await t.users('agent');
    const contact = freshId('lou');
    const first = await channelMessage(t.admin, (await platform(t, 'POST', '/conversations/messages', message000(s.accountId, contact))).body['guid'] as string);
    const members = async () => (await t.admin.ok<{ members: Array<{ member_id: string }> }>('/group/member/list', { groupId: first.conversationId })).members.map((m) => m.member_id);
    expect(await members()).toEqual(expect.arrayContaining([a1, a2, first.contactId]));
    await t.admin.ok('/channel_account/update', { channelAccountId: s.accountId, agents: [a2, a3] });
    const phone3 = await t.device(a3!);
    const next = await channelMessage(t.admin, (await platform(t, 'POST', '/conversations/messages', message000(s.accountId, contact))).body['guid'] as string);
    expect(next.conversationId).toBe(first.conversationId);
    await phone3.waitMessage(next.uid);
    const now = await members();
    expect(now).toEqual(expect.arrayContaining([a2, a3, first.contactId]));
    expect(now).not.toContain(a1);
  });

  it('isReceive false: stored as the account\'s outgoing message (sent by the account\'s user), announced, never sent out', async () => {
    const s = await channelSetup(t, '000');
    const phone = await t.device(s.agents[0]!);
    const r = await platform(t, 'POST', '/conversations/messages', message000(s.accountId, 'carl@example.com', { isReceive: false }));
    const meta = await channelMessage(t.admin, r.body['guid'] as string);
    expect(meta).toMatchObject({ direction: 'out', isReceive: false, delivery: 'none' });
    const frame = await phone.waitMessage(meta.uid);
    expect(frame['message'].sender).toMatch(/^ca_[0-9a-f]{32}$/);
    expect(frame['message'].sender).not.toBe(meta.contactId);
  });

  it('1200002 while the parent is unknown (nothing stored); accepted once the parent was posted', async () => {
    const s = await channelSetup(t, '000');
    const parentId = freshId('parent');
    const child = message000(s.accountId, 'dan@example.com', { message: { originalParentId: parentId } });
    const refused = await platform(t, 'POST', '/conversations/messages', child);
    expect(refused.status).toBe(500);
    expect(refused.body).toMatchObject({ Code: 1200002 });
    expect(await t.admin.code('/channel_contact/get', { channelAccountId: s.accountId, account: 'dan@example.com' })).toBe(253);
    expect((await platform(t, 'POST', '/conversations/messages', message000(s.accountId, 'dan@example.com', { message: { originalMessageId: parentId } }))).status).toBe(200);
    const ok = await platform(t, 'POST', '/conversations/messages', child);
    expect(ok.status).toBe(200);
    expect(await channelMessage(t.admin, ok.body['guid'] as string)).toMatchObject({ originalParentId: parentId });
  });

  it('refuses bad input with {Code, Message} and 4xx: unknown account, bad content type, missing contact or channelId, bad JSON, oversized fields', async () => {
    const s = await channelSetup(t, '000');
    const expect400 = async (body: unknown, status = 400): Promise<void> => {
      const r = await platform(t, 'POST', '/conversations/messages', body);
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body).toMatchObject({ Code: 1200001 });
      expect(typeof r.body['Message']).toBe('string');
    };
    await expect400(message000('no-such-account', 'e'), 404);
    await expect400(message000(s.accountId, 'e', { message: { contents: [{ type: 'hologram' }] } }));
    await expect400({ ...message000(s.accountId, 'e'), channelAppContactIdentity: { name: 'no id' } });
    await expect400({ ...message000(s.accountId, 'e'), message: { contents: [] } });
    await expect400(message000(s.accountId, 'e', { createTime: 'not a time' }));
    await expect400(message000(s.accountId, 'e', { message: { subject: 's'.repeat(10_000) } }));
    await expect400(message000(s.accountId, 'e', { message: { contents: Array.from({ length: 65 }, () => ({ type: 'text', text: 'x' })) } }));
    const raw = await platform(t, 'POST', '/conversations/messages', undefined);
    expect(raw.status).toBe(400);
    await t.admin.ok('/channel_account/update', { channelAccountId: s.accountId, enabled: false });
    await expect400(message000(s.accountId, 'e'), 403);
    expect(await t.admin.code('/channel_contact/get', { channelAccountId: s.accountId, account: 'e' })).toBe(253);
  });

  it('PUT caches drops the named item on every node: a changed agent pool is used from then on; an unknown item is refused', async () => {
    const s = await channelSetup(t, '000');
    const [agent2] = await t.users('agent');
    const phone2 = await t.device(agent2!);
    const contact = 'erin@example.com';
    const first = await platform(t, 'POST', '/conversations/messages', message000(s.accountId, contact));
    const conv = (await channelMessage(t.admin, first.body['guid'] as string)).conversationId;
    // The App Centre changed the account behind the platform's back (straight in the store): the cached copy is stale.
    const acc = await t.server.hub.store.channelApps.getConfig('channelAccount', s.accountId);
    await t.server.hub.store.channelApps.patchConfig('channelAccount', s.accountId, { agents: [...acc!.agents, agent2!] });
    const stale = await platform(t, 'POST', '/conversations/messages', message000(s.accountId, contact));
    expect(stale.status).toBe(200);
    expect((await t.admin.ok<{ members: Array<{ member_id: string }> }>('/group/member/list', { groupId: conv })).members.map((m) => m.member_id)).not.toContain(agent2);
    expect(await platform(t, 'PUT', '/caches', { cacheItem: 'channelAccount', actionType: 'updated' })).toEqual({ status: 200, body: {} });
    const fresh = await platform(t, 'POST', '/conversations/messages', message000(s.accountId, contact));
    await phone2.waitMessage((await channelMessage(t.admin, fresh.body['guid'] as string)).uid);
    for (const item of ['channel', 'version', 'app', 'versionChannel']) expect((await platform(t, 'PUT', '/caches', { cacheItem: item, actionType: 'updated' })).status).toBe(200);
    const bad = await platform(t, 'PUT', '/caches', { cacheItem: 'everything', actionType: 'updated' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ Code: 1200001 });
    expect((await platform(t, 'PUT', '/caches', {})).status).toBe(400);
  });

  it('POST contact/{id} refreshes the contact from its info URL (and its IM user); bounded size and time; unknown ids refused', async () => {
    const s = await channelSetup(t, '000');
    const post = async (path: string) => {
      const account = freshId('fay');
      const r = await platform(t, 'POST', '/conversations/messages', {
        ...message000(s.accountId, account),
        channelAppContactIdentity: { channelaccount: account, name: 'Fay', originalContactInfoUrl: `${info.url}${path}` },
      });
      return (await channelMessage(t.admin, r.body['guid'] as string)).contactId;
    };
    const id = await post('/contact/1');
    const hits = info.hits;
    expect(await platform(t, 'POST', `/contact/${id}`, undefined)).toEqual({ status: 200, body: {} });
    expect(info.hits).toBe(hits + 1);
    expect(await t.admin.ok('/channel_contact/get', { contactId: id })).toMatchObject({ name: 'Renamed', avatarUrl: 'http://cdn.example/new.png', screenName: 'renamed', attributes: { vip: true } });
    expect(await t.admin.ok('/user/get_info', { userId: id })).toMatchObject({ displayName: 'Renamed', portrait: 'http://cdn.example/new.png' });
    const big = await platform(t, 'POST', `/contact/${await post('/contact/big')}`, undefined);
    expect(big.status).toBe(400);
    const slow = await platform(t, 'POST', `/contact/${await post('/contact/slow')}`, undefined);
    expect(slow.status).toBe(504);
    expect((await platform(t, 'POST', `/contact/${await post('/contact/broken')}`, undefined)).status).toBe(400);
    expect((await platform(t, 'POST', '/contact/cu_nobody', undefined)).status).toBe(404);
    // A contact without an info URL: only announced.
    const plain = (await channelMessage(t.admin, (await platform(t, 'POST', '/conversations/messages', message000(s.accountId, freshId('gus')))).body['guid'] as string)).contactId;
    expect((await platform(t, 'POST', `/contact/${plain}`, undefined)).status).toBe(200);
  });

  it('the platform key is required (Bearer); a refused call has no side effect; unknown paths are 404', async () => {
    const s = await channelSetup(t, '000');
    const body = message000(s.accountId, 'hal@example.com');
    for (const key of [null, 'wrong', `${PLATFORM_KEY}x`]) {
      const r = await platform(t, 'POST', '/conversations/messages', body, { key });
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ Code: 401 });
    }
    expect((await platform(t, 'PUT', '/caches', { cacheItem: 'app' }, { key: null })).status).toBe(401);
    expect(await t.admin.code('/channel_contact/get', { channelAccountId: s.accountId, account: 'hal@example.com' })).toBe(253);
    expect((await platform(t, 'POST', '/nothing/here', {})).status).toBe(404);
  });
});

describe('seed 000 without a key, and with an address allow-list', () => {
  it('is off without SWITCHBOARD_PLATFORM_KEY (404), and refuses addresses outside the allow-list (403) before anything', async () => {
    const off = await startTestServer({});
    try {
      expect((await platform(off, 'POST', '/conversations/messages', {})).status).toBe(404);
    } finally {
      await off.close();
    }
    const fenced = await startTestServer({ channelGateway: { platformKey: PLATFORM_KEY, platformAllowIps: ['10.0.0.0/8', '192.168.1.7'] } });
    try {
      const r = await platform(fenced, 'POST', '/conversations/messages', {});
      expect(r).toEqual({ status: 403, body: { Code: 403, Message: 'address not allowed' } });
    } finally {
      await fenced.close();
    }
    const open = await startTestServer({ channelGateway: { platformKey: PLATFORM_KEY, platformAllowIps: ['127.0.0.0/8', '::1'] } });
    try {
      const s = await channelSetup(open, '000');
      expect((await platform(open, 'POST', '/conversations/messages', message000(s.accountId, 'ivy'))).status).toBe(200);
      // Private info URLs are refused without contactInfoAllowPrivate.
      const r = await platform(open, 'POST', '/conversations/messages', {
        ...message000(s.accountId, 'jo'),
        channelAppContactIdentity: { channelaccount: 'jo', originalContactInfoUrl: 'http://127.0.0.1:9/contact' },
      });
      const id = (await channelMessage(open.admin, r.body['guid'] as string)).contactId;
      const refused = await platform(open, 'POST', `/contact/${id}`, undefined);
      expect(refused.status).toBe(400);
      expect(String(refused.body['Message'])).toMatch(/private/);
    } finally {
      await open.close();
    }
  });
});
