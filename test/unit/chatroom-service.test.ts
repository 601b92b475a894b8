import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { MemoryChatroomMembership } from '../../src/chatrooms/memory-membership.js';
import type { HubEvent } from '../../src/core/events.js';
import type { ChatroomEntry, ChatroomMember } from '../../src/core/ports/chatroom-membership.js';
import { ChatroomService } from '../../src/core/services/chatrooms.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { expectCoreError } from '../contract/store.contract.js';

/**
 * ChatroomService with the real in-memory backends: the rules of joins and device sends, the events
 * it publishes, and joins racing a destroy or a ban.
 */

const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** `null`: no membership backend. */
function setup(membership: MemoryChatroomMembership | null = new MemoryChatroomMembership()) {
  const store = new SqliteStore({ file: ':memory:', synchronous: 'NORMAL', nodeId: 0, commitMaxBatch: 64, commitMaxDelayMs: 0, inlineFanoutMax: 10 });
  stores.push(store);
  const bus = new MemoryBus();
  const events: HubEvent[] = [];
  const service = new ChatroomService(store, bus, membership ?? undefined, { now: Date.now });
  bus.subscribe((e) => {
    service.handle(e);
    events.push(e);
  });
  return { store, bus, service, membership, events };
}

const who = (userId: string, session: string, clientId = `${userId}-c`) => ({ userId, clientId, platform: 1, session });

describe('ChatroomService', () => {
  it('join: 253 unknown or ended, 246 banned, else the room with its count; a replaced entry is published', async () => {
    const { service, events } = setup();
    await expectCoreError(service.join('r', who('a', 's1')), 'not_exist');
    await service.create('r', { title: 'R' });
    expect(await service.join('r', who('a', 's1'))).toMatchObject({ chatroomId: 'r', title: 'R', memberCount: 1 });
    await service.create('r2', { title: 'R2' });
    await service.join('r2', who('a', 's2'));
    expect(events.filter((e) => e.type === 'chatroom.leave')).toEqual([{ type: 'chatroom.leave', chatroomId: 'r', session: 's1', reason: 'replaced' }]);
    await service.setBlackStatus('r', 'b', 2, 0);
    await expectCoreError(service.join('r', who('b', 's3')), 'in_blacklist');
    await service.destroy('r');
    await expectCoreError(service.join('r', who('c', 's4')), 'not_exist');
  });

  it('a join racing a destroy or a ban does not stand: refused, and no entry is left', async () => {
    class Racing extends MemoryChatroomMembership {
      during: (() => Promise<void>) | null = null;
      override async join(chatroomId: string, member: ChatroomMember): Promise<ChatroomEntry | null> {
        const prev = await super.join(chatroomId, member);
        const f = this.during;
        this.during = null;
        if (f) await f();
        return prev;
      }
    }
    const m = new Racing();
    const { service } = setup(m);
    await service.create('r', { title: 'R' });
    m.during = () => service.destroy('r');
    await expectCoreError(service.join('r', who('a', 's1')), 'not_exist');
    expect(await m.of('a')).toBeNull();

    await service.create('q', { title: 'Q' });
    m.during = () => service.setBlackStatus('q', 'b', 2, 0);
    await expectCoreError(service.join('q', who('b', 's2')), 'in_blacklist');
    expect(await m.of('b')).toBeNull();
  });

  it('checkSend: 20 unless this client is in that room; 246 blacklisted (1 or 2, until it expires); 241 muted unless a manager', async () => {
    const { service } = setup();
    await service.create('r', { title: 'R' });
    await service.create('other', { title: 'O' });
    await expectCoreError(service.checkSend('a', 'a-c', 'r'), 'not_in_chatroom');
    await service.join('other', who('a', 's1'));
    await expectCoreError(service.checkSend('a', 'a-c', 'r'), 'not_in_chatroom');
    await service.join('r', who('a', 's2'));
    await service.checkSend('a', 'a-c', 'r');
    await expectCoreError(service.checkSend('a', 'another-client', 'r'), 'not_in_chatroom');

    await service.setBlackStatus('r', 'a', 1, Date.now() + 60_000);
    await expectCoreError(service.checkSend('a', 'a-c', 'r'), 'in_blacklist');
    await service.setBlackStatus('r', 'a', 1, Date.now() - 1);
    await service.checkSend('a', 'a-c', 'r');

    await service.muteAll('r', 1);
    await expectCoreError(service.checkSend('a', 'a-c', 'r'), 'group_muted');
    await service.setManager('r', 'a', 1);
    await service.checkSend('a', 'a-c', 'r');
  });

  it('a ban in force removes the user from the room (published as kicked); an expired one does not', async () => {
    const { service, events, membership } = setup();
    await service.create('r', { title: 'R' });
    await service.join('r', who('a', 's1'));
    await service.setBlackStatus('r', 'a', 2, Date.now() - 1);
    expect(await membership!.of('a')).not.toBeNull();
    await service.setBlackStatus('r', 'a', 2, 0);
    expect(await membership!.of('a')).toBeNull();
    expect(events.filter((e) => e.type === 'chatroom.leave')).toEqual([{ type: 'chatroom.leave', chatroomId: 'r', session: 's1', reason: 'kicked' }]);
  });

  it('without a membership backend, joins and device sends answer not_implement; the records still work', async () => {
    const { service } = setup(null);
    await service.create('r', { title: 'R' });
    expect(await service.info('r')).toMatchObject({ memberCount: 0 });
    await expectCoreError(service.join('r', who('a', 's')), 'not_implement');
    await expectCoreError(service.checkSend('a', 'a-c', 'r'), 'not_implement');
    await expectCoreError(service.memberIds('r'), 'not_exist');
  });
});
