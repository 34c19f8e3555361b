/**
 * Connecting to NATS. The official `@nats-io/transport-node` client runs on Node and, through
 * Deno's `node:net`, on Deno too, so this adapter needs no runtime seam of its own.
 *
 * @module
 */
import { connect, type ConnectionOptions } from "@nats-io/transport-node";
import { ConfigError, EngineUnavailableError } from "../../errors.ts";
import { describe, integerIn, isObject, rejectUnknownKeys } from "../../validate.ts";
import { jetstreamManager } from "@nats-io/jetstream";
import { NatsTransport } from "./nats-transport.ts";

/** Where and how to connect. */
export interface NatsConnectOptions {
  /** `"127.0.0.1:4222"`, `"nats://host:4222"`, or several. */
  servers: string | string[];
  /** How long the first connection may take. Default 5 000 ms. */
  timeoutMs?: number;
  user?: string;
  pass?: string;
  token?: string;
  /** A name the server shows for this connection. */
  name?: string;
  /**
   * Message framing: how many JetStream publishes may await their PubAck at once, over the
   * whole connection. Default 256. Batch framing sends one message per batch and is bounded
   * by the producer's `maxInFlight` instead.
   */
  publishWindow?: number;
}

/**
 * Connects to a NATS server with JetStream and returns a transport that `createProducer`
 * accepts unchanged, plus `createTopic`. The client reconnects by itself after a dropped
 * connection; requests in flight then time out and the producer's retry policy decides.
 *
 * Throws `EngineUnavailableError` naming the server and the cause: nothing listening, a bad
 * URL, failed authentication, or JetStream not enabled.
 */
export async function connectNats(options: NatsConnectOptions): Promise<NatsTransport> {
  if (!isObject(options as unknown)) throw new ConfigError("nats", `expected { servers }, got ${describe(options)}`);
  rejectUnknownKeys(options, ["servers", "timeoutMs", "user", "pass", "token", "name", "publishWindow"], "nats");
  const publishWindow = integerIn("publishWindow", options.publishWindow ?? 256, 1);
  const { servers } = options;
  const list = typeof servers === "string" ? [servers] : servers;
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === "string" && s.length > 0)) {
    throw new ConfigError("servers", `expected a server address or a non-empty list of them, got ${describe(servers)}`);
  }
  const server = list.join(",");
  const connection: ConnectionOptions = {
    servers: list,
    timeout: integerIn("timeoutMs", options.timeoutMs ?? 5_000, 1),
    // Keep reconnecting: a restarted or briefly unreachable server must not end the producer.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    ...(options.user !== undefined ? { user: options.user } : {}),
    ...(options.pass !== undefined ? { pass: options.pass } : {}),
    ...(options.token !== undefined ? { token: options.token } : {}),
    ...(options.name !== undefined ? { name: options.name } : {}),
  };
  let nc;
  try {
    nc = await connect(connection);
  } catch (error) {
    const cause = error instanceof Error
      ? `${error.name === "Error" ? error.constructor.name : error.name}: ${error.message}`
      : String(error);
    throw new EngineUnavailableError(server, `cannot connect to NATS (${cause})`, error);
  }
  try {
    return new NatsTransport(nc, await jetstreamManager(nc), server, publishWindow);
  } catch (error) {
    await nc.close().catch(() => {});
    throw new EngineUnavailableError(
      server,
      `JetStream is not available (${
        error instanceof Error ? error.message : String(error)
      }); start the server with -js`,
      error,
    );
  }
}
