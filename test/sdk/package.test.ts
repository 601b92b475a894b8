import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/server.js';
import { device, withTimeout, wsUrl } from '../helpers/ws-client.js';
import { buildSdk, listFiles, ROOT, tsc } from './build-sdk.js';
import { useServer } from '../helpers/use-server.js';

/**
 * @switchboard/client as a package: built with its own tsconfig, packed with `npm pack` (so
 * `files` and `exports` are what a consumer gets), installed into a temporary project, and the
 * README's "Connect a device" snippet, verbatim but for the server URL, typechecked against the
 * packed .d.ts and run with Node against a real server on port 0.
 */

const execFileP = promisify(execFile);
const README_URL = "'ws://127.0.0.1:18080/ws'";

/** The ```ts block under the README's "Connect a device" heading. */
function readmeSnippet(): string {
  const md = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = /## Connect a device[^\n]*\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(md);
  if (!m) throw new Error('README.md has no ```ts block under "## Connect a device"');
  return m[1]!;
}

describe('@switchboard/client package', () => {
  let work: string;
  let app: string;
  let packed: string[];
  const t = useServer();

  beforeAll(async () => {
    work = tempDir('sb-sdk-pkg-');
    const pkg = await buildSdk(work);
    const { stdout } = await execFileP('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: pkg });
    const [info] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    packed = info!.files.map((f) => f.path).sort();
    // A consumer project: the tarball unpacked where npm would put it, plus ws and its types.
    app = path.join(work, 'app');
    const target = path.join(app, 'node_modules', '@switchboard', 'client');
    fs.mkdirSync(target, { recursive: true });
    await execFileP('tar', ['-xzf', path.join(work, info!.filename), '-C', target, '--strip-components=1']);
    fs.mkdirSync(path.join(app, 'node_modules', '@types'), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules', 'ws'), path.join(app, 'node_modules', 'ws'));
    for (const ty of ['ws', 'node']) fs.symlinkSync(path.join(ROOT, 'node_modules', '@types', ty), path.join(app, 'node_modules', '@types', ty));
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'readme-app', private: true, type: 'module', dependencies: { '@switchboard/client': `file:../${info!.filename}`, ws: '^8' } }, null, 2),
    );
  }, 120_000);

  afterAll(async () => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('packs dist (ESM + .d.ts), its sources and README, nothing else; exports and no runtime dependencies', () => {
    expect(packed).toContain('dist/index.js');
    expect(packed).toContain('dist/index.d.ts');
    expect(packed).toContain('README.md');
    expect(packed).toContain('package.json');
    expect(packed.every((f) => /^(dist|src)\/|^(README\.md|package\.json)$/.test(f))).toBe(true);
    const pj = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', '@switchboard', 'client', 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pj).toMatchObject({ name: '@switchboard/client', type: 'module', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } } });
    expect(pj['dependencies']).toBeUndefined();
    expect(pj['peerDependencies']).toBeUndefined();
    const installed = listFiles(path.join(app, 'node_modules', '@switchboard', 'client'));
    expect(installed.filter((f) => f.startsWith('dist/') && f.endsWith('.js')).length).toBeGreaterThan(1);
  });

  it('resolves by package name from a consumer project', async () => {
    const probe = path.join(app, 'probe.mjs');
    fs.writeFileSync(probe, "const m = await import('@switchboard/client'); console.log(JSON.stringify(Object.keys(m).sort()));\n");
    const { stdout } = await execFileP(process.execPath, [probe], { cwd: app });
    expect(JSON.parse(stdout)).toEqual(['DEFAULT_BACKOFF', 'SwitchboardClient', 'SwitchboardError', 'backoffDelay']);
  });

  // A TypeScript program over the packed .d.ts takes close to 30 s on a loaded 2-core machine.
  it('the README snippet typechecks against the packed types and runs against a real server', { timeout: 120_000 }, async () => {
    const snippet = readmeSnippet();
    expect(snippet).toContain(README_URL);
    expect(snippet.trim().split('\n').length).toBeLessThanOrEqual(12);
    const lines = snippet.split('\n');
    const imports = lines.filter((l) => l.startsWith('import '));
    const body = lines.filter((l) => !l.startsWith('import ')).join('\n').replace(README_URL, 'process.env.SB_URL!');
    const source = [
      ...imports,
      "const token: string = process.env.SB_TOKEN ?? '';",
      body,
      // After the snippet: a barrier so the echo of its own message has been shown, then wait for a recall.
      'await client.sync();',
      'console.log(JSON.stringify({ sent: messageUid }));',
      "await new Promise<void>((resolve) => client.on('recall', (e) => { if (e.messageUid === messageUid) resolve(); }));",
      'client.close();',
      '',
    ].join('\n');
    const file = path.join(app, 'readme.ts');
    fs.writeFileSync(file, source);
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', types: ['node'], noEmit: true, skipLibCheck: false }, files: ['readme.ts'] }),
    );
    await tsc(['-p', path.join(app, 'tsconfig.json')], app);
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    fs.writeFileSync(path.join(app, 'readme.mjs'), js);

    for (const u of ['alice', 'bob']) await t.admin.createUser(u);
    const bob = await t.device('bob', 'bob-phone');
    const token = await t.token('alice', 'alice-node');
    const child = spawn(process.execPath, ['readme.mjs'], { cwd: app, env: { ...process.env, SB_URL: wsUrl(t.url), SB_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const sentUid = await withTimeout(
        new Promise<number>((resolve, reject) => {
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /\{"sent":(\d+)\}/.exec(out);
            if (m) resolve(Number(m[1]));
          });
          void exited.then((code) => reject(new Error(`the snippet exited (${code}) early:\n${out}\n${err}`)));
        }),
        20_000,
        'the snippet to send',
      );
      // The message reached bob, the read mark reached the server, and the client saw its own message.
      const f = await bob.waitMessage(sentUid);
      expect(f['message']).toMatchObject({ sender: 'alice', conv: { type: 0, target: 'bob', line: 0 }, payload: { searchableContent: 'hi' } });
      expect((await t.admin.ok<{ timestamp: number }>('/message/conv_read', { userId: 'alice', type: 0, target: 'bob', line: 0 })).timestamp).toBeGreaterThan(0);
      expect(out).toContain('alice hi');
      // A recall reaches the snippet's recall handler; then it closes and the process exits by itself.
      await t.admin.ok('/message/recall', { operator: 'alice', messageUid: sentUid });
      expect(await withTimeout(exited, 10_000, 'the snippet to exit')).toBe(0);
      expect(out).toContain(`recalled ${sentUid}`);
      expect(err).toBe('');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
