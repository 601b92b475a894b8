import type { IncomingHttpHeaders } from 'node:http';
import { isCoreError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import { MAX_TEXT_LENGTH } from '../../core/limits.js';
import { CmsError } from './envelope.js';

/** Who is calling: a user, and whether it is an operator (`role: "operator"`, /admin/user/set_role). */
export interface CmsCaller {
  userId: string;
  /** The client the token was issued for (`/admin/user/get_token` clientId). */
  clientId: string;
  operator: boolean;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The token of a request, in the forms the seed's front ends send it, first found wins:
 * `Authorization: Bearer T`, a bare `Authorization: T`, a `token: T` header, `?auth_token=T`.
 * Undefined when none is given.
 */
export function tokenOf(headers: IncomingHttpHeaders, query: URLSearchParams): string | undefined {
  const auth = first(headers.authorization)?.trim();
  // "Bearer" with nothing after it carries no token: the other forms are looked at.
  if (auth && !/^bearer$/i.test(auth)) {
    const m = /^bearer\s+(.+)$/i.exec(auth);
    return m ? m[1]!.trim() : auth;
  }
  const h = first(headers['token'])?.trim();
  if (h) return h;
  const q = query.get('auth_token')?.trim();
  return q ? q : undefined;
}

/**
 * Resolve a presented token to its caller: the same user tokens as the IM (/admin/user/get_token).
 * need_token when absent, invalid_token when unknown, expired, revoked or its user is gone.
 */
export async function authenticate(hub: Hub, token: string | undefined): Promise<CmsCaller> {
  if (token === undefined) throw new CmsError('need_token');
  // Tokens are 43 characters; anything absurdly long is not one (and is not hashed).
  if (token.length > MAX_TEXT_LENGTH) throw new CmsError('invalid_token');
  const rec = await hub.users.verifyToken(token);
  if (!rec) throw new CmsError('invalid_token');
  const user = await hub.users.get({ userId: rec.userId }).catch((e: unknown) => {
    if (isCoreError(e) && e.kind === 'not_exist') return null;
    throw e;
  });
  if (!user) throw new CmsError('invalid_token');
  return { userId: user.userId, clientId: rec.clientId, operator: user.role === 'operator' };
}
