/**
 * Fetch: whole stored batches, encoded as Kafka record batches, up to the high watermark
 * (read_uncommitted) or the last stable offset (read_committed). Read-committed readers also
 * get the aborted transactions their range overlaps and the control markers, and filter the
 * aborted records themselves, as Kafka clients do against a Kafka broker. An empty answer
 * long-polls until records arrive or `maxWaitMs` passes, so an idle consumer does not spin.
 *
 * @module
 */
import type { LogBatch } from "../../broker/log.ts";
import type { Partition } from "../../broker/partition.ts";
import { sleepUnlessAborted } from "../../runtime/clock.ts";
import { KafkaErrorCode as K, kafkaErrorFor } from "../error-codes.ts";
import { type BatchPlan, planBatch, planControlBatch, writePlans } from "../records/batch-encoder.ts";
import type { RequestContext } from "./context.ts";

interface FetchBody {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly isolationLevel: number;
  readonly topics: readonly {
    readonly topic: string;
    readonly partitions: readonly {
      readonly partition: number;
      readonly fetchOffset: number;
      readonly partitionMaxBytes: number;
    }[];
  }[];
}

/** How often an empty long-poll looks again. */
const POLL_MS = 5;

/** Reads every partition asked for, waiting up to `maxWaitMs` for at least `minBytes`. */
export async function fetch(request: FetchBody, context: RequestContext): Promise<object> {
  const clock = context.broker.clock;
  const deadline = clock.now() + Math.max(0, request.maxWaitMs);
  for (;;) {
    const { responses, bytes, failed } = readAll(request, context);
    const done = bytes >= Math.max(1, request.minBytes) || failed || clock.now() >= deadline;
    if (done || !await sleepUnlessAborted(clock, Math.min(POLL_MS, deadline - clock.now()), context.closing)) {
      return { throttleTimeMs: 0, errorCode: K.NONE, sessionId: 0, responses };
    }
  }
}

function readAll(request: FetchBody, context: RequestContext) {
  let bytes = 0;
  let failed = false;
  let budget = request.maxBytes > 0 ? request.maxBytes : 0x7fffffff;
  const committed = request.isolationLevel === 1;
  const responses = request.topics.map((t) => ({
    topic: t.topic,
    partitions: t.partitions.map((p) => {
      const answer = readPartition(
        t.topic,
        p.partition,
        p.fetchOffset,
        // KIP-74: past the response's maxBytes, only the first non-empty partition gets a batch.
        bytes > 0 ? Math.min(p.partitionMaxBytes, budget) : p.partitionMaxBytes,
        committed,
        context,
      );
      const size = answer.records?.length ?? 0;
      bytes += size;
      budget -= size;
      if (answer.errorCode !== K.NONE) failed = true;
      return answer;
    }),
  }));
  return { responses, bytes, failed };
}

function readPartition(
  topic: string,
  index: number,
  offset: number,
  maxBytes: number,
  committed: boolean,
  context: RequestContext,
) {
  let partition: Partition;
  try {
    partition = context.broker.partition(topic, index);
  } catch (error) {
    return empty(index, kafkaErrorFor(error));
  }
  const highWatermark = partition.highWatermark;
  const lastStableOffset = partition.lastStableOffset;
  const logStartOffset = partition.log.startOffset;
  const base = { partitionIndex: index, highWatermark, lastStableOffset, logStartOffset, preferredReadReplica: -1 };
  if (offset < logStartOffset || offset > partition.log.endOffset) {
    return { ...base, errorCode: K.OFFSET_OUT_OF_RANGE, abortedTransactions: null, records: null };
  }
  const upTo = committed ? lastStableOffset : highWatermark;
  // At least one batch however small maxBytes is (KIP-74), unless the response is already full.
  const batches = maxBytes > 0 ? partition.log.batches(offset, upTo, maxBytes) : [];
  const abortedTransactions = committed
    ? partition.abortedTransactions()
      .filter((t) => t.lastOffset >= offset && t.firstOffset < upTo)
      .map((t) => ({ producerId: t.producerId, firstOffset: t.firstOffset }))
    : null;
  return { ...base, errorCode: K.NONE, abortedTransactions, records: encode(batches) };
}

function empty(index: number, errorCode: number) {
  return {
    partitionIndex: index,
    errorCode,
    highWatermark: -1,
    lastStableOffset: -1,
    logStartOffset: -1,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: null,
  };
}

/** The batches as Kafka record batches, sized first and written into one buffer. */
function encode(batches: readonly LogBatch[]): Uint8Array {
  return writePlans(batches.map(plan));
}

function plan(batch: LogBatch): BatchPlan {
  if (batch.control !== null) {
    return planControlBatch({
      baseOffset: batch.base,
      producerId: batch.producerId,
      producerEpoch: 0,
      commit: batch.control === "commit",
      timestamp: batch.appendedAt,
    });
  }
  return planBatch({
    baseOffset: batch.base,
    // The log's packed layout goes to the encoder as it is: no view per key and value.
    records: batch,
    timestamp: batch.appendedAt,
    producerId: batch.producerId,
    producerEpoch: batch.producerId >= 0 ? 0 : -1,
    baseSequence: -1,
    transactional: batch.transactional,
  });
}
