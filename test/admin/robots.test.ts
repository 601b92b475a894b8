/**
 * Robots (issue 12 item 2): robot/create and user/get_robot_info with Wildfire's shapes and codes, and
 * their behaviour — a robot's incoming messages (from devices and admin sends, single chats and groups)
 * are posted to its callback URL through the outbox channel `robot` (Wildfire's robot callback body),
 * retried while the robot's server is down, listed in /robot/deliveries; the robot answers through the
 * admin API. The robot's server is a real HTTP server on port 0 (useReceiver).
 */
import { describe, expect, it } from 'vitest';
import { useReceiver } from '../helpers/callbacks.js';
import type { CallbackRequest } from '../helpers/callback-receiver.js';
import { expectCode, fresh, getOne, group, single, text } from '../helpers/messages.js';
import { useServer } from '../helpers/use-server.js';
import { eventually } from '../helpers/ws-client.js';

/** Fast retries for the robot channel, so a test sees several attempts quickly. */
const FAST_ROBOT_CHANNEL = { outbox: { channels: { robot: { maxAttempts: 50, firstRetryMs: 20, maxRetryMs: 100, breakerThreshold: 0 } } } };

interface RobotInfo {
  userId: string;
  name: string;
  displayName: string;
  owner: string;
  secret: string;
  callback: string;
  robotExtra: string;
  [k: string]: unknown;
}

interface Delivery {
  id: number;
  robotId: string;
  status: string;
  attempts: number;
  lastError: string;
  body: Record<string, unknown>;
}

describe('robot/create and user/get_robot_info', () => {
  const t = useServer();

  it('creates a robot user (type 1) with its record; owner defaults to itself, a secret is generated; update overwrites', async () => {
    const id = fresh('bot');
    const r = await t.admin.post<{ userId: string; secret: string }>('/robot/create', { userId: id, name: id, portrait: 'http://p/x.png', callback: 'http://127.0.0.1:1/cb', robotExtra: 'rx' });
    expect(r.body).toEqual({ code: 0, msg: 'success', result: { userId: id, secret: expect.any(String) } });
    const secret = r.body.result!.secret;
    expect(secret.length).toBeGreaterThan(10);
    const info = await t.admin.ok<RobotInfo>('/user/get_robot_info', { robotId: id });
    expect(info).toMatchObject({ userId: id, name: id, displayName: id, portrait: 'http://p/x.png', owner: id, secret, callback: 'http://127.0.0.1:1/cb', robotExtra: 'rx' });
    expect(Object.keys(info).sort()).toEqual(
      ['address', 'callback', 'company', 'displayName', 'email', 'extra', 'gender', 'mobile', 'name', 'owner', 'portrait', 'robotExtra', 'secret', 'social', 'updateDt', 'userId'].sort(),
    );
    expect((await t.admin.ok<{ type: number }>('/user/get_info', { userId: id })).type).toBe(1);

    const [owner] = await t.users('owner');
    expect(await t.admin.ok('/robot/create', { userId: id, name: id, owner, secret: 'given', callback: '' })).toEqual({ userId: id, secret: 'given' });
    expect(await t.admin.ok<RobotInfo>('/user/get_robot_info', { robotId: id })).toMatchObject({ owner, secret: 'given', callback: '', robotExtra: '' });
  });

  it('generates the userId when missing', async () => {
    const name = fresh('anon-bot');
    const { userId } = await t.admin.ok<{ userId: string }>('/robot/create', { name });
    expect(userId).toMatch(/^[A-Za-z0-9_-]{8,}$/);
    expect((await t.admin.ok<RobotInfo>('/user/get_robot_info', { robotId: userId })).name).toBe(name);
  });

  it('answers 251 without a name or with a callback that is not an http(s) URL, 253 for a non-robot or unknown id, 27 for its token', async () => {
    await expectCode(t.admin, '/robot/create', { userId: fresh('bot') }, 251);
    await expectCode(t.admin, '/robot/create', { userId: fresh('bot'), name: '' }, 251);
    for (const callback of ['ftp://x/y', 'not a url', 'x'.repeat(8193)]) await expectCode(t.admin, '/robot/create', { name: fresh('bot'), callback }, 251);
    const [plain] = await t.users('plain');
    await expectCode(t.admin, '/user/get_robot_info', { robotId: plain }, 253);
    await expectCode(t.admin, '/user/get_robot_info', { robotId: fresh('ghost') }, 253);
    await expectCode(t.admin, '/user/get_robot_info', {}, 251);
    const bot = fresh('bot');
    await t.admin.ok('/robot/create', { userId: bot, name: bot });
    expect((await t.admin.post('/user/get_token', { userId: bot, clientId: 'c', platform: 1 })).body).toEqual({ code: 27, msg: 'robot no token' });
    // Destroying the robot (user/destroy, as the SDK's destroyRobot) removes its record too.
    await t.admin.ok('/user/destroy', { userId: bot });
    await expectCode(t.admin, '/user/get_robot_info', { robotId: bot }, 253);
  });
});

