/**
 * The benchmark cases: a raw in-process baseline and acktor producers on the embedded
 * broker, clean and under seeded faults.
 *
 * @module
 */
import {
  atLeastOnce,
  atMostOnce,
  chaos,
  createProducer,
  EmbeddedBroker,
  type ChaosOptions,
  type DeliverySemantic,
  type ProduceOutput,
  type ProducerConfig,
  type Transport,
  UndeliveredRecordsError,
} from "../src/index.ts";
import { AckTracker } from "./latency.ts";
import { reconcile, type Reconciliation } from "./records.ts";

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

/** The fault settings a case runs under, passed to `chaos()` with the run's seed. */
export type Faults = Omit<ChaosOptions, "seed" | "clock">;

export interface AcktorCase {
  readonly kind: "acktor";
  readonly name: string;
  readonly semantic: DeliverySemantic["kind"];
  readonly faults: Faults | null;
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
  { kind: "acktor", name: "at-least-once, 1% acks lost", semantic: "at-least-once", faults: { dropResponse: 0.01, ...PRODUCE_ONLY } },
  { kind: "acktor", name: "at-most-once, 1% requests lost", semantic: "at-most-once", faults: { dropRequest: 0.01, ...PRODUCE_ONLY } },
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
  readonly faults: Record<string, number> | null;
}

export function semanticFor(kind: DeliverySemantic["kind"]): DeliverySemantic {
  return kind === "at-most-once" ? atMostOnce() : atLeastOnce(RETRY);
}

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
    faults: null,
  };
}

async function runAcktor(spec: AcktorCase, values: readonly Uint8Array[], count: number, seed: number): Promise<CaseResult> {
  const broker = new EmbeddedBroker();
  broker.createTopic(TOPIC, { partitions: PARTITIONS, replicationFactor: 1 });
  const inner = broker.transport();
  const faulty = spec.faults ? chaos(inner, { seed, ...spec.faults }) : null;
  const transport: Transport = faulty ?? inner;
  const producer = createProducer(transport, TOPIC, { ...SHARED_CONFIG, deliverySemantic: semanticFor(spec.semantic) });
  // Let the producer's metadata request complete, so the timed loop starts on a ready producer.
  await new Promise((resolve) => setTimeout(resolve, 0));

  const tracker = new AckTracker(spec.semantic !== "at-most-once");
  const subscription = producer.batches$.subscribe((report) => tracker.report(report));
  let current: ProduceOutput["batch"] | null = null;

  const started = performance.now();
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
  const seconds = (performance.now() - started) / 1000;

  await tracker.settled();
  subscription.unsubscribe();
  const retries = producer.stats.retries;
  await producer.close().catch(() => {});
  await transport.close();
  const log: Reconciliation = reconcile(broker, TOPIC, PARTITIONS, count);
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
    faults: faulty ? { droppedRequests: faulty.stats.droppedRequests, droppedResponses: faulty.stats.droppedResponses } : null,
  };
}
