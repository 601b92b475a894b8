import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelConversation, ChannelMessage } from '../../src/core/channel-apps/model.js';
import { NO_CHANNEL_HOOKS } from '../../src/core/ports/channel-hooks.js';
import { channelSetup, freshId, sign002, staffPost } from '../helpers/channel-apps.js';
import { useServer } from '../helpers/use-server.js';

/** Seed 002 inbound (docs/channel-gateway.md, "Seed 002"): signature, codes in order, MsgTypes, leavemessage, demand. */
describe('seed 002 inbound (staffService)', () => {
  const t = useServer();
  afterEach(() => t.server.hub.channelApps.useHooks(NO_CHANNEL_HOOKS));

  /** Records the hooks' calls. */
  function recordHooks(): { inbound: ChannelMessage[]; human: Array<{ conv: ChannelConversation; message: ChannelMessage }> } {
    const rec = { inbound: [] as ChannelMessage[], human: [] as Array<{ conv: ChannelConversation; message: ChannelMessage }> };
    t.server.hub.channelApps.useHooks({
      onInbound: async (_c, m) => {
        rec.inbound.push(m);
      },
      onHumanRequested: async (conv, message) => {
        rec.human.push({ conv, message });
      },
    });
    return rec;
  }

  it("a customer's message, signed with a ms and then a s timestamp, reaches the agent's device as a message of the conversation's group", async () => {
    const s = await channelSetup(t, '002');
    const phone = await t.device(s.agents[0]!);
    const user = freshId('wx');
    const hooks = recordHooks();
    const r1 = await staffPost(t, s.appId, s.secret, { FromUserId: user, FromUserName: 'Ann', MsgType: 'text', Content: 'Hello World!' });
    expect(r1).toEqual({ status: 200, body: { errcode: 0, errmsg: 'ok' } });
    const f1 = await phone.waitFor((f) => f.type === 'message' && f['message'].payload.searchableContent === 'Hello World!');
    const m1 = f1['message'] as { sender: string; conv: { type: number; target: string; line: number }; messageId: number; payload: { extra: string } };
    expect(m1.sender).toMatch(/^cu_[0-9a-f]{32}$/);
    expect(m1.conv).toMatchObject({ type: 1, line: 0 });
    expect(m1.conv.target).toMatch(/^cc_[0-9a-f]{32}$/);
    expect(JSON.parse(m1.payload.extra)).toMatchObject({ channel: { direction: 'in', channelAccountId: s.accountId, contents: [{ type: 'text', text: 'Hello World!' }] } });
    expect(await t.admin.ok('/user/get_info', { userId: m1.sender })).toMatchObject({ displayName: 'Ann' });
    expect(hooks.inbound).toHaveLength(1);

    const secs = String(Math.floor(Date.now() / 1000));
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: user, MsgType: 'text', Content: 'in seconds' }, { timestamp: secs })).body.errcode).toBe(0);
    const f2 = await phone.waitFor((f) => f.type === 'message' && f['message'].payload.searchableContent === 'in seconds');
    // Same contact, same conversation.
    expect(f2['message']).toMatchObject({ sender: m1.sender, conv: m1.conv });
    // The agent answers in it like in any group: from the device, and through the admin API.
    phone.send({ type: 'send', id: 'r1', conv: m1.conv, payload: { type: 1, searchableContent: 'hello Ann', persistFlag: 3 } });
    const ack = await phone.waitFor((f) => f['id'] === 'r1');
    expect(ack['code'] ?? 0, JSON.stringify(ack)).toBe(0);
    const reply = await t.admin.send(s.agents[0]!, m1.conv, { type: 1, searchableContent: 'hi Ann', persistFlag: 3 });
    expect(reply.messageUid).toBeGreaterThan(0);
  });

  it('the same signature may be used again (it does not cover the body): both messages are stored', async () => {
    const s = await channelSetup(t, '002');
    const phone = await t.device(s.agents[0]!);
    const ts = String(Date.now());
    const user = freshId('wx');
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: user, MsgType: 'text', Content: 'one' }, { timestamp: ts })).body.errcode).toBe(0);
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: user, MsgType: 'text', Content: 'two' }, { timestamp: ts })).body.errcode).toBe(0);
    await phone.waitFor((f) => f.type === 'message' && f['message'].payload.searchableContent === 'two');
    expect(phone.frames.filter((f) => f.type === 'message').map((f) => f['message'].payload.searchableContent)).toEqual(['one', 'two']);
  });

  it('checks in order: 30001 → 30005 → 30002 → 30003 → 30006 → 30009 → 30007 → 30008, always HTTP 200, nothing stored', async () => {
    const s = await channelSetup(t, '002');
    const user = freshId('wx');
    const good = { FromUserId: user, MsgType: 'text', Content: 'x' };
    const ts = String(Date.now());
    const code = async (appId: string, body: unknown, opts: Parameters<typeof staffPost>[4] = {}): Promise<number> => {
      const r = await staffPost(t, appId, s.secret, body, opts);
      expect(r.status).toBe(200);
      return r.body.errcode;
    };
    // 30001: signature or timestamp missing, whatever else is wrong.
    expect(await code('no-such-app', undefined, { query: '', rawBody: '{not json' })).toBe(30001);
    expect(await code(s.appId, good, { query: `timestamp=${ts}` })).toBe(30001);
    expect(await code(s.appId, good, { query: `signature=${sign002(s.appId, s.secret, ts)}` })).toBe(30001);
    expect(await code(s.appId, good, { query: `timestamp=&signature=abc` })).toBe(30001);
    // 30005: the body is not JSON (or not an object), before the appid is looked at.
    expect(await code('no-such-app', undefined, { query: `timestamp=${ts}&signature=x`, rawBody: '{not json' })).toBe(30005);
    expect(await code(s.appId, undefined, { rawBody: '[1,2]' })).toBe(30005);
    expect(await code(s.appId, undefined, { rawBody: '' })).toBe(30005);
    // 30002: unknown appid, before the signature is checked.
    expect(await code('no-such-app', good, { query: `timestamp=${ts}&signature=x` })).toBe(30002);
    // 30003: signature mismatch (exact lowercase hex), before the freshness check.
    expect(await code(s.appId, good, { query: `timestamp=${ts}&signature=${sign002(s.appId, 'wrong', ts)}` })).toBe(30003);
    expect(await code(s.appId, good, { query: `timestamp=${ts}&signature=${sign002(s.appId, s.secret, ts).toUpperCase()}` })).toBe(30003);
    const stale = String(Date.now() - 3 * 86_400_000);
    expect(await code(s.appId, good, { query: `timestamp=${stale}&signature=${sign002(s.appId, 'wrong', stale)}` })).toBe(30003);
    // 30006: a correct signature over a stale or non-numeric timestamp.
    expect(await code(s.appId, good, { timestamp: stale })).toBe(30006);
    expect(await code(s.appId, good, { timestamp: String(Math.floor(Date.now() / 1000) + 3 * 86_400) })).toBe(30006);
    expect(await code(s.appId, good, { timestamp: 'yesterday' })).toBe(30006);
    // 30007: the body's fields.
    expect(await code(s.appId, { MsgType: 'text', Content: 'x' })).toBe(30007);
    expect(await code(s.appId, { FromUserId: user, Content: 'x' })).toBe(30007);
    expect(await code(s.appId, { FromUserId: user, MsgType: 'text' })).toBe(30007);
    expect(await code(s.appId, { FromUserId: { id: 1 }, MsgType: 'text', Content: 'x' })).toBe(30007);
    expect(await code(s.appId, { FromUserId: 'u'.repeat(1025), MsgType: 'text', Content: 'x' })).toBe(30007);
    // 30008: an accname the app does not have.
    expect(await code(s.appId, { ...good, accname: 'no-such-account' })).toBe(30008);
    // Nothing was stored for any of them.
    expect(await t.admin.code('/channel_contact/get', { channelAccountId: s.accountId, account: user })).toBe(253);
    // 30009: the app disabled (after the signature: others learn nothing).
    await t.admin.ok('/channel_app/update', { appId: s.appId, status: 1 });
    expect(await code(s.appId, good)).toBe(30009);
    await t.admin.ok('/channel_app/update', { appId: s.appId, status: 0 });
    expect(await code(s.appId, good)).toBe(0);
    // An app of the other protocol is not a 002 app.
    const other = await channelSetup(t, '000');
    expect((await staffPost(t, other.appId, other.secret, good)).body.errcode).toBe(30002);
  });

  it('30004 for an internal failure; unknown paths answer 404 with errcode 30010', async () => {
    const s = await channelSetup(t, '002');
    t.server.hub.channelApps.useHooks({
      ...NO_CHANNEL_HOOKS,
      onInbound: async () => {
        throw new Error('sessions are down');
      },
    });
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: freshId('wx'), MsgType: 'text', Content: 'x' })).body).toEqual({ errcode: 30004, errmsg: 'internal error' });
    const r = await staffPost(t, s.appId, s.secret, { FromUserId: 'u', MsgType: 'text', Content: 'x' }, { route: 'staffService/nothing' });
    expect(r).toEqual({ status: 404, body: { errcode: 30010, errmsg: 'not found' } });
    // Names of Object.prototype's members are no routes either (signed and valid otherwise).
    for (const route of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(await staffPost(t, s.appId, s.secret, { FromUserId: 'u', MsgType: 'text', Content: 'x' }, { route }), route).toEqual({ status: 404, body: { errcode: 30010, errmsg: 'not found' } });
    }
  });

  it('every MsgType: media as URLs, events as text (a human-agent key calls the hook), unknown types kept as text with the raw type; Tag and unknown fields kept', async () => {
    const s = await channelSetup(t, '002');
    const phone = await t.device(s.agents[0]!);
    const hooks = recordHooks();
    const user = freshId('wx');
    const send = async (MsgType: string, Content: string, extra: Record<string, unknown> = {}) => {
      const from = phone.frames.length;
      expect((await staffPost(t, s.appId, s.secret, { FromUserId: user, MsgType, Content, ...extra })).body.errcode).toBe(0);
      return (await phone.waitFor((f) => f.type === 'message', { from }))['message'] as { messageId: number; payload: Record<string, unknown> };
    };
    expect((await send('image', 'http://cdn.example/a.jpg')).payload).toMatchObject({ type: 3, mediaType: 1, remoteMediaUrl: 'http://cdn.example/a.jpg' });
    expect((await send('voice', 'http://cdn.example/a.amr')).payload).toMatchObject({ type: 2, mediaType: 2, remoteMediaUrl: 'http://cdn.example/a.amr' });
    expect((await send('video', 'http://cdn.example/a.mp4')).payload).toMatchObject({ type: 6, mediaType: 3, remoteMediaUrl: 'http://cdn.example/a.mp4' });
    expect((await send('file', 'http://cdn.example/docs/report%201.pdf')).payload).toMatchObject({ type: 5, mediaType: 4, searchableContent: 'report 1.pdf' });
    const menu = await send('event.CLICK.MENU1', 'MENU1');
    expect(menu.payload).toMatchObject({ type: 1, searchableContent: 'MENU1' });
    expect(hooks.human).toHaveLength(0);
    const odd = await send('sticker', 'smile', { Tag: { order: 42 }, accname: s.accountId, Extra: 'kept' });
    expect(odd.payload).toMatchObject({ type: 1, searchableContent: 'smile' });
    const meta = await t.admin.ok<{ raw: Record<string, unknown>; contents: unknown[] }>('/channel_message/get', { messageUid: odd.messageId });
    expect(meta.raw).toMatchObject({ MsgType: 'sticker', Tag: { order: 42 }, accname: s.accountId, Extra: 'kept', route: 'message' });
    await send('event.CLICK.RG', 'RG');
    expect(hooks.human).toHaveLength(1);
    expect(hooks.human[0]!.message.raw).toMatchObject({ MsgType: 'event.CLICK.RG' });
    expect(hooks.human[0]!.conv.channelAccountId).toBe(s.accountId);
  });

  it('accname picks the account (by id or name); without it the default account, else the oldest', async () => {
    const s = await channelSetup(t, '002');
    const [agent2] = await t.users('agent');
    const second = freshId('acc');
    await t.admin.ok('/channel_account/create', { channelAccountId: second, channelId: 'wechat', appId: s.appId, accountName: 'Sales', agents: [agent2] });
    const phone2 = await t.device(agent2!);
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: freshId('wx'), MsgType: 'text', Content: 'to sales', accname: 'Sales' })).body.errcode).toBe(0);
    await phone2.waitFor((f) => f.type === 'message' && f['message'].payload.searchableContent === 'to sales');
    await t.admin.ok('/channel_app/update', { appId: s.appId, defaultAccountId: second });
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: freshId('wx'), MsgType: 'text', Content: 'default' })).body.errcode).toBe(0);
    await phone2.waitFor((f) => f.type === 'message' && f['message'].payload.searchableContent === 'default');
    const phone1 = await t.device(s.agents[0]!);
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: freshId('wx'), MsgType: 'text', Content: 'first', accname: s.accountId })).body.errcode).toBe(0);
    await phone1.waitFor((f) => f.type === 'message' && f['message'].payload.searchableContent === 'first');
  });

  it('leavemessage is stored for the account with every field; demand is stored and asks for a human agent', async () => {
    const s = await channelSetup(t, '002');
    const phone = await t.device(s.agents[0]!);
    const hooks = recordHooks();
    const user = freshId('wx');
    const left = {
      user_id: 'u-legacy',
      contact: 'Bob',
      callback: 'yes',
      tel: '+86 10 1234',
      email: 'bob@example.com',
      subject: 'Refund',
      content: 'Please call me back',
      user_data: { order: 7 },
      FromUserId: user,
    };
    expect((await staffPost(t, s.appId, s.secret, left, { route: 'leavemessage' })).body.errcode).toBe(0);
    const f = await phone.waitFor((x) => x.type === 'message' && x['message'].payload.searchableContent === 'Please call me back');
    const meta = await t.admin.ok<{ subject: string; raw: Record<string, unknown>; contactId: string }>('/channel_message/get', { messageUid: f['message'].messageId });
    expect(meta.subject).toBe('Refund');
    expect(meta.raw).toMatchObject({ ...left, route: 'leavemessage' });
    expect(await t.admin.ok('/channel_contact/get', { contactId: meta.contactId })).toMatchObject({ account: user, name: 'Bob' });
    expect(hooks.human).toHaveLength(0);

    expect((await staffPost(t, s.appId, s.secret, { user_id: user, msgtype: 'text', content: 'an agent please', service_id: 'svc-1' }, { route: 'staffService/demand' })).body.errcode).toBe(0);
    await phone.waitFor((x) => x.type === 'message' && x['message'].payload.searchableContent === 'an agent please');
    expect(hooks.human).toHaveLength(1);
    expect(hooks.human[0]!.message.raw).toMatchObject({ service_id: 'svc-1', route: 'demand' });
    // Same contact (user_id = FromUserId), same conversation.
    expect(hooks.human[0]!.message.contactId).toBe(meta.contactId);
    // Their own 30007s.
    expect((await staffPost(t, s.appId, s.secret, { content: 'no user' }, { route: 'leavemessage' })).body.errcode).toBe(30007);
    expect((await staffPost(t, s.appId, s.secret, { msgtype: 'text' }, { route: 'staffService/demand' })).body.errcode).toBe(30007);
  });
});
