import { describe, expect, it } from 'vitest';
import { channel, fresh, group, single, type Conv, text } from '../helpers/messages.js';
import type { TestServer } from '../helpers/server.js';
import { cursorsOf, device, eventually, isIncreasing, type Frame, type WsClient } from '../helpers/ws-client.js';
import { useGateways } from './gateway-harness.js';
import { useServer } from '../helpers/use-server.js';

/**
 * Former members of shared timelines (groups and channels above inlineFanoutMax, 2 here). A member
 * who leaves keeps the interval of its membership: replay gives it the messages sent meanwhile and
 * every later recall, update and delete of those messages. Live delivery must give an online former
 * member exactly the same frames — nothing of messages sent after it left — and a later member none of
 * the changes of messages sent before it joined.
 */

/** The message a frame is about (message frames and change frames alike). */
const about = (f: Frame): number | undefined => (f['message']?.messageId as number | undefined) ?? (f['messageUid'] as number | undefined);

/** `type:uid[:payload type:content]` of a frame, for readable comparisons. */
function brief(f: Frame): string {
  const m = f['message'] as { payload: { type: number; searchableContent: string } } | undefined;
  return `${f.type}:${about(f) ?? ''}${m ? `:${m.payload.type}:${m.payload.searchableContent}` : ''}`;
}

/** `type:uid@cursor`: which event a frame is, whatever the content. */
const position = (f: Frame): string => `${f.type}:${about(f) ?? ''}@${f.cursor ?? ''}`;

/** Frames of `d` after the one with cursor `from`, up to and including the message `untilUid`. */
async function liveAfter(d: WsClient, from: number, untilUid: number): Promise<Frame[]> {
  const end = d.frames.indexOf(await d.waitMessage(untilUid));
  const start = d.frames.findIndex((f) => f.cursor === from) + 1;
  expect(start, `a frame with cursor ${from}`).toBeGreaterThan(0);
  return d.frames.slice(start, end + 1);
}

/** A new device of `userId` replaying from `cursor`: its replayed frames up to the message `untilUid`. */
async function replayFrom(t: { url: string }, admin: TestServer['admin'], userId: string, cursor: number, untilUid: number): Promise<Frame[]> {
  const r = await device(t.url, admin, userId, fresh(`${userId}-replay`), { cursor });
  const synced = r.frames.findIndex((f) => f.type === 'synced');
  const replayed = r.frames.slice(1, synced);
  const end = replayed.findIndex((f) => f.type === 'message' && about(f) === untilUid);
  expect(end, `the replay reaches message ${untilUid}`).toBeGreaterThanOrEqual(0);
  return replayed.slice(0, end + 1);
}

/** A shared audience under test: where its messages go, who sends, how members come and go. */
interface SharedAudience {
  conv: Conv;
  owner: string;
  join(userId: string): Promise<void>;
  /** `leaver` stops being a member (for a dismiss or destroy, everybody does). */
  leave(leaver: string): Promise<void>;
  /** Whether messages can still be sent to it after `leave`. */
  readonly survives: boolean;
}

async function bigGroup(t: TestServer, how: 'kick' | 'quit' | 'dismiss', members: string[]): Promise<SharedAudience> {
  const [owner] = await t.users('o');
  const g = fresh('g');
  await t.admin.createGroup(g, owner, members);
  return {
    conv: group(g),
    owner,
    join: async (u) => {
      await t.admin.ok('/group/member/add', { operator: owner, group_id: g, members: [{ member_id: u }] });
    },
    leave: async (leaver) => {
      if (how === 'kick') await t.admin.ok('/group/member/del', { operator: owner, group_id: g, members: [leaver] });
      else if (how === 'quit') await t.admin.ok('/group/member/quit', { operator: leaver, group_id: g });
      else await t.admin.ok('/group/del', { operator: owner, group_id: g });
    },
    survives: how !== 'dismiss',
  };
}

