import { describe, expect, it } from 'vitest';
import { createUsers, fresh, group, single, text } from '../helpers/messages.js';
import type { TestServer } from '../helpers/server.js';
import type { WsClient } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';

/**
 * A user who joins after a message was sent never learns of it — not live through its later recall,
 * update or delete, and not by replay — whether the audience is per-user rows (small group), a shared
 * timeline (large group) or everybody (broadcast).
 */

/** Frames of `c` about any of `uids` that arrived before the marker message. */
async function aboutBeforeMarker(c: WsClient, uids: number[], markerUid: number): Promise<unknown[]> {
  const marker = await c.waitMessage(markerUid);
  return c.frames.slice(0, c.frames.indexOf(marker)).filter((f) => uids.includes(f['message']?.messageId) || uids.includes(f['messageUid']));
}

async function groupScenario(t: TestServer, members: number): Promise<void> {
  const users = Array.from({ length: members }, () => fresh('m'));
  const joiner = fresh('late');
  await createUsers(t.admin, ...users, joiner);
  const g = fresh('g');
  await t.admin.createGroup(g, users[0]!, users.slice(1));
  const early = await t.device(users[1]!, 'early');
  const warm = await t.admin.send(users[0]!, group(g), text('warm the member cache'));
  await early.waitMessage(warm.messageUid);
  const toRecall = await t.admin.send(users[0]!, group(g), text('to recall'));
  const toUpdate = await t.admin.send(users[0]!, group(g), text('to update'));
  const toDelete = await t.admin.send(users[0]!, group(g), text('to delete'));
  const old = [warm, toRecall, toUpdate, toDelete].map((r) => r.messageUid);

  await t.admin.ok('/group/member/add', { operator: users[0], group_id: g, members: [{ member_id: joiner }] });
  const late = await t.device(joiner, 'late');
  await t.admin.ok('/message/recall', { operator: users[0], messageUid: toRecall.messageUid });
  await t.admin.ok('/message/update', { messageUid: toUpdate.messageUid, payload: text('updated'), distribute: 1 });
  await t.admin.ok('/message/delete', { messageUid: toDelete.messageUid });
  const marker = await t.admin.send(users[0]!, group(g), text('marker'));

  // The early member saw every change (the changes did go out) ...
  await early.waitType('recall', (f) => f['messageUid'] === toRecall.messageUid);
  await early.waitType('update', (f) => f['messageUid'] === toUpdate.messageUid);
  await early.waitType('delete', (f) => f['messageUid'] === toDelete.messageUid);
  await early.waitMessage(marker.messageUid);
  // ... the late one none of them, live ...
  expect(await aboutBeforeMarker(late, old, marker.messageUid)).toEqual([]);
  expect(late.messageUids()).toEqual([marker.messageUid]);
  // ... nor by replay from scratch.
  const replayed = await t.device(joiner, 'late-2', { cursor: 0 });
  expect(replayed.frames.filter((f) => old.includes(f['message']?.messageId) || old.includes(f['messageUid']))).toEqual([]);
  expect(replayed.messageUids()).toEqual([marker.messageUid]);
}

describe('late joiners, per-user rows (default inlineFanoutMax 10)', () => {
  const t = useServer();

  it('small group: a member added after a message gets none of its recall/update/delete', async () => {
    await groupScenario(t, 3);
  });
});

describe('late joiners, shared timelines (inlineFanoutMax 2)', () => {
  const t = useServer({ messaging: { inlineFanoutMax: 2 } });

  it('large group: a member added after a message gets none of its recall/update/delete', async () => {
    await groupScenario(t, 5);
  });

  it('broadcast: a user created after it does not get its recall or delete; an earlier user does', async () => {
    const [s, early] = await t.users('s', 'early');
    const ed = await t.device(early);
    const b1 = await t.admin.ok<{ messageUid: number }>('/message/broadcast', { sender: s, payload: text('b1') });
    const b2 = await t.admin.ok<{ messageUid: number }>('/message/broadcast', { sender: s, payload: text('b2') });
    await ed.waitMessage(b2.messageUid);

    const [newcomer] = await t.users('new');
    const nd = await t.device(newcomer);
    await t.admin.ok('/message/recall_broadcast', { operator: s, messageUid: b1.messageUid });
    await t.admin.ok('/message/delete_broadcast', { messageUid: b2.messageUid });
    const marker = await t.admin.send(s, single(newcomer), text('marker'));
    const early2 = await t.admin.send(s, single(early), text('marker'));

    await ed.waitType('recall', (f) => f['messageUid'] === b1.messageUid);
    await ed.waitType('delete', (f) => f['messageUid'] === b2.messageUid);
    await ed.waitMessage(early2.messageUid);
    expect(await aboutBeforeMarker(nd, [b1.messageUid, b2.messageUid], marker.messageUid)).toEqual([]);

    const replayed = await t.device(newcomer, 'replay', { cursor: 0 });
    expect(replayed.frames.filter((f) => [b1.messageUid, b2.messageUid].includes(f['message']?.messageId ?? f['messageUid']))).toEqual([]);
    expect(replayed.messageUids()).toEqual([marker.messageUid]);
  });
});
