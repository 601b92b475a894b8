import { describe, expect, it } from 'vitest';
import { SwitchboardError } from '../../sdk/src/index.js';
import { fresh, getOne, group, MSG, single, text } from '../helpers/messages.js';
import { device, type WsClient } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';

/**
 * Multi-device delivery, device sends (same rules and codes as the admin send, idempotent by
 * clientMsgId) and transparent messages.
 */

async function expectNoMessage(c: WsClient, uid: number, markerUid: number): Promise<void> {
  const marker = await c.waitMessage(markerUid);
  const before = c.frames.slice(0, c.frames.indexOf(marker));
  expect(before.filter((f) => f['message']?.messageId === uid || f['messageUid'] === uid)).toEqual([]);
}

describe('devices', () => {
  const t = useServer();

  describe('multi-device', () => {
    it('every device of a user gets each push, raw and SDK alike, each once', async () => {
      const [a, b] = await t.users('a', 'b');
      const phone = await t.device(b, 'b-phone', { platform: 2 });
      const desk = t.sdk({ token: await t.token(b, 'b-desk', 3) });
      await desk.client.connect();
      const uids: number[] = [];
      for (let i = 0; i < 5; i++) uids.push((await t.admin.send(a, single(b), text(`m${i}`))).messageUid);
      await phone.waitMessage(uids[4]!);
      await desk.waitMessage(uids[4]!);
      expect(phone.messageUids()).toEqual(uids);
      expect(desk.messageUids()).toEqual(uids);
    });

    it("a device's send reaches itself, its user's other device and the receiver, as get_one", async () => {
      const [a, b] = await t.users('a', 'b');
      const b1 = await t.device(b, 'b1');
      const b2 = await t.device(b, 'b2');
      const ad = await t.device(a, 'a1');
      b1.send({ type: 'send', id: 'req-1', conv: single(a), payload: { type: 1, searchableContent: 'from my phone' } });
      const sent = await b1.waitType('sent');
      expect(Object.keys(sent).sort()).toEqual(['id', 'messageUid', 'timestamp', 'type']);
      expect(sent['id']).toBe('req-1');
      const m = await getOne(t.admin, sent['messageUid']);
      expect(m).toMatchObject({ sender: b, conv: single(a), timestamp: sent['timestamp'] });
      expect(m.payload['searchableContent']).toBe('from my phone');
      for (const d of [b1, b2, ad]) expect((await d.waitMessage(sent['messageUid']))['message']).toEqual(m);
      expect(b1.messageUids()).toEqual([sent['messageUid']]);
    });

    it('the SDK send resolves with the uid and the other device sees it', async () => {
      const [a, b] = await t.users('a', 'b');
      const b1 = t.sdk({ token: await t.token(b, 'b1') });
      await b1.client.connect();
      const b2 = await t.device(b, 'b2');
      const r = await b1.client.send(single(a), { type: 1, searchableContent: 'sdk' });
      expect(r.duplicate).toBe(false);
      const m = await getOne(t.admin, r.messageUid);
      expect((await b2.waitMessage(r.messageUid))['message']).toEqual(m);
      expect((await b1.waitMessage(r.messageUid)).message).toEqual(m);
    });

    it('a resend with the same clientMsgId is stored and delivered once (duplicate:true, same uid)', async () => {
      const [a, b] = await t.users('a', 'b');
      const b1 = await t.device(b, 'b1');
      const b2 = await t.device(b, 'b2');
      const ad = await t.device(a, 'a1');
      const frame = { type: 'send', conv: single(a), payload: text('once'), clientMsgId: 'cmid-1' };
      b1.send({ ...frame, id: 1 });
      const first = await b1.waitType('sent', (f) => f['id'] === 1);
      expect(first['duplicate']).toBeUndefined();
      b1.send({ ...frame, id: 2 });
      const second = await b1.waitType('sent', (f) => f['id'] === 2);
      expect(second).toEqual({ type: 'sent', id: 2, messageUid: first['messageUid'], timestamp: first['timestamp'], duplicate: true });
      // The other device of the same user resending it is a duplicate as well.
      b2.send({ ...frame, id: 'x' });
      expect(await b2.waitType('sent', (f) => f['id'] === 'x')).toMatchObject({ messageUid: first['messageUid'], duplicate: true });
      // Via the SDK too.
      const sdk = t.sdk({ token: await t.token(b, 'b3') });
      await sdk.client.connect();
      const again = await sdk.client.send(single(a), text('once'), { clientMsgId: 'cmid-1' });
      expect(again).toEqual({ messageUid: first['messageUid'], timestamp: first['timestamp'], duplicate: true });

      const marker = await t.admin.send(a, single(b), text('marker'));
      for (const d of [b1, b2, ad]) {
        await d.waitMessage(marker.messageUid);
        expect(d.messageUids().filter((u) => u === first['messageUid'])).toHaveLength(1);
      }
      // The same clientMsgId from another sender is a different message.
      ad.send({ ...frame, conv: single(b), id: 'other' });
      const other = await ad.waitType('sent', (f) => f['id'] === 'other');
      expect(other['messageUid']).not.toBe(first['messageUid']);
      expect(other['duplicate']).toBeUndefined();
    });
  });

  describe('device send rules: the admin send codes, with the request id echoed', () => {
    it('251 malformed payload/conv, 253 unknown target, 9 not in group, 241 muted group, 245 muted sender', async () => {
      const [a, b, o] = await t.users('a', 'b', 'o');
      const notMine = fresh('g');
      await t.admin.createGroup(notMine, o, [a]);
      const ch = fresh('ch');
      await t.admin.ok('/channel/create', { owner: o, name: 'ch', targetId: ch });
      const muted = fresh('g');
      await t.admin.createGroup(muted, o, [b]);
      await t.admin.ok('/group/modify', { operator: o, group_id: muted, type: 3, value: '1' });
      const bd = await t.device(b, 'b1');
      const ad = await t.device(a, 'a1');

      const cases: Array<[string, Record<string, unknown>, number]> = [
        ['bad-payload', { conv: single(a), payload: 'not an object' }, 251],
        ['bad-type', { conv: single(a), payload: { type: -1 } }, 251],
        ['no-conv', { payload: { type: 1 } }, 251],
        ['bad-cmid', { conv: single(a), payload: { type: 1 }, clientMsgId: 'x'.repeat(129) }, 251],
        ['ghost', { conv: single(fresh('ghost')), payload: { type: 1 } }, 253],
        ['no-group', { conv: group(fresh('nogroup')), payload: { type: 1 } }, 253],
        ['not-member', { conv: group(notMine), payload: { type: 1 } }, 9],
        ['muted-group', { conv: group(muted), payload: { type: 1 } }, 241],
        ['not-subscribed', { conv: { type: 3, target: ch, line: 0 }, payload: { type: 1 } }, 21],
      ];
      for (const [id, body, code] of cases) {
        bd.send({ type: 'send', id, ...body });
        const err = await bd.waitType('error', (f) => f['id'] === id, { label: `error for ${id}` });
        expect(err, id).toMatchObject({ type: 'error', id, code, msg: MSG[code] });
      }
      // A muted (status 1) sender: 245, and the connection stays (only status 2 revokes).
      await t.admin.ok('/user/update_block_status', { userId: b, status: 1 });
      bd.send({ type: 'send', id: 'blocked', conv: single(a), payload: { type: 1 } });
      expect(await bd.waitType('error', (f) => f['id'] === 'blocked')).toMatchObject({ code: 245, msg: MSG[245] });
      // Through the SDK the promise rejects with the code.
      const sdk = t.sdk({ token: await t.token(b, 'b-sdk') });
      await sdk.client.connect();
      const e = await sdk.client.send(single(a), { type: 1 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(SwitchboardError);
      expect((e as SwitchboardError).code).toBe(245);
      await t.admin.ok('/user/update_block_status', { userId: b, status: 0 });
      bd.send({ type: 'send', id: 'ok', conv: single(a), payload: text('allowed again') });
      const ok = await bd.waitType('sent', (f) => f['id'] === 'ok');

      // None of the refused sends produced a message anywhere.
      await ad.waitMessage(ok['messageUid']);
      expect(ad.messageUids()).toEqual([ok['messageUid']]);
      expect(bd.frames.filter((f) => f.type === 'message').map((f) => f['message'].messageId)).toEqual([ok['messageUid']]);
    });

    it('a device may send to a group it belongs to and a channel it owns; members get it', async () => {
      const [a, b] = await t.users('a', 'b');
      const g = fresh('g');
      await t.admin.createGroup(g, a, [b]);
      const ad = await t.device(a, 'a1');
      const bd = await t.device(b, 'b1');
      bd.send({ type: 'send', id: 'g', conv: group(g), payload: text('to group') });
      const s = await bd.waitType('sent', (f) => f['id'] === 'g');
      expect((await ad.waitMessage(s['messageUid']))['message']).toEqual(await getOne(t.admin, s['messageUid']));
    });
  });

  describe('transparent messages (persistFlag 4)', () => {
    it('reach only devices online at that moment, with the current cursor, and never replay', async () => {
      const [a, b] = await t.users('a', 'b');
      const before = await t.admin.send(a, single(b), text('stored'));
      const online = await t.device(b, 'b-online', { cursor: 0 });
      const synced = online.frames.find((x) => x.type === 'synced')!;
      const r = await t.admin.send(a, single(b), text('typing…', { persistFlag: 4 }));
      const f = await online.waitMessage(r.messageUid);
      expect(f).toMatchObject({ type: 'message', transparent: true, cursor: synced.cursor });
      expect(f['message']).toMatchObject({ messageId: r.messageUid, sender: a, conv: single(b), timestamp: r.timestamp });
      expect(f['message'].payload).toMatchObject({ persistFlag: 4, searchableContent: 'typing…' });

      // A device sends one too: the receiver's online device gets it.
      const ad = await t.device(a, 'a1');
      online.send({ type: 'send', id: 't', conv: single(a), payload: text('device typing', { persistFlag: 4 }) });
      const sent = await online.waitType('sent', (x) => x['id'] === 't');
      expect((await ad.waitMessage(sent['messageUid']))['transparent']).toBe(true);

      // Devices connecting later — from scratch or from an older cursor — never see either.
      const marker = await t.admin.send(a, single(b), text('marker'));
      for (const cursor of [0, synced.cursor! - 1]) {
        const later = await t.device(b, `b-later-${cursor}`, { cursor });
        const uids = later.messageUids();
        expect(uids).toContain(marker.messageUid);
        expect(uids).toContain(before.messageUid);
        expect(uids).not.toContain(r.messageUid);
        expect(uids).not.toContain(sent['messageUid']);
      }
      // The online device got the marker with a cursor larger than the one the transparent carried.
      const fm = await online.waitMessage(marker.messageUid);
      expect(fm.cursor).toBeGreaterThan(f.cursor!);
    });
  });
});
