import {
  AcktorError,
  BatchTooLargeError,
  ConfigError,
  errorToWire,
  NotEnoughReplicasError,
  RecordTooLargeError,
  RequestTimedOutError,
  TopicExistsError,
  UnknownPartitionError,
  UnknownTopicError,
} from "../errors.ts";
import { type Clock, systemClock } from "../runtime/clock.ts";
import { headersSize } from "../transport/headers.ts";
import { inProcessTransport } from "../transport/in-process.ts";
import type {
  Ack,
  FetchedRecord,
  FetchRequest,
  FetchResponse,
  HeartbeatResponse,
  InitProducerIdResponse,
  Isolation,
  JoinGroupResponse,
  MetadataRequest,
  MetadataResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  ProduceRequest,
  ProduceResponse,
  Request,
  RequestHandler,
  ResponseFor,
} from "../transport/protocol.ts";
import type { Transport } from "../transport/transport.ts";
import type { ProducerConfig } from "../producer/config.ts";
import { Producer } from "../producer/producer.ts";
import type { ConsumerConfig } from "../consumer/config.ts";
import { GroupConsumer } from "../consumer/group-consumer.ts";
import { GroupCoordinator, type GroupSnapshot } from "./group-coordinator.ts";
import { GroupOffsets } from "./group-offsets.ts";
import { Partition, type PartitionState } from "./partition.ts";
import { wireColumn, wireInteger, wireString } from "./request-fields.ts";
import { validateTopicName } from "./topic-name.ts";
import { TransactionCoordinator, type TransactionSnapshot } from "./transaction-coordinator.ts";
import { checkOptions, describe, integerIn, isClock, isObject } from "../validate.ts";

/** Broker-wide settings. */
export interface BrokerOptions {
  /** Time source for replication lag and ack timeouts. Default: real time. */
  clock?: Clock;
  /** Largest record (key + value bytes) accepted. Default 1 MiB. */
  maxRecordBytes?: number;
  /** Largest batch (sum of its records) accepted in one produce request. Default 8 MiB. */
  maxBatchBytes?: number;
  /** A follower that has not caught up for this long leaves the ISR. Default 10 000 ms. */
  replicaLagTimeMaxMs?: number;
  /** The longest transaction timeout a producer may ask for. Default 900 000 ms (Kafka's). */
  transactionTimeoutMaxMs?: number;
  /**
   * An idempotent producer's dedup state (per partition) and its producer id are forgotten
   * after this long without a write from it. A transactional producer's state lasts as long
   * as its transactional id (see {@link transactionalIdExpirationMs}). Kafka's
   * `producer.id.expiration.ms`. Default 86 400 000 ms (1 day).
   */
  producerIdExpirationMs?: number;
  /**
   * A transactional id with no open transaction is forgotten after this long unused. Kafka's
   * `transactional.id.expiration.ms`. Default 604 800 000 ms (7 days).
   */
  transactionalIdExpirationMs?: number;
}

/** Sizes of the broker's internal structures, for inspection and memory bounds. */
export interface BrokerStats {
  /** Batches and markers held over all partitions. */
  readonly chunks: number;
  /** Key and value bytes held over all partitions. */
  readonly bytes: number;
  /** Producer entries in the partitions' dedup tables. */
  readonly producers: number;
  /** Batches remembered by the dedup tables. */
  readonly dedupBatches: number;
  /** Entries in the aborted-transaction indexes. */
  readonly aborted: number;
  readonly transactionalIds: number;
  readonly idempotentProducerIds: number;
}

/** A topic's shape. */
export interface TopicConfig {
  /** Default 1. */
  partitions?: number;
  /** Copies of each partition, leader included. Default 1. */
  replicationFactor?: number;
  /** How long followers take to copy each append. Default 0. */
  replicaLagMs?: number;
  /** Fewest in-sync replicas a read-committed write needs. Default 1. */
  minInsyncReplicas?: number;
  /**
   * Each partition deletes its oldest batches while it holds more key and value bytes than
   * this. Kafka's `retention.bytes`. Default -1: no limit.
   */
  retentionBytes?: number;
  /**
   * Each partition deletes batches appended longer ago than this. Kafka's `retention.ms`.
   * Default 604 800 000 ms (7 days); -1: no limit.
   */
  retentionMs?: number;
}

