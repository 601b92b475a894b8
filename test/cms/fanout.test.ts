import { describe, expect, it } from 'vitest';
import { CmsClient, LiveInboxClient, operator } from '../helpers/cms.js';
import { fresh } from '../helpers/messages.js';
import { useServer } from '../helpers/use-server.js';
import { eventually } from '../helpers/ws-client.js';

const AUDIENCE = 3000;
const CONNECTED = 150;

describe('notification centre: large fan-out in batches', () => {
  // Small batches so that a modest audience still takes many of them.
  const t = useServer({ notifications: { fanoutBatch: 250 } });
  const cms = (): CmsClient => new CmsClient(t.url);

  it(`one notification to ${AUDIENCE} users: every inbox row, every connected socket pushed once, counts exact`, async () => {
    const hub = t.server.hub;
    const op = await operator(t);
    const ids = Array.from({ length: AUDIENCE }, () => fresh('fan'));
    await Promise.all(ids.map((id) => hub.users.create(id, { name: `n-${id}` })));
    const tokens = await Promise.all(ids.slice(0, CONNECTED).map((id) => hub.users.issueToken(id, 'web', 0)));
    const sockets = await Promise.all(tokens.map((tk) => LiveInboxClient.open(t.url, tk)));
    try {
      const id = await cms().add(op.token, { title: 'big', send_to: ids });
      const sent = await cms().call('GET', `/notify/${id}/send`, { token: op.token });
      expect(sent.body['error_code']).toBe(10002);
      // Other requests are served while the fan-out runs.
      expect((await cms().call('GET', '/message/list', { token: tokens[0]! })).status).toBe(200);
      await Promise.all(sockets.map((s) => s.waitItem(id, { timeoutMs: 20000 })));
      await hub.notifications.idle();
      const n = await hub.notifications.get(id);
      expect(n).toMatchObject({ fanoutDone: true, recipientCount: AUDIENCE, readCount: 0 });
      for (const uid of [ids[0]!, ids[AUDIENCE - 1]!, ids[1234]!]) expect(await hub.notifications.unreadCount(uid)).toBe(1);
      expect(await hub.notifications.recipients(id, 'unread', 0, 1)).toMatchObject({ total: AUDIENCE });
      // Each socket got the backlog and exactly one push.
      for (const s of sockets) expect(s.frames.items.length).toBe(2);
      const d = await cms().detail(op.token, id, { page_size: '10' });
      expect(d).toMatchObject({ recipients_total: AUDIENCE, unread_total: AUDIENCE, has_read_total: 0 });
      expect((d['recipients'] as unknown[]).length).toBe(10);
      // The operator's list shows a preview of each list and the totals.
      const list = await cms().ok('GET', '/notify/list', op.token);
      const item = (list['data'] as Array<Record<string, unknown>>).find((x) => x['id'] === id)!;
      expect((item['recipients'] as unknown[]).length).toBe(100);
      expect(item['recipients_total']).toBe(AUDIENCE);
    } finally {
      for (const s of sockets) s.close();
    }
  }, 120_000);
});

describe('notification centre: a fan-out interrupted by a stop resumes at the next start', () => {
  const t = useServer({ notifications: { fanoutBatch: 7 } });

  it('a notification recorded as sent without its rows gets them after a restart, once', async () => {
    const op = await operator(t);
    const ids = Array.from({ length: 40 }, () => fresh('res'));
    for (const id of ids) await t.server.hub.users.create(id, { name: id });
    const id = await new CmsClient(t.url).add(op.token, { send_to: ids });
    // Recorded as sent, as a send that stopped before its first batch leaves it.
    await t.server.hub.store.notifications.markSent(id, Date.now());
    expect(await t.server.hub.store.notifications.unfinished()).toEqual([id]);
    await t.restart();
    await eventually(async () => (await t.server.hub.store.notifications.unfinished()).length === 0, 'fan-out resumed');
    for (const u of ids) expect(await t.server.hub.notifications.unreadCount(u)).toBe(1);
    const token = await t.token(ids[3]!, 'web');
    expect((await new CmsClient(t.url).inbox(token))['totalCount']).toBe(1);
  }, 60_000);
});
