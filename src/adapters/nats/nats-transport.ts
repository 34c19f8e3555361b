/**
 * acktor's transport on NATS JetStream: the same producer runs unchanged on a clustered
 * engine. A topic with N partitions is one stream with subjects `<topic>.0 … <topic>.N-1`;
 * an offset is the stream sequence (message framing) or (sequence, index in frame) packed
 * into one number (batch framing).
 *
 * What each semantic means here:
 * - at-most-once: a plain NATS publish, no PubAck awaited (`wait()` then gives offset -1).
 * - at-least-once: one JetStream publish per record (or per frame), its PubAck awaited;
 *   a retry after a lost PubAck writes the record again.
 * - exactly-once (idempotent): every record (or frame) carries a stable message id made of
 *   producer id, epoch, partition and sequence, so a retry inside the stream's
 *   `duplicate_window` is dropped by the server and answered as a duplicate with the
 *   original sequence. Past the window the server has forgotten the id and a retry is
 *   stored again: size the window beyond the producer's retry timeout.
 * - transactions: JetStream has none across subjects; refused with `UnsupportedError`.
 *
 * @module
 */
import {
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  StorageType,
} from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/nats-core";
import {
  type AcktorError,
  ConfigError,
  DisconnectedError,
  errorToWire,
  RequestTimedOutError,
  TransportClosedError,
  UnknownPartitionError,
  UnknownTopicError,
  UnsupportedError,
} from "../../errors.ts";
import { validateTopicName } from "../../broker/topic-name.ts";
import type {
  FetchRequest,
  FetchResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
  MetadataResponse,
  ProduceRequest,
  ProduceResponse,
  Request,
  ResponseFor,
} from "../../transport/protocol.ts";
// deno-lint-ignore no-unused-vars -- `Transport` is used, by the {@link Transport} in NatsTransport's TSDoc
import type { RequestOptions, Transport } from "../../transport/transport.ts";
import type { Consumer } from "../../consumer/consumer.ts";
import type { ConsumerConfig } from "../../consumer/config.ts";
import type { ConsumerHost } from "../../consumer/host.ts";
import { keyedPartition } from "../../producer/partitioner.ts";
import type { RecordMetadata } from "../../producer/outcome.ts";
import { integerIn, isObject, rejectUnknownKeys } from "../../validate.ts";
import { frameOffset } from "./frame.ts";
import { JetStreamConsumer } from "./jetstream-consumer.ts";
import type { JetStreamAccess, OutgoingRecord } from "./jetstream-access.ts";
import { frameMessage, type Framing, recordMessage } from "./message.ts";
import { isNoResponders, nameOf, typedNatsError, unansweredPublish } from "./nats-errors.ts";
import { Publisher } from "./publisher.ts";
import { streamName, type TopicShape } from "./topic-shape.ts";
import { fetchFromStream } from "./stream-fetch.ts";
import { PartitionTurns } from "./partition-turns.ts";

/** A topic on JetStream. */
export interface NatsTopicConfig {
  partitions: number;
  /** Stream replicas (JetStream clustering). Default 1. */
  replicas?: number;
  /** Default `file`. */
  storage?: "file" | "memory";
  /** Default `message`. Batch framing gives up reading by plain NATS clients for one PubAck per batch. */
  framing?: Framing;
  /** How long the server remembers message ids for exactly-once. Default 120 000 ms (JetStream's own default). */
  duplicateWindowMs?: number;
}

const DESCRIPTION_PREFIX = "acktor:";
const MAX_PRODUCER_ID = 2 ** 48;
/**
 * How long the question "does this stream exist?" may take after a "no responders". Short:
 * it runs while a produce request waits, and an API that does not answer in time is itself
 * recovering (retriable).
 */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * A {@link Transport} to NATS JetStream, plus topic administration. Build it with
 * `connectNats`. It is a {@link ConsumerHost}: `createConsumer` gives a consumer on a durable
 * JetStream consumer (acks and redelivery), not on the group protocol.
 */
