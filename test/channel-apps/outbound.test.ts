/**
 * The channel gateway's outbound side end to end (docs/channel-gateway.md): a real server,
 * fake channel apps (real HTTP servers on port 0 that check the signatures), agents on real WebSocket
 * devices. An agent's reply goes out through the outbox exactly once while the app is down then up;
 * the delivery status moves live on the agents' devices and through the admin API; seed 000's
 * send-result callback in both revisions; customer-service sessions: open, queue, assign on connect,
 * transfer, least busy, idle close.
 *
 * Synchronisation: waits for frames, recorded requests and conditions (eventually); no sleeps.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeCallbackAgents } from '../../src/callbacks/http.js';
import { channelMessage, freshId, message000, PLATFORM_KEY, platform, staffPost } from '../helpers/channel-apps.js';
import { FakeChannelApp } from '../helpers/fake-channel-app.js';
import { useServer } from '../helpers/use-server.js';
import { eventually, getToken, Recorder, type Frame, type WsClient } from '../helpers/ws-client.js';
import type { ClientEvents } from '../../sdk/src/events.js';
import type { TestServer } from '../helpers/server.js';

/** Retries every few tens of ms, breaker off: an app that comes back is reached at once. */
const FAST_RETRY = { maxAttempts: 100, firstRetryMs: 30, maxRetryMs: 100, breakerThreshold: 0 };

const apps: FakeChannelApp[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  await closeCallbackAgents();
});

async function fakeApp(protocol: '000' | '002', appId: string, key: string): Promise<FakeChannelApp> {
  const a = await FakeChannelApp.start(protocol, appId, key);
  apps.push(a);
  return a;
}

/** An app speaking `protocol` at the fake app, with one account answered by `agents`. */
async function setup(t: TestServer, protocol: '000' | '002', agents: string[], extra: Record<string, unknown> = {}): Promise<{ appId: string; secret: string; accountId: string; app: FakeChannelApp }> {
  const appId = freshId('app');
  const secret = `secret-${appId}`;
  const token = extra['outboundToken'] as string | undefined;
  const app = await fakeApp(protocol, appId, protocol === '002' ? (token ?? secret) : secret);
  await t.admin.ok('/channel_app/create', { appId, secret, protocol, baseUrl: app.url, ...extra });
  const accountId = freshId('acc');
  await t.admin.ok('/channel_account/create', { channelAccountId: accountId, channelId: protocol === '002' ? 'wechat' : 'email', appId, agents });
  return { appId, secret, accountId, app };
}

let frameId = 0;
async function ask(c: WsClient, frame: Record<string, unknown>): Promise<Frame> {
  const id = `q${++frameId}`;
  c.send({ ...frame, id });
  return c.waitFor((f) => f['id'] === id, { label: `the reply to ${String(frame['type'])} ${id}` });
}

const text = (s: string) => ({ type: 1, searchableContent: s, persistFlag: 3 });

