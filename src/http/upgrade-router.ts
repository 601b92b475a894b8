import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import type { UpgradeEndpoint } from './surface.js';

/**
 * Route every HTTP upgrade request of `server` to the endpoint of its exact path: one 'upgrade'
 * listener per server, whatever the number of surfaces. Invariants:
 * - the raw socket has an 'error' listener before anything else runs (Node detached its own before
 *   emitting 'upgrade'); it stays for the socket's whole life, beside the ones an endpoint adds;
 * - a request line that is not a URL is answered 400, a path with no endpoint 404;
 * - an endpoint that throws is logged and the socket answered 400: nothing escapes the listener.
 */
export function routeUpgrades(server: Server, endpoints: readonly UpgradeEndpoint[], log: Logger): void {
  const byPath = new Map<string, UpgradeEndpoint>();
  for (const e of endpoints) {
    if (byPath.has(e.path)) throw new Error(`two upgrade endpoints for ${e.path}`);
    byPath.set(e.path, e);
  }
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      refuseUpgrade(socket, 400); // e.g. "GET //[ HTTP/1.1": not a URL
      return;
    }
    const endpoint = byPath.get(url.pathname);
    if (!endpoint) {
      refuseUpgrade(socket, 404);
      return;
    }
    try {
      endpoint.handle(req, socket, head, url);
    } catch (err) {
      log.error({ err, path: url.pathname }, 'upgrade failed');
      refuseUpgrade(socket, 400);
    }
  });
}

/** Answer an HTTP error on a socket that will not be upgraded, then destroy it (within 1 s at most). */
export function refuseUpgrade(socket: Duplex, status: number): void {
  if (socket.destroyed) return;
  const guard = setTimeout(() => socket.destroy(), 1000);
  guard.unref();
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`, () => {
    clearTimeout(guard);
    socket.destroy();
  });
}
