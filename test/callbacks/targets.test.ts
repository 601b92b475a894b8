import { afterEach, describe, expect, it } from 'vitest';
import { bodySignature, tencentSign } from '../helpers/callback-receiver.js';
import { AFTER_COMMANDS, APP_ID, BEFORE_COMMANDS, expectTencentRequest, textOf, useReceiver, useCallbackServer } from '../helpers/callbacks.js';
import { useChildServer } from '../helpers/child-server.js';
import { fresh, group, single, text } from '../helpers/messages.js';
import { closeAllClients, device } from '../helpers/ws-client.js';

/**
 * Callback targets: the default one from the configuration (read-only at runtime) and others managed
 * through /admin/callback/set_target, get_targets and delete_target, in force at once without a
 * restart; and the minimal contract: with only SWITCHBOARD_CALLBACK_URL, _TOKEN and SWITCHBOARD_SDK_APP_ID
 * set, every after-callback is on and before-send is off.
 */

const TARGET_KEYS = ['id', 'url', 'sdkAppId', 'commands', 'timeoutMs', 'beforeSendPolicy', 'beforeSendConcurrency', 'enabled', 'source', 'hasToken', 'hasHmacSecret'].sort();

interface TargetOut {
  id: string;
  url: string;
  sdkAppId: string;
  commands: string[];
  timeoutMs: number;
  beforeSendPolicy: string;
  enabled: boolean;
  source: string;
  hasToken: boolean;
  hasHmacSecret: boolean;
}
interface Delivery {
  id: number;
  target: string;
  command: string;
  body: Record<string, unknown>;
}

