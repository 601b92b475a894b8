/**
 * PostgreSQL-specific checks of replay (src/store/pg/sync.ts): pages stay exact when the user is in
 * more shared audiences than a page holds, whatever the page size (the shared rows are read in
 * chunks per audience, read on only below the page's cut).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConvType, MessageKind, PersistFlag, type Conversation } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import type { MessageDraft } from '../../src/core/ports/store.js';
import { postgresBackend } from '../helpers/backends.js';
import { replayedSeqs } from '../helpers/replay-pages.js';

const backend = postgresBackend();
beforeAll(() => backend.setup!());
afterAll(() => backend.teardown!());

const group = (target: string): Conversation => ({ type: ConvType.group, target, line: 0 });
const draft = (sender: string, conv: Conversation): MessageDraft => ({
  sender,
  conv,
  payload: normalizePayload({ type: 1, content: 'x', persistFlag: PersistFlag.count }),
  kind: MessageKind.conversation,
  toUsers: [],
});

describe('PostgreSQL replay', () => {
  it('pages stay exact when the user is in more groups than a page holds (chunked reads per group)', { timeout: 120_000 }, async () => {
    const { store: s, cleanup } = await backend.open({ inlineFanoutMax: 2 });
    try {
      for (const u of ['o', 'a', 'u']) await s.users.upsertUser(u, { name: u });
      const groups = Array.from({ length: 40 }, (_, i) => `g${i}`);
      for (const g of groups) await s.groups.createGroup(g, { owner: 'o', name: g }, [{ memberId: 'a' }, { memberId: 'u' }], 100);
      // Uneven traffic: a few busy groups, most with one or two messages; sent concurrently, so that
      // several share a commit batch.
      const sends: Array<Promise<{ seq: number }>> = [];
      for (let i = 0; i < 300; i++) {
        const g = i % 3 === 0 ? groups[i % 40]! : groups[i % 4]!;
        sends.push(s.messages.appendMessage(draft(i % 2 ? 'o' : 'a', group(g))));
      }
      const expected = (await Promise.all(sends)).map((r) => r.seq).sort((x, y) => x - y);
      await s.groups.removeMembers('g1', ['u']); // g1 continues as a past membership
      for (let i = 0; i < 20; i++) await s.messages.appendMessage(draft('o', group('g1')));
      for (const limit of [1, 10, 33, 1000]) expect(await replayedSeqs(s, 'u', limit), `limit ${limit}`).toEqual(expected);
    } finally {
      await cleanup();
    }
  });
});
