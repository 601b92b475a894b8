import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/server.js';
import { buildSdk, listFiles } from './build-sdk.js';

/**
 * The built SDK runs in a browser: it imports nothing but its own files (no `node:*`, no `ws`, no
 * bare specifier a browser could not resolve), uses no Node global, and works when loaded as ES
 * modules into a fresh V8 context that has only what a page has (no process, require or Buffer)
 * and a fake global WebSocket.
 */

const execFileP = promisify(execFile);

/** Runs in a child (`--experimental-vm-modules`): loads dist/ into a bare context and drives it. */
const RUNNER = String.raw`
import vm from 'node:vm';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = process.argv[2];
const sockets = [];
class FakeWebSocket {
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    sockets.push(this);
  }
  send(data) {
    if (this.readyState !== 1) throw new Error('InvalidStateError');
    this.sent.push(JSON.parse(data));
  }
  close(code, reason) {
    this.readyState = 3;
    this.closed = { code, reason };
  }
}
// What a page has, and nothing Node-only.
const page = { WebSocket: FakeWebSocket, URL, setTimeout, clearTimeout, setInterval, clearInterval, queueMicrotask, console, crypto: globalThis.crypto };
const ctx = vm.createContext(page);
const nodeGlobals = vm.runInContext('[typeof process, typeof require, typeof Buffer, typeof module, typeof global].join()', ctx);

const modules = new Map();
const load = (file) => {
  let m = modules.get(file);
  if (!m) {
    m = new vm.SourceTextModule(fs.readFileSync(file, 'utf8'), { context: ctx, identifier: pathToFileURL(file).href });
    modules.set(file, m);
  }
  return m;
};
const refused = [];
const root = load(path.join(dist, 'index.js'));
await root.link((specifier, referencing) => {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) {
    refused.push(specifier);
    throw new Error('a browser cannot resolve ' + specifier);
  }
  return load(path.resolve(path.dirname(fileURLToPath(referencing.identifier)), specifier));
});
await root.evaluate();
const { SwitchboardClient } = root.namespace;

const seen = [];
const client = new SwitchboardClient({ url: 'wss://im.example.test/ws', token: 'tok', cursor: 0, reconnect: false });
client.on('message', (e) => seen.push(e.message.messageId));
const connected = client.connect();
const s = sockets[0];
const receive = (f) => s.onmessage({ data: JSON.stringify(f) });
s.readyState = 1;
s.onopen({});
receive({ type: 'hello', userId: 'u', clientId: 'c' });
receive({ type: 'message', cursor: 1, message: { messageId: 41, sender: 'a', conv: { type: 0, target: 'u', line: 0 }, payload: { type: 1 }, toUsers: [], timestamp: 5 } });
receive({ type: 'synced', cursor: 1 });
await connected;
const sending = client.send({ type: 0, target: 'bob', line: 0 }, { type: 1, searchableContent: 'hi' });
const frame = s.sent.find((f) => f.type === 'send');
receive({ type: 'sent', id: frame.id, messageUid: 9, timestamp: 10 });
const result = await sending;
client.close();
console.log(JSON.stringify({ nodeGlobals, refused, sockets: sockets.length, url: s.url, seen, frame, result, lastCursor: client.lastCursor, closed: s.closed, acks: s.sent.filter((f) => f.type === 'ack') }));
`;

describe('@switchboard/client in a browser', () => {
  let work: string;
  let dist: string;

  beforeAll(async () => {
    work = tempDir('sb-sdk-browser-');
    dist = path.join(await buildSdk(work), 'dist');
  }, 60_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('the built modules import only each other and use no Node global', () => {
    const js = listFiles(dist).filter((f) => f.endsWith('.js'));
    expect(js).toContain('index.js');
    let imports = 0;
    for (const f of js) {
      const src = fs.readFileSync(path.join(dist, f), 'utf8');
      const specifiers = [...src.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s*['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? m[2] ?? m[3]);
      for (const s of specifiers) expect(s, `${f} imports ${s}`).toMatch(/^\.\.?\/[\w./-]+\.js$/);
      imports += specifiers.length;
      const code = src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      for (const word of ['require(', 'process.', 'Buffer', '__dirname', 'node:', "from 'ws'", 'global.']) expect(code.includes(word), `${f} mentions ${word}`).toBe(false);
    }
    expect(imports).toBeGreaterThanOrEqual(8); // the scan sees the modules' imports of each other
    for (const f of listFiles(dist).filter((x) => x.endsWith('.d.ts'))) {
      const src = fs.readFileSync(path.join(dist, f), 'utf8');
      expect(src, f).not.toMatch(/reference types=|NodeJS\.|\bBuffer\b|from ['"](node:|ws['"])/);
    }
  });

  it('loads as ES modules in a context with only page globals and a fake WebSocket, and works', async () => {
    const runner = path.join(work, 'runner.mjs');
    fs.writeFileSync(runner, RUNNER);
    const { stdout } = await execFileP(process.execPath, ['--experimental-vm-modules', '--no-warnings', runner, dist], { cwd: work, timeout: 20_000 });
    const r = JSON.parse(stdout) as Record<string, unknown>;
    expect(r['nodeGlobals']).toBe('undefined,undefined,undefined,undefined,undefined');
    expect(r['refused']).toEqual([]);
    expect(r['sockets']).toBe(1);
    expect(r['url']).toBe('wss://im.example.test/ws?token=tok&cursor=0');
    expect(r['seen']).toEqual([41]);
    expect(r['frame']).toMatchObject({ type: 'send', conv: { type: 0, target: 'bob', line: 0 }, payload: { type: 1, searchableContent: 'hi' }, clientMsgId: expect.any(String) });
    expect(r['result']).toEqual({ messageUid: 9, timestamp: 10, duplicate: false });
    expect(r['lastCursor']).toBe(1);
    expect(r['closed']).toEqual({ code: 1000, reason: 'client closed' });
    // close() flushed the pending automatic ack.
    expect(r['acks']).toEqual([{ type: 'ack', cursor: 1, timestamp: 5 }]);
  });
});
