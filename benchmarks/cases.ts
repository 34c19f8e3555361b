/**
 * The benchmark cases: a raw in-process baseline and acktor producers on the embedded
 * broker, clean and under seeded faults, for every delivery semantic: at-most-once,
 * at-least-once, exactly-once (idempotent) and exactly-once (transactional, committing on a
 * timer or a record count).
 *
 * @module
 */
import {
  atLeastOnce,
  atMostOnce,
  chaos,
  type ChaosOptions,
  createProducer,
  type DeliverySemantic,
  EmbeddedBroker,
  exactlyOnce,
  type Isolation,
  type ProduceOutput,
  type Producer,
  type ProducerConfig,
  TransactionAbortedError,
  type Transport,
  UndeliveredRecordsError,
} from "../src/index.ts";
import { AckTracker } from "./latency.ts";
import { reconcile, type Reconciliation } from "./records.ts";
import { Samples } from "./stats.ts";

export const TOPIC = "bench";
export const PARTITIONS = 4;

const KiB = 1024;

/**
 * The producer settings every acktor case shares; only the delivery semantic differs.
 *
 * - `batchSize` 128 KiB: ~1,300 100-byte records per request, so per-request costs (two
 *   actors, a few promises, a timer) are spread thin.
 * - `lingerMs` 0: a partial batch goes out after the current burst of sends; full batches
 *   never wait.
 * - `maxInFlight` 5 per partition (the default).
 * - `requestTimeout` 20 ms: the in-process broker answers within microseconds, so 20 ms is
 *   ample for a live request yet keeps the cost of a lost ack small.
 * - retry: fixed 1 ms backoff; 5 retries within 5 s is far more than 1% loss ever needs.
 * - everything else (bufferSize 32 MiB, sticky partitioner, read-uncommitted acks) default.
 */
export const SHARED_CONFIG = {
  batchSize: 128 * KiB,
  lingerMs: 0,
  maxInFlight: 5,
  requestTimeout: 20,
} as const satisfies ProducerConfig;

export const RETRY = { strategy: "fixed", initialDelay: 1, maxDelay: 1, maxRetries: 5, timeout: 5_000 } as const;

/**
 * The transactional cases' id. Every pass has its own broker, so one fixed id never fences
 * anything; `transactionTimeoutMs` stays at its default (60 s), far beyond any transaction here.
 */
export const TRANSACTIONAL_ID = "bench-txn";

/**
 * How often a time-driven transactional send loop looks at the clock: once per this many
 * records (~0.5 ms of sends at 2M records/s), so the loop pays one `performance.now()` per
 * 1,024 records and a commit is due at most that late.
 */
export const CLOCK_CHECK_RECORDS = 1024;

/** When a transactional send loop commits: after `ms` of wall time, or every `records` records. */
export type CommitEvery = { readonly ms: number } | { readonly records: number };

/** The fault settings a case runs under, passed to `chaos()` with the run's seed. */
export type Faults = Omit<ChaosOptions, "seed" | "clock">;

export interface AcktorCase {
  readonly kind: "acktor";
  readonly name: string;
  readonly semantic: DeliverySemantic["kind"];
  readonly faults: Faults | null;
  /**
   * Exactly-once only: makes the producer transactional (`transactionalId`), and the send
   * loop then runs in transactions committed this often. Absent: no transactions.
   */
  readonly commitEvery?: CommitEvery;
}

export interface RawCase {
  readonly kind: "raw";
  readonly name: string;
  /** Await a resolved promise per record, like the `await producer.send()` loop does. */
  readonly awaitEach: boolean;
}

export type Case = AcktorCase | RawCase;

// Faults apply to produce requests only: the 1% is meant for the records' batches, and the
// one metadata request each producer makes before timing starts would otherwise, on an
// unlucky seed, add a timeout to one case and not another.
const PRODUCE_ONLY = { apis: ["produce"] } as const satisfies Faults;