describe('robot callbacks', () => {
  const robotServer = useReceiver();
  const t = useServer(FAST_ROBOT_CHANNEL);

  const makeRobot = async (): Promise<string> => {
    const id = fresh('bot');
    await t.admin.ok('/robot/create', { userId: id, name: id, callback: `${robotServer.url}/robot/${id}` });
    return id;
  };
  const postsTo = (robot: string) => (r: CallbackRequest) => r.path === `/robot/${robot}`;

  it("posts a device's single-chat message to the robot in Wildfire's body, and the robot answers through the admin API", async () => {
    const robot = await makeRobot();
    const [alice] = await t.users('alice');
    const phone = await t.device(alice, 'alice-phone', { platform: 2 });
    phone.send({ type: 'send', id: 'q', conv: single(robot), payload: text('what time is it?') });
    const sent = await phone.waitType('sent', (f) => f['id'] === 'q');
    const req = await robotServer.waitFor(postsTo(robot), { label: 'the robot callback' });
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toMatch(/^application\/json/);
    expect(req.deliveryId).toMatch(/^[0-9]+$/);
    expect(req.attempt).toBe(1);
    const stored = await getOne(t.admin, sent['messageUid'] as number);
    // Exactly Wildfire's OutputMessageData: the message as get_one shows it.
    expect(req.json).toEqual({ messageId: stored.messageId, sender: alice, conv: single(robot), payload: stored.payload, toUsers: [], timestamp: stored.timestamp });
    expect(req.json).not.toHaveProperty('client');

    // The robot answers as itself through the admin API; alice's device receives it.
    const reply = await t.admin.send(robot, single(alice), text('noon'));
    expect((await phone.waitMessage(reply.messageUid))['message'].sender).toBe(robot);
    // Its own message is not posted back to it.
    const deliveries = await t.admin.ok<{ deliveries: Delivery[] }>('/robot/deliveries', { robotId: robot });
    expect(deliveries.deliveries.map((d) => d.body['messageId'])).toEqual([stored.messageId]);
  });

  it('posts admin sends and group messages to robot members (restricted by toUsers); never the sender, nor transparent messages', async () => {
    const robot = await makeRobot();
    const other = await makeRobot();
    const [owner, member] = await t.users('owner', 'member');
    const g = fresh('g');
    await t.admin.createGroup(g, owner, [member, robot]);

    const m1 = await t.admin.send(member, group(g), text('hello bots'));
    const r1 = await robotServer.waitFor((r) => postsTo(robot)(r) && r.json.messageId === m1.messageUid);
    expect(r1.json).toMatchObject({ sender: member, conv: group(g), toUsers: [], timestamp: m1.timestamp });
    // Admin single chat to the robot.
    const m2 = await t.admin.send(owner, single(robot), text('direct'));
    await robotServer.waitFor((r) => postsTo(robot)(r) && r.json.messageId === m2.messageUid);
    // toUsers without the robot: not posted; with it: posted.
    const m3 = await t.admin.send(owner, group(g), text('only member'), [member]);
    const m4 = await t.admin.send(owner, group(g), text('only robot'), [robot]);
    await robotServer.waitFor((r) => postsTo(robot)(r) && r.json.messageId === m4.messageUid);
    // The robot's own group message is not posted to it; a transparent one reaches no robot.
    await t.admin.send(robot, group(g), text('from the robot'));
    await t.admin.send(owner, single(robot), text('typing', { persistFlag: 4 }));
    const m5 = await t.admin.send(owner, single(robot), text('last'));
    await robotServer.waitFor((r) => postsTo(robot)(r) && r.json.messageId === m5.messageUid);
    const posted = robotServer.requests.filter(postsTo(robot)).map((r) => r.json.messageId as number);
    expect(posted.sort((a, b) => a - b)).toEqual([m1.messageUid, m2.messageUid, m4.messageUid, m5.messageUid].sort((a, b) => a - b));
    expect(posted).not.toContain(m3.messageUid);
    // A robot that is not a member gets nothing of the group.
    expect(robotServer.requests.filter(postsTo(other))).toEqual([]);
  });

  it('follows membership changes: a robot added to a group gets its next messages, removed it gets none', async () => {
    const robot = await makeRobot();
    const [owner] = await t.users('owner');
    const g = fresh('g');
    await t.admin.createGroup(g, owner, []);
    const before = await t.admin.send(owner, group(g), text('not yet a member'));
    await t.admin.ok('/group/member/add', { operator: owner, group_id: g, members: [{ member_id: robot }] });
    const during = await t.admin.send(owner, group(g), text('now a member'));
    await robotServer.waitFor((r) => postsTo(robot)(r) && r.json.messageId === during.messageUid);
    await t.admin.ok('/group/member/del', { operator: owner, group_id: g, members: [robot] });
    const after = await t.admin.send(owner, group(g), text('gone'));
    // A later single chat, posted, proves every earlier post has been made (one robot's posts are in order).
    const marker = await t.admin.send(owner, single(robot), text('marker'));
    await robotServer.waitFor((r) => postsTo(robot)(r) && r.json.messageId === marker.messageUid);
    const posted = robotServer.requests.filter(postsTo(robot)).map((r) => r.json.messageId as number);
    expect(posted).toEqual([during.messageUid, marker.messageUid]);
    expect(posted).not.toContain(before.messageUid);
    expect(posted).not.toContain(after.messageUid);
  });

  it('retries while the robot server fails or is down, with one stable delivery id, until delivered', async () => {
    const robot = await makeRobot();
    const [alice] = await t.users('alice');
    // Two failures (HTTP 503), then success.
    let failures = 0;
    robotServer.handler = (r) => (postsTo(robot)(r) && failures++ < 2 ? { status: 503 } : undefined);
    const m1 = await t.admin.send(alice, single(robot), text('one'));
    const ok1 = await robotServer.waitFor((r) => postsTo(robot)(r) && r.answer === 200 && r.json.messageId === m1.messageUid, { label: 'the delivered post' });
    const tries = robotServer.requests.filter((r) => postsTo(robot)(r) && r.json.messageId === m1.messageUid);
    expect(tries.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(new Set(tries.map((r) => r.deliveryId))).toEqual(new Set([ok1.deliveryId]));
    robotServer.handler = () => undefined;

    // The server is down (connection refused): the job waits and retries; once it is back, delivered.
    await robotServer.close();
    try {
      const m2 = await t.admin.send(alice, single(robot), text('two'));
      await eventually(async () => {
        const d = (await t.admin.ok<{ deliveries: Delivery[] }>('/robot/deliveries', { robotId: robot })).deliveries.find((x) => x.body['messageId'] === m2.messageUid);
        return d !== undefined && d.attempts >= 2 && d.status !== 'delivered' && d.lastError !== '';
      }, 'two failed attempts while the robot server is down');
      await robotServer.reopen();
      await robotServer.waitFor((r) => postsTo(robot)(r) && r.json.messageId === m2.messageUid && r.answer === 200, { label: 'delivery once back', timeoutMs: 10_000 });
      await eventually(async () => {
        const d = (await t.admin.ok<{ deliveries: Delivery[] }>('/robot/deliveries', { robotId: robot, status: 'delivered' })).deliveries;
        return d.some((x) => x.body['messageId'] === m2.messageUid);
      }, 'the delivery log shows it delivered');
    } finally {
      await robotServer.reopen().catch(() => undefined);
    }
  });

  it('dead-letters the jobs of a robot destroyed meanwhile (nothing to post to); /robot/deliveries answers 251 for bad filters', async () => {
    const robot = await makeRobot();
    const [alice] = await t.users('alice');
    robotServer.handler = (r) => (postsTo(robot)(r) ? { status: 500 } : undefined);
    const m = await t.admin.send(alice, single(robot), text('bye'));
    await robotServer.waitFor((r) => postsTo(robot)(r) && r.json.messageId === m.messageUid);
    await t.admin.ok('/user/destroy', { userId: robot });
    await eventually(async () => {
      const d = (await t.admin.ok<{ deliveries: Delivery[] }>('/robot/deliveries', { robotId: robot, status: 'dead' })).deliveries;
      return d.some((x) => x.body['messageId'] === m.messageUid && /no callback|does not exist/.test(x.lastError));
    }, 'the job dead-lettered');
    robotServer.handler = () => undefined;
    for (const body of [{ status: 'lost' }, { limit: 0 }, { limit: 1001 }, { robotId: 'x'.repeat(129) }]) await expectCode(t.admin, '/robot/deliveries', body, 251);
  });
});

describe('robot callbacks with client info (robots.callbackWithClientInfo)', () => {
  const robotServer = useReceiver();
  const t = useServer({ ...FAST_ROBOT_CHANNEL, robots: { callbackWithClientInfo: true } });

  it('adds {platform, clientId} of the sending device, none for admin sends', async () => {
    const robot = fresh('bot');
    await t.admin.ok('/robot/create', { userId: robot, name: robot, callback: `${robotServer.url}/r` });
    const [alice] = await t.users('alice');
    const phone = await t.device(alice, 'alice-ipad', { platform: 8 });
    phone.send({ type: 'send', id: 'q', conv: single(robot), payload: text('hi') });
    const sent = await phone.waitType('sent', (f) => f['id'] === 'q');
    const req = await robotServer.waitFor((r) => r.json?.messageId === sent['messageUid']);
    expect(req.json.client).toEqual({ platform: 8, clientId: 'alice-ipad' });
    const a = await t.admin.send(alice, single(robot), text('admin'));
    expect((await robotServer.waitFor((r) => r.json?.messageId === a.messageUid)).json).not.toHaveProperty('client');
  });
});
