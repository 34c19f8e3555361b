import { type Actor, type AnyActorRef, createActor } from "xstate";
import { EMPTY, mergeMap, type Observable, Subject } from "rxjs";
import {
  batchError,
  BufferTimeoutError,
  DeliveryFailedError,
  errorFromWire,
  InvalidTxnStateError,
  MetadataUnavailableError,
  ProducerClosedError,
  RecordTooLargeError,
  transportThrew,
} from "../errors.ts";
import { attemptTimeout } from "../retry/decide.ts";
import { NO_RETRY, type RetryPolicy } from "../retry/policy.ts";
import { validateTopicName } from "../broker/topic-name.ts";
import { defer, recordTime } from "../runtime/clock.ts";
import { type GuardedInspector, guardInspector } from "../inspect.ts";
import { headersSize, recordTimestamp } from "../transport/headers.ts";
import type {
  Bytes,
  PartitionOffset,
  ProduceRequest,
  ProduceResponse,
  RecordHeaders,
  Request,
} from "../transport/protocol.ts";
import { type Answer, call } from "../transport/call.ts";
import type { Transport } from "../transport/transport.ts";
import { Batch } from "./batch.ts";
import { FailureLedger } from "./barrier.ts";
import { type ExactlyOnce, type ProducerConfig, type ResolvedProducerConfig, resolveProducerConfig } from "./config.ts";
import { batchMachine } from "./machines/batch-machine.ts";
import { producerMachine } from "./machines/producer-machine.ts";
import { type RequestContext, requestMachine, type RequestOutput } from "./machines/request-machine.ts";
import { type BatchReport, type ProducerStats, type RecordOutcome, recordOutcomes, settledReport } from "./outcome.ts";
import { ProduceOutput } from "./output.ts";
import { keyBytes, optionHeaders, type RecordKey, type RecordValue, type SendOptions, valueBytes } from "./record.ts";
import { Sequencer } from "./idempotence.ts";
import { PartitionSequence } from "./sequencing.ts";
import { TransactionManager, type TransactionReport } from "./transactions.ts";
import { randomId } from "../runtime/random-id.ts";

/** Per-partition sending state. */
interface Lane {
  /** The batch still taking records. */
  open: Batch | null;
  /** Sealed batches waiting for an in-flight slot, oldest first. */
  readonly queue: Batch[];
  inFlight: number;
  /** Exactly-once sequencing, or null for the other semantics. */
  readonly sequence: PartitionSequence | null;
  /** Its linger ran out while the lane could not dispatch: `open` goes as soon as it can. */
  lingered: boolean;
}

/** What a transaction body gets: sends and offset commits that belong to the transaction. */
export interface TransactionContext {
  send(key: RecordKey, value: RecordValue, options?: SendOptions): Promise<ProduceOutput>;
  sendOffsets(groupId: string, offsets: readonly PartitionOffset[], generation?: number): Promise<void>;
}

