import crypto from 'node:crypto';

/**
 * Device tokens: 32 random bytes, base64url (43 characters). Only sha256(token) is stored, so a leaked
 * database does not yield usable tokens.
 */
export function newToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Random id for objects created without one (users, groups, channels): 12 url-safe characters. */
export function newId(): string {
  return crypto.randomBytes(9).toString('base64url');
}
