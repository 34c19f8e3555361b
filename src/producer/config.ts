import { ConfigError } from "../errors.ts";
import { type Inspector, inspectorOption } from "../inspect.ts";
import { describe, integerIn, isClock, isObject, rejectUnknownKeys } from "../validate.ts";
import { type RetryPolicy, retryPolicy } from "../retry/policy.ts";
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

/**
 * Idempotent delivery: a producer id, an epoch and per-partition sequence numbers let the
 * broker drop every retried duplicate, so records are neither lost (while the policy lasts)
 * nor duplicated, and each partition keeps send order. With a `transactionalId` the producer
 * is transactional: writes and consumer offsets commit or abort together, and a newer
 * producer with the same id fences this one.
 */
export interface ExactlyOnce {
  readonly kind: "exactly-once";
  readonly retry: RetryPolicy;
  readonly transactionalId: string | null;
  /** How long a transaction may stay open before the broker aborts it. */
  readonly transactionTimeoutMs: number;
}

/** How a producer delivers. Build one with {@link atMostOnce}, {@link atLeastOnce} or {@link exactlyOnce}. */
export type DeliverySemantic = AtMostOnce | AtLeastOnce | ExactlyOnce;

/** Options of {@link exactlyOnce}. */
export interface ExactlyOnceOptions {
  /** Retries; Fluvio's defaults where fields are left out. */
  retry?: Partial<RetryPolicy>;
  /** Makes the producer transactional. At most one live producer holds a given id. */
  transactionalId?: string;
  /** Default 60 000 ms. */
  transactionTimeoutMs?: number;
}

/** At-most-once delivery. */
export function atMostOnce(): AtMostOnce {
  return { kind: "at-most-once" };
}

/** At-least-once delivery with a retry policy (Fluvio's defaults where fields are left out). */
export function atLeastOnce(retry?: Partial<RetryPolicy>): AtLeastOnce {
  return { kind: "at-least-once", retry: retryPolicy(retry, "deliverySemantic.retry") };
}

/** Exactly-once delivery: idempotent, and transactional with a `transactionalId`. */
export function exactlyOnce(options: ExactlyOnceOptions = {}): ExactlyOnce {
  if (!isObject(options as unknown)) {
    throw new ConfigError("deliverySemantic", `expected an object, got ${describe(options)}`);
  }
  rejectUnknownKeys(options, ["retry", "transactionalId", "transactionTimeoutMs"], "deliverySemantic");
  const { transactionalId } = options;
  if (transactionalId !== undefined && (typeof transactionalId !== "string" || transactionalId.length === 0)) {
    throw new ConfigError(
      "deliverySemantic.transactionalId",
      `expected a non-empty string, got ${describe(transactionalId)}`,
    );
  }
  return {
    kind: "exactly-once",
    retry: retryPolicy(options.retry, "deliverySemantic.retry"),
    transactionalId: transactionalId ?? null,
    transactionTimeoutMs: integerIn("deliverySemantic.transactionTimeoutMs", options.transactionTimeoutMs ?? 60_000, 1),
  };
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
  /**
   * An XState inspection observer handed to every actor the producer starts: its lifecycle,
   * each batch (and, through the batch, its request actor with every attempt and retry), and
   * a transactional producer's transaction actor. Default: none, and then nothing is spent on
   * inspection.
   */
  inspect?: Inspector;
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
  /** The inspection observer, or null. */
  readonly inspect: Inspector | null;
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
  "inspect",
] as const;

function semantic(value: DeliverySemantic | undefined): DeliverySemantic {
  if (value === undefined) return atLeastOnce();
  if (value?.kind === "at-most-once") return value;
  // Re-validate: a hand-built object may not have gone through the builders.
  if (value?.kind === "at-least-once") {
    return { kind: "at-least-once", retry: retryPolicy(value.retry, "deliverySemantic.retry") };
  }
  if (value?.kind === "exactly-once") {
    return exactlyOnce({
      retry: value.retry,
      ...(value.transactionalId === null ? {} : { transactionalId: value.transactionalId }),
      transactionTimeoutMs: value.transactionTimeoutMs,
    });
  }
  throw new ConfigError("deliverySemantic", "use atMostOnce(), atLeastOnce(policy) or exactlyOnce(options)");
}

/** Validates a producer config, naming the first bad field, and fills in defaults. */
export function resolveProducerConfig(config: ProducerConfig = {}): ResolvedProducerConfig {
  if (!isObject(config as unknown)) throw new ConfigError("producer", `expected an object, got ${describe(config)}`);
  rejectUnknownKeys(config, KEYS, "");
  const isolation = config.isolation ?? "read-uncommitted";
  if (isolation !== "read-uncommitted" && isolation !== "read-committed") {
    throw new ConfigError("isolation", `must be "read-uncommitted" or "read-committed", got ${String(isolation)}`);
  }
  const maxRequestSize = integerIn("maxRequestSize", config.maxRequestSize ?? 1024 * KiB, 1);
  const batchSize = integerIn("batchSize", config.batchSize ?? 16 * KiB, 1);
  if (batchSize > maxRequestSize) {
    throw new ConfigError("batchSize", `must not exceed maxRequestSize (${maxRequestSize})`);
  }
  const bufferSize = integerIn("bufferSize", config.bufferSize ?? 32 * 1024 * KiB, 1);
  if (bufferSize < maxRequestSize) {
    throw new ConfigError("bufferSize", `must hold at least one maximal record (${maxRequestSize} bytes)`);
  }
  const clock = config.clock ?? systemClock;
  if (!isClock(clock)) {
    throw new ConfigError("clock", `expected a Clock (now, setTimeout, clearTimeout), got ${describe(clock)}`);
  }
  const random = config.random ?? Math.random;
  if (typeof random !== "function") throw new ConfigError("random", "must be a function returning [0, 1)");
  const inspect = inspectorOption(config.inspect);
  const deliverySemantic = semantic(config.deliverySemantic);
  return {
    deliverySemantic,
    isolation,
    batchSize,
    lingerMs: integerIn("lingerMs", config.lingerMs ?? 0, 0),
    maxRequestSize,
    // The broker remembers a producer's last 5 batches per partition: more in flight and a
    // retried duplicate could fall outside that window.
    maxInFlight: integerIn(
      "maxInFlight",
      config.maxInFlight ?? 5,
      1,
      deliverySemantic.kind === "exactly-once" ? 5 : Number.MAX_SAFE_INTEGER,
    ),
    requestTimeout: integerIn("requestTimeout", config.requestTimeout ?? 30_000, 1),
    bufferSize,
    deliveryTimeout: integerIn("deliveryTimeout", config.deliveryTimeout ?? 30_000, 0),
    partitioner: createPartitioner(config.partitioner ?? "sticky"),
    clock,
    random,
    inspect,
  };
}
