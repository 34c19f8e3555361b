import { ConfigError } from "../errors.ts";
import { retryPolicy, type RetryPolicy } from "../retry/policy.ts";
import { type Clock, systemClock } from "../runtime/clock.ts";
import type { Isolation } from "../transport/protocol.ts";
import { createPartitioner, type Partitioner, type PartitionerName } from "./partitioner.ts";

/** Send each batch once and don't wait for the ack: records may be lost, never duplicated. */
export interface AtMostOnce {
  readonly kind: "at-most-once";
}

/** Wait for the ack and retry under `retry`: records may be duplicated, never lost while the policy lasts. */
export interface AtLeastOnce {
  readonly kind: "at-least-once";
  readonly retry: RetryPolicy;
}

/** How a producer delivers. Build one with {@link atMostOnce} or {@link atLeastOnce}. */
export type DeliverySemantic = AtMostOnce | AtLeastOnce;

/** At-most-once delivery. */
export function atMostOnce(): AtMostOnce {
  return { kind: "at-most-once" };
}

/** At-least-once delivery with a retry policy (Fluvio's defaults where fields are left out). */
export function atLeastOnce(retry?: Partial<RetryPolicy>): AtLeastOnce {
  return { kind: "at-least-once", retry: retryPolicy(retry, "deliverySemantic.retry") };
}

/** Producer settings. Every field is optional. */
export interface ProducerConfig {
  /** Default: {@link atLeastOnce} with Fluvio's default policy. */
  deliverySemantic?: DeliverySemantic;
  /**
   * When the broker acks: `read-uncommitted` (default) after the leader's write,
   * `read-committed` once every in-sync replica has it. Under at-most-once it only matters
   * to callers of `wait()`.
   */
  isolation?: Isolation;
  /** A batch is sent once its records reach this many bytes. Default 16 KiB. */
  batchSize?: number;
  /** How long a partly filled batch waits for more records. Default 0: sent after the current burst of sends. */
  lingerMs?: number;
  /** The largest record, and batch, the producer will send. Default 1 MiB. */
  maxRequestSize?: number;
  /** Requests in flight per partition. Default 5; 1 keeps strict order under at-least-once retries. */
  maxInFlight?: number;
  /** How long one attempt waits for its response. Default 30 000 ms. */
  requestTimeout?: number;
  /** Bytes of accepted records not yet settled; beyond it `send()` waits. Default 32 MiB. */
  bufferSize?: number;
  /** How long `send()` may wait for buffer space before failing with `BufferTimeoutError`. Default 30 000 ms. */
  deliveryTimeout?: number;
  /** Where keyless records go: `sticky` (default) or `round-robin`, or your own. Keyed records always use murmur2. */
  partitioner?: PartitionerName | Partitioner;
  /** Time source for linger, timeouts and backoff. Default: real time. */
  clock?: Clock;
  /** Randomness for backoff jitter; inject a seeded one for reproducible runs. Default `Math.random`. */
  random?: () => number;
}

/** A validated config with every default filled in. */
export interface ResolvedProducerConfig {
  readonly deliverySemantic: DeliverySemantic;
  readonly isolation: Isolation;
  readonly batchSize: number;
  readonly lingerMs: number;
  readonly maxRequestSize: number;
  readonly maxInFlight: number;
  readonly requestTimeout: number;
  readonly bufferSize: number;
  readonly deliveryTimeout: number;
  readonly partitioner: Partitioner;
  readonly clock: Clock;
  readonly random: () => number;
}

const KiB = 1024;
const KEYS = [
  "deliverySemantic",
  "isolation",
  "batchSize",
  "lingerMs",
  "maxRequestSize",
  "maxInFlight",
  "requestTimeout",
  "bufferSize",
  "deliveryTimeout",
  "partitioner",
  "clock",
  "random",
] as const;

function integer(field: string, value: number, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new ConfigError(field, `must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function semantic(value: DeliverySemantic | undefined): DeliverySemantic {
  if (value === undefined) return atLeastOnce();
  if (value?.kind === "at-most-once") return value;
  if (value?.kind === "at-least-once") {
    // Re-validate: a hand-built object may not have gone through atLeastOnce().
    return { kind: "at-least-once", retry: retryPolicy(value.retry, "deliverySemantic.retry") };
  }
  throw new ConfigError("deliverySemantic", "use atMostOnce() or atLeastOnce(policy)");
}

/** Validates a producer config, naming the first bad field, and fills in defaults. */
export function resolveProducerConfig(config: ProducerConfig = {}): ResolvedProducerConfig {
  if (typeof config !== "object" || config === null) throw new ConfigError("producer", "config must be an object");
  for (const key of Object.keys(config)) {
    if (!(KEYS as readonly string[]).includes(key)) throw new ConfigError(key, `unknown option; known: ${KEYS.join(", ")}`);
  }
  const isolation = config.isolation ?? "read-uncommitted";
  if (isolation !== "read-uncommitted" && isolation !== "read-committed") {
    throw new ConfigError("isolation", `must be "read-uncommitted" or "read-committed", got ${String(isolation)}`);
  }
  const maxRequestSize = integer("maxRequestSize", config.maxRequestSize ?? 1024 * KiB, 1);
  const batchSize = integer("batchSize", config.batchSize ?? 16 * KiB, 1);
  if (batchSize > maxRequestSize) throw new ConfigError("batchSize", `must not exceed maxRequestSize (${maxRequestSize})`);
  const bufferSize = integer("bufferSize", config.bufferSize ?? 32 * 1024 * KiB, 1);
  if (bufferSize < maxRequestSize) throw new ConfigError("bufferSize", `must hold at least one maximal record (${maxRequestSize} bytes)`);
  const clock = config.clock ?? systemClock;
  if (typeof clock?.now !== "function" || typeof clock.setTimeout !== "function") {
    throw new ConfigError("clock", "must have now(), setTimeout() and clearTimeout()");
  }
  const random = config.random ?? Math.random;
  if (typeof random !== "function") throw new ConfigError("random", "must be a function returning [0, 1)");
  return {
    deliverySemantic: semantic(config.deliverySemantic),
    isolation,
    batchSize,
    lingerMs: integer("lingerMs", config.lingerMs ?? 0, 0),
    maxRequestSize,
    maxInFlight: integer("maxInFlight", config.maxInFlight ?? 5, 1),
    requestTimeout: integer("requestTimeout", config.requestTimeout ?? 30_000, 1),
    bufferSize,
    deliveryTimeout: integer("deliveryTimeout", config.deliveryTimeout ?? 30_000, 0),
    partitioner: createPartitioner(config.partitioner ?? "sticky"),
    clock,
    random,
  };
}
