import type { Surface } from '../http/surface.js';
import type { Gateway } from './gateway.js';

/** Devices' real-time WebSocket (docs/client-protocol.md) as a surface: one upgrade endpoint, no routes. */
export function devicesSurface(gateway: Gateway): Surface {
  return { name: 'devices', prefix: '', register: async () => undefined, upgrades: [gateway.endpoint()] };
}
