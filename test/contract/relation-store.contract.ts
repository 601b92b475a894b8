/**
 * The Store's relation parts (src/core/ports/user-stores.ts: RelationStore, SensitiveWordStore,
 * UserSettingStore, TokenStore.sessionClients) and the relation check of a device's single chat
 * (MessageDraft.relations), run against every backend. Only the Store interface is used here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConvType, MessageKind, PersistFlag, type Payload } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import type { MessageDraft, Store } from '../../src/core/ports/store.js';
import { FRIEND_REQUEST_POLICY_DEFAULTS, PRIVATE_SEND_POLICY_DEFAULTS, type PrivateSendPolicy } from '../../src/core/relations.js';
import { hashToken, newToken } from '../../src/core/tokens.js';
import { expectCoreError, type StoreFactory } from './store.contract.js';

const payload = (type = 1): Payload => normalizePayload({ type, searchableContent: 'hi', persistFlag: PersistFlag.count });
const chat = (sender: string, target: string, relations?: PrivateSendPolicy, type = 1): MessageDraft => ({
  sender,
  conv: { type: ConvType.single, target, line: 0 },
  payload: payload(type),
  kind: MessageKind.conversation,
  toUsers: [],
  ...(relations ? { relations } : {}),
});
/** Wait (a condition, not a delay) until the millisecond clock has moved on, so two writes get distinct times. */
async function nextMs(): Promise<void> {
  const t = Date.now();
  while (Date.now() <= t) await new Promise((r) => setImmediate(r));
}
const policy = (over: Partial<PrivateSendPolicy> = {}): PrivateSendPolicy => ({ ...PRIVATE_SEND_POLICY_DEFAULTS, ...over });

