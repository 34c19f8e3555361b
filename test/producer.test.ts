/** The producer's API: bad input, buffering, linger, flush and close, and its streams. */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { firstValueFrom, toArray } from "rxjs";
import {
  atLeastOnce,
  atMostOnce,
  type BatchReport,
  BufferTimeoutError,
  chaos,
  ConfigError,
  createProducer,
  DeliveryFailedError,
  EmbeddedBroker,
  InvalidRecordError,
  InvalidTopicError,
  MetadataUnavailableError,
  ProducerClosedError,
  type ProducerConfig,
  RecordTooLargeError,
  type Request,
  type Transport,
  UndeliveredRecordsError,
  UnknownTopicError,
  VirtualClock,
} from "../src/internal.ts";

function setup(config: ProducerConfig = {}, partitions = 1) {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t", { partitions });
  const requests: Request[] = [];
  const inner = broker.transport();
  // Counts what reaches the wire; the broker itself is real.
  const transport: Transport = {
    request: (request, options) => (requests.push(request), inner.request(request, options)),
    close: () => inner.close(),
  };
  const producer = createProducer(transport, "t", { clock, ...config });
  const produces = () => requests.filter((r) => r.api === "produce");
  return { clock, broker, producer, transport, produces };
}

function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.unreachable("expected a rejection"),
    (error: unknown) => error,
  );
}

test("a bad config is a ConfigError naming the field", () => {
  const cases: [ProducerConfig, string][] = [
    [{ batchSize: 0 }, "batchSize"],
    [{ batchSize: 2_000_000 }, "batchSize"],
    [{ lingerMs: -1 }, "lingerMs"],
    [{ maxInFlight: 1.5 }, "maxInFlight"],
    [{ requestTimeout: 0 }, "requestTimeout"],
    [{ isolation: "serializable" as never }, "isolation"],
    [{ deliverySemantic: { kind: "exactly-twice" } as never }, "deliverySemantic"],
    [{ bufferSize: 10 }, "bufferSize"],
    [{ partitioner: "random" as never }, "partitioner"],
    [{ lingerMS: 5 } as never, "lingerMS"],
  ];
  const { transport } = setup();
  for (const [config, field] of cases) {
    try {
      createProducer(transport, "t", config);
      assert.unreachable(`accepted ${JSON.stringify(config)}`);
    } catch (error) {
      assert.instance(error, ConfigError, JSON.stringify(config));
      assert.is((error as ConfigError).field, field);
    }
  }
  try {
    atLeastOnce({ maxDelay: 1, initialDelay: 5 });
    assert.unreachable();
  } catch (error) {
    assert.is((error as ConfigError).field, "deliverySemantic.retry.maxDelay");
  }
});

test("wrong types and oversized records are refused, and nothing already accepted is lost", async () => {
  const { producer } = setup({ maxRequestSize: 1000, batchSize: 1000 });
  const first = await producer.send("k", "accepted");
  const badValue = await rejection(producer.send("k", 42 as never));
  assert.instance(badValue, InvalidRecordError);
  assert.is((badValue as InvalidRecordError).field, "value");
  assert.instance(await rejection(producer.send({} as never, "v")), InvalidRecordError);
  assert.instance(await rejection(producer.send("k", null as never)), InvalidRecordError);
  const big = await rejection(producer.send(null, new Uint8Array(1001)));
  assert.instance(big, RecordTooLargeError);
  assert.is((big as RecordTooLargeError).size, 1001);
  assert.is((big as RecordTooLargeError).maxSize, 1000);
  assert.equal(await first.wait(), { topic: "t", partition: 0, offset: 0 });
  assert.is(producer.stats.accepted, 1);
});

test("unknown and invalid topics get typed errors", async () => {
  const { broker, transport } = setup();
  assert.throws(
    () => broker.producer("missing"),
    (e: unknown) => e instanceof UnknownTopicError && e.topic === "missing",
  );
  assert.throws(() => createProducer(transport, "bad topic!"), (e: unknown) => e instanceof InvalidTopicError);
  const producer = createProducer(transport, "missing", { clock: broker.clock });
  assert.instance(await rejection(producer.send(null, "v")), UnknownTopicError);
  // The topic may appear later; the producer asks again.
  broker.createTopic("missing");
  assert.equal(await (await producer.send(null, "v")).wait(), { topic: "missing", partition: 0, offset: 0 });
});

