/**
 * The main job: each delivery semantic end to end, producer and consumer, through the same
 * seeded faults, reconciled against the broker's log and against what the consumers
 * actually processed.
 *
 * - at-most-once: an `atMostOnce()` producer, and a consumer that commits before processing.
 * - at-least-once: an `atLeastOnce()` producer, and a consumer that commits after processing.
 * - exactly-once: an idempotent producer writes the input; a consume-transform-produce stage
 *   (commit `transactional`, an `exactlyOnce({ transactionalId })` producer) copies it to an
 *   output topic, read back read-committed.
 *
 * Faults strike both sides: chaos on the producer's transport and on every consumer's, and
 * consumer instances that crash at seeded points, each followed by a new instance in the
 * same group. It all runs on a virtual clock, so one seed always prints the same table, and
 * timeouts, backoffs and session expiries cost no waiting.
 *
 * @module
 */
import type { ChaosOptions } from "../transport/chaos.ts";
import { chaos } from "../transport/chaos.ts";
import { EmbeddedBroker } from "../broker/broker.ts";
import type { CommitStrategy } from "../consumer/config.ts";
import { VirtualClock } from "../runtime/virtual-clock.ts";
import { createProducer } from "../producer/create.ts";
import type { Producer } from "../producer/producer.ts";
import type { RetryPolicy } from "../retry/policy.ts";
import { atLeastOnce, atMostOnce, type DeliverySemantic, exactlyOnce } from "../producer/config.ts";
import { type ConsumeObserver, consumeWithCrashes, type Crash, seedFor } from "./consume.ts";
import { guaranteeHeld, idOf, reconcile, type Tally, valueOf } from "./reconcile.ts";

/** One line of the demo's table. */
export interface DemoRow {
  readonly semantic: DeliverySemantic["kind"];
  /** The consumer's commit strategy. */
  readonly commit: CommitStrategy;
  /** Records handed to `send()`. */
  readonly sent: number;
  /** Distinct records found in the log ("in log"). */
  readonly delivered: number;
  /** Records the producer never got into the log. */
  readonly lost: number;
  /** Extra copies the producer wrote to the log. */
  readonly duplicated: number;
  /** Records whose failure the producer reported (at-most-once never waits, so never knows). */
  readonly reportedFailed: number;
  /**
   * Distinct records processed: a handler completed them (at-most-once, at-least-once), or
   * they are in the read-committed output (exactly-once).
   */
  readonly processed: number;
  /** Records in the log that were never processed: lost on the consumer side. */
  readonly lostByConsumer: number;
  /**
   * Records processed more than once, end to end: a duplicate in the log is processed once
   * per copy, and a redelivered record again. For exactly-once, records in the output twice.
   */
  readonly processedTwice: number;
  /**
   * Handler runs beyond the first per log entry: records handed out again after a crash or an
   * aborted transaction. For exactly-once these never reach the read-committed output.
   */
  readonly handlerReruns: number;
  /** Consumer instances that crashed, and where. */
  readonly crashes: readonly Crash[];
  /** Consumer instances started in the group, the crashed ones included. */
  readonly consumers: number;
  /** Consumer runs that failed by themselves (not a planned crash); expected none. */
  readonly consumerFailures: readonly string[];
  /** Records sent over the wall-clock time of the whole run, producing and consuming. */
  readonly recordsPerSecond: number;
  /** Simulated time the run took, faults and session expiries included. */
  readonly simulatedMs: number;
  /** Whether the semantic kept its promise end to end: nothing processed twice, nothing lost, or both. */
  readonly guaranteeHeld: boolean;
}

/** Demo settings. */
export interface DemoOptions {
  records?: number;
  seed?: number;
  /** Faults on the producer's transport and on every consumer's. */
  faults?: Omit<ChaosOptions, "seed" | "clock">;
  /** Consumer instances that crash per semantic before one is left to finish. */
  crashes?: number;
  /** Partitions of the input and output topics; default 4. */
  partitions?: number;
  /** The producer's batch size in bytes; default 64 KiB. */
  batchSize?: number;
  /** A window on the run (the delivery lab's): it sees everything and changes nothing. */
  observe?: DemoObserver;
}

/** What a run is made of, for a {@link DemoObserver}. */
export interface DemoRun {
  readonly clock: VirtualClock;
  readonly broker: EmbeddedBroker;
  /** The topic the producer writes and the consumers read. */
  readonly topic: string;
  /** Where a `transactional` consumer copies each record. */
  readonly outputTopic: string;
  readonly partitions: number;
  /** The consumer group, whose committed offsets say how far the consumers got. */
  readonly groupId: string;
}

/**
 * Hooks on a run, each called as its moment comes. None of them changes what the run does:
 * one seed gives the same row watched or not (the lab's reconciliation relies on it).
 */
export interface DemoObserver extends ConsumeObserver {
  /** The run is set up, nothing sent yet. */
  run?(run: DemoRun): void;
  /** The run's producer, before its first send. */
  producer?(producer: Producer): void;
  /** The producer is done (flushed and closed); the consumers start. */
  produced?(): void;
}

/** Default record count: enough for the producer faults to show, and the whole demo still takes seconds. */
export const DEMO_RECORDS = 100_000;
/** Default fault profile: 2% of requests and 2% of acks lost, and an occasional disconnect. */
export const DEMO_FAULTS = { dropRequest: 0.02, dropResponse: 0.02, disconnect: 0.005 } as const;
/** Default number of consumer crashes per semantic. */
export const DEMO_CRASHES = 3;

