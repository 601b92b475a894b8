import net from 'node:net';

/**
 * A TCP load balancer on a free port of 127.0.0.1 in front of several backends (a cluster's nodes),
 * as a real one in front of N identical nodes: each new connection goes to the next backend in turn;
 * a backend that refuses the connection (a killed node) is skipped for that connection and the next
 * one is tried, and a connection that no backend accepts is closed. No health checks, no stickiness:
 * a client reconnecting after its node died lands on a survivor. `backends` is read per connection,
 * so the caller may change it (a node restarted on another port).
 */
export interface TcpBalancer {
  readonly port: number;
  readonly url: string;
  /** Connections accepted per backend port (for tests that check clients were spread). */
  readonly routed: Map<number, number>;
  close(): Promise<void>;
}

export async function startBalancer(backends: () => number[], host = '127.0.0.1'): Promise<TcpBalancer> {
  const open = new Set<net.Socket>();
  const routed = new Map<number, number>();
  let turn = 0;
  const server = net.createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const ports = backends();
    const first = turn++;
    const attempt = (i: number): void => {
      if (i >= ports.length || client.destroyed) {
        client.destroy();
        return;
      }
      const port = ports[(first + i) % ports.length]!;
      const upstream = net.connect(port, host);
      open.add(upstream);
      upstream.on('close', () => open.delete(upstream));
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        routed.set(port, (routed.get(port) ?? 0) + 1);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      upstream.on('error', () => {
        if (connected) client.destroy();
        else attempt(i + 1);
        upstream.destroy();
      });
    };
    attempt(0);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    url: `http://${host}:${port}`,
    routed,
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
