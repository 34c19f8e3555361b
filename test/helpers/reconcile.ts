/**
 * Shared test fixtures: produce numbered records through a seeded chaos transport on a
 * virtual clock, then reconcile what the producer reported against the broker's log.
 */
import {
  chaos,
  type ChaosFault,
  type ChaosOptions,
  type ChaosTransport,
  createProducer,
  EmbeddedBroker,
  type ProduceOutput,
  type Producer,
  type ProducerConfig,
  type RecordMetadata,
  type RecordOutcome,
  VirtualClock,
} from "../../src/index.ts";
import { assertHolds, History, type HistoryReport, idOf, reportsMatchLog } from "./history.ts";

/** Record `i` carries the value `r<i>`; this reads `i` back. */
export function recordId(value: Uint8Array): number {
  return idOf(value);
}

export interface Run {
  readonly broker: EmbeddedBroker;
  readonly clock: VirtualClock;
  readonly transport: ChaosTransport;
  readonly producer: Producer;
  readonly outputs: ProduceOutput[];
  /** `wait()` of every record: its metadata, or the error it rejected with. */
  readonly waits: (RecordMetadata | Error)[];
  readonly outcomes: RecordOutcome[];
  readonly faults: ChaosFault[];
  /** Per record id, how many times it is in the log. */
  readonly copies: number[];
  /** Per partition, record ids in log order. */
  readonly logs: number[][];
  /** Whatever `flush()` rejected with, if it did. */
  readonly flushError: unknown;
  /** The history checker's report on the run: sends, `outcomes$` and `wait()`, the log read back. */
  readonly report: HistoryReport;
}

export interface RunOptions {
  readonly records?: number;
  readonly partitions?: number;
  readonly seed: number;
  readonly faults: Omit<ChaosOptions, "seed" | "clock">;
  readonly config: ProducerConfig;
  /** Key of record i; default: 50 keys, so records spread over partitions and keys repeat. */
  readonly key?: (i: number) => string | null;
}

/** Sends `records` numbered records through chaos and gathers everything to reconcile. */
export async function produceThroughChaos(options: RunOptions): Promise<Run> {
  const records = options.records ?? 10_000;
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("events", { partitions: options.partitions ?? 4 });
  const transport = chaos(broker.transport(), { seed: options.seed, clock, ...options.faults });
  const faults: ChaosFault[] = [];
  transport.events.on("fault", (fault) => faults.push(fault));
  const producer = createProducer(transport, "events", { clock, requestTimeout: 100, ...options.config });
  const outcomes: RecordOutcome[] = [];
  producer.outcomes$.subscribe((outcome) => outcomes.push(outcome));
  const key = options.key ?? ((i: number) => `key-${i % 50}`);

  const outputs: ProduceOutput[] = [];
  for (let i = 0; i < records; i++) outputs.push(await producer.send(key(i), `r${i}`));
  const flushError = await producer.flush().then(
    () => undefined,
    (error: unknown) => error,
  );
  const waits = await Promise.all(outputs.map((o) => o.wait().catch((error: Error) => error)));

  const history = new History(`seed ${options.seed}`);
  for (let i = 0; i < records; i++) history.send(i, { key: key(i), partition: outputs[i]!.partition });
  for (const outcome of outcomes) history.outcome(recordId(outcome.value), outcome);
  waits.forEach((wait, id) => history.outcome(id, wait));
  const logs: number[][] = [];
  for (let p = 0; p < (options.partitions ?? 4); p++) {
    const read = broker.read("events", p, { isolation: "read-uncommitted" });
    for (const r of read) history.read(recordId(r.value), p, r.offset);
    logs.push(read.map((r) => recordId(r.value)));
  }
  const report = history.check();
  const copies = Array.from({ length: records }, (_, id) => report.copies(id));
  return { broker, clock, transport, producer, outputs, waits, outcomes, faults, copies, logs, flushError, report };
}

/** Record ids carried by the produce requests that met a given fault. */
export function idsHitBy(run: Run, kind: ChaosFault["kind"]): number[] {
  return run.faults
    .filter((f) => f.kind === kind && f.request.api === "produce")
    .flatMap((f) => (f.request.api === "produce" ? f.request.values.map(recordId) : []));
}

/** Ids where `pred(copies)` holds. */
export function idsWhere(run: Run, pred: (copies: number) => boolean): number[] {
  return run.copies.flatMap((n, id) => (pred(n) ? [id] : []));
}

/**
 * Every resolved wait() (and every delivered outcome) points at a log slot holding that very
 * record, and no two share one.
 */
export function assertWaitsMatchLog(run: Run): void {
  assertHolds(run.report, reportsMatchLog);
}
