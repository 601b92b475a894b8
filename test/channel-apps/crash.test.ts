import { describe, expect, it } from 'vitest';
import { message000, PLATFORM_KEY, staffPost } from '../helpers/channel-apps.js';
import { platform } from '../helpers/channel-apps.js';
import { useChildServer } from '../helpers/child-server.js';
import { connectRaw, getToken } from '../helpers/ws-client.js';

const SECRET = 'channel-crash-secret';

/**
 * Acknowledged inbound messages survive kill -9 (synchronous=FULL, a child process): every seed 002
 * message answered errcode 0 and every seed 000 message answered {guid} is there after a restart,
 * with its metadata, and a seed 000 retry answers the same guid.
 */
describe('channel gateway durability across kill -9', () => {
  const node = useChildServer({ secret: SECRET, startIn: 'manual', env: { SWITCHBOARD_PLATFORM_KEY: PLATFORM_KEY } });

  it('keeps every acknowledged inbound message', async () => {
    let child = await node.start();
    let admin = node.admin;
    await admin.ok('/user/create', { userId: 'agent', name: 'agent' });
    await admin.ok('/channel_app/create', { appId: 'wx', secret: 's', protocol: '002', baseUrl: 'http://127.0.0.1:9/x' });
    await admin.ok('/channel_account/create', { channelAccountId: 'acc-wx', channelId: 'wechat', appId: 'wx', agents: ['agent'] });
    await admin.ok('/channel_app/create', { appId: 'mail', secret: 's', protocol: '000', baseUrl: 'http://127.0.0.1:9/x' });
    await admin.ok('/channel_account/create', { channelAccountId: 'acc-mail', channelId: 'email', appId: 'mail', agents: ['agent'] });

    const acked002 = new Set<string>();
    const acked000 = new Map<string, Record<string, unknown>>();
    let stop = false;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const text = `w${w}-${i}`;
        try {
          if (i % 2 === 0) {
            const r = await staffPost(child, 'wx', 's', { FromUserId: `c${w % 4}`, MsgType: 'text', Content: text });
            if (r.body.errcode === 0) acked002.add(text);
          } else {
            const body = message000('acc-mail', `m${w % 4}@example.com`, { message: { originalMessageId: text, contents: [{ type: 'text', text }] } });
            const r = await platform(child, 'POST', '/conversations/messages', body);
            if (r.status === 200) acked000.set(r.body['guid'] as string, body);
          }
        } catch {
          return; // the server is gone
        }
      }
    };
    const workers = Array.from({ length: 12 }, (_, w) => worker(w));
    while (acked002.size + acked000.size < 200) await new Promise<void>((r) => setImmediate(r));
    child.proc.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    stop = true;
    await Promise.all(workers);

    child = await node.start();
    admin = node.admin;
    // The agent's device replays everything it received.
    const device = await connectRaw(child.url, await getToken(admin, 'agent', 'crash-dev'), { cursor: 0 });
    const seen = new Set(device.frames.filter((f) => f.type === 'message').map((f) => f['message'].payload.searchableContent as string));
    expect([...acked002].filter((x) => !seen.has(x))).toEqual([]);
    for (const [guid, body] of acked000) {
      const meta = await admin.ok<{ uid: number; originalMessageId: string }>('/channel_message/get', { guid });
      expect(meta.originalMessageId).toBe((body['message'] as { originalMessageId: string }).originalMessageId);
      expect(seen.has(meta.originalMessageId)).toBe(true);
      const retry = await platform(child, 'POST', '/conversations/messages', body);
      expect(retry).toEqual({ status: 200, body: { guid } });
    }
    await device.close();
  });
});
