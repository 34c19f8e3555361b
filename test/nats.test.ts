/**
 * The producer on a real NATS JetStream server (ACKTOR_NATS_URL, default 127.0.0.1:4222),
 * with dropped connections from a TCP proxy in between. Without a server these tests fail
 * and say how to start one; only ACKTOR_SKIP_ENGINES=1 skips them, and says so.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { connectNats, type Framing, streamName } from "../src/adapters/nats/index.ts";
import {
  atLeastOnce,
  atMostOnce,
  ConfigError,
  createProducer,
  type DeliverySemantic,
  EngineUnavailableError,
  exactlyOnce,
  type RecordMetadata,
  UnknownTopicError,
  UnsupportedError,
} from "../src/index.ts";
import { dec, proxyToServer, readAll, server, SKIP, uniqueTopic, URL } from "./helpers/nats.ts";
import {
  assertHolds,
  atLeastOnce as atLeastOnceHolds,
  atMostOnce as atMostOnceHolds,
  exactlyOnce as exactlyOnceHolds,
  History,
  idOf,
  reportsMatchLog,
} from "./helpers/history.ts";

/**
 * Sends `count` records through a proxy that cuts every connection twice mid-run, then reads
 * everything back and hands the whole history (sends, `wait()` results, reads) to the checker.
 */
async function sendThroughCuts(framing: Framing, semantic: DeliverySemantic, count: number) {
  const admin = await server();
  const topic = uniqueTopic(framing);
  await admin.createTopic(topic, { partitions: 3, framing, storage: "memory", duplicateWindowMs: 60_000 });
  const proxy = await proxyToServer();
  const nats = await connectNats({ servers: `127.0.0.1:${proxy.port}` });
  const producer = createProducer(nats, topic, {
    deliverySemantic: semantic,
    requestTimeout: 1_000,
    batchSize: 8 * 1024,
  });
  const cutAt = [Math.floor(count / 3), Math.floor((2 * count) / 3)];
  const history = new History(
    `NATS ${framing} framing, ${count} records, connections cut after r${cutAt.join(" and r")}`,
  );
  const waits: Promise<RecordMetadata | Error>[] = [];
  let cuts = 0;
  for (let i = 0; i < count; i++) {
    const output = await producer.send(`k${i % 7}`, `r${i}`);
    history.send(i, { key: `k${i % 7}`, partition: output.partition });
    waits.push(output.wait().catch((e: Error) => e));
    if (cutAt.includes(i)) {
      // Let some batches get in flight, then drop the connection under them.
      await new Promise((r) => setTimeout(r, 5));
      cuts += proxy.cutAll();
    }
  }
  await producer.flush();
  const settled = await Promise.all(waits);
  settled.forEach((result, id) => history.outcome(id, result));
  const failures = settled.filter((m): m is Error => m instanceof Error);
  assert.equal(failures.map((e) => e.message), [], "every record acknowledged");
  await producer.close();
  await nats.close();
  await proxy.close();
  const keys = new Set<string | null>();
  for (let p = 0; p < 3; p++) {
    for (const r of await readAll(admin, topic, p)) {
      history.read(idOf(r.value), p, r.offset);
      keys.add(r.key);
    }
  }
  await admin.deleteTopic(topic);
  await admin.close();
  return { report: history.check(), cuts, keys };
}

