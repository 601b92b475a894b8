import { describe, expect, it } from 'vitest';
import { CmsClient, members, operator } from '../helpers/cms.js';
import { useServer } from '../helpers/use-server.js';

/** Every bound of the notification centre (docs/security.md): exactly at it accepted, past it 400/413. */
describe('notification centre: bounds', () => {
  const t = useServer({ notifications: { bodyLimitBytes: 2_000_000 } });
  const cms = (): CmsClient => new CmsClient(t.url);

  it('title 1 024, body 65 536, message_type and lng 128, translations 32: at the bound stored, past it 400 40000', async () => {
    const op = await operator(t);
    const [a] = await members(t, 1);
    const to = [a!.userId];
    const at = {
      title: '題'.repeat(1024),
      body: 'b'.repeat(65536),
      message_type: 't'.repeat(128),
      lng: 'l'.repeat(128),
      translations: Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`l${i}`, { title: 'x'.repeat(1024), body: 'y' }])),
    };
    const id = await cms().add(op.token, { ...at, send_to: to });
    const d = await cms().detail(op.token, id);
    expect((d['title'] as string).length).toBe(1024);
    expect((d['message_body'] as string).length).toBe(65536);
    for (const over of [
      { title: 'x'.repeat(1025) },
      { body: 'b'.repeat(65537) },
      { message_body: 'b'.repeat(65537) },
      { message_type: 't'.repeat(129) },
      { lng: 'l'.repeat(129) },
      { send_method: 'w'.repeat(17) },
      { translations: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, { title: 'x', body: 'y' }])) },
      { translations: { zh: { title: 'x'.repeat(1025), body: '' } } },
      { translations: { ['z'.repeat(129)]: { title: 'x', body: '' } } },
      { send_to: ['u'.repeat(129)] },
      { options: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i])) },
    ]) {
      const r = await cms().call('POST', '/notify/add', { token: op.token, body: { title: 't', send_method: 'web', send_to: to, ...over } });
      expect([r.status, r.body['error_code']], Object.keys(over)[0]).toEqual([400, 40000]);
      const u = await cms().call('PUT', `/notify/${id}/update`, { token: op.token, body: over });
      expect([u.status, u.body['error_code']], `update ${Object.keys(over)[0]}`).toEqual([400, 40000]);
    }
  });

  it('send_to holds at most 100 000 ids (refused by the schema before any lookup)', async () => {
    const op = await operator(t);
    const ids = Array.from({ length: 100_001 }, (_, i) => `x${i}`);
    const r = await cms().call('POST', '/notify/add', { token: op.token, body: { title: 't', send_method: 'web', send_to: ids } });
    expect([r.status, r.body['error_code']]).toEqual([400, 40000]);
  });

  it('a body over notifications.bodyLimitBytes is 413 41300', async () => {
    const op = await operator(t);
    const r = await cms().call('POST', '/notify/add', { token: op.token, body: { title: 't', send_method: 'web', send_to: ['a'], body: 'x'.repeat(2_100_000) } });
    expect([r.status, r.body['error_code']]).toEqual([413, 41300]);
  });
});
