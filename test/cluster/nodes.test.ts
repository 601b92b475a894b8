/**
 * Three `switchboard serve` processes started with one configuration on one PostgreSQL and one Redis
 * (issue 13, item 5): distinct leased node ids, any node answers any call, a write through one node
 * is read at once through the others, messages cross nodes, online status and cache invalidations are
 * cluster-wide. harness.ts says what the cluster is made of.
 */
import { describe, expect, it } from 'vitest';
import type { AdminClient } from '../helpers/admin-client.js';
import { createUsers, fresh, group, single, text } from '../helpers/messages.js';
import { cursorsOf, device, eventually, isNonDecreasing } from '../helpers/ws-client.js';
import { useCluster } from './harness.js';
import { textOf, useReceiver } from '../helpers/callbacks.js';

/** The node id a message uid carries (src/core/ids.ts: | ms | 5 bits node | 7 bits counter |). */
const nodeOfUid = (uid: number): number => Math.floor(uid / 128) % 32;

async function sendCode(admin: AdminClient, sender: string, conv: { type: number; target: string }, s: string): Promise<number> {
  return (await admin.post('/message/send', { sender, conv: { line: 0, ...conv }, payload: text(s) })).body.code;
}

describe('three nodes, one configuration, one PostgreSQL, one Redis', () => {
  const receiver = useReceiver();
  // Admin sends checked like a device's (trusted otherwise): the send rules are visible through them.
  const c = useCluster({ env: { SWITCHBOARD_ADMIN_STRICT_SEND: 'true' } });

  it('each node leases a node id of its own; message uids carry it', async () => {
    const ids = await Promise.all(c.nodes.map((n) => n.health()));
    expect(new Set(ids).size).toBe(3);
    const [a, b] = [fresh('a'), fresh('b')];
    await createUsers(c.nodes[0]!.admin, a, b);
    const uids: number[] = [];
    for (const n of c.nodes) {
      for (let i = 0; i < 20; i++) uids.push((await n.admin.send(a, single(b), text(`n${n.index}-${i}`))).messageUid);
      expect(new Set(uids.slice(-20).map(nodeOfUid))).toEqual(new Set([Number(ids[n.index]) - 1]));
    }
    expect(new Set(uids).size).toBe(uids.length);
  });

  it('a user created through one node is visible at once through every other', async () => {
    for (const [from, ...others] of [c.nodes, [c.nodes[1]!, c.nodes[2]!, c.nodes[0]!], [c.nodes[2]!, c.nodes[0]!, c.nodes[1]!]]) {
      const u = fresh('u');
      await from!.admin.createUser(u, { displayName: `made on ${from!.index}` });
      for (const n of others) {
        const info = await n.admin.ok<{ userId: string; displayName: string }>('/user/get_info', { userId: u });
        expect(info.displayName).toBe(`made on ${from!.index}`);
      }
      await others[0]!.admin.ok('/user/update', { userInfo: { userId: u, displayName: 'renamed' }, flag: 1 });
      expect((await from!.admin.ok<{ displayName: string }>('/user/get_info', { userId: u })).displayName).toBe('renamed');
    }
  });

  it('a message sent through node A reaches devices on B and C, once each, in cursor order', async () => {
    const [a, b, cc] = c.nodes;
    const [alice, bob, carol] = [fresh('alice'), fresh('bob'), fresh('carol')];
    await createUsers(a!.admin, alice, bob, carol);
    const g = fresh('g');
    await a!.admin.createGroup(g, alice, [bob, carol]);
    const bobOnB = await device(b!.url, b!.admin, bob);
    const carolOnC = await device(cc!.url, cc!.admin, carol);
    const sent: number[] = [];
    for (let i = 0; i < 10; i++) {
      sent.push((await a!.admin.send(alice, single(bob), text(`to bob ${i}`))).messageUid);
      sent.push((await a!.admin.send(alice, group(g), text(`to the group ${i}`))).messageUid);
    }
    for (const uid of sent) await bobOnB.waitMessage(uid);
    const toGroup = sent.filter((_, i) => i % 2 === 1);
    for (const uid of toGroup) await carolOnC.waitMessage(uid);
    expect(bobOnB.messageUids().filter((u) => sent.includes(u))).toEqual(sent);
    expect(carolOnC.messageUids().filter((u) => sent.includes(u))).toEqual(toGroup);
    expect(isNonDecreasing(cursorsOf(bobOnB.frames))).toBe(true);
    expect(isNonDecreasing(cursorsOf(carolOnC.frames))).toBe(true);
  });

  it('messages sent concurrently through all three nodes reach a device on each node, none lost, none twice', async () => {
    const [alice, bob] = [fresh('alice'), fresh('bob')];
    await createUsers(c.nodes[0]!.admin, alice, bob);
    const devices = await Promise.all(c.nodes.map((n) => device(n.url, n.admin, bob, `bob-on-${n.index}`)));
    const sent = (
      await Promise.all(
        c.nodes.map(async (n) => {
          const mine: number[] = [];
          for (let i = 0; i < 30; i++) mine.push((await n.admin.send(alice, single(bob), text(`via ${n.index}: ${i}`))).messageUid);
          return mine;
        }),
      )
    ).flat();
    for (const d of devices) {
      for (const uid of sent) await d.waitMessage(uid, { timeoutMs: 10_000 });
      const got = d.messageUids().filter((u) => sent.includes(u));
      expect(got.length).toBe(sent.length);
      expect(new Set(got).size).toBe(sent.length);
      expect(isNonDecreasing(cursorsOf(d.frames))).toBe(true);
    }
  });

  it('online status is cluster-wide: onlinestatus and online_count through any node', async () => {
    const dan = fresh('dan');
    await createUsers(c.nodes[0]!.admin, dan);
    for (const n of c.nodes) await device(n.url, n.admin, dan, `dan-on-${n.index}`);
    for (const n of c.nodes) {
      await eventually(async () => {
        const r = await n.admin.ok<{ sessions: Array<{ clientId: string }> }>('/user/onlinestatus', { userId: dan });
        return r.sessions.length === 3;
      }, `dan's three devices seen through node ${n.index}`);
      const r = await n.admin.ok<{ sessions: Array<{ clientId: string }> }>('/user/onlinestatus', { userId: dan });
      expect(r.sessions.map((s) => s.clientId).sort()).toEqual(['dan-on-0', 'dan-on-1', 'dan-on-2']);
    }
    const ids = (await Promise.all(c.nodes.map((n) => n.health()))).map(Number).sort();
    const counts = await c.nodes[1]!.admin.ok<Array<{ node: number; count: number }>>('/user/online_count', {});
    expect(counts.map((x) => x.node).sort()).toEqual(ids);
  });

  it('a user muted through one node can no longer send through any node, and sends again once that is lifted', async () => {
    const [eve, fay] = [fresh('eve'), fresh('fay')];
    await createUsers(c.nodes[0]!.admin, eve, fay);
    // Every node has eve's status in its send-rules cache.
    for (const n of c.nodes) expect(await sendCode(n.admin, eve, single(fay), 'warm')).toBe(0);
    await c.nodes[0]!.admin.ok('/user/update_block_status', { userId: eve, status: 1 });
    for (const n of c.nodes) expect(await sendCode(n.admin, eve, single(fay), 'muted')).toBe(245);
    // A refusal is decided in the write (the store reads the status there), so it holds at once on
    // every node; a lift reaches the other nodes' caches with the invalidation (a bus hop later).
    await c.nodes[2]!.admin.ok('/user/update_block_status', { userId: eve, status: 0 });
    expect(await sendCode(c.nodes[2]!.admin, eve, single(fay), 'free again')).toBe(0);
    for (const n of c.nodes) await eventually(async () => (await sendCode(n.admin, eve, single(fay), 'free again')) === 0, `eve sending through node ${n.index}`);
  });

  it('group membership changed through one node rules sends through the others', async () => {
    const [owner, gus, hal] = [fresh('owner'), fresh('gus'), fresh('hal')];
    await createUsers(c.nodes[0]!.admin, owner, gus, hal);
    const g = fresh('g');
    await c.nodes[0]!.admin.createGroup(g, owner, [gus, hal]);
    for (const n of c.nodes) expect(await sendCode(n.admin, hal, group(g), 'member')).toBe(0);
    await c.nodes[1]!.admin.ok('/group/member/del', { operator: owner, group_id: g, members: [hal] });
    for (const n of c.nodes) expect(await sendCode(n.admin, hal, group(g), 'removed')).not.toBe(0);
    // A device of gus on node 2 hears of it and of the next message.
    const gusOnC = await device(c.nodes[2]!.url, c.nodes[2]!.admin, gus);
    const m = await c.nodes[0]!.admin.send(owner, group(g), text('after'));
    await gusOnC.waitMessage(m.messageUid);
  });

  it('a callback target set through one node is used by every node, and its removal too', async () => {
    const [ivy, jon] = [fresh('ivy'), fresh('jon')];
    await createUsers(c.nodes[0]!.admin, ivy, jon);
    const listed = async (i: number): Promise<boolean> =>
      (await c.nodes[i]!.admin.ok<{ targets: Array<{ id: string }> }>('/callback/get_targets', {})).targets.some((t) => t.id === 'crm');
    await c.nodes[0]!.admin.ok('/callback/set_target', { id: 'crm', url: `${receiver.url}/cb`, commands: ['C2C.CallbackAfterSendMsg'] });
    for (const i of [1, 2]) await eventually(() => listed(i), `the target listed by node ${i}`);
    for (const n of c.nodes) {
      await n.admin.send(ivy, single(jon), text(`through ${n.index}`));
      await receiver.waitDelivered('C2C.CallbackAfterSendMsg', (b) => textOf(b) === `through ${n.index}`, { label: `the callback of a send through node ${n.index}`, timeoutMs: 10_000 });
    }
    await c.nodes[1]!.admin.ok('/callback/delete_target', { id: 'crm' });
    for (const i of [0, 2]) await eventually(async () => !(await listed(i)), `the target gone from node ${i}`);
  });
});
