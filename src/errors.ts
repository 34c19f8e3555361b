/**
 * Every failure acktor reports is an {@link AcktorError}: a stable `code` to switch on, a
 * `retriable` flag that the retry machinery (and callers) can trust, and the fields that
 * name the problem. Errors are never flattened to strings: a broker's answer crosses the
 * transport as a {@link WireError} and is rebuilt into the same class here.
 *
 * @module
 */

/** Stable codes for every error acktor raises. */
export type ErrorCode =
  | "CONFIG_INVALID"
  | "RECORD_INVALID"
  | "RECORD_TOO_LARGE"
  | "BATCH_TOO_LARGE"
  | "TOPIC_INVALID"
  | "TOPIC_UNKNOWN"
  | "TOPIC_EXISTS"
  | "PARTITION_UNKNOWN"
  | "PRODUCER_CLOSED"
  | "BUFFER_TIMEOUT"
  | "REQUEST_TIMED_OUT"
  | "DISCONNECTED"
  | "NOT_LEADER"
  | "NOT_ENOUGH_REPLICAS"
  | "RETRIES_EXHAUSTED"
  | "TRANSPORT_CLOSED"
  | "UNDELIVERED"
  | "METADATA_UNAVAILABLE"
  | "REQUEST_INVALID"
  | "INVALID_PRODUCER_EPOCH"
  | "PRODUCER_FENCED"
  | "OUT_OF_ORDER_SEQUENCE"
  | "UNKNOWN_PRODUCER_ID"
  | "INVALID_TXN_STATE"
  | "CONCURRENT_TRANSACTIONS"
  | "TRANSACTION_TIMED_OUT"
  | "TRANSACTION_ABORTED"
  | "INVALID_PRODUCER_ID_MAPPING"
  | "UNKNOWN_MEMBER_ID"
  | "ILLEGAL_GENERATION"
  | "PARTITION_NOT_OWNED"
  | "INCONSISTENT_GROUP_PROTOCOL"
  | "OFFSET_OUT_OF_RANGE"
  | "UNSTABLE_OFFSET_COMMIT"
  | "CONSUMER_CLOSED"
  | "CONSUMER_BUSY"
  | "POISON_RECORD"
  | "UNSUPPORTED"
  | "ENGINE_UNAVAILABLE"
  | "INTERNAL";

