/**
 * ListOffsets, OffsetCommit and OffsetFetch. Offsets of a group that Kafka clients coordinate
 * here live in the broker's offset store, the same one acktor's own consumers and
 * transactions commit into, so a transactional commit and a plain one meet in one place.
 *
 * @module
 */
import type { Partition } from "../../broker/partition.ts";
import { KafkaErrorCode as K, kafkaErrorFor } from "../error-codes.ts";
import type { RequestContext } from "./context.ts";

interface ListOffsetsBody {
  readonly isolationLevel: number;
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly { readonly partitionIndex: number; readonly timestamp: number }[];
  }[];
}

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;

/** The offset for each timestamp: latest (HW, or LSO for read_committed), earliest, or the first at or after a time. */
export function listOffsets(request: ListOffsetsBody, context: RequestContext): object {
  const committed = request.isolationLevel === 1;
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map(({ partitionIndex, timestamp }) => {
        let partition: Partition;
        try {
          partition = context.broker.partition(t.name, partitionIndex);
        } catch (error) {
          return { partitionIndex, errorCode: kafkaErrorFor(error), timestamp: -1, offset: -1, leaderEpoch: -1 };
        }
        const found = locate(partition, timestamp, committed);
        return { partitionIndex, errorCode: K.NONE, timestamp: found.timestamp, offset: found.offset, leaderEpoch: 0 };
      }),
    })),
  };
}

function locate(partition: Partition, timestamp: number, committed: boolean): { offset: number; timestamp: number } {
  const end = committed ? partition.lastStableOffset : partition.highWatermark;
  if (timestamp === LATEST) return { offset: end, timestamp: -1 };
  if (timestamp === EARLIEST) return { offset: partition.log.startOffset, timestamp: -1 };
  // By time: a scan of the stored batches. Rare (a consumer seeking to a time), so no index.
  let best = { offset: -1, timestamp: -1 };
  for (const batch of partition.log.batches(partition.log.startOffset, end, Infinity)) {
    for (let i = 0; i < batch.count; i++) {
      const at = batch.timestamps?.[i] ?? batch.appendedAt;
      if (timestamp === MAX_TIMESTAMP) {
        if (at >= best.timestamp) best = { offset: batch.base + i, timestamp: at };
      } else if (at >= timestamp) {
        return { offset: batch.base + i, timestamp: at };
      }
    }
  }
  return timestamp === MAX_TIMESTAMP ? best : { offset: -1, timestamp: -1 };
}

interface OffsetCommitBody {
  readonly groupId: string;
  readonly generationIdOrMemberEpoch: number;
  readonly memberId: string;
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly { readonly partitionIndex: number; readonly committedOffset: number }[];
  }[];
}

/** Stores the offsets of a current member (or of a simple consumer, generation -1, while the group is empty). */
export function offsetCommit(request: OffsetCommitBody, context: RequestContext): object {
  const groupCode = context.groups.checkCommit(request.groupId, request.memberId, request.generationIdOrMemberEpoch);
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        if (groupCode !== K.NONE) return { partitionIndex: p.partitionIndex, errorCode: groupCode };
        try {
          context.broker.commitOffset(request.groupId, t.name, p.partitionIndex, p.committedOffset);
          return { partitionIndex: p.partitionIndex, errorCode: K.NONE };
        } catch (error) {
          return { partitionIndex: p.partitionIndex, errorCode: kafkaErrorFor(error) };
        }
      }),
    })),
  };
}

interface OffsetFetchBody {
  readonly groupId: string;
  readonly topics: readonly { readonly name: string; readonly partitionIndexes: readonly number[] }[] | null;
  readonly requireStable: boolean;
}

/**
 * The group's committed offsets (-1 where none), for the partitions named or, with null
 * topics, for all it has. With `requireStable` (v7, KIP-447), a partition whose offset an open
 * transaction holds answers UNSTABLE_OFFSET_COMMIT, and the client asks again.
 */
export async function offsetFetch(request: OffsetFetchBody, context: RequestContext): Promise<object> {
  const named = request.topics ?? byTopic(context.broker.committedOffsets(request.groupId));
  const topics = await Promise.all(named.map(async (t) => ({
    name: t.name,
    partitions: await Promise.all(t.partitionIndexes.map(async (partitionIndex) => {
      const result = await context.broker.handle({
        api: "offsetFetch",
        groupId: request.groupId,
        topic: t.name,
        partition: partitionIndex,
        requireStable: request.requireStable,
      });
      return {
        partitionIndex,
        committedOffset: result.ok ? result.offset ?? -1 : -1,
        committedLeaderEpoch: -1,
        metadata: "",
        errorCode: result.ok ? K.NONE : kafkaErrorFor(result.error),
      };
    })),
  })));
  const unstable = topics.some((t) => t.partitions.some((p) => p.errorCode === K.UNSTABLE_OFFSET_COMMIT));
  return { throttleTimeMs: 0, topics, errorCode: unstable ? K.UNSTABLE_OFFSET_COMMIT : K.NONE };
}

function byTopic(offsets: readonly { topic: string; partition: number }[]) {
  const topics = new Map<string, number[]>();
  for (const { topic, partition } of offsets) {
    const list = topics.get(topic) ?? [];
    list.push(partition);
    topics.set(topic, list);
  }
  return [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
}
