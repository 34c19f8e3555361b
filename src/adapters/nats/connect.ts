/**
 * Connecting to NATS. The official `@nats-io/transport-node` client runs on Node and, through
 * Deno's `node:net`, on Deno too, so this adapter needs no runtime seam of its own.
 *
 * @module
 */
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { ConfigError, EngineUnavailableError } from "../../errors.ts";
import { describe, integerIn, isObject, rejectUnknownKeys } from "../../validate.ts";
import { jetstreamManager } from "@nats-io/jetstream";
import { NatsTransport } from "./nats-transport.ts";
import { isNoResponders, isRecovering, nameOf } from "./nats-errors.ts";

/** Where and how to connect. */
export interface NatsConnectOptions {
  /** `"127.0.0.1:4222"`, `"nats://host:4222"`, or several. */
  servers: string | string[];
  /** How long the first connection, and JetStream becoming ready, may take together. Default 5 000 ms. */
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
 * Waits up to `timeoutMs` (from the call) for JetStream to answer: a cluster still electing
 * answers "no responders" or "temporarily unavailable" for a few seconds.
 *
 * Throws `EngineUnavailableError` naming the server and the cause: nothing listening, a bad
 * URL, failed authentication, a server without JetStream, an account without it, or a
 * JetStream that did not become ready in time.
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
  const timeoutMs = connection.timeout!;
  const deadline = Date.now() + timeoutMs;
  let nc;
  try {
    nc = await connect(connection);
  } catch (error) {
    const cause = error instanceof Error
      ? `${error.name === "Error" ? error.constructor.name : error.name}: ${error.message}`
      : String(error);
    throw new EngineUnavailableError(server, `cannot connect to NATS (${cause})`, error);
  }
  const failure = await jetStreamReady(nc, deadline);
  if (failure !== null) {
    await nc.close().catch(() => {});
    throw new EngineUnavailableError(
      server,
      `JetStream did not answer within ${timeoutMs} ms: ${explain(failure, nc.info?.jetstream)}`,
      failure,
    );
  }
  return new NatsTransport(nc, await jetstreamManager(nc, { checkAPI: false }), server, publishWindow);
}

/** How long one "is JetStream there?" question may take, and the pause between two. */
const READY_ASK_MS = 2_000;
const READY_PAUSE_MS = 250;

/**
 * Asks the JetStream API for the account's info until it answers or `deadline` passes; the
 * last failure, or null once it answered. Why wait: a cluster that is still electing its meta
 * leader, or a server recovering its streams, answers "no responders" or "temporarily
 * unavailable" for a few seconds although it runs with JetStream. Only an account without
 * JetStream is an answer that waiting cannot change.
 */
async function jetStreamReady(nc: NatsConnection, deadline: number): Promise<unknown> {
  for (;;) {
    const left = deadline - Date.now();
    try {
      const probe = await jetstreamManager(nc, {
        timeout: Math.max(50, Math.min(READY_ASK_MS, left)),
        checkAPI: false,
      });
      await probe.getAccountInfo();
      return null;
    } catch (error) {
      const definite = nameOf(error) === "JetStreamNotEnabled" && !isNoResponders(error);
      const rest = deadline - Date.now();
      if (definite || rest <= 0) return error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(READY_PAUSE_MS, rest)));
    }
  }
}

/** The cause of a JetStream that did not answer, in words a user can act on. */
function explain(error: unknown, serverHasJetStream: boolean | undefined): string {
  const said = `${nameOf(error)}: ${error instanceof Error ? error.message : String(error)}`;
  if (isNoResponders(error)) {
    // A server with JetStream announces it in its INFO; one without leaves the field out.
    return serverHasJetStream !== true
      ? `no responders; the server says it runs without JetStream: start it with -js (${said})`
      : `no responders, although the server says it runs JetStream: a cluster still electing its leader, or a server still recovering (${said})`;
  }
  if (nameOf(error) === "JetStreamNotEnabled") return `JetStream is not enabled for this account (${said})`;
  if (nameOf(error) === "TimeoutError") {
    return `no answer from the JetStream API: a cluster still electing, or an overloaded server (${said})`;
  }
  if (isRecovering(error)) return `the JetStream cluster is not available yet (${said})`;
  return said;
}