const DEFAULT_PARTITIONS = 4;
const BATCH_SIZE = 64 * 1024;
const INPUT = "demo";
const OUTPUT = "demo-out";

/** The producers' retry policy (at-least-once and exactly-once). */
export const DEMO_RETRY = { maxRetries: 20, initialDelay: 5, maxDelay: 200, strategy: "exponential" } as const;

/** A semantic and its consumer side. */
export interface Pairing {
  readonly semantic: DeliverySemantic;
  readonly commit: CommitStrategy;
}

/** Runs every semantic through the same faults and reconciles each, end to end. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoRow[]> {
  const rows: DemoRow[] = [];
  for (const [i, pairing] of pairings("transactional").entries()) rows.push(await runOne(pairing, i, options));
  return rows;
}

/**
 * Each semantic's producer and the consumer commit that completes it end to end; exactly-once
 * ends in `exactlyOnceCommit` (`transactional` where the engine has transactions,
 * `idempotent` on NATS JetStream).
 */
export function pairings(
  exactlyOnceCommit: "transactional" | "idempotent",
  retry: Partial<RetryPolicy> = DEMO_RETRY,
): Pairing[] {
  return [
    { semantic: atMostOnce(), commit: "before-processing" },
    { semantic: atLeastOnce(retry), commit: "after-processing" },
    { semantic: exactlyOnce({ retry }), commit: exactlyOnceCommit },
  ];
}

/**
 * One semantic end to end, the `index`-th of its run (which seeds its consumers' crashes):
 * one row of the table.
 */
export async function runOne({ semantic, commit }: Pairing, index: number, options: DemoOptions): Promise<DemoRow> {
  const records = options.records ?? DEMO_RECORDS;
  const seed = options.seed ?? 7;
  const faults = options.faults ?? DEMO_FAULTS;
  const partitions = options.partitions ?? DEFAULT_PARTITIONS;
  const { observe } = options;
  const groupId = `demo-${commit}`;
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic(INPUT, { partitions });
  broker.createTopic(OUTPUT, { partitions });
  observe?.run?.({ clock, broker, topic: INPUT, outputTopic: OUTPUT, partitions, groupId });
  const transport = chaos(broker.transport(), { seed, clock, ...faults });
  const producer = createProducer(transport, INPUT, {
    clock,
    deliverySemantic: semantic,
    requestTimeout: 50,
    batchSize: options.batchSize ?? BATCH_SIZE,
    ...(observe?.inspect ? { inspect: observe.inspect } : {}),
  });
  observe?.producer?.(producer);

  const started = performance.now();
  for (let i = 0; i < records; i++) {
    await producer.send(null, valueOf(i));
  }
  // A failed flush is reported in the row: that is what the demo is about.
  await producer.flush().catch(() => {});
  const reportedFailed = producer.stats.failed;
  await producer.close().catch(() => {});
  observe?.produced?.();

  const consumed = await consumeWithCrashes({
    broker,
    clock,
    topic: INPUT,
    partitions,
    groupId,
    commit,
    ...(commit === "transactional" ? { outputTopic: OUTPUT } : {}),
    // Each semantic meets its own crashes, all from the one seed.
    seed: seedFor(seed, index),
    faults,
    crashes: options.crashes ?? DEMO_CRASHES,
    ...(observe ? { observe } : {}),
  });
  const seconds = (performance.now() - started) / 1000;

  // Producer side: what the input log holds. Consumer side: what processing took effect;
  // for exactly-once, that is the read-committed output (a handler run in an aborted
  // transaction left nothing a reader sees).
  const log = function* () {
    for (let p = 0; p < partitions; p++) {
      for (const record of broker.read(INPUT, p, { isolation: "read-uncommitted" })) {
        yield { id: idOf(record.value), partition: p, offset: record.offset };
      }
    }
  };
  const output = function* () {
    for (let p = 0; p < partitions; p++) {
      for (const record of broker.read(OUTPUT, p, { isolation: "read-committed" })) yield idOf(record.value);
    }
  };
  const tally = reconcile({
    records,
    log: log(),
    runs: (p, offset) => consumed.handled[p]![offset]!,
    output: commit === "transactional" ? output() : null,
  });
  return demoRow(semantic.kind, commit, records, tally, {
    reportedFailed,
    consumed,
    seconds,
    simulatedMs: clock.now(),
  });
}

/** A row of the table: what a run did, and what reconciling its log and handler runs found. */
export function demoRow(
  kind: DeliverySemantic["kind"],
  commit: CommitStrategy,
  records: number,
  tally: Tally,
  run: {
    readonly reportedFailed: number;
    readonly consumed: {
      readonly crashes: readonly Crash[];
      readonly instances: number;
      readonly failures: readonly string[];
    };
    readonly seconds: number;
    readonly simulatedMs: number;
  },
): DemoRow {
  return {
    semantic: kind,
    commit,
    sent: records,
    ...tally,
    reportedFailed: run.reportedFailed,
    crashes: run.consumed.crashes,
    consumers: run.consumed.instances,
    consumerFailures: run.consumed.failures,
    recordsPerSecond: Math.round(records / run.seconds),
    simulatedMs: Math.round(run.simulatedMs),
    guaranteeHeld: guaranteeHeld(kind, tally, records),
  };
}
