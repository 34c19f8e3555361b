import { type Actor, createActor } from "xstate";
import { type Observable, Subject } from "rxjs";
import { ConfigError, ConsumerBusyError, ConsumerClosedError, type PoisonRecordError } from "../errors.ts";
import { validateTopicName } from "../broker/topic-name.ts";
import { guardInspector } from "../inspect.ts";
import type { RecordMetadata } from "../producer/outcome.ts";
import type { TransactionContext } from "../producer/producer.ts";
import type { RecordKey, RecordValue, SendOptions } from "../producer/record.ts";
import type { PartitionOffset } from "../transport/protocol.ts";
import { type ConsumerConfig, resolveConsumerConfig, type ResolvedConsumerConfig } from "./config.ts";
import { type ConsumerEvent, consumerMachine } from "./machines/consumer-machine.ts";
import type { CommitOutcome, ConsumerOutcome } from "./outcome.ts";
import type { ConsumedBatch, ConsumedRecord, ReceivedRecord } from "./record.ts";
import { Receiver, RecordStream } from "./receiver.ts";
import { RecordIterator } from "./record-iterator.ts";

/**
 * `idempotent` consumers: writes to the `outputTopic` whose ids are derived from the input
 * record, so handling that record again rewrites, not duplicates, them.
 */
export interface OutputContext {
  /** Resolves once the engine stored the record; the input is acknowledged only after that. */
  send(key: RecordKey, value: RecordValue, options?: SendOptions): Promise<RecordMetadata>;
}

/** What a handler gets besides its records. */
export interface HandlerContext {
  /** The group generation the records were fetched in (0 on engines without generations). */
  readonly generation: number;
  /** `transactional` only: sends that commit, or abort, with this batch's input offsets. */
  readonly tx: TransactionContext | null;
  /** `idempotent` only: writes to the output topic that a redelivery cannot duplicate. */
  readonly output: OutputContext | null;
  /** Aborted when the consumer stops; a long handler may give up early (its records come again). */
  readonly signal: AbortSignal;
}

/** Handles one record; throwing (or rejecting) makes it a failed delivery. */
export type RecordHandler = (record: ConsumedRecord, context: HandlerContext) => unknown;
/** Handles a batch of one partition's records; throwing fails the whole batch. */
export type BatchHandler = (batch: ConsumedBatch, context: HandlerContext) => unknown;

/** Options of `run` and `runBatches`. */
export interface RunOptions {
  /**
   * Stops the loop after the record in hand, under every strategy and on every engine: the
   * handler is not called again. The rest of its batch comes again to the group's next reader
   * (after-processing, manual, idempotent), with the records the open transaction had
   * handled (transactional: it aborts), or not at all under before-processing, which
   * committed (acked) it before handing it out: at-most-once.
   */
  readonly signal?: AbortSignal;
}

/**
 * How the loop hands records out: one at a time, a batch at a time, or (`records$`) to a
 * {@link Receiver}, where a record counts as processed once acknowledged.
 */
export type Mode =
  | { readonly batch: false; readonly handler: RecordHandler; readonly receiver?: undefined }
  | { readonly batch: true; readonly handler: BatchHandler; readonly receiver?: undefined }
  | { readonly batch: false; readonly handler?: undefined; readonly receiver: Receiver };

/**
 * A consumer of one topic, applying its commit strategy: the consumer side of delivery
 * semantics. What readers see (`run`, `runBatches`, `records$`, `for await`, outcomes, the
 * loop's machine) is the same on every engine; how records are fetched and committed is the
 * engine's: offsets committed to a consumer group on the embedded broker, acknowledgements
 * to a durable consumer on NATS JetStream. Build one with `createConsumer(transport, topic,
 * config)` or `broker.consumer(topic, config)`.
 */
export abstract class Consumer implements AsyncIterable<ConsumedRecord> {
  readonly topic: string;
  readonly config: ResolvedConsumerConfig;
  /**
   * The loop's state machine (`consumerMachine`, started with this consumer's commit
   * strategy): its state says which step the loop is in, and its guards which step comes next.
   */
  readonly actor: Actor<typeof consumerMachine>;
  /**
   * Assignments, commits, redeliveries, dead letters and stopped partitions; `processed`
   * records too, built only while someone is subscribed.
   */
  readonly outcomes$: Observable<ConsumerOutcome>;
  /**
   * Only the `committed` outcomes: for watching progress without paying for a per-record
   * `processed` outcome, which any `outcomes$` subscriber does.
   */
  readonly commits$: Observable<CommitOutcome>;

