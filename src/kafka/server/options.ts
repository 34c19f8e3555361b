/**
 * The Kafka wire server's options and handle.
 *
 * @module
 */
import { ConfigError } from "../../errors.ts";
import { checkOptions, describe, integerIn, isObject } from "../../validate.ts";
import type { ServerChaosOptions, ServerChaosStats } from "./server-chaos.ts";

/** Topics the server creates when a client names one that does not exist (Kafka's `auto.create.topics.enable`). */
export interface AutoCreateTopics {
  readonly partitions: number;
  readonly replicationFactor: number;
}

/** Options of `broker.listen()`. */
export interface KafkaListenOptions {
  /** TCP port; 0 picks a free one. Default 9092. */
  readonly port?: number;
  /** Interface to bind. Default "127.0.0.1". */
  readonly host?: string;
  /**
   * The largest request frame accepted, in bytes; a larger size prefix closes that connection
   * before any of the frame is buffered. Default 64 MiB (Kafka's `socket.request.max.bytes`
   * is 100 MiB; acktor's broker refuses batches far smaller anyway).
   */
  readonly maxFrameBytes?: number;
  /** Create unknown topics on Metadata and Produce, with this shape; default off (UNKNOWN_TOPIC_OR_PARTITION). */
  readonly autoCreateTopics?: AutoCreateTopics | false;
  /** Seeded faults between the sockets and the broker, from the start; see {@link KafkaServer.chaos}. */
  readonly chaos?: ServerChaosOptions;
  /**
   * Where the server reports what it does not answer normally: a connection closed for a
   * malformed or oversized frame (with the reason), an unsupported API. Default: `console.warn`.
   */
  readonly log?: (line: string) => void;
  /**
   * How long a member's join waits for others before the first generation of a new group
   * forms (Kafka's `group.initial.rebalance.delay.ms`, default 3000 there). Default 0 here:
   * tests want groups to form at once.
   */
  readonly initialRebalanceDelayMs?: number;
}

/** A running Kafka wire server: close it with {@link close} or `await using`. */
export interface KafkaServer extends AsyncDisposable {
  /** Where it listens. */
  readonly address: { readonly host: string; readonly port: number };
  /** `host:port`, for a Kafka client's bootstrap servers. */
  readonly url: string;
  /** Connections open now. */
  readonly connections: number;
  /**
   * Sets seeded faults between the sockets and the broker (replacing earlier ones), or turns
   * them off with null. Requests are always applied; then the answer may be lost or the
   * connection dropped, so Kafka clients' own retries and idempotence are under test.
   */
  chaos(options: ServerChaosOptions | null): void;
  /** How many faults the chaos layer injected so far. */
  chaosStats(): ServerChaosStats;
  /** Stops accepting, closes every connection, and settles every pending group call. */
  close(): Promise<void>;
}

/** Options with their defaults applied. */
export interface ListenSettings {
  readonly port: number;
  readonly host: string;
  readonly maxFrameBytes: number;
  readonly autoCreateTopics: AutoCreateTopics | null;
  readonly chaos: ServerChaosOptions | null;
  readonly log: (line: string) => void;
  readonly initialRebalanceDelayMs: number;
}

const KNOWN = ["port", "host", "maxFrameBytes", "autoCreateTopics", "chaos", "log", "initialRebalanceDelayMs"] as const;

/** Checks `broker.listen()`'s options; a bad one is a `ConfigError` naming it. */
export function listenSettings(options: unknown): ListenSettings {
  checkOptions(options, KNOWN, "listen");
  const o = options as KafkaListenOptions;
  if (o.host !== undefined && (typeof o.host !== "string" || o.host === "")) {
    throw new ConfigError("listen.host", `expected a host name or address, got ${describe(o.host)}`);
  }
  if (o.log !== undefined && typeof o.log !== "function") {
    throw new ConfigError("listen.log", `expected a function, got ${describe(o.log)}`);
  }
  let autoCreateTopics: AutoCreateTopics | null = null;
  if (o.autoCreateTopics !== undefined && o.autoCreateTopics !== false) {
    checkOptions(o.autoCreateTopics, ["partitions", "replicationFactor"], "listen.autoCreateTopics");
    autoCreateTopics = {
      partitions: integerIn("listen.autoCreateTopics.partitions", o.autoCreateTopics.partitions, 1),
      replicationFactor: integerIn(
        "listen.autoCreateTopics.replicationFactor",
        o.autoCreateTopics.replicationFactor,
        1,
      ),
    };
  }
  if (o.chaos !== undefined && !isObject(o.chaos)) {
    throw new ConfigError("listen.chaos", `expected chaos options, got ${describe(o.chaos)}`);
  }
  return {
    port: o.port === undefined ? 9092 : integerIn("listen.port", o.port, 0, 65535),
    host: o.host ?? "127.0.0.1",
    maxFrameBytes: o.maxFrameBytes === undefined
      ? 64 * 1024 * 1024
      : integerIn("listen.maxFrameBytes", o.maxFrameBytes, 1024, 2 ** 31 - 1),
    autoCreateTopics,
    chaos: o.chaos ?? null,
    log: o.log ?? ((line) => console.warn(line)),
    initialRebalanceDelayMs: o.initialRebalanceDelayMs === undefined
      ? 0
      : integerIn("listen.initialRebalanceDelayMs", o.initialRebalanceDelayMs, 0),
  };
}
