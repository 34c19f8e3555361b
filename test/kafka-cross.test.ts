/**
 * Cross-reads through the embedded broker's Kafka listener: what acktor's own producer wrote
 * (keys, values, headers, timestamps), kcat and kafkajs read identically; what kafkajs and
 * kcat wrote, acktor's own consumer reads with the same keys, values, headers and
 * timestamps. The broker's log (`broker.read`) is the reference each side is held to. The
 * kcat parts are skipped with ACKTOR_SKIP_ENGINES=1.
 */
import * as assert from "uvu/assert";
import type { Consumer, IHeaders, Producer } from "kafkajs";
import type { ConsumedRecord } from "../src/index.ts";
import { linked, test } from "./helpers/harness.ts";
import {
  dec,
  describeKcat,
  type KafkaFixture,
  kafkajs,
  kcat,
  type LogRecord,
  readLog,
  SKIP_ENGINES,
  startKafka,
  uniqueTopic,
  waitFor,
} from "./helpers/kafka.ts";

/** A record as every side is compared: text key, value and headers, ms timestamp. */
interface Plain {
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  headers: Record<string, string>;
  timestamp: number;
}

const byPosition = (a: Plain, b: Plain) => a.partition - b.partition || a.offset - b.offset;
const textHeaders = (h: Readonly<Record<string, Uint8Array>>) =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, dec(v)!]));
const fromLog = (partition: number, r: LogRecord | ConsumedRecord): Plain => ({
  partition,
  offset: r.offset,
  key: dec(r.key),
  value: dec(r.value)!,
  headers: textHeaders(r.headers),
  timestamp: r.timestamp,
});
/** The whole topic as the broker's log holds it (read committed). */
const logOf = (fx: KafkaFixture, topic: string, partitions: number): Plain[] =>
  Array.from({ length: partitions }, (_, p) => readLog(fx.broker, topic, p).map((r) => fromLog(p, r))).flat();

/** Reads `count` records of `topic` with acktor's own group consumer (`broker.consumer`), then closes it. */
async function readWithAcktor(fx: KafkaFixture, topic: string, count: number): Promise<Plain[]> {
  const consumer = fx.broker.consumer(topic, { groupId: uniqueTopic("g"), pollIntervalMs: 10 });
  const got: Plain[] = [];
  const stop = new AbortController();
  try {
    const running = consumer.run((r) => void got.push(fromLog(r.partition, r)), { signal: linked(stop) });
    await waitFor(() => got.length >= count, "acktor's consumer to read every record", {
      withinMs: 20_000,
      signal: linked(stop),
      progress: () => `${got.length} of ${count}`,
    });
    stop.abort();
    await running;
  } finally {
    stop.abort();
    await consumer.close();
  }
  return got.sort(byPosition);
}

/** What acktor's producer sends in the first test: keyed and keyless, with and without headers and timestamps. */
const SENT = [
  { key: "k1", value: "hello", headers: { trace: "abc-1", empty: "" }, timestamp: 1_600_000_000_123 },
  { key: null, value: "keyless", headers: {}, timestamp: 1_600_000_000_456 },
  { key: "k2", value: "ünïcødé ✓ | with a bar", headers: { a: "1", b: "two" }, timestamp: undefined },
  { key: "k1", value: "", headers: { h: "only header" }, timestamp: 1 },
] as const;

test("what acktor's producer wrote, kcat -J and kafkajs read identically: keys, values, headers, timestamps", {
  deadlineMs: 60_000,
}, async ({ signal }) => {
  const topic = uniqueTopic("from-acktor");
  let fx: KafkaFixture | null = null;
  let consumer: Consumer | null = null;
  try {
    fx = await startKafka({ [topic]: 2 });
    const producer = fx.broker.producer(topic);
    try {
      for (const r of SENT) {
        await producer.send(r.key, r.value, {
          headers: r.headers,
          ...(r.timestamp ? { timestamp: r.timestamp } : {}),
        });
      }
      await producer.flush();
    } finally {
      await producer.close();
    }
    const log = logOf(fx, topic, 2).sort(byPosition);
    assert.equal(
      log.map((r) => [r.key, r.value, r.headers]),
      log.map((r) => SENT.find((s) => s.value === r.value)).map((s) => [s!.key, s!.value, s!.headers]),
      "the log holds what was sent",
    );
    assert.is(log.length, SENT.length);

    if (!SKIP_ENGINES) {
      const run = await kcat(["-C", "-b", fx.url, "-t", topic, "-e", "-o", "beginning", "-q", "-J"], {
        timeoutMs: 20_000,
        signal,
      });
      assert.is(run.code, 0, describeKcat(run));
      const read = run.stdout.split("\n").filter(Boolean).map((line): Plain => {
        const j = JSON.parse(line) as {
          partition: number;
          offset: number;
          key: string | null;
          payload: string | null;
          headers?: (string | null)[];
          ts: number;
        };
        const h = j.headers ?? [];
        const headers: Record<string, string> = {};
        for (let i = 0; i < h.length; i += 2) headers[h[i]!] = h[i + 1] ?? "";
        return {
          partition: j.partition,
          offset: j.offset,
          key: j.key,
          value: j.payload ?? "",
          headers,
          timestamp: j.ts,
        };
      });
      assert.equal(read.sort(byPosition), log, `kcat -J: ${run.stdout}`);
    }

    const kafka = await kafkajs(fx.url, "cross-reader");
    consumer = kafka.consumer({ groupId: uniqueTopic("g"), maxWaitTimeInMs: 100 });
    const seen: Plain[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ partition, message }) =>
        Promise.resolve(
          void seen.push({
            partition,
            offset: Number(message.offset),
            key: message.key === null ? null : dec(message.key),
            value: dec(message.value ?? new Uint8Array())!,
            headers: Object.fromEntries(
              Object.entries(message.headers ?? {}).map(([k, v]) => [k, v === undefined ? "" : String(v)]),
            ),
            timestamp: Number(message.timestamp),
          }),
        ),
    });
    await waitFor(() => seen.length >= SENT.length, "kafkajs to read the records", { withinMs: 20_000, signal });
    assert.equal(seen.sort(byPosition), log, "kafkajs");
  } finally {
    await consumer?.disconnect().catch(() => {});
    await fx?.close();
  }
});