const MiB = 1024 * 1024;
const BROKER_OPTIONS = [
  "clock",
  "maxRecordBytes",
  "maxBatchBytes",
  "replicaLagTimeMaxMs",
  "transactionTimeoutMaxMs",
  "producerIdExpirationMs",
  "transactionalIdExpirationMs",
];
const TOPIC_OPTIONS = [
  "partitions",
  "replicationFactor",
  "replicaLagMs",
  "minInsyncReplicas",
  "retentionBytes",
  "retentionMs",
];
/** Kafka's `producer.id.expiration.ms`. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;
/** Kafka's `transactional.id.expiration.ms`. */
export const DEFAULT_TRANSACTIONAL_ID_EXPIRATION_MS = 604_800_000;
/** Kafka's `retention.ms`. */
export const DEFAULT_RETENTION_MS = 604_800_000;
/** Kafka's `producer.id.expiration.check.interval.ms`: how often, at most, expiry sweeps run. */
const EXPIRATION_CHECK_INTERVAL_MS = 600_000;

/**
 * A complete broker in the calling process: topics of partitions with replicas, an ISR and a
 * high watermark, produce and fetch, idempotent and transactional writes with their
 * coordinator, and consumer groups (membership, partition ownership, offsets). It answers
 * the same {@link Request}s over the same {@link Transport} interface as a remote engine, so
 * code tested here runs unchanged there.
 */
export class EmbeddedBroker implements RequestHandler {
  /** The broker's time source; producers created by {@link producer} share it. */
  readonly clock: Clock;
  readonly #maxRecordBytes: number;
  readonly #maxBatchBytes: number;
  readonly #replicaLagTimeMaxMs: number;
  readonly #topics = new Map<string, Partition[]>();
  readonly #groupOffsets: GroupOffsets;
  readonly #groups: GroupCoordinator;
  readonly #coordinator: TransactionCoordinator;
  readonly #producerIdExpirationMs: number;
  readonly #transactionalIdExpirationMs: number;
  readonly #expiryCheckMs: number;
  /** When the next expiry sweep is due; sweeps run lazily, on requests, so no timer is held. */
  #nextExpiry: number;

