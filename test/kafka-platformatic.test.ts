/**
 * @platformatic/kafka, unmodified, against the embedded broker's Kafka listener: its
 * Producer writes (plain and idempotent, with keys and headers), then a Consumer with a
 * group reads everything back and commits; a transactional Producer commits and aborts, and
 * a read-committed Consumer sees only what was committed; the idempotent Producer keeps every
 * record once, in order, under the server's seeded faults. The broker's log and the group's
 * committed offsets are checked against what the client did.
 */
import * as assert from "uvu/assert";
import type { Consumer, MessagesStream, Producer } from "@platformatic/kafka";
import { test } from "./helpers/harness.ts";
import {
  type KafkaFixture,
  logValues,
  onceEach,
  readLog,
  sendOrderBreaks,
  startKafka,
  uniqueTopic,
  waitFor,
} from "./helpers/kafka.ts";

test("@platformatic/kafka: a Producer writes, a Consumer with a group reads everything back and commits", {
  deadlineMs: 60_000,
}, async ({ signal }) => {
  const topic = uniqueTopic("plt");
  const groupId = uniqueTopic("plt-g");
  const N = 100;
  let fx: KafkaFixture | null = null;
  let producer: Producer<string, string, string, string> | null = null;
  let consumer: Consumer<string, string, string, string> | null = null;
  let stream: MessagesStream<string, string, string, string> | null = null;
  try {
    fx = await startKafka({ [topic]: 3 });
    const plt = await import("@platformatic/kafka");
    const base = { bootstrapBrokers: [fx.url], timeout: 2_000, retries: 5, retryDelay: 50 };
    producer = new plt.Producer({ ...base, clientId: "plt-producer", serializers: plt.stringSerializers });
    const values = Array.from({ length: N }, (_, i) => `plt-${i}`);
    const message = (value: string, i: number) => ({ topic, key: `key-${i % 9}`, value, headers: { n: String(i) } });
    await producer.send({ messages: values.slice(0, N / 2).map(message) });
    // The second half idempotently (producer id, epoch, sequences), acks=all.
    await producer.send({
      messages: values.slice(N / 2).map((v, i) => message(v, i + N / 2)),
      idempotent: true,
      acks: plt.ProduceAcks.ALL,
    });
    const log = logValues(fx.broker, topic, 3).flat();
    assert.equal(onceEach(values, log), { missing: [], duplicated: [] }, "the log");
    assert.is(log.length, N);
    const broker = fx.broker;
    const headersOk = [0, 1, 2].every((p) =>
      readLog(broker, topic, p).every((r) =>
        /^plt-(\d+)$/.exec(new TextDecoder().decode(r.value))?.[1] === new TextDecoder().decode(r.headers.n)
      )
    );
    assert.ok(headersOk, "every record kept its header");

    consumer = new plt.Consumer({
      ...base,
      clientId: "plt-consumer",
      groupId,
      deserializers: plt.stringDeserializers,
      maxWaitTime: 200,
      sessionTimeout: 6_000,
      heartbeatInterval: 500,
    });
    stream = await consumer.consume({ topics: [topic], mode: plt.MessagesStreamModes.EARLIEST, autocommit: 100 });
    const seen: { value: string; key: string; n: string | undefined }[] = [];
    let streamError: Error | null = null;
    stream.on("data", (m) => void seen.push({ value: m.value, key: m.key, n: m.headers.get("n") }));
    stream.on("error", (e) => void (streamError = e));
    const ends = [0, 1, 2].map((p) => broker.partitionState(topic, p).logEndOffset);
    const committed = () => [0, 1, 2].map((p) => broker.committedOffset(groupId, topic, p));
    await waitFor(
      () => seen.length >= N && committed().every((c, p) => c === ends[p]),
      "the consumer to read and commit all",
      {
        withinMs: 30_000,
        signal,
        progress: () => `${seen.length} read, committed ${committed()} of ${ends}, stream error ${streamError}`,
      },
    );
    assert.equal(
      onceEach(values, seen.map((s) => s.value)),
      { missing: [], duplicated: [] },
      "what the consumer read",
    );
    assert.ok(seen.every((s) => s.n === s.value.slice(4) && s.key === `key-${Number(s.n) % 9}`), "keys and headers");
    assert.is(streamError, null);
  } finally {
    await stream?.close().catch(() => {});
    await consumer?.close(true).catch(() => {});
    await producer?.close(true).catch(() => {});
    await fx?.close();
  }
});

