/**
 * The Presence contract (src/core/ports/presence.ts), run against every backend: in memory (one node)
 * and Redis (test/contract/presence.test.ts). Writes never wait; the Redis backend's are in flight when
 * `connected` returns, so reads are retried until they see them (`eventually`), never slept for.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Presence, SessionInfo } from '../../src/core/ports/presence.js';
import { eventually } from '../helpers/ws-client.js';

export type PresenceFactory = (nodeId: number) => Promise<{ presence: Presence; cleanup: () => Promise<void> }>;

const s = (userId: string, clientId: string, node: number, connectedAt = 1000): SessionInfo => ({ userId, clientId, platform: 1, connectedAt, node });

export function presenceContract(name: string, factory: PresenceFactory): void {
  describe(`Presence contract: ${name}`, () => {
    let p: Presence;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ presence: p, cleanup } = await factory(3));
    });
    afterEach(async () => {
      await cleanup();
    });

    it('records connections and answers per user, per node and in pages', async () => {
      p.connected('k1', s('alice', 'phone', 3, 1));
      p.connected('k2', s('alice', 'laptop', 3, 2));
      p.connected('k3', s('bob', 'phone', 3, 3));
      await eventually(async () => (await p.list(0, 10)).total === 3, 'three sessions');
      expect((await p.sessions('alice')).map((x) => x.clientId).sort()).toEqual(['laptop', 'phone']);
      expect(await p.sessions('bob')).toEqual([s('bob', 'phone', 3, 3)]);
      expect(await p.sessions('nobody')).toEqual([]);
      expect(await p.counts()).toEqual([{ node: 3, count: 3 }]);
      const first = await p.list(0, 2);
      const second = await p.list(2, 2);
      expect(first.total).toBe(3);
      expect(first.sessions).toHaveLength(2);
      expect(second.sessions).toHaveLength(1);
      const all = [...first.sessions, ...second.sessions].map((x) => `${x.userId}/${x.clientId}`).sort();
      expect(all).toEqual(['alice/laptop', 'alice/phone', 'bob/phone']);
      expect(await p.list(0, 10, 3)).toEqual({ sessions: expect.any(Array), total: 3 });
      expect(await p.list(0, 10, 4)).toEqual({ sessions: [], total: 0 });
      expect(await p.list(5, 10)).toEqual({ sessions: [], total: 3 });
    });

    it('forgets a disconnected session; an unknown key is harmless; this node is listed with 0', async () => {
      p.connected('k1', s('alice', 'phone', 3));
      p.connected('k2', s('alice', 'laptop', 3));
      p.disconnected('k1');
      p.disconnected('k1');
      p.disconnected('never-connected');
      await eventually(async () => (await p.sessions('alice')).length === 1, 'one session left');
      expect((await p.sessions('alice'))[0]!.clientId).toBe('laptop');
      p.disconnected('k2');
      await eventually(async () => (await p.list(0, 10)).total === 0, 'no session');
      expect(await p.sessions('alice')).toEqual([]);
      expect(await p.counts()).toEqual([{ node: 3, count: 0 }]);
    });

    it('two devices of one user with the same client id on two connections are two sessions', async () => {
      p.connected('k1', s('carol', 'same', 3, 1));
      p.connected('k2', s('carol', 'same', 3, 2));
      await eventually(async () => (await p.sessions('carol')).length === 2, 'two sessions');
      p.disconnected('k1');
      await eventually(async () => (await p.sessions('carol')).length === 1, 'one session');
    });
  });
}