test("a broker that never answers metadata gives MetadataUnavailableError, not a bare timeout", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t");
  const dead = chaos(broker.transport(), { seed: 1, clock, dropRequest: 1 });
  const producer = createProducer(dead, "t", { clock, requestTimeout: 10, deliveryTimeout: 200 });
  const error = await rejection(producer.send(null, "v"));
  assert.instance(error, MetadataUnavailableError);
});

test("a closed producer refuses records but delivers what it accepted before", async () => {
  const { producer, broker } = setup();
  const outputs = await Promise.all([producer.send(null, "a"), producer.send(null, "b")]);
  const closing = producer.close();
  assert.instance(await rejection(producer.send(null, "late")), ProducerClosedError);
  await closing;
  assert.is(producer.lifecycle.getSnapshot().value, "closed");
  assert.equal((await Promise.all(outputs.map((o) => o.wait()))).map((m) => m.offset), [0, 1]);
  assert.is(broker.read("t", 0).length, 2);
  await producer.close(); // idempotent
});

test("Symbol.asyncDispose closes the producer", async () => {
  const { producer } = setup();
  const output = await producer.send(null, "v");
  await producer[Symbol.asyncDispose]();
  assert.is(producer.accepting, false);
  assert.is((await output.wait()).offset, 0);
});

test("a full buffer makes send() wait, in order, and fail with BufferTimeoutError after deliveryTimeout", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t");
  const net = chaos(broker.transport(), { seed: 1, clock, dropRequest: 1, apis: ["produce"] });
  const producer = createProducer(net, "t", {
    clock,
    bufferSize: 100,
    maxRequestSize: 100,
    batchSize: 100,
    deliveryTimeout: 1_000,
    requestTimeout: 50,
    deliverySemantic: atLeastOnce({ maxRetries: 100, initialDelay: 10, maxDelay: 10, strategy: "fixed" }),
  });
  const accepted = await producer.send(null, new Uint8Array(60));
  const blocked = producer.send(null, new Uint8Array(60));
  const error = await rejection(blocked);
  assert.instance(error, BufferTimeoutError);
  assert.ok(clock.now() >= 1_000);
  // The accepted record is not lost: it keeps retrying, and once the network heals it lands.
  net.configure({ dropRequest: 0 });
  assert.is((await accepted.wait()).offset, 0);
  assert.is(broker.read("t", 0).length, 1);
});

test("space freed by delivered batches admits waiting sends in send() order", async () => {
  const { producer, broker } = setup({ bufferSize: 100, maxRequestSize: 100, batchSize: 100 });
  const sends = [0, 1, 2, 3, 4].map((i) => producer.send(null, new Uint8Array(40).fill(i)));
  const outputs = await Promise.all(sends);
  await producer.flush();
  const offsets = (await Promise.all(outputs.map((o) => o.wait()))).map((m) => m.offset);
  assert.equal(offsets, [0, 1, 2, 3, 4]);
  assert.equal(broker.read("t", 0).map((r) => r.value[0]), [0, 1, 2, 3, 4]);
});

test("linger 0 batches a burst of awaited sends; a one-at-a-time sender is not held back", async () => {
  const { producer, produces, clock } = setup({ batchSize: 16 * 1024 });
  for (let i = 0; i < 100; i++) await producer.send(null, `v${i}`);
  await producer.flush();
  assert.is(produces().length, 1, "100 awaited sends travel as one request");
  const before = clock.now();
  for (let i = 0; i < 3; i++) await (await producer.send(null, `one-${i}`)).wait();
  assert.is(produces().length, 4);
  assert.is(clock.now(), before, "no linger timer delays a lone record");
});

test("lingerMs holds a partial batch until it passes or the batch fills", async () => {
  const { producer, produces, clock } = setup({ lingerMs: 25, batchSize: 100 });
  const output = await producer.send(null, "x");
  assert.is((await output.wait()).offset, 0);
  assert.is(clock.now(), 25);
  for (let i = 0; i < 10; i++) await producer.send(null, new Uint8Array(20));
  assert.ok(produces().length >= 3, "full batches go without waiting for linger");
});

