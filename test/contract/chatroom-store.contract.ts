/**
 * The Store's chatroom part and chatroom messages (src/core/ports/group-stores.ts: ChatroomStore, the
 * `chatroom` audience), run against every backend. Only the Store interface is used here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConvType, MessageKind, PersistFlag, type Conversation, type Payload } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import type { MessageDraft, Store } from '../../src/core/ports/store.js';
import { expectCoreError, type StoreFactory } from './store.contract.js';

const payload = (over: Partial<Payload> = {}): Payload => ({ ...normalizePayload({ type: 1, searchableContent: 'hi', persistFlag: PersistFlag.count }), ...over });
const room = (target: string): Conversation => ({ type: ConvType.chatroom, target, line: 0 });
const draft = (sender: string, conv: Conversation, over: Partial<MessageDraft> = {}): MessageDraft => ({
  sender,
  conv,
  payload: payload(),
  kind: MessageKind.conversation,
  toUsers: [],
  ...over,
});

export function chatroomStoreContract(name: string, factory: StoreFactory): void {
  describe(`ChatroomStore contract: ${name}`, () => {
    let cleanup: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });
    async function fresh(): Promise<Store> {
      const f = await factory({ inlineFanoutMax: 100 });
      cleanup = f.cleanup;
      return f.store;
    }

    it('upsertChatroom creates, then updates: non-empty texts overwrite, the state always; getChatroom reads it', async () => {
      const s = await fresh();
      expect(await s.chatrooms.getChatroom('r')).toBeNull();
      const c = await s.chatrooms.upsertChatroom('r', { title: 'T', desc: 'd', portrait: 'p', extra: 'e', state: 1 });
      expect(c).toMatchObject({ chatroomId: 'r', title: 'T', desc: 'd', portrait: 'p', extra: 'e', state: 1, mute: 0 });
      expect(c.createDt).toBe(c.updateDt);
      const u = await s.chatrooms.upsertChatroom('r', { title: 'T2', desc: '', state: 0 });
      expect(u).toMatchObject({ title: 'T2', desc: 'd', portrait: 'p', extra: 'e', state: 0, createDt: c.createDt });
      expect(await s.chatrooms.getChatroom('r')).toEqual(u);
    });

    it('endChatroom: state 2, the record stays; false for an unknown room', async () => {
      const s = await fresh();
      await s.chatrooms.upsertChatroom('r', { title: 'T', state: 0 });
      expect(await s.chatrooms.endChatroom('r')).toBe(true);
      expect((await s.chatrooms.getChatroom('r'))?.state).toBe(2);
      expect(await s.chatrooms.endChatroom('ghost')).toBe(false);
      expect(await s.chatrooms.getChatroom('ghost')).toBeNull();
    });

    it('managers, blacklist and mute: written, read back as facts; state 0 removes an entry; not_exist for an unknown room', async () => {
      const s = await fresh();
      expect(await s.chatrooms.chatroomFacts('r')).toBeNull();
      await s.chatrooms.upsertChatroom('r', { title: 'T', state: 0 });
      await s.chatrooms.setManager('r', 'm1', true);
      await s.chatrooms.setManager('r', 'm1', true);
      await s.chatrooms.setManager('r', 'm2', true);
      await s.chatrooms.setManager('r', 'm2', false);
      await s.chatrooms.setBlackStatus('r', 'b1', 1, 0);
      await s.chatrooms.setBlackStatus('r', 'b2', 2, 5000);
      await s.chatrooms.setBlackStatus('r', 'b2', 1, 6000);
      await s.chatrooms.setBlackStatus('r', 'b3', 2, 0);
      await s.chatrooms.setBlackStatus('r', 'b3', 0, 0);
      await s.chatrooms.setMute('r', 1);
      const f = await s.chatrooms.chatroomFacts('r');
      expect(f?.chatroom.mute).toBe(1);
      expect(f?.managers).toEqual(['m1']);
      expect(f?.blacklist.sort((a, b) => a.userId.localeCompare(b.userId))).toEqual([
        { userId: 'b1', state: 1, expiredTime: 0 },
        { userId: 'b2', state: 1, expiredTime: 6000 },
      ]);
      await expectCoreError(s.chatrooms.setManager('ghost', 'm', true), 'not_exist');
      await expectCoreError(s.chatrooms.setBlackStatus('ghost', 'b', 1, 0), 'not_exist');
      await expectCoreError(s.chatrooms.setMute('ghost', 1), 'not_exist');
    });

    it('a chatroom message is stored (getMessage) with the chatroom audience, and kept in nobody’s replay', async () => {
      const s = await fresh();
      for (const u of ['a', 'b']) await s.users.upsertUser(u, { name: u });
      const head = await s.sync.headSeq();
      const r = await s.messages.appendMessage(draft('a', room('r1')));
      expect(r.audience).toEqual({ kind: 'chatroom', chatroomId: 'r1' });
      expect(r.duplicate).toBe(false);
      expect((await s.messages.getMessage(r.message.uid, Date.now()))?.conv).toEqual(room('r1'));
      const only = await s.messages.appendMessage(draft('a', room('r1'), { toUsers: ['b'] }));
      expect(only.audience).toEqual({ kind: 'chatroom', chatroomId: 'r1', only: ['b'] });
      // A transparent one is not stored.
      const tr = await s.messages.appendMessage(draft('a', room('r1'), { payload: payload({ persistFlag: PersistFlag.transparent }) }));
      expect(tr.seq).toBe(0);
      expect(await s.messages.getMessage(tr.message.uid, Date.now())).toBeNull();
      for (const u of ['a', 'b']) {
        const page = await s.sync.replay(u, head, 100, Date.now());
        expect(page.events.filter((e) => e.uid === r.message.uid || e.uid === only.message.uid)).toEqual([]);
        expect((await s.conversations.listConversations(u)).filter((c) => c.conv.type === ConvType.chatroom)).toEqual([]);
        expect(await s.messages.unreadTotal(u, ConvType.chatroom)).toBe(0);
      }
      // Its changes are kept in nobody's replay either.
      const rc = await s.messages.recallMessage(r.message.uid, 'a', {});
      expect(rc.audience).toEqual({ kind: 'chatroom', chatroomId: 'r1' });
      expect((await s.messages.getMessage(r.message.uid, Date.now()))?.payload.type).toBe(80);
      for (const u of ['a', 'b']) expect((await s.sync.replay(u, head, 100, Date.now())).events).toEqual([]);
    });
  });
}
