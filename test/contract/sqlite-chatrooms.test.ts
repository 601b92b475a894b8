import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ConvType, MessageKind, PersistFlag } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/** The SQLite chatroom statements' query plans (the contract itself runs on every backend: chatrooms.test.ts). */

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-chatrooms-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const options = (file: string, inlineFanoutMax: number) => ({ file, synchronous: 'NORMAL' as const, nodeId: 2, commitMaxBatch: 64, commitMaxDelayMs: 0, inlineFanoutMax });

describe('SqliteChatrooms (backend-specific)', () => {
  it('every chatroom statement, and a chatroom send, reads through an index', async () => {
    const file = path.join(tempDir(), 'switchboard.db');
    const s = new SqliteStore(options(file, 100));
    try {
      await s.users.upsertUser('a', { name: 'a' });
      for (let i = 0; i < 50; i++) await s.chatrooms.upsertChatroom(`r${i}`, { title: 't', state: 0 });
      await s.chatrooms.setManager('r1', 'm', true);
      await s.chatrooms.setBlackStatus('r1', 'b', 1, 0);
      await s.chatrooms.setBlackStatus('r1', 'b', 0, 0);
      await s.chatrooms.setMute('r1', 1);
      await s.chatrooms.chatroomFacts('r1');
      await s.chatrooms.endChatroom('r2');
      await s.chatrooms.getChatroom('r3');
      await s.messages.appendMessage({ sender: 'a', conv: { type: ConvType.chatroom, target: 'r1', line: 0 }, payload: normalizePayload({ type: 1, persistFlag: PersistFlag.count }), kind: MessageKind.conversation, toUsers: [] });
      const ro = new Database(file, { readonly: true });
      try {
        const chatroomSql = s.preparedSql().filter((sql) => sql.includes('chatroom'));
        expect(chatroomSql.length).toBeGreaterThanOrEqual(8);
        for (const sql of chatroomSql) {
          const positional = (sql.match(/\?/g) ?? []).length;
          const steps = (ro.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...new Array<number>(positional).fill(0)) as Array<{ detail: string }>).map((r) => r.detail);
          expect(steps.filter((d) => /^SCAN\b/.test(d) || /TEMP B-TREE/.test(d)), `${sql}: ${steps.join(' | ')}`).toEqual([]);
        }
      } finally {
        ro.close();
      }
    } finally {
      await s.close();
    }
  });
});
