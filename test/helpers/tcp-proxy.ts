/**
 * A TCP proxy between a client and a real server that can cut every connection on demand:
 * a dropped connection, as the client sees it, without touching the server. Runs on Node
 * and on Deno (node:net).
 */
import * as net from "node:net";

export interface TcpProxy {
  /** The local port clients connect to. */
  readonly port: number;
  /** Destroys every open connection now; returns how many there were. */
  cutAll(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((client) => {
    // Errors from cut sockets are expected; an unhandled 'error' would end the process.
    client.on("error", () => {});
    const upstream = net.createConnection(target.port, target.host);
    upstream.on("error", () => {});
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    client.on("data", (b) => upstream.write(b));
    upstream.on("data", (b) => client.write(b));
    const done = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", done);
    upstream.on("close", done);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    cutAll() {
      const n = pairs.size;
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      return n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [client, upstream] of pairs) {
          client.destroy();
          upstream.destroy();
        }
        pairs.clear();
        server.close(() => resolve());
      }),
  };
}