describe('outbound replies through channel apps', () => {
  const t = useServer({ channelGateway: { platformKey: PLATFORM_KEY }, outbox: { channels: { 'channel-app': FAST_RETRY } } });

  it('002: a reply sent while the app is down reaches it exactly once when it is back, signed with the outbound token; the status moves live', async () => {
    const [agent] = await t.users('agent');
    const s = await setup(t, '002', [agent!], { outboundToken: 'out-token-1' });
    const phone = await t.device(agent!);
    const customer = freshId('wx');
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: customer, FromUserName: 'Ann', MsgType: 'text', Content: 'help me' })).body.errcode).toBe(0);
    const inbound = await phone.waitFor((f) => f.type === 'message' && f['message'].payload.searchableContent === 'help me');
    const conv = inbound['message'].conv as { type: number; target: string; line: number };
    // The contact's message opened a session, assigned to the (online) agent.
    const assigned = await phone.waitFor((f) => f.type === 'service_session' && f['event'] === 'assigned');
    expect(assigned['session']).toMatchObject({ channelAccountId: s.accountId, agent, state: 'assigned' });
    const serviceId = assigned['session'].serviceId as string;

    await s.app.down();
    const reply = await t.admin.send(agent!, conv, text('how can I help?'));
    const uid = reply.messageUid;
    // Pending while the app is down (attempts fail and are retried).
    await eventually(async () => {
      const d = await t.admin.ok<{ status: string; jobs: Array<{ attempts: number }> }>('/channel_message/delivery', { messageUid: uid });
      return d.status === 'pending' && (d.jobs[0]?.attempts ?? 0) >= 2;
    }, 'two failed attempts while the app is down');
    expect(s.app.requests.items).toHaveLength(0);
    await s.app.up();

    const sent = await phone.waitFor((f) => f.type === 'channel_delivery' && f['messageUid'] === uid && f['status'] === 'sent', { timeoutMs: 10_000 });
    expect(sent).toMatchObject({ conv, error: '' });
    expect(s.app.shown).toEqual([`switchboard-msg-${uid}`]);
    const req = s.app.requests.items[0]!;
    expect(req.signed).toBe(true);
    expect(req.path).toBe('/qmtapi/staffService/message');
    expect(req.json).toEqual({ ToUserId: customer, WorkerNum: expect.any(String), WorkerName: expect.any(String), ServiceId: serviceId, MsgType: 'text', Content: 'how can I help?', Tag: {} });
    expect(req.headers['idempotency-key']).toBe(`switchboard-msg-${uid}`);
    const view = await t.admin.ok<Record<string, unknown>>('/channel_message/delivery', { messageUid: uid });
    expect(view).toMatchObject({ messageUid: uid, status: 'sent', conversationId: conv.target, channelAccountId: s.accountId, jobs: [{ status: 'delivered' }] });
    // The metadata route shows the same status (a delivered job's `sent` is merged in: the record is not rewritten).
    expect(await t.admin.ok('/channel_message/get', { messageUid: uid })).toMatchObject({ uid, direction: 'out', delivery: 'sent', deliveryError: '' });
    // Exactly once: nothing else reached the app, and the contact's own messages are never sent back out.
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: customer, MsgType: 'text', Content: 'thanks' })).body.errcode).toBe(0);
    await phone.waitFor((f) => f.type === 'message' && f['message'].payload.searchableContent === 'thanks');
    expect(s.app.requests.items.filter((r) => r.errcode === 0)).toHaveLength(1);
  });

  it('002: an app answering errcode ≠ 0 is retried until it accepts, and shown once', async () => {
    const [agent] = await t.users('agent');
    const s = await setup(t, '002', [agent!]);
    const phone = await t.device(agent!);
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: freshId('wx'), MsgType: 'text', Content: 'q' })).body.errcode).toBe(0);
    const conv = (await phone.waitFor((f) => f.type === 'message'))['message'].conv;
    s.app.failNext(2);
    const { messageUid } = await t.admin.send(agent!, conv, text('a'));
    await phone.waitFor((f) => f.type === 'channel_delivery' && f['messageUid'] === messageUid && f['status'] === 'sent', { timeoutMs: 10_000 });
    expect(s.app.requests.items.map((r) => r.errcode)).toEqual([30004, 30004, 0]);
    expect(s.app.shown).toEqual([`switchboard-msg-${messageUid}`]);
  });

  it('000: a device reply sent while the app is down reaches it once it is back, with a valid HMAC; send results (both revisions) are seen live and through the admin API', async () => {
    const [agent, other] = await t.users('agent', 'agent');
    const s = await setup(t, '000', [agent!, other!]);
    const phone = await t.device(agent!);
    const otherPhone = await t.device(other!);
    const posted = await platform(t, 'POST', '/conversations/messages', message000(s.accountId, 'ann@example.com', { message: { originalConversationId: 'thread-1' } }));
    expect(posted.status).toBe(200);
    const inbound = await channelMessage(t.admin, posted.body['guid'] as string);
    const conv = { type: 1, target: inbound.conversationId, line: 0 };
    await phone.waitFor((f) => f.type === 'message' && f['message'].conv.target === conv.target);

    // Sent while the app is down: retried until it is back, then accepted exactly once.
    await s.app.down();
    const ack = await ask(phone, { type: 'send', conv, payload: { type: 3, searchableContent: 'photo', remoteMediaUrl: 'https://ours.example/p.png', persistFlag: 3 } });
    const uid = ack['messageUid'] as number;
    expect(uid).toBeGreaterThan(0);
    await eventually(async () => {
      const d = await t.admin.ok<{ status: string; jobs: Array<{ attempts: number }> }>('/channel_message/delivery', { messageUid: uid });
      return d.status === 'pending' && (d.jobs[0]?.attempts ?? 0) >= 2;
    }, 'two failed attempts while the app is down');
    await s.app.up();
    const got = await s.app.requests.waitFor((r) => r.errcode === 0, { timeoutMs: 10_000 });
    expect(got.signed).toBe(true);
    expect(got.headers['x-switchboard-app-id']).toBe(s.appId);
    const guid = got.json.guid as string;
    expect(got.json).toMatchObject({
      channelAccountId: s.accountId,
      isReceive: false,
      channelAppContactIdentity: { account: 'ann@example.com', channelaccount: 'ann@example.com' },
      message: { channelId: 'email', originalConversationId: 'thread-1', contents: [{ id: `${guid}-0`, type: 'picture', url: 'https://ours.example/p.png' }] },
    });
    await otherPhone.waitFor((f) => f.type === 'channel_delivery' && f['guid'] === guid && f['status'] === 'sent');
    expect(s.app.shown).toEqual([`switchboard-msg-${uid}`]);

    // Bad results change nothing: unknown id 404, bad or missing status 400, revisions disagreeing 400, unknown content 400.
    expect((await platform(t, 'PUT', '/conversations/messages/no-such-guid', { sendStatus: 'success' })).status).toBe(404);
    expect((await platform(t, 'PUT', `/conversations/messages/${guid}`, { sendStatus: 'maybe' })).body).toMatchObject({ Code: 1200001 });
    expect((await platform(t, 'PUT', `/conversations/messages/${guid}`, {})).status).toBe(400);
    expect((await platform(t, 'PUT', `/conversations/messages/${guid}`, { sendStatus: 'success', isSuccessful: false })).status).toBe(400);
    expect((await platform(t, 'PUT', `/conversations/messages/${guid}`, { isSuccessful: true, urls: [{ id: 'nope', url: 'https://x/y' }] })).status).toBe(400);
    expect((await platform(t, 'PUT', `/conversations/messages/${guid}`, { sendStatus: 'success' }, { key: 'wrong' })).status).toBe(401);
    // The inbound message's guid is not a reply.
    expect((await platform(t, 'PUT', `/conversations/messages/${posted.body['guid'] as string}`, { sendStatus: 'success' })).status).toBe(404);
    expect(await t.admin.ok('/channel_message/delivery', { messageUid: uid })).toMatchObject({ status: 'sent' });

    // The newer revision: success, the message's id and URL on the channel, the picture re-hosted by the app.
    const r = await platform(t, 'PUT', `/conversations/messages/${guid}`, {
      isSuccessful: true,
      originalMessageId: 'mail-77',
      originalMessageUrl: 'https://mail.example/77',
      urls: [{ id: `${guid}-0`, url: 'https://app.example/rehosted.png' }],
      isSync: false,
    });
    expect(r.status).toBe(200);
    const live = await phone.waitFor((f) => f.type === 'channel_delivery' && f['guid'] === guid && f['status'] === 'delivered');
    expect(live).toMatchObject({ messageUid: uid, originalMessageId: 'mail-77', originalMessageUrl: 'https://mail.example/77' });
    // Ours replaced: the IM message is updated for its receivers, and the metadata's content too.
    await phone.waitFor((f) => f.type === 'update' && f['messageUid'] === uid && f['message'].payload.remoteMediaUrl === 'https://app.example/rehosted.png');
    expect(await t.admin.ok('/channel_message/delivery', { messageUid: uid })).toMatchObject({
      status: 'delivered',
      originalMessageId: 'mail-77',
      contents: [{ id: `${guid}-0`, url: 'https://app.example/rehosted.png' }],
    });
    expect(await t.admin.ok('/channel_message/get', { guid })).toMatchObject({ delivery: 'delivered', originalMessageId: 'mail-77' });

    // The older revision on a second reply: failed with its error.
    const second = await t.admin.send(agent!, conv, text('second'));
    const g2 = (await s.app.requests.waitFor((q) => q.errcode === 0 && q.json.guid !== guid, { timeoutMs: 10_000 })).json.guid as string;
    await phone.waitFor((f) => f.type === 'channel_delivery' && f['guid'] === g2 && f['status'] === 'sent');
    expect((await platform(t, 'PUT', `/conversations/messages/${g2}`, { sendStatus: 'failed', errorMessage: 'mailbox full', content: [] })).status).toBe(200);
    await otherPhone.waitFor((f) => f.type === 'channel_delivery' && f['guid'] === g2 && f['status'] === 'failed' && f['error'] === 'mailbox full');
    expect(await t.admin.ok('/channel_message/delivery', { messageUid: second.messageUid })).toMatchObject({ status: 'failed', error: 'mailbox full' });
  });

  it('the delivery route refuses a message that was not sent through an app (253)', async () => {
    const [a, b] = await t.users('u', 'u');
    const m = await t.admin.send(a!, { type: 0, target: b!, line: 0 }, text('hi'));
    expect(await t.admin.code('/channel_message/delivery', { messageUid: m.messageUid })).toBe(253);
  });
});

