/**
 * What a commit strategy's path uses of its {@link GroupConsumer}: one interface, so each
 * strategy lives in its own module and the consumer keeps its state private.
 *
 * @module
 */
import type { TransactionContext } from "../../producer/producer.ts";
import type { Answer } from "../../transport/call.ts";
import type { FetchRequest, PartitionOffset } from "../../transport/protocol.ts";
import type { ResolvedConsumerConfig } from "../config.ts";
import type { HandlerContext, Mode } from "../consumer.ts";
import type { Cursor } from "../cursor.ts";
import type { ConsumerOutcome } from "../outcome.ts";
import type { ConsumedRecord } from "../record.ts";

/** A group consumer as its strategies see it. */
export interface StrategyHost {
  readonly topic: string;
  readonly config: ResolvedConsumerConfig;
  /** The group generation this member last heard of. */
  generation(): number;
  /** Whether this member still owns `partition`: a path stops handing out records of one it lost. */
  owns(partition: number): boolean;
  context(tx: TransactionContext | null, signal: AbortSignal): HandlerContext;
  invoke(mode: Mode, unit: ConsumedRecord[], context: HandlerContext): unknown;
  report(outcome: ConsumerOutcome): void;
  reportProcessed(unit: readonly ConsumedRecord[]): void;
  committed(offsets: readonly PartitionOffset[], transactional: boolean): void;
  /** Counts a failed delivery: true when the unit counts as handled (dead-lettered), false when it comes again or stopped its partition. */
  failed(cursor: Cursor, unit: ConsumedRecord[], error: unknown): Promise<boolean>;
  deadLetter(unit: ConsumedRecord[], error: unknown): Promise<void>;
  /** Commits offsets on the serial lane; false when fenced (the loop catches up with its group). */
  storeOffsets(offsets: PartitionOffset[]): Promise<boolean>;
  /** True for errors meaning the member's view of its group is out of date (and marks it). */
  fenced(error: unknown): boolean;
}

/** A fetched batch of one partition, ready to hand out: where to continue after it, and its units. */
export interface Fetch {
  readonly cursor: Cursor;
  readonly next: number;
  readonly units: ConsumedRecord[][];
}

/** A fetch answer as a {@link Fetch}: one unit per record, or (`batch`) the whole batch as one unit. */
export function fetchOf(topic: string, cursor: Cursor, fetched: Answer<FetchRequest>, batch: boolean): Fetch {
  const records = fetched.records.map((r) => ({
    topic,
    partition: cursor.partition,
    offset: r.offset,
    key: r.key,
    value: r.value,
    headers: r.headers,
    timestamp: r.timestamp,
    deliveries: cursor.deliveries(r.offset),
  }));
  return { cursor, next: fetched.nextOffset, units: batch ? [records] : records.map((r) => [r]) };
}
