import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeCallbackAgents } from '../../src/callbacks/http.js';
import { conversationIdOf, contactIdOf } from '../../src/core/channel-apps/model.js';
import { staffPost } from '../helpers/channel-apps.js';
import { useChildServer } from '../helpers/child-server.js';
import { FakeChannelApp } from '../helpers/fake-channel-app.js';
import { eventually } from '../helpers/ws-client.js';

const SECRET = 'channel-out-crash-secret';

/**
 * Replies survive kill -9 (a child process, synchronous FULL): every reply the admin API acknowledged
 * reaches the app after a restart — including those posted while the process died, whose outcome was
 * never recorded — and the app shows each once (it dedupes on the idempotency key, as real apps must:
 * delivery is at least once). A short lease (3 s) so that the jobs in flight at the kill are claimed
 * again soon after the restart.
 */
describe('outbound replies across kill -9', () => {
  let app: FakeChannelApp;
  beforeAll(async () => {
    app = await FakeChannelApp.start('002', 'crash-app', 'crash-secret');
  });
  afterAll(async () => {
    await app.close();
    await closeCallbackAgents();
  });
  const node = useChildServer({
    secret: SECRET,
    startIn: 'manual',
    config: { outbox: { channels: { 'channel-app': { firstRetryMs: 20, maxRetryMs: 100, breakerThreshold: 0, maxAttempts: 100, leaseMs: 3000 } } } },
  });

  it('every acknowledged reply reaches the app once, sent before or after the crash', async () => {
    let child = await node.start();
    const admin = node.admin;
    await admin.ok('/user/create', { userId: 'agent', name: 'agent' });
    await admin.ok('/channel_app/create', { appId: 'crash-app', secret: 'crash-secret', protocol: '002', baseUrl: app.url });
    await admin.ok('/channel_account/create', { channelAccountId: 'acc', channelId: 'wechat', appId: 'crash-app', agents: ['agent'] });
    const customers = ['c1', 'c2', 'c3', 'c4'];
    for (const c of customers) expect((await staffPost(child, 'crash-app', 'crash-secret', { FromUserId: c, MsgType: 'text', Content: 'hi' })).body.errcode).toBe(0);
    const convs = customers.map((c) => conversationIdOf('acc', contactIdOf('acc', c), ''));

    const acked: number[] = [];
    let stop = false;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await node.admin.send('agent', { type: 1, target: convs[w % convs.length]!, line: 0 }, { type: 1, searchableContent: `r${w}-${i}`, persistFlag: 3 });
          acked.push(r.messageUid);
        } catch {
          return; // the server is gone
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    // Kill while replies are being sent and delivered.
    await eventually(async () => acked.length >= 150 && app.shown.length >= 20, 'replies acknowledged and delivered', 20_000);
    child.proc.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    stop = true;
    await Promise.all(workers);

    child = await node.start();
    const want = acked.map((uid) => `switchboard-msg-${uid}`);
    await eventually(async () => want.every((k) => app.shown.includes(k)), `all ${want.length} acknowledged replies at the app`, 30_000);
    // Shown once each (the app dedupes by key); nothing shown that was not a reply of this test.
    expect(new Set(app.shown).size).toBe(app.shown.length);
    expect(app.shown.every((k) => /^switchboard-msg-\d+$/.test(k))).toBe(true);
    expect(app.requests.items.every((r) => r.signed)).toBe(true);
  }, 120_000);
});
