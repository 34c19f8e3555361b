/**
 * Consumer settings, validated once, with the defaults a delivery-semantics library should
 * have: commit after processing (nothing lost), read only committed data, start from the
 * earliest offset when the group has none, and never retry a poison record forever.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { type Inspector, inspectorOption } from "../inspect.ts";
import type { Producer } from "../producer/producer.ts";
import { validateTopicName } from "../broker/topic-name.ts";
import { type Clock, systemClock } from "../runtime/clock.ts";
import type { Isolation } from "../transport/protocol.ts";
import { describe, integerIn, isClock, isObject, rejectUnknownKeys } from "../validate.ts";

/**
 * When a consumer commits what it read, which decides its delivery semantic:
 * - `before-processing`: commits a batch's offsets before handing its records out. A crash or
 *   a failing handler loses them; nothing is processed twice (at-most-once).
 * - `after-processing`: commits once records are processed. A crash or a failing handler
 *   makes them come again; nothing is lost (at-least-once).
 * - `transactional`: the handler's output and the input offsets commit in one transaction of
 *   the configured `producer` (exactly-once consume-transform-produce).
 * - `idempotent`: for engines without transactions (NATS JetStream). The handler writes to
 *   `outputTopic` through `context.output`, each write with an id derived from the input
 *   record; the input is acknowledged once the writes are, and the server confirms the ack.
 *   A record handed out again after a crash or a lost ack rewrites the same ids, which the
 *   engine drops as duplicates (exactly-once output within its deduplication window).
 * - `manual`: the consumer never commits by itself; call `consumer.commit()`.
 */
export type CommitStrategy = "before-processing" | "after-processing" | "transactional" | "idempotent" | "manual";

/** Where a member starts in a partition its group has no committed offset for. */
export type OffsetReset = "earliest" | "latest";

/** Consumer settings. Only `groupId` is required. */
export interface ConsumerConfig {
  /** The consumer group: its members share the topic's partitions and its committed offsets. */
  groupId: string;
  /** Default `after-processing`. */
  commit?: CommitStrategy;
  /**
   * What fetches return. Default `read-committed`: only replicated records of committed
   * transactions (or none). `read-uncommitted` also returns open and aborted transactions' records.
   */
  isolation?: Isolation;
  /** Default `earliest`, so a new group reads everything already written. */
  autoOffsetReset?: OffsetReset;
  /** Records per fetch of one partition; a transactional consumer commits one fetch of each ready partition together. Default 500. */
  maxPollRecords?: number;
  /**
   * How many times a record is handed to a handler that fails on it before it is
   * dead-lettered (or, without `deadLetterTopic`, its partition stops with `PoisonRecordError`).
   * Default 5. On an offset log a crash does not count (the member that crashed took its
   * counts with it); on NATS JetStream the server counts every delivery, crashes included.
   */
  maxDeliveries?: number;
  /** A topic that takes poison records (key and value unchanged). Default: none. */
  deadLetterTopic?: string;
  /**
   * `transactional` only: an exactly-once producer with a `transactionalId`. The handler
   * sends through it, and each batch's output commits with its input offsets. Give each
   * consumer instance its own id; a restarted instance reusing its predecessor's id fences it.
   */
  producer?: Producer;
  /**
   * `idempotent` only: the topic `context.output.send()` writes to. The handler must send the
   * same records in the same order each time it is given the same input record, or the
   * derived ids cannot match them up.
   */
  outputTopic?: string;
  /**
   * A member silent for this long loses its partitions (on NATS JetStream: the durable
   * consumer's `ack_wait`, after which what a silent member held is delivered again).
   * Default 10 000 ms.
   */
  sessionTimeoutMs?: number;
  /** How often the member heartbeats; under a third of the session timeout. Default 3 000 ms. */
  heartbeatIntervalMs?: number;
  /** How long to wait before fetching again when no partition had anything new. Default 50 ms. */
  pollIntervalMs?: number;
  /** How long one request waits for its response. Default 30 000 ms. */
  requestTimeout?: number;
  /** Time source for heartbeats, polling and timeouts. Default: real time. */
  clock?: Clock;
  /**
   * An XState inspection observer handed to the consumer's loop actor (`actor`), on every
   * engine. A `transactional` consumer's producer is inspected through its own `inspect`.
   * Default: none.
   */
  inspect?: Inspector;
}

