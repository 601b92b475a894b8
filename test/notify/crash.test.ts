import { describe, expect, it } from 'vitest';
import { useReceiver } from '../helpers/callbacks.js';
import { useChildServer } from '../helpers/child-server.js';
import { CmsClient, LiveInboxClient } from '../helpers/cms.js';
import { eventually, getToken } from '../helpers/ws-client.js';

const SECRET = 'notify-crash-secret';

/**
 * Notification delivery across kill -9 (the server as a child process, synchronous=FULL): a send
 * scheduled for later, acknowledged just before the kill, fires once after the restart; an SMS whose
 * gateway keeps failing, killed between attempts, still ends in the web fallback after the restart
 * (its job is claimed again once its lease lapses). Waits on socket frames, gateway requests and
 * stored state only.
 */
describe('notification delivery across kill -9', () => {
  // The first SMS attempt never gets an answer (the process dies meanwhile); later ones are refused.
  let smsRequests = 0;
  const gateway = useReceiver(() => (smsRequests++ === 0 ? { hang: true } : { status: 503, body: { error: 'down' } }));
  const node = useChildServer(() => ({
    secret: SECRET,
    startIn: 'manual',
    env: { SWITCHBOARD_CALLBACK_POLL_MS: '20', SWITCHBOARD_SMS_URL: `${gateway.url}/sms` },
    config: {
      outbox: {
        channels: {
          sms: { maxAttempts: 2, firstRetryMs: 10, maxRetryMs: 10, leaseMs: 4000, breakerThreshold: 0 },
          'notify-timer': { leaseMs: 1000 },
        },
      },
    },
  }));

  async function setup(): Promise<{ cms: CmsClient; op: string; user: string; token: string }> {
    const admin = node.admin;
    await admin.ok('/user/create', { userId: 'op', name: 'op' });
    await admin.ok('/user/set_role', { userId: 'op', role: 'operator' });
    await admin.ok('/user/create', { userId: 'alice', name: 'alice', mobile: '+15550001111' });
    return { cms: new CmsClient(node.url), op: await getToken(admin, 'op', 'console'), user: 'alice', token: await getToken(admin, 'alice', 'web') };
  }

  it('a scheduled send fires once after a crash; a failing SMS still falls back to the web inbox', async () => {
    let child = await node.start();
    const { cms, op, user, token } = await setup();

    // An SMS with fallback: its first attempt hangs at the gateway (its deadline is 2 s: lease − 2 s).
    const sms = await cms.add(op, { title: 'SMS', body: 'via sms', send_method: 'sms', send_to: [user], use_web_when_miss: true });
    await cms.send(op, sms);
    await gateway.waitFor((r) => r.json?.to === '+15550001111', { label: 'the first SMS attempt', timeoutMs: 10_000 });

    // A web send scheduled 2.5 s ahead, acknowledged, then the process is killed.
    const later = await cms.add(op, { title: 'Later', body: 'scheduled', send_to: [user], schedule_at: Date.now() + 2_500 });
    expect(await cms.send(op, later)).toMatchObject({ error_code: 10002 });
    child.proc.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');

    child = await node.start({ port: 'same' });
    const live = await LiveInboxClient.open(node.url, token);
    // Due 2.5 s after the send: it fires while the socket connects or before (a slow restart), so it
    // comes live or in the backlog; either way once (the inbox holds it once, below).
    await live.waitItemOrBacklog(later, { timeoutMs: 20_000 });
    const detail = await cms.detail(op, later);
    expect(detail['has_send']).toBe(true);
    expect(((await cms.inbox(token))['data'] as Array<{ id: string }>).filter((i) => i.id === later)).toHaveLength(1);
    expect((await cms.call('GET', `/notify/${later}/send`, { token: op })).status).toBe(409);

    // The SMS job was in flight when the process died: it is claimed again once its lease lapses, its
    // second (last) attempt is refused, and the notification falls back to the web inbox — live, or
    // already in the backlog when the restart took longer than the lease (4 s).
    await live.waitItemOrBacklog(sms, { timeoutMs: 20_000 });
    expect(gateway.requests.filter((r) => r.json?.to === '+15550001111').length).toBe(2);
    await eventually(async () => ((await cms.inbox(token))['data'] as Array<{ id: string }>).some((i) => i.id === sms), 'the SMS fallback in the inbox', 20_000);
    const ds = (await cms.detail(op, sms))['deliveries'] as Array<{ id: string; status: string; error: string }>;
    expect(ds).toEqual([{ id: user, channel: 'sms', status: 'failed', error: 'HTTP 503' }]);
    live.close();
    child.proc.kill('SIGKILL');
    await child.exited;
  });
});
