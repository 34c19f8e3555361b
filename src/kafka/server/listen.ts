/**
 * `broker.listen()`: a TCP server speaking Kafka's wire protocol in front of an embedded
 * broker. Each connection frames and orders its requests; the router decodes them with the
 * API tables and hands them to handlers that talk to the broker.
 *
 * @module
 */
import type { AddressInfo, Server } from "node:net";
import { ConfigError } from "../../errors.ts";
import { loadNet, loadZlib } from "../../runtime/node-builtins.ts";
import type { BrokerSeam } from "../broker-seam.ts";
import { ClassicGroups } from "../groups/classic-groups.ts";
import { Connection } from "./connection.ts";
import { type KafkaListenOptions, type KafkaServer, listenSettings } from "./options.ts";
import { Router } from "./router.ts";
import { ServerChaos, type ServerChaosOptions } from "./server-chaos.ts";

/** Starts serving `broker`; resolves once the port is bound. */
export async function listenKafka(broker: BrokerSeam, options: KafkaListenOptions): Promise<KafkaServer> {
  const settings = listenSettings(options);
  let chaos = settings.chaos === null ? null : new ServerChaos(settings.chaos);
  const [net, zlib] = await Promise.all([loadNet(), loadZlib()]);
  const server: Server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: Error & { code?: string }) => reject(bindError(error, settings.host, settings.port)));
    server.listen(settings.port, settings.host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const address = { host: settings.host, port: bound.port };
  const closing = new AbortController();
  const groups = new ClassicGroups({ clock: broker.clock, initialRebalanceDelayMs: settings.initialRebalanceDelayMs });
  const router = new Router(
    {
      broker,
      groups,
      node: { nodeId: 0, host: address.host, port: address.port },
      autoCreateTopics: settings.autoCreateTopics,
      gunzip: (bytes) => zlib.gunzipSync(bytes),
      closing: closing.signal,
    },
    settings.log,
    () => chaos,
  );
  const connections = new Set<Connection>();
  server.on("connection", (socket) => {
    const connection = new Connection(socket, {
      maxFrameBytes: settings.maxFrameBytes,
      log: settings.log,
      handle: (frame, c) => router.handle(frame, c),
    });
    connections.add(connection);
    socket.on("close", () => connections.delete(connection));
  });
  server.on("error", (error) => settings.log(`acktor kafka server: ${error.message}`));
  const tally = { dropResponse: 0, disconnect: 0 };
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> =>
    closed ??= new Promise<void>((resolve) => {
      closing.abort();
      groups.close();
      for (const connection of connections) connection.end();
      server.close(() => resolve());
    });
  return {
    address,
    url: `${address.host}:${address.port}`,
    get connections() {
      return connections.size;
    },
    chaos(next: ServerChaosOptions | null) {
      const replacement = next === null ? null : new ServerChaos(next);
      if (chaos !== null) {
        tally.dropResponse += chaos.stats.dropResponse;
        tally.disconnect += chaos.stats.disconnect;
      }
      chaos = replacement;
    },
    chaosStats() {
      return {
        dropResponse: tally.dropResponse + (chaos?.stats.dropResponse ?? 0),
        disconnect: tally.disconnect + (chaos?.stats.disconnect ?? 0),
      };
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Why the server could not bind, as a `ConfigError` naming the option to change. */
function bindError(error: Error & { code?: string }, host: string, port: number): ConfigError {
  const where = `${host}:${port}`;
  switch (error.code) {
    case "EADDRINUSE":
      return new ConfigError("listen.port", `${where} is already in use (EADDRINUSE)`);
    case "EACCES":
      return new ConfigError("listen.port", `${where} needs privileges this process lacks (EACCES)`);
    default:
      // The port was checked already; anything else is about the address (ENOTFOUND,
      // EADDRNOTAVAIL, …; Bun gives no code at all for a host that does not resolve).
      return new ConfigError("listen.host", `cannot listen on ${where}: ${error.code ?? error.message}`);
  }
}