/** A validated consumer config with every default filled in. */
export interface ResolvedConsumerConfig {
  readonly groupId: string;
  readonly commit: CommitStrategy;
  readonly isolation: Isolation;
  readonly autoOffsetReset: OffsetReset;
  readonly maxPollRecords: number;
  readonly maxDeliveries: number;
  readonly deadLetterTopic: string | null;
  readonly producer: Producer | null;
  readonly outputTopic: string | null;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly pollIntervalMs: number;
  readonly requestTimeout: number;
  readonly clock: Clock;
  /** The inspection observer, or null. */
  readonly inspect: Inspector | null;
}

const KEYS = [
  "groupId",
  "commit",
  "isolation",
  "autoOffsetReset",
  "maxPollRecords",
  "maxDeliveries",
  "deadLetterTopic",
  "producer",
  "outputTopic",
  "sessionTimeoutMs",
  "heartbeatIntervalMs",
  "pollIntervalMs",
  "requestTimeout",
  "clock",
  "inspect",
] as const;

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new ConfigError(
      field,
      `must be ${allowed.map((a) => `"${a}"`).join(", ")}; got ${describe(value)}`,
    );
  }
  return value as T;
}

function topicField(field: string, value: string | undefined): string | null {
  if (value === undefined) return null;
  try {
    validateTopicName(value);
  } catch (error) {
    throw new ConfigError(field, (error as Error).message);
  }
  return value;
}

/** Validates a consumer config, naming the first bad field, and fills in defaults. */
export function resolveConsumerConfig(config: ConsumerConfig): ResolvedConsumerConfig {
  if (!isObject(config as unknown)) {
    throw new ConfigError("consumer", `expected an object with a groupId, got ${describe(config)}`);
  }
  rejectUnknownKeys(config, KEYS, "");
  const { groupId } = config;
  if (typeof groupId !== "string" || groupId.length === 0) {
    throw new ConfigError("groupId", `expected a non-empty string, got ${describe(groupId)}`);
  }
  const commit = oneOf("commit", config.commit, [
    "before-processing",
    "after-processing",
    "transactional",
    "idempotent",
    "manual",
  ], "after-processing");
  const producer = config.producer ?? null;
  if (commit === "transactional") {
    const semantic = producer?.config.deliverySemantic;
    if (semantic?.kind !== "exactly-once" || semantic.transactionalId === null) {
      throw new ConfigError("producer", 'commit "transactional" needs an exactly-once producer with a transactionalId');
    }
  } else if (producer !== null) {
    throw new ConfigError("producer", `only commit "transactional" uses a producer; commit is "${commit}"`);
  }
  const outputTopic = topicField("outputTopic", config.outputTopic);
  if (commit === "idempotent" && outputTopic === null) {
    throw new ConfigError("outputTopic", 'commit "idempotent" needs the outputTopic its handler writes to');
  }
  if (commit !== "idempotent" && outputTopic !== null) {
    throw new ConfigError("outputTopic", `only commit "idempotent" writes to an outputTopic; commit is "${commit}"`);
  }
  const deadLetterTopic = topicField("deadLetterTopic", config.deadLetterTopic);
  const sessionTimeoutMs = integerIn("sessionTimeoutMs", config.sessionTimeoutMs ?? 10_000, 3);
  const heartbeatIntervalMs = integerIn(
    "heartbeatIntervalMs",
    config.heartbeatIntervalMs ?? Math.min(3_000, Math.floor(sessionTimeoutMs / 3)),
    1,
  );
  // Two heartbeats may be lost without the session ending.
  if (heartbeatIntervalMs * 3 > sessionTimeoutMs) {
    throw new ConfigError(
      "heartbeatIntervalMs",
      `must be at most a third of sessionTimeoutMs (${sessionTimeoutMs}), got ${heartbeatIntervalMs}`,
    );
  }
  const clock = config.clock ?? systemClock;
  if (!isClock(clock)) {
    throw new ConfigError("clock", `expected a Clock (now, setTimeout, clearTimeout), got ${describe(clock)}`);
  }
  return {
    groupId,
    commit,
    isolation: oneOf("isolation", config.isolation, ["read-committed", "read-uncommitted"], "read-committed"),
    autoOffsetReset: oneOf("autoOffsetReset", config.autoOffsetReset, ["earliest", "latest"], "earliest"),
    maxPollRecords: integerIn("maxPollRecords", config.maxPollRecords ?? 500, 1),
    maxDeliveries: integerIn("maxDeliveries", config.maxDeliveries ?? 5, 1),
    deadLetterTopic,
    producer,
    outputTopic,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    pollIntervalMs: integerIn("pollIntervalMs", config.pollIntervalMs ?? 50, 0),
    requestTimeout: integerIn("requestTimeout", config.requestTimeout ?? 30_000, 1),
    clock,
    inspect: inspectorOption(config.inspect),
  };
}