describe('customer-service sessions', () => {
  const t = useServer({ channelGateway: { platformKey: PLATFORM_KEY }, outbox: { channels: { 'channel-app': FAST_RETRY } } });

  it('queued while no agent is online, assigned when one connects, transferred, closed; least busy first; listed', async () => {
    const [a1, a2] = await t.users('agent', 'agent');
    const s = await setup(t, '002', [a1!, a2!]);
    const customer = freshId('wx');
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: customer, MsgType: 'text', Content: 'anyone?' })).body.errcode).toBe(0);
    const queued = await t.admin.ok<{ sessions: Array<Record<string, unknown>>; total: number }>('/channel_session/list', { channelAccountId: s.accountId });
    expect(queued.total).toBe(1);
    expect(queued.sessions[0]).toMatchObject({ state: 'queued', agent: '' });
    const serviceId = queued.sessions[0]!['serviceId'] as string;

    // a1 connects: it takes the queued session.
    const p1 = await t.device(a1!);
    const got = await p1.waitFor((f) => f.type === 'service_session' && f['event'] === 'assigned' && f['session'].serviceId === serviceId);
    expect(got['session']).toMatchObject({ agent: a1, state: 'assigned' });
    expect(got['conv'].target).toMatch(/^cc_/);

    // a2 online too: the next contact goes to the less busy a2.
    const p2 = await t.device(a2!);
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: freshId('wx'), MsgType: 'text', Content: 'me too' })).body.errcode).toBe(0);
    const second = await p2.waitFor((f) => f.type === 'service_session' && f['event'] === 'assigned' && f['session'].agent === a2);
    expect(second['session'].serviceId).not.toBe(serviceId);

    // Transfer a1's session to a2: both are told.
    const moved = await t.admin.ok('/channel_session/transfer', { serviceId, to: a2 });
    expect(moved).toMatchObject({ serviceId, agent: a2, state: 'assigned' });
    for (const p of [p1, p2]) {
      const f = await p.waitFor((x) => x.type === 'service_session' && x['event'] === 'transferred' && x['session'].serviceId === serviceId);
      expect(f).toMatchObject({ previousAgent: a1, session: { agent: a2 } });
    }
    // Refusals: not in the pool 251, same agent 251, unknown 253.
    expect(await t.admin.code('/channel_session/transfer', { serviceId, to: 'stranger' })).toBe(251);
    expect(await t.admin.code('/channel_session/transfer', { serviceId, to: a2 })).toBe(251);
    expect(await t.admin.code('/channel_session/transfer', { serviceId: 'nope', to: a2 })).toBe(253);
    expect(await t.admin.code('/channel_session/assign', { serviceId, agent: 'stranger' })).toBe(251);

    // A reply carries the session's ServiceId.
    const conv = got['conv'];
    const reply = await t.admin.send(a2!, conv, text('a2 here'));
    const req = await s.app.requests.waitFor((r) => r.errcode === 0 && r.json.Content === 'a2 here', { timeoutMs: 10_000 });
    expect(req.json).toMatchObject({ ToUserId: customer, ServiceId: serviceId, WorkerNum: a2 });
    expect(reply.messageUid).toBeGreaterThan(0);

    // Close: told to the pool; closed twice is 248; the next message opens a new session.
    expect(await t.admin.ok('/channel_session/close', { serviceId })).toMatchObject({ state: 'closed', closeReason: 'admin' });
    await p1.waitFor((f) => f.type === 'service_session' && f['event'] === 'closed' && f['session'].serviceId === serviceId);
    expect(await t.admin.code('/channel_session/close', { serviceId })).toBe(248);
    expect(await t.admin.code('/channel_session/assign', { serviceId, agent: a1 })).toBe(248);
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: customer, MsgType: 'text', Content: 'back again' })).body.errcode).toBe(0);
    const reopened = await p1.waitFor((f) => f.type === 'service_session' && f['event'] === 'assigned' && f['session'].serviceId !== serviceId && f['session'].contact === got['session'].contact);
    expect(reopened['session'].state).toBe('assigned');
    expect(await t.admin.ok('/channel_session/get', { serviceId })).toMatchObject({ state: 'closed' });
    expect((await t.admin.ok<{ total: number }>('/channel_session/list', { channelAccountId: s.accountId, state: 'closed' })).total).toBe(1);
  });

  it('the SDK emits service_session and channel_delivery to an agent', async () => {
    const [a1] = await t.users('agent');
    const s = await setup(t, '002', [a1!]);
    const sdk = t.sdk({ token: await getToken(t.admin, a1!, 'sdk-1') });
    const sessions = new Recorder<ClientEvents['service_session']>((xs) => `${xs.length} session events`);
    const deliveries = new Recorder<ClientEvents['channel_delivery']>((xs) => `${xs.length} delivery events`);
    sdk.client.on('service_session', (e) => sessions.push(e));
    sdk.client.on('channel_delivery', (e) => deliveries.push(e));
    await sdk.client.connect();
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: freshId('wx'), MsgType: 'text', Content: 'hello sdk' })).body.errcode).toBe(0);
    const assigned = await sessions.waitFor((e) => e.event === 'assigned');
    expect(assigned.session).toMatchObject({ agent: a1, state: 'assigned', channelAccountId: s.accountId });
    const { messageUid } = await sdk.client.send(assigned.conv!, text('from the sdk'));
    const sent = await deliveries.waitFor((e) => e.messageUid === messageUid && e.status === 'sent', { timeoutMs: 10_000 });
    expect(sent.conv).toEqual(assigned.conv);
    expect(s.app.shown).toEqual([`switchboard-msg-${messageUid}`]);
  });

  it('a menu click asking for a human (event.CLICK.RG) opens a session', async () => {
    const [a1] = await t.users('agent');
    const s = await setup(t, '002', [a1!]);
    const p1 = await t.device(a1!);
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: freshId('wx'), MsgType: 'event.CLICK.RG', Content: 'RG' })).body.errcode).toBe(0);
    await p1.waitFor((f) => f.type === 'service_session' && f['event'] === 'assigned' && f['session'].agent === a1);
  });
});