export const CASES: readonly Case[] = [
  { kind: "raw", name: "raw arrays (baseline)", awaitEach: false },
  { kind: "raw", name: "raw arrays + await/record", awaitEach: true },
  { kind: "acktor", name: "at-most-once", semantic: "at-most-once", faults: null },
  { kind: "acktor", name: "at-least-once", semantic: "at-least-once", faults: null },
  {
    kind: "acktor",
    name: "at-least-once, 1% acks lost",
    semantic: "at-least-once",
    faults: { dropResponse: 0.01, ...PRODUCE_ONLY },
  },
  {
    kind: "acktor",
    name: "at-most-once, 1% requests lost",
    semantic: "at-most-once",
    faults: { dropRequest: 0.01, ...PRODUCE_ONLY },
  },
  { kind: "acktor", name: "exactly-once (idempotent)", semantic: "exactly-once", faults: null },
  {
    kind: "acktor",
    name: "exactly-once, 1% acks lost",
    semantic: "exactly-once",
    faults: { dropResponse: 0.01, ...PRODUCE_ONLY },
  },
  {
    kind: "acktor",
    name: "transactional, commit every 100 ms",
    semantic: "exactly-once",
    faults: null,
    commitEvery: { ms: 100 },
  },
  {
    kind: "acktor",
    name: "transactional, commit every 1,000 records",
    semantic: "exactly-once",
    faults: null,
    commitEvery: { records: 1_000 },
  },
];

export interface CaseResult {
  readonly case: string;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSec: number;
  /** enqueue→ack, see latency.ts; null for the raw baseline. */
  readonly ackP50Ms: number | null;
  readonly ackP99Ms: number | null;
  /** dispatch→ack, see latency.ts. */
  readonly wireP50Ms: number | null;
  readonly wireP99Ms: number | null;
  readonly batches: number;
  readonly unackedBatches: number;
  readonly retries: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicated: number;
  /** Records in the log that were never sent; anything but 0 is a bug. */
  readonly unknown: number;
  /**
   * How delivered/lost/duplicated were read back: `read-committed` for transactional cases
   * (what a read-committed consumer would see), `read-uncommitted` (the whole log) otherwise.
   */
  readonly reconciledWith: Isolation;
  readonly faults: Record<string, number> | null;
  /** Transactional cases only (null elsewhere): committed transactions, the final commit included. */
  readonly commits: number | null;
  /** Aborted transactions; 0 expected, since no transactional case injects faults. */
  readonly aborts: number | null;
  /** Records in committed transactions, from `transactions$`; must equal `delivered`. */
  readonly committedRecords: number | null;
  /** `commits` over the same wall time as records/s. */
  readonly txnPerSec: number | null;
  /** How long `await producer.commit()` took, per commit (it waits for the transaction's acks, then endTxn). */
  readonly commitP50Ms: number | null;
  readonly commitP99Ms: number | null;
}

/** The delivery semantic of a case: at-least-once and exactly-once share {@link RETRY}. */
export function semanticFor(spec: AcktorCase): DeliverySemantic {
  switch (spec.semantic) {
    case "at-most-once":
      return atMostOnce();
    case "at-least-once":
      return atLeastOnce(RETRY);
    case "exactly-once":
      return exactlyOnce(spec.commitEvery ? { retry: RETRY, transactionalId: TRANSACTIONAL_ID } : { retry: RETRY });
  }
}

const NO_TRANSACTIONS = {
  commits: null,
  aborts: null,
  committedRecords: null,
  txnPerSec: null,
  commitP50Ms: null,
  commitP99Ms: null,
} as const;

/** Runs one case over the first `count` of `values`. */
export function runCase(spec: Case, values: readonly Uint8Array[], count: number, seed: number): Promise<CaseResult> {
  return spec.kind === "raw" ? runRaw(spec, values, count) : runAcktor(spec, values, count, seed);
}

