import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_CONTENT_LENGTH, MAX_ID_LENGTH, MAX_URL_LENGTH, MAX_USER_LIST } from '../../src/core/limits.js';
import { MAX_FRAME_ID_LENGTH } from '../../src/delivery/protocol.js';
import { createUsers, fresh, group, single } from '../helpers/messages.js';
import type { Frame, WsClient } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';

/**
 * Every string and list of a device frame is bounded (docs/client-protocol.md, docs/security.md):
 * exactly at a bound the frame is served, one over it is answered `error` 251 (the protocol's reply
 * to an invalid frame), nothing is stored or delivered, and the connection stays usable. The server
 * allows 8 MiB frames here so that the payload bound (1 MiB per string), not the frame size, binds
 * (and a send buffer that holds such a message, which every device of the sender receives back).
 */

const INVALID = { type: 'error', code: 251, msg: 'Invalid parameter' };
const over = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

const t = useServer({ gateway: { maxFrameBytes: 8 * 1024 * 1024, maxBufferedBytes: 64 * 1024 * 1024 } });
let s: string;
let r: string;
let g: string;
beforeAll(async () => {
  [s, r, g] = [fresh('fl-s'), fresh('fl-r'), fresh('fl-g')];
  await createUsers(t.admin, s, r);
  await t.admin.createGroup(g, s, [r]);
});

let seq = 0;
/** Send a frame with a fresh id; resolves with the reply (`sent`, `read_ok`, `pong` or `error`) to it. */
async function request(d: WsClient, frame: Record<string, unknown>): Promise<Frame> {
  const id = `q${++seq}`;
  const mark = d.mark;
  d.send({ ...frame, id });
  return d.waitFor((f) => f['id'] === id, { from: mark, label: `the reply to ${String(frame['type'])} ${id}` });
}

describe('device frame bounds', () => {
  it(`frame id: a string of ${MAX_FRAME_ID_LENGTH} characters is echoed, a longer one refused without echo`, async () => {
    const d = await t.device(s);
    const id = 'i'.repeat(MAX_FRAME_ID_LENGTH);
    d.send({ type: 'ping', id });
    expect(await d.waitType('pong')).toEqual({ type: 'pong', id });
    const mark = d.mark;
    d.send({ type: 'ping', id: `${id}i` });
    expect(await d.waitType('error', undefined, { from: mark })).toEqual({ ...INVALID, detail: `id must have at most ${MAX_FRAME_ID_LENGTH} characters` });
    // An unknown type is quoted in the refusal only in part.
    const err = await request(d, { type: 't'.repeat(10_000) });
    expect(err).toMatchObject({ ...INVALID });
    expect(String(err['detail']).length).toBeLessThan(80);
  });

  it('send: every string and list of the frame is bounded; refused frames store and deliver nothing', async () => {
    const sender = await t.device(s);
    const receiver = await t.device(r);
    const toR = single(r);
    const refused: Array<[string, Record<string, unknown>]> = [
      ['conv.target', { conv: single('u'.repeat(MAX_ID_LENGTH + 1)), payload: { type: 1 } }],
      ['content', { conv: toR, payload: { type: 1, content: 'c'.repeat(MAX_CONTENT_LENGTH + 1) } }],
      ['searchableContent', { conv: toR, payload: { type: 1, searchableContent: '😀'.repeat(MAX_CONTENT_LENGTH + 1) } }],
      ['remoteMediaUrl', { conv: toR, payload: { type: 1, remoteMediaUrl: 'u'.repeat(MAX_URL_LENGTH + 1) } }],
      ['mentionedTarget', { conv: group(g), payload: { type: 1, mentionedType: 1, mentionedTarget: over(MAX_USER_LIST + 1, 'm') } }],
      ['mentionedTarget[]', { conv: group(g), payload: { type: 1, mentionedType: 1, mentionedTarget: ['m'.repeat(MAX_ID_LENGTH + 1)] } }],
      ['toUsers', { conv: group(g), toUsers: over(MAX_USER_LIST + 1, 'm'), payload: { type: 1 } }],
      ['toUsers[]', { conv: group(g), toUsers: ['m'.repeat(MAX_ID_LENGTH + 1)], payload: { type: 1 } }],
      ['clientMsgId', { conv: toR, clientMsgId: 'k'.repeat(129), payload: { type: 1 } }],
    ];
    for (const [field, frame] of refused) {
      expect(await request(sender, { type: 'send', ...frame }), field).toMatchObject(INVALID);
    }
    // Exactly at each bound the frame is taken (an unknown target is then "not exist", not invalid).
    expect(await request(sender, { type: 'send', conv: single('u'.repeat(MAX_ID_LENGTH)), payload: { type: 1 } })).toMatchObject({ type: 'error', code: 253 });
    const accepted: number[] = [];
    for (const frame of [
      { conv: toR, payload: { type: 1, persistFlag: 3, content: 'c'.repeat(MAX_CONTENT_LENGTH), remoteMediaUrl: 'u'.repeat(MAX_URL_LENGTH) } },
      { conv: toR, payload: { type: 1, persistFlag: 3, searchableContent: '😀'.repeat(MAX_CONTENT_LENGTH) } },
      { conv: group(g), payload: { type: 1, persistFlag: 3, mentionedType: 1, mentionedTarget: over(MAX_USER_LIST, 'm') } },
      { conv: group(g), toUsers: [...over(MAX_USER_LIST - 1, 'm'), r], payload: { type: 1, persistFlag: 3 } },
    ]) {
      const reply = await request(sender, { type: 'send', ...frame });
      expect(reply['type'], JSON.stringify(reply).slice(0, 200)).toBe('sent');
      accepted.push(reply['messageUid'] as number);
    }
    // The receiver got exactly the accepted messages, in order, and nothing from the refused frames.
    await receiver.waitMessage(accepted.at(-1)!);
    expect(receiver.messageUids()).toEqual(accepted);
    const big = receiver.frames.find((f) => f['message']?.messageId === accepted[1]);
    expect(big?.['message'].payload.searchableContent).toBe('😀'.repeat(MAX_CONTENT_LENGTH));
    // Both connections are still usable.
    expect(await request(sender, { type: 'ping' })).toMatchObject({ type: 'pong' });
    expect(sender.closeInfo).toBeUndefined();
    expect(receiver.closeInfo).toBeUndefined();
  });

  it('read: the conversation target is bounded like a send', async () => {
    const d = await t.device(r);
    expect(await request(d, { type: 'read', conv: group('g'.repeat(MAX_ID_LENGTH + 1)), timestamp: Date.now() })).toMatchObject(INVALID);
    expect(await request(d, { type: 'read', conv: group(g), timestamp: Date.now() })).toMatchObject({ type: 'read_ok' });
  });
});
