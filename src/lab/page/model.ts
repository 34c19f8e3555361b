/**
 * One column's run as the lab watches it: a {@link DemoObserver} handed to the demo's own
 * `runOne`, which collects what the run's producer and consumers report (outcomes, retries,
 * actor states) and reads the broker for the rest. It only listens, so the run's row is the
 * one `npm run demo` prints for the same settings; the one thing it can do is crash the
 * running consumer instance, when asked to.
 *
 * @module
 */
import type { Subscription } from "rxjs";
import type { ConsumerInstance } from "../../demo/consume.ts";
import type { DemoObserver, DemoRun } from "../../demo/semantics.ts";
import type { Producer } from "../../producer/producer.ts";
import { MachineCounts } from "./machines-view.ts";
import { type ConsumerTally, LogTally } from "./tally.ts";

/** Where a run is. */
export type Phase = "waiting" | "producing" | "consuming" | "done";

/** A batch retry, as `batches$` reported it, at the run's simulated time. */
export interface RetryEvent {
  /** Simulated ms since the run started. */
  readonly at: number;
  readonly batchId: number;
  readonly partition: number;
  /** The attempt about to be made (2 for the first retry). */
  readonly attempt: number;
  readonly delayMs: number;
  /** What failed the attempt before, e.g. "RequestTimedOutError". */
  readonly error: string;
}

/** Producer-side counts so far. */
export interface ProducerCounts {
  /** Records handed to `send()` and accepted. */
  readonly sent: number;
  /** Outcomes: acknowledged by the broker. */
  readonly acked: number;
  /** Outcomes: sent once, not waited for (at-most-once). */
  readonly unconfirmed: number;
  /** Outcomes: failed, reported by the producer. */
  readonly failed: number;
  /** Batch retries (`batches$` retry reports). */
  readonly retries: number;
  /** Distinct records in the log. */
  readonly inLog: number;
  readonly duplicated: number;
  /** Records never in the log: known once the producer is done, null before. */
  readonly lost: number | null;
}

export class ColumnModel implements DemoObserver {
  phase: Phase = "waiting";
  readonly machines = new MachineCounts();
  readonly inspect = this.machines.inspect;
  readonly retries: RetryEvent[] = [];
  /** Consumer instances started, crashed ones included. */
  instances = 0;
  readonly #records: number;
  readonly #transactional: boolean;
  readonly #subscriptions: Subscription[] = [];
  #run: DemoRun | null = null;
  #producer: Producer | null = null;
  #log: LogTally | null = null;
  #instance: ConsumerInstance | null = null;
  /** A crash asked for before the consumers started: the first instance gets it. */
  #crashOnStart = false;
  #outcomes = { acked: 0, unconfirmed: 0, failed: 0 };
  #consumerTally: ConsumerTally = { processed: 0, lost: 0, processedTwice: 0, handlerReruns: 0, handled: 0 };

  constructor(records: number, transactional: boolean) {
    this.#records = records;
    this.#transactional = transactional;
  }

  run(run: DemoRun): void {
    this.#run = run;
    this.#log = new LogTally(run, this.#records);
    this.phase = "producing";
  }

  producer(producer: Producer): void {
    this.#producer = producer;
    const clock = this.#run!.clock;
    const outcomes = this.#outcomes;
    this.#subscriptions.push(
      producer.outcomes$.subscribe((outcome) => {
        if (outcome.status === "delivered") outcomes.acked++;
        else if (outcome.status === "sent-unconfirmed") outcomes.unconfirmed++;
        else outcomes.failed++;
      }),
      producer.batches$.subscribe((report) => {
        if (report.type !== "retry") return;
        const error = report.error as { name?: unknown } | null;
        this.retries.push({
          at: clock.now(),
          batchId: report.batchId,
          partition: report.partition,
          attempt: report.attempt,
          delayMs: report.delayMs,
          error: typeof error?.name === "string" ? error.name : String(report.error),
        });
      }),
    );
  }

  produced(): void {
    this.#log?.readLog();
    this.phase = "consuming";
  }

  consumer(instance: ConsumerInstance): void {
    this.instances++;
    this.#instance = instance;
    if (this.#crashOnStart) this.#crashOnStart = !instance.crash();
  }

  /** The run ended: counts are read one last time, and nothing is kept listening. */
  finish(): void {
    if (this.#instance) this.consumerCounts(true);
    this.#instance = null;
    for (const subscription of this.#subscriptions.splice(0)) subscription.unsubscribe();
    this.phase = "done";
  }

  /**
   * Crashes the running consumer instance in its handler, a few records on (see
   * `ConsumerInstance.crash`), or the first one if none runs yet; false if it cannot (the run
   * is over, or that instance is already doomed).
   */
  crash(): boolean {
    if (this.phase === "producing" && !this.#crashOnStart) return (this.#crashOnStart = true);
    return this.phase === "consuming" && (this.#instance?.crash() ?? false);
  }

  /** Whether {@link crash} would crash a consumer instance. */
  get crashable(): boolean {
    return this.phase === "producing" || (this.phase === "consuming" && this.#instance !== null);
  }

  /** Simulated ms the run has taken so far. */
  get simulatedMs(): number {
    return this.#run?.clock.now() ?? 0;
  }

  producerCounts(): ProducerCounts {
    const log = this.#log;
    if (this.phase === "producing") log?.readLog();
    return {
      sent: this.#producer?.stats.accepted ?? 0,
      ...this.#outcomes,
      retries: this.retries.length,
      inLog: log?.inLog ?? 0,
      duplicated: log?.duplicated ?? 0,
      lost: this.phase === "consuming" || this.phase === "done" ? (log?.lost ?? null) : null,
    };
  }

  /** Consumer-side counts; read afresh when `refresh` (a scan of the log: not every frame). */
  consumerCounts(refresh: boolean): ConsumerTally {
    if (refresh && this.#instance && this.#log) {
      this.#consumerTally = this.#log.consumers(this.#instance.handled, this.#transactional);
    }
    return this.#consumerTally;
  }
}
