import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './redis-server.js';
import { removeDir, tempDir } from './temp.js';

/**
 * A PostgreSQL server of the test's own (initdb into a temp directory, a free port), for what must not
 * touch the shared one: restarting it. `crash()` is an immediate shutdown (SIGQUIT to the postmaster:
 * every backend killed, nothing checkpointed, WAL replayed at the next start — what a crash or a
 * `pg_ctl stop -m immediate` does); `start()` brings it back on the same port and data; `close()` stops
 * it for good and removes its directory.
 *
 * The binaries are Debian's (/usr/lib/postgresql/<major>/bin, the highest major installed). PostgreSQL
 * refuses to run as root: a root test process runs it as the `postgres` system user (Debian's package
 * creates it). Missing binaries fail the test, never skip it.
 */
export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  start(): Promise<void>;
  crash(): Promise<void>;
  close(): Promise<void>;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = fs.existsSync(root) ? fs.readdirSync(root).filter((d) => fs.existsSync(path.join(root, d, 'bin', 'postgres'))) : [];
  if (majors.length === 0) throw new Error(`no PostgreSQL server binaries under ${root} (Debian package postgresql)`);
  majors.sort((a, b) => Number(b) - Number(a));
  return path.join(root, majors[0]!, 'bin');
}

/** uid/gid to run PostgreSQL as: the `postgres` user when this process is root, else this process's own. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const user = runAs();
  const dir = tempDir('sb-pg-');
  const data = path.join(dir, 'data');
  if (user) fs.chownSync(dir, user.uid, user.gid);
  execFileSync(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C'], {
    stdio: 'pipe',
    ...(user ?? {}),
  });
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const start = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const args = ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`, '-c', 'max_connections=100'];
      const p = spawn(path.join(bin, 'postgres'), args, { stdio: ['ignore', 'pipe', 'pipe'], ...(user ?? {}) });
      proc = p;
      let out = '';
      let ready = false;
      const onData = (b: Buffer): void => {
        out += b.toString();
        if (!ready && out.includes('database system is ready to accept connections')) {
          ready = true;
          resolve();
        }
      };
      // PostgreSQL logs to stderr; both streams are drained for the life of the process.
      p.stdout?.on('data', onData);
      p.stderr?.on('data', onData);
      p.on('error', reject);
      p.on('exit', (code, signal) => {
        if (!ready) reject(new Error(`postgres exited (${code ?? signal}) before it was ready: ${out.slice(-800)}`));
      });
    });
  const crash = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGQUIT');
    });
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    crash,
    close: async () => {
      await crash();
      removeDir(dir);
    },
  };
}
