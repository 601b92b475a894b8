import { CoreError } from '../../core/errors.js';

/**
 * A store part not yet ported to PostgreSQL: every method rejects with server_error naming it.
 * Temporary scaffolding while the parts are ported one by one; PgStore refuses to open in production
 * while any part is pending (see PgStore.pendingParts).
 */
export function pendingPart<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get: (_t, prop) =>
      typeof prop === 'string' && prop !== 'then'
        ? () => Promise.reject(new CoreError('server_error', `${name}.${prop} is not available on PostgreSQL yet`))
        : undefined,
  });
}
