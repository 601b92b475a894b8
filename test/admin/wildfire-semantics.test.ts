/**
 * Wildfire's semantics where Switchboard's used to differ (issue 12 item 1), through real HTTP with the
 * signing admin client and real devices:
 * - admin sends are trusted by default (no check of the sender: never created, blocked, muted, not a
 *   member), the conversation's target must still exist; `admin.strictSend` restores every check; device
 *   sends keep every check whatever the setting;
 * - user/get_token for an id never created, user/destroy of an unknown user: code 0;
 * - /admin/health: `[{node, cpu, memory, disk}]`;
 * - user/get_info_by_email: a bare JSON string or `{email}`, `{userInfos: […]}`, 253 when none.
 */
import { describe, expect, it } from 'vitest';
import { channel, convEntry, expectCode, fresh, getOne, group, MSG, single, text } from '../helpers/messages.js';
import { rawRequest } from '../helpers/admin-client.js';
import { useServer } from '../helpers/use-server.js';
import { connectRaw, connectRefused, wsUrl } from '../helpers/ws-client.js';

describe('admin sends are trusted by default', () => {
  const t = useServer();

  it('accepts a sender that was never created, and delivers the message', async () => {
    const [bob] = await t.users('bob');
    const system = fresh('system-account');
    const phone = await t.device(bob, 'bob-phone');
    const sent = await t.admin.send(system, single(bob), text('welcome'));
    const got = await phone.waitMessage(sent.messageUid);
    expect(got['message'].sender).toBe(system);
    expect((await getOne(t.admin, sent.messageUid)).sender).toBe(system);
    expect((await convEntry(t.admin, bob, single(system)))?.unread).toBe(1);
  });

  it('accepts a blocked or muted sender, an outsider of a group, a muted group, a stranger to a channel', async () => {
    const [owner, member, outsider, sub] = await t.users('owner', 'member', 'outsider', 'sub');
    const g = fresh('g');
    await t.admin.createGroup(g, owner, [member]);
    const phone = await t.device(member, 'm-phone');

    // An outsider posts into the group: the members receive it.
    const a = await t.admin.send(outsider, group(g), text('from outside'));
    await phone.waitMessage(a.messageUid);
    // Muted group (type 3 = mute), silenced member: still accepted from the admin API.
    await t.admin.ok('/group/modify', { operator: owner, group_id: g, type: 3, value: '1' });
    await t.admin.ok('/group/manager/mute', { operator: owner, group_id: g, members: [member], is_manager: true });
    const b = await t.admin.send(member, group(g), text('muted but trusted'));
    expect(b.messageUid).toBeGreaterThan(a.messageUid);
    // Blocked (2) and muted (1) users.
    for (const status of [2, 1]) {
      await t.admin.ok('/user/update_block_status', { userId: outsider, status });
      expect(await t.admin.code('/message/send', { sender: outsider, conv: single(member), payload: text('still') }), `status ${status}`).toBe(0);
    }
    // Channel: a stranger's message goes to the owner, as a subscriber's would.
    const ch = fresh('ch');
    await t.admin.ok('/channel/create', { owner, name: ch, targetId: ch });
    await t.admin.ok('/channel/subscribe', { channelId: ch, userId: sub, subscribe: 1 });
    expect(await t.admin.code('/message/send', { sender: outsider, conv: channel(ch), payload: text('hello owner') })).toBe(0);
    // Multicast and broadcast from a sender never created.
    expect(await t.admin.code('/message/multicast', { sender: fresh('nobody'), targets: [member, owner], payload: text('m') })).toBe(0);
    expect(await t.admin.code('/message/broadcast', { sender: fresh('nobody'), payload: text('b') })).toBe(0);
  });

  it('still needs the target to exist: 253 for an unknown user, group, channel or multicast target', async () => {
    const [a] = await t.users('a');
    await expectCode(t.admin, '/message/send', { sender: a, conv: single(fresh('ghost')), payload: text('x') }, 253);
    await expectCode(t.admin, '/message/send', { sender: a, conv: group(fresh('nogroup')), payload: text('x') }, 253);
    await expectCode(t.admin, '/message/send', { sender: a, conv: channel(fresh('nochannel')), payload: text('x') }, 253);
    await expectCode(t.admin, '/message/multicast', { sender: a, targets: [fresh('ghost')], payload: text('x') }, 253);
    expect(await t.admin.code('/message/send', { sender: a, conv: { type: 4, target: a, line: 0 }, payload: text('x') }), 'conversation type 4').toBe(254);
  });

  it('device sends keep every check (not a member: 9; blocked sender: 245)', async () => {
    const [owner, outsider, peer] = await t.users('owner', 'outsider', 'peer');
    const g = fresh('g');
    await t.admin.createGroup(g, owner, []);
    const dev = await t.device(outsider, 'o-phone');
    dev.send({ type: 'send', id: 'not-member', conv: group(g), payload: { type: 1 } });
    expect(await dev.waitType('error', (f) => f['id'] === 'not-member')).toMatchObject({ code: 9, msg: MSG[9] });
    await t.admin.ok('/user/update_block_status', { userId: outsider, status: 1 });
    dev.send({ type: 'send', id: 'muted', conv: single(peer), payload: { type: 1 } });
    expect(await dev.waitType('error', (f) => f['id'] === 'muted')).toMatchObject({ code: 245, msg: MSG[245] });
  });
});