async function bigChannel(t: TestServer, how: 'unsubscribe' | 'destroy', subscribers: string[]): Promise<SharedAudience> {
  const [owner] = await t.users('o');
  const ch = fresh('ch');
  await t.admin.ok('/channel/create', { owner, name: ch, targetId: ch });
  const subscribe = async (u: string, on: boolean): Promise<void> => {
    await t.admin.ok('/channel/subscribe', { channelId: ch, userId: u, subscribe: on ? 1 : 0 });
  };
  for (const u of subscribers) await subscribe(u, true);
  return {
    conv: channel(ch),
    owner,
    join: (u) => subscribe(u, true),
    leave: async (leaver) => {
      if (how === 'unsubscribe') await subscribe(leaver, false);
      else await t.admin.ok('/channel/destroy', { channelId: ch });
    },
    survives: how === 'unsubscribe',
  };
}

/**
 * `former` is a member while three messages are sent, then leaves while online; `late` joins after
 * them, online. The three messages are recalled, updated and deleted, and (when the audience still
 * exists) one more message, sent after the leave, is updated and recalled.
 */
async function scenario(t: TestServer, make: (members: string[]) => Promise<SharedAudience>): Promise<void> {
  const [a, b, former, late] = await t.users('a', 'b', 'former', 'late');
  // Three members besides the owner: above inlineFanoutMax 2 before and after the leave.
  const au = await make([a, b, former]);

  const df = await t.device(former);
  const toRecall = await t.admin.send(au.owner, au.conv, text('to recall'));
  const toUpdate = await t.admin.send(au.owner, au.conv, text('to update'));
  const toDelete = await t.admin.send(au.owner, au.conv, text('to delete'));
  const old = [toRecall, toUpdate, toDelete].map((r) => r.messageUid);
  const fromFormer = (await df.waitMessage(toDelete.messageUid)).cursor!;

  await au.join(late);
  const dl = await t.device(late);
  const fromLate = dl.lastCursor!;

  await au.leave(former);
  const after = au.survives ? await t.admin.send(au.owner, au.conv, text('after the leave')) : undefined;
  await t.admin.ok('/message/recall', { operator: au.owner, messageUid: toRecall.messageUid });
  await t.admin.ok('/message/update', { messageUid: toUpdate.messageUid, payload: text('updated'), distribute: 1 });
  await t.admin.ok('/message/delete', { messageUid: toDelete.messageUid });
  if (after) {
    await t.admin.ok('/message/update', { messageUid: after.messageUid, payload: text('after, updated'), distribute: 1 });
    await t.admin.ok('/message/recall', { operator: au.owner, messageUid: after.messageUid });
  }
  // Per-user order: once a marker arrives, every earlier event for that user has been handled.
  const markF = await t.admin.send(au.owner, single(former), text('marker'));
  const markL = await t.admin.send(au.owner, single(late), text('marker'));

  // The former member got the changes of the messages sent while it was a member, live, and nothing
  // of the message sent after it left ...
  const liveF = await liveAfter(df, fromFormer, markF.messageUid);
  expect(liveF.map(brief)).toEqual([
    `recall:${toRecall.messageUid}:80:`,
    `update:${toUpdate.messageUid}:1:updated`,
    `delete:${toDelete.messageUid}`,
    `message:${markF.messageUid}:1:marker`,
  ]);
  if (after) expect(df.frames.filter((f) => about(f) === after.messageUid)).toEqual([]);
  expect(isIncreasing(cursorsOf(liveF))).toBe(true);
  // ... exactly what a replay from its earlier cursor gives.
  expect(await replayFrom(t, t.admin, former, fromFormer, markF.messageUid)).toEqual(liveF);

  // The later member got no change of a message sent before it joined; the later message and its
  // changes, yes (unless the audience is gone) — live as by replay.
  const liveL = await liveAfter(dl, fromLate, markL.messageUid);
  expect(liveL.filter((f) => old.includes(about(f) ?? 0))).toEqual([]);
  expect(liveL.map(brief)).toEqual([
    ...(after
      ? [`message:${after.messageUid}:1:after the leave`, `update:${after.messageUid}:1:after, updated`, `recall:${after.messageUid}:80:`]
      : []),
    `message:${markL.messageUid}:1:marker`,
  ]);
  // Replay shows each message as it is now (the later message is recalled by then): the same events,
  // at the same cursors.
  expect((await replayFrom(t, t.admin, late, fromLate, markL.messageUid)).map(position)).toEqual(liveL.map(position));
}