export function relationStoreContract(name: string, factory: StoreFactory): void {
  describe(`Relation store contract: ${name}`, () => {
    let cleanup: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });
    async function fresh(...users: string[]): Promise<Store> {
      const f = await factory({ inlineFanoutMax: 100 });
      cleanup = f.cleanup;
      for (const u of users) await f.store.users.upsertUser(u, { name: u });
      return f.store;
    }

    it('setFriendState 0 writes both rows; the extra overwrites the first user’s and only seeds a new reverse row', async () => {
      const s = await fresh();
      await s.relations.setExtra('b', 'a', 'kept');
      const rows = await s.relations.setFriendState('a', 'b', 0, 'x');
      expect(rows.map((r) => [r.userId, r.friendUid, r.state, r.extra])).toEqual([
        ['a', 'b', 0, 'x'],
        ['b', 'a', 0, 'kept'],
      ]);
      expect(await s.relations.getRelation('a', 'b')).toMatchObject({ state: 0, blacked: 0, alias: '', extra: 'x' });
      expect(await s.relations.getRelation('b', 'a')).toMatchObject({ state: 0, extra: 'kept' });
      await s.relations.setFriendState('a', 'b', 1, '');
      expect(await s.relations.getRelation('a', 'b')).toMatchObject({ state: 1, extra: '' });
      expect(await s.relations.getRelation('b', 'a')).toMatchObject({ state: 1, extra: 'kept' });
      // A new reverse row takes the extra given.
      await s.relations.setFriendState('c', 'd', 0, 'e');
      expect(await s.relations.getRelation('d', 'c')).toMatchObject({ state: 0, extra: 'e' });
    });

    it('setFriendState 2 writes the first user’s row only', async () => {
      const s = await fresh();
      const rows = await s.relations.setFriendState('a', 'b', 2, '');
      expect(rows).toHaveLength(1);
      expect(await s.relations.getRelation('b', 'a')).toBeNull();
    });

    it('blacklist, alias and extra are one-sided; a missing row is created as not friends', async () => {
      const s = await fresh();
      expect(await s.relations.getRelation('a', 'b')).toBeNull();
      expect(await s.relations.setBlacked('a', 'b', true)).toMatchObject({ userId: 'a', friendUid: 'b', state: 1, blacked: 1 });
      expect(await s.relations.getRelation('b', 'a')).toBeNull();
      await s.relations.setAlias('a', 'b', 'Bee');
      await s.relations.setExtra('a', 'b', '{"k":1}');
      expect(await s.relations.getRelation('a', 'b')).toMatchObject({ state: 1, blacked: 1, alias: 'Bee', extra: '{"k":1}' });
      await s.relations.setBlacked('a', 'b', false);
      expect(await s.relations.getRelation('a', 'b')).toMatchObject({ blacked: 0, alias: 'Bee' });
    });

    it('listRelations: every row of the user, oldest change first', async () => {
      const s = await fresh();
      await s.relations.setFriendState('a', 'z', 0, '');
      await nextMs();
      await s.relations.setBlacked('a', 'm', true);
      await nextMs();
      await s.relations.setAlias('a', 'b', 'x');
      expect((await s.relations.listRelations('a')).map((r) => r.friendUid)).toEqual(['z', 'm', 'b']);
      expect((await s.relations.listRelations('z')).map((r) => r.friendUid)).toEqual(['a']);
      expect(await s.relations.listRelations('nobody')).toEqual([]);
    });

    it('addFriendRequest records the request; a pending one blocks a repeat unless forced', async () => {
      const s = await fresh();
      const P = FRIEND_REQUEST_POLICY_DEFAULTS;
      const r = await s.relations.addFriendRequest('a', 'b', 'hi', '', false, P);
      expect(r).toMatchObject({ fromUid: 'a', toUid: 'b', reason: 'hi', status: 0 });
      await expectCoreError(s.relations.addFriendRequest('a', 'b', 'again', '', false, P), 'already_requested');
      expect((await s.relations.addFriendRequest('a', 'b', 'forced', '', true, P)).reason).toBe('forced');
      // The other direction is another request.
      await s.relations.addFriendRequest('b', 'a', 'me too', '', false, P);
      // The windows themselves: test/unit/relations-rules.test.ts (checkFriendRequest).
    });

    it('addFriendRequest: friends already (23, even forced); blacklisted by the target (246, unless forced)', async () => {
      const s = await fresh();
      const P = FRIEND_REQUEST_POLICY_DEFAULTS;
      await s.relations.setFriendState('a', 'b', 0, '');
      await expectCoreError(s.relations.addFriendRequest('a', 'b', '', '', true, P), 'already_friends');
      await s.relations.setBlacked('d', 'c', true);
      await expectCoreError(s.relations.addFriendRequest('c', 'd', '', '', false, P), 'in_blacklist');
      expect(await s.relations.listFriendRequests('c', 10)).toEqual([]);
      await s.relations.addFriendRequest('c', 'd', 'forced', '', true, P);
    });

    it('answerFriendRequest: accepting makes them friends both ways (aliases kept) and accepts the reverse pending request', async () => {
      const s = await fresh();
      const P = FRIEND_REQUEST_POLICY_DEFAULTS;
      await expectCoreError(s.relations.answerFriendRequest('b', 'a', true, P), 'not_exist');
      await s.relations.addFriendRequest('a', 'b', 'hi', '', false, P);
      await s.relations.addFriendRequest('b', 'a', 'me too', '', false, P);
      await s.relations.setAlias('b', 'a', 'Ay');
      const r = await s.relations.answerFriendRequest('b', 'a', true, P);
      expect(r.request).toMatchObject({ fromUid: 'a', toUid: 'b', reason: 'hi', status: 1 });
      expect(r.relations.map((x) => [x.userId, x.friendUid, x.state])).toEqual([
        ['b', 'a', 0],
        ['a', 'b', 0],
      ]);
      expect(await s.relations.getRelation('b', 'a')).toMatchObject({ state: 0, alias: 'Ay' });
      expect((await s.relations.listFriendRequests('a', 10)).map((x) => [x.fromUid, x.status])).toEqual([
        ['a', 1],
        ['b', 1],
      ]);
      // Answering again (friends already) changes the status only.
      expect((await s.relations.answerFriendRequest('b', 'a', false, P)).relations).toEqual([]);
      expect(await s.relations.getRelation('a', 'b')).toMatchObject({ state: 0 });
    });

    it('answerFriendRequest: rejecting records status 2; an expired request cannot be answered (19)', async () => {
      const s = await fresh();
      const P = FRIEND_REQUEST_POLICY_DEFAULTS;
      await s.relations.addFriendRequest('a', 'b', '', '', false, P);
      const r = await s.relations.answerFriendRequest('b', 'a', false, P);
      expect(r).toMatchObject({ request: { status: 2 }, relations: [] });
      expect(await s.relations.getRelation('b', 'a')).toBeNull();
      // Rejected: a new request is blocked (18) unless forced.
      await expectCoreError(s.relations.addFriendRequest('a', 'b', '', '', false, P), 'friend_request_blocked');
      await s.relations.addFriendRequest('c', 'd', '', '', false, P);
      await nextMs(); // two clock steps: older than the 1 ms expiration
      await nextMs();
      await expectCoreError(s.relations.answerFriendRequest('d', 'c', true, { ...P, expirationMs: 1 }), 'friend_request_expired');
      expect(await s.relations.getRelation('d', 'c')).toBeNull();
    });

    it('deleteFriend: existing rows become "not friends" both ways; none is created', async () => {
      const s = await fresh();
      expect(await s.relations.deleteFriend('a', 'b')).toEqual([]);
      expect(await s.relations.getRelation('a', 'b')).toBeNull();
      await s.relations.setFriendState('a', 'b', 0, 'x');
      const rows = await s.relations.deleteFriend('b', 'a');
      expect(rows.map((r) => [r.userId, r.state])).toEqual([
        ['b', 1],
        ['a', 1],
      ]);
      expect(await s.relations.getRelation('a', 'b')).toMatchObject({ state: 1, extra: 'x' });
    });

    it('listFriendRequests: sent and received, newest first, at most the limit', async () => {
      const s = await fresh();
      const P = FRIEND_REQUEST_POLICY_DEFAULTS;
      await s.relations.addFriendRequest('a', 'b', '1', '', false, P);
      await nextMs();
      await s.relations.addFriendRequest('c', 'a', '2', '', false, P);
      const list = await s.relations.listFriendRequests('a', 10);
      expect(list.map((r) => r.reason)).toEqual(['2', '1']);
      expect(await s.relations.listFriendRequests('a', 1)).toHaveLength(1);
      expect((await s.relations.listFriendRequests('b', 10)).map((r) => r.fromUid)).toEqual(['a']);
    });

    it('a device single chat to a user who blacklisted the sender: in_blacklist, nothing stored', async () => {
      const s = await fresh('a', 'b');
      await s.relations.setBlacked('b', 'a', true);
      await expectCoreError(s.messages.appendMessage(chat('a', 'b', policy())), 'in_blacklist');
      // The other way, without the check (admin sends), and exception types pass.
      expect((await s.messages.appendMessage(chat('b', 'a', policy()))).seq).toBeGreaterThan(0);
      expect((await s.messages.appendMessage(chat('a', 'b'))).seq).toBeGreaterThan(0);
      expect((await s.messages.appendMessage(chat('a', 'b', policy(), 401))).seq).toBeGreaterThan(0);
      await s.relations.setBlacked('b', 'a', false);
      expect((await s.messages.appendMessage(chat('a', 'b', policy()))).seq).toBeGreaterThan(0);
    });

    it('blacklist strategy drop: answered with a uid, dropped, stored nowhere', async () => {
      const s = await fresh('a', 'b');
      await s.relations.setBlacked('b', 'a', true);
      const r = await s.messages.appendMessage(chat('a', 'b', policy({ blacklist: 'drop' })));
      expect(r).toMatchObject({ seq: 0, dropped: true, duplicate: false });
      expect(r.message.uid).toBeGreaterThan(0);
      expect(await s.messages.getMessage(r.message.uid, Date.now())).toBeNull();
      expect((await s.sync.replay('b', 0, 100, Date.now())).events).toEqual([]);
    });

    it('strangers may not chat when disabled: no_right, unless friends or allow-listed', async () => {
      const s = await fresh('a', 'b', 'admin');
      const strict = policy({ disableStrangerChat: true, strangerChatAllowList: ['admin'] });
      await expectCoreError(s.messages.appendMessage(chat('a', 'b', strict)), 'no_right');
      expect((await s.messages.appendMessage(chat('admin', 'b', strict))).seq).toBeGreaterThan(0);
      expect((await s.messages.appendMessage(chat('b', 'admin', strict))).seq).toBeGreaterThan(0);
      await s.relations.setFriendState('a', 'b', 0, '');
      expect((await s.messages.appendMessage(chat('a', 'b', strict))).seq).toBeGreaterThan(0);
      // A robot (user type 1) chats with strangers, either way.
      await s.users.upsertUser('bot', { name: 'bot', type: 1 });
      expect((await s.messages.appendMessage(chat('bot', 'b', strict))).seq).toBeGreaterThan(0);
      expect((await s.messages.appendMessage(chat('b', 'bot', strict))).seq).toBeGreaterThan(0);
    });

    it('destroyUser removes the relations naming the user either side, its requests and settings', async () => {
      const s = await fresh('a', 'b');
      await s.relations.setFriendState('a', 'b', 0, '');
      await s.relations.setBlacked('b', 'x', true);
      await s.relations.addFriendRequest('x', 'a', '', '', false, FRIEND_REQUEST_POLICY_DEFAULTS);
      await s.userSettings.putSetting('a', 3, '0-0-b', '1', 10);
      await s.users.destroyUser('a');
      expect(await s.relations.getRelation('a', 'b')).toBeNull();
      expect(await s.relations.getRelation('b', 'a')).toBeNull();
      expect(await s.relations.getRelation('b', 'x')).not.toBeNull();
      expect(await s.relations.listFriendRequests('x', 10)).toEqual([]);
      expect(await s.userSettings.getSetting('a', 3, '0-0-b')).toBeNull();
    });

    it('sensitive words: lower-cased, each once, sorted; the total bound refuses the whole call', async () => {
      const s = await fresh();
      expect(await s.sensitiveWords.addWords(['Foo', 'bar', 'FOO', ''], 10)).toBe(2);
      expect(await s.sensitiveWords.listWords()).toEqual(['bar', 'foo']);
      await expectCoreError(s.sensitiveWords.addWords(['a', 'b', 'c'], 4), 'invalid_parameter');
      expect(await s.sensitiveWords.listWords()).toEqual(['bar', 'foo']);
      expect(await s.sensitiveWords.addWords(['foo'], 2)).toBe(0);
      expect(await s.sensitiveWords.removeWords(['BAR', 'nope'])).toBe(1);
      expect(await s.sensitiveWords.listWords()).toEqual(['foo']);
    });

    it('user settings: put overwrites, get reads by (user, scope, key); the per-user bound refuses new keys only', async () => {
      const s = await fresh();
      expect(await s.userSettings.getSetting('a', 3, '0-0-b')).toBeNull();
      await s.userSettings.putSetting('a', 3, '0-0-b', '1', 2);
      await s.userSettings.putSetting('a', 3, '0-0-b', '0', 2);
      await s.userSettings.putSetting('a', 1, '', 'x', 2);
      expect(await s.userSettings.getSetting('a', 3, '0-0-b')).toMatchObject({ userId: 'a', scope: 3, key: '0-0-b', value: '0' });
      expect(await s.userSettings.getSetting('a', 1, '')).toMatchObject({ value: 'x' });
      expect(await s.userSettings.getSetting('a', 2, '')).toBeNull();
      await expectCoreError(s.userSettings.putSetting('a', 4, 'k', 'v', 2), 'invalid_parameter');
      await s.userSettings.putSetting('a', 1, '', 'y', 2);
      expect(await s.userSettings.getSetting('a', 4, 'k')).toBeNull();
      expect((await s.userSettings.listSettings('a')).map((x) => [x.scope, x.key, x.value])).toEqual([
        [1, '', 'y'],
        [3, '0-0-b', '0'],
      ]);
      expect(await s.userSettings.listSettings('b')).toEqual([]);
    });

    it('tokens.sessionClients: each client with a live token once, newest platform, in client order', async () => {
      const s = await fresh('a');
      const now = Date.now();
      await s.tokens.insertToken(hashToken(newToken()), { userId: 'a', clientId: 'pc', platform: 3, expiresAt: now + 60_000 });
      await s.tokens.insertToken(hashToken(newToken()), { userId: 'a', clientId: 'phone', platform: 1, expiresAt: now + 60_000 });
      await s.tokens.insertToken(hashToken(newToken()), { userId: 'a', clientId: 'old', platform: 2, expiresAt: now - 1 });
      expect(await s.tokens.sessionClients('a', now)).toEqual([
        { clientId: 'pc', platform: 3 },
        { clientId: 'phone', platform: 1 },
      ]);
      expect(await s.tokens.sessionClients('nobody', now)).toEqual([]);
    });
  });
}
