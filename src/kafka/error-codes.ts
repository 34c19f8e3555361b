/**
 * Kafka's error codes, and the code a Kafka client is answered with for each of acktor's typed
 * errors. The numbers are Kafka's (its `Errors` enum); the table holds those a broker serving
 * acktor's APIs can send, not Kafka's whole list.
 *
 * @module
 */
import { AcktorError, type ErrorCode, type WireError } from "../errors.ts";
import { CorruptRecordError, UnsupportedCompressionError } from "./records/records-error.ts";

/** Kafka's error codes by Kafka's names. */
export const KafkaErrorCode = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_FETCH_SIZE: 4,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  BROKER_NOT_AVAILABLE: 8,
  REPLICA_NOT_AVAILABLE: 9,
  MESSAGE_TOO_LARGE: 10,
  OFFSET_METADATA_TOO_LARGE: 12,
  NETWORK_EXCEPTION: 13,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  NOT_ENOUGH_REPLICAS: 19,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  INVALID_REQUIRED_ACKS: 21,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  INVALID_COMMIT_OFFSET_SIZE: 28,
  TOPIC_AUTHORIZATION_FAILED: 29,
  GROUP_AUTHORIZATION_FAILED: 30,
  CLUSTER_AUTHORIZATION_FAILED: 31,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  NOT_CONTROLLER: 41,
  INVALID_REQUEST: 42,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  POLICY_VIOLATION: 44,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  INVALID_PRODUCER_ID_MAPPING: 49,
  INVALID_TRANSACTION_TIMEOUT: 50,
  CONCURRENT_TRANSACTIONS: 51,
  TRANSACTION_COORDINATOR_FENCED: 52,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  KAFKA_STORAGE_ERROR: 56,
  UNKNOWN_PRODUCER_ID: 59,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  FETCH_SESSION_ID_NOT_FOUND: 70,
  INVALID_FETCH_SESSION_EPOCH: 71,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  OFFSET_NOT_AVAILABLE: 78,
  MEMBER_ID_REQUIRED: 79,
  GROUP_MAX_SIZE_REACHED: 81,
  FENCED_INSTANCE_ID: 82,
  INVALID_RECORD: 87,
  UNSTABLE_OFFSET_COMMIT: 88,
  THROTTLING_QUOTA_EXCEEDED: 89,
  PRODUCER_FENCED: 90,
  UNKNOWN_TOPIC_ID: 100,
  INCONSISTENT_TOPIC_ID: 103,
  TRANSACTIONAL_ID_NOT_FOUND: 105,
  TRANSACTION_ABORTABLE: 120,
} as const;

/** A name of {@link KafkaErrorCode}. */
export type KafkaErrorName = keyof typeof KafkaErrorCode;

const K = KafkaErrorCode;

/**
 * The Kafka code of each acktor code a broker answers with. Codes only a client raises
 * (closed producer, full buffer, lost connection, retries exhausted, …) are absent: they never
 * cross the wire, and would be an unknown server error if they did.
 */
