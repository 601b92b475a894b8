import { beforeAll, describe, expect, it } from 'vitest';
import { useServer } from '../helpers/use-server.js';

interface ConvState {
  conversation: { type: number; target: string; line: number };
  unread: number;
  lastMessageUid: number;
  lastTimestamp: number;
  readTimestamp: number;
}

const SUCCESS = { code: 0, msg: 'success' };
const INVALID = { code: 251, msg: 'Invalid parameter' };
const NOT_EXIST = { code: 253, msg: 'not exist' };
const CHANNEL_KEYS = ['automatic', 'callback', 'channelId', 'desc', 'extra', 'name', 'owner', 'portrait', 'secret', 'state', 'status', 'updateDt'];

// Fixture users (beforeAll): a channel owner, two subscribers-to-be and an outsider.
const OWNER = 'c-owner';
const S1 = 'c-sub1';
const S2 = 'c-sub2';
const X = 'c-outsider';

const t = useServer({ admin: { strictSend: true } }); // the send rules through admin sends (trusted by default)
let seq = 0;
const fresh = (p: string) => `${p}-${++seq}`;

const envelope = async (path: string, body: unknown) => (await t.admin.post(path, body)).body;
async function channel(extra: Record<string, unknown> = {}): Promise<string> {
  const targetId = fresh('chan');
  await t.admin.ok('/channel/create', { owner: OWNER, name: `name-${targetId}`, targetId, ...extra });
  return targetId;
}
const subscribe = (channelId: string, userId: string, on = 1) => t.admin.ok('/channel/subscribe', { channelId, userId, subscribe: on });
const isSubscribed = async (channelId: string, userId: string) =>
  (await t.admin.ok<{ value: boolean }>('/channel/is_subscribed', { channelId, userId })).value;
const channelSend = (sender: string, channelId: string, text: string, persistFlag = 1) =>
  t.admin.post<{ messageUid: number; timestamp: number }>('/message/send', {
    sender,
    conv: { type: 3, target: channelId, line: 0 },
    payload: { type: 1, searchableContent: text, persistFlag },
  });
/** The conversation `userId` has with a channel, if any. */
async function channelConv(userId: string, channelId: string): Promise<ConvState | undefined> {
  const { conversations } = await t.admin.ok<{ conversations: ConvState[] }>('/conversation/list', { userId });
  return conversations.find((c) => c.conversation.type === 3 && c.conversation.target === channelId);
}

beforeAll(async () => {
  for (const u of [OWNER, S1, S2, X]) await t.admin.createUser(u);
});

