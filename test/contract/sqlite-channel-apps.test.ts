import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelMessage, DeliveryUpdate } from '../../src/core/channel-apps/model.js';
import { applyDeliveryRecord, changeDelivery } from '../../src/store/sqlite/channel-apps.js';
import type { SqliteContext } from '../../src/store/sqlite/context.js';
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

  it("an outcome's status change edits the document in place with the same result as updateDelivery", async () => {
    const { file, s } = freshStore();
    try {
      const c = s.channelApps;
      const m = {
        uid: 1, guid: 'g1', conversationId: 'cc', channelAccountId: 'acc', contactId: 'c', direction: 'out' as const, isReceive: false, channelId: 'e',
        originalMessageId: '', originalParentId: '', originalConversationId: '', originalUrl: '', subject: '', cc: '', contents: [{ id: 'g1-0', type: 'text' as const, text: 'hi' }],
        createTime: 0, raw: { appId: 'a' }, delivery: 'pending' as const, deliveryError: '', originalMessageUrl: '', createdAt: 1000, updatedAt: 1000,
      };
      await c.recordMessage(m);
      await c.recordMessage({ ...m, uid: 2, guid: 'g2', contents: [{ id: 'g2-0', type: 'text' as const, text: 'hi' }] });
      const raw = new Database(file);
      // Rows as an earlier build wrote them: the whole record in the document.
      raw.prepare('INSERT INTO channel_messages(uid, guid, account_id, original_id, data) VALUES (?, ?, ?, ?, ?)').run(3, 'g3', 'acc', null, JSON.stringify({ ...m, uid: 3, guid: 'g3' }));
      raw.prepare('INSERT INTO channel_messages(uid, guid, account_id, original_id, data) VALUES (?, ?, ?, ?, ?)').run(4, 'g4', 'acc', null, JSON.stringify({ ...m, uid: 4, guid: 'g4' }));
      const ctx = { stmt: (sql: string) => raw.prepare(sql) } as unknown as SqliteContext;
      const same = (a: ChannelMessage | null, b: ChannelMessage | null): void => {
        expect(a && { ...a, uid: 0, guid: '', contents: [] }).toEqual(b && { ...b, uid: 0, guid: '', contents: [] });
      };
      const steps: Array<[DeliveryUpdate, number]> = [
        [{ delivery: 'failed', deliveryError: 'HTTP 503', onlyFrom: ['none', 'pending'] }, 1100],
        [{ delivery: 'sent', onlyFrom: ['none', 'pending'] }, 1200], // refused: failed is not in onlyFrom
        [{ delivery: 'pending', onlyFrom: ['none', 'failed'] }, 1300],
        [{ delivery: 'sent', onlyFrom: ['none', 'pending'] }, 1400],
        [{ delivery: 'delivered', deliveryError: '' }, 1500],
        [{ delivery: 'failed', deliveryError: 'x', onlyFrom: [] }, 1600], // refused: nothing to move from
      ];
      try {
        for (const [u, at] of steps) {
          applyDeliveryRecord(ctx, 'g1', u, at);
          changeDelivery(ctx, 'g2', u, at);
          applyDeliveryRecord(ctx, 'g3', u, at);
          changeDelivery(ctx, 'g4', u, at);
          same(await c.messageByGuid('g1'), await c.messageByGuid('g2'));
          same(await c.messageByGuid('g3'), await c.messageByGuid('g4'));
          same(await c.messageByGuid('g1'), await c.messageByGuid('g3'));
        }
        expect(await c.messageByGuid('g1')).toEqual({ ...m, delivery: 'delivered', updatedAt: 1500 });
        // The document keeps its form: no empty error, no status-less fields added.
        const doc = JSON.parse((raw.prepare('SELECT data FROM channel_messages WHERE uid = 1').get() as { data: string }).data) as Record<string, unknown>;
        expect(Object.keys(doc).sort()).toEqual(['channelId', 'contactId', 'contents', 'conversationId', 'createdAt', 'delivery', 'direction', 'isReceive', 'raw', 'updatedAt'].sort());
        // An unknown guid writes nothing; an update with ids takes changeDelivery's path.
        applyDeliveryRecord(ctx, 'ghost', { delivery: 'sent' }, 1700);
        applyDeliveryRecord(ctx, 'g1', { delivery: 'failed', deliveryError: 'y', originalMessageId: 'om1' }, 1800);
        expect(await c.messageByGuid('g1')).toMatchObject({ delivery: 'failed', deliveryError: 'y', originalMessageId: 'om1', updatedAt: 1800 });
        expect(await c.messageByOriginal('acc', 'om1')).toMatchObject({ uid: 1 });
      } finally {
        raw.close();
      }
    } finally {
      await s.close();
    }
  });
});