/**
 * The ceiling: the same records appended to per-partition plain arrays (a key array and a
 * value array each, as the producer's batches hold them), spread over the partitions as the
 * producer's default sticky partitioner does: stay on a partition until a batch's worth of
 * bytes has gone there, then move to the next.
 */
async function runRaw(spec: RawCase, values: readonly Uint8Array[], count: number): Promise<CaseResult> {
  const keys: (Uint8Array | null)[][] = Array.from({ length: PARTITIONS }, () => []);
  const logs: Uint8Array[][] = Array.from({ length: PARTITIONS }, () => []);
  const batchSize = SHARED_CONFIG.batchSize;
  let partition = 0;
  let bytes = 0;
  const append = (value: Uint8Array): number => {
    if (bytes + value.length > batchSize) {
      partition = partition + 1 < PARTITIONS ? partition + 1 : 0;
      bytes = 0;
    }
    keys[partition]!.push(null);
    const index = logs[partition]!.push(value) - 1;
    bytes += value.length;
    return index;
  };
  const started = performance.now();
  if (spec.awaitEach) {
    // What the `await send()` loop costs with no producer behind it: one resolved promise
    // and one await per record.
    for (let i = 0; i < count; i++) await Promise.resolve(append(values[i]!));
  } else {
    for (let i = 0; i < count; i++) append(values[i]!);
  }
  const seconds = (performance.now() - started) / 1000;
  const stored = logs.reduce((n, log) => n + log.length, 0);
  return {
    case: spec.name,
    records: count,
    seconds,
    recordsPerSec: count / seconds,
    ackP50Ms: null,
    ackP99Ms: null,
    wireP50Ms: null,
    wireP99Ms: null,
    batches: 0,
    unackedBatches: 0,
    retries: 0,
    delivered: stored,
    lost: count - stored,
    duplicated: 0,
    unknown: 0,
    reconciledWith: "read-uncommitted",
    faults: null,
    ...NO_TRANSACTIONS,
  };
}

async function runAcktor(
  spec: AcktorCase,
  values: readonly Uint8Array[],
  count: number,
  seed: number,
): Promise<CaseResult> {
  const broker = new EmbeddedBroker();
  broker.createTopic(TOPIC, { partitions: PARTITIONS, replicationFactor: 1 });
  const inner = broker.transport();
  const faulty = spec.faults ? chaos(inner, { seed, ...spec.faults }) : null;
  const transport: Transport = faulty ?? inner;
  const producer = createProducer(transport, TOPIC, { ...SHARED_CONFIG, deliverySemantic: semanticFor(spec) });
  const transactional = spec.commitEvery !== undefined;
  // Start the timed loop on a ready producer: its metadata (and, for exactly-once, producer
  // id) requests done. beginTransaction() waits for exactly that; the others need one turn
  // of the event loop (those requests are never subject to faults, see PRODUCE_ONLY).
  if (transactional) await producer.beginTransaction();
  else await new Promise((resolve) => setTimeout(resolve, 0));

  const tracker = new AckTracker(spec.semantic !== "at-most-once");
  const subscription = producer.batches$.subscribe((report) => tracker.report(report));
  const txns = { commits: 0, aborts: 0, committedRecords: 0 };
  const txnSubscription = producer.transactions$.subscribe((report) => {
    if (report.type === "committed") {
      txns.commits++;
      txns.committedRecords += report.records;
    } else {
      txns.aborts++;
    }
  });
  const commitLatency = new Samples();

  const started = performance.now();
  if (spec.commitEvery) await sendInTransactions(producer, spec.commitEvery, values, count, tracker, commitLatency);
  else await sendAll(producer, values, count, tracker);
  const seconds = (performance.now() - started) / 1000;

  await tracker.settled();
  subscription.unsubscribe();
  txnSubscription.unsubscribe();
  const retries = producer.stats.retries;
  await producer.close().catch(() => {});
  await transport.close();
  // A transactional case is read back as a read-committed consumer would see it: committed
  // records must all be there, once; anything of an aborted transaction must not.
  const reconciledWith: Isolation = transactional ? "read-committed" : "read-uncommitted";
  const log: Reconciliation = reconcile(broker, TOPIC, PARTITIONS, count, reconciledWith);
  return {
    case: spec.name,
    records: count,
    seconds,
    recordsPerSec: count / seconds,
    ackP50Ms: tracker.enqueueToAck.percentile(50),
    ackP99Ms: tracker.enqueueToAck.percentile(99),
    wireP50Ms: tracker.dispatchToAck.percentile(50),
    wireP99Ms: tracker.dispatchToAck.percentile(99),
    batches: tracker.batches,
    unackedBatches: tracker.unacked,
    retries,
    ...log,
    reconciledWith,
    faults: faulty
      ? { droppedRequests: faulty.stats.droppedRequests, droppedResponses: faulty.stats.droppedResponses }
      : null,
    ...(transactional
      ? {
        ...txns,
        txnPerSec: txns.commits / seconds,
        commitP50Ms: commitLatency.percentile(50),
        commitP99Ms: commitLatency.percentile(99),
      }
      : NO_TRANSACTIONS),
  };
}