describe('channel/create and channel/get', () => {
  it('creates a channel, answers {targetId, secret} (as newer Wildfire versions), and get answers every OutputGetChannelInfo key', async () => {
    const id = fresh('chan-full');
    const before = Date.now();
    const r = await t.admin.post('/channel/create', {
      owner: OWNER,
      name: 'News',
      targetId: id,
      portrait: 'https://img.example/c.png',
      desc: 'daily news',
      extra: '{"k":1}',
      secret: 's3cret',
      callback: 'https://hook.example/cb',
      auto: 1,
      state: 3,
    });
    expect(r.body).toEqual({ code: 0, msg: 'success', result: { targetId: id, secret: 's3cret' } });

    const g = await t.admin.post<Record<string, unknown>>('/channel/get', { channelId: id });
    expect(g.body.code).toBe(0);
    expect(Object.keys(g.body.result!).sort()).toEqual(CHANNEL_KEYS);
    expect(g.body.result).toEqual({
      channelId: id,
      name: 'News',
      desc: 'daily news',
      portrait: 'https://img.example/c.png',
      extra: '{"k":1}',
      owner: OWNER,
      state: 3,
      status: 3,
      updateDt: expect.any(Number),
      callback: 'https://hook.example/cb',
      automatic: 1,
      secret: 's3cret',
    });
    const updateDt = g.body.result!['updateDt'] as number;
    expect(Number.isInteger(updateDt)).toBe(true);
    expect(updateDt).toBeGreaterThanOrEqual(before);
  });

  it('defaults unset fields to "" and 0, and generates a targetId when none is given', async () => {
    const r = await t.admin.ok<{ targetId: string; secret: string }>('/channel/create', { owner: OWNER, name: 'Plain' });
    expect(Object.keys(r).sort()).toEqual(['secret', 'targetId']);
    expect(r.secret).toBe('');
    expect(typeof r.targetId).toBe('string');
    expect(r.targetId.length).toBeGreaterThan(0);
    expect(await t.admin.ok('/channel/get', { channelId: r.targetId })).toEqual({
      channelId: r.targetId,
      name: 'Plain',
      desc: '',
      portrait: '',
      extra: '',
      owner: OWNER,
      state: 0,
      status: 0,
      updateDt: expect.any(Number),
      callback: '',
      automatic: 0,
      secret: '',
    });
  });

  it('overwrites an existing channel created again with the same targetId, keeping its subscribers', async () => {
    const id = await channel({ desc: 'old' });
    await subscribe(id, S1);
    await t.admin.ok('/channel/create', { owner: OWNER, name: 'Renamed', targetId: id, desc: 'new' });
    expect(await t.admin.ok('/channel/get', { channelId: id })).toMatchObject({ channelId: id, name: 'Renamed', desc: 'new' });
    expect(await isSubscribed(id, S1)).toBe(true);
  });

  it('answers 251 for a missing name / owner or a mistyped field, 253 for an unknown owner', async () => {
    const id = fresh('chan-bad');
    for (const body of [
      { owner: OWNER, targetId: id },
      { name: 'n', targetId: id },
      { owner: '', name: 'n', targetId: id },
      { owner: OWNER, name: '', targetId: id },
      { owner: OWNER, name: 'n', targetId: id, auto: '1' },
      { owner: OWNER, name: 'n', targetId: id, state: 'on' },
    ]) {
      expect(await envelope('/channel/create', body), JSON.stringify(body)).toEqual(INVALID);
    }
    expect(await envelope('/channel/create', { owner: 'ghost-user', name: 'n', targetId: id })).toEqual(NOT_EXIST);
    expect(await envelope('/channel/get', { channelId: id })).toEqual(NOT_EXIST);
    expect(await envelope('/channel/get', {})).toEqual(INVALID);
    expect(await envelope('/channel/get', { channelId: '' })).toEqual(INVALID);
  });
});

describe('channel/subscribe and channel/is_subscribed', () => {
  it('subscribes (subscribe 1 or omitted) and unsubscribes (0), answering {value: boolean}', async () => {
    const id = await channel();
    const r = await t.admin.post('/channel/is_subscribed', { channelId: id, userId: S1 });
    expect(r.body).toEqual({ code: 0, msg: 'success', result: { value: false } });

    expect(await envelope('/channel/subscribe', { channelId: id, userId: S1, subscribe: 1 })).toEqual(SUCCESS);
    expect(await isSubscribed(id, S1)).toBe(true);
    expect(await isSubscribed(id, S2)).toBe(false);
    // Subscribing twice is harmless; `subscribe` defaults to 1.
    await subscribe(id, S1);
    expect(await envelope('/channel/subscribe', { channelId: id, userId: S2 })).toEqual(SUCCESS);
    expect(await isSubscribed(id, S2)).toBe(true);

    await subscribe(id, S1, 0);
    expect(await isSubscribed(id, S1)).toBe(false);
    expect(await isSubscribed(id, S2)).toBe(true);
  });

  it('answers 253 for an unknown channel or user and 251 for missing fields', async () => {
    const id = await channel();
    expect(await envelope('/channel/subscribe', { channelId: 'no-such-channel', userId: S1, subscribe: 1 })).toEqual(NOT_EXIST);
    expect(await envelope('/channel/subscribe', { channelId: id, userId: 'ghost-user', subscribe: 1 })).toEqual(NOT_EXIST);
    for (const body of [{ userId: S1, subscribe: 1 }, { channelId: id, subscribe: 1 }, { channelId: id, userId: S1, subscribe: 'yes' }, { channelId: '', userId: S1 }]) {
      expect(await envelope('/channel/subscribe', body), JSON.stringify(body)).toEqual(INVALID);
    }
    expect(await isSubscribed(id, S1)).toBe(false);
    expect(await envelope('/channel/is_subscribed', { userId: S1 })).toEqual(INVALID);
    expect(await envelope('/channel/is_subscribed', { channelId: id })).toEqual(INVALID);
  });
});

