/**
 * The NATS connection seam for Node, Deno and Bun: TCP addresses (`nats://`, `tls://`,
 * `host:port`) through `@nats-io/transport-node`'s `connect` (on Deno and Bun through their
 * `node:net`), WebSocket addresses (`ws://`, `wss://`) through `@nats-io/nats-core`'s
 * `wsconnect` and the runtime's global `WebSocket` (Node 22 and later, Deno, Bun).
 *
 * One process holds acktor connections of one kind at a time. The nats.js clients keep the
 * transport they make sockets with in one process-wide slot that each `connect` or
 * `wsconnect` call overwrites, and a connection makes a new socket from that slot whenever it
 * reconnects: a TCP connection opened after a WebSocket one makes the WebSocket connection
 * reconnect over raw TCP to the server's WebSocket port, which never succeeds (and the other
 * way round), so the producers on it would time out forever. `connectNats` refuses such a
 * connection with a `ConfigError` while one of the other kind is open, rather than leave a
 * connection that cannot come back. (It cannot see connections opened with the `@nats-io`
 * clients directly, which share that slot.)
 *
 * @module
 */
import type { ConnectionOptions, NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { ConfigError } from "../../errors.ts";
import { type AddressKind, type Dial, type NatsConnectOptions, openNats } from "./connect.ts";
import type { NatsTransport } from "./nats-transport.ts";
import { wsDial } from "./websocket.ts";

/** acktor connections of each kind that this process opened (or is opening) and has not closed. */
const open: Record<AddressKind, number> = { tcp: 0, websocket: 0 };

const dial: Dial = async (kind, options) => {
  if (kind === "websocket" && typeof (globalThis as { WebSocket?: unknown }).WebSocket !== "function") {
    throw new ConfigError(
      "servers",
      `${addresses(options)}: WebSocket addresses need a global WebSocket, which this runtime lacks ` +
        "(Node 22 and later, Deno, Bun and browsers have one); connect over TCP (nats://, host:port) instead",
    );
  }
  const other: AddressKind = kind === "tcp" ? "websocket" : "tcp";
  if (open[other] > 0) {
    throw new ConfigError(
      "servers",
      `${addresses(options)}: this process already has ${open[other]} ${label(other)} NATS connection(s) open, ` +
        `and the nats.js clients keep one transport per process, so a ${label(kind)} connection now would make ` +
        `the ${label(other)} ones reconnect over the wrong transport; close them first, or use one kind throughout`,
    );
  }
  open[kind]++;
  let nc: NatsConnection;
  try {
    nc = kind === "tcp" ? await connect(options) : await wsDial(options);
  } catch (error) {
    open[kind]--;
    throw error;
  }
  nc.closed().finally(() => open[kind]--);
  return nc;
};

const label = (kind: AddressKind): string => kind === "tcp" ? "TCP" : "WebSocket";
const addresses = (options: ConnectionOptions): string => [options.servers ?? []].flat().join(",");

/**
 * Connects to a NATS server with JetStream and returns a transport that `createProducer`
 * and `createConsumer` accept unchanged, plus `createTopic`. TCP addresses (`nats://`,
 * `tls://`, `host:port`) or WebSocket ones (`ws://`, `wss://`: the server's `websocket`
 * block), not both in one list. The client reconnects by itself after a dropped connection;
 * requests in flight then time out and the producer's retry policy decides.
 *
 * Waits up to `timeoutMs` (from the call) for JetStream to answer: a cluster still electing
 * answers "no responders" or "temporarily unavailable" for a few seconds.
 *
 * Throws `EngineUnavailableError` naming the server and the cause: nothing listening, a bad
 * URL, failed authentication, a server without JetStream, an account without it, or a
 * JetStream that did not become ready in time. Throws `ConfigError` for bad options, a list
 * that mixes TCP and WebSocket addresses, WebSocket addresses on a runtime without a global
 * `WebSocket` (Node before 22), and a connection of one kind while acktor connections of the
 * other are open in this process (see the module's notes).
 */
export function connectNats(options: NatsConnectOptions): Promise<NatsTransport> {
  return openNats(options, dial);
}
