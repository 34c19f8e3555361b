/**
 * acktor over NATS JetStream against the raw `@nats-io` client, in one run on the same server
 * and the same 100-byte records.
 *
 *   npm run bench:nats [-- --records N] [--repeat R] [--window W] [--servers host:port]
 *   npm run bench:nats -- --help     (every option, its default and what it does)
 *
 * Baselines: raw `js.publish` with a window of W in-flight publishes (each awaited PubAck is
 * one record), the same with a message id per publish (the server's dedup work that
 * exactly-once asks for), and raw core `nc.publish` (no ack). acktor cases: message framing (one record
 * per NATS message) at-most-once, at-least-once and exactly-once (message-id dedup), and
 * batch framing (one acktor batch per message, one PubAck per batch) at-least-once and
 * exactly-once. Rounds are interleaved; each row is its median round. "ack" is send → PubAck
 * per record (raw: publish → PubAck).
 *
 * @module
 */
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { connectNats, type Framing, type NatsTransport } from "../src/adapters/nats/index.ts";
import { atLeastOnce, atMostOnce, createProducer, type DeliverySemantic, exactlyOnce } from "../src/index.ts";
import { defineCommand, readOptions } from "../src/cli/options.ts";
import { NATS_OPTIONS } from "./nats-options.ts";
import { RECORD_BYTES } from "./records.ts";
import { Samples } from "./stats.ts";
import { type Column, formatFixed, formatInteger, renderTable } from "./table.ts";

const command = defineCommand({
  usage: "npm run bench:nats --",
  summary: "acktor producers on NATS JetStream against the raw @nats-io client, on the same server and records.",
  options: {
    ...NATS_OPTIONS,
    window: { kind: "integer", default: 256, min: 1, help: "publishes the raw js.publish baselines keep in flight" },
  },
});
const { records: RECORDS, repeat: REPEAT, servers: SERVERS, window: WINDOW } = readOptions(command);
const PARTITIONS = 4;

interface Result {
  readonly case: string;
  readonly recordsPerSec: number;
  readonly ackP50: number | null;
  readonly ackP99: number | null;
}

type Case = { readonly name: string; run(topic: string, values: Uint8Array[]): Promise<Result> };

const values = Array.from({ length: RECORDS }, (_, i) => {
  const value = new Uint8Array(RECORD_BYTES);
  new DataView(value.buffer).setUint32(0, i);
  return value;
});

function rawJetStream(withMsgId = false): Case {
  return {
    name: `raw js.publish${withMsgId ? " + msgID" : ""}, window ${WINDOW}`,
    async run(topic, records) {
      const nc = await connect({ servers: SERVERS });
      const js = jetstream(nc);
      const latency = new Samples();
      const started = performance.now();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < records.length) {
          const i = next++;
          const at = performance.now();
          await js.publish(`${topic}.${i % PARTITIONS}`, records[i]!, withMsgId ? { msgID: `raw-${i}` } : undefined);
          latency.add(performance.now() - at);
        }
      };
      await Promise.all(Array.from({ length: WINDOW }, worker));
      const seconds = (performance.now() - started) / 1000;
      await nc.close();
      return {
        case: this.name,
        recordsPerSec: records.length / seconds,
        ackP50: latency.percentile(50),
        ackP99: latency.percentile(99),
      };
    },
  };
}

function rawCore(): Case {
  return {
    name: "raw nc.publish (no ack)",
    async run(topic, records) {
      const nc = await connect({ servers: SERVERS });
      const started = performance.now();
      for (let i = 0; i < records.length; i++) nc.publish(`${topic}.${i % PARTITIONS}`, records[i]!);
      await nc.flush();
      const seconds = (performance.now() - started) / 1000;
      await nc.close();
      return { case: this.name, recordsPerSec: records.length / seconds, ackP50: null, ackP99: null };
    },
  };
}

function acktor(name: string, framing: Framing, semantic: DeliverySemantic): Case {
  return {
    name,
    framing,
    async run(topic, records) {
      const nats = await connectNats({ servers: SERVERS });
      const producer = createProducer(nats, topic, {
        deliverySemantic: semantic,
        partitioner: "round-robin",
        batchSize: 128 * 1024,
        requestTimeout: 10_000,
      });
      const latency = new Samples();
      const acked = semantic.kind !== "at-most-once";
      const started = performance.now();
      for (let i = 0; i < records.length; i++) {
        const sent = performance.now();
        const output = await producer.send(null, records[i]!);
        // Sampled (1 in 16): a callback per record would weigh on the loop it measures.
        if (acked && (i & 15) === 0) output.wait().then(() => latency.add(performance.now() - sent));
      }
      await producer.flush();
      const seconds = (performance.now() - started) / 1000;
      await producer.close();
      await nats.close();
      return {
        case: name,
        recordsPerSec: records.length / seconds,
        ackP50: acked ? latency.percentile(50) : null,
        ackP99: acked ? latency.percentile(99) : null,
      };
    },
  } as Case & { framing: Framing };
}

