import type { IncomingMessage } from 'node:http';
import proxyaddr from '@fastify/proxy-addr';

/**
 * The address of the client behind a request: the socket's peer, or — when that peer is a trusted
 * proxy (config `trustedProxies`: addresses, CIDR ranges, or the names `loopback`, `linklocal`,
 * `uniquelocal`) — the nearest address in `X-Forwarded-For` that is not itself a trusted proxy. The
 * same rule as Fastify's `trustProxy` with that list (request.ip), so HTTP routes and WebSocket
 * upgrades agree. With no trusted proxy the header is ignored: a client cannot choose its address.
 */
export type ClientAddress = (req: IncomingMessage) => string;

/** Throws (an Error naming the setting) for an entry proxy-addr does not accept. */
export function clientAddressOf(trusted: readonly string[]): ClientAddress {
  if (trusted.length === 0) return (req) => req.socket.remoteAddress ?? '';
  let trust: (addr: string, i: number) => boolean;
  try {
    trust = proxyaddr.compile([...trusted]);
  } catch (err) {
    throw new Error(`trustedProxies: ${err instanceof Error ? err.message : String(err)}`);
  }
  return (req) => proxyaddr(req, trust);
}