  protected readonly outcomes: Subject<ConsumerOutcome> = new Subject<ConsumerOutcome>();
  readonly #commits = new Subject<CommitOutcome>();
  #reader: AbortController | null = null;
  #running: Promise<void> | null = null;
  #closed = false;

  constructor(topic: string, config: ConsumerConfig) {
    validateTopicName(topic);
    this.topic = topic;
    this.config = resolveConsumerConfig(config);
    const inspect = guardInspector(this.config.inspect, `consumer of "${topic}"`);
    const input = { commit: this.config.commit };
    this.actor = createActor(consumerMachine, inspect === null ? { input } : { input, inspect }).start();
    this.outcomes$ = this.outcomes.asObservable();
    this.commits$ = this.#commits.asObservable();
  }

  /** The loop's state, e.g. `"fetching"`. */
  get state(): string {
    return this.actor.getSnapshot().value as string;
  }

  /** This member's id in its group, once joined. */
  abstract get memberId(): string | null;
  /** The partitions this member may be handed records of. */
  abstract get assignment(): number[];
  /** The group generation this member last heard of; -1 before it joined. */
  abstract get generation(): number;
  /** Partitions stopped by a poison record, with the error that stopped each. */
  abstract get stoppedPartitions(): ReadonlyMap<number, PoisonRecordError>;

  /**
   * Commits: the given offsets (the next offset to read, per partition), or, without
   * arguments, everything processed so far. For `manual` consumers, and for any other that
   * wants a commit now.
   */
  abstract commit(offsets?: readonly { partition: number; offset: number }[]): Promise<void>;
  /** Reads `partition` from `offset` next. */
  abstract seek(partition: number, offset: number): void;
  /** Stops fetching these partitions until {@link resume}; what was handed out finishes. */
  abstract pause(partitions: readonly number[]): void;
  /** Fetches these partitions again, including any a poison record stopped (its record comes again). */
  abstract resume(partitions: readonly number[]): void;

  /**
   * Reads until `options.signal` aborts or {@link close} is called, handing each record to
   * `handler` and committing as the strategy says. Rejects on what the consumer cannot get
   * past: a fenced transactional producer, a closed transport, an unknown topic.
   */
  run(handler: RecordHandler, options: RunOptions = {}): Promise<void> {
    if (typeof handler !== "function") throw new ConfigError("handler", "run() needs a function");
    return this.start({ batch: false, handler }, options.signal);
  }

  /** Like {@link run}, with each fetched batch of one partition handed over whole. */
  runBatches(handler: BatchHandler, options: RunOptions = {}): Promise<void> {
    if (typeof handler !== "function") throw new ConfigError("handler", "runBatches() needs a function");
    return this.start({ batch: true, handler }, options.signal);
  }

