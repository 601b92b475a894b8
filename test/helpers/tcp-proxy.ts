import net from 'node:net';

/**
 * A TCP proxy on a free port of 127.0.0.1 in front of `targetHost:targetPort`, for partitions: `blackhole(pred)`
 * stops forwarding, both ways, on the open connections whose client has sent something `pred`
 * accepts (e.g. a SUBSCRIBE) — without closing them: a half-open connection, as after a network cut.
 * New connections pass normally. `cut()` plays a server going down: every open connection is reset
 * and new ones are refused (accepted and reset at once) until `restore()`.
 */
export interface TcpProxy {
  readonly port: number;
  blackhole(pred: (clientBytes: string) => boolean): number;
  /** Reset every connection and refuse new ones; returns how many were open. */
  cut(): number;
  /** Accept connections again after `cut()`. */
  restore(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const conns = new Set<{ client: net.Socket; upstream: net.Socket; seen: string; dead: boolean }>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    const c = { client, upstream, seen: '', dead: false };
    conns.add(c);
    client.on('data', (d) => {
      if (c.seen.length < 4096) c.seen += d.toString('latin1');
      if (!c.dead) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!c.dead) client.write(d);
    });
    const end = (): void => {
      conns.delete(c);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    blackhole: (pred) => {
      let n = 0;
      for (const c of conns) {
        if (!c.dead && pred(c.seen)) {
          c.dead = true;
          n++;
        }
      }
      return n;
    },
    cut: () => {
      refusing = true;
      const n = conns.size;
      for (const c of [...conns]) {
        conns.delete(c);
        c.client.resetAndDestroy();
        c.upstream.destroy();
      }
      return n;
    },
    restore: () => {
      refusing = false;
    },
    close: async () => {
      for (const c of conns) {
        c.client.destroy();
        c.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