describe('former members of shared timelines (inlineFanoutMax 2)', () => {
  const t = useServer({ messaging: { inlineFanoutMax: 2 } });
  const gateways = useGateways(t);

  it('a member removed from a large group gets, live, the changes of messages sent while a member, and nothing after', async () => {
    await scenario(t, (m) => bigGroup(t, 'kick', m));
  });

  it('a member who quits a large group: the same', async () => {
    await scenario(t, (m) => bigGroup(t, 'quit', m));
  });

  it('the members of a dismissed large group still get the changes of its messages live', async () => {
    await scenario(t, (m) => bigGroup(t, 'dismiss', m));
  });

  it('a subscriber who unsubscribes from a large channel: the same', async () => {
    await scenario(t, (m) => bigChannel(t, 'unsubscribe', m));
  });

  it('the subscribers of a destroyed large channel still get the changes of its messages live', async () => {
    await scenario(t, (m) => bigChannel(t, 'destroy', m));
  });

  it('left and joined again: live changes follow each interval, as replay does', async () => {
    const [a, b, r] = await t.users('a', 'b', 'r');
    const au = await bigGroup(t, 'kick', [a, b, r]);
    const dr = await t.device(r);
    const first = await t.admin.send(au.owner, au.conv, text('first stay'));
    await dr.waitMessage(first.messageUid);
    await au.leave(r);
    const away = await t.admin.send(au.owner, au.conv, text('while away'));
    await au.join(r);
    const second = await t.admin.send(au.owner, au.conv, text('second stay'));
    const from = (await dr.waitMessage(second.messageUid)).cursor!;
    await t.admin.ok('/message/recall', { operator: au.owner, messageUid: away.messageUid });
    await t.admin.ok('/message/recall', { operator: au.owner, messageUid: first.messageUid });
    // A marker between the two recalls: the second one's read-back through replay must not be what
    // brings the first.
    const mark1 = await t.admin.send(au.owner, single(r), text('marker 1'));
    await t.admin.ok('/message/recall', { operator: au.owner, messageUid: second.messageUid });
    const mark = await t.admin.send(au.owner, single(r), text('marker 2'));
    const live = await liveAfter(dr, from, mark.messageUid);
    expect(live.map(brief)).toEqual([
      `recall:${first.messageUid}:80:`,
      `message:${mark1.messageUid}:1:marker 1`,
      `recall:${second.messageUid}:80:`,
      `message:${mark.messageUid}:1:marker 2`,
    ]);
    expect(dr.frames.filter((f) => about(f) === away.messageUid)).toEqual([]);
    expect(await replayFrom(t, t.admin, r, from, mark.messageUid)).toEqual(live);
  });

  it('while the audience loads, a former member’s later events wait behind a change that may reach it', async () => {
    const [a, b, x] = await t.users('a', 'b', 'x');
    const au = await bigGroup(t, 'kick', [a, b, x]);
    const m1 = await t.admin.send(au.owner, au.conv, text('while a member'));
    await au.leave(x);
    // A node that has never loaded the group: its first event of it waits for the load.
    const h = await gateways();
    const dx = await device(h.url, t.admin, x);
    const from = dx.lastCursor!;
    const gate = h.faults.hold('groups', 'memberSeqs', (args) => args[0] === au.conv.target);

    await t.admin.ok('/message/recall', { operator: au.owner, messageUid: m1.messageUid });
    await gate.reached;
    const mark = await t.admin.send(au.owner, single(x), text('after the recall'));
    // The recall is parked and the marker held for x (its past groups name the group) ...
    await eventually(async () => h.gateway.pendingEvents === 2, 'the recall parked and the marker held');
    expect(dx.frames.filter((f) => f.type !== 'hello' && f.type !== 'synced')).toEqual([]);
    gate.release();
    // ... and both arrive in order once the members are known.
    const live = await liveAfter(dx, from, mark.messageUid);
    expect(live.map(brief)).toEqual([`recall:${m1.messageUid}:80:`, `message:${mark.messageUid}:1:after the recall`]);
    expect(await replayFrom(h, t.admin, x, from, mark.messageUid)).toEqual(live);
  });
});
