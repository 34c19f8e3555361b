/**
 * What the Kafka wire server needs of the embedded broker. The server speaks to the broker
 * through acktor's own request protocol wherever one exists (produce, transactions, offset
 * fetches), so a Kafka client meets the same rules as acktor's producers and consumers; the
 * seam adds only what that protocol has no request for: whole stored batches for Kafka's
 * fetch, topic admin, and offset commits of groups the server itself coordinates.
 *
 * @module
 */
import type { TopicConfig } from "../broker/broker-config.ts";
import type { Partition } from "../broker/partition.ts";
import type { Clock } from "../runtime/clock.ts";
import type { RequestHandler } from "../transport/protocol.ts";

/** The embedded broker as the Kafka wire server sees it. */
export interface BrokerSeam extends RequestHandler {
  readonly clock: Clock;
  /** Every topic's name. */
  topicNames(): string[];
  /** A topic's partition count, or undefined for an unknown topic. */
  partitionCount(topic: string): number | undefined;
  /** One partition; throws `UnknownTopicError` / `UnknownPartitionError`. */
  partition(topic: string, partition: number): Partition;
  /** Creates a topic; throws `TopicExistsError`, `InvalidTopicError` or `ConfigError`. */
  createTopic(name: string, config: TopicConfig): void;
  /** Stores a group's offset for one partition, after the server checked the member's generation. */
  commitOffset(groupId: string, topic: string, partition: number, offset: number): void;
  /** Every committed offset of a group. */
  committedOffsets(groupId: string): { topic: string; partition: number; offset: number }[];
}
