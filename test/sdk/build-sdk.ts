import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Build the SDK the way its package does (`tsc -p sdk/tsconfig.json`), from a copy of sdk/ in a
 * temporary directory, so the tests never write into the working tree and never depend on a stale
 * sdk/dist. Uses the repository's TypeScript.
 */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const run = promisify(execFile);

/** Copy sdk/ (package.json, tsconfig.json, README.md, src/) under `dir` and build it; returns the package folder. */
export async function buildSdk(dir: string): Promise<string> {
  const pkg = path.join(dir, 'sdk');
  fs.mkdirSync(pkg, { recursive: true });
  for (const f of ['package.json', 'tsconfig.json', 'README.md']) fs.copyFileSync(path.join(ROOT, 'sdk', f), path.join(pkg, f));
  fs.cpSync(path.join(ROOT, 'sdk', 'src'), path.join(pkg, 'src'), { recursive: true });
  await tsc(['-p', path.join(pkg, 'tsconfig.json')]);
  return pkg;
}

/** Run the repository's tsc; rejects with its output on a type error. */
export async function tsc(args: string[], cwd = ROOT): Promise<void> {
  try {
    await run(process.execPath, [TSC, ...args], { cwd });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`tsc ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`);
  }
}

/** Every file under `dir`, relative, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}
