import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const SECRET_FILE = 'admin-secret';

/**
 * The admin secret: from configuration when set; otherwise the one kept in `<dataDir>/admin-secret`;
 * otherwise a new random one (32 bytes, base64url) written there with mode 0600. `generated` tells the
 * caller to print it, once.
 */
export function resolveAdminSecret(configured: string | undefined, dataDir: string): { secret: string; generated: boolean; file?: string } {
  if (configured) return { secret: configured, generated: false };
  const file = path.join(dataDir, SECRET_FILE);
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing) return { secret: existing, generated: false, file };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = crypto.randomBytes(32).toString('base64url');
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return { secret, generated: true, file };
}
