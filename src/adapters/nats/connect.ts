/**
 * Connecting to NATS: what every runtime shares (validating the options, waiting for
 * JetStream, naming the cause of a failure). How the connection is opened is a runtime seam,
 * as in the nats.js clients themselves (`@nats-io/transport-node`'s `connect` for TCP,
 * `@nats-io/nats-core`'s `wsconnect` for WebSocket): `dial-node.ts` serves Node, Deno and Bun
 * (TCP, and WebSocket through the runtime's global `WebSocket`), `dial-browser.ts` serves
 * browsers (WebSocket only). Each entry (`index.ts`, `browser.ts`) takes its `connectNats`
 * from one of them; package.json's "browser" condition picks the browser's, so a browser
 * bundle never reaches `@nats-io/transport-node` and its `node:net`, `node:tls`, `node:dns`.
 *
 * @module
 */
import type { ConnectionOptions, NatsConnection } from "@nats-io/nats-core";
import { jetstreamManager } from "@nats-io/jetstream";
import { AcktorError, ConfigError, EngineUnavailableError } from "../../errors.ts";
import { describe, integerIn, isObject, rejectUnknownKeys } from "../../validate.ts";
import { NatsTransport } from "./nats-transport.ts";
import { isNoResponders, isRecovering, nameOf } from "./nats-errors.ts";

/** Where and how to connect. */
export interface NatsConnectOptions {
  /**
   * `"127.0.0.1:4222"`, `"nats://host:4222"`, `"ws://host:8080"`, `"wss://host"`, or several
   * of one kind: a connection is TCP (`nats://`, `tls://`, `host:port`) or WebSocket (`ws://`,
   * `wss://`, the server's `websocket` block), never both. Browsers connect over WebSocket only.
   */
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

/** How a connection's addresses reach the server: TCP (`nats://`, `tls://`, `host:port`) or WebSocket. */
export type AddressKind = "tcp" | "websocket";

/**
 * A runtime's way of opening a connection of `kind` with the client's options. It rejects
 * with a `ConfigError` for a kind the runtime cannot open (which `connectNats` passes on as
 * it is); any other rejection is a failure to connect.
 */
export type Dial = (kind: AddressKind, options: ConnectionOptions) => Promise<NatsConnection>;

const WEBSOCKET = /^wss?:\/\//i;

/** The kind of a list of server addresses; a `ConfigError` for a list that mixes the two. */
export function addressKind(servers: readonly string[]): AddressKind {
  const ws = servers.filter((s) => WEBSOCKET.test(s.trim()));
  if (ws.length === 0) return "tcp";
  if (ws.length === servers.length) return "websocket";
  const tcp = servers.filter((s) => !WEBSOCKET.test(s.trim()));
  throw new ConfigError(
    "servers",
    `mixes WebSocket addresses (${ws.join(", ")}) with TCP ones (${tcp.join(", ")}): a connection ` +
      "is either TCP (nats://, tls://, host:port) or WebSocket (ws://, wss://), so list one kind",
  );
}

/**
 * What `connectNats` does on every runtime, with the runtime's `dial`: validates the options,
 * connects, waits for JetStream, and returns the transport.
 */
export async function openNats(options: NatsConnectOptions, dial: Dial): Promise<NatsTransport> {
  if (!isObject(options as unknown)) throw new ConfigError("nats", `expected { servers }, got ${describe(options)}`);
  rejectUnknownKeys(options, ["servers", "timeoutMs", "user", "pass", "token", "name", "publishWindow"], "nats");
  const publishWindow = integerIn("publishWindow", options.publishWindow ?? 256, 1);
  const { servers } = options;
  const list = typeof servers === "string" ? [servers] : servers;
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === "string" && s.length > 0)) {
    throw new ConfigError("servers", `expected a server address or a non-empty list of them, got ${describe(servers)}`);
  }
  const kind = addressKind(list);
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
    nc = await dial(kind, connection);
  } catch (error) {
    if (error instanceof AcktorError) throw error;
    const cause = error instanceof Error
      ? `${error.name === "Error" ? error.constructor.name : error.name}: ${error.message || silentCause(kind)}`
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

/**
 * What to say when the client gives no reason: a WebSocket that fails says nothing by design
 * (browsers hide why, so that pages cannot probe networks), which leaves a short list.
 */
function silentCause(kind: AddressKind): string {
  return kind === "websocket"
    ? "the WebSocket closed without a reason: nothing listening there, a port that is not the server's websocket listener, or ws:// against a TLS listener (use wss://) or the reverse"
    : "no reason given";
}
