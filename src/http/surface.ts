import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * An API surface: one protocol that existing clients already speak (the Wildfire admin API, the
 * channel platform of seed 000, the staff-service API of seed 002, the notification centre of seed
 * 004, …), mounted on the HTTP server as one encapsulated Fastify plugin.
 *
 * Contract:
 * - `register` runs inside an encapsulated context already mounted at `prefix`: the surface adds its
 *   routes, its own content-type parsing, its own authentication (as hooks of this context) and its own
 *   error envelope (setErrorHandler / setNotFoundHandler of this context). Nothing it registers leaks
 *   to other surfaces.
 * - A surface talks to core use cases only (the Hub and services built on it): never to a store, a bus
 *   or another surface. Authentication failures specific to the surface stay in the surface: core's
 *   error kinds are not extended for them.
 * - Every reply of a route of the surface is in the surface's own envelope, including validation
 *   failures, oversized or malformed bodies and internal errors (never a bare 500).
 * - `ports` says where the surface is served: the main port (default) and/or the separate admin port.
 * - `upgrades` are WebSocket (or other HTTP upgrade) endpoints of the surface, by exact path; the
 *   server routes each upgrade request to the handler of its path (see UpgradeRouter). A handler owns
 *   the socket from then on and must handle its errors from the first moment.
 */
export interface Surface {
  /** Short name, for logs and metrics (e.g. "admin", "channel-000", "notifications"). */
  readonly name: string;
  /** URL prefix of every route of the surface (e.g. "/admin", "/v1/cms"); "" for none. */
  readonly prefix: string;
  /** Where it is served; default `['main']`. */
  readonly ports?: ReadonlyArray<'main' | 'admin'>;
  register(app: FastifyInstance): Promise<void>;
  /**
   * The surface's 404 for unknown paths of a port where it is the first surface served (the separate
   * admin port: every path there is an admin path). Absent: the port's plain JSON 404.
   */
  readonly notFound?: (req: FastifyRequest, reply: FastifyReply) => void;
  readonly upgrades?: readonly UpgradeEndpoint[];
}

/** An HTTP upgrade endpoint (a WebSocket path) of a surface. */
export interface UpgradeEndpoint {
  /** Exact URL path, query excluded (e.g. "/ws", "/v1/cms/getMessageRealTime"). */
  readonly path: string;
  /**
   * Take over the socket. Must not throw (the router catches and answers 400 if it does) and must
   * attach an 'error' listener to the socket and to any WebSocket built on it at once.
   */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void;
}