/** A `send()` that waits for metadata or buffer space. */
interface Waiter {
  readonly key: Bytes | null;
  readonly value: Bytes;
  readonly headers: RecordHeaders | null;
  readonly timestamp: number;
  readonly size: number;
  readonly promise: Promise<ProduceOutput>;
  resolve(output: ProduceOutput): void;
  reject(error: unknown): void;
  timer: unknown;
}

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
  /** One report per committed or aborted transaction (transactional producers only; empty otherwise). */
  readonly transactions$: Observable<TransactionReport>;

  readonly #transport: Transport;
  readonly #eos: ExactlyOnce | null;
  /** The transactional side, for a producer with a transactionalId. */
  readonly #txns: TransactionManager | null;
  /** The exactly-once rules per request, for an exactly-once producer. */
  readonly #sequencer: Sequencer | null;
  #identity: { producerId: number; epoch: number } | null = null;
  /** Tells this producer's own (retried or duplicated) init requests apart from another instance's. */
  readonly #instanceId = randomId();
  readonly #ownsTransport: boolean;
  readonly #policy: RetryPolicy;
  readonly #awaitAck: boolean;
  readonly #batchMachine: typeof batchMachine;
  /** `config.inspect`, unable to throw into an actor; null when unset, so batches pay nothing. */
  readonly #inspect: GuardedInspector | null;
  readonly #reports = new Subject<BatchReport>();
  readonly #settled = new Subject<Batch>();
  readonly #unsettled = new Set<Batch>();
  readonly #failures = new FailureLedger();
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

  constructor(
    transport: Transport,
    topic: string,
    config: ProducerConfig = {},
    options: { ownsTransport?: boolean } = {},
  ) {
    validateTopicName(topic);
    this.topic = topic;
    this.config = resolveProducerConfig(config);
    this.#transport = transport;
    this.#ownsTransport = options.ownsTransport ?? false;
    const semantic = this.config.deliverySemantic;
    this.#policy = semantic.kind === "at-most-once" ? NO_RETRY : semantic.retry;
    this.#awaitAck = semantic.kind !== "at-most-once";
    this.#eos = semantic.kind === "exactly-once" ? semantic : null;
    // One wrapper for all of this producer's actors: a throwing inspector is reported once.
    const inspect = (this.#inspect = guardInspector(this.config.inspect, `producer of "${topic}"`));
    this.#txns = this.#eos?.transactionalId
      ? new TransactionManager(this.#transactionHost(), this.#eos.transactionalId, inspect)
      : null;
    this.#sequencer = this.#eos ? new Sequencer(this.#sequencerHost(this.#eos)) : null;
    this.transactions$ = this.#txns?.reports$ ?? EMPTY;
    this.lifecycle = createActor(producerMachine, inspect === null ? undefined : { inspect }).start();
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
          guards: {
            myTurn: ({ context }) => this.#isTurn(context.batch as Batch),
          },
        }),
      },
      actions: {
        settled: ({ context }) => this.#settle(context.batch as Batch, context.result!),
      },
    });
    this.#prepare().catch(() => {});
  }

  /** True while the producer accepts records. */
  get accepting(): boolean {
    return this.#accepting;
  }

  /**
   * Queues a record and resolves once it is accepted (possibly after waiting for buffer
   * space). `options` may give the record headers and a timestamp (default: the clock's time
   * now). Rejects at once, and accepts nothing, for a closed producer
   * ({@link ProducerClosedError}), a key, value, header or timestamp of the wrong type or form
   * (`InvalidRecordError` naming it) or an oversized record ({@link RecordTooLargeError});
   * for an unknown topic it rejects with `UnknownTopicError` once the broker has said so.
   */
  send(key: RecordKey, value: RecordValue, options?: SendOptions): Promise<ProduceOutput> {
    if (!this.#accepting) return Promise.reject(new ProducerClosedError());
    let k: Bytes | null;
    let v: Bytes;
    let h: RecordHeaders | null;
    let t: number;
    try {
      this.#txns?.requireOpen("send");
      k = keyBytes(key);
      v = valueBytes(value);
      h = options === undefined ? null : optionHeaders(options);
      t = options?.timestamp === undefined ? recordTime(this.config.clock) : recordTimestamp(options.timestamp);
    } catch (error) {
      return Promise.reject(error);
    }
    const size = v.length + (k === null ? 0 : k.length) + (h === null ? 0 : headersSize(h));
    if (size > this.config.maxRequestSize) {
      return Promise.reject(new RecordTooLargeError(size, this.config.maxRequestSize));
    }
    // Waiters go first, so records are accepted in the order send() was called.
    if (this.#lanes === null || this.#waiters.length > 0 || this.#buffered + size > this.config.bufferSize) {
      return this.#wait({ key: k, value: v, headers: h, timestamp: t, size, timer: undefined } as Waiter);
    }
    return this.#accepted(this.#append(k, v, h, t, size));
  }

  /**
   * Sends every queued record and resolves once each batch accepted before the call (and
   * each `send()` already waiting for space) has settled: acknowledged or failed, or written
   * for at-most-once. Every partition is flushed even if one fails.
   *
   * A barrier: rejects with {@link UndeliveredRecordsError} listing every batch that failed
   * since the previous barrier (`flush()` or `close()`) finished, up to the end of this one,
   * whether it failed before the call or during it, and whether or not `wait()` or
   * `outcomes$` already told of it. A transaction's writes are reported by its `commit()`.
   */
  flush(): Promise<void> {
    return this.#failures.barrier(async () => {
      const waiting = this.#waiters.map((w) => w.promise);
      await this.#settleAll([...this.#unsettled]);
      const late = await Promise.allSettled(waiting);
      await this.#settleAll(late.flatMap((r) => (r.status === "fulfilled" ? [r.value.batch] : [])));
    });
  }

  /**
   * Stops accepting records, delivers everything already accepted, then closes. Later
   * `send()` calls reject with {@link ProducerClosedError}. A barrier like {@link flush}: it
   * rejects if a batch failed since the previous barrier; the producer is closed either way.
   * An open transaction is aborted rather than left for the broker to time out, since a hung
   * transaction stalls every read-committed reader of its partitions. Once closed,
   * `outcomes$`, `batches$` and `transactions$` complete, and complete at once for anyone
   * subscribing later.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.lifecycle.send({ type: "CLOSE" });
      try {
        const state = this.#txns?.state;
        if (state === "in-transaction" || state === "abortable") await this.#txns!.abort();
        await this.flush();
      } finally {
        this.lifecycle.send({ type: "DRAINED" });
        this.#reports.complete();
        this.#settled.complete();
        this.#txns?.complete();
        if (this.#ownsTransport) await this.#transport.close();
      }
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- transactions --------------------------------------------------------------------

  /** The transaction lifecycle actor of a transactional producer, for inspection. */
  get transactionActor(): TransactionManager["actor"] | null {
    return this.#txns?.actor ?? null;
  }

  /**
   * Opens a transaction; `send()` and {@link sendOffsets} then belong to it until
   * {@link commit} or {@link abort}. Throws `InvalidTxnStateError` if one is already open or
   * ending, and `ProducerFencedError` once a newer producer took the transactional id.
   */
  async beginTransaction(): Promise<void> {
    const txns = this.#transactional("beginTransaction");
    await this.#prepare();
    txns.begin();
  }

  /** Makes a consumer group's offsets part of the open transaction (exactly-once consume-transform-produce). */
  sendOffsets(groupId: string, offsets: readonly PartitionOffset[], generation?: number): Promise<void> {
    // The executor turns a synchronous throw (not transactional) into a rejection, as an
    // `async` method would: callers handle failures through the promise alone.
    return new Promise((resolve) =>
      resolve(this.#transactional("sendOffsets").sendOffsets(groupId, offsets, generation))
    );
  }

  /**
   * Waits for the transaction's writes and commits them with its offsets, atomically. If any
   * write failed or the coordinator refuses, the transaction is aborted and this rejects with
   * `ProducerFencedError`, `TransactionTimedOutError` or `TransactionAbortedError`.
   */
  commit(): Promise<void> {
    // A synchronous throw rejects instead, as in sendOffsets.
    return new Promise((resolve) => resolve(this.#transactional("commit").commit()));
  }

  /** Aborts the open transaction: none of its writes become visible to read-committed readers. */
  abort(): Promise<void> {
    // A synchronous throw rejects instead, as in sendOffsets.
    return new Promise((resolve) => resolve(this.#transactional("abort").abort()));
  }

  /**
   * Runs `body` in a transaction: commits when it resolves, aborts and rethrows when it throws.
   *
   * ```ts
   * await producer.transaction(async (tx) => {
   *   await tx.send("key", "value");
   *   await tx.sendOffsets("group", [{ topic: "in", partition: 0, offset: 42 }]);
   * });
   * ```
   */
  async transaction<T>(body: (tx: TransactionContext) => Promise<T>): Promise<T> {
    const txns = this.#transactional("transaction");
    await this.beginTransaction();
    let result: T;
    try {
      result = await body({
        send: (key, value, options) => this.send(key, value, options),
        sendOffsets: (groupId, offsets, generation) => this.sendOffsets(groupId, offsets, generation),
      });
    } catch (error) {
      const state = txns.state;
      if (state === "in-transaction" || state === "abortable") await txns.abort();
      throw error;
    }
    await txns.commit();
    return result;
  }

  #transactional(operation: string): TransactionManager {
    if (this.#txns) return this.#txns;
    throw new InvalidTxnStateError(
      `${operation}() needs a transactional producer: use exactlyOnce({ transactionalId })`,
    );
  }

  #transactionHost() {
    return {
      topic: this.topic,
      identity: () => this.#identity!,
      call: <R extends Request>(request: R) => this.#call(request),
      reinit: () => this.#initIdentity(),
      settle: (batches: Batch[]) => this.#settleAll(batches),
      forget: (batches: readonly Batch[]) => this.#failures.forget(batches),
      resume: (partition: number) => {
        const lane = this.#lanes?.[partition];
        if (lane) this.#pump(lane);
      },
    };
  }

  #sequencerHost(eos: ExactlyOnce) {
    return {
      clock: this.config.clock,
      identity: () => this.#identity!,
      transactionalId: eos.transactionalId,
      newEpoch: async (producerId: number, epoch: number) =>
        (await this.#call({ api: "initProducerId", producerId, epoch })).epoch,
      resume: (partition: number) => this.#pump(this.#lanes![partition]!),
    };
  }

  // ---- accepting records -------------------------------------------------------------

  #append(
    key: Bytes | null,
    value: Bytes,
    headers: RecordHeaders | null,
    timestamp: number,
    size: number,
  ): ProduceOutput {
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
    batch.push(key, value, headers, timestamp);
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
      for (const lane of this.#lanes ?? []) if (lane.open) this.#lingerOut(lane, lane.open);
    });
  }

  /** Queues a send that waits for metadata or buffer space. */
  #wait(waiter: Waiter): Promise<ProduceOutput> {
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
    if (this.#lanes === null) this.#prepare().catch(() => {});
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
      waiter.resolve(this.#append(waiter.key, waiter.value, waiter.headers, waiter.timestamp, waiter.size));
    }
  }

  /**
   * Learns the partition count and, under exactly-once, gets a producer id and epoch. Both
   * requests are idempotent, so they are retried under every semantic. If they fail, the
   * waiting sends fail with them, and a later send() asks again: the topic may exist by then.
   */
  #prepare(): Promise<void> {
    this.#metadata ??= (async () => {
      try {
        let partitions: number;
        try {
          ({ partitions } = await this.#call({ api: "metadata", topic: this.topic }));
        } catch (error) {
          throw error instanceof DeliveryFailedError
            ? new MetadataUnavailableError(this.topic, error.attempts, error.cause)
            : error;
        }
        if (this.#eos) await this.#initIdentity();
        this.#lanes = Array.from({ length: partitions }, () => ({
          open: null,
          queue: [],
          inFlight: 0,
          lingered: false,
          sequence: this.#eos ? new PartitionSequence(this.#identity!.epoch) : null,
        }));
        this.#txns?.ready();
        this.#admit();
      } catch (error) {
        this.#metadata = null;
        for (const waiter of this.#waiters.splice(0)) {
          this.config.clock.clearTimeout(waiter.timer);
          waiter.reject(error);
        }
        throw error;
      }
    })();
    return this.#metadata;
  }

  /** Gets (or, for a transactional id, bumps) the producer id and epoch. */
  async #initIdentity(): Promise<void> {
    const eos = this.#eos!;
    const { producerId, epoch } = await this.#call({
      api: "initProducerId",
      ...(eos.transactionalId === null ? {} : { transactionalId: eos.transactionalId, instanceId: this.#instanceId }),
      transactionTimeoutMs: eos.transactionTimeoutMs,
    });
    this.#identity = { producerId, epoch };
    // A new epoch restarts every partition's sequences (only ever with nothing unresolved).
    for (const lane of this.#lanes ?? []) lane.sequence?.rebase(epoch);
  }

  /** A control request (metadata, producer id, transaction steps), retried while that can help. */
  #call<R extends Request>(request: R): Promise<Answer<R>> {
    const { clock, requestTimeout, deliveryTimeout } = this.config;
    return call(this.#transport, request, { clock, requestTimeout, timeout: deliveryTimeout });
  }

  // ---- batches -----------------------------------------------------------------------

  #openBatch(lane: Lane, partition: number): Batch {
    const batch = new Batch(this.#nextBatchId++, this.topic, partition);
    const input = { batch, policy: this.#policy, awaitAck: this.#awaitAck, random: this.config.random };
    const clock = this.config.clock;
    const inspect = this.#inspect;
    // The request actor the batch invokes lives in the batch's actor system, so this one
    // observer sees it (and every retry) too. Without one, no `inspect` key at all.
    batch.actor = createActor(this.#batchMachine, inspect === null ? { input, clock } : { input, clock, inspect })
      .start();
    lane.open = batch;
    this.#unsettled.add(batch);
    this.#txns?.track(batch);
    const { lingerMs } = this.config;
    if (lingerMs > 0) {
      batch.lingerTimer = clock.setTimeout(() => {
        if (lane.open === batch) this.#lingerOut(lane, batch);
      }, lingerMs);
    } else if (this.#lingerToken === null) {
      this.#armLinger();
    }
    return batch;
  }

  /**
   * A batch's linger is over. If the lane can dispatch it now, it is sealed; otherwise it
   * stays open and keeps taking records until a slot frees (as Kafka's accumulator does):
   * sealing it now would only queue a batch of a record or two behind the in-flight ones,
   * and every record would pay for a request of its own.
   */
  #lingerOut(lane: Lane, batch: Batch): void {
    const free = lane.queue.length === 0 && lane.inFlight < this.config.maxInFlight &&
      (lane.sequence === null || lane.sequence.open);
    if (free) this.#seal(lane, batch, false);
    else lane.lingered = true;
  }

  #seal(lane: Lane, batch: Batch, full: boolean): void {
    lane.open = null;
    lane.lingered = false;
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
      const batch = lane.queue[0]!;
      // Exactly-once: no new batch while an older one retries; a transactional batch waits
      // until its partition is part of the transaction.
      if (lane.sequence && !lane.sequence.open) return;
      if (this.#txns) {
        const refusal = this.#txns.refusal(batch.partition);
        if (refusal !== undefined) {
          // Its partition could not join the transaction: it can never go out.
          lane.queue.shift();
          batch.actor.send({ type: "REJECT", error: new DeliveryFailedError(0, "not-retriable", refusal) });
          continue;
        }
        if (!this.#txns.admitted(batch.partition)) return;
      }
      lane.queue.shift();
      lane.inFlight++;
      lane.sequence?.assign(batch);
      // Reported before DISPATCH: an at-most-once batch settles within it, and its end must
      // not come before its start.
      if (this.#reports.observed) {
        this.#reports.next({
          type: "dispatched",
          batchId: batch.id,
          topic: this.topic,
          partition: batch.partition,
          records: batch.values.length,
        });
      }
      batch.actor.send({ type: "DISPATCH", at: this.config.clock.now() });
    }
    if (lane.lingered && lane.open !== null && lane.queue.length === 0) this.#lingerOut(lane, lane.open);
  }

  /** The request machine's `transmit`: one attempt of one batch. */
  #transmit(context: RequestContext<Batch>, self: AnyActorRef): void {
    const { batch } = context;
    const { clock, requestTimeout, isolation } = this.config;
    const timeoutMs = attemptTimeout(context.policy, context.attempts, clock.now() - context.startedAt, requestTimeout);
    const sequence = this.#lanes![batch.partition]!.sequence;
    batch.request = self;
    const request: ProduceRequest = {
      api: "produce",
      topic: this.topic,
      partition: batch.partition,
      isolation,
      timeoutMs,
      keys: batch.keys,
      values: batch.values,
      headers: batch.headers,
      timestamps: batch.timestamps,
      ...(context.awaitAck ? {} : { ack: false }),
    };
    let reply: Promise<ProduceResponse>;
    try {
      const fields = sequence ? this.#sequencer!.fields(batch, sequence) : {};
      reply = this.#transport.request({ ...request, ...fields }, { timeoutMs });
    } catch (thrown) {
      // Nothing went out: the attempt failed, and the machine decides what follows.
      return self.send({ type: "ERROR", error: transportThrew(thrown), at: clock.now() });
    }
    self.send({ type: "SENT" });
    if (context.awaitAck) {
      if (sequence) sequence.outstanding++;
      const answered = () => sequence && this.#sequencer!.answered(sequence, batch.partition);
      reply.then(
        (answer) => {
          answered();
          if (answer.ok) {
            if (answer.offsets) batch.offsets = answer.offsets;
            return self.send({ type: "ACK", baseOffset: answer.baseOffset });
          }
          const error = errorFromWire(answer.error);
          self.send({
            type: "ERROR",
            error: sequence ? this.#sequencer!.judge(batch, sequence, error) : error,
            at: clock.now(),
          });
        },
        (error: unknown) => {
          answered();
          self.send({ type: "ERROR", error, at: clock.now() });
        },
      );
    } else {
      // At-most-once already let go of the batch; the one reply informs wait(), and a failed
      // one is still a failure the next barrier reports, as every other failure is.
      const failed = (cause: unknown) => {
        const error = new DeliveryFailedError(1, "at-most-once", cause);
        this.#failures.record(batch, error);
        batch.confirm({ error });
      };
      reply.then(
        (answer) => {
          if (answer.ok && answer.offsets) batch.offsets = answer.offsets;
          if (answer.ok) batch.confirm({ baseOffset: answer.baseOffset });
          else failed(errorFromWire(answer.error));
        },
        failed,
      );
    }
  }

  #isTurn(batch: Batch): boolean {
    return this.#lanes![batch.partition]!.sequence?.isTurn(batch) ?? true;
  }

  #reportRetry(context: RequestContext<Batch>): void {
    this.stats.retries++;
    this.#lanes![context.batch.partition]!.sequence?.retrying(context.batch);
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
    // A rejected batch never went out: it held no in-flight slot and no sequence.
    if (result.attempts > 0) {
      lane.inFlight--;
      lane.sequence?.resolve(batch);
    }
    if (result.status === "failed") {
      this.#failures.record(batch, result.error);
      this.#txns?.fail(result.error.cause ?? result.error);
    }
    this.#buffered -= batch.bytes;
    this.#unsettled.delete(batch);
    this.stats.batches++;
    if (result.status === "delivered") {
      this.stats.delivered += records;
      batch.confirm({ baseOffset: result.baseOffset });
    } else if (result.status === "failed") {
      this.stats.failed += records;
      batch.confirm({ error: batchError(result.error) });
    } else {
      this.stats.sentUnconfirmed += records;
    }
    batch.settle(result);
    if (this.#reports.observed) this.#reports.next(settledReport(batch));
    if (this.#settled.observed) this.#settled.next(batch);
    if (lane.sequence) this.#sequencer!.recheckTurns(lane.sequence);
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