/** Base class of every error acktor raises. */
export class AcktorError extends Error {
  override name = "AcktorError";
  /** A stable code, safe to switch on. */
  readonly code: ErrorCode;
  /**
   * Whether sending the same request again may succeed. Only transport failures and
   * transient broker states are retriable; everything about the request itself is not.
   */
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    // An application's own subclass is named after its class; acktor's own errors name
    // themselves with a literal, which a minifier renaming classes cannot change.
    if (new.target !== AcktorError) this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A configuration value is missing, of the wrong type or out of range. */
export class ConfigError extends AcktorError {
  override readonly name: string = "ConfigError";
  /** Dotted path of the offending field, e.g. `deliverySemantic.retry.maxDelay`. */
  readonly field: string;
  constructor(field: string, problem: string) {
    super("CONFIG_INVALID", `invalid config "${field}": ${problem}`);
    this.field = field;
  }
}

/** The part of a record that {@link InvalidRecordError} names. */
export type RecordField = "key" | "value" | "headers" | "timestamp" | "options";

/** A record's key, value, headers, timestamp or `send()` options are not of a supported type or form. */
export class InvalidRecordError extends AcktorError {
  override readonly name: string = "InvalidRecordError";
  /** `"key"`, `"value"`, `"headers"`, `"timestamp"` or `"options"` (an unknown `send()` option). */
  readonly field: RecordField;
  constructor(field: RecordField, problem: string) {
    super("RECORD_INVALID", `invalid record ${field}: ${problem}`);
    this.field = field;
  }
}

/** One record is larger than the producer's or broker's limit. */
export class RecordTooLargeError extends AcktorError {
  override readonly name: string = "RecordTooLargeError";
  readonly size: number;
  readonly maxSize: number;
  constructor(size: number, maxSize: number) {
    super("RECORD_TOO_LARGE", `record of ${size} bytes exceeds the limit of ${maxSize} bytes`);
    this.size = size;
    this.maxSize = maxSize;
  }
}

/** A produce request's batch is larger than the broker accepts. */
export class BatchTooLargeError extends AcktorError {
  override readonly name: string = "BatchTooLargeError";
  readonly size: number;
  readonly maxSize: number;
  constructor(size: number, maxSize: number) {
    super("BATCH_TOO_LARGE", `batch of ${size} bytes exceeds the broker limit of ${maxSize} bytes`);
    this.size = size;
    this.maxSize = maxSize;
  }
}

/** A topic name breaks the naming rules. */
export class InvalidTopicError extends AcktorError {
  override readonly name: string = "InvalidTopicError";
  readonly topic: string;
  constructor(topic: string, problem: string) {
    super("TOPIC_INVALID", `invalid topic name ${JSON.stringify(topic)}: ${problem}`);
    this.topic = topic;
  }
}

/** The topic does not exist on the broker. */
export class UnknownTopicError extends AcktorError {
  override readonly name: string = "UnknownTopicError";
  readonly topic: string;
  constructor(topic: string) {
    super("TOPIC_UNKNOWN", `unknown topic "${topic}"`);
    this.topic = topic;
  }
}

/** `createTopic` was asked for a topic that already exists. */
export class TopicExistsError extends AcktorError {
  override readonly name: string = "TopicExistsError";
  readonly topic: string;
  constructor(topic: string) {
    super("TOPIC_EXISTS", `topic "${topic}" already exists`);
    this.topic = topic;
  }
}

/** The partition does not exist in the topic. */
export class UnknownPartitionError extends AcktorError {
  override readonly name: string = "UnknownPartitionError";
  readonly topic: string;
  readonly partition: number;
  constructor(topic: string, partition: number) {
    super("PARTITION_UNKNOWN", `topic "${topic}" has no partition ${partition}`);
    this.topic = topic;
    this.partition = partition;
  }
}

/** `send()` was called on a producer that is closing or closed. */
export class ProducerClosedError extends AcktorError {
  override readonly name: string = "ProducerClosedError";
  constructor() {
    super("PRODUCER_CLOSED", "the producer is closed and accepts no more records");
  }
}

/** `send()` waited longer than `deliveryTimeout` for room in a full buffer. */
export class BufferTimeoutError extends AcktorError {
  override readonly name: string = "BufferTimeoutError";
  readonly waitedMs: number;
  constructor(waitedMs: number) {
    super("BUFFER_TIMEOUT", `the producer buffer stayed full for ${waitedMs} ms (deliveryTimeout)`);
    this.waitedMs = waitedMs;
  }
}

/** No response arrived in time. The request may or may not have been applied. */
export class RequestTimedOutError extends AcktorError {
  override readonly name: string = "RequestTimedOutError";
  readonly timeoutMs: number;
  constructor(timeoutMs: number, message = `no response within ${timeoutMs} ms`) {
    super("REQUEST_TIMED_OUT", message, { retriable: true });
    this.timeoutMs = timeoutMs;
  }
}

/** The connection dropped while the request was outstanding. It may or may not have been applied. */
export class DisconnectedError extends AcktorError {
  override readonly name: string = "DisconnectedError";
  constructor(message = "the connection to the broker was lost") {
    super("DISCONNECTED", message, { retriable: true });
  }
}

/** The replica that received the request is not (or no longer) the partition's leader. */
export class NotLeaderError extends AcktorError {
  override readonly name: string = "NotLeaderError";
  constructor(message: string) {
    super("NOT_LEADER", message, { retriable: true });
  }
}

/** Fewer in-sync replicas than `minInsyncReplicas`: a read-committed write cannot be acknowledged. */
export class NotEnoughReplicasError extends AcktorError {
  override readonly name: string = "NotEnoughReplicasError";
  constructor(message: string) {
    super("NOT_ENOUGH_REPLICAS", message, { retriable: true });
  }
}

/** The transport was closed by its owner; nothing more can be sent through it. */
export class TransportClosedError extends AcktorError {
  override readonly name: string = "TransportClosedError";
  constructor() {
    super("TRANSPORT_CLOSED", "the transport is closed");
  }
}

/** The producer could not learn a topic's partitions; records waiting on it were not accepted. */
export class MetadataUnavailableError extends AcktorError {
  override readonly name: string = "MetadataUnavailableError";
  readonly topic: string;
  readonly attempts: number;
  constructor(topic: string, attempts: number, cause: unknown) {
    const last = cause instanceof Error ? cause.message : String(cause);
    super("METADATA_UNAVAILABLE", `no metadata for topic "${topic}" after ${attempts} attempt(s): ${last}`, { cause });
    this.topic = topic;
    this.attempts = attempts;
  }
}

/** An idempotent producer's epoch is older than the broker's: a newer instance took over. */
export class InvalidProducerEpochError extends AcktorError {
  override readonly name: string = "InvalidProducerEpochError";
  constructor(message: string) {
    super("INVALID_PRODUCER_EPOCH", message);
  }
}

/**
 * Another producer initialised the same `transactionalId` with a newer epoch. This producer
 * is a zombie: it is fenced for good, and its open transaction is aborted.
 */
export class ProducerFencedError extends AcktorError {
  override readonly name: string = "ProducerFencedError";
  constructor(message: string) {
    super("PRODUCER_FENCED", message);
  }
}

/**
 * A batch's sequence does not follow the last one the broker appended. Retriable while an
 * earlier batch of the same partition is still unresolved (it will land first); otherwise a
 * real gap, which the producer resolves by bumping its epoch (idempotent) or aborting
 * (transactional).
 */
export class OutOfOrderSequenceError extends AcktorError {
  override readonly name: string = "OutOfOrderSequenceError";
  constructor(message: string) {
    super("OUT_OF_ORDER_SEQUENCE", message, { retriable: true });
  }
}

/** The broker has no state for this producer id in this partition. */
export class UnknownProducerIdError extends AcktorError {
  override readonly name: string = "UnknownProducerIdError";
  constructor(message: string) {
    super("UNKNOWN_PRODUCER_ID", message);
  }
}

/**
 * A transactional operation that the transaction's state does not allow: beginning while one
 * is open or committing, sending outside a transaction, writing to a partition not added to
 * the transaction, ending a transaction that is not open.
 */
export class InvalidTxnStateError extends AcktorError {
  override readonly name: string = "InvalidTxnStateError";
  constructor(message: string) {
    super("INVALID_TXN_STATE", message);
  }
}

/** The previous transaction of this id is still completing; retry shortly. */
export class ConcurrentTransactionsError extends AcktorError {
  override readonly name: string = "ConcurrentTransactionsError";
  constructor(message: string) {
    super("CONCURRENT_TRANSACTIONS", message, { retriable: true });
  }
}

/**
 * The group's offset for a partition is held by a transaction that has not ended (Kafka's
 * UNSTABLE_OFFSET_COMMIT, KIP-447): a member asking where to start must wait, or it would
 * reprocess what the transaction's commit is about to mark as consumed. Retriable.
 */
export class UnstableOffsetCommitError extends AcktorError {
  override readonly name: string = "UnstableOffsetCommitError";
  constructor(message: string) {
    super("UNSTABLE_OFFSET_COMMIT", message, { retriable: true });
  }
}

/** The transaction stayed open past its timeout and the coordinator aborted it. */
export class TransactionTimedOutError extends AcktorError {
  override readonly name: string = "TransactionTimedOutError";
  constructor(message: string) {
    super("TRANSACTION_TIMED_OUT", message);
  }
}

/** The transaction was aborted (by the caller, or because a write in it failed); nothing in it is visible to read-committed readers. */
export class TransactionAbortedError extends AcktorError {
  override readonly name: string = "TransactionAbortedError";
  constructor(message: string, cause?: unknown) {
    super("TRANSACTION_ABORTED", message, { cause });
  }
}

/** The producer id does not belong to the transactional id. */
export class InvalidProducerIdMappingError extends AcktorError {
  override readonly name: string = "InvalidProducerIdMappingError";
  constructor(message: string) {
    super("INVALID_PRODUCER_ID_MAPPING", message);
  }
}

/**
 * The consumer group has no member with this id: it never joined, it left, or its session
 * expired and its partitions went to others. It must join again without a member id.
 */
export class UnknownMemberIdError extends AcktorError {
  override readonly name: string = "UnknownMemberIdError";
  constructor(message: string) {
    super("UNKNOWN_MEMBER_ID", message);
  }
}

/**
 * The generation a consumer-group request carries is not the group's current one (KIP-447's
 * zombie fencing): the group rebalanced since the member last heard. A heartbeat brings the
 * member up to date; sending the same request again fails again.
 */
export class IllegalGenerationError extends AcktorError {
  override readonly name: string = "IllegalGenerationError";
  constructor(message: string) {
    super("ILLEGAL_GENERATION", message);
  }
}

/**
 * A consumer-group member asked to commit or read a partition it does not own: the partition
 * belongs to another member, or was taken from this one at its last heartbeat.
 */
export class PartitionNotOwnedError extends AcktorError {
  override readonly name: string = "PartitionNotOwnedError";
  readonly topic: string;
  readonly partition: number;
  constructor(topic: string, partition: number, message = `this member does not own ${topic}[${partition}]`) {
    super("PARTITION_NOT_OWNED", message);
    this.topic = topic;
    this.partition = partition;
  }
}

/** A member joined a consumer group with a different topic than the group's members read. */
export class InconsistentGroupProtocolError extends AcktorError {
  override readonly name: string = "InconsistentGroupProtocolError";
  constructor(message: string) {
    super("INCONSISTENT_GROUP_PROTOCOL", message);
  }
}

/** An offset lies outside the partition's log (beyond its end). */
export class OffsetOutOfRangeError extends AcktorError {
  override readonly name: string = "OffsetOutOfRangeError";
  readonly topic: string;
  readonly partition: number;
  constructor(topic: string, partition: number, message = `offset out of range for ${topic}[${partition}]`) {
    super("OFFSET_OUT_OF_RANGE", message);
    this.topic = topic;
    this.partition = partition;
  }
}

/** The consumer was closed: it reads, commits and runs handlers no more. */
export class ConsumerClosedError extends AcktorError {
  override readonly name: string = "ConsumerClosedError";
  constructor(message = "the consumer is closed") {
    super("CONSUMER_CLOSED", message);
  }
}

/**
 * The consumer is already being read one way (`run`, `records$` or `for await`); a consumer
 * hands each record to one reader, so a second reader must wait for the first to stop.
 */
export class ConsumerBusyError extends AcktorError {
  override readonly name: string = "ConsumerBusyError";
  constructor(message: string) {
    super("CONSUMER_BUSY", message);
  }
}

/**
 * A record made its handler fail `deliveries` times, reaching `maxDeliveries`, and there is
 * no dead-letter topic: its partition stops here (the record stays uncommitted) until
 * `resume()` is called for it. `cause` is the handler's last error.
 */
export class PoisonRecordError extends AcktorError {
  override readonly name: string = "PoisonRecordError";
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly deliveries: number;
  constructor(topic: string, partition: number, offset: number, deliveries: number, cause: unknown) {
    super(
      "POISON_RECORD",
      `${topic}[${partition}] offset ${offset} failed its handler ${deliveries} time(s); the partition is stopped (no deadLetterTopic)`,
      { cause },
    );
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
    this.deliveries = deliveries;
  }
}

/** The broker or engine behind the transport cannot do what was asked (for example, transactions on an engine without them). */
export class UnsupportedError extends AcktorError {
  override readonly name: string = "UnsupportedError";
  readonly feature: string;
  constructor(feature: string, message: string) {
    super("UNSUPPORTED", message);
    this.feature = feature;
  }
}

/**
 * An engine (NATS JetStream, …) could not be reached or refused the connection: a bad URL,
 * nothing listening, failed authentication, JetStream not enabled. `server` names what was
 * tried; `cause` is the client library's own error.
 */
export class EngineUnavailableError extends AcktorError {
  override readonly name: string = "EngineUnavailableError";
  readonly server: string;
  constructor(server: string, message: string, cause?: unknown) {
    super("ENGINE_UNAVAILABLE", `${server}: ${message}`, { cause });
    this.server = server;
  }
}

/**
 * Why a batch was not tried again: its policy's retries or time ran out, the error was not
 * retriable, or the semantic is at-most-once, which makes one attempt whatever happens.
 */
export type ExhaustedReason = "max-retries" | "timeout" | "not-retriable" | "at-most-once";

/**
 * A batch could not be delivered: its retry policy ran out, it met an error that is not
 * retriable, or its one at-most-once attempt failed. `cause` is the last error seen;
 * `attempts` counts every attempt made.
 */
export class DeliveryFailedError extends AcktorError {
  override readonly name: string = "DeliveryFailedError";
  readonly attempts: number;
  readonly reason: ExhaustedReason;
  constructor(attempts: number, reason: ExhaustedReason, cause: unknown) {
    const last = cause instanceof Error ? cause.message : String(cause);
    const why = reason === "max-retries"
      ? "retries exhausted"
      : reason === "timeout"
      ? "retry timeout reached"
      : reason === "at-most-once"
      ? "at-most-once makes a single attempt"
      : "error is not retriable";
    super("RETRIES_EXHAUSTED", `delivery failed after ${attempts} attempt(s), ${why}: ${last}`, { cause });
    this.attempts = attempts;
    this.reason = reason;
  }
}

/**
 * What a failed batch's records are rejected and reported with: a producer that can never
 * write again (fenced) fails with that error itself, so callers match on its type; any other
 * failure is a {@link DeliveryFailedError} whose `cause` is the last error.
 */
export type BatchError = DeliveryFailedError | ProducerFencedError;

/** The {@link BatchError} for a batch that failed with `error`. */
export function batchError(error: DeliveryFailedError): BatchError {
  return error.cause instanceof ProducerFencedError ? error.cause : error;
}

/**
 * A transport's `request()` threw instead of returning a promise: the attempt failed. An
 * {@link AcktorError} keeps its type (and retriable flag); anything else is a bug in the
 * transport, which sending again would only repeat, so it becomes a non-retriable `INTERNAL`
 * error naming it.
 */
export function transportThrew(thrown: unknown): AcktorError {
  if (thrown instanceof AcktorError) return thrown;
  const what = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
  return new AcktorError("INTERNAL", `the transport's request() threw ${what}`, { cause: thrown });
}

/**
 * `flush()` or `close()` found batches that failed since the previous barrier. Nothing is
 * dropped silently: `errors` holds each failed batch's {@link BatchError}, and every record's
 * own outcome and `wait()` say the same.
 */
export class UndeliveredRecordsError extends AcktorError {
  override readonly name: string = "UndeliveredRecordsError";
  /** One error per failed batch. */
  readonly errors: readonly BatchError[];
  /** Records in those batches. */
  readonly records: number;
  constructor(errors: readonly BatchError[], records: number) {
    super(
      "UNDELIVERED",
      `${records} record(s) in ${errors.length} batch(es) were not delivered; first cause: ${errors[0]?.message}`,
      {
        cause: errors[0],
      },
    );
    this.errors = errors;
    this.records = records;
  }
}

/** An error as it crosses a transport: plain data, rebuilt by {@link errorFromWire}. */
export interface WireError {
  code: ErrorCode;
  message: string;
  topic?: string;
  partition?: number;
  size?: number;
  maxSize?: number;
  timeoutMs?: number;
  field?: string;
  feature?: string;
}

/** Turns an error into its wire form, keeping the fields that {@link errorFromWire} needs. */
export function errorToWire(error: AcktorError): WireError {
  const wire: WireError = { code: error.code, message: error.message };
  const fields = error as unknown as Record<string, unknown>;
  for (const key of ["topic", "partition", "size", "maxSize", "timeoutMs", "field", "feature"] as const) {
    if (typeof fields[key] === "string" || typeof fields[key] === "number") {
      (wire as unknown as Record<string, unknown>)[key] = fields[key];
    }
  }
  return wire;
}

/** Rebuilds the typed error a broker reported. */
export function errorFromWire(wire: WireError): AcktorError {
  switch (wire.code) {
    case "CONFIG_INVALID":
      return wire.field === undefined
        ? new AcktorError(wire.code, wire.message)
        : new ConfigError(wire.field, wire.message.replace(/^invalid config "[^"]*": /, ""));
    case "RECORD_TOO_LARGE":
      return new RecordTooLargeError(wire.size ?? 0, wire.maxSize ?? 0);
    case "BATCH_TOO_LARGE":
      return new BatchTooLargeError(wire.size ?? 0, wire.maxSize ?? 0);
    case "TOPIC_UNKNOWN":
      return new UnknownTopicError(wire.topic ?? "");
    case "TOPIC_EXISTS":
      return new TopicExistsError(wire.topic ?? "");
    case "TOPIC_INVALID":
      return new InvalidTopicError(wire.topic ?? "", wire.message);
    case "PARTITION_UNKNOWN":
      return new UnknownPartitionError(wire.topic ?? "", wire.partition ?? -1);
    case "REQUEST_TIMED_OUT":
      return new RequestTimedOutError(wire.timeoutMs ?? 0, wire.message);
    case "DISCONNECTED":
      return new DisconnectedError(wire.message);
    case "NOT_LEADER":
      return new NotLeaderError(wire.message);
    case "NOT_ENOUGH_REPLICAS":
      return new NotEnoughReplicasError(wire.message);
    case "INVALID_PRODUCER_EPOCH":
      return new InvalidProducerEpochError(wire.message);
    case "PRODUCER_FENCED":
      return new ProducerFencedError(wire.message);
    case "OUT_OF_ORDER_SEQUENCE":
      return new OutOfOrderSequenceError(wire.message);
    case "UNKNOWN_PRODUCER_ID":
      return new UnknownProducerIdError(wire.message);
    case "INVALID_TXN_STATE":
      return new InvalidTxnStateError(wire.message);
    case "CONCURRENT_TRANSACTIONS":
      return new ConcurrentTransactionsError(wire.message);
    case "TRANSACTION_TIMED_OUT":
      return new TransactionTimedOutError(wire.message);
    case "INVALID_PRODUCER_ID_MAPPING":
      return new InvalidProducerIdMappingError(wire.message);
    case "UNKNOWN_MEMBER_ID":
      return new UnknownMemberIdError(wire.message);
    case "ILLEGAL_GENERATION":
      return new IllegalGenerationError(wire.message);
    case "PARTITION_NOT_OWNED":
      return new PartitionNotOwnedError(wire.topic ?? "", wire.partition ?? -1, wire.message);
    case "INCONSISTENT_GROUP_PROTOCOL":
      return new InconsistentGroupProtocolError(wire.message);
    case "OFFSET_OUT_OF_RANGE":
      return new OffsetOutOfRangeError(wire.topic ?? "", wire.partition ?? -1, wire.message);
    case "UNSTABLE_OFFSET_COMMIT":
      return new UnstableOffsetCommitError(wire.message);
    case "UNSUPPORTED":
      return new UnsupportedError(wire.feature ?? "", wire.message);
    default:
      return new AcktorError(wire.code, wire.message);
  }
}

/** Whether an error may go away if the same request is sent again. */
export function isRetriable(error: unknown): boolean {
  return error instanceof AcktorError && error.retriable;
}