test(
  "what kafkajs wrote (headers, timestamps), acktor's consumer reads with the same keys, values, headers and timestamps",
  {
    deadlineMs: 60_000,
  },
  async () => {
    const topic = uniqueTopic("from-kafkajs");
    let fx: KafkaFixture | null = null;
    let producer: Producer | null = null;
    try {
      fx = await startKafka({ [topic]: 3 });
      const kafka = await kafkajs(fx.url, "cross-writer");
      producer = kafka.producer();
      await producer.connect();
      const sent = Array.from({ length: 30 }, (_, i) => ({
        key: i % 4 === 0 ? null : `key-${i % 7}`,
        value: `value-${i}`,
        headers: (i % 3 === 0 ? {} : { n: String(i), tag: "x".repeat(i % 5) }) as IHeaders,
        timestamp: String(1_700_000_000_000 + i * 1_000),
      }));
      // Two requests (one of them gzip-compressed, which kafkajs supports without a plugin).
      const { CompressionTypes } = await import("kafkajs");
      await producer.send({ topic, messages: sent.slice(0, 15) });
      await producer.send({ topic, messages: sent.slice(15), compression: CompressionTypes.GZIP });
      const expect = sent.map((s) => ({
        key: s.key,
        value: s.value,
        headers: s.headers,
        timestamp: Number(s.timestamp),
      }));
      const log = logOf(fx, topic, 3);
      const strip = (r: Plain) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp });
      const byValue = (a: { value: string }, b: { value: string }) => a.value.localeCompare(b.value);
      assert.equal(log.map(strip).sort(byValue), [...expect].sort(byValue), "the log");

      const got = await readWithAcktor(fx, topic, sent.length);
      assert.equal(got, [...log].sort(byPosition), "acktor's consumer reads what the log holds");
    } finally {
      await producer?.disconnect().catch(() => {});
      await fx?.close();
    }
  },
);

test("what kcat -P wrote with -K and -H, acktor's consumer and the log read back", {
  deadlineMs: 60_000,
}, async ({ signal }) => {
  if (SKIP_ENGINES) return void console.log("SKIPPED: kcat -P cross-read (ACKTOR_SKIP_ENGINES=1)");
  const topic = uniqueTopic("from-kcat");
  let fx: KafkaFixture | null = null;
  try {
    fx = await startKafka({ [topic]: 1 });
    const lines = ["k1:one", "k2:two", "k1:three"];
    const run = await kcat(
      [
        "-P",
        "-b",
        fx.url,
        "-t",
        topic,
        "-K",
        ":",
        "-H",
        "trace=t-1",
        "-H",
        "empty=",
        "-X",
        "enable.idempotence=true",
      ],
      { timeoutMs: 20_000, stdin: lines.join("\n") + "\n", signal },
    );
    assert.is(run.code, 0, describeKcat(run));
    const log = logOf(fx, topic, 1);
    assert.equal(log.map((r) => [r.key, r.value, r.headers]), [
      ["k1", "one", { trace: "t-1", empty: "" }],
      ["k2", "two", { trace: "t-1", empty: "" }],
      ["k1", "three", { trace: "t-1", empty: "" }],
    ]);
    const now = Date.now();
    assert.ok(log.every((r) => r.timestamp > now - 60_000 && r.timestamp <= now), "librdkafka stamps CreateTime");
    const got = await readWithAcktor(fx, topic, 3);
    assert.equal(got, log);
  } finally {
    await fx?.close();
  }
});

test.run();