test("flush() settles every partition and reports all failures, not just the first", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t", { partitions: 3 });
  const net = chaos(broker.transport(), { seed: 3, clock, dropRequest: 1, apis: ["produce"] });
  const producer = createProducer(net, "t", {
    clock,
    requestTimeout: 10,
    partitioner: "round-robin",
    deliverySemantic: atLeastOnce({ maxRetries: 1, initialDelay: 1, maxDelay: 1, strategy: "fixed" }),
  });
  for (let i = 0; i < 9; i++) await producer.send(null, `v${i}`);
  const error = await rejection(producer.flush());
  assert.instance(error, UndeliveredRecordsError);
  assert.is((error as UndeliveredRecordsError).records, 9);
  assert.is((error as UndeliveredRecordsError).errors.length, 3, "one failed batch per partition");
  assert.ok(
    (error as UndeliveredRecordsError).errors.every((e) => e instanceof DeliveryFailedError && e.attempts === 2),
  );
});

test("outcome$ of one record, and batches$ with every retry", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t");
  const net = chaos(broker.transport(), { seed: 5, clock, dropResponse: 0.5, apis: ["produce"] });
  const producer = createProducer(net, "t", {
    clock,
    requestTimeout: 10,
    deliverySemantic: atLeastOnce({ maxRetries: 50, initialDelay: 1, maxDelay: 1, strategy: "fixed" }),
  });
  const reports: BatchReport[] = [];
  producer.batches$.subscribe((r) => reports.push(r));
  const outputs = [];
  for (let i = 0; i < 20; i++) {
    outputs.push(await producer.send(null, `v${i}`));
    await producer.flush();
  }
  const retries = reports.filter((r) => r.type === "retry").length;
  assert.ok(retries > 0);
  assert.is(retries, producer.stats.retries);
  assert.is(reports.filter((r) => r.type === "dispatched").length, 20);
  assert.is(reports.filter((r) => r.type === "delivered").length, 20);
  const outcome = await firstValueFrom(outputs[3]!.outcome$);
  assert.is(outcome.status, "delivered");
  assert.is(outcome.status === "delivered" && outcome.offset, (await outputs[3]!.wait()).offset);
  assert.equal(await firstValueFrom(outputs[0]!.outcome$.pipe(toArray())), [
    await firstValueFrom(outputs[0]!.outcome$),
  ]);
});

test("outcomes$ covers records settled while subscribed, one outcome each", async () => {
  const { producer } = setup({ deliverySemantic: atMostOnce() }, 3);
  const seen: string[] = [];
  const subscription = producer.outcomes$.subscribe((o) =>
    seen.push(`${o.status}:${new TextDecoder().decode(o.value)}`)
  );
  for (let i = 0; i < 30; i++) await producer.send(`k${i}`, `v${i}`);
  await producer.flush();
  subscription.unsubscribe();
  await (await producer.send(null, "after")).wait();
  assert.is(seen.length, 30);
  assert.ok(seen.every((s) => s.startsWith("sent-unconfirmed:")));
  assert.is(new Set(seen).size, 30);
});

test("a keyless record that overflows a full batch follows the sticky partitioner, leaving no lone batches", async () => {
  const { producer, produces } = setup({ batchSize: 100 }, 4);
  // Three 30-byte records fill a batch; the fourth overflows it.
  for (let i = 0; i < 30; i++) await producer.send(null, new Uint8Array(30));
  await producer.flush();
  const sizes = produces().map((r) => (r.api === "produce" ? r.values.length : 0));
  assert.equal(sizes, new Array(10).fill(3));
});

test("an awaited send() loop yields to the event loop once per filled batch", async () => {
  const broker = new EmbeddedBroker();
  broker.createTopic("t");
  const producer = broker.producer("t", { batchSize: 1000 });
  let macrotasks = 0;
  const tick = () => {
    macrotasks++;
    if (macrotasks < 1000) setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  for (let i = 0; i < 5000; i++) await producer.send(null, new Uint8Array(100));
  const during = macrotasks;
  await producer.close();
  assert.ok(during > 0, "timers ran while the loop was still sending");
});

test("keyed records land on Kafka's murmur2 partition", async () => {
  const { producer } = setup({}, 10);
  // Kafka: toPositive(murmur2("foobar")) % 10 == 6
  const output = await producer.send("foobar", "v");
  assert.is((await output.wait()).partition, 6);
});

test("read-committed isolation holds the ack until the lagging replica has the write", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t", { replicationFactor: 3, replicaLagMs: 40 });
  const committed = broker.producer("t", { isolation: "read-committed" });
  const uncommitted = broker.producer("t", { isolation: "read-uncommitted" });
  await (await uncommitted.send(null, "fast")).wait();
  assert.is(clock.now(), 0);
  await (await committed.send(null, "safe")).wait();
  assert.is(clock.now(), 40);
});

test.run();