describe('customer-service sessions: idle timeout', () => {
  const t = useServer({ channelGateway: { platformKey: PLATFORM_KEY }, serviceSessions: { idleTimeoutMs: 400, sweepIntervalMs: 50 } });

  it('a session with no message for the idle timeout is closed, and its agent told', async () => {
    const [a1] = await t.users('agent');
    const s = await setup(t, '002', [a1!]);
    const p1 = await t.device(a1!);
    const customer = freshId('wx');
    const t0 = Date.now();
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: customer, MsgType: 'text', Content: 'hi' })).body.errcode).toBe(0);
    const opened = await p1.waitFor((f) => f.type === 'service_session' && f['event'] === 'assigned');
    const serviceId = opened['session'].serviceId as string;
    const closed = await p1.waitFor((f) => f.type === 'service_session' && f['event'] === 'closed' && f['session'].serviceId === serviceId, { timeoutMs: 10_000 });
    expect(closed['session']).toMatchObject({ state: 'closed', closeReason: 'idle' });
    expect(closed['session'].closedAt - t0).toBeGreaterThanOrEqual(400);
    expect(await t.admin.ok('/channel_session/get', { serviceId })).toMatchObject({ state: 'closed', closeReason: 'idle' });
  });

  it('survives a restart: a session that became idle while the server was down is closed after it starts', async () => {
    const [a1] = await t.users('agent');
    const s = await setup(t, '002', [a1!]);
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: freshId('wx'), MsgType: 'text', Content: 'hi' })).body.errcode).toBe(0);
    const list = await t.admin.ok<{ sessions: Array<{ serviceId: string; idleAt: number }> }>('/channel_session/list', { channelAccountId: s.accountId });
    const { serviceId, idleAt } = list.sessions[0]!;
    await t.stop();
    // Down past the deadline (waiting on the clock, not on the server: nothing runs meanwhile).
    await eventually(async () => Date.now() > idleAt, 'the idle deadline to pass', 5_000);
    await t.restart();
    await eventually(async () => (await t.admin.ok<{ state: string }>('/channel_session/get', { serviceId })).state === 'closed', 'the session closed after the restart');
  });
});

