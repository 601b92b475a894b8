import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { Hub } from '../../src/core/hub.js';
import type { Store } from '../../src/core/ports/store.js';
import { Gateway, type GatewayOptions } from '../../src/delivery/gateway.js';
import { routeUpgrades } from '../../src/http/upgrade-router.js';
import { createLogger } from '../../src/log.js';
import type { TestServer } from '../helpers/server.js';
import { closeAllClients } from '../helpers/ws-client.js';

/**
 * A second gateway ("node") on its own port 0, sharing the test server's store and bus, built with the
 * options the config does not expose (cache and queue bounds, retry delays) and over a store whose
 * methods a test can make fail or wait. Devices connect to it with real ws clients; messages are
 * still sent through the test server's admin API, and reach this gateway over the shared bus.
 */

type Method = (...args: unknown[]) => Promise<unknown>;
type Override = (original: Method, args: unknown[]) => Promise<unknown>;
const PARTS = ['users', 'tokens', 'groups', 'channels', 'messages', 'conversations', 'sync', 'outbox', 'settings'] as const;
type Part = (typeof PARTS)[number];

/** Behaves as the real store except for the methods a test overrides. */
export class FaultyStore {
  readonly store: Store;
  private readonly overrides = new Map<string, Override>();

  constructor(real: Store) {
    const parts: Partial<Record<Part, unknown>> = {};
    for (const part of PARTS) {
      parts[part] = new Proxy(
        {},
        {
          get: (_t, name) => {
            if (typeof name !== 'string' || name === 'then') return undefined;
            const target = real[part] as unknown as Record<string, Method>;
            const original: Method = (...args) => target[name]!.call(target, ...args);
            const o = this.overrides.get(`${part}.${name}`);
            return o ? (...args: unknown[]) => o(original, args) : original;
          },
        },
      );
    }
    this.store = { ...parts, ping: () => real.ping(), close: () => real.close() } as unknown as Store;
  }

  override(part: Part, method: string, impl: Override): void {
    this.overrides.set(`${part}.${method}`, impl);
  }

  restore(part: Part, method: string): void {
    this.overrides.delete(`${part}.${method}`);
  }

  /** The next `n` calls of part.method (that match `when`) reject; the count of failures so far. */
  failNext(part: Part, method: string, n = 1, when: (args: unknown[]) => boolean = () => true): { failed: number } {
    const state = { failed: 0 };
    this.override(part, method, (original, args) => {
      if (state.failed < n && when(args)) {
        state.failed++;
        return Promise.reject(new Error(`injected failure of ${part}.${method}`));
      }
      return original(...args);
    });
    return state;
  }

  /**
   * Calls of part.method that match `when` wait until `release()`; `reached` resolves when the first one
   * waits. `release({ fail: true })` makes the waiting calls reject instead. Later calls pass straight
   * through once released.
   */
  hold(
    part: Part,
    method: string,
    when: (args: unknown[]) => boolean = () => true,
  ): { reached: Promise<void>; release(opts?: { fail?: boolean }): void; held: number } {
    let open = false;
    let reach!: () => void;
    const reached = new Promise<void>((r) => (reach = r));
    const waiting: Array<(fail: boolean) => void> = [];
    const h = {
      reached,
      held: 0,
      release: (opts: { fail?: boolean } = {}) => {
        open = true;
        for (const w of waiting.splice(0)) w(opts.fail === true);
      },
    };
    this.override(part, method, async (original, args) => {
      if (!open && when(args)) {
        h.held++;
        reach();
        const fail = await new Promise<boolean>((r) => waiting.push(r));
        if (fail) throw new Error(`injected failure of ${part}.${method}`);
      }
      return original(...args);
    });
    return h;
  }
}

export interface HarnessGateway {
  url: string;
  gateway: Gateway;
  faults: FaultyStore;
  /** Live event frames this gateway serialised so far. */
  serialised(): number;
  close(): Promise<void>;
}

export const GATEWAY_DEFAULTS: GatewayOptions = {
  path: '/ws',
  maxFrameBytes: 65536,
  maxBufferedBytes: 1048576,
  heartbeatMs: 30000,
  replayPageSize: 200,
  liveBufferMax: 2000,
  ratePerSecond: 50,
  rateBurst: 100,
};

export async function startGateway(base: TestServer, opts: Partial<GatewayOptions> = {}): Promise<HarnessGateway> {
  const faults = new FaultyStore(base.server.hub.store);
  const hub = new Hub(faults.store, base.server.hub.bus, { tokenTtlMs: 3_600_000, maxGroupMembers: 2000 });
  let serialised = 0;
  const gateway = new Gateway(hub, 2, { ...GATEWAY_DEFAULTS, ...opts }, createLogger('silent'), {
    connections: () => undefined,
    delivered: () => undefined,
    serialised: () => {
      serialised++;
    },
  });
  const server = http.createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  routeUpgrades(server, [gateway.endpoint()], createLogger('silent'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    gateway,
    faults,
    serialised: () => serialised,
    close: async () => {
      gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * One second gateway over `base` for a whole describe: started in beforeAll (after `base`, so call
 * this after `useServer`), closed in afterAll (before `base`). The handle is the gateway once started.
 */
export function useGateway(base: TestServer, opts: Partial<GatewayOptions> = {}): HarnessGateway {
  let current: HarnessGateway | undefined;
  beforeAll(async () => {
    current = await startGateway(base, opts);
  });
  afterAll(async () => {
    const h = current;
    current = undefined;
    await h?.close();
  });
  const ready = (): HarnessGateway => {
    if (!current) throw new Error('useGateway: the gateway starts in beforeAll; use it inside hooks and tests');
    return current;
  };
  return {
    get url() {
      return ready().url;
    },
    get gateway() {
      return ready().gateway;
    },
    get faults() {
      return ready().faults;
    },
    serialised: () => ready().serialised(),
    close: () => ready().close(),
  };
}

/**
 * Second gateways a test starts as it needs them (`await gateways(opts)`); after each test its
 * clients are closed, then every gateway it started.
 */
export function useGateways(base: TestServer): (opts?: Partial<GatewayOptions>) => Promise<HarnessGateway> {
  const started: HarnessGateway[] = [];
  afterEach(async () => {
    await closeAllClients();
    for (const h of started.splice(0)) await h.close();
  });
  return async (opts = {}) => {
    const h = await startGateway(base, opts);
    started.push(h);
    return h;
  };
}
