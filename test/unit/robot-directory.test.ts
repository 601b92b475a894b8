/**
 * RobotService's directory (the routing of robot callbacks on the send path): loaded once, reloaded
 * only when routing may have changed — a robot created or changed (scope robot), a routed robot's
 * user changed (scope user), a bus gap — never for other users' changes; robot members of a group
 * remembered until the group's invalidation. Store reads are counted on a real in-memory SQLite store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BusGap } from '../../src/core/ports/bus.js';
import type { HubEvent } from '../../src/core/events.js';
import { RobotService } from '../../src/core/services/robots.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/** A bus that delivers in-process and can report a gap (as a networked bus does). */
class TestBus {
  private handlers: Array<(e: HubEvent) => void> = [];
  private gaps: Array<(g: BusGap) => void> = [];
  subscribe(h: (e: HubEvent) => void): () => void {
    this.handlers.push(h);
    return () => (this.handlers = this.handlers.filter((x) => x !== h));
  }
  onGap(h: (g: BusGap) => void): () => void {
    this.gaps.push(h);
    return () => (this.gaps = this.gaps.filter((x) => x !== h));
  }
  async publish(e: HubEvent): Promise<void> {
    for (const h of this.handlers) h(e);
  }
  gap(): void {
    for (const h of this.gaps) h({} as BusGap);
  }
  async close(): Promise<void> {}
}

describe('RobotService directory', () => {
  let store: SqliteStore;
  let bus: TestBus;
  let robots: RobotService;
  let loads = 0;
  let memberReads = 0;

  beforeEach(() => {
    store = new SqliteStore({ file: ':memory:', synchronous: 'NORMAL', nodeId: 0, commitMaxBatch: 64, commitMaxDelayMs: 0, inlineFanoutMax: 10 });
    const load = store.robots.robotsWithCallback.bind(store.robots);
    store.robots.robotsWithCallback = (limit: number) => (loads++, load(limit));
    const member = store.groups.getMember.bind(store.groups);
    store.groups.getMember = (g: string, u: string) => (memberReads++, member(g, u));
    loads = 0;
    memberReads = 0;
    bus = new TestBus();
    robots = new RobotService(store, bus as never);
  });
  afterEach(async () => {
    robots.close();
    await store.close();
  });

  const single = (target: string) => ({ type: 0, target });
  const group = (target: string) => ({ type: 1, target });

  it('with no robot: no posts, one load, then nothing more per send', async () => {
    for (let i = 0; i < 5; i++) expect(await robots.receivers('a', single('b'), [])).toEqual([]);
    expect(await robots.receivers('a', group('g'), [])).toEqual([]);
    expect(loads).toBe(1);
    expect(memberReads).toBe(0);
  });

  it('a robot created is routed at once; other users changing costs nothing; the robot destroyed stops routing', async () => {
    expect(await robots.receivers('a', single('bot'), [])).toEqual([]);
    await robots.create({ userId: 'bot', name: 'bot', profile: {}, callback: 'http://127.0.0.1:1/cb' });
    expect(await robots.receivers('a', single('bot'), [])).toEqual(['bot']);
    expect(await robots.receivers('bot', single('bot'), []), 'never the sender').toEqual([]);
    expect(await robots.callbackOf('bot')).toBe('http://127.0.0.1:1/cb');
    const before = loads;
    await bus.publish({ type: 'cache.invalidate', scope: 'user', id: 'someone-else' });
    await robots.receivers('a', single('bot'), []);
    expect(loads, 'a change of a user that is no routed robot does not reload').toBe(before);
    await store.users.destroyUser('bot');
    await bus.publish({ type: 'cache.invalidate', scope: 'user', id: 'bot' });
    expect(await robots.receivers('a', single('bot'), [])).toEqual([]);
    expect(await robots.callbackOf('bot')).toBeNull();
    expect(loads).toBe(before + 1);
  });

  it('group robot members are read once per group, until the group changes; toUsers restricts them', async () => {
    await robots.create({ userId: 'bot', name: 'bot', profile: {}, callback: 'http://127.0.0.1:1/cb' });
    await store.users.upsertUser('o', { name: 'o' });
    await store.groups.createGroup('g', { owner: 'o', name: 'G' }, [], 100);
    expect(await robots.receivers('o', group('g'), [])).toEqual([]);
    expect(await robots.receivers('o', group('g'), [])).toEqual([]);
    expect(memberReads).toBe(1);
    await store.groups.addMembers('g', [{ memberId: 'bot' }], 100);
    await bus.publish({ type: 'cache.invalidate', scope: 'group', id: 'g' });
    expect(await robots.receivers('o', group('g'), [])).toEqual(['bot']);
    expect(await robots.receivers('o', group('g'), ['o'])).toEqual([]);
    expect(await robots.receivers('o', group('g'), ['bot'])).toEqual(['bot']);
    expect(memberReads).toBe(2);
  });

  it('a bus gap drops everything: the next send reloads', async () => {
    await robots.create({ userId: 'bot', name: 'bot', profile: {}, callback: 'http://127.0.0.1:1/cb' });
    await robots.receivers('a', single('bot'), []);
    const before = loads;
    // A robot created on another node whose invalidation was lost in the gap.
    await store.robots.upsertRobot('bot2', { name: 'bot2', type: 1 }, { owner: 'bot2', secret: 's', callback: 'http://127.0.0.1:1/2', extra: '' });
    expect(await robots.receivers('a', single('bot2'), [])).toEqual([]);
    bus.gap();
    expect(await robots.receivers('a', single('bot2'), [])).toEqual(['bot2']);
    expect(loads).toBe(before + 1);
  });

  it('create refuses a callback that is not an http(s) URL and an empty name (invalid_parameter)', async () => {
    await expect(robots.create({ name: 'x', profile: {}, callback: 'ftp://h/x' })).rejects.toMatchObject({ kind: 'invalid_parameter' });
    await expect(robots.create({ name: '', profile: {} })).rejects.toMatchObject({ kind: 'invalid_parameter' });
  });
});
