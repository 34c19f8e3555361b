/**
 * Kafka clients on the embedded broker, in one run: kcat (librdkafka) producing 100-byte
 * records idempotently with acks=all into acktor's Kafka listener and, with the same
 * command, into librdkafka's own in-process mock cluster (`-X test.mock.num.brokers=3`), in
 * interleaved rounds (median reported); kafkajs producing the same records into acktor's
 * listener; then reading them back with kcat and kafkajs. Prints a markdown table of
 * records/s and the acktor/mock ratio; it asserts nothing about speed, only that every
 * record arrived.
 *
 *   npm run bench:kafka                                 (node --expose-gc --import tsx benchmarks/kafka.ts)
 *   ACKTOR_BENCH_RECORDS=100000 npm run bench:kafka     (fewer records)
 *   ACKTOR_BENCH_ROUNDS=5 npm run bench:kafka           (kcat rounds per target, default 3)
 *
 * Topics have 4 partitions of 3 replicas, as the mock cluster makes them. The listener runs
 * in this process, and so does kafkajs, as in a test suite. Node only.
 *
 * @module
 */
import { rmSync } from "node:fs";
import process from "node:process";
import { EmbeddedBroker } from "../src/index.ts";
import { describeKcat, kafkajs, kcat } from "../test/helpers/kafka.ts";
import { kafkajsConsume, kafkajsProduce, writeRecordFile } from "./kafka-clients.ts";
import { machine, runtime } from "./runtime.ts";
import { formatInteger } from "./table.ts";

const RECORDS = Number(process.env.ACKTOR_BENCH_RECORDS ?? 1_000_000);
const ROUNDS = Number(process.env.ACKTOR_BENCH_ROUNDS ?? 3);
const RECORD_BYTES = 100;
const PARTITIONS = 4;
const TIMEOUT_MS = Number(process.env.ACKTOR_BENCH_TIMEOUT_MS ?? 600_000);
const KCAT_PRODUCE = ["-P", "-X", "enable.idempotence=true", "-X", "acks=all", "-l"];

/** Progress goes to stderr, so stdout holds only the report. */
const progress = (line: string): void => void process.stderr.write(`${line}\n`);

interface Row {
  readonly name: string;
  readonly records: number;
  readonly ms: number;
}

/** Times `body`, which returns how many records it handled. */
async function measure(name: string, body: () => Promise<number>): Promise<Row> {
  progress(`${name}…`);
  const start = performance.now();
  const records = await body();
  const row = { name, records, ms: performance.now() - start };
  progress(`  ${formatInteger(records)} records in ${(row.ms / 1000).toFixed(2)} s`);
  return row;
}

/** Fails the run when a check does not hold: a benchmark of lost records measures nothing. */
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`benchmark invalid: ${what}`);
}

const perSecond = (r: Row) => (r.records * 1000) / r.ms;
const median = (rows: Row[]): Row => [...rows].sort((a, b) => a.ms - b.ms)[Math.floor(rows.length / 2)]!;

/** A fresh broker listening on a free port, with the benchmark's topics. */
async function listening() {
  const broker = new EmbeddedBroker();
  for (const topic of ["kcat", "kafkajs"]) broker.createTopic(topic, { partitions: PARTITIONS, replicationFactor: 3 });
  const server = await broker.listen({ port: 0, host: "127.0.0.1", log: (line) => progress(`server: ${line}`) });
  const logEnd = (topic: string) =>
    Array.from({ length: PARTITIONS }, (_, p) => broker.partitionState(topic, p).logEndOffset).reduce((a, b) => a + b);
  return { broker, server, logEnd };
}

const file = writeRecordFile(RECORDS, RECORD_BYTES);
let target: Awaited<ReturnType<typeof listening>> | null = null;
try {
  const mockRounds: Row[] = [];
  const acktorRounds: Row[] = [];
  // Interleaved, so that a slow stretch of the machine costs both targets alike; each acktor
  // round has a broker of its own, so no round writes on top of another's log.
  for (let round = 1; round <= ROUNDS; round++) {
    mockRounds.push(
      await measure(`round ${round}: kcat -P → librdkafka mock cluster (3 brokers)`, async () => {
        const args = ["-b", "mock", "-X", "test.mock.num.brokers=3", "-t", "kcat", ...KCAT_PRODUCE, file];
        const run = await kcat(args, { timeoutMs: TIMEOUT_MS });
        check(run.code === 0 && !/fail|error/i.test(run.stderr), describeKcat(run));
        return RECORDS;
      }),
    );
    await target?.server.close();
    target = null;
    // The previous round's broker holds a million records: collect it now, not during this round.
    (globalThis as { gc?: () => void }).gc?.();
    const t = target = await listening();
    acktorRounds.push(
      await measure(`round ${round}: kcat -P → acktor's Kafka listener`, async () => {
        const run = await kcat(["-b", t.server.url, "-t", "kcat", ...KCAT_PRODUCE, file], { timeoutMs: TIMEOUT_MS });
        check(run.code === 0, describeKcat(run));
        check(t.logEnd("kcat") === RECORDS, `acktor's log holds ${t.logEnd("kcat")} of ${RECORDS} records`);
        return RECORDS;
      }),
    );
  }
  const t = target!;
  const kafka = await kafkajs(t.server.url, "bench", { requestTimeout: 30_000 });
  const rows: Row[] = [
    { ...median(mockRounds), name: "kcat -P → librdkafka mock cluster (3 brokers)" },
    { ...median(acktorRounds), name: "kcat -P → acktor's Kafka listener" },
    await measure("kafkajs producer (idempotent, 10,000 per send) → acktor", async () => {
      await kafkajsProduce(kafka, "kafkajs", RECORDS, RECORD_BYTES);
      check(t.logEnd("kafkajs") === RECORDS, `acktor's log holds ${t.logEnd("kafkajs")} of ${RECORDS} records`);
      return RECORDS;
    }),
    await measure("kcat -C -e ← acktor", async () => {
      const args = ["-C", "-b", t.server.url, "-t", "kcat", "-e", "-o", "beginning", "-q"];
      const run = await kcat(args, { timeoutMs: TIMEOUT_MS, keepStdout: false });
      check(run.code === 0 && run.lines === RECORDS, describeKcat(run));
      return run.lines;
    }),
    await measure("kafkajs consumer ← acktor", () => kafkajsConsume(kafka, "kafkajs", RECORDS, TIMEOUT_MS)),
  ];

  const rates = (rounds: Row[]) => rounds.map((r) => formatInteger(perSecond(r))).join(", ");
  console.log(
    `acktor Kafka listener: ${formatInteger(RECORDS)} records of ${RECORD_BYTES} bytes, ${PARTITIONS} partitions`,
  );
  console.log(`${runtime()}, ${machine()}; kcat with -X enable.idempotence=true -X acks=all\n`);
  console.log("| case | records | seconds | records/s |");
  console.log("|---|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${formatInteger(r.records)} | ${(r.ms / 1000).toFixed(2)} | ${formatInteger(perSecond(r))} |`,
    );
  }
  const ratio = perSecond(rows[1]!) / perSecond(rows[0]!);
  console.log(`\nkcat -P rows: the median of ${ROUNDS} interleaved rounds (records/s per round:`);
  console.log(`mock ${rates(mockRounds)}; acktor ${rates(acktorRounds)}).`);
  console.log(`kcat into acktor ÷ kcat into the mock cluster: ${ratio.toFixed(2)}× (the issue's target: ≥ 0.5×)`);
} finally {
  await target?.server.close();
  rmSync(file, { force: true });
}
