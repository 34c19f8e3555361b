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
  /**
   * A lasting cut: destroys every open connection (returns how many) and destroys each new
   * one as it arrives, until {@link TcpProxy.unblock}. What a partition looks like to both sides.
   */
  block(): number;
  /** Lets connections through again after {@link TcpProxy.block}. */
  unblock(): void;
  /** Whether the proxy is blocked. */
  readonly blocked: boolean;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let blocked = false;
  const server = net.createServer((client) => {
    // Errors from cut sockets are expected; an unhandled 'error' would end the process.
    client.on("error", () => {});
    if (blocked) return void client.destroy();
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
  const cutAll = (): number => {
    const n = pairs.size;
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
    return n;
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    cutAll,
    block() {
      blocked = true;
      return cutAll();
    },
    unblock() {
      blocked = false;
    },
    get blocked() {
      return blocked;
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
