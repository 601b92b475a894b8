import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AdminClient, rawRequest } from './helpers/admin-client.js';
import { killChildren, runCli, startChild } from './helpers/child-server.js';
import { startPrivateRedis } from './helpers/redis-server.js';
import { tempDir } from './helpers/server.js';

describe('switchboard CLI', () => {
  afterAll(killChildren);

  it('prints help and the version', async () => {
    const h = await runCli(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('switchboard serve');
    expect(h.stdout).toContain('SWITCHBOARD_ADMIN_SECRET');
    const v = await runCli(['--version']);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('refuses invalid configuration with a clear message and exit code 1', async () => {
    const bad = await runCli(['serve', '--port', 'abc']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--port: expected an integer, got 'abc'");
    const env = await runCli(['serve', '--port', '0'], { SWITCHBOARD_SYNCHRONOUS: 'OFF' });
    expect(env.code).toBe(1);
    expect(env.stderr).toContain('store.synchronous');
    expect(env.stderr).toContain('FULL, NORMAL');
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ port: 0, nosuchkey: 1 }));
    const file = await runCli(['serve', '--config', path.join(dir, 'c.json')]);
    expect(file.code).toBe(1);
    expect(file.stderr).toContain("'nosuchkey'");
    const unknown = await runCli(['serve', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('bogus');
  });

  it('stops with exit code 1 and a clear message (password hidden) when the Redis bus is unreachable', async () => {
    const redis = await startPrivateRedis();
    await redis.stop(); // a port where nothing listens now
    try {
      const r = await runCli(['serve', '--port', '0', '--host', '127.0.0.1', '--data', tempDir()], {
        SWITCHBOARD_BUS_URL: `redis://:hunter2@127.0.0.1:${redis.port}`,
        SWITCHBOARD_BUS_CONNECT_TIMEOUT_MS: '1000',
        SWITCHBOARD_ADMIN_SECRET: 's3cret',
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot reach Redis at redis://:***@127.0.0.1:${redis.port}`);
      expect(r.stderr + r.stdout).not.toContain('hunter2');
      expect(r.stdout).not.toContain('listening on');
    } finally {
      await redis.close();
    }
  });

  it('generates the admin secret once, prints one listening line, and stops cleanly on SIGTERM', async () => {
    const dir = tempDir();
    const first = await startChild(['--port', '0', '--host', '127.0.0.1', '--data', dir], { LOG_LEVEL: 'info' });
    const secret = fs.readFileSync(path.join(dir, 'admin-secret'), 'utf8').trim();
    expect(secret.length).toBeGreaterThanOrEqual(40);
    // Written through a temporary file that is gone once the secret is in place.
    expect(fs.readdirSync(dir).filter((f) => f.includes('admin-secret'))).toEqual(['admin-secret']);
    expect((fs.statSync(path.join(dir, 'admin-secret')).mode & 0o777).toString(8)).toBe('600');
    expect(first.output()).toContain(secret);
    const admin = new AdminClient(first.url, secret);
    expect(await admin.code('/user/get_info', { userId: 'x' })).toBe(253);
    first.proc.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    expect(first.output().match(/listening on http:\/\//g)?.length).toBe(1);

    const second = await startChild(['--port', '0', '--host', '127.0.0.1', '--data', dir], { LOG_LEVEL: 'debug' });
    expect(second.output()).not.toContain(secret);
    expect(await new AdminClient(second.url, secret).code('/user/get_info', { userId: 'x' })).toBe(253);
    second.proc.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect(second.output().match(/listening on/g)?.length).toBe(1);
  });

  it('refuses to start on an empty admin-secret file with a clear message, and never replaces it', async () => {
    for (const content of ['', '  \n\t\n']) {
      const dir = tempDir();
      const file = path.join(dir, 'admin-secret');
      fs.writeFileSync(file, content, { mode: 0o600 });
      const r = await runCli(['serve', '--port', '0', '--host', '127.0.0.1', '--data', dir], { SWITCHBOARD_ADMIN_SECRET: '' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`the admin secret file ${file} is empty`);
      expect(r.stderr).toContain('SWITCHBOARD_ADMIN_SECRET');
      expect(r.stderr).not.toContain('EEXIST');
      expect(r.stdout).not.toContain('listening on');
      // Untouched, and no temporary file left behind.
      expect(fs.readFileSync(file, 'utf8')).toBe(content);
      expect(fs.readdirSync(dir).filter((f) => f.includes('admin-secret'))).toEqual(['admin-secret']);
    }
    // With the secret configured instead, the empty file does not matter.
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'admin-secret'), '');
    const c = await startChild(['--port', '0', '--host', '127.0.0.1', '--data', dir], { SWITCHBOARD_ADMIN_SECRET: 'from-env' });
    expect(await new AdminClient(c.url, 'from-env').code('/user/get_info', { userId: 'x' })).toBe(253);
    c.proc.kill('SIGTERM');
    expect((await c.exited).code).toBe(0);
  });

  it('serves the admin API on a separate port when asked, and health, ready, metrics and docs on the main port', async () => {
    const dir = tempDir();
    const c = await startChild(['--port', '0', '--host', '127.0.0.1', '--admin-port', '0', '--data', dir], { SWITCHBOARD_ADMIN_SECRET: 's3cret' });
    const m = /admin API also on (http:\/\/[^\s/]+)/.exec(c.output());
    expect(m).not.toBeNull();
    const adminUrl = m![1]!;
    expect(adminUrl).not.toBe(c.url);
    expect(await new AdminClient(adminUrl, 's3cret').code('/user/get_info', { userId: 'x' })).toBe(253);
    expect(await new AdminClient(c.url, 's3cret').code('/user/get_info', { userId: 'x' })).toBe(253);
    expect(JSON.parse((await rawRequest(c.url, { method: 'GET', path: '/health' })).raw)).toEqual({ status: 'ok' });
    expect(JSON.parse((await rawRequest(c.url, { method: 'GET', path: '/ready' })).raw)).toEqual({ status: 'ready' });
    const metrics = await rawRequest(c.url, { method: 'GET', path: '/metrics' });
    expect(metrics.raw).toContain('switchboard_admin_requests_total');
    expect(metrics.raw).toContain('switchboard_store_commit_batch_size');
    const docs = JSON.parse((await rawRequest(c.url, { method: 'GET', path: '/docs/json' })).raw) as { paths: Record<string, unknown> };
    expect(Object.keys(docs.paths)).toContain('/admin/message/send');
    expect(Object.keys(docs.paths)).toContain('/admin/message/recall_multicast');
    c.proc.kill('SIGTERM');
    expect((await c.exited).code).toBe(0);
  });

  it('never writes signatures, secrets or tokens to its logs, even at trace level', async () => {
    const dir = tempDir();
    const secret = 'log-test-secret-value';
    const c = await startChild(['--port', '0', '--host', '127.0.0.1', '--data', dir], { SWITCHBOARD_ADMIN_SECRET: secret, LOG_LEVEL: 'trace' });
    const admin = new AdminClient(c.url, secret);
    await admin.ok('/user/create', { userId: 'u', name: 'u' });
    const { token } = await admin.ok<{ token: string }>('/user/get_token', { userId: 'u', clientId: 'dev1', platform: 2 });
    const signs: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await admin.post('/message/send', { sender: 'u', conv: { type: 0, target: 'nobody' }, payload: { type: 1 } });
      signs.push(String(r.headers['x-switchboard-error'] ?? ''));
    }
    // A failing signature too (logged paths are the error paths).
    await rawRequest(c.url, { path: '/admin/user/get_info', headers: { nonce: '1', timestamp: String(Date.now()), sign: 'f'.repeat(40) }, body: '{}' });
    c.proc.kill('SIGTERM');
    await c.exited;
    const out = c.output();
    expect(out.length).toBeGreaterThan(0);
    expect(out).not.toContain(secret);
    expect(out).not.toContain(token);
    expect(out).not.toContain('f'.repeat(40));
  });
});
