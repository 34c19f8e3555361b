/**
 * acktor over NATS JetStream against the raw `@nats-io` client, in one run on the same server
 * and the same 100-byte records.
 *
 *   npm run bench:nats [-- --records N] [--repeat R] [--window W] [--servers host:port]
 *                      [--rate R] [--latency-records N] [--cluster 3] [--json]
 *   npm run bench:nats -- --help     (every option, its default and what it does)
 *
 * Throughput (nats-cases.ts): raw baselines that do on the wire what each acktor case does,
 * and the acktor cases, in interleaved rounds, a fresh stream per pass; each row is its
 * median round. Open loop (nats-open-loop.ts): raw `js.publish` and acktor at a fixed offered
 * rate, send → ack p50 and p99. The targets are ratios of the same run (nats-report.ts).
 *
 * With `--cluster N` the benchmark starts its own N-node JetStream cluster (the test
 * harness's, on ports of its own), makes its topics with N replicas, and stops it at the end.
 *
 * @module
 */
import process from "node:process";
import { connectNats } from "../src/adapters/nats/index.ts";
import { defineCommand, readOptions } from "../src/cli/options.ts";
import { type NatsCluster, startNatsCluster } from "../test/helpers/nats-cluster.ts";
import { type Case, type Result, throughputCases } from "./nats-cases.ts";
import { acktorOpenLoop, type OpenLoopResult, rawOpenLoop } from "./nats-open-loop.ts";
import { NATS_OPTIONS } from "./nats-options.ts";
import { contextOf, type NatsBenchReport, reportLines, targetsOf } from "./nats-report.ts";
import { RECORD_BYTES } from "./records.ts";
import { formatInteger } from "./table.ts";

const command = defineCommand({
  usage: "npm run bench:nats --",
  summary: "acktor producers on NATS JetStream against the raw @nats-io client, on the same server and records.",
  options: {
    ...NATS_OPTIONS,
    window: { kind: "integer", default: 256, min: 1, help: "publishes in flight: raw windowed baselines and acktor" },
    rate: { kind: "integer", default: 5_000, min: 1, help: "open-loop case: records offered per second" },
    "latency-records": { kind: "integer", default: 20_000, min: 10, help: "open-loop case: records per publisher" },
    cluster: {
      kind: "integer",
      default: 0,
      help: "start a JetStream cluster of this many nodes (replicas = nodes) instead of using --servers; 0: none",
    },
    json: { kind: "boolean", help: "one JSON document with every result on stdout, instead of the tables" },
  },
});
const options = readOptions(command);
const PARTITIONS = 4;

/** Progress goes to stderr, so stdout holds only the report (or the JSON). */
const progress = (line: string): void => void process.stderr.write(`${line}\n`);

function runtime(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${process.version}`;
}

const values = Array.from({ length: Math.max(options.records, options["latency-records"]) }, (_, i) => {
  const value = new Uint8Array(RECORD_BYTES);
  new DataView(value.buffer).setUint32(0, i);
  return value;
});

let cluster: NatsCluster | null = null;
if (options.cluster > 0) {
  progress(`starting a ${options.cluster}-node JetStream cluster…`);
  cluster = await startNatsCluster({ size: options.cluster, label: "bench" });
}
try {
  const servers = cluster === null ? options.servers : cluster.clientUrls();
  const replicas = cluster === null ? 1 : cluster.size;
  const target = { servers, partitions: PARTITIONS, window: options.window };
  const admin = await connectNats({ servers, timeoutMs: 10_000 });
  let passes = 0;
  /** Runs `body` on a fresh stream, so no pass reads or dedups against another's messages. */
  const onFreshTopic = async <T>(framing: Case["framing"], body: (topic: string) => Promise<T>): Promise<T> => {
    const topic = `acktor-bench-${Date.now().toString(36)}-${passes++}`;
    await admin.createTopic(topic, { partitions: PARTITIONS, framing, storage: "file", replicas });
    try {
      return await body(topic);
    } finally {
      await admin.deleteTopic(topic);
    }
  };

  const cases = throughputCases(target);
  const rounds: Result[][] = cases.map(() => []);
  const records = values.slice(0, options.records);
  for (let round = 0; round < options.repeat; round++) {
    for (const [i, spec] of cases.entries()) {
      const result = await onFreshTopic(spec.framing, (topic) => spec.run(topic, records));
      rounds[i]!.push(result);
      progress(
        `  round ${round + 1}/${options.repeat}: ${result.case}: ${formatInteger(result.recordsPerSec)} records/s`,
      );
    }
  }
  const offered = values.slice(0, options["latency-records"]);
  const openLoop: OpenLoopResult[] = [];
  for (const run of [rawOpenLoop, acktorOpenLoop]) {
    const result = await onFreshTopic("message", (topic) => run(target, topic, offered, options.rate));
    openLoop.push(result);
    progress(`  open loop at ${options.rate}/s: ${result.case}: p99 ${result.p99.toFixed(2)} ms`);
  }
  await admin.close();

  const throughput = rounds.map(median);
  const report: NatsBenchReport = {
    date: new Date().toISOString().slice(0, 10),
    runtime: runtime(),
    server: cluster === null ? options.servers : `${cluster.size}-node cluster (${cluster.clientUrls().join(", ")})`,
    records: options.records,
    rounds: options.repeat,
    partitions: PARTITIONS,
    replicas,
    window: options.window,
    throughput,
    openLoop,
    targets: targetsOf(throughput, openLoop),
    context: contextOf(throughput),
  };
  if (options.json) console.log(JSON.stringify(report, null, 2));
  else for (const line of reportLines(report)) console.log(line);
} finally {
  await cluster?.stop();
}

/**
 * The round with the median throughput (the lower middle one for an even count), with every
 * round's records/s: on a shared machine the spread says how far one number can be trusted.
 */
function median(all: Result[]): Result {
  const sorted = [...all].sort((a, b) => a.recordsPerSec - b.recordsPerSec);
  return { ...sorted[Math.floor((all.length - 1) / 2)]!, rounds: all.map((r) => r.recordsPerSec) };
}