const BY_ACKTOR_CODE: Partial<Record<ErrorCode, number>> = {
  CONFIG_INVALID: K.INVALID_CONFIG,
  RECORD_INVALID: K.INVALID_RECORD,
  // Kafka answers a batch over max.message.bytes with MESSAGE_TOO_LARGE (RECORD_LIST_TOO_LARGE
  // means a batch over a log segment); clients split the batch on it and try again.
  RECORD_TOO_LARGE: K.MESSAGE_TOO_LARGE,
  BATCH_TOO_LARGE: K.MESSAGE_TOO_LARGE,
  TOPIC_INVALID: K.INVALID_TOPIC_EXCEPTION,
  TOPIC_UNKNOWN: K.UNKNOWN_TOPIC_OR_PARTITION,
  TOPIC_EXISTS: K.TOPIC_ALREADY_EXISTS,
  PARTITION_UNKNOWN: K.UNKNOWN_TOPIC_OR_PARTITION,
  REQUEST_TIMED_OUT: K.REQUEST_TIMED_OUT,
  NOT_LEADER: K.NOT_LEADER_OR_FOLLOWER,
  NOT_ENOUGH_REPLICAS: K.NOT_ENOUGH_REPLICAS,
  REQUEST_INVALID: K.INVALID_REQUEST,
  INVALID_PRODUCER_EPOCH: K.INVALID_PRODUCER_EPOCH,
  PRODUCER_FENCED: K.PRODUCER_FENCED,
  OUT_OF_ORDER_SEQUENCE: K.OUT_OF_ORDER_SEQUENCE_NUMBER,
  UNKNOWN_PRODUCER_ID: K.UNKNOWN_PRODUCER_ID,
  INVALID_TXN_STATE: K.INVALID_TXN_STATE,
  CONCURRENT_TRANSACTIONS: K.CONCURRENT_TRANSACTIONS,
  // Kafka has no code of its own: its coordinator aborts a timed-out transaction by bumping
  // the epoch, and the producer's next request with the old epoch is fenced.
  TRANSACTION_TIMED_OUT: K.PRODUCER_FENCED,
  INVALID_PRODUCER_ID_MAPPING: K.INVALID_PRODUCER_ID_MAPPING,
  UNKNOWN_MEMBER_ID: K.UNKNOWN_MEMBER_ID,
  ILLEGAL_GENERATION: K.ILLEGAL_GENERATION,
  // A commit of a partition taken away at a rebalance: Kafka's classic group refuses commits
  // from a stale assignment as a stale generation, and clients rejoin on it.
  PARTITION_NOT_OWNED: K.ILLEGAL_GENERATION,
  INCONSISTENT_GROUP_PROTOCOL: K.INCONSISTENT_GROUP_PROTOCOL,
  OFFSET_OUT_OF_RANGE: K.OFFSET_OUT_OF_RANGE,
  UNSTABLE_OFFSET_COMMIT: K.UNSTABLE_OFFSET_COMMIT,
  UNSUPPORTED: K.UNSUPPORTED_VERSION,
};

/** A configuration error's Kafka code: CreateTopics names partition counts and replication factors apart. */
function configCode(field: string | undefined): number {
  if (field === "topic.partitions") return K.INVALID_PARTITIONS;
  if (field === "topic.replicationFactor") return K.INVALID_REPLICATION_FACTOR;
  return K.INVALID_CONFIG;
}

function isWireError(error: unknown): error is WireError {
  return typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string";
}

/**
 * The Kafka error code a client is answered with for `error`: an {@link AcktorError} or a
 * {@link WireError} (mapped by `code`), or `UNKNOWN_SERVER_ERROR` for anything else.
 */
export function kafkaErrorFor(error: unknown): number {
  if (error instanceof CorruptRecordError) return K.CORRUPT_MESSAGE;
  if (error instanceof UnsupportedCompressionError) return K.UNSUPPORTED_COMPRESSION_TYPE;
  if (!(error instanceof AcktorError) && !isWireError(error)) return K.UNKNOWN_SERVER_ERROR;
  if (error.code === "CONFIG_INVALID") return configCode((error as { field?: string }).field);
  return BY_ACKTOR_CODE[error.code] ?? K.UNKNOWN_SERVER_ERROR;
}

/**
 * The first version of each API whose clients know `PRODUCER_FENCED` (KIP-588); older ones,
 * and every other API, are answered `INVALID_PRODUCER_EPOCH` instead, as Kafka's broker does.
 */
const FENCED_FROM: ReadonlyMap<number, number> = new Map([
  [22, 4], // InitProducerId
  [24, 2], // AddPartitionsToTxn
  [25, 2], // AddOffsetsToTxn
  [26, 2], // EndTxn
]);

/** {@link kafkaErrorFor}, for a response of API `apiKey` at `version`: the code its clients understand. */
export function kafkaErrorAt(error: unknown, apiKey: number, version: number): number {
  const code = kafkaErrorFor(error);
  if (code !== K.PRODUCER_FENCED) return code;
  return version >= (FENCED_FROM.get(apiKey) ?? Infinity) ? code : K.INVALID_PRODUCER_EPOCH;
}

const NAMES: ReadonlyMap<number, string> = new Map(Object.entries(KafkaErrorCode).map(([name, code]) => [code, name]));

/** Kafka's name of error code `code` (`"NOT_COORDINATOR"`), or `"UNKNOWN_ERROR_CODE_<n>"`. */
export function kafkaErrorName(code: number): string {
  return NAMES.get(code) ?? `UNKNOWN_ERROR_CODE_${code}`;
}