describe('admin.strictSend: admin sends are checked like device sends', () => {
  const t = useServer({ admin: { strictSend: true } });

  it('refuses a sender never created (253), a blocked one (245), an outsider (9), a muted group (241), a stranger to a channel (21)', async () => {
    const [owner, member, outsider] = await t.users('owner', 'member', 'outsider');
    const g = fresh('g');
    await t.admin.createGroup(g, owner, [member]);
    await expectCode(t.admin, '/message/send', { sender: fresh('never'), conv: single(member), payload: text('x') }, 253);
    await expectCode(t.admin, '/message/send', { sender: outsider, conv: group(g), payload: text('x') }, 9);
    await t.admin.ok('/group/modify', { operator: owner, group_id: g, type: 3, value: '1' });
    await expectCode(t.admin, '/message/send', { sender: member, conv: group(g), payload: text('x') }, 241);
    const ch = fresh('ch');
    await t.admin.ok('/channel/create', { owner, name: ch, targetId: ch });
    await expectCode(t.admin, '/message/send', { sender: outsider, conv: channel(ch), payload: text('x') }, 21);
    await t.admin.ok('/user/update_block_status', { userId: outsider, status: 2 });
    await expectCode(t.admin, '/message/send', { sender: outsider, conv: single(member), payload: text('x') }, 245);
    await expectCode(t.admin, '/message/multicast', { sender: outsider, targets: [member], payload: text('x') }, 245);
    await expectCode(t.admin, '/message/broadcast', { sender: fresh('never'), payload: text('x') }, 253);
  });
});

describe('user/get_token and user/destroy for unknown users', () => {
  const t = useServer();

  it('issues a token for an id never created: refused at connect (4001) until the user exists, then it works', async () => {
    const id = fresh('later');
    const r = await t.admin.post<{ userId: string; token: string }>('/user/get_token', { userId: id, clientId: 'c1', platform: 2 });
    expect(r.body).toEqual({ code: 0, msg: 'success', result: { userId: id, token: expect.any(String) } });
    const token = r.body.result!.token;
    expect((await connectRefused(wsUrl(t.url, token))).info.code).toBe(4001);
    await t.admin.createUser(id);
    const [peer] = await t.users('peer');
    const dev = await connectRaw(t.url, token);
    const sent = await t.admin.send(peer, single(id), text('now you exist'));
    await dev.waitMessage(sent.messageUid);
  });

  it('destroy of an unknown user answers 0 and revokes the tokens issued for its id', async () => {
    const id = fresh('ghost');
    const { token } = await t.admin.ok<{ token: string }>('/user/get_token', { userId: id, clientId: 'c1', platform: 2 });
    expect(await t.admin.post('/user/destroy', { userId: id }).then((x) => x.body)).toEqual({ code: 0, msg: 'success' });
    await t.admin.createUser(id);
    expect((await connectRefused(wsUrl(t.url, token))).info.code, 'the token was revoked').toBe(4001);
  });
});

describe('/admin/health and user/get_info_by_email', () => {
  const t = useServer({ nodeId: 4 });

  it('health: [{node, cpu, memory, disk}], node numbered from 1', async () => {
    for (const method of ['GET', 'POST'] as const) {
      const body = JSON.parse((await rawRequest(t.url, { method, path: '/admin/health' })).raw) as { code: number; result: Array<Record<string, unknown>> };
      expect(body.code).toBe(0);
      expect(body.result).toEqual([
        {
          node: '5',
          cpu: { load: expect.any(Number), cores: expect.any(Number) },
          memory: { free: expect.any(Number), max: expect.any(Number), avail: expect.any(Number) },
          disk: { space: expect.any(Number), free: expect.any(Number), usable: expect.any(Number) },
        },
      ]);
    }
  });

  it('get_info_by_email: a bare JSON string (the SDK) or {email}; every user with it; 253 for none; 251 for an empty or mistyped one', async () => {
    const [a, b, c] = await t.users('a', 'b', 'c');
    const email = `${fresh('shared')}@example.com`;
    for (const id of [a, b]) await t.admin.ok('/user/create', { userId: id, name: id, email });
    await t.admin.ok('/user/create', { userId: c, name: c, email: `other-${email}` });
    const bare = await t.admin.ok<{ userInfos: Array<{ userId: string; email: string }> }>('/user/get_info_by_email', email);
    expect(bare.userInfos.map((u) => u.userId)).toEqual([a, b]);
    expect(bare.userInfos.every((u) => u.email === email)).toBe(true);
    expect(await t.admin.ok('/user/get_info_by_email', { email })).toEqual(bare);
    await expectCode(t.admin, '/user/get_info_by_email', 'nobody@example.com', 253);
    await expectCode(t.admin, '/user/get_info_by_email', { email: 'nobody@example.com' }, 253);
    await expectCode(t.admin, '/user/get_info_by_email', '', 251);
    await expectCode(t.admin, '/user/get_info_by_email', 42, 251);
    await expectCode(t.admin, '/user/get_info_by_email', { email: 7 }, 251);
    await expectCode(t.admin, '/user/get_info_by_email', 'x'.repeat(1025), 251);
  });
});
