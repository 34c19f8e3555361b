/**
 * The embedded broker's public face: topic admin, inspection, producers and consumers on
 * in-process transports, and the request handler they talk to. It wires together the parts
 * that do the work: the request dispatch and produce path, the transaction and group
 * coordinators, and housekeeping (retention, expiry, stats).
 *
 * @module
 */
import type { Clock } from "../runtime/clock.ts";
import { inProcessTransport } from "../transport/in-process.ts";
import type { FetchedRecord, Isolation, Request, RequestHandler, ResponseFor } from "../transport/protocol.ts";
import type { Transport } from "../transport/transport.ts";
import type { ProducerConfig } from "../producer/config.ts";
import { Producer } from "../producer/producer.ts";
import type { ConsumerConfig } from "../consumer/config.ts";
import { GroupConsumer } from "../consumer/group-consumer.ts";
import { isObject } from "../validate.ts";
import { type BrokerOptions, brokerSettings, type TopicConfig, topicSettings } from "./broker-config.ts";
import { RequestDispatch } from "./dispatch.ts";
import { GroupCoordinator, type GroupSnapshot } from "./group-coordinator.ts";
import { GroupOffsets } from "./group-offsets.ts";
import { type BrokerStats, Housekeeping } from "./housekeeping.ts";
import type { Partition, PartitionState } from "./partition.ts";
import { ProduceHandler } from "./produce.ts";
import { TopicRegistry } from "./topic-registry.ts";
import { TransactionCoordinator, type TransactionSnapshot } from "./transaction-coordinator.ts";
import type { BrokerSeam } from "../kafka/broker-seam.ts";
import type { KafkaListenOptions, KafkaServer } from "../kafka/server/options.ts";

export type { BrokerOptions, BrokerStats, TopicConfig };

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
  readonly #replicaLagTimeMaxMs: number;
  readonly #topics = new TopicRegistry();
  readonly #groupOffsets: GroupOffsets;
  readonly #groups: GroupCoordinator;
  readonly #coordinator: TransactionCoordinator;
  readonly #housekeeping: Housekeeping;
  readonly #dispatch: RequestDispatch;

  constructor(options: BrokerOptions = {}) {
    const settings = brokerSettings(options);
    const { clock } = settings;
    this.clock = clock;
    this.#maxRecordBytes = settings.maxRecordBytes;
    this.#replicaLagTimeMaxMs = settings.replicaLagTimeMaxMs;
    const partition = (topic: string, i: number) => this.#topics.partition(topic, i);
    this.#groupOffsets = new GroupOffsets((groupId, generation) => this.#groups.checkGeneration(groupId, generation));
    this.#groups = new GroupCoordinator({
      clock,
      partitionCount: (topic) => this.#topics.partitionsOf(topic).length,
      partition,
      offsets: this.#groupOffsets,
    });
    this.#coordinator = new TransactionCoordinator({
      clock,
      transactionTimeoutMaxMs: settings.transactionTimeoutMaxMs,
      partition,
      groupOffsets: this.#groupOffsets,
    });
    this.#housekeeping = new Housekeeping({
      clock,
      topics: this.#topics,
      coordinator: this.#coordinator,
      producerIdExpirationMs: settings.producerIdExpirationMs,
      transactionalIdExpirationMs: settings.transactionalIdExpirationMs,
    });
    this.#dispatch = new RequestDispatch({
      topics: this.#topics,
      produce: new ProduceHandler({
        maxRecordBytes: settings.maxRecordBytes,
        maxBatchBytes: settings.maxBatchBytes,
        partition,
        coordinator: this.#coordinator,
      }),
      coordinator: this.#coordinator,
      groups: this.#groups,
      groupOffsets: this.#groupOffsets,
      housekeeping: this.#housekeeping,
    });
  }

  /** The largest record this broker accepts, in bytes. */
  get maxRecordBytes(): number {
    return this.#maxRecordBytes;
  }

  /** Creates a topic. Throws `TopicExistsError`, `InvalidTopicError` or `ConfigError`. */
  createTopic(name: string, config: TopicConfig = {}): void {
    this.#topics.checkNew(name);
    const { partitions, options } = topicSettings(config, {
      clock: this.clock,
      replicaLagTimeMaxMs: this.#replicaLagTimeMaxMs,
    });
    this.#topics.create(name, partitions, options);
  }

  /** Names of all topics. */
  topics(): string[] {
    return this.#topics.names();
  }

  /** A partition, for inspection and fault injection (stopping or slowing replicas). */
  partition(topic: string, partition: number): Partition {
    return this.#topics.partition(topic, partition);
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
    this.#housekeeping.cleanup();
  }

  /** Sizes of the broker's internal structures, summed over partitions. */
  stats(): BrokerStats {
    return this.#housekeeping.stats();
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
    this.#topics.checkExisting(topic);
    return new Producer(this.transport(), topic, { clock: this.clock, ...config }, { ownsTransport: true });
  }

  /**
   * A consumer-group member for `topic` on this broker, on its own transport (closed with the
   * consumer) and this broker's clock unless the config names another. Throws
   * `UnknownTopicError` at once for a topic that does not exist.
   */
  consumer(topic: string, config: ConsumerConfig): GroupConsumer {
    this.#topics.checkExisting(topic);
    // A non-object config goes through as it is, for the consumer to name the problem.
    const withClock = isObject(config as unknown) ? { clock: this.clock, ...config } : config;
    return new GroupConsumer(this.transport(), topic, withClock, { ownsTransport: true });
  }

  /**
   * Serves this broker over Kafka's wire protocol, so unmodified Kafka clients (kafkajs,
   * librdkafka, Java) produce to it and consume from it: `const server = await
   * broker.listen({ port: 9092 })`, then bootstrap servers `server.url`. Needs `node:net`
   * (Node, Deno, Bun); elsewhere it rejects with `UnsupportedError`. Close the server with
   * `close()` or `await using`.
   */
  async listen(options: KafkaListenOptions = {}): Promise<KafkaServer> {
    // Loaded on demand: a browser bundle of the broker carries no server code it cannot run.
    const { listenKafka } = await import("../kafka/server/listen.ts");
    return listenKafka(this.#seam(), options);
  }

  #seam(): BrokerSeam {
    return {
      clock: this.clock,
      handle: (request) => this.handle(request),
      topicNames: () => this.#topics.names(),
      partitionCount: (topic) => this.#topics.countOf(topic),
      partition: (topic, partition) => this.#topics.partition(topic, partition),
      createTopic: (name, config) => this.createTopic(name, config),
      commitOffset: (groupId, topic, partition, offset) => {
        this.#topics.partition(topic, partition);
        this.#groupOffsets.commit(groupId, topic, partition, offset);
      },
      committedOffsets: (groupId) => this.#groupOffsets.list(groupId),
    };
  }

  /** Answers one request. Never rejects: broker errors are `ok: false` answers. */
  handle<R extends Request>(request: R): Promise<ResponseFor<R>> {
    return this.#dispatch.handle(request);
  }
}
