import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/** The channel gateway's SQLite part: every statement reads through an index. */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A store on a file of its own (removed after the test). */
function freshStore(): { file: string; s: SqliteStore } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-channel-apps-'));
  dirs.push(dir);
  const file = path.join(dir, 'switchboard.db');
  return { file, s: new SqliteStore({ file, synchronous: 'NORMAL', nodeId: 1, commitMaxBatch: 64, commitMaxDelayMs: 0, inlineFanoutMax: 10 }) };
}

describe('SqliteChannelApps (backend-specific)', () => {
  it('every channel statement reads through an index (no scan, no temporary sort)', async () => {
    const { file, s } = freshStore();
    try {
      const c = s.channelApps;
      const app = { appId: 'a', secret: 's', protocol: '002' as const, baseUrl: 'http://x', outboundToken: '', versionId: '', defaultAccountId: '', status: 0, attributes: {}, createDt: 1, updateDt: 1 };
      await c.putConfig('app', 'a', app);
      await c.patchConfig('app', 'a', { status: 1 });
      await c.getConfig('app', 'a');
      await c.listConfig('app');
      await c.listConfig('channelAccount', 'a');
      await c.deleteConfig('version', 'v');
      await c.deleteConfig('app', 'a');
      const contact = { contactId: 'c', channelAccountId: 'acc', account: 'x', name: '', avatarUrl: '', originalContactInfoUrl: '', originalContactPageUrl: '', screenName: '', attributes: {}, createDt: 1, updateDt: 1 };
      await c.upsertContact(contact);
      await c.replaceContact('c', { name: 'n' });
      await c.findContact('acc', 'x');
      await c.listContacts('acc', '', 10);
      await c.deleteContact('c');
      const conv = { conversationId: 'cc', channelAccountId: 'acc', contactId: 'c', originalConversationId: 'o', agents: [], createDt: 1, updateDt: 1 };
      await c.openConversation(conv);
      await c.conversationByOriginal('acc', 'o');
      await c.latestConversation('c');
      await c.touchConversation('cc', 2, ['a']);
      const m = {
        uid: 1, guid: 'g', conversationId: 'cc', channelAccountId: 'acc', contactId: 'c', direction: 'in' as const, isReceive: true, channelId: 'e',
        originalMessageId: 'om', originalParentId: '', originalConversationId: '', originalUrl: '', subject: '', cc: '', contents: [], createTime: 0, raw: {},
        delivery: 'none' as const, deliveryError: '', originalMessageUrl: '', createdAt: 1, updatedAt: 1,
      };
      await c.recordMessage(m);
      await c.recordMessage({ ...m, uid: 2, guid: 'g2' });
      await c.messageByGuid('g');
      await c.messageByOriginal('acc', 'om');
      await c.updateDelivery('g', { delivery: 'sent', originalMessageId: 'other' }, 3);
      const ro = new Database(file, { readonly: true });
      try {
        const sqls = s.preparedSql().filter((sql) => sql.includes('channel_'));
        expect(sqls.length).toBeGreaterThanOrEqual(20);
        for (const sql of sqls) {
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

  it('stores a message as columns and a document without empty fields; reads rows written whole (before that form) the same; moves the conversation in steps', async () => {
    const { file, s } = freshStore();
    try {
      const c = s.channelApps;
      await c.openConversation({ conversationId: 'cc', channelAccountId: 'acc', contactId: 'c', originalConversationId: '', agents: [], createDt: 1000, updateDt: 1000 });
      await c.openConversation({ conversationId: 'cc2', channelAccountId: 'acc', contactId: 'c', originalConversationId: 'o', agents: [], createDt: 1500, updateDt: 1500 });
      const m = {
        uid: 1, guid: 'g', conversationId: 'cc', channelAccountId: 'acc', contactId: 'c', direction: 'in' as const, isReceive: true, channelId: 'e',
        originalMessageId: '', originalParentId: '', originalConversationId: '', originalUrl: '', subject: '', cc: '', contents: [{ id: 'g-0', type: 'text' as const, text: 'hi' }],
        createTime: 0, raw: { MsgType: 'text' }, delivery: 'none' as const, deliveryError: '', originalMessageUrl: '', createdAt: 1800, updatedAt: 1800,
      };
      await c.recordMessage(m);
      // Within a second of the conversation's time: the row is not rewritten, cc2 stays the latest.
      expect((await c.latestConversation('c'))?.conversationId).toBe('cc2');
      await c.recordMessage({ ...m, uid: 2, guid: 'g2', createdAt: 2600, updatedAt: 2600 });
      expect((await c.latestConversation('c'))?.conversationId).toBe('cc');
      const raw = new Database(file);
      try {
        const doc = JSON.parse((raw.prepare('SELECT data FROM channel_messages WHERE uid = 1').get() as { data: string }).data) as Record<string, unknown>;
        expect(Object.keys(doc).sort()).toEqual(['channelId', 'contactId', 'contents', 'conversationId', 'createdAt', 'direction', 'isReceive', 'raw'].sort());
        // A row as an earlier build wrote it: the whole record in the document.
        raw.prepare('INSERT INTO channel_messages(uid, guid, account_id, original_id, data) VALUES (?, ?, ?, ?, ?)').run(3, 'g3', 'acc', 'om3', JSON.stringify({ ...m, uid: 3, guid: 'g3', originalMessageId: 'om3', subject: 's', delivery: 'sent', updatedAt: 2700 }));
      } finally {
        raw.close();
      }
      expect(await c.messageByUid(1)).toEqual(m);
      expect(await c.messageByOriginal('acc', 'om3')).toEqual({ ...m, uid: 3, guid: 'g3', originalMessageId: 'om3', subject: 's', delivery: 'sent', updatedAt: 2700 });
      expect(await c.updateDelivery('g3', { delivery: 'failed', deliveryError: 'x' }, 2800)).toEqual({
        ...m, uid: 3, guid: 'g3', originalMessageId: 'om3', subject: 's', delivery: 'failed', deliveryError: 'x', updatedAt: 2800,
      });
      expect(await c.messageByGuid('g3')).toMatchObject({ delivery: 'failed', deliveryError: 'x', subject: 's', updatedAt: 2800 });
    } finally {
      await s.close();
    }
  });
});
