import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SwitchboardError, type ClientEvents } from '../../sdk/src/index.js';
import type { TestServer } from '../helpers/server.js';
import { closeAllClients, device, getToken, Recorder, sdkDevice, startWsServer, type SdkDevice } from '../helpers/ws-client.js';

/**
 * The SDK's chatroom calls against a real server: joinChatroom / leaveChatroom, `chatroom_message`
 * and `chatroom_left` events, sends into the room, and the automatic rejoin after a reconnect (and
 * its refusal reported as `chatroom_left` "rejoin_failed").
 */

let seq = 0;
const fresh = (p: string): string => `${p}-${process.pid}-${++seq}`;
const room = (target: string) => ({ type: 2, target, line: 0 });
const text = (s: string) => ({ type: 1, searchableContent: s, persistFlag: 3 });

type RoomEvent = { event: 'chatroom_message'; data: ClientEvents['chatroom_message'] } | { event: 'chatroom_left'; data: ClientEvents['chatroom_left'] };

/** An SDK device with its chatroom events recorded. */
function withRoomEvents(d: SdkDevice): Recorder<RoomEvent> {
  const log = new Recorder<RoomEvent>((xs) => `${xs.length} chatroom events: ${xs.map((x) => x.event).join(' ')}`);
  d.client.on('chatroom_message', (data) => log.push({ event: 'chatroom_message', data }));
  d.client.on('chatroom_left', (data) => log.push({ event: 'chatroom_left', data }));
  return log;
}

const waitText = (log: Recorder<RoomEvent>, s: string) =>
  log.waitFor((e) => e.event === 'chatroom_message' && e.data.message.payload.searchableContent === s, { label: `chatroom message "${s}"` });
const waitLeft = (log: Recorder<RoomEvent>, reason: string) => log.waitFor((e) => e.event === 'chatroom_left' && e.data.reason === reason, { label: `chatroom_left ${reason}` });

