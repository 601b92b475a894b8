/**
 * Every route of the robot and channel APIs (as /docs/json publishes them) answers hostile but signed
 * input — wrong types, non-objects, malformed JSON, oversized strings and bodies — with HTTP 200 and
 * Wildfire's envelope, never a server error (code 4), and the server keeps serving.
 */
import { describe, expect, it } from 'vitest';
import { rawRequest, sdkHeaders } from '../helpers/admin-client.js';
import { fresh } from '../helpers/messages.js';
import { useServer } from '../helpers/use-server.js';

const t = useServer();

async function paths(prefix: string): Promise<string[]> {
  const r = await rawRequest(t.url, { method: 'GET', path: '/docs/json' });
  const doc = JSON.parse(r.raw) as { paths: Record<string, unknown> };
  return Object.keys(doc.paths).filter((p) => p.startsWith(prefix));
}

const BODIES: Array<string | undefined> = [
  undefined,
  '',
  '{',
  'null',
  '[]',
  '"text"',
  '7',
  '{"messageUid":-1,"payload":{"type":"x"}}',
  '{"messageUid":"99999999999999999999","payload":[]}',
  '{"conv":{"type":99,"target":"","line":-1},"payload":{"type":1}}',
  '{"userId":{"$ne":1},"name":[],"mobile":7}',
  '{"url":null,"intValue":1e40,"strValue":{}}',
  '{"target":"x","subscribe":"yes","targets":"all","line":"0"}',
  JSON.stringify({ userId: 'u'.repeat(10_000), url: `http://h/${'x'.repeat(10_000)}`, strValue: 's'.repeat(2_000_000) }),
  JSON.stringify({ targets: Array.from({ length: 20_000 }, (_, i) => `t${i}`), payload: { type: 1 } }),
];

describe('robot and channel APIs under hostile input', () => {
  it('answer every route and body with HTTP 200 and a code that is not a server error', async () => {
    const robot = fresh('bot');
    const { secret: rsecret } = await t.admin.ok<{ secret: string }>('/robot/create', { userId: robot, name: robot, callback: '' });
    const [owner] = await t.users('owner');
    const ch = fresh('ch');
    const csecret = fresh('sec');
    await t.admin.ok('/channel/create', { owner, name: ch, targetId: ch, secret: csecret, state: 0x04 });
    const robotPaths = await paths('/robot/');
    const channelPaths = await paths('/channel/');
    expect(robotPaths).toContain('/robot/message/send');
    expect(channelPaths).toContain('/channel/message/send');
    const callers: Array<[string[], Record<string, string>, string]> = [
      [robotPaths, { rid: robot }, rsecret],
      [channelPaths, { cid: ch }, csecret],
    ];
    for (const [list, id, secret] of callers) {
      for (const path of list) {
        for (const body of BODIES) {
          const r = await rawRequest(t.url, { path, headers: { 'content-type': 'application/json', ...id, ...sdkHeaders(secret) }, ...(body === undefined ? {} : { body }) });
          const label = `${path} ${body?.slice(0, 60) ?? '(none)'}`;
          expect(r.status, label).toBe(200);
          const env = JSON.parse(r.raw) as { code: number; msg: string };
          expect(typeof env.code, label).toBe('number');
          expect(env.code, label).not.toBe(4);
        }
      }
    }
    // Still serving.
    const h = await rawRequest(t.url, { path: '/robot/get_callback', headers: { rid: robot, ...sdkHeaders(rsecret) } });
    expect(JSON.parse(h.raw)).toEqual({ code: 0, msg: 'success', result: { url: '' } });
  });
});