  /**
   * The records as an observable: subscribing starts the loop, unsubscribing (or an error in
   * the pipeline) stops it. Each record counts as processed once its `ack()` is called:
   * under `after-processing` and `manual` only acknowledged records are committed, over the
   * acknowledged prefix of each partition, and the rest come again to the group's next
   * reader. At most `maxPollRecords` records are out unacknowledged at a time. A
   * subscriber's `next` that throws leaves its record unacknowledged and reports it as
   * `redelivered` on `outcomes$`.
   */
  get records$(): Observable<ReceivedRecord> {
    return new RecordStream(
      (subscriber) => {
        const stop = new AbortController();
        const receiver = new Receiver((record) => subscriber.next(record), this.config.maxPollRecords);
        const begin = (): void => {
          if (stop.signal.aborted) return;
          try {
            this.start({ batch: false, receiver }, stop.signal, "records$").then(
              () => subscriber.complete(),
              (error) => subscriber.error(error),
            );
          } catch (error) {
            subscriber.error(error);
          }
        };
        // An operator such as retry() resubscribes the moment the previous subscription errors,
        // while that reader, already told to stop, is still winding down: wait for it. Only a
        // reader that has not been stopped makes this one a second, refused reader.
        const previous = this.#running;
        if (previous && this.#reader?.signal.aborted) void previous.catch(() => {}).then(begin);
        else begin();
        return () => stop.abort();
      },
      (record, error) => this.outcomes.next({ type: "redelivered", record, error }),
    );
  }

  /**
   * `for await (const record of consumer)`: a record counts as processed when the loop asks
   * for the next one. Leaving the loop (break, return, throw) stops the consumer; the record
   * in hand then is not processed and comes again.
   */
  [Symbol.asyncIterator](): AsyncIterator<ConsumedRecord> {
    return new RecordIterator((handler, signal) => this.start({ batch: false, handler }, signal, "for await"));
  }

  /**
   * Stops reading, commits what was processed, leaves the group and closes what the consumer
   * opened. Network failures on the way out are not raised: whatever was not committed is
   * delivered again, which every strategy but at-most-once expects.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader?.abort();
    await this.#running?.catch(() => {});
    await this.release();
    this.actor.send({ type: "CLOSE" });
    this.outcomes.complete();
    this.#commits.complete();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The engine's loop: reads until `signal` aborts, handing records out through {@link invoke}. */
  protected abstract loop(mode: Mode, signal: AbortSignal): Promise<void>;
  /** Called once by {@link close} after the loop stopped: final commits, leaving, closing. */
  protected abstract release(): Promise<void>;
  /** Called before a reader starts: an engine may reset what the previous reader met. */
  protected beforeRead(): void {}

  protected start(mode: Mode, signal: AbortSignal | undefined, reader = "run()"): Promise<void> {
    this.checkOpen(reader);
    if (this.#running) {
      throw new ConsumerBusyError(`${reader}: the consumer is already being read; stop that reader first`);
    }
    const { commit } = this.config;
    if ((commit === "transactional" || commit === "idempotent") && reader !== "run()") {
      throw new ConfigError(
        "commit",
        `a "${commit}" consumer is read with run() or runBatches(), whose handler gets the ${
          commit === "transactional" ? "transaction" : "output"
        }; ${reader} cannot`,
      );
    }
    const stop = new AbortController();
    if (signal?.aborted) stop.abort();
    signal?.addEventListener("abort", () => stop.abort(), { once: true });
    this.#reader = stop;
    this.beforeRead();
    this.actor.send({ type: "START" });
    const running = this.loop(mode, stop.signal)
      .catch((error: unknown) => {
        this.actor.send({ type: "FAIL" });
        throw error;
      })
      .finally(() => {
        mode.receiver?.close();
        this.#running = null;
        this.#reader = null;
      });
    this.#running = running;
    return running;
  }

  protected send(type: Exclude<ConsumerEvent["type"], "START" | "FAIL" | "CLOSE">): void {
    this.actor.send({ type });
  }

  /**
   * Hands a unit to the handler. A `records$` receiver gets it as already committed: only the
   * before-processing paths invoke it, the others hand records out with acks themselves.
   */
  protected invoke(mode: Mode, unit: ConsumedRecord[], context: HandlerContext): unknown {
    if (mode.receiver !== undefined) return mode.receiver.handOutCommitted(unit[0]!);
    if (mode.batch) {
      const head = unit[0]!;
      return mode.handler({ topic: head.topic, partition: head.partition, records: unit }, context);
    }
    return mode.handler(unit[0]!, context);
  }

  protected reportProcessed(unit: readonly ConsumedRecord[]): void {
    // Per-record outcomes cost an object each: only while someone listens.
    if (!this.outcomes.observed) return;
    for (const record of unit) this.outcomes.next({ type: "processed", record });
  }

  protected committed(offsets: readonly PartitionOffset[], transactional: boolean): void {
    const outcome: CommitOutcome = { type: "committed", offsets, transactional };
    this.outcomes.next(outcome);
    this.#commits.next(outcome);
  }

  protected checkOpen(operation: string): void {
    if (this.#closed) throw new ConsumerClosedError(`${operation}: the consumer is closed`);
  }
}
