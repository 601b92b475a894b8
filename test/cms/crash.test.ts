import { describe, expect, it } from 'vitest';
import { CmsClient } from '../helpers/cms.js';
import { useChildServer } from '../helpers/child-server.js';
import { eventually } from '../helpers/ws-client.js';

const SECRET = 'cms-crash-secret';
const USERS = 1200;

/**
 * Acknowledged notification writes survive kill -9 (synchronous FULL, a child process): an add and a
 * send that were answered stay; a fan-out killed in the middle completes after the restart, every
 * recipient getting exactly one inbox row; reads acknowledged before the kill stay read.
 */
describe('notification centre: durability across kill -9', () => {
  // Small batches: the kill lands in the middle of the fan-out.
  const node = useChildServer({ secret: SECRET, startIn: 'manual', env: { SWITCHBOARD_NOTIFY_FANOUT_BATCH: '20' } });

  it('a send acknowledged before the kill is delivered to every recipient once after the restart', async () => {
    let child = await node.start();
    let admin = node.admin;
    const ids = Array.from({ length: USERS }, (_, i) => `u${String(i).padStart(5, '0')}`);
    await admin.ok('/user/create', { userId: 'op', name: 'op' });
    await admin.ok('/user/set_role', { userId: 'op', role: 'operator' });
    for (let i = 0; i < ids.length; i += 100) await Promise.all(ids.slice(i, i + 100).map((u) => admin.ok('/user/create', { userId: u, name: u })));
    const op = (await admin.ok<{ token: string }>('/user/get_token', { userId: 'op', clientId: 'console' })).token;
    const first = (await admin.ok<{ token: string }>('/user/get_token', { userId: ids[0]!, clientId: 'web' })).token;
    let cms = new CmsClient(child.url);
    const read = await cms.add(op, { title: 'read before the kill', send_to: [ids[0]!] });
    await cms.send(op, read);
    await eventually(async () => ((await cms.inbox(first))['totalCount'] as number) === 1, 'delivered');
    await cms.ok('PUT', `/message/${read}/readOneNotifyMessage`, first);
    const big = await cms.add(op, { title: 'to everyone', send_to: ids });
    expect((await cms.send(op, big))['error_code']).toBe(10002);
    child.proc.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');

    child = await node.start();
    admin = node.admin;
    cms = new CmsClient(child.url);
    await eventually(async () => ((await cms.detail(op, big))['unread_total'] as number) === USERS, 'detail readable');
    // Every recipient ends with exactly one row of it.
    const last = (await admin.ok<{ token: string }>('/user/get_token', { userId: ids[USERS - 1]!, clientId: 'web' })).token;
    await eventually(async () => ((await cms.inbox(last))['totalCount'] as number) === 1, 'the fan-out finished after the restart', 20_000);
    for (const u of [ids[0]!, ids[1]!, ids[600]!, ids[USERS - 1]!]) {
      const tk = (await admin.ok<{ token: string }>('/user/get_token', { userId: u, clientId: 'check' })).token;
      const box = await cms.inbox(tk);
      expect((box['data'] as Array<{ id: string }>).filter((x) => x.id === big).length, u).toBe(1);
    }
    expect(await cms.detail(op, read)).toMatchObject({ has_send: true, has_read: [{ id: ids[0] }], has_read_total: 1 });
    expect(await cms.detail(op, big)).toMatchObject({ has_send: true, recipients_total: USERS });
  }, 120_000);
});
