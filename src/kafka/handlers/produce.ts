/**
 * Produce: each partition's record batches go to the broker as acktor produce requests, so a
 * Kafka producer meets the broker's own rules: the idempotence table (producer id, epoch,
 * sequence), transactional writes only to partitions added to the transaction, acks=all
 * answered once the in-sync replicas have the batch.
 *
 * @module
 */
import type { Isolation, ProduceRequest, ProduceResponse } from "../../transport/protocol.ts";
import { kafkaErrorAt, KafkaErrorCode as K } from "../error-codes.ts";
import { decodeBatches } from "../records/record-batch.ts";
import { type RequestContext, topicStatus } from "./context.ts";

interface ProduceBody {
  readonly transactionalId: string | null;
  readonly acks: number;
  readonly timeoutMs: number;
  readonly topicData: readonly {
    readonly name: string;
    readonly partitionData: readonly { readonly index: number; readonly records: Uint8Array | null }[];
  }[];
}

interface PartitionAnswer {
  readonly index: number;
  readonly errorCode: number;
  readonly baseOffset: number;
  readonly logStartOffset: number;
  readonly errorMessage: string | null;
}

const PRODUCE_KEY = 0;

/** Applies every partition's batches now; answers once each is acknowledged (nothing for acks=0). */
export function produce(request: ProduceBody, context: RequestContext): Promise<object> | null {
  const isolation: Isolation = request.acks === -1 ? "read-committed" : "read-uncommitted";
  const responses = request.topicData.map((topic) => ({
    name: topic.name,
    partitionResponses: topic.partitionData.map((p) =>
      writePartition(topic.name, p.index, p.records, isolation, request, context)
    ),
  }));
  if (request.acks === 0) return null;
  return Promise.all(responses.map(async (r) => ({
    name: r.name,
    partitionResponses: await Promise.all(r.partitionResponses),
  }))).then((answered) => ({ responses: answered, throttleTimeMs: 0 }));
}

function writePartition(
  topic: string,
  index: number,
  records: Uint8Array | null,
  isolation: Isolation,
  request: ProduceBody,
  context: RequestContext,
): Promise<PartitionAnswer> {
  const fail = (errorCode: number, errorMessage: string) =>
    Promise.resolve({ index, errorCode, baseOffset: -1, logStartOffset: -1, errorMessage });
  const status = topicStatus(context, topic);
  if (status !== K.NONE) {
    return fail(
      status,
      status === K.INVALID_TOPIC_EXCEPTION ? `invalid topic name "${topic}"` : `unknown topic "${topic}"`,
    );
  }
  let batches;
  try {
    // Packed: the log keeps the decoded buffer as it is, with no view per key and value.
    batches = decodeBatches(records ?? new Uint8Array(0), { gunzip: context.gunzip, packed: true });
  } catch (error) {
    return fail(kafkaErrorAt(error, PRODUCE_KEY, context.version), (error as Error).message);
  }
  if (batches.length === 0) return fail(K.INVALID_RECORD, "the partition's records hold no record batch");
  // What Kafka's broker refuses from a producer (its LogValidator): the decoder reads fetched
  // batches too, which may have gaps, so these rules live here.
  const invalid = batches.find((b) =>
    b.control || b.count === 0 || b.offsetDeltas !== null || b.lastOffsetDelta !== b.count - 1
  );
  if (invalid !== undefined) {
    return fail(
      K.INVALID_RECORD,
      invalid.control
        ? "a producer cannot write control batches"
        : `a batch of ${invalid.count} record(s) must have offset deltas 0..${invalid.count - 1}`,
    );
  }
  // Every batch is handed to the broker now, in order (the broker applies each synchronously);
  // only the answers are awaited.
  const answers: Promise<ProduceResponse>[] = batches.map((batch) => {
    const idempotent = batch.producerId >= 0;
    const produce: ProduceRequest = {
      api: "produce",
      topic,
      partition: index,
      isolation,
      timeoutMs: request.timeoutMs,
      keys: batch.columns.keys,
      values: batch.columns.values,
      packed: batch.columns.packed,
      headers: batch.columns.headers,
      timestamps: batch.columns.timestamps,
      ...(idempotent
        ? { producerId: batch.producerId, epoch: batch.producerEpoch, baseSequence: batch.baseSequence }
        : {}),
      ...(batch.transactional && request.transactionalId !== null ? { transactionalId: request.transactionalId } : {}),
    };
    return context.broker.handle(produce);
  });
  return Promise.all(answers).then((results) => {
    const failed = results.find((r) => !r.ok);
    if (failed !== undefined && !failed.ok) {
      return {
        index,
        errorCode: kafkaErrorAt(failed.error, PRODUCE_KEY, context.version),
        baseOffset: -1,
        logStartOffset: -1,
        errorMessage: failed.error.message,
      };
    }
    const first = results[0]!;
    return {
      index,
      errorCode: K.NONE,
      baseOffset: first.ok ? first.baseOffset : -1,
      logStartOffset: context.broker.partition(topic, index).log.startOffset,
      errorMessage: null,
    };
  });
}
