import { type Actor, createActor } from "xstate";
import { mergeMap, type Observable, Subject } from "rxjs";
import {
  BufferTimeoutError,
  DeliveryFailedError,
  errorFromWire,
  MetadataUnavailableError,
  ProducerClosedError,
  RecordTooLargeError,
  UndeliveredRecordsError,
} from "../errors.ts";
import { decideRetry } from "../retry/decide.ts";
import { retryPolicy, type RetryPolicy } from "../retry/policy.ts";
import { validateTopicName } from "../broker/topic-name.ts";
import { defer, sleep } from "../runtime/clock.ts";
import type { Bytes } from "../transport/protocol.ts";
import type { Transport } from "../transport/transport.ts";
import { Batch, type Confirmation } from "./batch.ts";
import { type ProducerConfig, resolveProducerConfig, type ResolvedProducerConfig } from "./config.ts";
import { batchMachine } from "./machines/batch-machine.ts";
import { producerMachine } from "./machines/producer-machine.ts";
import { type RequestContext, requestMachine, type RequestOutput } from "./machines/request-machine.ts";
import { type BatchReport, type RecordOutcome, recordOutcomes, settledReport } from "./outcome.ts";
import { ProduceOutput } from "./output.ts";
import { keyBytes, type RecordKey, type RecordValue, valueBytes } from "./record.ts";

type FailedOutput = Extract<RequestOutput, { status: "failed" }>;

/** Per-partition sending state. */
interface Lane {
  /** The batch still taking records. */
  open: Batch | null;
  /** Sealed batches waiting for an in-flight slot, oldest first. */
  readonly queue: Batch[];
  inFlight: number;
}

/** A `send()` that waits for metadata or buffer space. */
interface Waiter {
  readonly key: Bytes | null;
  readonly value: Bytes;
  readonly size: number;
  readonly promise: Promise<ProduceOutput>;
  resolve(output: ProduceOutput): void;
  reject(error: unknown): void;
  timer: unknown;
}

/** Running totals, counted per batch. */
export interface ProducerStats {
  /** Records accepted by `send()`. */
  accepted: number;
  /** Records acknowledged by the broker. */
  delivered: number;
  /** Records written once without waiting (at-most-once). */
  sentUnconfirmed: number;
  /** Records whose batch failed. */
  failed: number;
  /** Batch attempts beyond the first. */
  retries: number;
  /** Batches settled. */
  batches: number;
}

// At-most-once sends each batch exactly once.
const NO_RETRY: RetryPolicy = retryPolicy({ maxRetries: 0, initialDelay: 0, maxDelay: 0, timeout: Number.MAX_SAFE_INTEGER });

/**
 * Produces records to one topic with the delivery semantic of its config.
 *
 * `send()` puts a record into its partition's open batch, as two plain array slots, and
 * returns a handle. Each batch is an actor of {@link batchMachine}; once dispatched it runs
 * a {@link requestMachine} child that owns every attempt and retry. Nothing per record is an
 * actor, an event, a timer or a promise unless the caller asks for one.
 */
export class Producer implements AsyncDisposable {
  /** The topic this producer writes to. */
  readonly topic: string;
  /** The validated config, defaults filled in. */
  readonly config: ResolvedProducerConfig;
  /** The lifecycle actor (`open → closing → closed`), exported for inspection. */
  readonly lifecycle: Actor<typeof producerMachine>;
  /** Live counters. */
  readonly stats: ProducerStats = { accepted: 0, delivered: 0, sentUnconfirmed: 0, failed: 0, retries: 0, batches: 0 };
  /** Per-batch reports: dispatch, each retry, and the end. */
  readonly batches$: Observable<BatchReport>;
  /**
   * One outcome per accepted record: `delivered`, `failed`, or `sent-unconfirmed`
   * (at-most-once). Built per record only while someone is subscribed.
   */
  readonly outcomes$: Observable<RecordOutcome>;

  readonly #transport: Transport;
  readonly #ownsTransport: boolean;
  readonly #policy: RetryPolicy;
  readonly #awaitAck: boolean;
  readonly #batchMachine: typeof batchMachine;
  readonly #reports = new Subject<BatchReport>();
  readonly #settled = new Subject<Batch>();
  readonly #unsettled = new Set<Batch>();
  #lanes: Lane[] | null = null;
  #metadata: Promise<void> | null = null;
  #waiters: Waiter[] = [];
  #buffered = 0;
  #nextBatchId = 0;
  /** The pending linger-0 flush; a newer token makes older ones stand down. */
  #lingerToken: object | null = null;
  #yieldDue = false;
  #accepting = true;
  #closing: Promise<void> | null = null;

