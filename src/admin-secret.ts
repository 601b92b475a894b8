import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const SECRET_FILE = 'admin-secret';

/** The admin secret cannot be read or kept: start-up stops with this message. */
export class AdminSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminSecretError';
  }
}

function why(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message;
}

/** The secret kept in `file` (surrounding blanks ignored), or null when there is no such file. */
function readKept(file: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AdminSecretError(`cannot read the admin secret file ${file}: ${why(e)}`);
  }
  const secret = text.trim();
  if (secret === '') {
    // Never replaced silently: the operator may have meant to put their back end's secret there.
    throw new AdminSecretError(
      `the admin secret file ${file} is empty: write the secret your back end signs with into it, ` +
        'or delete the file to have a new one generated, or set SWITCHBOARD_ADMIN_SECRET',
    );
  }
  return secret;
}

/**
 * Write a new secret to `file` atomically and without ever overwriting: it is written and fsynced
 * under a temporary name, then hard-linked to `file` (which fails if `file` exists). A crash
 * therefore leaves either no file or the whole secret, never an empty one (on a file system without
 * hard links it falls back to an exclusive copy). Returns false when another process created `file`
 * first (the caller then reads that one).
 */
function writeNew(file: string, secret: string): boolean {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${SECRET_FILE}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeSync(fd, `${secret}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      try {
        fs.copyFileSync(tmp, file, fs.constants.COPYFILE_EXCL);
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e2;
      }
    }
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
    return true;
  } catch (e) {
    throw new AdminSecretError(`cannot write a new admin secret to ${file}: ${why(e)}`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * The admin secret: from configuration when set; otherwise the one kept in `<dataDir>/admin-secret`;
 * otherwise a new random one (32 bytes, base64url) written there with mode 0600. `generated` tells the
 * caller to print it, once.
 *
 * An existing file is never replaced: when it is empty, or cannot be read, this throws an
 * AdminSecretError whose message says what to do.
 */
export function resolveAdminSecret(configured: string | undefined, dataDir: string): { secret: string; generated: boolean; file?: string } {
  if (configured) return { secret: configured, generated: false };
  const file = path.join(dataDir, SECRET_FILE);
  const kept = readKept(file);
  if (kept !== null) return { secret: kept, generated: false, file };
  const secret = crypto.randomBytes(32).toString('base64url');
  if (writeNew(file, secret)) return { secret, generated: true, file };
  // Another process on the same data directory won the race: use its secret.
  const theirs = readKept(file);
  if (theirs === null) throw new AdminSecretError(`the admin secret file ${file} vanished while starting`);
  return { secret: theirs, generated: false, file };
}