describe('outbound replies: dead-lettered, then redelivered', () => {
  const t = useServer({ outbox: { channels: { 'channel-app': { maxAttempts: 2, firstRetryMs: 20, maxRetryMs: 20, breakerThreshold: 0 } } } });

  it('a reply whose attempts all fail is failed with the last error (live and admin); redelivered, it is sent', async () => {
    const [agent] = await t.users('agent');
    const s = await setup(t, '002', [agent!]);
    const phone = await t.device(agent!);
    expect((await staffPost(t, s.appId, s.secret, { FromUserId: freshId('wx'), MsgType: 'text', Content: 'hello' })).body.errcode).toBe(0);
    const conv = (await phone.waitFor((f) => f.type === 'message'))['message'].conv;
    await s.app.down();
    const { messageUid } = await t.admin.send(agent!, conv, text('will fail'));
    const failed = await phone.waitFor((f) => f.type === 'channel_delivery' && f['messageUid'] === messageUid && f['status'] === 'failed', { timeoutMs: 10_000 });
    expect(failed['error']).not.toBe('');
    const view = await t.admin.ok<{ status: string; error: string; jobs: Array<{ id: number; status: string; attempts: number }> }>('/channel_message/delivery', { messageUid });
    expect(view).toMatchObject({ status: 'failed', jobs: [{ status: 'dead', attempts: 2 }] });
    expect(view.error).toBe(failed['error']);

    await s.app.up();
    expect(await t.admin.ok('/callback/redeliver', { id: view.jobs[0]!.id })).toEqual({ count: 1 });
    await phone.waitFor((f) => f.type === 'channel_delivery' && f['messageUid'] === messageUid && f['status'] === 'sent', { timeoutMs: 10_000 });
    expect(s.app.shown).toEqual([`switchboard-msg-${messageUid}`]);
    expect(await t.admin.ok('/channel_message/delivery', { messageUid })).toMatchObject({ status: 'sent', error: '' });
  });
});
