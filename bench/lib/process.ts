import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Start a server process and resolve with its URL once it prints `listening on http://…` on stdout;
 * reject (with what it printed) if it exits first. Every bench's servers (Switchboard, bare baselines,
 * fake apps) announce themselves this way.
 */
export function startListening(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ proc, url: m[1]! });
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${out}`)));
  });
}

/** SIGTERM, then wait for the exit (nothing when it has exited already). */
export async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  await exited;
}
