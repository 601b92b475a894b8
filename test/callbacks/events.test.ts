import { describe, expect, it } from 'vitest';
import type { CallbackRequest, Json } from '../helpers/callback-receiver.js';
import {
  GROUP_TYPES,
  expectKeys,
  expectMillis,
  expectSeconds,
  expectTencentRequest,
  expectUint32,
  textOf,
  useReceiver,
  useCallbackServer,
} from '../helpers/callbacks.js';
import { b64, fresh, group, single, text } from '../helpers/messages.js';

/**
 * The rest of the family: Group.CallbackAfterSendMsg, State.StateChange, the group membership
 * commands, and the MsgBody element each seed 001 payload type maps to.
 */

const GROUP_AFTER_KEYS = [
  'CallbackCommand',
  'GroupId',
  'Type',
  'From_Account',
  'Operator_Account',
  'Random',
  'MsgSeq',
  'MsgId',
  'MsgTime',
  'OnlineOnlyFlag',
  'MsgBody',
  'CloudCustomData',
  'EventTime',
];

const members = (list: Json): string[] => (list as Array<{ Member_Account: string }>).map((m) => m.Member_Account).sort();

describe('group, state and membership callbacks; MsgBody mapping', () => {
  const r = useReceiver();
  const t = useCallbackServer(r);

  it('a group: created, messages from the admin API and a device, member joined, kicked, quit, destroyed — in order', async () => {
    const [owner, m1, m2, m3] = await t.users('o', 'm', 'm', 'm');
    const g = fresh('g');
    const t0 = Date.now();
    await t.admin.createGroup(g, owner, [m1, m2]);

    const created = await r.waitDelivered('Group.CallbackAfterCreateGroup', (b) => b.GroupId === g);
    expectTencentRequest(created, { clientIp: created.query['ClientIP'] ?? '', command: 'Group.CallbackAfterCreateGroup', optPlatform: 'RESTAPI' });
    expectKeys(
      created.json,
      ['CallbackCommand', 'GroupId', 'Operator_Account', 'Owner_Account', 'Type', 'Name', 'CreateGroupNum', 'MemberList', 'EventTime'],
      ['UserDefinedDataList'],
      'Group.CallbackAfterCreateGroup',
    );
    expect(created.json.Operator_Account).toBe(owner);
    expect(created.json.Owner_Account).toBe(owner);
    expect(GROUP_TYPES).toContain(created.json.Type);
    const type = created.json.Type as string;
    expect(created.json.Name).toBe(g);
    // The initial members (the owner may or may not be listed among them).
    expect(members(created.json.MemberList).filter((u) => u !== owner)).toEqual([m1, m2].sort());
    for (const m of created.json.MemberList) expect(Object.keys(m)).toEqual(['Member_Account']);
    if ('UserDefinedDataList' in created.json) expect(Array.isArray(created.json.UserDefinedDataList)).toBe(true);
    expectMillis(created.json.EventTime, t0, Date.now(), 'EventTime');

    // From the admin API: Operator_Account "admin".
    const sa = await t.admin.send(m1, group(g), text('hello group', { extra: 'group ccd' }));
    const ga = await r.waitDelivered('Group.CallbackAfterSendMsg', (b) => b.GroupId === g && textOf(b) === 'hello group');
    expectTencentRequest(ga, { command: 'Group.CallbackAfterSendMsg', optPlatform: 'RESTAPI' });
    expectKeys(ga.json, GROUP_AFTER_KEYS, ['TopicId', 'GroupAtInfo'], 'Group.CallbackAfterSendMsg');
    expect(ga.json.Type).toBe(type);
    expect(ga.json.From_Account).toBe(m1);
    expect(ga.json.Operator_Account).toBe('admin');
    expectUint32(ga.json.Random, 'Random');
    expectUint32(ga.json.MsgSeq, 'MsgSeq');
    expectSeconds(ga.json.MsgTime, t0, Date.now(), 'MsgTime');
    expect(ga.json.MsgTime).toBe(Math.floor(sa.timestamp / 1000));
    expect(ga.json.OnlineOnlyFlag).toBe(0);
    expect(ga.json.MsgBody).toEqual([{ MsgType: 'TIMTextElem', MsgContent: { Text: 'hello group' } }]);
    expect(ga.json.CloudCustomData).toBe('group ccd');
    expectMillis(ga.json.EventTime, t0, Date.now(), 'EventTime');

    // From a member's Android device: the member is the operator; an online-only message says so.
    const dev = await t.device(m2, 'm2-phone', { platform: 2 });
    dev.send({ type: 'send', id: 'g1', conv: group(g), payload: text('typing…', { persistFlag: 4 }) });
    await dev.waitType('sent', (f) => f['id'] === 'g1');
    const gd = await r.waitDelivered('Group.CallbackAfterSendMsg', (b) => b.GroupId === g && textOf(b) === 'typing…');
    expectTencentRequest(gd, { command: 'Group.CallbackAfterSendMsg', optPlatform: 'Android' });
    expect(gd.json.From_Account).toBe(m2);
    expect(gd.json.Operator_Account).toBe(m2);
    expect(gd.json.OnlineOnlyFlag).toBe(1);
    expect(gd.json.CloudCustomData).toBe('');
    expect(gd.json.MsgSeq === ga.json.MsgSeq && gd.json.Random === ga.json.Random).toBe(false);

    // Added by the owner: Invited.
    await t.admin.ok('/group/member/add', { operator: owner, group_id: g, members: [{ member_id: m3 }] });
    const join = await r.waitDelivered('Group.CallbackAfterNewMemberJoin', (b) => b.GroupId === g);
    expectTencentRequest(join, { clientIp: join.query['ClientIP'] ?? '', command: 'Group.CallbackAfterNewMemberJoin', optPlatform: 'RESTAPI' });
    expectKeys(join.json, ['CallbackCommand', 'GroupId', 'Type', 'JoinType', 'Operator_Account', 'NewMemberList', 'EventTime'], [], 'Group.CallbackAfterNewMemberJoin');
    expect(join.json).toMatchObject({ Type: type, JoinType: 'Invited', Operator_Account: owner, NewMemberList: [{ Member_Account: m3 }] });
    expectMillis(join.json.EventTime, t0, Date.now(), 'EventTime');

    // Removed by the owner: Kicked.
    await t.admin.ok('/group/member/del', { operator: owner, group_id: g, members: [m3] });
    const kicked = await r.waitDelivered('Group.CallbackAfterMemberExit', (b) => b.GroupId === g && b.ExitType === 'Kicked');
    expectKeys(kicked.json, ['CallbackCommand', 'GroupId', 'Type', 'ExitType', 'Operator_Account', 'ExitMemberList', 'EventTime'], [], 'Group.CallbackAfterMemberExit');
    expect(kicked.json).toMatchObject({ Type: type, Operator_Account: owner, ExitMemberList: [{ Member_Account: m3 }] });
    expectMillis(kicked.json.EventTime, t0, Date.now(), 'EventTime');

    // Leaves by itself: Quit, the quitter is the operator.
    await t.admin.ok('/group/member/quit', { operator: m2, group_id: g });
    const quit = await r.waitDelivered('Group.CallbackAfterMemberExit', (b) => b.GroupId === g && b.ExitType === 'Quit');
    expectKeys(quit.json, ['CallbackCommand', 'GroupId', 'Type', 'ExitType', 'Operator_Account', 'ExitMemberList', 'EventTime'], [], 'Group.CallbackAfterMemberExit');
    expect(quit.json).toMatchObject({ Type: type, Operator_Account: m2, ExitMemberList: [{ Member_Account: m2 }] });

    // Dismissed: the members at that moment.
    await t.admin.ok('/group/del', { operator: owner, group_id: g });
    const gone = await r.waitDelivered('Group.CallbackAfterGroupDestroyed', (b) => b.GroupId === g);
    expectTencentRequest(gone, { clientIp: gone.query['ClientIP'] ?? '', command: 'Group.CallbackAfterGroupDestroyed', optPlatform: 'RESTAPI' });
    expectKeys(gone.json, ['CallbackCommand', 'GroupId', 'Type', 'Owner_Account', 'Name', 'MemberList', 'EventTime'], [], 'Group.CallbackAfterGroupDestroyed');
    expect(gone.json).toMatchObject({ Type: type, Owner_Account: owner, Name: g });
    expect(members(gone.json.MemberList)).toEqual([owner, m1].sort());
    expectMillis(gone.json.EventTime, t0, Date.now(), 'EventTime');

    // One group, one order: every callback about g was delivered in the order of the changes.
    const order = r.requests.filter((q) => q.json?.GroupId === g).map((q) => `${q.command}${q.json.ExitType ? `/${q.json.ExitType}` : ''}`);
    expect(order).toEqual([
      'Group.CallbackAfterCreateGroup',
      'Group.CallbackAfterSendMsg',
      'Group.CallbackAfterSendMsg',
      'Group.CallbackAfterNewMemberJoin',
      'Group.CallbackAfterMemberExit/Kicked',
      'Group.CallbackAfterMemberExit/Quit',
      'Group.CallbackAfterGroupDestroyed',
    ]);
    // Group notifications (system messages) are not announced as sends.
    expect(r.all('Group.CallbackAfterSendMsg', (b) => b.GroupId === g)).toHaveLength(2);
  });

  it('membership callbacks caused through the admin API report its caller as ClientIP, as admin sends do', async () => {
    const [owner, m1, m2] = await t.users('o', 'm', 'm');
    const g = fresh('g');
    await t.admin.createGroup(g, owner, [m1]);
    await t.admin.send(owner, group(g), text('ip check'));
    await t.admin.ok('/group/member/add', { operator: owner, group_id: g, members: [{ member_id: m2 }] });
    await t.admin.ok('/group/member/quit', { operator: m2, group_id: g });
    await t.admin.ok('/group/del', { operator: owner, group_id: g });
    await r.waitDelivered('Group.CallbackAfterGroupDestroyed', (b) => b.GroupId === g);
    const ips = r.requests.filter((q) => q.json?.GroupId === g).map((q) => [q.command, q.query['ClientIP']]);
    expect(ips).toEqual([
      ['Group.CallbackAfterCreateGroup', '127.0.0.1'],
      ['Group.CallbackAfterSendMsg', '127.0.0.1'],
      ['Group.CallbackAfterNewMemberJoin', '127.0.0.1'],
      ['Group.CallbackAfterMemberExit', '127.0.0.1'],
      ['Group.CallbackAfterGroupDestroyed', '127.0.0.1'],
    ]);
  });

  it('State.StateChange: connect (Login/Register), kickoff (Logout/Unregister), client close (Disconnect/LinkClose)', async () => {
    const [u] = await t.users('u');
    const states = (): Json[] => r.all('State.StateChange', (b) => b.Info?.To_Account === u).map((q) => q.json);
    const t0 = Date.now();

    const d1 = await t.device(u, 'u-phone', { platform: 2 });
    const login = await r.waitDelivered('State.StateChange', (b) => b.Info?.To_Account === u && b.Info?.Action === 'Login');
    expectTencentRequest(login, { command: 'State.StateChange', optPlatform: 'Android' });
    expectKeys(login.json, ['CallbackCommand', 'EventTime', 'Info'], ['KickedDevice'], 'State.StateChange');
    expect(login.json.Info).toEqual({ Action: 'Login', To_Account: u, Reason: 'Register' });
    expectMillis(login.json.EventTime, t0, Date.now(), 'EventTime');

    await t.admin.ok('/user/kickoff_client', { first: u, second: 'u-phone' });
    await d1.closed;
    const logout = await r.waitDelivered('State.StateChange', (b) => b.Info?.To_Account === u && b.Info?.Action === 'Logout');
    expectTencentRequest(logout, { command: 'State.StateChange', optPlatform: 'Android' });
    expect(logout.json.Info).toEqual({ Action: 'Logout', To_Account: u, Reason: 'Unregister' });
    expectMillis(logout.json.EventTime, t0, Date.now(), 'EventTime');

    const d2 = await t.device(u, 'u-tablet', { platform: 2 });
    await r.waitFor((q) => q.command === 'State.StateChange' && q.json?.Info?.To_Account === u && q.index > logout.index && q.json.Info.Action === 'Login');
    await d2.close();
    const disc = await r.waitDelivered('State.StateChange', (b) => b.Info?.To_Account === u && b.Info?.Action === 'Disconnect');
    expectTencentRequest(disc, { command: 'State.StateChange', optPlatform: 'Android' });
    expect(disc.json.Info).toEqual({ Action: 'Disconnect', To_Account: u, Reason: 'LinkClose' });

    // One user, one order; each change once.
    expect(states().map((b) => `${b.Info.Action}/${b.Info.Reason}`)).toEqual(['Login/Register', 'Logout/Unregister', 'Login/Register', 'Disconnect/LinkClose']);
  });

  it('MsgBody: text, voice, image, location, file, video, sticker and custom payloads map to Tencent elements', async () => {
    const [a, b] = await t.users('a', 'b');
    const url = 'https://media.example.com/fs/1';
    const payloads: Array<Record<string, unknown>> = [
      { type: 1, searchableContent: 'hello text' },
      { type: 2, searchableContent: '[语音]', content: '{"duration":3}', mediaType: 2, remoteMediaUrl: `${url}/voice.amr` },
      { type: 3, searchableContent: '[图片]', content: '{"w":800,"h":600}', base64edData: b64('thumb'), mediaType: 1, remoteMediaUrl: `${url}/photo.png` },
      { type: 4, searchableContent: 'Office', content: '{"lat":31.2304,"long":121.4737}' },
      { type: 5, searchableContent: '[文件] a.pdf', content: '1234', mediaType: 4, remoteMediaUrl: `${url}/a.pdf` },
      { type: 6, searchableContent: '[视频]', content: '{"d":12,"duration":12}', mediaType: 3, remoteMediaUrl: `${url}/clip.mp4` },
      { type: 7, searchableContent: '[动态表情]', base64edData: b64('{"x":120,"y":120}'), mediaType: 4, remoteMediaUrl: `${url}/smile.gif` },
      { type: 1001, searchableContent: 'custom', content: '{"k":"v"}', pushContent: 'push text', pushData: 'push data' },
    ];
    const bodies: Json[] = [];
    for (const [i, p] of payloads.entries()) {
      await t.admin.send(a, single(b), { ...p, persistFlag: 3, extra: `map-${i}` });
    }
    for (const i of payloads.keys()) {
      const q: CallbackRequest = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a && x.CloudCustomData === `map-${i}`);
      expect(Array.isArray(q.json.MsgBody) && q.json.MsgBody.length === 1, `payload ${i}: one element`).toBe(true);
      bodies.push(q.json.MsgBody[0]);
    }
    const [txt, voice, image, loc, file, video, sticker, custom] = bodies;

    expect(txt).toEqual({ MsgType: 'TIMTextElem', MsgContent: { Text: 'hello text' } });

    expect(voice.MsgType).toBe('TIMSoundElem');
    expectKeys(voice.MsgContent, ['Url', 'Size', 'Second', 'Download_Flag'], ['UUID'], 'TIMSoundElem');
    expect(voice.MsgContent).toMatchObject({ Url: `${url}/voice.amr`, Second: 3, Download_Flag: 2 });
    expect(Number.isInteger(voice.MsgContent.Size)).toBe(true);

    expect(image.MsgType).toBe('TIMImageElem');
    expectKeys(image.MsgContent, ['ImageFormat', 'ImageInfoArray'], ['UUID'], 'TIMImageElem');
    expect(image.MsgContent.ImageFormat).toBe(3);
    const infos = image.MsgContent.ImageInfoArray as Json[];
    expect(infos.length).toBeGreaterThanOrEqual(1);
    for (const info of infos) {
      expectKeys(info, ['Type', 'Size', 'Width', 'Height', 'URL'], [], 'ImageInfoArray[]');
      expect([1, 2, 3]).toContain(info.Type);
      for (const k of ['Size', 'Width', 'Height']) expect(Number.isInteger(info[k]), k).toBe(true);
      expect(typeof info.URL).toBe('string');
    }
    expect(infos.find((x) => x.Type === 1)).toMatchObject({ Width: 800, Height: 600, URL: `${url}/photo.png` });

    expect(loc).toEqual({ MsgType: 'TIMLocationElem', MsgContent: { Desc: 'Office', Latitude: 31.2304, Longitude: 121.4737 } });

    expect(file.MsgType).toBe('TIMFileElem');
    expectKeys(file.MsgContent, ['Url', 'FileSize', 'FileName', 'Download_Flag'], ['UUID'], 'TIMFileElem');
    expect(file.MsgContent).toMatchObject({ Url: `${url}/a.pdf`, FileSize: 1234, FileName: 'a.pdf', Download_Flag: 2 });

    expect(video.MsgType).toBe('TIMVideoFileElem');
    expectKeys(
      video.MsgContent,
      ['VideoUrl', 'VideoSize', 'VideoSecond', 'VideoFormat', 'VideoDownloadFlag', 'ThumbUrl', 'ThumbSize', 'ThumbWidth', 'ThumbHeight', 'ThumbFormat', 'ThumbDownloadFlag'],
      ['VideoUUID', 'ThumbUUID'],
      'TIMVideoFileElem',
    );
    expect(video.MsgContent).toMatchObject({ VideoUrl: `${url}/clip.mp4`, VideoSecond: 12, VideoFormat: 'mp4', VideoDownloadFlag: 2, ThumbDownloadFlag: 2 });
    for (const k of ['VideoSize', 'ThumbSize', 'ThumbWidth', 'ThumbHeight']) expect(Number.isInteger(video.MsgContent[k]), k).toBe(true);
    for (const k of ['ThumbUrl', 'ThumbFormat']) expect(typeof video.MsgContent[k], k).toBe('string');

    expect(sticker.MsgType).toBe('TIMFaceElem');
    expectKeys(sticker.MsgContent, ['Index', 'Data'], [], 'TIMFaceElem');
    expect(Number.isInteger(sticker.MsgContent.Index)).toBe(true);
    expect(typeof sticker.MsgContent.Data).toBe('string');
    expect(sticker.MsgContent.Data).toContain(`${url}/smile.gif`);

    expect(custom.MsgType).toBe('TIMCustomElem');
    expectKeys(custom.MsgContent, [], ['Data', 'Desc', 'Ext', 'Sound'], 'TIMCustomElem');
    for (const v of Object.values(custom.MsgContent as object)) expect(typeof v).toBe('string');
    expect(custom.MsgContent).toMatchObject({ Data: '{"k":"v"}', Desc: 'push text', Ext: 'push data' });
  });
});