describe('SDK chatrooms', () => {
  let t: TestServer;
  const SYS = fresh('sys');
  beforeAll(async () => {
    t = await startWsServer();
    await t.admin.createUser(SYS);
  });
  afterEach(closeAllClients);
  afterAll(async () => {
    await t.close();
  });

  async function newRoom(): Promise<string> {
    const id = fresh('room');
    await t.admin.ok('/chatroom/create', { chatroomId: id, title: 'Room' });
    return id;
  }

  it('joinChatroom resolves with the room; messages arrive as chatroom_message; send into it; leaveChatroom ends them', async () => {
    const [a, b] = [fresh('a'), fresh('b')];
    for (const u of [a, b]) await t.admin.createUser(u);
    const id = await newRoom();
    const sa = sdkDevice(t.url, { token: await getToken(t.admin, a, 'a-sdk') });
    const la = withRoomEvents(sa);
    await sa.client.connect();
    const info = await sa.client.joinChatroom(id);
    expect(info).toMatchObject({ chatroomId: id, title: 'Room', state: 0, memberCount: 1 });
    expect(sa.client.chatroom).toBe(id);

    const rawB = await device(t.url, t.admin, b);
    rawB.send({ type: 'chatroom_join', id: 'j', chatroomId: id });
    await rawB.waitType('chatroom_joined');
    const sent = await sa.client.send(room(id), text('from the sdk'));
    expect(sent.messageUid).toBeGreaterThan(0);
    await rawB.waitFor((f) => f.type === 'chatroom_message' && f['message'].messageId === sent.messageUid);
    const own = await waitText(la, 'from the sdk');
    expect(own.data).toMatchObject({ chatroomId: id, message: { messageId: sent.messageUid, sender: a, conv: room(id) } });
    await t.admin.send(SYS, room(id), text('from the back end'));
    await waitText(la, 'from the back end');
    // Chatroom messages are not `message` events and move no cursor.
    expect(sa.events.filter((e) => e.event === 'message')).toEqual([]);

    await sa.client.leaveChatroom();
    expect(sa.client.chatroom).toBeNull();
    const n = la.items.length;
    await t.admin.send(SYS, room(id), text('after leaving'));
    await rawB.waitFor((f) => f.type === 'chatroom_message' && f['message'].payload.searchableContent === 'after leaving');
    // The leave was answered before this message was sent: it could not have reached the SDK.
    await sa.client.sync();
    expect(la.items.slice(n)).toEqual([]);
    // A send into a room it is not in: 20.
    await expect(sa.client.send(room(id), text('not in'))).rejects.toMatchObject({ code: 20 });
  });

  it('joinChatroom rejects with the server code (253 unknown room, 246 banned); chatroom stays null', async () => {
    const a = fresh('a');
    await t.admin.createUser(a);
    const sa = sdkDevice(t.url, { token: await getToken(t.admin, a, 'a-sdk') });
    await sa.client.connect();
    const err = await sa.client.joinChatroom(fresh('ghost')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SwitchboardError);
    expect(err).toMatchObject({ code: 253 });
    expect(sa.client.chatroom).toBeNull();
    const id = await newRoom();
    await t.admin.ok('/chatroom/set_black_status', { chatroomId: id, userId: a, status: 2 });
    await expect(sa.client.joinChatroom(id)).rejects.toMatchObject({ code: 246 });
    expect(sa.client.chatroom).toBeNull();
  });

  it('chatroom_left events for removals: replaced (the user joined from another device), kicked (banned), destroyed', async () => {
    const a = fresh('a');
    await t.admin.createUser(a);
    const id = await newRoom();
    const phone = sdkDevice(t.url, { token: await getToken(t.admin, a, 'phone') });
    const lp = withRoomEvents(phone);
    await phone.client.connect();
    await phone.client.joinChatroom(id);
    const desk = sdkDevice(t.url, { token: await getToken(t.admin, a, 'desk') });
    const ld = withRoomEvents(desk);
    await desk.client.connect();
    await desk.client.joinChatroom(id);
    expect((await waitLeft(lp, 'replaced')).data).toEqual({ chatroomId: id, reason: 'replaced' });
    expect(phone.client.chatroom).toBeNull();

    await t.admin.ok('/chatroom/set_black_status', { chatroomId: id, userId: a, status: 2 });
    expect((await waitLeft(ld, 'kicked')).data).toEqual({ chatroomId: id, reason: 'kicked' });
    await t.admin.ok('/chatroom/set_black_status', { chatroomId: id, userId: a, status: 0 });
    await desk.client.joinChatroom(id);
    await t.admin.ok('/chatroom/del', { chatroomId: id });
    expect((await waitLeft(ld, 'destroyed')).data).toEqual({ chatroomId: id, reason: 'destroyed' });
    expect(desk.client.chatroom).toBeNull();
  });

  it('after a reconnect the client joins its room again by itself (before queued sends); a refused rejoin is chatroom_left "rejoin_failed"', async () => {
    const a = fresh('a');
    await t.admin.createUser(a);
    const id = await newRoom();
    // The token function waits on a gate, so the test decides when the reconnect happens.
    let gate: Promise<void> = Promise.resolve();
    let open = (): void => undefined;
    const sa = sdkDevice(t.url, {
      token: async () => {
        await gate;
        return getToken(t.admin, a, 'a-sdk');
      },
      reconnect: { initialDelayMs: 10, maxDelayMs: 50, factor: 2, jitter: 0 },
    });
    const la = withRoomEvents(sa);
    await sa.client.connect();
    await sa.client.joinChatroom(id);

    gate = new Promise((r) => (open = r));
    const mark = sa.mark;
    await t.admin.ok('/user/kickoff_client', { userId: a, clientId: 'a-sdk' });
    await sa.waitFor((e) => e.event === 'disconnected', { from: mark });
    // Queued while disconnected: written after the rejoin, so the device is in the room by then.
    const queued = sa.client.send(room(id), text('queued while away'));
    open();
    await queued;
    await waitText(la, 'queued while away');
    expect(await t.admin.ok('/chatroom/user_chatroom', { userId: a })).toMatchObject({ chatroomId: id, clientId: 'a-sdk' });
    await t.admin.send(SYS, room(id), text('after the reconnect'));
    await waitText(la, 'after the reconnect');

    // Disconnected again; meanwhile the room ends: the rejoin is refused.
    gate = new Promise((r) => (open = r));
    const mark2 = sa.mark;
    await t.admin.ok('/user/kickoff_client', { userId: a, clientId: 'a-sdk' });
    await sa.waitFor((e) => e.event === 'disconnected', { from: mark2 });
    await t.admin.ok('/chatroom/del', { chatroomId: id });
    open();
    expect((await waitLeft(la, 'rejoin_failed')).data).toEqual({ chatroomId: id, reason: 'rejoin_failed', code: 253 });
    expect(sa.client.chatroom).toBeNull();
  });
});
