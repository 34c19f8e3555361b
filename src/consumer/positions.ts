/**
 * Where a group member reads a partition from when it has no position of its own: a newly
 * owned partition starts at the group's committed offset, or per `autoOffsetReset`; a
 * position deleted by retention moves per `autoOffsetReset` as well, as a Kafka consumer's does.
 *
 * @module
 */
import { DeliveryFailedError, isRetriable, UnstableOffsetCommitError } from "../errors.ts";
import { sleep } from "../runtime/clock.ts";
import type { Answer } from "../transport/call.ts";
import type { FetchRequest, OffsetFetchRequest } from "../transport/protocol.ts";
import type { ResolvedConsumerConfig } from "./config.ts";

/** How often a member asks again while a transaction holds the offset it would start from. */
const UNSTABLE_RETRY_MS = 50;
/**
 * How long a member keeps asking while its asks fail retriably: past Kafka's default
 * `transaction.timeout.ms`, so the holding transaction has ended by then, one way or the other.
 */
const MAX_UNSTABLE_WAIT_MS = 60_000;

/** The requests positions need, sent by the consumer (with its retries and timeouts). */
export type PositionCall = <R extends FetchRequest | OffsetFetchRequest>(request: R) => Promise<Answer<R>>;

/** The partition's log bounds: a fetch of no records is never out of range, and from 0 its `nextOffset` is the log start. */
function bounds(call: PositionCall, config: ResolvedConsumerConfig, topic: string, partition: number) {
  return call({ api: "fetch", topic, partition, offset: 0, maxRecords: 0, isolation: config.isolation });
}

/** The end a reader of this isolation would see: nothing there is skipped, nothing before it read. */
function end(config: ResolvedConsumerConfig, answer: Answer<FetchRequest>): number {
  return config.isolation === "read-committed" ? answer.lastStableOffset : answer.logEndOffset;
}

/** Where this member starts reading a partition it was just assigned. */
export async function startOffset(
  call: PositionCall,
  config: ResolvedConsumerConfig,
  topic: string,
  partition: number,
): Promise<number> {
  const offset = await committedOffset(call, config, topic, partition);
  if (offset !== null) return offset;
  if (config.autoOffsetReset === "earliest") return 0;
  return end(config, await bounds(call, config, topic, partition));
}

/**
 * Where a position deleted by retention (Kafka's OFFSET_OUT_OF_RANGE) moves: to the log
 * start (`earliest`) or the end (`latest`), never below the log start.
 */
export async function resetOffset(
  call: PositionCall,
  config: ResolvedConsumerConfig,
  topic: string,
  partition: number,
): Promise<number> {
  const probe = await bounds(call, config, topic, partition);
  const to = config.autoOffsetReset === "earliest" ? probe.nextOffset : end(config, probe);
  return Math.max(to, probe.nextOffset);
}

/**
 * The group's committed offset for the partition. A read-committed member asks for a stable
 * one (KIP-447) and waits while an open transaction holds it: a member of an older generation
 * (paused past its session, say) may have committed its offsets into a transaction that is
 * still to end, and starting from the older offset would process that batch a second time,
 * its output then committed twice. The wait ends when that transaction commits or aborts,
 * at the latest when the coordinator times it out.
 */
async function committedOffset(
  call: PositionCall,
  config: ResolvedConsumerConfig,
  topic: string,
  partition: number,
): Promise<number | null> {
  const requireStable = config.isolation === "read-committed";
  const started = config.clock.now();
  for (;;) {
    try {
      return (await call({ api: "offsetFetch", groupId: config.groupId, topic, partition, requireStable })).offset;
    } catch (error) {
      // The call's own retries may end on an unstable answer, or on a lost one after many
      // unstable answers: either way the holding transaction may still be open.
      const waiting = error instanceof UnstableOffsetCommitError ||
        (requireStable && error instanceof DeliveryFailedError && isRetriable(error.cause) &&
          config.clock.now() - started < MAX_UNSTABLE_WAIT_MS);
      if (!waiting) throw error;
      await sleep(config.clock, UNSTABLE_RETRY_MS);
    }
  }
}
