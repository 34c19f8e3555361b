/**
 * The main job on NATS JetStream (`npm run demo -- --nats <url>`): the same semantics, the
 * same seeded faults on the producer's connection, consumer instances that crash at seeded
 * points, and the same reconciliation, on a server the user points at. Each semantic gets
 * fresh, uniquely named topics, deleted at the end.
 *
 * What differs from the embedded broker, and why:
 * - Real time, not a virtual clock: the server keeps its own. Timeouts and `ack_wait` cost
 *   real waiting, so the default record count is smaller.
 * - Exactly-once ends in commit `idempotent` (output ids derived from the input record),
 *   since JetStream has no transactions.
 * - Faults strike the producer's connection only: a JetStream consumer needs the
 *   `NatsTransport` itself, which the chaos layer cannot wrap (see nats-consume.ts).
 *
 * @module
 */
import { connectNats, type NatsTransport } from "../adapters/nats/index.ts";
import { createProducer } from "../producer/create.ts";
import { chaos } from "../transport/chaos.ts";
import { seedFor } from "./consume.ts";
import { consumeNatsWithCrashes } from "./nats-consume.ts";
import { idOf, type LogEntry, reconcile, valueOf } from "./reconcile.ts";
import {
  DEMO_CRASHES,
  DEMO_FAULTS,
  type DemoOptions,
  type DemoRow,
  demoRow,
  type Pairing,
  pairings,
} from "./semantics.ts";

/** Demo settings on NATS. */
export interface NatsDemoOptions extends DemoOptions {
  /** The server, as `connectNats` takes it: `host:port` or `nats://host:port`. */
  readonly servers: string;
  /** How long connecting may take; default 5 000 ms. */
  readonly timeoutMs?: number;
}

/** Default record count on NATS: real time, so fewer than on the embedded broker. */
export const NATS_DEMO_RECORDS = 10_000;

/** What the table says about the consumers' connections on NATS. */
export const NATS_CONSUMER_FAULTS =
  "none injected (a JetStream consumer needs the NatsTransport itself, which the chaos layer cannot wrap)";

const PARTITIONS = 4;

/**
 * Runs every semantic on the NATS server at `options.servers` and reconciles each, end to
 * end. Throws `EngineUnavailableError` when the server cannot be reached or has no JetStream.
 */
export async function runNatsDemo(options: NatsDemoOptions): Promise<DemoRow[]> {
  const admin = await connectNats({ servers: options.servers, timeoutMs: options.timeoutMs ?? 5_000 });
  const run = `acktor-demo-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    const rows: DemoRow[] = [];
    for (const [i, pairing] of pairings("idempotent").entries()) {
      rows.push(await runOne(admin, `${run}-${i}`, pairing, i, options));
    }
    return rows;
  } finally {
    await admin.close();
  }
}

async function runOne(
  admin: NatsTransport,
  topic: string,
  { semantic, commit }: Pairing,
  index: number,
  options: NatsDemoOptions,
): Promise<DemoRow> {
  const records = options.records ?? NATS_DEMO_RECORDS;
  const seed = options.seed ?? 7;
  const output = commit === "idempotent" ? `${topic}-out` : null;
  const topics = output === null ? [topic] : [topic, output];
  for (const t of topics) await admin.createTopic(t, { partitions: PARTITIONS });
  try {
    const started = performance.now();
    // The producer gets a connection of its own, under the same seeded faults as on the
    // embedded broker. On a real clock a lost request or answer costs its timeout, and a
    // request must finish well within it on a busy server, else every retry of a timed-out
    // (but landed) batch is a pile of duplicates that no fault caused: so smaller batches
    // than on the embedded broker, and a longer timeout.
    const wire = await connectNats({ servers: options.servers, timeoutMs: options.timeoutMs ?? 5_000 });
    const transport = chaos(wire, { seed, ...(options.faults ?? DEMO_FAULTS) });
    const producer = createProducer(transport, topic, {
      deliverySemantic: semantic,
      requestTimeout: 2_000,
      batchSize: 16 * 1024,
    });
    for (let i = 0; i < records; i++) await producer.send(null, valueOf(i));
    // A failed flush is reported in the row: that is what the demo is about.
    await producer.flush().catch(() => {});
    const reportedFailed = producer.stats.failed;
    await producer.close().catch(() => {});
    await transport.close().catch(() => {});

    const log = await readTopic(admin, topic);
    const consumed = await consumeNatsWithCrashes({
      servers: options.servers,
      topic,
      size: log.length,
      groupId: `${topic}-${commit}`,
      commit,
      ...(output === null ? {} : { outputTopic: output }),
      seed: seedFor(seed, index),
      crashes: options.crashes ?? DEMO_CRASHES,
    });
    const elapsedMs = performance.now() - started;
    const tally = reconcile({
      records,
      log,
      runs: consumed.runs,
      output: output === null ? null : (await readTopic(admin, output)).map((entry) => entry.id),
    });
    return demoRow(semantic.kind, commit, records, tally, {
      reportedFailed,
      consumed,
      seconds: elapsedMs / 1000,
      simulatedMs: elapsedMs,
    });
  } finally {
    for (const t of topics) await admin.deleteTopic(t).catch(() => {});
  }
}

/** Every entry of a topic, read back through acktor's own fetch. */
async function readTopic(nats: NatsTransport, topic: string): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  for (let partition = 0; partition < PARTITIONS; partition++) {
    let offset = 0;
    for (;;) {
      const answer = await nats.request(
        { api: "fetch", topic, partition, offset, maxRecords: 1_000, isolation: "read-committed" },
        { timeoutMs: 10_000 },
      );
      if (!answer.ok) throw new Error(`reading ${topic}/${partition} back: ${answer.error.message}`);
      if (answer.records.length === 0) break;
      for (const r of answer.records) entries.push({ id: idOf(r.value), partition, offset: r.offset });
      offset = answer.nextOffset;
    }
  }
  return entries;
}
