import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/admin-client.js';
import { useServer } from '../helpers/use-server.js';

/**
 * docs/admin-api.md lists every route registered under /admin, each with an example: the routes are
 * read from the running server's OpenAPI document (generated from the registered route schemas), so
 * a route added without documentation fails here.
 */

const DOC = fs.readFileSync(path.resolve(__dirname, '../../docs/admin-api.md'), 'utf8');

/** Heading → the paths it documents: `### POST /admin/group/manager/set · manager/mute · manager/allow`. */
function documented(): Map<string, string> {
  const sections = new Map<string, string>();
  const parts = DOC.split(/^(?=#{2,3} )/m);
  for (const part of parts) {
    const heading = part.split('\n', 1)[0]!;
    const m = /^### POST (\/admin\/\S+)(.*)$/.exec(heading);
    if (m) {
      const first = m[1]!;
      sections.set(first, part);
      for (const extra of m[2]!.split('·').map((x) => x.trim().split(' ')[0]!).filter((x) => x !== '')) {
        const segs = extra.split('/').length;
        sections.set(`${first.split('/').slice(0, -segs).join('/')}/${extra}`, part);
      }
    } else if (/^## [0-9]+\. Health/.test(heading)) {
      sections.set('/admin/health', part);
    }
  }
  return sections;
}

const t = useServer();

describe('docs/admin-api.md', () => {
  it('has an entry with an example for every route registered under /admin', async () => {
    const openapi = JSON.parse((await rawRequest(t.url, { method: 'GET', path: '/docs/json' })).raw) as { paths: Record<string, unknown> };
    const routes = Object.keys(openapi.paths).filter((p) => p.startsWith('/admin/'));
    // The surfaces this page covers are all there (messages, users, groups, channels, presence, callbacks, health).
    for (const p of ['/admin/message/send', '/admin/user/onlinestatus', '/admin/callback/stats', '/admin/health', '/admin/channel/create']) {
      expect(routes).toContain(p);
    }
    const docs = documented();
    const missing = routes.filter((p) => !docs.has(p));
    expect(missing, 'routes without an entry in docs/admin-api.md').toEqual([]);
    const withoutExample = routes.filter((p) => !/```text\n→ /.test(docs.get(p) ?? ''));
    expect(withoutExample, 'entries without an example request (```text → …)').toEqual([]);
  });

  it('no longer calls the online-status routes unavailable', () => {
    expect(DOC).not.toMatch(/Not provided[^\n]*\n?[^\n]*user\/onlinestatus/);
  });
});
