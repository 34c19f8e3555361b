/**
 * Choosing a partition for each record. Keyed records always use Kafka's default rule,
 * `toPositive(murmur2(key)) % partitionCount`, so a key lands on the same partition it would
 * from the Java client, librdkafka's `murmur2_random` or KafkaJS's v2 default partitioner,
 * and per-key ordering survives mixing acktor with those producers on one topic. The
 * strategies differ only for keyless records.
 *
 * The built-in strategies are deterministic (no `Math.random`): a seeded run or a test
 * replays the same placement every time.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { murmur2, toPositive } from "./murmur2.ts";

/**
 * Picks the partition of each record sent to one topic.
 *
 * The built-in partitioners keep per-topic state (which partition keyless records go to),
 * so a producer creates one instance per topic.
 */
export interface Partitioner {
  /**
   * Returns the partition for a record.
   *
   * @param key - The serialized key, or `null` for a keyless record.
   * @param partitionCount - The topic's partition count, a positive integer.
   * @returns A partition in `[0, partitionCount)`.
   */
  partition(key: Uint8Array | null, partitionCount: number): number;
  /**
   * Called by the producer when the batch of `partition` was sealed because it filled up.
   * Sticky partitioning moves keyless records to another partition here, as Kafka's sticky
   * partitioner does when it starts a new batch.
   *
   * @param partition - The partition whose batch is full.
   */
  onBatchFull?(partition: number): void;
}

/** The built-in strategies for keyless records; see {@link createPartitioner}. */
export type PartitionerName = "sticky" | "round-robin";

/**
 * Kafka's default placement for a keyed record.
 *
 * @param key - The serialized key.
 * @param partitionCount - The topic's partition count, a positive integer.
 * @returns `toPositive(murmur2(key)) % partitionCount`.
 */
export function keyedPartition(key: Uint8Array, partitionCount: number): number {
  return toPositive(murmur2(key)) % partitionCount;
}

// Caught here rather than left to `%`, which would turn a bad count into NaN and send the
// record to a partition that does not exist, failing far from the cause.
function checkPartitionCount(partitionCount: number): void {
  if (!(partitionCount >= 1 && partitionCount <= 0x7fffffff) || (partitionCount | 0) !== partitionCount) {
    throw new RangeError(`partitionCount must be a positive 32-bit integer, got ${partitionCount}`);
  }
}

// Classes rather than closures: every instance shares one hidden class and prototype, which
// keeps the per-record call monomorphic and allocation-free.

class StickyPartitioner implements Partitioner {
  private current = 0;
  // Remembered so onBatchFull can wrap without being told the partition count.
  private count = 0;

  partition(key: Uint8Array | null, partitionCount: number): number {
    checkPartitionCount(partitionCount);
    if (key !== null) return keyedPartition(key, partitionCount);
    this.count = partitionCount;
    // The count can differ from the last call (partitions added, or a shared custom wiring);
    // fold the sticky choice back into range instead of returning a stale partition.
    if (this.current >= partitionCount) this.current %= partitionCount;
    return this.current;
  }

  onBatchFull(partition: number): void {
    // A full batch of a keyed partition says nothing about where keyless records go; only
    // the sticky partition filling up is the signal to move, as in Kafka.
    if (partition !== this.current) return;
    const next = partition + 1;
    // Stepping to the next partition, rather than a random one, spreads batches evenly and
    // keeps runs reproducible.
    this.current = next < this.count ? next : 0;
  }
}

class RoundRobinPartitioner implements Partitioner {
  private next = 0;

  partition(key: Uint8Array | null, partitionCount: number): number {
    checkPartitionCount(partitionCount);
    if (key !== null) return keyedPartition(key, partitionCount);
    // Kept in range, not an ever-growing counter, so it never leaves the int32 fast path.
    const p = this.next < partitionCount ? this.next : this.next % partitionCount;
    this.next = p + 1 < partitionCount ? p + 1 : 0;
    return p;
  }
}

/**
 * The default strategy: keyless records stick to one partition until its batch fills up
 * ({@link Partitioner.onBatchFull}), then move to the next partition, round robin. Whole
 * batches go out instead of one record per partition per batch, which is why Kafka made
 * stickiness its default (KIP-480); stepping in order rather than at random keeps the
 * spread even and the placement reproducible.
 *
 * Keyed records use Kafka's default rule, see {@link keyedPartition}. Create one instance
 * per topic.
 *
 * @returns A new sticky partitioner, starting at partition 0.
 */
export function stickyPartitioner(): Partitioner {
  return new StickyPartitioner();
}

/**
 * Keyless records rotate over the partitions one record at a time: 0, 1, …, n-1, 0, …
 * The most even spread per record, at the cost of smaller batches than
 * {@link stickyPartitioner}.
 *
 * Keyed records use Kafka's default rule, see {@link keyedPartition}. Create one instance
 * per topic.
 *
 * @returns A new round-robin partitioner, starting at partition 0.
 */
export function roundRobinPartitioner(): Partitioner {
  return new RoundRobinPartitioner();
}

/**
 * Resolves the producer's partitioner option.
 *
 * @param choice - A built-in strategy by name (`"sticky"` is the default the producer
 *   uses), or a custom {@link Partitioner}, which is used as-is: it then owns its state, so
 *   a custom object shared across topics sees all of them.
 * @returns A new built-in partitioner, or `choice` itself.
 * @throws {@link ConfigError} if `choice` is neither a known name nor an object with a
 *   `partition` method (possible from untyped JavaScript or parsed config).
 */
export function createPartitioner(choice: PartitionerName | Partitioner): Partitioner {
  if (choice === "sticky") return new StickyPartitioner();
  if (choice === "round-robin") return new RoundRobinPartitioner();
  if (typeof choice === "object" && choice !== null && typeof choice.partition === "function") return choice;
  throw new ConfigError(
    "partitioner",
    `expected "sticky", "round-robin" or an object with a partition method, got ${describe(choice)}`,
  );
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : value === null ? "null" : typeof value;
}