  constructor(transport: Transport, topic: string, config: ProducerConfig = {}, options: { ownsTransport?: boolean } = {}) {
    validateTopicName(topic);
    this.topic = topic;
    this.config = resolveProducerConfig(config);
    this.#transport = transport;
    this.#ownsTransport = options.ownsTransport ?? false;
    const semantic = this.config.deliverySemantic;
    this.#policy = semantic.kind === "at-least-once" ? semantic.retry : NO_RETRY;
    this.#awaitAck = semantic.kind !== "at-most-once";
    this.lifecycle = createActor(producerMachine).start();
    // Read on every send(), so cached rather than taken from a snapshot each time.
    this.lifecycle.subscribe((snapshot) => (this.#accepting = snapshot.value === "open"));
    this.batches$ = this.#reports.asObservable();
    this.outcomes$ = this.#settled.pipe(mergeMap(recordOutcomes));
    this.#batchMachine = batchMachine.provide({
      actors: {
        request: requestMachine.provide({
          actions: {
            transmit: ({ context, self }) => this.#transmit(context as RequestContext<Batch>, self),
            retrying: ({ context }) => this.#reportRetry(context as RequestContext<Batch>),
          },
        }),
      },
      actions: {
        settled: ({ context }) => this.#settle(context.batch as Batch, context.result!),
      },
    });
    this.#loadMetadata().catch(() => {});
  }

  /** True while the producer accepts records. */
  get accepting(): boolean {
    return this.#accepting;
  }