const retry = { maxRetries: 10, initialDelay: 50, maxDelay: 1_000, timeout: 60_000 };
const cases: (Case & { framing?: Framing })[] = [
  rawJetStream(),
  rawJetStream(true),
  rawCore(),
  acktor("acktor message, at-most-once", "message", atMostOnce()),
  acktor("acktor message, at-least-once", "message", atLeastOnce(retry)),
  acktor("acktor message, exactly-once", "message", exactlyOnce({ retry })),
  acktor("acktor batch, at-least-once", "batch", atLeastOnce(retry)),
  acktor("acktor batch, exactly-once", "batch", exactlyOnce({ retry })),
];

const admin: NatsTransport = await connectNats({ servers: SERVERS });
console.log(
  `acktor over NATS JetStream (${SERVERS}), ${RECORDS} records of ${RECORD_BYTES} bytes, ${PARTITIONS} partitions, ${REPEAT} rounds`,
);
const rounds: Result[][] = cases.map(() => []);
for (let round = 0; round < REPEAT; round++) {
  for (const [i, spec] of cases.entries()) {
    // A fresh stream per pass, so no pass reads or dedups against another's messages.
    const topic = `acktor-bench-${Date.now().toString(36)}-${i}`;
    await admin.createTopic(topic, { partitions: PARTITIONS, framing: spec.framing ?? "message", storage: "file" });
    const result = await spec.run(topic, values);
    await admin.deleteTopic(topic);
    rounds[i]!.push(result);
    console.error(`  round ${round + 1}/${REPEAT}: ${result.case}: ${formatInteger(result.recordsPerSec)} records/s`);
  }
}
await admin.close();

const median = (all: Result[]): Result =>
  [...all].sort((a, b) => a.recordsPerSec - b.recordsPerSec)[Math.floor((all.length - 1) / 2)]!;
const rows = rounds.map(median);
const raw = rows[0]!;
const rawDedup = rows[1]!;
const core = rows[2]!;
const columns: Column<Result>[] = [
  { header: "case", cell: (r) => r.case, align: "left" },
  { header: "records/s", cell: (r) => formatInteger(r.recordsPerSec) },
  { header: "vs raw js.publish", cell: (r) => formatFixed(r.recordsPerSec / raw.recordsPerSec, 2) },
  { header: "vs raw nc.publish", cell: (r) => formatFixed(r.recordsPerSec / core.recordsPerSec, 2) },
  { header: "ack p50 ms", cell: (r) => formatFixed(r.ackP50, 2) },
  { header: "ack p99 ms", cell: (r) => formatFixed(r.ackP99, 2) },
];
console.log("");
console.log(renderTable(columns, rows));
const byName = (name: string): Result => rows.find((r) => r.case === name)!;
const ratio = (name: string, base: Result): number => byName(name).recordsPerSec / base.recordsPerSec;
const verdict = (value: number, min: number): string => `${value >= min ? "met" : "NOT met"} (${value.toFixed(2)}x)`;
console.log("");
console.log(
  `target >= 0.9x raw: message at-most-once vs raw nc.publish: ${
    verdict(ratio("acktor message, at-most-once", core), 0.9)
  }`,
);
console.log(
  `target >= 0.9x raw: message at-least-once vs raw js.publish: ${
    verdict(ratio("acktor message, at-least-once", raw), 0.9)
  }`,
);
console.log(
  `target >= 0.85x raw at-least-once: message exactly-once: ${
    verdict(ratio("acktor message, exactly-once", raw), 0.85)
  }`,
);
console.log(
  `  (the server's own dedup cost: raw js.publish + msgID / raw js.publish = ${
    (rawDedup.recordsPerSec / raw.recordsPerSec).toFixed(2)
  }x; message exactly-once / raw + msgID = ${ratio("acktor message, exactly-once", rawDedup).toFixed(2)}x)`,
);
console.log(
  `target >= 10x raw js.publish: batch at-least-once: ${verdict(ratio("acktor batch, at-least-once", raw), 10)}`,
);
console.log(
  `target >= 10x raw js.publish: batch exactly-once: ${verdict(ratio("acktor batch, exactly-once", raw), 10)}`,
);