describe('/admin/callback/*: targets at runtime', () => {
  const a = useReceiver(); // the configured default target
  const b = useReceiver(); // targets added through the API
  const t = useCallbackServer(a);
  afterEach(() => {
    b.handler = () => undefined;
  });

  const targets = async (): Promise<{ raw: string; list: TargetOut[] }> => {
    const res = await t.admin.post<{ targets: TargetOut[] }>('/callback/get_targets', {});
    expect(res.body.code).toBe(0);
    return { raw: res.raw, list: res.body.result!.targets };
  };
  const jobsOf = async (target: string): Promise<Delivery[]> =>
    (await t.admin.ok<{ deliveries: Delivery[] }>('/callback/deliveries', { target, limit: 1000 })).deliveries;

  it('set_target adds a target that receives at once (its own SdkAppid, token and key); get_targets shows no secrets', async () => {
    const set = await t.admin.post<TargetOut>('/callback/set_target', {
      id: 'crm',
      url: `${b.url}/crm`,
      sdkAppId: '1400000002',
      token: 'crm-token-SECRET',
      hmacSecret: 'crm-hmac-SECRET',
      commands: ['C2C.CallbackAfterSendMsg'],
    });
    expect(set.body.code).toBe(0);
    expect(set.raw).not.toContain('SECRET');
    expect(set.body.result).toEqual({
      id: 'crm',
      url: `${b.url}/crm`,
      sdkAppId: '1400000002',
      commands: ['C2C.CallbackAfterSendMsg'],
      timeoutMs: 2000,
      beforeSendPolicy: 'allow',
      beforeSendConcurrency: 64,
      enabled: true,
      source: 'api',
      hasToken: true,
      hasHmacSecret: true,
    });

    const { raw, list } = await targets();
    expect(raw).not.toContain('SECRET');
    for (const x of list) expect(Object.keys(x).sort()).toEqual(TARGET_KEYS);
    const def = list.find((x) => x.id === 'default')!;
    expect(def).toMatchObject({ url: `${a.url}/cb`, sdkAppId: APP_ID, source: 'config', hasToken: true, hasHmacSecret: true, enabled: true });
    expect([...def.commands].sort()).toEqual([...AFTER_COMMANDS].sort());
    expect(list.find((x) => x.id === 'crm')).toEqual(set.body.result);

    const [u, v] = await t.users('u', 'v');
    await t.admin.send(u, single(v), text('to both targets'));
    const atB = await b.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === u);
    expectTencentRequest(atB, { command: 'C2C.CallbackAfterSendMsg', optPlatform: 'RESTAPI', appId: '1400000002', token: 'crm-token-SECRET', hmacKey: 'crm-hmac-SECRET', path: '/crm' });
    expect(atB.query['Sign']).toBe(tencentSign('crm-token-SECRET', atB.query['RequestTime']!));
    expect(atB.headers['x-switchboard-signature']).toBe(bodySignature('crm-hmac-SECRET', atB.raw));
    const atA = await a.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === u);
    expect(atA.json).toEqual(atB.json);
    expect(atA.deliveryId).not.toBe(atB.deliveryId);
    expect((await t.admin.post('/callback/delete_target', { id: 'crm' })).body).toEqual({ code: 0, msg: 'success' });
  });

  it('set_target again replaces the target at once (commands); delete_target stops it', async () => {
    await t.admin.ok('/callback/set_target', { id: 'crm2', url: `${b.url}/crm2`, commands: ['C2C.CallbackAfterSendMsg'] });
    const [u, v, o] = await t.users('u', 'v', 'o');
    const g = fresh('g');
    await t.admin.createGroup(g, o, [u, v]);
    await t.admin.send(u, single(v), text('c2c while C2C only'));
    const first = await b.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === u, { label: 'crm2 C2C' });
    // No token: no Sign.
    expect(first.path).toBe('/crm2');
    expect(b.all('C2C.CallbackAfterSendMsg', (x) => x.From_Account === u)).toHaveLength(1);
    expect(first.query['Sign']).toBeUndefined();

    // Only group sends now.
    const replaced = await t.admin.ok<TargetOut>('/callback/set_target', { id: 'crm2', url: `${b.url}/crm2`, commands: ['Group.CallbackAfterSendMsg'] });
    expect(replaced.commands).toEqual(['Group.CallbackAfterSendMsg']);
    expect((await targets()).list.filter((x) => x.id === 'crm2')).toEqual([replaced]);
    await t.admin.send(u, single(v), text('c2c after the change'));
    await t.admin.send(u, group(g), text('group after the change'));
    const ga = await b.waitDelivered('Group.CallbackAfterSendMsg', (x) => x.GroupId === g);
    expect(ga.path).toBe('/crm2');
    // Jobs are written with the message: none was made for crm2 for the C2C send after the change.
    const jobs = await jobsOf('crm2');
    expect(jobs.map((j) => [j.command, textOf(j.body)]).reverse()).toEqual([
      ['C2C.CallbackAfterSendMsg', 'c2c while C2C only'],
      ['Group.CallbackAfterSendMsg', 'group after the change'],
    ]);

    // Deleted: no more jobs, get_targets no longer lists it.
    expect((await t.admin.post('/callback/delete_target', { id: 'crm2' })).body).toEqual({ code: 0, msg: 'success' });
    expect((await targets()).list.map((x) => x.id)).not.toContain('crm2');
    await t.admin.send(u, group(g), text('group after delete'));
    await a.waitDelivered('Group.CallbackAfterSendMsg', (x) => x.GroupId === g && textOf(x) === 'group after delete');
    expect((await jobsOf('crm2')).length).toBe(2);
    expect(b.all('Group.CallbackAfterSendMsg', (x) => textOf(x) === 'group after delete')).toEqual([]);
    expect((await t.admin.post('/callback/delete_target', { id: 'crm2' })).body).toEqual({ code: 253, msg: 'not exist' });
  });

  it('a before-send target added at runtime decides at once; deleted, sends pass again', async () => {
    b.handler = (q) => (q.command === 'C2C.CallbackBeforeSendMsg' ? { body: { ActionStatus: 'OK', ErrorCode: 1, ErrorInfo: 'guard says no' } } : undefined);
    await t.admin.ok('/callback/set_target', { id: 'guard', url: `${b.url}/guard`, commands: ['C2C.CallbackBeforeSendMsg'], timeoutMs: 2000, beforeSendPolicy: 'reject' });
    const [u, v] = await t.users('u', 'v');
    expect((await t.admin.post('/message/send', { sender: u, conv: single(v), payload: text('guarded') })).body).toEqual({ code: 20006, msg: 'guard says no' });
    await t.admin.ok('/callback/delete_target', { id: 'guard' });
    await t.admin.send(u, single(v), text('unguarded'));
    expect(b.all('C2C.CallbackBeforeSendMsg', (x) => textOf(x) === 'unguarded')).toEqual([]);
  });

  it('the configured target cannot be changed or deleted (248); bad URLs, commands or ids are 251', async () => {
    const code = (path: string, body: unknown): Promise<unknown> => t.admin.post(path, body).then((x) => x.body);
    expect(await code('/callback/set_target', { id: 'default', url: `${b.url}/hijack` })).toEqual({ code: 248, msg: 'no right to operate' });
    expect(await code('/callback/delete_target', { id: 'default' })).toEqual({ code: 248, msg: 'no right to operate' });
    expect(await code('/callback/set_target', { id: 'x1', url: 'not a url' })).toEqual({ code: 251, msg: 'Invalid parameter' });
    expect(await code('/callback/set_target', { id: 'x2', url: 'ftp://127.0.0.1/cb' })).toEqual({ code: 251, msg: 'Invalid parameter' });
    expect(await code('/callback/set_target', { id: 'x3', url: `${b.url}/x`, commands: ['C2C.CallbackNoSuchThing'] })).toEqual({ code: 251, msg: 'Invalid parameter' });
    expect(await code('/callback/set_target', { id: 'bad id!', url: `${b.url}/x` })).toEqual({ code: 251, msg: 'Invalid parameter' });
    expect(await code('/callback/set_target', { url: `${b.url}/x` })).toEqual({ code: 251, msg: 'Invalid parameter' });
    const { list } = await targets();
    expect(list.find((x) => x.id === 'default')!.url).toBe(`${a.url}/cb`);
    expect(list.map((x) => x.id).filter((id) => id.startsWith('x') || id === 'bad id!')).toEqual([]);
  });
});