  /**
   * Queues a record and resolves once it is accepted (possibly after waiting for buffer
   * space). Rejects at once, and accepts nothing, for a closed producer
   * ({@link ProducerClosedError}), a key or value of the wrong type (`InvalidRecordError`) or
   * an oversized record ({@link RecordTooLargeError}); for an unknown topic it rejects with
   * `UnknownTopicError` once the broker has said so.
   */
  send(key: RecordKey, value: RecordValue): Promise<ProduceOutput> {
    if (!this.#accepting) return Promise.reject(new ProducerClosedError());
    let k: Bytes | null;
    let v: Bytes;
    try {
      k = keyBytes(key);
      v = valueBytes(value);
    } catch (error) {
      return Promise.reject(error);
    }
    const size = v.length + (k === null ? 0 : k.length);
    if (size > this.config.maxRequestSize) return Promise.reject(new RecordTooLargeError(size, this.config.maxRequestSize));
    // Waiters go first, so records are accepted in the order send() was called.
    if (this.#lanes === null || this.#waiters.length > 0 || this.#buffered + size > this.config.bufferSize) {
      return this.#wait(k, v, size);
    }
    return this.#accepted(this.#append(k, v, size));
  }

  /**
   * Sends every queued record and resolves once each batch accepted before the call (and
   * each `send()` already waiting for space) has settled: acknowledged or failed, or written
   * for at-most-once. Every partition is flushed even if one fails. Rejects with
   * {@link UndeliveredRecordsError} if any of those batches failed.
   */
  async flush(): Promise<void> {
    const waiting = this.#waiters.map((w) => w.promise);
    const failed = await this.#settleAll([...this.#unsettled]);
    const late = await Promise.allSettled(waiting);
    const joined = late.flatMap((r) => (r.status === "fulfilled" ? [r.value.batch] : []));
    failed.push(...(await this.#settleAll(joined)));
    if (failed.length > 0) throw new UndeliveredRecordsError(failed.map((b) => (b.result as FailedOutput).error), failed.reduce((n, b) => n + b.values.length, 0));
  }

  /**
   * Stops accepting records, delivers everything already accepted, then closes. Later
   * `send()` calls reject with {@link ProducerClosedError}. Rejects like {@link flush} if
   * accepted records could not be delivered; the producer is closed either way.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.lifecycle.send({ type: "CLOSE" });
      try {
        await this.flush();
      } finally {
        this.lifecycle.send({ type: "DRAINED" });
        if (this.#ownsTransport) await this.#transport.close();
      }
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- accepting records -------------------------------------------------------------

  #append(key: Bytes | null, value: Bytes, size: number): ProduceOutput {
    const lanes = this.#lanes!;
    const { partitioner, batchSize } = this.config;
    let partition = partitioner.partition(key, lanes.length);
    let lane = lanes[partition]!;
    let batch = lane.open;
    if (batch !== null && batch.bytes + size > batchSize) {
      this.#seal(lane, batch, true);
      // A sticky partitioner moves on when a batch fills; a keyless record follows it rather
      // than opening a lone batch on the partition it just left (as Kafka does).
      if (key === null && partitioner.onBatchFull) {
        partition = partitioner.partition(null, lanes.length);
        lane = lanes[partition]!;
      }
      batch = lane.open;
    }
    batch ??= this.#openBatch(lane, partition);
    const index = batch.values.length;
    batch.keys.push(key);
    batch.values.push(value);
    batch.bytes += size;
    this.#buffered += size;
    this.stats.accepted++;
    if (batch.bytes >= batchSize) this.#seal(lane, batch, true);
    return new ProduceOutput(batch, index);
  }

  /**
   * Resolves a `send()`. Once per filled batch it resolves after a deferral instead of at
   * once: a caller awaiting `send()` in a loop otherwise never yields to the event loop, so
   * request timeouts, backoffs and network I/O would wait until the buffer fills.
   */
  #accepted(output: ProduceOutput): Promise<ProduceOutput> {
    if (!this.#yieldDue) return Promise.resolve(output);
    this.#yieldDue = false;
    const accepted = new Promise<ProduceOutput>((resolve) => defer(this.config.clock, () => resolve(output)));
    // The sender is still mid-burst: push the linger-0 flush behind the yield, or it would
    // send the record that just overflowed as a batch of one.
    if (this.#lingerToken !== null) this.#armLinger();
    return accepted;
  }

  /** Seals open batches once the current burst of sends is over (linger 0). */
  #armLinger(): void {
    const token = {};
    this.#lingerToken = token;
    defer(this.config.clock, () => {
      if (this.#lingerToken !== token) return;
      this.#lingerToken = null;
      this.#sealOpen();
    });
  }

  #wait(key: Bytes | null, value: Bytes, size: number): Promise<ProduceOutput> {
    const waiter = { key, value, size, timer: undefined } as Waiter;
    (waiter as { promise: Promise<ProduceOutput> }).promise = new Promise<ProduceOutput>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    const { clock, deliveryTimeout } = this.config;
    waiter.timer = clock.setTimeout(() => {
      const i = this.#waiters.indexOf(waiter);
      if (i < 0) return;
      this.#waiters.splice(i, 1);
      waiter.reject(new BufferTimeoutError(deliveryTimeout));
      this.#admit();
    }, deliveryTimeout);
    this.#waiters.push(waiter);
    if (this.#lanes === null) this.#loadMetadata().catch(() => {});
    return waiter.promise;
  }

  /** Accepts waiting sends, in order, while there is room. */
  #admit(): void {
    if (this.#lanes === null) return;
    while (this.#waiters.length > 0) {
      const waiter = this.#waiters[0]!;
      if (this.#buffered + waiter.size > this.config.bufferSize) return;
      this.#waiters.shift();
      this.config.clock.clearTimeout(waiter.timer);
      waiter.resolve(this.#append(waiter.key, waiter.value, waiter.size));
    }
  }

  /**
   * Learns the partition count. Metadata reads are idempotent, so they are retried under
   * every semantic; an answer that the topic does not exist fails the waiting sends.
   */
  #loadMetadata(): Promise<void> {
    this.#metadata ??= (async () => {
      const { clock, requestTimeout } = this.config;
      const policy = retryPolicy({ maxRetries: 20, initialDelay: 2, maxDelay: 1000, timeout: Math.max(requestTimeout, this.config.deliveryTimeout) });
      const started = clock.now();
      for (let attempts = 1; ; attempts++) {
        try {
          const answer = await this.#transport.request({ api: "metadata", topic: this.topic }, { timeoutMs: requestTimeout });
          if (!answer.ok) throw errorFromWire(answer.error);
          this.#lanes = Array.from({ length: answer.partitions }, () => ({ open: null, queue: [], inFlight: 0 }));
          this.#admit();
          return;
        } catch (error) {
          const decision = decideRetry(policy, attempts, clock.now() - started, error);
          if (!decision.retry) {
            this.#metadata = null; // a later send() asks again: the topic may exist by then
            const reason = decision.reason === "not-retriable" ? error : new MetadataUnavailableError(this.topic, attempts, error);
            for (const waiter of this.#waiters.splice(0)) {
              clock.clearTimeout(waiter.timer);
              waiter.reject(reason);
            }
            throw reason;
          }
          await sleep(clock, decision.delay);
        }
      }
    })();
    return this.#metadata;
  }

  // ---- batches -----------------------------------------------------------------------

  #openBatch(lane: Lane, partition: number): Batch {
    const batch = new Batch(this.#nextBatchId++, this.topic, partition);
    batch.actor = createActor(this.#batchMachine, {
      input: { batch, policy: this.#policy, awaitAck: this.#awaitAck, random: this.config.random },
      clock: this.config.clock,
    }).start();
    lane.open = batch;
    this.#unsettled.add(batch);
    const { lingerMs, clock } = this.config;
    if (lingerMs > 0) {
      batch.lingerTimer = clock.setTimeout(() => {
        if (lane.open === batch) this.#seal(lane, batch, false);
      }, lingerMs);
    } else if (this.#lingerToken === null) {
      this.#armLinger();
    }
    return batch;
  }

  #seal(lane: Lane, batch: Batch, full: boolean): void {
    lane.open = null;
    if (batch.lingerTimer !== undefined) this.config.clock.clearTimeout(batch.lingerTimer);
    batch.actor.send({ type: "SEAL" });
    if (full) this.config.partitioner.onBatchFull?.(batch.partition);
    lane.queue.push(batch);
    if (full) this.#yieldDue = true;
    this.#pump(lane);
  }

  #sealOpen(): void {
    for (const lane of this.#lanes ?? []) if (lane.open) this.#seal(lane, lane.open, false);
  }

  /** Dispatches queued batches while the partition has free in-flight slots. */
  #pump(lane: Lane): void {
    while (lane.inFlight < this.config.maxInFlight && lane.queue.length > 0) {
      const batch = lane.queue.shift()!;
      lane.inFlight++;
      batch.actor.send({ type: "DISPATCH", at: this.config.clock.now() });
      if (this.#reports.observed) this.#reports.next({ type: "dispatched", batchId: batch.id, topic: this.topic, partition: batch.partition, records: batch.values.length });
    }
  }

  /** The request machine's `transmit`: one attempt of one batch. */
  #transmit(context: RequestContext<Batch>, self: { send(event: { type: "SENT" } | { type: "ACK"; baseOffset: number } | { type: "ERROR"; error: unknown; at: number }): void }): void {
    const { batch } = context;
    const { clock, requestTimeout, isolation } = this.config;
    // An attempt never outlives the policy's overall timeout.
    const remaining = context.policy.timeout - (clock.now() - context.startedAt);
    const timeoutMs = Math.max(1, Math.min(requestTimeout, remaining));
    const reply = this.#transport.request(
      { api: "produce", topic: this.topic, partition: batch.partition, isolation, timeoutMs, keys: batch.keys, values: batch.values },
      { timeoutMs },
    );
    self.send({ type: "SENT" });
    if (context.awaitAck) {
      reply.then(
        (answer) => self.send(answer.ok ? { type: "ACK", baseOffset: answer.baseOffset } : { type: "ERROR", error: errorFromWire(answer.error), at: clock.now() }),
        (error: unknown) => self.send({ type: "ERROR", error, at: clock.now() }),
      );
    } else {
      // At-most-once already let go of the batch; the one reply only informs wait().
      const once = (error: unknown): Confirmation => {
        const decision = decideRetry(NO_RETRY, 1, 0, error);
        return { error: new DeliveryFailedError(1, decision.retry ? "max-retries" : decision.reason, error) };
      };
      reply.then(
        (answer) => batch.confirm(answer.ok ? { baseOffset: answer.baseOffset } : once(errorFromWire(answer.error))),
        (error: unknown) => batch.confirm(once(error)),
      );
    }
  }

