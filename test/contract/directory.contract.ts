/**
 * Contract of the store parts behind Wildfire's robot, device and group-member routes (issue 12):
 * RobotStore, DeviceStore, GroupStore.updateMember / groupsOfUserByType and UserStore.usersByEmail,
 * run unchanged on every store backend (directory.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/ports/store.js';
import { hashToken, newToken } from '../../src/core/tokens.js';
import { expectCoreError, type StoreFactory } from './store.contract.js';

const MAX = 100;

export function directoryContract(name: string, factory: StoreFactory): void {
  describe(`Directory contract (robots, devices, members, email): ${name}`, () => {
    let s: Store;
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      const made = await factory({ inlineFanoutMax: 10 });
      s = made.store;
      cleanup = made.cleanup;
    });
    afterEach(async () => {
      await cleanup?.();
    });
    const user = (id: string, extra: Record<string, string> = {}) => s.users.upsertUser(id, { name: `name-${id}`, ...extra });

    describe('robots', () => {
      it('upsertRobot creates the user (type 1) and the record in one command; an update overwrites both', async () => {
        const r = await s.robots.upsertRobot('bot', { name: 'Bot', displayName: 'B' }, { owner: 'o', secret: 's1', callback: 'http://x/cb', extra: 'e' });
        expect(r).toEqual({ userId: 'bot', owner: 'o', secret: 's1', callback: 'http://x/cb', extra: 'e', state: 0 });
        expect(await s.users.getUser({ userId: 'bot' })).toMatchObject({ name: 'Bot', displayName: 'B', type: 1 });
        expect(await s.robots.getRobot('bot')).toEqual(r);
        await s.robots.upsertRobot('bot', { name: 'Bot2' }, { owner: 'bot', secret: 's2', callback: '', extra: '' });
        expect(await s.robots.getRobot('bot')).toEqual({ userId: 'bot', owner: 'bot', secret: 's2', callback: '', extra: '', state: 0 });
        expect((await s.users.getUser({ userId: 'bot' }))?.name).toBe('Bot2');
      });

      it('a taken name fails the whole command (no user, no record); robotsWithCallback lists only robots with a callback', async () => {
        await user('u');
        await expectCoreError(s.robots.upsertRobot('bot', { name: 'name-u' }, { owner: 'bot', secret: 's', callback: 'http://x', extra: '' }), 'name_taken');
        expect(await s.users.getUser({ userId: 'bot' })).toBeNull();
        expect(await s.robots.getRobot('bot')).toBeNull();
        await s.robots.upsertRobot('b1', { name: 'b1' }, { owner: 'b1', secret: 's', callback: 'http://x/1', extra: '' });
        await s.robots.upsertRobot('b2', { name: 'b2' }, { owner: 'b2', secret: 's', callback: '', extra: '' });
        await s.robots.upsertRobot('b3', { name: 'b3' }, { owner: 'b3', secret: 's', callback: 'http://x/3', extra: '' });
        expect((await s.robots.robotsWithCallback(MAX)).map((r) => r.userId)).toEqual(['b1', 'b3']);
        expect((await s.robots.robotsWithCallback(1)).map((r) => r.userId)).toEqual(['b1']);
      });

      it('destroyUser removes the robot record; getRobot of a plain user is null', async () => {
        await user('plain');
        expect(await s.robots.getRobot('plain')).toBeNull();
        await s.robots.upsertRobot('bot', { name: 'bot' }, { owner: 'bot', secret: 's', callback: 'http://x', extra: '' });
        await s.users.destroyUser('bot');
        expect(await s.robots.getRobot('bot')).toBeNull();
        expect(await s.robots.robotsWithCallback(MAX)).toEqual([]);
        // Created again as a plain user: no robot record comes back.
        await user('bot');
        expect(await s.robots.getRobot('bot')).toBeNull();
      });
    });

    describe('devices', () => {
      it('upsertDevice creates a user of type 2 and the device; an update replaces owners and extra and keeps the secret', async () => {
        const d = await s.devices.upsertDevice('lamp', { owners: ['a', 'b', 'a'], extra: 'x' }, 'secret-1');
        expect(d).toMatchObject({ deviceId: 'lamp', owners: ['a', 'b'], extra: 'x', secret: 'secret-1', state: 0 });
        expect(await s.users.getUser({ userId: 'lamp' })).toMatchObject({ type: 2, name: 'lamp' });
        const d2 = await s.devices.upsertDevice('lamp', { owners: ['c'], extra: '' }, 'secret-2');
        expect(d2).toMatchObject({ owners: ['c'], extra: '', secret: 'secret-1' });
        expect(await s.devices.getDevice('lamp')).toEqual(d2);
        expect((await s.devices.devicesOfUser('c')).map((x) => x.deviceId)).toEqual(['lamp']);
        expect(await s.devices.devicesOfUser('a')).toEqual([]);
        expect(await s.devices.getDevice('nope')).toBeNull();
      });

      it('refuses the id of a user that is not a device (no_right), changing nothing', async () => {
        await user('alice');
        await expectCoreError(s.devices.upsertDevice('alice', { owners: [], extra: '' }, 's'), 'no_right');
        expect(await s.devices.getDevice('alice')).toBeNull();
        expect((await s.users.getUser({ userId: 'alice' }))?.type).toBe(0);
      });

      it("destroyUser of the device removes it and its ownerships; of an owner, that owner's ownerships", async () => {
        await user('o1');
        await user('o2');
        await s.devices.upsertDevice('d1', { owners: ['o1', 'o2'], extra: '' }, 's');
        await s.devices.upsertDevice('d2', { owners: ['o1'], extra: '' }, 's');
        await s.users.destroyUser('o1');
        expect((await s.devices.getDevice('d1'))?.owners).toEqual(['o2']);
        expect(await s.devices.devicesOfUser('o1')).toEqual([]);
        await s.users.destroyUser('d1');
        expect(await s.devices.getDevice('d1')).toBeNull();
        expect(await s.devices.devicesOfUser('o2')).toEqual([]);
        const tok = hashToken(newToken());
        await s.tokens.insertToken(tok, { userId: 'd2', clientId: 'd2', platform: 0, expiresAt: Date.now() + 60_000 });
        await s.users.destroyUser('d2');
        expect(await s.tokens.findToken(tok, Date.now())).toBeNull();
      });
    });

    describe('group members', () => {
      it('updateMember sets alias and/or extra; not_exist for an unknown group, not_in_group for a non-member or removed one', async () => {
        for (const id of ['o', 'a', 'x']) await user(id);
        await s.groups.createGroup('g', { owner: 'o', name: 'G' }, [{ memberId: 'a' }], MAX);
        expect(await s.groups.updateMember('g', 'a', { alias: 'Al' })).toMatchObject({ memberId: 'a', alias: 'Al', extra: '', type: 0 });
        expect(await s.groups.updateMember('g', 'a', { extra: 'e' })).toMatchObject({ alias: 'Al', extra: 'e' });
        expect(await s.groups.updateMember('g', 'o', { alias: '' })).toMatchObject({ memberId: 'o', alias: '', type: 2 });
        expect(await s.groups.getMember('g', 'a')).toMatchObject({ alias: 'Al', extra: 'e' });
        await expectCoreError(s.groups.updateMember('nog', 'a', { alias: 'x' }), 'not_exist');
        await expectCoreError(s.groups.updateMember('g', 'x', { alias: 'x' }), 'not_in_group');
        await s.groups.removeMembers('g', ['a']);
        await expectCoreError(s.groups.updateMember('g', 'a', { alias: 'x' }), 'not_in_group');
      });

      it('groupsOfUserByType filters by member type (all types but removed when none given)', async () => {
        for (const id of ['o', 'a', 'b']) await user(id);
        await s.groups.createGroup('g1', { owner: 'a', name: 'G1' }, [], MAX);
        await s.groups.createGroup('g2', { owner: 'o', name: 'G2' }, [{ memberId: 'a' }], MAX);
        await s.groups.createGroup('g3', { owner: 'o', name: 'G3' }, [{ memberId: 'a' }], MAX);
        await s.groups.setMemberType('g3', ['a'], 1);
        expect(await s.groups.groupsOfUserByType('a', [])).toEqual(['g1', 'g2', 'g3']);
        expect(await s.groups.groupsOfUserByType('a', [2])).toEqual(['g1']);
        expect(await s.groups.groupsOfUserByType('a', [0, 1])).toEqual(['g2', 'g3']);
        expect(await s.groups.groupsOfUserByType('b', [])).toEqual([]);
        await s.groups.removeMembers('g2', ['a']);
        expect(await s.groups.groupsOfUserByType('a', [])).toEqual(['g1', 'g3']);
      });
    });

    describe('users by email', () => {
      it('lists every user with the email, oldest first, up to the limit; never matches an empty email', async () => {
        await user('u1', { email: 'x@example.com' });
        await user('u2', { email: 'y@example.com' });
        await user('u3', { email: 'x@example.com' });
        await user('u4');
        expect((await s.users.usersByEmail('x@example.com', MAX)).map((u) => u.userId)).toEqual(['u1', 'u3']);
        expect((await s.users.usersByEmail('x@example.com', 1)).map((u) => u.userId)).toEqual(['u1']);
        expect(await s.users.usersByEmail('', MAX)).toEqual([]);
        expect(await s.users.usersByEmail('z@example.com', MAX)).toEqual([]);
      });
    });
  });
}