describe('minimal contract: only SWITCHBOARD_CALLBACK_URL, SWITCHBOARD_CALLBACK_TOKEN, SWITCHBOARD_SDK_APP_ID', () => {
  const r = useReceiver();
  const child = useChildServer(() => ({
    secret: 'env-callbacks-secret',
    env: { SWITCHBOARD_CALLBACK_URL: `${r.url}/env`, SWITCHBOARD_CALLBACK_TOKEN: 'env-token', SWITCHBOARD_SDK_APP_ID: '1400000077' },
  }));
  afterEach(closeAllClients);

  it('every after-callback command is on, before-send is off', async () => {
    const admin = child.admin;
    const { targets } = await admin.ok<{ targets: TargetOut[] }>('/callback/get_targets', {});
    expect(targets).toHaveLength(1);
    expect(targets[0]).toMatchObject({ id: 'default', url: `${r.url}/env`, sdkAppId: '1400000077', source: 'config', hasToken: true, enabled: true, timeoutMs: 2000 });
    expect([...targets[0]!.commands].sort()).toEqual([...AFTER_COMMANDS].sort());
    expect(targets[0]!.commands.filter((c) => BEFORE_COMMANDS.includes(c))).toEqual([]);

    // Each of the nine commands actually fires.
    const [o, m, n] = ['env-o', 'env-m', 'env-n'];
    for (const u of [o, m, n]) await admin.createUser(u);
    await admin.createGroup('env-g', o, [m]);
    await admin.ok('/group/member/add', { operator: o, group_id: 'env-g', members: [{ member_id: n }] });
    await admin.send(m, group('env-g'), text('env group'));
    const s = await admin.send(o, single(m), text('env c2c'));
    const dev = await device(child.url, admin, m, 'm-phone', { platform: 2 });
    dev.send({ type: 'read', id: 'rd', conv: single(o), timestamp: s.timestamp });
    await dev.waitType('read_ok');
    await admin.ok('/message/recall', { operator: o, messageUid: s.messageUid });
    await admin.ok('/group/member/quit', { operator: n, group_id: 'env-g' });
    await admin.ok('/group/del', { operator: o, group_id: 'env-g' });
    for (const c of AFTER_COMMANDS) {
      const q = await r.waitDelivered(c, () => true, { label: c, timeoutMs: 5000 });
      expectTencentRequest(q, { command: c, optPlatform: q.query['OptPlatform'] ?? '', clientIp: q.query['ClientIP'] ?? '', appId: '1400000077', token: 'env-token', hmacKey: null, path: '/env' });
      expect(q.query['Sign']).toBe(tencentSign('env-token', q.query['RequestTime']!));
    }
    const c2c = await r.waitDelivered('C2C.CallbackAfterSendMsg');
    expect(c2c.query['OptPlatform']).toBe('RESTAPI');
    // No before-send call was made for either send.
    expect(r.requests.filter((q) => BEFORE_COMMANDS.includes(q.command))).toEqual([]);
  });
});
