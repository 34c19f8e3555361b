/**
 * The broker's produce path: size limits, the ISR check of a read-committed write, plain
 * versus idempotent or transactional appends, and holding a read-committed ack until the
 * write is replicated.
 *
 * @module
 */
import {
  AcktorError,
  BatchTooLargeError,
  NotEnoughReplicasError,
  RecordTooLargeError,
  RequestTimedOutError,
} from "../errors.ts";
import { headersSize } from "../transport/headers.ts";
import type { ProduceRequest, ProduceResponse, RecordColumns } from "../transport/protocol.ts";
import type { Partition } from "./partition.ts";
import { wireColumn, wireInteger, wireString } from "./request-fields.ts";
import type { TransactionCoordinator } from "./transaction-coordinator.ts";
import { failure } from "./wire-failure.ts";

/** What the produce path needs from its broker. */
export interface ProduceOptions {
  readonly maxRecordBytes: number;
  readonly maxBatchBytes: number;
  /** Resolves a topic partition; throws `UnknownTopicError` or `UnknownPartitionError`. */
  readonly partition: (topic: string, partition: number) => Partition;
  readonly coordinator: TransactionCoordinator;
}

/** Answers produce requests. */
export class ProduceHandler {
  readonly #options: ProduceOptions;

  constructor(options: ProduceOptions) {
    this.#options = options;
  }

  /** Appends the batch, or throws the refusal; a read-committed write answers once replicated. */
  produce(request: ProduceRequest): Promise<ProduceResponse> | ProduceResponse {
    const { maxRecordBytes, maxBatchBytes } = this.#options;
    const partition = this.#options.partition(request.topic, request.partition);
    const count = recordCount(request);
    const headers = wireColumn("headers", request.headers, count);
    wireColumn("timestamps", request.timestamps, count);
    const size = recordSizes(request);
    let batchBytes = 0;
    for (let i = 0; i < count; i++) {
      const h = headers?.[i];
      const bytes = size(i) + (h ? headersSize(h) : 0);
      if (bytes > maxRecordBytes) throw new RecordTooLargeError(bytes, maxRecordBytes);
      batchBytes += bytes;
    }
    if (batchBytes > maxBatchBytes) throw new BatchTooLargeError(batchBytes, maxBatchBytes);
    const committed = request.isolation === "read-committed";
    if (committed && !partition.enoughReplicas) {
      throw new NotEnoughReplicasError(
        `${request.topic}[${request.partition}] has ${partition.state.isr.length} in-sync replica(s), fewer than minInsyncReplicas`,
      );
    }
    // Any producer field makes it a sequenced write, so a half-filled one is refused, not taken as plain.
    const sequenced = request.producerId !== undefined || request.epoch !== undefined ||
      request.baseSequence !== undefined || request.transactionalId !== undefined;
    if (sequenced) return this.#produceSequenced(request, partition, committed);
    const baseOffset = partition.append(request);
    if (!committed) return { ok: true, baseOffset };
    return ackWhenReplicated(request, partition, baseOffset, baseOffset + count, false);
  }

  /**
   * An idempotent or transactional write. A transactional one must first pass the
   * coordinator (the producer's identity and epoch, and KIP-890: its partition was added to
   * the open transaction); then the partition's dedup table decides. A duplicate is answered
   * with the original offsets, and under read-committed only once the original is
   * replicated, as its first answer would have been.
   */
  #produceSequenced(
    request: ProduceRequest,
    partition: Partition,
    committed: boolean,
  ): Promise<ProduceResponse> | ProduceResponse {
    const { coordinator } = this.#options;
    const producerId = wireInteger("producerId", request.producerId);
    const epoch = wireInteger("epoch", request.epoch);
    const baseSequence = wireInteger("baseSequence", request.baseSequence);
    const count = recordCount(request);
    // An empty batch has no sequence to check, and would make the next one look out of order.
    if (count === 0) {
      throw new AcktorError("REQUEST_INVALID", "an idempotent or transactional batch must hold at least one record");
    }
    const transactional = request.transactionalId !== undefined;
    if (transactional) {
      const transactionalId = wireString("transactionalId", request.transactionalId);
      coordinator.checkWrite(transactionalId, producerId, epoch, partition, request);
    }
    const verdict = partition.checkSequence(producerId, epoch, baseSequence, count, transactional);
    if (verdict.kind === "error") throw verdict.error;
    if (!transactional) coordinator.touchIdempotent(producerId);
    if (verdict.kind === "duplicate") {
      if (!committed) return { ok: true, baseOffset: verdict.baseOffset, duplicate: true };
      return ackWhenReplicated(request, partition, verdict.baseOffset, verdict.endOffset, true);
    }
    const baseOffset = partition.appendSequenced(request, producerId, epoch, baseSequence, transactional);
    if (!committed) return { ok: true, baseOffset };
    return ackWhenReplicated(request, partition, baseOffset, baseOffset + count, false);
  }
}

/** How many records a produce request holds, in whichever layout it carries them. */
function recordCount(records: RecordColumns): number {
  if (records.packed === undefined) return records.values.length;
  if (records.values.length !== 0 || records.keys.length !== 0) {
    throw new AcktorError("REQUEST_INVALID", "a produce request with packed records must have empty keys and values");
  }
  return records.packed.count;
}

/** Record `i`'s key and value bytes. */
function recordSizes(records: RecordColumns): (i: number) => number {
  const { packed, keys, values } = records;
  if (packed !== undefined) return (i) => packed.bounds[2 * i + 2]! - packed.bounds[2 * i]!;
  return (i) => values[i]!.length + (keys[i]?.length ?? 0);
}

/** Holds a read-committed ack until the HW reaches `end`, the end of the batch (or of its original). */
function ackWhenReplicated(
  request: ProduceRequest,
  partition: Partition,
  baseOffset: number,
  end: number,
  duplicate: boolean,
): Promise<ProduceResponse> {
  return partition.whenReplicated(end, request.timeoutMs).then((result) => {
    if (result === "replicated") return duplicate ? { ok: true, baseOffset, duplicate } : { ok: true, baseOffset };
    const where = `${request.topic}[${request.partition}] offset ${baseOffset}`;
    return failure(
      result === "timed-out"
        ? new RequestTimedOutError(
          request.timeoutMs,
          `replication of ${where} not confirmed within ${request.timeoutMs} ms`,
        )
        : new NotEnoughReplicasError(
          `${where} was written, but the ISR fell below minInsyncReplicas before it was replicated`,
        ),
    );
  });
}