describe('channel/destroy', () => {
  it('removes the channel: get and subscribe answer 253, its owner can no longer send to it', async () => {
    const id = await channel();
    await subscribe(id, S1);
    expect(await envelope('/channel/destroy', { channelId: id })).toEqual(SUCCESS);
    expect(await envelope('/channel/get', { channelId: id })).toEqual(NOT_EXIST);
    expect(await envelope('/channel/subscribe', { channelId: id, userId: S2, subscribe: 1 })).toEqual(NOT_EXIST);
    expect(await isSubscribed(id, S1)).toBe(false);
    expect((await channelSend(OWNER, id, 'too late')).body.code).toBe(253);
  });

  it('answers 253 for an unknown channel and 251 without a channelId', async () => {
    expect(await envelope('/channel/destroy', { channelId: 'no-such-channel' })).toEqual(NOT_EXIST);
    expect(await envelope('/channel/destroy', {})).toEqual(INVALID);
    expect(await envelope('/channel/destroy', { channelId: '' })).toEqual(INVALID);
  });
});

describe('channel messages', () => {
  it("delivers the owner's message to every subscriber and to nobody else", async () => {
    const id = await channel();
    await subscribe(id, S1);
    await subscribe(id, S2);
    const r = await channelSend(OWNER, id, 'hello subscribers', 3);
    expect(r.body.code).toBe(0);
    const uid = r.body.result!.messageUid;

    for (const u of [S1, S2]) {
      const c = await channelConv(u, id);
      expect(c, u).toMatchObject({ conversation: { type: 3, target: id, line: 0 }, lastMessageUid: uid, unread: 1 });
    }
    expect(await channelConv(X, id)).toBeUndefined();
    const m = await t.admin.ok<{ sender: string; conv: unknown; payload: { searchableContent: string } }>('/message/get_one', { messageUid: uid });
    expect(m).toMatchObject({ sender: OWNER, conv: { type: 3, target: id, line: 0 }, payload: { searchableContent: 'hello subscribers' } });
  });

  it("refuses a non-subscriber's message with 21 and sends a subscriber's to the owner only", async () => {
    const id = await channel();
    await subscribe(id, S1);
    await subscribe(id, S2);
    const first = (await channelSend(OWNER, id, 'from owner')).body.result!.messageUid;

    const refused = await channelSend(X, id, 'let me in');
    expect(refused.body).toEqual({ code: 21, msg: 'not in channel' });
    expect(await channelConv(X, id)).toBeUndefined();

    const reply = await channelSend(S1, id, 'reply to owner');
    expect(reply.body.code).toBe(0);
    expect((await channelConv(OWNER, id))!.lastMessageUid).toBe(reply.body.result!.messageUid);
    expect((await channelConv(S2, id))!.lastMessageUid).toBe(first);
  });

  it('stops delivering to a user who unsubscribed, who then may not send either', async () => {
    const id = await channel();
    await subscribe(id, S1);
    await subscribe(id, S2);
    const before = (await channelSend(OWNER, id, 'one')).body.result!.messageUid;
    await subscribe(id, S1, 0);
    const after = (await channelSend(OWNER, id, 'two')).body.result!.messageUid;
    expect((await channelConv(S1, id))!.lastMessageUid).toBe(before);
    expect((await channelConv(S2, id))!.lastMessageUid).toBe(after);
    expect((await channelSend(S1, id, 'still here?')).body.code).toBe(21);
  });
});
