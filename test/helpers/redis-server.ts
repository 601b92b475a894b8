import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { removeDir, tempDir } from './temp.js';

/**
 * A redis-server of the test's own, on a free port, for what must not touch the shared Redis
 * (restarting it, cutting it off). `stop()` kills it (SIGKILL: a crash, nothing saved), `start()` brings
 * it back on the same port, empty; `close()` stops it for good and removes its directory.
 */
export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 at the time of the call. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = tempDir('sb-redis-');
  let proc: ChildProcess | undefined;
  const start = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      proc = p;
      let out = '';
      const onData = (b: Buffer): void => {
        out += b.toString();
        if (out.includes('Ready to accept connections')) {
          p.stdout?.off('data', onData);
          p.stdout?.resume();
          resolve();
        }
      };
      p.stdout?.on('data', onData);
      p.stderr?.resume();
      p.on('error', reject);
      p.on('exit', (code) => {
        if (!out.includes('Ready to accept connections')) reject(new Error(`redis-server exited (${code}) before it was ready: ${out.slice(-500)}`));
      });
    });
  const stop = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    close: async () => {
      await stop();
      removeDir(dir);
    },
  };
}
