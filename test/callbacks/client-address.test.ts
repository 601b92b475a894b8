import { describe, expect, it } from 'vitest';
import { expectTencentRequest, useCallbackServer, useReceiver } from '../helpers/callbacks.js';
import { channelSetup, message000, platform, PLATFORM_KEY } from '../helpers/channel-apps.js';
import { single, text } from '../helpers/messages.js';
import { startTestServer } from '../helpers/server.js';

/**
 * config `trustedProxies`: behind a load balancer the client's address is read from X-Forwarded-For,
 * for admin calls (request.ip), device connections (the WebSocket upgrade) and seed 000's allow-list;
 * without it the header is ignored, so a client cannot choose the address it is reported with.
 */

describe('client address behind trusted proxies', () => {
  const r = useReceiver();
  // The test client connects from loopback: the "load balancer"; 10.0.0.0/8 is a second proxy hop.
  const t = useCallbackServer(r, {}, { trustedProxies: ['loopback', '10.0.0.0/8'] });

  it('admin sends and device sends report the forwarded client as ClientIP, skipping trusted hops', async () => {
    const [a, b, c] = await t.users('a', 'b', 'c');
    await t.admin.post('/message/send', { sender: a, conv: { ...single(b), line: 0 }, payload: text('via lb') }, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    const q = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a);
    expectTencentRequest(q, { command: 'C2C.CallbackAfterSendMsg', optPlatform: 'RESTAPI', clientIp: '203.0.113.7' });

    // Client → proxy 10.1.2.3 → load balancer (loopback): the nearest untrusted address is the client's.
    const phone = await t.device(c, 'c-android', { platform: 2, ws: { headers: { 'x-forwarded-for': '198.51.100.9, 10.1.2.3' } } });
    phone.send({ type: 'send', id: 'd1', conv: single(b), payload: text('device via lb') });
    await phone.waitType('sent', (f) => f['id'] === 'd1');
    const q2 = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === c);
    expectTencentRequest(q2, { command: 'C2C.CallbackAfterSendMsg', optPlatform: 'Android', clientIp: '198.51.100.9' });
  });
});

describe('client address without trusted proxies', () => {
  const r = useReceiver();
  const t = useCallbackServer(r);

  it('ignores X-Forwarded-For: admin and device sends report the peer address', async () => {
    const [a, b, c] = await t.users('a', 'b', 'c');
    await t.admin.post('/message/send', { sender: a, conv: { ...single(b), line: 0 }, payload: text('spoof') }, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    const q = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === a);
    expectTencentRequest(q, { command: 'C2C.CallbackAfterSendMsg', optPlatform: 'RESTAPI', clientIp: '127.0.0.1' });

    const phone = await t.device(c, 'c-ios', { platform: 1, ws: { headers: { 'x-forwarded-for': '198.51.100.9' } } });
    phone.send({ type: 'send', id: 'd1', conv: single(b), payload: text('device spoof') });
    await phone.waitType('sent', (f) => f['id'] === 'd1');
    const q2 = await r.waitDelivered('C2C.CallbackAfterSendMsg', (x) => x.From_Account === c);
    expectTencentRequest(q2, { command: 'C2C.CallbackAfterSendMsg', optPlatform: 'iOS', clientIp: '127.0.0.1' });
  });
});

describe("seed 000's address allow-list behind trusted proxies", () => {
  it('checks the forwarded client, not the load balancer; a forwarded address is believed only from a trusted proxy', async () => {
    const fenced = await startTestServer({
      trustedProxies: ['loopback'],
      channelGateway: { platformKey: PLATFORM_KEY, platformAllowIps: ['203.0.113.0/24'] },
    });
    try {
      const s = await channelSetup(fenced, '000');
      const from = (ip: string): { headers: Record<string, string> } => ({ headers: { 'x-forwarded-for': ip } });
      expect((await platform(fenced, 'POST', '/conversations/messages', message000(s.accountId, 'ivy'), from('203.0.113.7'))).status).toBe(200);
      const refused = { status: 403, body: { Code: 403, Message: 'address not allowed' } };
      // The load balancer itself (no header) and a client outside the list.
      expect(await platform(fenced, 'POST', '/conversations/messages', message000(s.accountId, 'jo'))).toEqual(refused);
      expect(await platform(fenced, 'POST', '/conversations/messages', message000(s.accountId, 'jo'), from('198.51.100.1'))).toEqual(refused);
    } finally {
      await fenced.close();
    }
    const direct = await startTestServer({ channelGateway: { platformKey: PLATFORM_KEY, platformAllowIps: ['203.0.113.0/24'] } });
    try {
      // Without trusted proxies a client naming an allowed address in the header is still refused.
      const r = await platform(direct, 'POST', '/conversations/messages', {}, { headers: { 'x-forwarded-for': '203.0.113.7' } });
      expect(r).toEqual({ status: 403, body: { Code: 403, Message: 'address not allowed' } });
    } finally {
      await direct.close();
    }
  });

  it('a malformed trusted proxy stops start-up', async () => {
    await expect(startTestServer({ trustedProxies: ['not-an-address'] })).rejects.toThrow(/trustedProxies/);
  });
});
