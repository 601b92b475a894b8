import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ConvType, MessageKind, PersistFlag } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import { FRIEND_REQUEST_POLICY_DEFAULTS, PRIVATE_SEND_POLICY_DEFAULTS } from '../../src/core/relations.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { removeDir, tempDir } from '../helpers/temp.js';

/** SQLite only: every statement of the relation tables reads through an index (no scan, no sort). */
describe('SQLite relations: query plans', () => {
  const dir = tempDir('sb-relations-');
  afterAll(() => removeDir(dir));

  it('friends, friend_requests and user_settings statements use their indexes', async () => {
    const file = path.join(dir, 'switchboard.db');
    const s = new SqliteStore({ file, synchronous: 'NORMAL', nodeId: 1, commitMaxBatch: 64, commitMaxDelayMs: 0, inlineFanoutMax: 10 });
    try {
      await s.users.upsertUser('a', { name: 'a' });
      await s.users.upsertUser('b', { name: 'b' });
      await s.relations.setFriendState('a', 'b', 0, '');
      await s.relations.setBlacked('a', 'c', true);
      await s.relations.listRelations('a');
      await s.relations.addFriendRequest('c', 'd', '', '', false, FRIEND_REQUEST_POLICY_DEFAULTS);
      await s.relations.listFriendRequests('c', 10);
      await s.userSettings.putSetting('a', 3, 'k', 'v', 10);
      await s.userSettings.getSetting('a', 3, 'k');
      await s.userSettings.listSettings('a');
      await s.messages.appendMessage({
        sender: 'a',
        conv: { type: ConvType.single, target: 'b', line: 0 },
        payload: normalizePayload({ type: 1, persistFlag: PersistFlag.count }),
        kind: MessageKind.conversation,
        toUsers: [],
        relations: PRIVATE_SEND_POLICY_DEFAULTS,
      });
      await s.users.destroyUser('a');
      const ro = new Database(file, { readonly: true });
      try {
        const sql = s.preparedSql().filter((q) => /\b(friends|friend_requests|user_settings)\b/.test(q));
        expect(sql.length).toBeGreaterThanOrEqual(10);
        for (const q of sql) {
          const positional = (q.match(/\?/g) ?? []).length;
          const steps = (ro.prepare(`EXPLAIN QUERY PLAN ${q}`).all(...new Array<number>(positional).fill(0)) as Array<{ detail: string }>).map((r) => r.detail);
          expect(steps.filter((d) => /^SCAN\b/.test(d) || /TEMP B-TREE/.test(d)), `${q}: ${steps.join(' | ')}`).toEqual([]);
        }
      } finally {
        ro.close();
      }
    } finally {
      await s.close();
    }
  });
});
