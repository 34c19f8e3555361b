/**
 * The main job: the same records, through the same seeded faults, with each delivery
 * semantic, reconciled against the broker's log. It runs on a virtual clock, so one seed
 * always prints the same table, and timeouts and backoffs cost no waiting.
 */
import type { ChaosOptions } from "../transport/chaos.ts";
import { chaos } from "../transport/chaos.ts";
import { EmbeddedBroker } from "../broker/broker.ts";
import { VirtualClock } from "../runtime/virtual-clock.ts";
import { createProducer } from "../producer/create.ts";
import { atLeastOnce, atMostOnce, type DeliverySemantic, exactlyOnce } from "../producer/config.ts";

/** One line of the demo's table. */
export interface DemoRow {
  readonly semantic: DeliverySemantic["kind"];
  /** Records handed to `send()`. */
  readonly sent: number;
  /** Distinct records found in the log. */
  readonly delivered: number;
  /** Records not in the log. */
  readonly lost: number;
  /** Extra copies in the log. */
  readonly duplicated: number;
  /** Records whose failure the producer reported (at-most-once never waits, so never knows). */
  readonly reportedFailed: number;
  /** Wall-clock throughput of the whole run. */
  readonly recordsPerSecond: number;
  /** Simulated time the run took, faults included. */
  readonly simulatedMs: number;
  /** Whether the semantic kept its promise: no duplicates, no loss, or neither. */
  readonly guaranteeHeld: boolean;
}

/** Demo settings. */
export interface DemoOptions {
  records?: number;
  seed?: number;
  faults?: Omit<ChaosOptions, "seed" | "clock">;
}

/** Default fault profile: 2% of requests and 2% of acks lost, and an occasional disconnect. */
export const DEMO_FAULTS = { dropRequest: 0.02, dropResponse: 0.02, disconnect: 0.005 } as const;

/** Runs every semantic through the same faults and reconciles each against its log. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoRow[]> {
  const retry = { maxRetries: 20, initialDelay: 5, maxDelay: 200, strategy: "exponential" } as const;
  const semantics: DeliverySemantic[] = [atMostOnce(), atLeastOnce(retry), exactlyOnce({ retry })];
  const rows: DemoRow[] = [];
  for (const semantic of semantics) rows.push(await runOne(semantic, options));
  return rows;
}

async function runOne(semantic: DeliverySemantic, options: DemoOptions): Promise<DemoRow> {
  const records = options.records ?? 100_000;
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  const partitions = 4;
  broker.createTopic("demo", { partitions });
  const transport = chaos(broker.transport(), { seed: options.seed ?? 7, clock, ...(options.faults ?? DEMO_FAULTS) });
  const producer = createProducer(transport, "demo", { clock, deliverySemantic: semantic, requestTimeout: 50, batchSize: 64 * 1024 });

  // Each value carries its record number in its first 4 bytes, so reconciling is exact and cheap.
  const started = performance.now();
  for (let i = 0; i < records; i++) {
    const value = new Uint8Array(100);
    new DataView(value.buffer).setUint32(0, i);
    await producer.send(null, value);
  }
  // A failed flush is reported in the row: that is what the demo is about.
  await producer.flush().catch(() => {});
  const seconds = (performance.now() - started) / 1000;
  const reportedFailed = producer.stats.failed;
  await producer.close().catch(() => {});

  const copies = new Uint32Array(records);
  for (let p = 0; p < partitions; p++) {
    for (const record of broker.read("demo", p, { isolation: "read-uncommitted" })) {
      copies[new DataView(record.value.buffer, record.value.byteOffset).getUint32(0)]!++;
    }
  }
  let delivered = 0;
  let duplicated = 0;
  for (const n of copies) {
    if (n > 0) delivered++;
    if (n > 1) duplicated += n - 1;
  }
  const lost = records - delivered;
  return {
    semantic: semantic.kind,
    sent: records,
    delivered,
    lost,
    duplicated,
    reportedFailed,
    recordsPerSecond: Math.round(records / seconds),
    simulatedMs: Math.round(clock.now()),
    guaranteeHeld: {
      "at-most-once": duplicated === 0,
      "at-least-once": lost === 0,
      "exactly-once": lost === 0 && duplicated === 0,
    }[semantic.kind],
  };
}