  #reportRetry(context: RequestContext<Batch>): void {
    this.stats.retries++;
    if (!this.#reports.observed) return;
    const { batch, decision } = context;
    this.#reports.next({
      type: "retry",
      batchId: batch.id,
      topic: this.topic,
      partition: batch.partition,
      records: batch.values.length,
      attempt: context.attempts + 1,
      delayMs: decision?.retry ? decision.delay : 0,
      error: context.lastError,
    });
  }

  /** The batch machine's `settled`: frees the slot and the buffer, and reports the outcome. */
  #settle(batch: Batch, result: RequestOutput): void {
    const records = batch.values.length;
    const lane = this.#lanes![batch.partition]!;
    lane.inFlight--;
    this.#buffered -= batch.bytes;
    this.#unsettled.delete(batch);
    this.stats.batches++;
    if (result.status === "delivered") {
      this.stats.delivered += records;
      batch.confirm({ baseOffset: result.baseOffset });
    } else if (result.status === "failed") {
      this.stats.failed += records;
      batch.confirm({ error: result.error });
    } else {
      this.stats.sentUnconfirmed += records;
    }
    batch.settle(result);
    if (this.#reports.observed) this.#reports.next(settledReport(batch));
    if (this.#settled.observed) this.#settled.next(batch);
    this.#pump(lane);
    this.#admit();
  }

  /** Seals what is open and waits for `batches` to settle; returns those that failed. */
  async #settleAll(batches: Batch[]): Promise<Batch[]> {
    this.#sealOpen();
    await Promise.all(batches.map((b) => b.whenSettled()));
    return batches.filter((b) => b.result?.status === "failed");
  }
}
