/**
 * The embedded broker's settings and a topic's shape: the options users pass, Kafka's
 * defaults, and their validation into what the broker and its partitions run with.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { type Clock, systemClock } from "../runtime/clock.ts";
import { checkOptions, describe, integerIn, isClock } from "../validate.ts";
import type { PartitionOptions } from "./partition.ts";

/** Broker-wide settings. */
export interface BrokerOptions {
  /** Time source for replication lag and ack timeouts. Default: real time. */
  clock?: Clock;
  /** Largest record (key + value bytes) accepted. Default 1 MiB. */
  maxRecordBytes?: number;
  /** Largest batch (sum of its records) accepted in one produce request. Default 8 MiB. */
  maxBatchBytes?: number;
  /** A follower that has not caught up for this long leaves the ISR. Default 10 000 ms. */
  replicaLagTimeMaxMs?: number;
  /** The longest transaction timeout a producer may ask for. Default 900 000 ms (Kafka's). */
  transactionTimeoutMaxMs?: number;
  /**
   * An idempotent producer's dedup state (per partition) and its producer id are forgotten
   * after this long without a write from it. A transactional producer's state lasts as long
   * as its transactional id (see {@link transactionalIdExpirationMs}). Kafka's
   * `producer.id.expiration.ms`. Default 86 400 000 ms (1 day).
   */
  producerIdExpirationMs?: number;
  /**
   * A transactional id with no open transaction is forgotten after this long unused. Kafka's
   * `transactional.id.expiration.ms`. Default 604 800 000 ms (7 days).
   */
  transactionalIdExpirationMs?: number;
}

/** A topic's shape. */
export interface TopicConfig {
  /** Default 1. */
  partitions?: number;
  /** Copies of each partition, leader included. Default 1. */
  replicationFactor?: number;
  /** How long followers take to copy each append. Default 0. */
  replicaLagMs?: number;
  /** Fewest in-sync replicas a read-committed write needs. Default 1. */
  minInsyncReplicas?: number;
  /**
   * Each partition deletes its oldest batches while it holds more key and value bytes than
   * this. Kafka's `retention.bytes`. Default -1: no limit.
   */
  retentionBytes?: number;
  /**
   * Each partition deletes batches appended longer ago than this. Kafka's `retention.ms`.
   * Default 604 800 000 ms (7 days); -1: no limit.
   */
  retentionMs?: number;
}

/** {@link BrokerOptions} validated, with every default applied. */
export interface BrokerSettings {
  readonly clock: Clock;
  readonly maxRecordBytes: number;
  readonly maxBatchBytes: number;
  readonly replicaLagTimeMaxMs: number;
  readonly transactionTimeoutMaxMs: number;
  readonly producerIdExpirationMs: number;
  readonly transactionalIdExpirationMs: number;
}

const MiB = 1024 * 1024;
const BROKER_OPTIONS = [
  "clock",
  "maxRecordBytes",
  "maxBatchBytes",
  "replicaLagTimeMaxMs",
  "transactionTimeoutMaxMs",
  "producerIdExpirationMs",
  "transactionalIdExpirationMs",
];
const TOPIC_OPTIONS = [
  "partitions",
  "replicationFactor",
  "replicaLagMs",
  "minInsyncReplicas",
  "retentionBytes",
  "retentionMs",
];
/** Kafka's `producer.id.expiration.ms`. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;
/** Kafka's `transactional.id.expiration.ms`. */
export const DEFAULT_TRANSACTIONAL_ID_EXPIRATION_MS = 604_800_000;
/** Kafka's `retention.ms`. */
export const DEFAULT_RETENTION_MS = 604_800_000;

/** Validates broker options; throws {@link ConfigError} naming the first bad one. */
export function brokerSettings(options: BrokerOptions): BrokerSettings {
  checkOptions(options, BROKER_OPTIONS, "broker");
  if (options.clock !== undefined && !isClock(options.clock)) {
    throw new ConfigError(
      "broker.clock",
      `expected a Clock (now, setTimeout, clearTimeout), got ${describe(options.clock)}`,
    );
  }
  return {
    clock: options.clock ?? systemClock,
    maxRecordBytes: integerIn("broker.maxRecordBytes", options.maxRecordBytes ?? MiB, 1),
    maxBatchBytes: integerIn("broker.maxBatchBytes", options.maxBatchBytes ?? 8 * MiB, 1),
    replicaLagTimeMaxMs: integerIn("broker.replicaLagTimeMaxMs", options.replicaLagTimeMaxMs ?? 10_000, 1),
    producerIdExpirationMs: integerIn(
      "broker.producerIdExpirationMs",
      options.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS,
      1,
    ),
    transactionalIdExpirationMs: integerIn(
      "broker.transactionalIdExpirationMs",
      options.transactionalIdExpirationMs ?? DEFAULT_TRANSACTIONAL_ID_EXPIRATION_MS,
      1,
    ),
    transactionTimeoutMaxMs: integerIn("broker.transactionTimeoutMaxMs", options.transactionTimeoutMaxMs ?? 900_000, 1),
  };
}

/**
 * Validates a topic's config; throws {@link ConfigError} naming the first bad field. Returns
 * the partition count and what each partition runs with on this broker.
 */
export function topicSettings(
  config: TopicConfig,
  broker: Pick<BrokerSettings, "clock" | "replicaLagTimeMaxMs">,
): { partitions: number; options: PartitionOptions } {
  checkOptions(config, TOPIC_OPTIONS, "topic");
  const partitions = integerIn("topic.partitions", config.partitions ?? 1, 1, 10_000);
  const replicationFactor = integerIn("topic.replicationFactor", config.replicationFactor ?? 1, 1, 16);
  const replicaLagMs = integerIn("topic.replicaLagMs", config.replicaLagMs ?? 0, 0);
  const minInsyncReplicas = integerIn("topic.minInsyncReplicas", config.minInsyncReplicas ?? 1, 1, replicationFactor);
  const retentionBytes = integerIn("topic.retentionBytes", config.retentionBytes ?? -1, -1);
  const retentionMs = integerIn("topic.retentionMs", config.retentionMs ?? DEFAULT_RETENTION_MS, -1);
  return {
    partitions,
    options: {
      clock: broker.clock,
      retentionBytes,
      retentionMs,
      replicationFactor,
      replicaLagMs,
      minInsyncReplicas,
      replicaLagTimeMaxMs: broker.replicaLagTimeMaxMs,
    },
  };
}