if (SKIP) {
  console.log("SKIPPED: the NATS JetStream engine tests (ACKTOR_SKIP_ENGINES=1)");
} else {
  test("createTopic makes one stream with a subject per partition, passes replicas and storage through, and updates", async () => {
    const nats = await server();
    const topic = uniqueTopic("admin");
    await nats.createTopic(topic, { partitions: 2, replicas: 1, storage: "memory" });
    assert.is(streamName("a.b_c"), "ACKTOR_a_2Eb_5Fc", "stream names escape what NATS forbids, injectively");
    const nc = await connect({ servers: URL });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(streamName(topic));
    assert.equal(info.config.subjects, [`${topic}.0`, `${topic}.1`]);
    assert.is(info.config.num_replicas, 1);
    assert.is(info.config.storage, "memory");
    await nats.createTopic(topic, { partitions: 4, storage: "memory" });
    const meta = await nats.request({ api: "metadata", topic }, { timeoutMs: 5_000 });
    assert.ok(meta.ok && meta.partitions === 4);
    assert.is((await jsm.streams.info(streamName(topic))).config.subjects.length, 4);
    for (
      const [bad, field] of [[{ partitions: 0 }, "partitions"], [{ partitions: 1, framing: "frames" }, "framing"], [{
        partitions: 1,
        storage: "disk",
      }, "storage"], [{ partitions: 1, replica: 3 }, "topic.replica"]] as const
    ) {
      const refused = await nats.createTopic(topic, bad as never).catch((e: unknown) => e);
      assert.ok(refused instanceof ConfigError && refused.field === field, `${field}: ${String(refused)}`);
    }
    const shrink = await nats.createTopic(topic, { partitions: 2 }).catch((e: unknown) => e);
    assert.ok(shrink instanceof ConfigError && shrink.field === "partitions", "partitions never shrink");
    const unknown = await nats.request({ api: "metadata", topic: uniqueTopic("missing") }, { timeoutMs: 5_000 });
    assert.ok(!unknown.ok && unknown.error.code === "TOPIC_UNKNOWN");
    await nats.deleteTopic(topic);
    await nc.close();
    await nats.close();
  });

  test("message framing: any NATS client reads the records; offsets are stream sequences; keys travel", async () => {
    const nats = await server();
    const topic = uniqueTopic("interop");
    await nats.createTopic(topic, { partitions: 1, storage: "memory" });
    const producer = createProducer(nats, topic, { deliverySemantic: atLeastOnce() });
    const outputs = [await producer.send("a", "hello"), await producer.send(null, "world")];
    await producer.flush();
    const [first, second] = await Promise.all(outputs.map((o) => o.wait()));
    const nc = await connect({ servers: URL });
    const jsm = await jetstreamManager(nc);
    const plain = await jsm.streams.getMessage(streamName(topic), { seq: first!.offset });
    assert.is(dec(plain!.data), "hello", "a plain NATS reader sees the record as published");
    assert.is(second!.offset, first!.offset + 1);
    const back = await readAll(nats, topic, 0);
    assert.equal(back.map((r) => [r.key, r.value]), [["a", "hello"], [null, "world"]]);
    await producer.close();
    await nats.deleteTopic(topic);
    await nc.close();
    await nats.close();
  });

  for (const framing of ["message", "batch"] as const) {
    const count = framing === "message" ? 3_000 : 10_000;
    test(`${framing} framing, connections cut mid-run: at-least-once loses nothing`, async () => {
      const run = await sendThroughCuts(
        framing,
        atLeastOnce({ maxRetries: 20, initialDelay: 50, maxDelay: 500, timeout: 60_000 }),
        count,
      );
      assert.ok(run.cuts > 0, "the proxy really cut connections");
      assertHolds(run.report, atLeastOnceHolds(), reportsMatchLog);
      assert.ok(run.keys.has("k3"), "keys are read back");
    });

    test(`${framing} framing, connections cut mid-run: exactly-once neither loses nor duplicates, in partition order`, async () => {
      const run = await sendThroughCuts(
        framing,
        exactlyOnce({ retry: { maxRetries: 20, initialDelay: 50, maxDelay: 500, timeout: 60_000 } }),
        count,
      );
      assert.ok(run.cuts > 0);
      // Neither lost nor duplicated, per-partition order is send order, and wait() never gives
      // two records the same offset (nor one the record does not hold).
      assertHolds(run.report, exactlyOnceHolds, reportsMatchLog);
    });
  }

  test("batch framing: a fetch can resume in the middle of a frame", async () => {
    const nats = await server();
    const topic = uniqueTopic("resume");
    await nats.createTopic(topic, { partitions: 1, framing: "batch", storage: "memory" });
    const producer = createProducer(nats, topic, { deliverySemantic: exactlyOnce() });
    for (let i = 0; i < 50; i++) await producer.send(null, `r${i}`);
    await producer.flush();
    const all = await readAll(nats, topic, 0);
    assert.equal(all.map((r) => r.value), Array.from({ length: 50 }, (_, i) => `r${i}`));
    const mid = await nats.request({
      api: "fetch",
      topic,
      partition: 0,
      offset: all[17]!.offset,
      maxRecords: 5,
      isolation: "read-committed",
    }, { timeoutMs: 5_000 });
    assert.ok(mid.ok);
    assert.equal(mid.records.map((r) => dec(r.value)), ["r17", "r18", "r19", "r20", "r21"]);
    assert.is(mid.nextOffset, all[22]!.offset);
    await producer.close();
    await nats.deleteTopic(topic);
    await nats.close();
  });

  test("at-most-once publishes without waiting for PubAcks and never duplicates", async () => {
    const nats = await server();
    const topic = uniqueTopic("amo");
    await nats.createTopic(topic, { partitions: 2, storage: "memory" });
    const producer = createProducer(nats, topic, { deliverySemantic: atMostOnce() });
    const history = new History("NATS at-most-once, 2,000 records, no faults");
    for (let i = 0; i < 2_000; i++) history.send(i, { partition: (await producer.send(null, `r${i}`)).partition });
    await producer.flush();
    await producer.close();
    await new Promise((r) => setTimeout(r, 200));
    for (const p of [0, 1]) for (const r of await readAll(nats, topic, p)) history.read(idOf(r.value), p, r.offset);
    const report = history.check();
    assertHolds(report, atMostOnceHolds);
    assert.ok(report.read <= 2_000);
    await nats.deleteTopic(topic);
    await nats.close();
  });

  test("bad input on NATS: bad address, unknown topic and transactions get typed errors", async () => {
    const refused = await connectNats({ servers: "127.0.0.1:1", timeoutMs: 1_000 }).catch((e: unknown) => e);
    assert.instance(refused, EngineUnavailableError);
    assert.match((refused as Error).message, /127\.0\.0\.1:1/);
    assert.instance(await connectNats({ servers: [] } as never).catch((e: unknown) => e), ConfigError);
    const nats = await server();
    const producer = createProducer(nats, uniqueTopic("missing"), { deliverySemantic: atLeastOnce() });
    try {
      await producer.send(null, "x");
      assert.unreachable("unknown topic");
    } catch (e) {
      assert.instance(e, UnknownTopicError);
    }
    const topic = uniqueTopic("txn");
    await nats.createTopic(topic, { partitions: 1, storage: "memory" });
    const tx = createProducer(nats, topic, { deliverySemantic: exactlyOnce({ transactionalId: "t" }) });
    try {
      await tx.beginTransaction();
      assert.unreachable("transactions");
    } catch (e) {
      assert.instance(e, UnsupportedError);
      assert.match((e as Error).message, /no multi-subject transactions/);
    }
    await nats.deleteTopic(topic);
    await nats.close();
  });
}

test.run();
