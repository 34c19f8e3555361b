/**
 * InitProducerId and the transaction APIs, answered by the broker's transaction coordinator
 * through acktor's own requests: the same fencing by epoch, the same partition registration
 * before writes (KIP-890), the same markers and last stable offset. The server adds only the
 * classic group's generation check that a transactional offset commit carries (KIP-447).
 *
 * @module
 */
import type { Result } from "../../transport/protocol.ts";
import { kafkaErrorAt, KafkaErrorCode as K } from "../error-codes.ts";
import type { RequestContext } from "./context.ts";

const INIT_PRODUCER_ID = 22;
const ADD_PARTITIONS = 24;
const ADD_OFFSETS = 25;
const END_TXN = 26;
const TXN_OFFSET_COMMIT = 28;

const codeOf = (result: Result<object>, apiKey: number, context: RequestContext): number =>
  result.ok ? K.NONE : kafkaErrorAt(result.error, apiKey, context.version);

interface InitProducerIdBody {
  readonly transactionalId: string | null;
  readonly transactionTimeoutMs: number;
  /** v3+: the producer's current id and epoch (-1 and -1 for none). */
  readonly producerId: number;
  readonly producerEpoch: number;
}

/**
 * A new idempotent producer id, or the transactional id's producer at a bumped epoch (fencing
 * the old one). As Kafka's broker does, an idempotent producer's request gets a fresh id
 * whatever id and epoch it names (KIP-360's bump is for transactional ids), and a
 * transactional id's epoch is bumped by the coordinator whoever asks.
 */
export async function initProducerId(request: InitProducerIdBody, context: RequestContext): Promise<object> {
  if ((request.producerId === -1) !== (request.producerEpoch === -1)) {
    return { throttleTimeMs: 0, errorCode: K.INVALID_REQUEST, producerId: -1, producerEpoch: -1 };
  }
  const result = await context.broker.handle({
    api: "initProducerId",
    ...(request.transactionalId === null ? {} : {
      transactionalId: request.transactionalId,
      transactionTimeoutMs: request.transactionTimeoutMs,
    }),
  });
  return {
    throttleTimeMs: 0,
    errorCode: codeOf(result, INIT_PRODUCER_ID, context),
    producerId: result.ok ? result.producerId : -1,
    producerEpoch: result.ok ? result.epoch : -1,
  };
}

interface AddPartitionsBody {
  readonly v3AndBelowTransactionalId: string;
  readonly v3AndBelowProducerId: number;
  readonly v3AndBelowProducerEpoch: number;
  readonly v3AndBelowTopics: readonly { readonly name: string; readonly partitions: readonly number[] }[];
}

/** Adds the partitions to the open transaction (starting it); all or none. */
export async function addPartitionsToTxn(request: AddPartitionsBody, context: RequestContext): Promise<object> {
  const result = await context.broker.handle({
    api: "addPartitionsToTxn",
    transactionalId: request.v3AndBelowTransactionalId,
    producerId: request.v3AndBelowProducerId,
    epoch: request.v3AndBelowProducerEpoch,
    partitions: request.v3AndBelowTopics.flatMap((t) =>
      t.partitions.map((partition) => ({ topic: t.name, partition }))
    ),
  });
  const partitionErrorCode = codeOf(result, ADD_PARTITIONS, context);
  return {
    throttleTimeMs: 0,
    resultsByTopicV3AndBelow: request.v3AndBelowTopics.map((t) => ({
      name: t.name,
      resultsByPartition: t.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode })),
    })),
  };
}

interface AddOffsetsBody {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly groupId: string;
}

/**
 * Kafka adds the group's offsets partition to the transaction here; acktor's coordinator
 * keeps a transaction's offsets with it directly (TxnOffsetCommit), so this only checks that
 * the producer still holds its transactional id at this epoch.
 */
export async function addOffsetsToTxn(request: AddOffsetsBody, context: RequestContext): Promise<object> {
  const result = await context.broker.handle({
    api: "addPartitionsToTxn",
    transactionalId: request.transactionalId,
    producerId: request.producerId,
    epoch: request.producerEpoch,
    partitions: [],
  });
  return { throttleTimeMs: 0, errorCode: codeOf(result, ADD_OFFSETS, context) };
}

interface EndTxnBody {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly committed: boolean;
}

/** Commits or aborts: markers into every partition of the transaction, offsets stored or dropped. */
export async function endTxn(request: EndTxnBody, context: RequestContext): Promise<object> {
  const result = await context.broker.handle({
    api: "endTxn",
    transactionalId: request.transactionalId,
    producerId: request.producerId,
    epoch: request.producerEpoch,
    commit: request.committed,
  });
  return { throttleTimeMs: 0, errorCode: codeOf(result, END_TXN, context) };
}

interface TxnOffsetCommitBody {
  readonly transactionalId: string;
  readonly groupId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly generationId: number;
  readonly memberId: string;
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly { readonly partitionIndex: number; readonly committedOffset: number }[];
  }[];
}

/** Makes the offsets part of the transaction, after the member's generation check (v3+). */
export async function txnOffsetCommit(request: TxnOffsetCommitBody, context: RequestContext): Promise<object> {
  let errorCode = request.generationId === -1
    ? K.NONE
    : context.groups.checkCommit(request.groupId, request.memberId, request.generationId);
  if (errorCode === K.NONE) {
    const result = await context.broker.handle({
      api: "txnOffsetCommit",
      transactionalId: request.transactionalId,
      producerId: request.producerId,
      epoch: request.producerEpoch,
      groupId: request.groupId,
      offsets: request.topics.flatMap((t) =>
        t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset }))
      ),
    });
    errorCode = codeOf(result, TXN_OFFSET_COMMIT, context);
  }
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
    })),
  };
}