  constructor(options: BrokerOptions = {}) {
    checkOptions(options, BROKER_OPTIONS, "broker");
    if (options.clock !== undefined && !isClock(options.clock)) {
      throw new ConfigError(
        "broker.clock",
        `expected a Clock (now, setTimeout, clearTimeout), got ${describe(options.clock)}`,
      );
    }
    this.clock = options.clock ?? systemClock;
    this.#maxRecordBytes = integerIn("broker.maxRecordBytes", options.maxRecordBytes ?? MiB, 1);
    this.#maxBatchBytes = integerIn("broker.maxBatchBytes", options.maxBatchBytes ?? 8 * MiB, 1);
    this.#replicaLagTimeMaxMs = integerIn("broker.replicaLagTimeMaxMs", options.replicaLagTimeMaxMs ?? 10_000, 1);
    this.#producerIdExpirationMs = integerIn(
      "broker.producerIdExpirationMs",
      options.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS,
      1,
    );
    this.#transactionalIdExpirationMs = integerIn(
      "broker.transactionalIdExpirationMs",
      options.transactionalIdExpirationMs ?? DEFAULT_TRANSACTIONAL_ID_EXPIRATION_MS,
      1,
    );
    this.#expiryCheckMs = Math.min(
      EXPIRATION_CHECK_INTERVAL_MS,
      this.#producerIdExpirationMs,
      this.#transactionalIdExpirationMs,
    );
    this.#nextExpiry = this.clock.now() + this.#expiryCheckMs;
    this.#groupOffsets = new GroupOffsets((groupId, generation) => this.#groups.checkGeneration(groupId, generation));
    this.#groups = new GroupCoordinator({
      clock: this.clock,
      partitionCount: (topic) => this.#partitionsOf(topic).length,
      partition: (topic, partition) => this.partition(topic, partition),
      offsets: this.#groupOffsets,
    });
    this.#coordinator = new TransactionCoordinator({
      clock: this.clock,
      transactionTimeoutMaxMs: integerIn(
        "broker.transactionTimeoutMaxMs",
        options.transactionTimeoutMaxMs ?? 900_000,
        1,
      ),
      partition: (topic, partition) => this.partition(topic, partition),
      groupOffsets: this.#groupOffsets,
    });
  }

  /** The largest record this broker accepts, in bytes. */
  get maxRecordBytes(): number {
    return this.#maxRecordBytes;
  }

  /** Creates a topic. Throws {@link TopicExistsError}, `InvalidTopicError` or {@link ConfigError}. */
  createTopic(name: string, config: TopicConfig = {}): void {
    validateTopicName(name);
    if (this.#topics.has(name)) throw new TopicExistsError(name);
    checkOptions(config, TOPIC_OPTIONS, "topic");
    const partitions = integerIn("topic.partitions", config.partitions ?? 1, 1, 10_000);
    const replicationFactor = integerIn("topic.replicationFactor", config.replicationFactor ?? 1, 1, 16);
    const replicaLagMs = integerIn("topic.replicaLagMs", config.replicaLagMs ?? 0, 0);
    const minInsyncReplicas = integerIn("topic.minInsyncReplicas", config.minInsyncReplicas ?? 1, 1, replicationFactor);
    const retentionBytes = integerIn("topic.retentionBytes", config.retentionBytes ?? -1, -1);
    const retentionMs = integerIn("topic.retentionMs", config.retentionMs ?? DEFAULT_RETENTION_MS, -1);
    const options = {
      clock: this.clock,
      retentionBytes,
      retentionMs,
      replicationFactor,
      replicaLagMs,
      minInsyncReplicas,
      replicaLagTimeMaxMs: this.#replicaLagTimeMaxMs,
    };
    this.#topics.set(
      name,
      Array.from({ length: partitions }, (_, i) => new Partition(options, `${name}[${i}]`)),
    );
  }

  /** Names of all topics. */
  topics(): string[] {
    return [...this.#topics.keys()];
  }

  /** A partition, for inspection and fault injection (stopping or slowing replicas). */
  partition(topic: string, partition: number): Partition {
    const partitions = this.#topics.get(topic);
    if (!partitions) throw new UnknownTopicError(topic);
    const found = partitions[partition];
    if (!found) throw new UnknownPartitionError(topic, partition);
    return found;
  }

  /** Replication state of one partition. */
  partitionState(topic: string, partition: number): PartitionState {
    return this.partition(topic, partition).state;
  }

  /**
   * Runs retention on every partition and expires idle producer state and transactional ids
   * now. Both also happen on their own: retention on every append and fetch of a partition,
   * expiry on requests at most every 10 minutes (Kafka's
   * `producer.id.expiration.check.interval.ms`), so an idle broker holds no timer.
   */
  cleanup(): void {
    for (const partitions of this.#topics.values()) for (const p of partitions) p.enforceRetention();
    this.#expire();
  }

  /** Sizes of the broker's internal structures, summed over partitions. */
  stats(): BrokerStats {
    let chunks = 0, bytes = 0, producers = 0, dedupBatches = 0, aborted = 0;
    for (const partitions of this.#topics.values()) {
      for (const p of partitions) {
        const s = p.stats;
        chunks += s.chunks;
        bytes += s.bytes;
        producers += s.producers;
        dedupBatches += s.dedupBatches;
        aborted += s.aborted;
      }
    }
    return { chunks, bytes, producers, dedupBatches, aborted, ...this.#coordinator.stats };
  }

  #expire(): void {
    this.#nextExpiry = this.clock.now() + this.#expiryCheckMs;
    this.#coordinator.expire(this.#transactionalIdExpirationMs, this.#producerIdExpirationMs);
    // A transactional producer's partition state lives as long as its transactional id: a
    // transaction cannot recover from lost sequences, and the id's expiry bounds it anyway.
    const keep = (producerId: number) => this.#coordinator.holdsTransactional(producerId);
    for (const partitions of this.#topics.values()) {
      for (const p of partitions) p.expireProducers(this.#producerIdExpirationMs, keep);
    }
  }

  /** What the transaction coordinator knows of a transactional id, for inspection. */
  transaction(transactionalId: string): TransactionSnapshot | undefined {
    return this.#coordinator.transaction(transactionalId);
  }

  /** A consumer group's generation, members and their partitions, for inspection; undefined if never joined. */
  group(groupId: string): GroupSnapshot | undefined {
    return this.#groups.group(groupId);
  }

  /** A consumer group's committed offset for one partition, or null. */
  committedOffset(groupId: string, topic: string, partition: number): number | null {
    return this.#groupOffsets.fetch(groupId, topic, partition);
  }

  /**
   * Reads one partition directly, without a transport: records from `offset`, up to the last
   * stable offset without aborted transactions for read-committed (the default), or to the
   * log end for read-uncommitted. Control markers are never returned. Throws
   * `OffsetOutOfRangeError` for an offset that retention deleted (below the log start).
   */
  read(
    topic: string,
    partition: number,
    options: { offset?: number; maxRecords?: number; isolation?: Isolation } = {},
  ): FetchedRecord[] {
    return this.partition(topic, partition).read(
      options.offset ?? 0,
      options.maxRecords ?? Infinity,
      options.isolation ?? "read-committed",
    );
  }

  /** A transport to this broker, for producers and consumers in this process. */
  transport(): Transport {
    return inProcessTransport(this, { clock: this.clock });
  }

  /**
   * A producer for `topic` on this broker, on its own transport (closed with the producer)
   * and this broker's clock unless the config names another. Throws `UnknownTopicError` at
   * once for a topic that does not exist.
   */
  producer(topic: string, config: ProducerConfig = {}): Producer {
    this.#existingTopic(topic);
    return new Producer(this.transport(), topic, { clock: this.clock, ...config }, { ownsTransport: true });
  }

  /**
   * A consumer-group member for `topic` on this broker, on its own transport (closed with the
   * consumer) and this broker's clock unless the config names another. Throws
   * `UnknownTopicError` at once for a topic that does not exist.
   */
  consumer(topic: string, config: ConsumerConfig): GroupConsumer {
    this.#existingTopic(topic);
    // A non-object config goes through as it is, for the consumer to name the problem.
    const withClock = isObject(config as unknown) ? { clock: this.clock, ...config } : config;
    return new GroupConsumer(this.transport(), topic, withClock, { ownsTransport: true });
  }

  /** Answers one request. Never rejects: broker errors are `ok: false` answers. */
  handle<R extends Request>(request: R): Promise<ResponseFor<R>> {
    try {
      if (this.clock.now() >= this.#nextExpiry) this.#expire();
      switch (request.api) {
        case "produce":
          return Promise.resolve(this.#produce(request)) as Promise<ResponseFor<R>>;
        case "fetch":
          return Promise.resolve(this.#fetch(request) as ResponseFor<R>);
        case "metadata":
          return Promise.resolve(this.#metadata(request) as ResponseFor<R>);
        case "initProducerId":
          return Promise.resolve(
            { ok: true, ...this.#coordinator.initProducerId(request) } satisfies InitProducerIdResponse as ResponseFor<
              R
            >,
          );
        case "addPartitionsToTxn":
          this.#coordinator.addPartitionsToTxn(request);
          return Promise.resolve({ ok: true } satisfies Ack as ResponseFor<R>);
        case "txnOffsetCommit":
          this.#coordinator.txnOffsetCommit(request);
          return Promise.resolve({ ok: true } satisfies Ack as ResponseFor<R>);
        case "endTxn":
          this.#coordinator.endTxn(request);
          return Promise.resolve({ ok: true } satisfies Ack as ResponseFor<R>);
        case "offsetFetch":
          return Promise.resolve(this.#offsetFetch(request) as ResponseFor<R>);
        case "joinGroup":
          return Promise.resolve(
            { ok: true, ...this.#groups.joinGroup(request) } satisfies JoinGroupResponse as ResponseFor<R>,
          );
        case "heartbeat":
          return Promise.resolve(
            { ok: true, ...this.#groups.heartbeat(request) } satisfies HeartbeatResponse as ResponseFor<R>,
          );
        case "leaveGroup":
          this.#groups.leaveGroup(request);
          return Promise.resolve({ ok: true } satisfies Ack as ResponseFor<R>);
        case "offsetCommit":
          this.#groups.offsetCommit(request);
          return Promise.resolve({ ok: true } satisfies Ack as ResponseFor<R>);
        default:
          throw new AcktorError(
            "REQUEST_INVALID",
            `unknown request api ${JSON.stringify((request as { api: unknown }).api)}`,
          );
      }
    } catch (error) {
      return Promise.resolve(failure(error) as ResponseFor<R>);
    }
  }

  #produce(request: ProduceRequest): Promise<ProduceResponse> | ProduceResponse {
    const partition = this.partition(request.topic, request.partition);
    const { keys, values } = request;
    const headers = wireColumn("headers", request.headers, values.length);
    wireColumn("timestamps", request.timestamps, values.length);
    let batchBytes = 0;
    for (let i = 0; i < values.length; i++) {
      const h = headers?.[i];
      const size = values[i]!.length + (keys[i]?.length ?? 0) + (h ? headersSize(h) : 0);
      if (size > this.#maxRecordBytes) throw new RecordTooLargeError(size, this.#maxRecordBytes);
      batchBytes += size;
    }
    if (batchBytes > this.#maxBatchBytes) throw new BatchTooLargeError(batchBytes, this.#maxBatchBytes);
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
    return this.#ackWhenReplicated(request, partition, baseOffset, baseOffset + values.length, false);
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
    const producerId = wireInteger("producerId", request.producerId);
    const epoch = wireInteger("epoch", request.epoch);
    const baseSequence = wireInteger("baseSequence", request.baseSequence);
    const count = request.values.length;
    // An empty batch has no sequence to check, and would make the next one look out of order.
    if (count === 0) {
      throw new AcktorError("REQUEST_INVALID", "an idempotent or transactional batch must hold at least one record");
    }
    const transactional = request.transactionalId !== undefined;
    if (transactional) {
      const transactionalId = wireString("transactionalId", request.transactionalId);
      this.#coordinator.checkWrite(transactionalId, producerId, epoch, partition, request);
    }
    const verdict = partition.checkSequence(producerId, epoch, baseSequence, count, transactional);
    if (verdict.kind === "error") throw verdict.error;
    if (!transactional) this.#coordinator.touchIdempotent(producerId);
    if (verdict.kind === "duplicate") {
      if (!committed) return { ok: true, baseOffset: verdict.baseOffset, duplicate: true };
      return this.#ackWhenReplicated(request, partition, verdict.baseOffset, verdict.endOffset, true);
    }
    const baseOffset = partition.appendSequenced(
      request,
      producerId,
      epoch,
      baseSequence,
      transactional,
    );
    if (!committed) return { ok: true, baseOffset };
    return this.#ackWhenReplicated(request, partition, baseOffset, baseOffset + count, false);
  }

  /** Holds a read-committed ack until the HW reaches `end`, the end of the batch (or of its original). */
  #ackWhenReplicated(
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

  #fetch(request: FetchRequest): FetchResponse {
    const partition = this.partition(request.topic, request.partition);
    // Any group field makes it a member's fetch, so a half-filled one is refused, not served as plain.
    if (request.groupId !== undefined || request.memberId !== undefined || request.generation !== undefined) {
      this.#groups.checkFetch(request, request.topic, request.partition);
    }
    const { records, nextOffset } = partition.fetch(request.offset, request.maxRecords, request.isolation);
    return {
      ok: true,
      records,
      nextOffset,
      highWatermark: partition.highWatermark,
      logEndOffset: partition.log.endOffset,
      lastStableOffset: partition.lastStableOffset,
    };
  }

  #offsetFetch(request: OffsetFetchRequest): OffsetFetchResponse {
    const groupId = wireString("groupId", request.groupId);
    this.partition(request.topic, request.partition);
    return { ok: true, offset: this.#groupOffsets.fetch(groupId, request.topic, request.partition) };
  }

  #metadata(request: MetadataRequest): MetadataResponse {
    return { ok: true, topic: request.topic, partitions: this.#partitionsOf(request.topic).length };
  }

  /** Throws `InvalidTopicError` or `UnknownTopicError` unless `topic` names a topic of this broker. */
  #existingTopic(topic: string): void {
    validateTopicName(topic);
    this.#partitionsOf(topic);
  }

  #partitionsOf(topic: string): Partition[] {
    const partitions = this.#topics.get(topic);
    if (!partitions) throw new UnknownTopicError(topic);
    return partitions;
  }
}

function failure(error: unknown): { ok: false; error: ReturnType<typeof errorToWire> } {
  const typed = error instanceof AcktorError
    ? error
    : new AcktorError("INTERNAL", `broker failure: ${String(error)}`, { cause: error });
  return { ok: false, error: errorToWire(typed) };
}
