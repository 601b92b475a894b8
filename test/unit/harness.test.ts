import { describe, expect, it } from 'vitest';
import { BUS_URL_ENV, mergeConfig, serverBackend, storeBackends, busBackends, STORE_URL_ENV } from '../helpers/backends.js';
import { single, text } from '../helpers/payloads.js';
import { useServer } from '../helpers/use-server.js';

/**
 * The test harness itself (test/README.md): which backend the environment selects for the
 * end-to-end suites, and the server fixture's lifecycle (lazy handle, restart on the same data).
 */

describe('end-to-end backend from the environment', () => {
  it('unset: SQLite in the data directory (writer thread) and the in-process bus', async () => {
    const b = serverBackend({});
    expect(b.name).toBe('sqlite + memory bus');
    const p = await b.provision('/nonexistent');
    expect(p.config).toEqual({ store: { synchronous: 'NORMAL' } });
    expect(p.env).toEqual({});
    await p.dispose();
    expect(serverBackend({ [STORE_URL_ENV]: '', [BUS_URL_ENV]: '' }).name).toBe('sqlite + memory bus');
    expect(serverBackend({ [STORE_URL_ENV]: 'sqlite:', [BUS_URL_ENV]: 'memory:' }).name).toBe('sqlite + memory bus');
  });

  it('sqlite:inline: the connection on the event loop, in process and in a child process', async () => {
    const b = serverBackend({ [STORE_URL_ENV]: 'sqlite:inline' });
    expect(b.name).toBe('sqlite (inline) + memory bus');
    const p = await b.provision('/nonexistent');
    expect(p.config).toEqual({ store: { synchronous: 'NORMAL', writerThread: false } });
    expect(p.env).toEqual({ SWITCHBOARD_STORE_THREAD: 'false' });
  });

  it('an engine without an entry stops the run with the variable and the scheme named, never the URL', () => {
    expect(() => serverBackend({ [STORE_URL_ENV]: 'mysql://sb:hunter2@127.0.0.1:3306/sb' })).toThrow(
      /^SWITCHBOARD_TEST_STORE_URL: no end-to-end backend for "mysql:" \(known: postgres:, postgresql:, sqlite:\); add one in test\/helpers\/backends\.ts$/,
    );
    expect(() => serverBackend({ [BUS_URL_ENV]: 'nats://:hunter2@127.0.0.1:4222' })).toThrow(/^SWITCHBOARD_TEST_BUS_URL: no end-to-end backend for "nats:"/);
    expect(() => serverBackend({ [STORE_URL_ENV]: 'sqlite:other' })).toThrow(/sqlite: takes no path but "inline"/);
    expect(() => serverBackend({ [STORE_URL_ENV]: 'not a url' })).toThrow(/^SWITCHBOARD_TEST_STORE_URL is not a URL/);
    for (const bad of ['mysql://sb:hunter2@127.0.0.1:3306/sb', 'not a url hunter2']) {
      let message = '';
      try {
        serverBackend({ [STORE_URL_ENV]: bad });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).not.toContain('hunter2');
    }
  });

  it('mergeConfig merges objects deeply; arrays and scalars replace', () => {
    expect(mergeConfig({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3], e: 2 }, d: { x: 1 } })).toEqual({ a: { b: 1, c: [3], e: 2 }, d: { x: 1 } });
  });

  it('the contract suites have backends with distinct names', () => {
    const names = [...storeBackends(), ...busBackends()].map((b) => b.name);
    expect(new Set(names).size).toBe(names.length);
    expect(storeBackends().map((b) => b.name)).toEqual(['sqlite file (NORMAL)', 'sqlite :memory: (batches of 4)', 'sqlite in a writer thread', 'postgresql']);
  });
});

describe('useServer', () => {
  const t = useServer({ messaging: { maxGroupMembers: 7 } });
  let early = '';
  try {
    void t.url;
  } catch (err) {
    early = (err as Error).message;
  }

  it('refuses use while the describe is collected, and serves from the first hook on', async () => {
    expect(early).toMatch(/^useServer: the server starts in beforeAll/);
    expect(t.url).toMatch(/^http:\/\/127\.0\.0\.1:[0-9]+$/);
    expect(t.server.url).toBe(t.url);
    expect(t.admin.baseUrl).toBe(t.url);
    expect(await t.admin.code('/user/get_info', { userId: 'nobody' })).toBe(253);
  });

  it('applies the overrides and creates fresh users', async () => {
    const [a, b] = await t.users('a', 'b');
    expect(a).not.toBe(b);
    const members = Array.from({ length: 8 }, (_, i) => `${a}-m${i}`);
    for (const m of members) await t.admin.createUser(m);
    expect(await t.admin.code('/group/create', { operator: a, group: { group_info: { target_id: `${a}-g`, name: 'g', owner: a }, members: members.map((m) => ({ member_id: m })) } })).toBe(240);
  });

  it('restart(): the same port and data; devices and the admin client follow the new server', async () => {
    const [a, b] = await t.users('a', 'b');
    const sent = await t.admin.send(a, single(b), text('kept'));
    const before = t.url;
    const d = await t.device(b);
    await t.stop();
    expect(() => t.server).toThrow(/stopped/);
    expect((await d.closed).code).toBe(1001);
    await t.restart();
    expect(t.url).toBe(before);
    const again = await t.device(b, 'again', { cursor: 0 });
    await again.waitMessage(sent.messageUid);
    expect(again.messageUids()).toEqual([sent.messageUid]);
  });
});