test("@platformatic/kafka transactions: a read-committed Consumer sees the committed ones, not the aborted one", {
  deadlineMs: 60_000,
}, async ({ signal }) => {
  const topic = uniqueTopic("plt-tx");
  let fx: KafkaFixture | null = null;
  let producer: Producer<string, string, string, string> | null = null;
  let consumer: Consumer<string, string, string, string> | null = null;
  let stream: MessagesStream<string, string, string, string> | null = null;
  try {
    fx = await startKafka({ [topic]: 2 });
    const plt = await import("@platformatic/kafka");
    const base = { bootstrapBrokers: [fx.url], timeout: 2_000, retries: 5, retryDelay: 50 };
    producer = new plt.Producer({
      ...base,
      clientId: "plt-tx",
      serializers: plt.stringSerializers,
      transactionalId: uniqueTopic("tx"),
      idempotent: true,
      acks: plt.ProduceAcks.ALL,
    });
    for (const [end, values] of [["commit", ["c1", "c2"]], ["abort", ["a1", "a2"]], ["commit", ["c3"]]] as const) {
      const tx = await producer.beginTransaction();
      await tx.send({ messages: values.map((value, i) => ({ topic, key: `k${i}`, value })) });
      await (end === "commit" ? tx.commit() : tx.abort());
    }
    const sorted = (v: string[]) => [...v].sort();
    assert.equal(sorted(logValues(fx.broker, topic, 2).flat()), ["c1", "c2", "c3"], "the log, read committed");
    assert.equal(
      sorted(logValues(fx.broker, topic, 2, "read-uncommitted").flat()),
      ["a1", "a2", "c1", "c2", "c3"],
      "the log, read uncommitted",
    );
    consumer = new plt.Consumer({
      ...base,
      clientId: "plt-rc",
      groupId: uniqueTopic("plt-rc"),
      deserializers: plt.stringDeserializers,
      maxWaitTime: 200,
      isolationLevel: plt.FetchIsolationLevels.READ_COMMITTED,
    });
    stream = await consumer.consume({ topics: [topic], mode: plt.MessagesStreamModes.EARLIEST });
    const seen: string[] = [];
    stream.on("data", (m) => void seen.push(m.value));
    // c3 follows the aborted records in their partition: once it came, they would have too.
    await waitFor(() => seen.includes("c3") && seen.length >= 3, "the read-committed consumer", {
      withinMs: 20_000,
      signal,
      progress: () => seen.join(","),
    });
    assert.equal(sorted(seen), ["c1", "c2", "c3"]);
  } finally {
    await stream?.close().catch(() => {});
    await consumer?.close(true).catch(() => {});
    await producer?.close(true).catch(() => {});
    await fx?.close();
  }
});

test("@platformatic/kafka idempotent producer under server chaos: the log holds every record once, in order", {
  deadlineMs: 120_000,
}, async () => {
  const SEED = 8;
  const N = 2_000;
  const topic = uniqueTopic("plt-chaos");
  let fx: KafkaFixture | null = null;
  let producer: Producer<string, string, string, string> | null = null;
  try {
    fx = await startKafka({ [topic]: 4 });
    const plt = await import("@platformatic/kafka");
    producer = new plt.Producer({
      bootstrapBrokers: [fx.url],
      clientId: "plt-chaos",
      serializers: plt.stringSerializers,
      // A lost answer costs one request timeout; the default would make the test take minutes.
      connectTimeout: 1_000,
      requestTimeout: 1_000,
      retries: 30,
      retryDelay: 50,
      idempotent: true,
      acks: plt.ProduceAcks.ALL,
    });
    fx.server.chaos({ seed: SEED, dropResponse: 0.05, disconnect: 0.04 });
    for (let i = 0; i < N; i += 10) {
      const messages = Array.from({ length: 10 }, (_, j) => ({ topic, key: `k${(i + j) % 16}`, value: `v${i + j}` }));
      await producer.send({ messages });
    }
    const stats = fx.server.chaosStats();
    const at = `seed ${SEED}, faults ${JSON.stringify(stats)}`;
    const log = logValues(fx.broker, topic, 4);
    const expected = Array.from({ length: N }, (_, i) => `v${i}`);
    assert.equal(onceEach(expected, log.flat()), { missing: [], duplicated: [] }, `${at}: the log`);
    assert.equal(sendOrderBreaks(log), [], `${at}: out of send order`);
    assert.ok(stats.dropResponse > 0 && stats.disconnect > 0, `${at}: faults of both kinds happened`);
  } finally {
    fx?.server.chaos(null);
    await producer?.close(true).catch(() => {});
    await fx?.close();
  }
});

test.run();
