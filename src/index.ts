/**
 * acktor: choose how your messages are delivered (at-most-once, at-least-once, exactly-once),
 * on the producing and the consuming side, and trust it under lost requests, lost acks,
 * dropped connections and crashed consumers.
 *
 * This is the public surface: everything exported here is named on purpose and follows
 * semver. What adapter authors and tests need besides (the wire protocol, the in-process
 * transport, the request correlator) lives in `acktor/internal`, which does not.
 *
 * @module
 */

// Errors: every failure a caller can match on with `instanceof`.
export {
  AcktorError,
  type BatchError,
  BatchTooLargeError,
  BufferTimeoutError,
  ConcurrentTransactionsError,
  ConfigError,
  ConsumerBusyError,
  ConsumerClosedError,
  DeliveryFailedError,
  DisconnectedError,
  EngineUnavailableError,
  type ErrorCode,
  type ExhaustedReason,
  IllegalGenerationError,
  InconsistentGroupProtocolError,
  InvalidProducerEpochError,
  InvalidProducerIdMappingError,
  InvalidRecordError,
  InvalidTopicError,
  InvalidTxnStateError,
  MetadataUnavailableError,
  NotEnoughReplicasError,
  NotLeaderError,
  OffsetOutOfRangeError,
  OutOfOrderSequenceError,
  PartitionNotOwnedError,
  PoisonRecordError,
  ProducerClosedError,
  ProducerFencedError,
  type RecordField,
  RecordTooLargeError,
  RequestTimedOutError,
  TopicExistsError,
  TransactionAbortedError,
  TransactionTimedOutError,
  TransportClosedError,
  UndeliveredRecordsError,
  UnknownMemberIdError,
  UnknownPartitionError,
  UnknownProducerIdError,
  UnknownTopicError,
  UnstableOffsetCommitError,
  UnsupportedError,
} from "./errors.ts";

// Delivery semantics and retry policies.
export {
  type AtLeastOnce,
  atLeastOnce,
  type AtMostOnce,
  atMostOnce,
  type DeliverySemantic,
  type ExactlyOnce,
  exactlyOnce,
  type ExactlyOnceOptions,
  type ProducerConfig,
  type ResolvedProducerConfig,
} from "./producer/config.ts";
export { DEFAULT_RETRY_POLICY, type RetryPolicy, retryPolicy, type RetryStrategy } from "./retry/policy.ts";
export { backoffDelay, backoffDelays } from "./retry/backoff.ts";

// Producing.
export { createProducer } from "./producer/create.ts";
export { Producer, type TransactionContext } from "./producer/producer.ts";
export type { TransactionReport } from "./producer/transactions.ts";
export { ProduceOutput } from "./producer/output.ts";
export type { BatchReport, ProducerStats, RecordMetadata, RecordOutcome } from "./producer/outcome.ts";
export type { RecordKey, RecordValue, SendOptions } from "./producer/record.ts";
export type { RecordHeadersInit } from "./transport/headers.ts";
export type { RecordHeaders } from "./transport/protocol.ts";
export {
  createPartitioner,
  type Partitioner,
  type PartitionerName,
  roundRobinPartitioner,
  stickyPartitioner,
} from "./producer/partitioner.ts";

// Consuming.
export { createConsumer } from "./consumer/create.ts";
export {
  type BatchHandler,
  Consumer,
  type HandlerContext,
  type OutputContext,
  type RecordHandler,
  type RunOptions,
} from "./consumer/consumer.ts";
export { GroupConsumer } from "./consumer/group-consumer.ts";
export type { CommitStrategy, ConsumerConfig, OffsetReset, ResolvedConsumerConfig } from "./consumer/config.ts";
export type { ConsumedBatch, ConsumedRecord, ReceivedRecord } from "./consumer/record.ts";
export type { CommitOutcome, ConsumerOutcome } from "./consumer/outcome.ts";

// The machines whose states and guards decide the semantics, for inspection and testing.
export {
  type ProducerEvent,
  type ProducerMachine,
  producerMachine,
  type ProducerStateValue,
} from "./producer/machines/producer-machine.ts";
export {
  type BatchContext,
  type BatchEvent,
  type BatchInput,
  type BatchMachine,
  batchMachine,
  type BatchStateValue,
} from "./producer/machines/batch-machine.ts";
export {
  type RequestContext,
  type RequestEvent,
  type RequestInput,
  type RequestMachine,
  requestMachine,
  type RequestOutput,
  type RequestStateValue,
} from "./producer/machines/request-machine.ts";
export {
  type TransactionEvent,
  type TransactionMachine,
  transactionMachine,
  type TransactionStateValue,
} from "./producer/machines/transaction-machine.ts";
export {
  type ConsumerEvent,
  type ConsumerMachine,
  consumerMachine,
  type ConsumerStateValue,
} from "./consumer/machines/consumer-machine.ts";
export {
  type ReplicaContext,
  type ReplicaEvent,
  type ReplicaMachine,
  replicaMachine,
  type ReplicaStateValue,
} from "./broker/replica-machine.ts";

// Inspection: an XState observer for every actor a producer or consumer starts (`inspect`).
export type { Inspector } from "./inspect.ts";
export type { InspectionEvent } from "xstate";

// Engines, transports, faults and time.
export { type BrokerOptions, type BrokerStats, EmbeddedBroker, type TopicConfig } from "./broker/broker.ts";
export type { PartitionState, PartitionStats } from "./broker/partition.ts";
export type { RequestOptions, Transport } from "./transport/transport.ts";
export type { Isolation } from "./transport/protocol.ts";
export {
  chaos,
  type ChaosApi,
  type ChaosDelay,
  type ChaosFault,
  type ChaosFaultKind,
  type ChaosOptions,
  type ChaosStats,
  type ChaosTransport,
  type ChaosUpdate,
} from "./transport/chaos.ts";
export { type Clock, systemClock } from "./runtime/clock.ts";
export { VirtualClock } from "./runtime/virtual-clock.ts";