/** The plain loop: `await send()` per record, then `await flush()`. */
async function sendAll(
  producer: Producer,
  values: readonly Uint8Array[],
  count: number,
  tracker: AckTracker,
): Promise<void> {
  let current: ProduceOutput["batch"] | null = null;
  for (let i = 0; i < count; i++) {
    const output = await producer.send(null, values[i]!);
    if (output.batch !== current) {
      current = output.batch;
      tracker.opened(output);
    }
  }
  try {
    await producer.flush();
  } catch (error) {
    // Failed batches are reported as lost records below; anything else is a real failure.
    if (!(error instanceof UndeliveredRecordsError)) throw error;
  }
}

/**
 * The transactional loop, on a producer whose first transaction is already open: the same
 * `await send()` per record, in chunks of `records` (or of {@link CLOCK_CHECK_RECORDS} for a
 * timed commit, which then looks at the clock once per chunk); after a chunk that makes a
 * commit due, `await commit()` and `await beginTransaction()`. The last transaction is
 * committed at the end in place of `flush()` (it waits for every ack just the same), so the
 * per-record path is exactly the plain loop's and a commit is never empty.
 */
async function sendInTransactions(
  producer: Producer,
  every: CommitEvery,
  values: readonly Uint8Array[],
  count: number,
  tracker: AckTracker,
  commitLatency: Samples,
): Promise<void> {
  const chunk = "records" in every ? every.records : CLOCK_CHECK_RECORDS;
  const periodMs = "ms" in every ? every.ms : 0;
  let current: ProduceOutput["batch"] | null = null;
  let begun = performance.now();
  const commit = async (): Promise<void> => {
    const before = performance.now();
    try {
      await producer.commit();
    } catch (error) {
      // The transaction was aborted (its `transactions$` report counts it, its records show
      // up as lost); the producer is ready for the next one. Anything else is a real failure.
      if (!(error instanceof TransactionAbortedError)) throw error;
    }
    commitLatency.add(performance.now() - before);
  };
  let i = 0;
  while (i < count) {
    const end = Math.min(count, i + chunk);
    for (; i < end; i++) {
      const output = await producer.send(null, values[i]!);
      if (output.batch !== current) {
        current = output.batch;
        tracker.opened(output);
      }
    }
    if (i < count && (periodMs === 0 || performance.now() - begun >= periodMs)) {
      await commit();
      await producer.beginTransaction();
      // The period counts from the new transaction's start, so a slow commit does not make
      // the next one due at once.
      begun = performance.now();
    }
  }
  await commit();
}
