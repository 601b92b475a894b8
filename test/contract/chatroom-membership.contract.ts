/**
 * The ChatroomMembership contract (src/core/ports/chatroom-membership.ts), run against every backend:
 * one entry per user, replaced atomically by a join; leave guarded by the session; join order kept.
 * A backend's test file calls `membershipContract(name, factory)` with a factory of fresh, empty ones.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatroomMember, ChatroomMembership } from '../../src/core/ports/chatroom-membership.js';

export type MembershipFactory = () => Promise<{ membership: ChatroomMembership; cleanup: () => Promise<void> }>;

let n = 0;
function member(userId: string, clientId = `${userId}-c`, session = `0:s${++n}`): ChatroomMember {
  return { userId, clientId, platform: 1, session, joinedAt: 1000 + n };
}

export function membershipContract(name: string, factory: MembershipFactory): void {
  describe(`ChatroomMembership contract: ${name}`, () => {
    let cleanup: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });
    async function fresh(): Promise<ChatroomMembership> {
      const f = await factory();
      cleanup = f.cleanup;
      return f.membership;
    }

    it('join records the member; of, members and count see it; an empty room has none', async () => {
      const m = await fresh();
      expect(await m.of('a')).toBeNull();
      expect(await m.members('r', 10)).toEqual([]);
      expect(await m.count('r')).toBe(0);
      const a = member('a');
      expect(await m.join('r', a)).toBeNull();
      expect(await m.of('a')).toEqual({ chatroomId: 'r', member: a });
      expect(await m.members('r', 10)).toEqual([a]);
      expect(await m.count('r')).toBe(1);
    });

    it('members come in join order, at most `limit`', async () => {
      const m = await fresh();
      const list = ['c', 'a', 'd', 'b'].map((u) => member(u));
      for (const x of list) await m.join('r', x);
      expect(await m.members('r', 10)).toEqual(list);
      expect(await m.members('r', 2)).toEqual(list.slice(0, 2));
      expect(await m.members('r', 0)).toEqual([]);
      expect(await m.count('r')).toBe(4);
    });

    it('a user has one entry: a join elsewhere (another room, another client or session) replaces it and returns the old one', async () => {
      const m = await fresh();
      const first = member('a', 'phone');
      await m.join('r1', first);
      const second = member('a', 'desk');
      expect(await m.join('r2', second)).toEqual({ chatroomId: 'r1', member: first });
      expect(await m.of('a')).toEqual({ chatroomId: 'r2', member: second });
      expect(await m.count('r1')).toBe(0);
      expect(await m.members('r2', 10)).toEqual([second]);
      // Joining the same room again moves the user to the end of the join order.
      const b = member('b');
      await m.join('r2', b);
      const third = member('a', 'desk');
      expect(await m.join('r2', third)).toEqual({ chatroomId: 'r2', member: second });
      expect((await m.members('r2', 10)).map((x) => x.userId)).toEqual(['b', 'a']);
    });

    it('concurrent joins of one user leave exactly one entry', async () => {
      const m = await fresh();
      const joins = Array.from({ length: 20 }, (_, i) => member('a', `c${i}`));
      await Promise.all(joins.map((j, i) => m.join(`r${i % 3}`, j)));
      let total = 0;
      for (const r of ['r0', 'r1', 'r2']) total += await m.count(r);
      expect(total).toBe(1);
      const e = await m.of('a');
      expect(e).not.toBeNull();
      expect(await m.members(e!.chatroomId, 10)).toEqual([e!.member]);
    });

    it('leave removes the entry of that room (and that session, when given), else nothing', async () => {
      const m = await fresh();
      const a = member('a');
      await m.join('r', a);
      expect(await m.leave('other', 'a')).toBeNull();
      expect(await m.leave('r', 'a', 'not-its-session')).toBeNull();
      expect(await m.count('r')).toBe(1);
      expect(await m.leave('r', 'a', a.session)).toEqual(a);
      expect(await m.of('a')).toBeNull();
      expect(await m.leave('r', 'a')).toBeNull();
      // Without a session: whichever session it is.
      const b = member('b');
      await m.join('r', b);
      expect(await m.leave('r', 'b')).toEqual(b);
      expect(await m.count('r')).toBe(0);
    });

    it('an older session ending after the user joined again removes nothing', async () => {
      const m = await fresh();
      const old = member('a', 'phone');
      await m.join('r', old);
      const again = member('a', 'phone');
      await m.join('r', again);
      expect(await m.leave('r', 'a', old.session)).toBeNull();
      expect(await m.of('a')).toEqual({ chatroomId: 'r', member: again });
    });

    it('clear removes every entry of the room and returns them; other rooms keep theirs', async () => {
      const m = await fresh();
      const [a, b, c] = [member('a'), member('b'), member('c')];
      await m.join('r', a);
      await m.join('r', b);
      await m.join('s', c);
      expect((await m.clear('r')).map((x) => x.userId).sort()).toEqual(['a', 'b']);
      expect(await m.of('a')).toBeNull();
      expect(await m.of('b')).toBeNull();
      expect(await m.count('r')).toBe(0);
      expect(await m.of('c')).toEqual({ chatroomId: 's', member: c });
      expect(await m.clear('r')).toEqual([]);
      // The room can be joined again.
      await m.join('r', member('a'));
      expect(await m.count('r')).toBe(1);
    });
  });
}