export class NatsTransport implements ConsumerHost {
  /** The server(s) this transport connected to, for error messages. */
  readonly server: string;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #shapes = new Map<string, Promise<TopicShape>>();
  readonly #publisher: Publisher;
  /** Exactly-once publishes, in sequence order per partition. */
  readonly #turns = new PartitionTurns();
  /**
   * Produce requests in flight, failed at once when the connection drops. Why: the client
   * silently drops what is published while it reconnects, so a request must not keep
   * publishing across a drop (a later record could land before an earlier lost one), and
   * its caller must learn of the drop before it sends anything newer.
   */
  readonly #inFlight = new Set<(error: Error) => void>();
  /** What the consumers this transport makes may use of it. */
  readonly #access: JetStreamAccess;
  #connected = true;
  #closed = false;
  /** Per topic, the question in flight after a "no responders" (see {@link #publishFailed}). */
  readonly #probes = new Map<string, Promise<AcktorError>>();
  /** A manager with a short timeout, for those questions. */
  #probeManager: Promise<JetStreamManager> | null = null;

  /** @internal use `connectNats`. */
  constructor(nc: NatsConnection, jsm: JetStreamManager, server: string, publishWindow: number) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = jetstream(nc);
    this.server = server;
    this.#publisher = new Publisher(nc, this.#js, server, publishWindow);
    this.#access = {
      server,
      nc: () => this.#nc,
      js: () => this.#js,
      jsm: () => this.#jsm,
      shape: (topic) => this.#shape(topic),
      typed: (error) => this.#typed(error),
      publishWithId: (...args) => this.#publishWithId(...args),
    };
    void this.#watch();
  }

  async #watch(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type === "disconnect") {
        this.#publisher.dropped();
        this.#connected = false;
        const dropped = new DisconnectedError(`${this.server}: the connection dropped`);
        for (const fail of this.#inFlight) fail(dropped);
        this.#inFlight.clear();
      } else if (status.type === "reconnect") {
        this.#connected = true;
      }
    }
  }

  /** Creates the topic's stream, or updates it (partitions may grow, never shrink). */
  async createTopic(topic: string, config: NatsTopicConfig): Promise<void> {
    validateTopicName(topic);
    if (!isObject(config as unknown)) {
      throw new ConfigError("topic", `createTopic("${topic}") needs a config with partitions`);
    }
    rejectUnknownKeys(config, ["partitions", "replicas", "storage", "framing", "duplicateWindowMs"], "topic");
    const partitions = integerIn("partitions", config.partitions, 1, 65_536);
    const replicas = integerIn("replicas", config.replicas ?? 1, 1, 5);
    const framing = config.framing ?? "message";
    if (framing !== "message" && framing !== "batch") {
      throw new ConfigError("framing", `must be "message" or "batch", got ${String(framing)}`);
    }
    const storage = config.storage ?? "file";
    if (storage !== "file" && storage !== "memory") {
      throw new ConfigError("storage", `must be "file" or "memory", got ${String(storage)}`);
    }
    const windowMs = integerIn("duplicateWindowMs", config.duplicateWindowMs ?? 120_000, 100);
    const shape: TopicShape = { partitions, framing };
    const stream = {
      name: streamName(topic),
      subjects: Array.from({ length: partitions }, (_, p) => `${topic}.${p}`),
      description: DESCRIPTION_PREFIX + JSON.stringify(shape),
      storage: storage === "memory" ? StorageType.Memory : StorageType.File,
      num_replicas: replicas,
      duplicate_window: nanos(windowMs),
      allow_direct: true,
    };
    await this.#admin(async () => {
      const existing = await this.#jsm.streams.info(stream.name).catch(() => null);
      if (existing === null) return void (await this.#jsm.streams.add(stream));
      const had = existing.config.subjects?.length ?? 0;
      // Fewer partitions would orphan records and move keys to other partitions.
      if (partitions < had) {
        throw new ConfigError(
          "partitions",
          `topic "${topic}" has ${had} partitions; a topic's partitions can grow, never shrink`,
        );
      }
      await this.#jsm.streams.update(stream.name, { ...existing.config, ...stream });
    });
    this.#shapes.set(topic, Promise.resolve(shape));
  }

  /**
   * A consumer of `topic` for `config.groupId`, on a durable pull consumer with explicit acks
   * (see {@link JetStreamConsumer}). `commit: "transactional"` is refused: JetStream has no
   * transactions; `"idempotent"` gives exactly-once output instead.
   */
  createConsumer(topic: string, config: ConsumerConfig): Consumer {
    return new JetStreamConsumer(this.#access, topic, config);
  }

  /** Deletes the topic's stream and everything in it. */
  async deleteTopic(topic: string): Promise<void> {
    this.#shapes.delete(topic);
    await this.#admin(() => this.#jsm.streams.delete(streamName(topic)));
  }

  request<R extends Request>(request: R, options: RequestOptions): Promise<ResponseFor<R>> {
    if (this.#closed || this.#nc.isClosed()) return Promise.reject(new TransportClosedError());
    return this.#answer(request, options) as Promise<ResponseFor<R>>;
  }

  /** Drains and closes the connection; outstanding requests fail with `TransportClosedError`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#nc.close();
  }

  async #answer(request: Request, options: RequestOptions): Promise<ResponseFor<Request>> {
    try {
      switch (request.api) {
        case "metadata": {
          const shape = await this.#shape(request.topic);
          return { ok: true, topic: request.topic, partitions: shape.partitions } satisfies MetadataResponse;
        }
        case "produce":
          return await this.#guarded(() => this.#produce(request, options));
        case "fetch":
          return await this.#fetch(request);
        case "initProducerId":
          return this.#initProducerId(request);
        default:
          throw new UnsupportedError(
            request.api,
            `NATS JetStream: "${request.api}" is not supported by this adapter (${
              ["addPartitionsToTxn", "txnOffsetCommit", "endTxn"].includes(request.api)
                ? "JetStream has no multi-subject transactions"
                : "groups run on durable JetStream consumers: pass the NatsTransport itself to createConsumer, not a wrapper of it"
            })`,
          );
      }
    } catch (error) {
      const typed = request.api === "produce"
        ? await this.#publishFailed(request.topic, request.partition, error)
        : this.#typed(error);
      // The transport's own failures reject, as the Transport contract says; only the
      // engine's answers travel as data.
      if (
        typed instanceof DisconnectedError || typed instanceof RequestTimedOutError ||
        typed instanceof TransportClosedError
      ) throw typed;
      return { ok: false, error: errorToWire(typed) };
    }
  }

  /**
   * Runs a produce request that fails with `DisconnectedError` the moment the connection
   * drops (its publishes may or may not have landed: retriable, and message ids sort it out).
   */
  #guarded<T>(work: () => Promise<T>): Promise<T> {
    if (!this.#connected) return Promise.reject(new DisconnectedError(`${this.server}: reconnecting`));
    return new Promise<T>((resolve, reject) => {
      this.#inFlight.add(reject);
      work().then(resolve, reject).finally(() => this.#inFlight.delete(reject));
    });
  }

  /** Learns a topic's shape from its stream's description, once per topic. */
  #shape(topic: string): Promise<TopicShape> {
    let shape = this.#shapes.get(topic);
    if (shape === undefined) {
      shape = this.#admin(async () => {
        const info = await this.#jsm.streams.info(streamName(topic)).catch((error: unknown) => {
          throw nameOf(error) === "StreamNotFoundError" ? new UnknownTopicError(topic) : error;
        });
        const description = info.config.description ?? "";
        if (!description.startsWith(DESCRIPTION_PREFIX)) throw new UnknownTopicError(topic);
        return JSON.parse(description.slice(DESCRIPTION_PREFIX.length)) as TopicShape;
      });
      shape.catch(() => this.#shapes.delete(topic));
      this.#shapes.set(topic, shape);
    }
    return shape;
  }

  /** The topic's shape, once the request's partition is known to be one of it. */
  async #partitionShape(request: { readonly topic: string; readonly partition: number }): Promise<TopicShape> {
    const shape = await this.#shape(request.topic);
    if (!Number.isInteger(request.partition) || request.partition < 0 || request.partition >= shape.partitions) {
      throw new UnknownPartitionError(request.topic, request.partition);
    }
    return shape;
  }

  async #produce(request: ProduceRequest, options: RequestOptions): Promise<ProduceResponse> {
    const shape = await this.#partitionShape(request);
    const subject = `${request.topic}.${request.partition}`;
    if (request.transactionalId !== undefined) {
      throw new UnsupportedError("transactions", "NATS JetStream has no multi-subject transactions");
    }
    if (request.ack === false) {
      this.#publisher.unacked(subject, request, shape.framing);
      return { ok: true, baseOffset: -1 };
    }
    if (request.producerId === undefined) return await this.#publisher.acked(subject, request, shape.framing, options);
    // Exactly-once: in sequence order, one publish chain per partition (see PartitionTurns).
    return await this.#turns.run(
      `${request.producerId}.${request.epoch}.${subject}`,
      request.baseSequence!,
      request.values.length,
      () => this.#publisher.acked(subject, request, shape.framing, options),
    );
  }

  async #fetch(request: FetchRequest): Promise<FetchResponse> {
    if (request.groupId !== undefined || request.memberId !== undefined) {
      throw new UnsupportedError(
        "consumer groups",
        "NATS JetStream: groups run on durable JetStream consumers: pass the NatsTransport itself to createConsumer, not a wrapper of it",
      );
    }
    const shape = await this.#partitionShape(request);
    return await fetchFromStream(this.#jsm, streamName(request.topic), request, shape);
  }

  /**
   * One record, published with a message id of the caller's: a second publish with the same
   * id inside the stream's duplicate window is dropped by the server and answers with the
   * first one's offset. A keyless record goes to `partitionIfKeyless`, so that a repeat goes
   * where the first went.
   */
  async #publishWithId(
    topic: string,
    record: OutgoingRecord,
    msgId: string,
    partitionIfKeyless: number,
    timeoutMs: number,
  ): Promise<RecordMetadata> {
    const shape = await this.#shape(topic);
    const { key, value, headers: h, timestamp } = record;
    const partition = key === null ? partitionIfKeyless % shape.partitions : keyedPartition(key, shape.partitions);
    const { data, headers } = shape.framing === "batch"
      ? frameMessage({ keys: [key], values: [value], headers: [h], timestamps: [timestamp] }, -1)
      : recordMessage(key, value, h, timestamp);
    try {
      const ack = await this.#js.publish(`${topic}.${partition}`, data, {
        msgID: msgId,
        timeout: timeoutMs,
        ...(headers ? { headers } : {}),
      });
      return { topic, partition, offset: shape.framing === "batch" ? frameOffset(ack.seq, 0) : ack.seq };
    } catch (error) {
      throw await this.#publishFailed(topic, partition, error);
    }
  }

  /** Producer ids are drawn at random (48 bits): JetStream has no allocator, and message ids only need them unique. */
  #initProducerId(request: InitProducerIdRequest): InitProducerIdResponse {
    if (request.transactionalId !== undefined) {
      throw new UnsupportedError(
        "transactions",
        "NATS JetStream has no multi-subject transactions: use exactlyOnce() without a transactionalId (idempotent publishing)",
      );
    }
    if (request.producerId !== undefined) {
      return { ok: true, producerId: request.producerId, epoch: (request.epoch ?? 0) + 1 };
    }
    const random = new Uint32Array(2);
    crypto.getRandomValues(random);
    return { ok: true, producerId: (random[0]! * 65_536 + (random[1]! & 0xffff)) % MAX_PRODUCER_ID, epoch: 0 };
  }

  /** Runs a stream-administration call, turning NATS errors into acktor's. */
  async #admin<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw this.#typed(error);
    }
  }

  /** NATS errors in acktor's terms (see `nats-errors.ts`). */
  #typed(error: unknown): AcktorError {
    return typedNatsError(error, this.server, this.#closed);
  }

  /**
   * A publish to `topic` failed with `error`: typed, and a "no responders" explained by asking
   * the server whether the stream exists (`unansweredPublish`). One question per topic at a
   * time: a burst of batches failing together shares it. A stream found gone also forgets the
   * topic's shape, so that a topic created again is learned afresh.
   */
  #publishFailed(topic: string, partition: number, error: unknown): Promise<AcktorError> {
    if (!this.#closed && nameOf(error) === "TimeoutError") {
      // Named, since the last attempt's error is what a failed record reports.
      const typed = new RequestTimedOutError(
        0,
        `${this.server}: no answer in time from "${topic}.${partition}" (topic "${topic}")`,
      );
      (typed as { cause?: unknown }).cause = error;
      return Promise.resolve(typed);
    }
    if (this.#closed || !isNoResponders(error)) return Promise.resolve(this.#typed(error));
    let asking = this.#probes.get(topic);
    if (asking === undefined) {
      const where = { server: this.server, topic, stream: streamName(topic), subject: `${topic}.${partition}` };
      this.#probeManager ??= jetstreamManager(this.#nc, { timeout: PROBE_TIMEOUT_MS, checkAPI: false });
      asking = this.#probeManager
        .then((probe) => unansweredPublish(probe, where, error))
        .then((typed) => {
          if (typed instanceof UnknownTopicError) this.#shapes.delete(topic);
          return typed;
        }, (failed: unknown) => this.#typed(failed))
        .finally(() => this.#probes.delete(topic));
      this.#probes.set(topic, asking);
    }
    return asking;
  }
}
