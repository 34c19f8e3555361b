/**
 * acktor's consumers on NATS JetStream against the raw `@nats-io` durable consumer, in one
 * run on the same server and the same records.
 *
 *   npm run bench:nats-consumer [-- --records N] [--repeat R] [--servers host:port]
 *   npm run bench:nats-consumer -- --help     (every option, its default and what it does)
 *
 * Each framing's topic is filled once; every pass reads it all through a new durable
 * consumer. Baseline: the raw client's `consume()` (500 messages pulled ahead) acking each
 * message as it is handled, which is what after-processing does. acktor cases: after- and
 * before-processing (`ackAck` before handling) in message framing, and after-processing in
 * batch framing, where one ack covers a frame. Rounds are interleaved; each row is its
 * median round.
 *
 * @module
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { connectNats, type Framing, streamName } from "../src/adapters/nats/index.ts";
import { atLeastOnce, type CommitStrategy, createConsumer, createProducer } from "../src/index.ts";
import { defineCommand, readOptions } from "../src/cli/options.ts";
import { NATS_OPTIONS } from "./nats-options.ts";
import { RECORD_BYTES } from "./records.ts";
import { type Column, formatFixed, formatInteger, renderTable } from "./table.ts";

const command = defineCommand({
  usage: "npm run bench:nats-consumer --",
  summary:
    "acktor consumers on NATS JetStream against the raw @nats-io durable consumer, on the same server and records.",
  options: NATS_OPTIONS,
});
const { records: RECORDS, repeat: REPEAT, servers: SERVERS } = readOptions(command);
const PARTITIONS = 4;
let groups = 0;

interface Case {
  readonly name: string;
  readonly framing: Framing;
  /** Reads every record of `topic` once, as a new group; records/s. */
  run(topic: string): Promise<number>;
}

const raw: Case = {
  name: "raw consume() + ack, message framing",
  framing: "message",
  async run(topic) {
    const nc = await connect({ servers: SERVERS });
    const durable = `raw${groups++}`;
    await (await jetstreamManager(nc)).consumers.add(streamName(topic), {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    const consumer = await jetstream(nc).consumers.get(streamName(topic), durable);
    const started = performance.now();
    const messages = await consumer.consume({ max_messages: 500 });
    let count = 0;
    for await (const m of messages) {
      m.ack();
      if (++count === RECORDS) break;
    }
    const seconds = (performance.now() - started) / 1000;
    await nc.close();
    return RECORDS / seconds;
  },
};

function acktor(framing: Framing, commit: CommitStrategy): Case {
  return {
    name: `acktor ${commit}, ${framing} framing`,
    framing,
    async run(topic) {
      const nats = await connectNats({ servers: SERVERS });
      const consumer = createConsumer(nats, topic, { groupId: `acktor${groups++}`, commit });
      const stop = new AbortController();
      let count = 0;
      const started = performance.now();
      await consumer.run(
        () => {
          if (++count === RECORDS) stop.abort();
        },
        { signal: stop.signal },
      );
      const seconds = (performance.now() - started) / 1000;
      await consumer.close();
      await nats.close();
      return RECORDS / seconds;
    },
  };
}

const cases: Case[] = [
  raw,
  acktor("message", "after-processing"),
  acktor("message", "before-processing"),
  acktor("batch", "after-processing"),
];

const admin = await connectNats({ servers: SERVERS });
const topics = new Map<Framing, string>();
for (const framing of ["message", "batch"] as const) {
  const topic = `acktor-bench-consume-${framing}-${Date.now().toString(36)}`;
  await admin.createTopic(topic, { partitions: PARTITIONS, framing, storage: "file" });
  const producer = createProducer(admin, topic, {
    deliverySemantic: atLeastOnce(),
    partitioner: "round-robin",
    batchSize: 128 * 1024,
  });
  const value = new Uint8Array(RECORD_BYTES);
  for (let i = 0; i < RECORDS; i++) await producer.send(null, value);
  await producer.close();
  topics.set(framing, topic);
}
console.log(
  `acktor consumers over NATS JetStream (${SERVERS}), ${RECORDS} records of ${RECORD_BYTES} bytes, ${PARTITIONS} partitions, ${REPEAT} rounds`,
);
const rounds: number[][] = cases.map(() => []);
for (let round = 0; round < REPEAT; round++) {
  for (const [i, spec] of cases.entries()) {
    const rate = await spec.run(topics.get(spec.framing)!);
    rounds[i]!.push(rate);
    console.error(`  round ${round + 1}/${REPEAT}: ${spec.name}: ${formatInteger(rate)} records/s`);
  }
}
for (const topic of topics.values()) await admin.deleteTopic(topic);
await admin.close();

const median = (all: number[]): number => [...all].sort((a, b) => a - b)[Math.floor((all.length - 1) / 2)]!;
const rows = cases.map((spec, i) => ({ name: spec.name, rate: median(rounds[i]!) }));
const columns: Column<{ name: string; rate: number }>[] = [
  { header: "case", cell: (r) => r.name, align: "left" },
  { header: "records/s", cell: (r) => formatInteger(r.rate) },
  { header: "vs raw consume() + ack", cell: (r) => formatFixed(r.rate / rows[0]!.rate, 2) },
];
console.log("");
console.log(renderTable(columns, rows));
