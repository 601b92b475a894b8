import { describe, expect, it } from 'vitest';
import type { Audience } from '../../src/core/ports/store.js';
import { createUsers, fresh, group, single, text } from '../helpers/messages.js';
import { connectRaw, cursorsOf, device, eventually, isIncreasing, withTimeout, WsClient, wsUrl } from '../helpers/ws-client.js';
import { useGateways } from './gateway-harness.js';
import { useServer } from '../helpers/use-server.js';

/**
 * The bus → socket pump (delivery/fanout.ts) under failure and load: audience loads that fail or wait,
 * the bound on waiting events, the member-bounded audience cache, lazy serialisation, a throwing event,
 * and a shutdown racing an upgrade. Groups above `inlineFanoutMax` (2 here) are shared audiences whose
 * members the gateway loads; faults go into a second gateway's store (gateway-harness.ts).
 */

const isGroup = (g: string) => (args: unknown[]) => args[0] === g;

describe('fan-out', () => {
  const t = useServer({ messaging: { inlineFanoutMax: 2 } });
  const gw = useGateways(t);

  /** A shared-audience group of `owner` and `members`, and an outsider; all users created. */
  async function bigGroup(n = 3): Promise<{ g: string; owner: string; members: string[]; outsider: string }> {
    const owner = fresh('o');
    const members = Array.from({ length: n }, () => fresh('m'));
    const outsider = fresh('x');
    await createUsers(t.admin, owner, ...members, outsider);
    const g = fresh('g');
    await t.admin.createGroup(g, owner, members);
    return { g, owner, members, outsider };
  }

  describe('audience loads that fail', () => {
    it('a load that fails once is retried and the event delivered live', async () => {
      const h = await gw({ audienceRetryDelaysMs: [10, 10] });
      const { g, owner, members } = await bigGroup();
      const devs = await Promise.all(members.map((m) => device(h.url, t.admin, m)));
      const fault = h.faults.failNext('groups', 'memberSeqs', 1, isGroup(g));
      const r = await t.admin.send(owner, group(g), text('after one failure'));
      for (const d of devs) await d.waitMessage(r.messageUid);
      expect(fault.failed).toBe(1);
      for (const d of devs) expect(d.closeInfo).toBeUndefined();
    });

    it('a load that keeps failing closes the members’ connections with 4010; an outsider stays; they resync from their cursor', async () => {
      const h = await gw({ audienceRetryDelaysMs: [5, 5] });
      const { g, owner, members, outsider } = await bigGroup();
      const devs = await Promise.all(members.map((m) => device(h.url, t.admin, m)));
      const od = await device(h.url, t.admin, outsider);
      const fault = h.faults.failNext('groups', 'memberSeqs', 1000, isGroup(g));
      const r = await t.admin.send(owner, group(g), text('cannot load'));
      for (const d of devs) {
        const info = await withTimeout(d.closed, 5000, 'the 4010 close');
        expect(info.code).toBe(4010);
        expect(d.messageUids()).not.toContain(r.messageUid);
      }
      expect(fault.failed).toBe(3); // the first attempt and both retries
      // The outsider's group list shows it is not a member: it is not closed, and still served.
      const x1 = await t.admin.send(owner, single(outsider), text('to the outsider'));
      await od.waitMessage(x1.messageUid);
      expect(od.closeInfo).toBeUndefined();

      // Each member reconnects with the cursor it had and gets the event from the store.
      h.faults.restore('groups', 'memberSeqs');
      for (const [i, m] of members.entries()) {
        const back = await device(h.url, t.admin, m, `${m}-back`, { cursor: devs[i]!.lastCursor });
        expect(back.messageUids()).toEqual([r.messageUid]);
      }
    });
  });

  describe('order while an audience loads', () => {
    it('events for users the load cannot concern go out at once; a member’s events wait and follow in order', async () => {
      const h = await gw();
      const { g, owner, members, outsider } = await bigGroup();
      const member = members[0]!;
      const md = await device(h.url, t.admin, member);
      const od = await device(h.url, t.admin, outsider);
      const gate = h.faults.hold('groups', 'memberSeqs', isGroup(g));

      const gm = await t.admin.send(owner, group(g), text('group, loading'));
      await gate.reached;
      const toMember = await t.admin.send(owner, single(member), text('to the member, after the group message'));
      const toOutsider = await t.admin.send(owner, single(outsider), text('to the outsider'));
      // The outsider is not held up by the load...
      await od.waitMessage(toOutsider.messageUid);
      // ...while the group message and the member's later message wait (server side: 1 parked, 1 held).
      expect(h.gateway.pendingEvents).toBe(2);
      expect(md.messageUids()).toEqual([]);

      gate.release();
      await md.waitMessage(toMember.messageUid);
      expect(md.messageUids()).toEqual([gm.messageUid, toMember.messageUid]);
      expect(isIncreasing(cursorsOf(md.frames.slice(2)))).toBe(true);
      expect(od.messageUids()).toEqual([toOutsider.messageUid]);
      await eventually(async () => h.gateway.pendingEvents === 0, 'nothing left waiting');
    });

    it('two groups loading, the later one first: a member gets both and the event between them in cursor order', async () => {
      const h = await gw();
      const a = await bigGroup();
      const member = a.members[0]!;
      const g2 = fresh('g');
      await t.admin.createGroup(g2, a.owner, [member, ...a.members.slice(1)]);
      const md = await device(h.url, t.admin, member);
      const gate1 = h.faults.hold('groups', 'memberSeqs', isGroup(a.g));
      const first = await t.admin.send(a.owner, group(a.g), text('group 1, loading'));
      await gate1.reached;
      const between = await t.admin.send(a.owner, single(member), text('between the two group messages'));
      const gate2 = h.faults.hold('groups', 'memberSeqs', isGroup(g2));
      const second = await t.admin.send(a.owner, group(g2), text('group 2, loading'));
      await gate2.reached;
      expect(h.gateway.pendingEvents).toBe(3);
      // The later group's members arrive first, then the earlier group's.
      gate2.release();
      await eventually(async () => h.gateway.pendingEvents === 3, 'the second group loaded, still behind the first');
      gate1.release();
      await md.waitMessage(second.messageUid);
      expect(md.messageUids(), 'nothing dropped, in cursor order').toEqual([first.messageUid, between.messageUid, second.messageUid]);
      expect(isIncreasing(cursorsOf(md.frames.slice(2)))).toBe(true);
      await eventually(async () => h.gateway.pendingEvents === 0, 'nothing left waiting');
    });

    it('past maxWaitingEvents: a held user is closed with 4010, then an event that cannot be parked closes whom it might reach', async () => {
      const h = await gw({ maxWaitingEvents: 2 });
      const { g, owner, members, outsider } = await bigGroup();
      const [m1, m2] = [members[0]!, members[1]!];
      const d1 = await device(h.url, t.admin, m1);
      const d2 = await device(h.url, t.admin, m2);
      const od = await device(h.url, t.admin, outsider);
      const gate = h.faults.hold('groups', 'memberSeqs', isGroup(g));

      const gm1 = await t.admin.send(owner, group(g), text('parked'));
      await gate.reached;
      const a = await t.admin.send(owner, single(m1), text('held for m1'));
      expect(h.gateway.pendingEvents).toBe(2);
      // A third waiting event would pass the bound: m1's connection is closed to resync.
      const b = await t.admin.send(owner, single(m1), text('over the bound'));
      expect((await withTimeout(d1.closed, 5000, 'm1 closed')).code).toBe(4010);
      expect(d1.messageUids()).toEqual([]);
      // m1's held events were dropped with it; the parked one remains: one slot is free again.
      const gm2 = await t.admin.send(owner, group(g), text('parked too'));
      expect(h.gateway.pendingEvents).toBe(2);
      const gm3 = await t.admin.send(owner, group(g), text('cannot be parked'));
      // It might reach any member: m2 is closed; the outsider certainly not, and stays served.
      expect((await withTimeout(d2.closed, 5000, 'm2 closed')).code).toBe(4010);
      const x = await t.admin.send(owner, single(outsider), text('outsider'));
      await od.waitMessage(x.messageUid);
      expect(od.closeInfo).toBeUndefined();

      gate.release();
      await eventually(async () => h.gateway.pendingEvents === 0, 'the parked events delivered');
      // Nothing was lost: each member resyncs from the cursor it had.
      const back1 = await device(h.url, t.admin, m1, 'back1', { cursor: d1.lastCursor });
      expect(back1.messageUids()).toEqual([gm1.messageUid, a.messageUid, b.messageUid, gm2.messageUid, gm3.messageUid]);
      const back2 = await device(h.url, t.admin, m2, 'back2', { cursor: d2.lastCursor });
      expect(back2.messageUids()).toEqual([gm1.messageUid, gm2.messageUid, gm3.messageUid]);
    });
  });

  it('the audience cache is bounded by total members; a larger audience is delivered without being kept', async () => {
    const h = await gw({ audienceCacheMaxMembers: 5 });
    const g4 = await bigGroup(3); // 4 members with the owner
    const g3 = await bigGroup(2); // 3
    const g7 = await bigGroup(6); // 7: over the bound on its own
    const [d4, d3, d7] = (await Promise.all([g4, g3, g7].map((x) => device(h.url, t.admin, x.members[0]!)))) as [WsClient, WsClient, WsClient];

    const r4 = await t.admin.send(g4.owner, group(g4.g), text('four'));
    await d4.waitMessage(r4.messageUid);
    expect(h.gateway.cachedMembers).toBe(4);
    const r3 = await t.admin.send(g3.owner, group(g3.g), text('three'));
    await d3.waitMessage(r3.messageUid);
    expect(h.gateway.cachedMembers).toBe(3); // 4 + 3 > 5: the least recently used (g4) was forgotten
    const r7 = await t.admin.send(g7.owner, group(g7.g), text('seven'));
    await d7.waitMessage(r7.messageUid);
    expect(h.gateway.cachedMembers).toBe(3);
    // g4 is loaded again when needed, and still delivered.
    const r4b = await t.admin.send(g4.owner, group(g4.g), text('four again'));
    await d4.waitMessage(r4b.messageUid);
    expect(h.gateway.cachedMembers).toBe(4);
  });

  it('serialises an event only when a connection here receives it, and once for all of them', async () => {
    const h = await gw();
    const { g, owner, members, outsider } = await bigGroup();
    const od = await device(h.url, t.admin, outsider); // online, but in none of the audiences below
    const base = h.serialised();
    for (let i = 0; i < 3; i++) await t.admin.send(owner, group(g), text(`nobody here ${i}`));
    await t.admin.send(owner, single(members[0]!), text('offline 1:1'));
    // An event for the outsider marks the point where the events above were all handled.
    const marker = await t.admin.send(owner, single(outsider), text('marker'));
    await od.waitMessage(marker.messageUid);
    expect(h.serialised() - base).toBe(1); // the marker only

    const devs = await Promise.all(members.map((m) => device(h.url, t.admin, m)));
    const before = h.serialised();
    const r = await t.admin.send(owner, group(g), text('three members here'));
    const frames = await Promise.all(devs.map((d) => d.waitMessage(r.messageUid)));
    expect(h.serialised() - before).toBe(1);
    for (const f of frames) expect(f).toEqual(frames[0]);
  });

  it('an event that throws while handled is logged and skipped; the next ones are delivered', async () => {
    const h = await gw();
    const [a, b] = await t.users('a', 'b');
    const d = await device(h.url, t.admin, b);
    const main = await t.device(b, 'main');
    // Malformed events published on the bus: every gateway's pump must survive them.
    await t.server.hub.bus.publish({ type: 'sync', audience: null as unknown as Audience, event: { seq: 1, type: 'message', uid: 1 } });
    await t.server.hub.bus.publish({ type: 'transparent', audience: null as unknown as Audience, message: null as never });
    const m = await t.admin.send(a, single(b), text('after the bad events'));
    await d.waitMessage(m.messageUid);
    await main.waitMessage(m.messageUid);
    expect(d.messageUids()).toEqual([m.messageUid]);
  });

  it('a frame that cannot be written closes only the connections it was for, with 1011', async () => {
    const h = await gw();
    const [a, b, c] = await t.users('a', 'b', 'c');
    const db = await device(h.url, t.admin, b);
    const dc = await device(h.url, t.admin, c);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    await t.server.hub.bus.publish({
      type: 'sync',
      audience: { kind: 'users', users: [b] },
      event: { seq: Number.MAX_SAFE_INTEGER, type: 'clear', uid: 0, conv: cyclic as never, start: 0, end: 0 },
    });
    expect((await withTimeout(db.closed, 5000, 'the 1011 close')).code).toBe(1011);
    const m = await t.admin.send(a, single(c), text('still delivered'));
    await dc.waitMessage(m.messageUid);
  });

  describe('shutdown racing an upgrade', () => {
    it('an upgrade waiting on its token check when close() runs is refused, never registered', async () => {
      const h = await gw();
      const [u] = await t.users('u');
      const token = await t.token(u, 'c1');
      const gate = h.faults.hold('tokens', 'findToken');
      const c = new WsClient(wsUrl(h.url, token));
      await gate.reached;
      h.gateway.close();
      gate.release();
      await withTimeout(c.closed, 5000, 'the refusal');
      await expect(c.opened).rejects.toThrow();
      expect(h.gateway.registry.size).toBe(0);
    });

    it('an upgrade waiting on its second token check when close() runs is closed with 1001', async () => {
      const h = await gw();
      const [u] = await t.users('u');
      const token = await t.token(u, 'c1');
      let calls = 0;
      const gate = h.faults.hold('tokens', 'findToken', () => ++calls === 2);
      const c = new WsClient(wsUrl(h.url, token));
      await gate.reached;
      h.gateway.close();
      gate.release();
      expect((await withTimeout(c.closed, 5000, 'the close')).code).toBe(1001);
      expect(c.frames).toEqual([]);
      expect(h.gateway.registry.size).toBe(0);
    });
  });

  it('still serves normally through the harness (sanity)', async () => {
    const h = await gw();
    const [a, b] = await t.users('a', 'b');
    const d = await connectRaw(h.url, await t.token(b, 'c1'));
    const m = await t.admin.send(a, single(b), text('hi'));
    await d.waitMessage(m.messageUid);
  });
});
