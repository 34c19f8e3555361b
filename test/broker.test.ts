import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { type BrokerOptions, EmbeddedBroker, type TopicConfig } from "../src/broker/broker.ts";
import {
  AcktorError,
  BatchTooLargeError,
  ConfigError,
  errorFromWire,
  InvalidTopicError,
  NotEnoughReplicasError,
  RecordTooLargeError,
  RequestTimedOutError,
  TopicExistsError,
  TransportClosedError,
  UnknownPartitionError,
  UnknownTopicError,
  UnsupportedError,
  type WireError,
} from "../src/errors.ts";
import { sleep } from "../src/runtime/clock.ts";
import { VirtualClock } from "../src/runtime/virtual-clock.ts";
import type { FetchedRecord, FetchResponse, Isolation, ProduceResponse } from "../src/transport/protocol.ts";
import type { Transport } from "../src/transport/transport.ts";

// ---- helpers -------------------------------------------------------------------------

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const enc = (s: string): Uint8Array => encoder.encode(s);
const dec = (b: Uint8Array | null): string | null => (b === null ? null : decoder.decode(b));

/** A record as plain strings, for readable comparisons. */
interface Plain {
  offset: number;
  key: string | null;
  value: string;
}
const plain = (records: readonly FetchedRecord[]): Plain[] =>
  records.map((r) => ({ offset: r.offset, key: dec(r.key), value: dec(r.value)! }));

interface ProduceOptions {
  keys?: (string | null)[];
  isolation?: Isolation;
  /** The broker's ack timeout (the request's own `timeoutMs`). */
  timeoutMs?: number;
  /** The transport's timeout; defaults to well beyond the broker's. */
  transportTimeoutMs?: number;
}

function produce(
  transport: Transport,
  topic: string,
  partition: number,
  values: string[],
  options: ProduceOptions = {},
): Promise<ProduceResponse> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return transport.request(
    {
      api: "produce",
      topic,
      partition,
      isolation: options.isolation ?? "read-uncommitted",
      timeoutMs,
      keys: values.map((_, i) => {
        const key = options.keys?.[i];
        return key === undefined || key === null ? null : enc(key);
      }),
      values: values.map(enc),
    },
    { timeoutMs: options.transportTimeoutMs ?? timeoutMs * 10 },
  );
}

function fetch(
  transport: Transport,
  topic: string,
  partition: number,
  offset: number,
  options: { maxRecords?: number; isolation?: Isolation } = {},
): Promise<FetchResponse> {
  return transport.request(
    {
      api: "fetch",
      topic,
      partition,
      offset,
      maxRecords: options.maxRecords ?? 1000,
      isolation: options.isolation ?? "read-committed",
    },
    { timeoutMs: 1000 },
  );
}

/** The base offset of a successful answer; fails the test otherwise. */
function baseOffset(answer: ProduceResponse): number {
  if (!answer.ok) assert.unreachable(`expected ok, got ${JSON.stringify(answer.error)}`);
  return (answer as { baseOffset: number }).baseOffset;
}

/** The wire error of a failed answer; fails the test otherwise. */
function wireError(answer: { ok: boolean; error?: WireError }): WireError {
  if (answer.ok) assert.unreachable(`expected an ok:false answer, got ${JSON.stringify(answer)}`);
  return answer.error!;
}

/** Resolves with `[answer, clock time when it arrived]`. */
function timed<T>(clock: VirtualClock, promise: Promise<T>): Promise<[T, number]> {
  return promise.then((value) => [value, clock.now()]);
}

/** Sleeps on the virtual clock until `at`. */
function until(clock: VirtualClock, at: number): Promise<void> {
  assert.ok(at >= clock.now(), `cannot go back from ${clock.now()} to ${at}`);
  return sleep(clock, at - clock.now());
}

function throwsTyped<E extends AcktorError>(
  fn: () => unknown,
  type: abstract new (...args: never[]) => E,
  code: string,
  check?: (error: E) => void,
): void {
  try {
    fn();
  } catch (error) {
    assert.instance(error, type);
    assert.is((error as E).code, code);
    check?.(error as E);
    return;
  }
  assert.unreachable(`expected ${type.name}`);
}

function throwsConfig(fn: () => unknown, field: string): void {
  throwsTyped(fn, ConfigError, "CONFIG_INVALID", (error) => {
    assert.is(error.field, field);
    assert.ok(error.message.includes(field), `"${error.message}" should name ${field}`);
  });
}

// ---- produce and fetch ---------------------------------------------------------------

test("produce returns base offsets, contiguous per partition and independent across partitions", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("orders", { partitions: 2 });
  const t = broker.transport();

  assert.is(baseOffset(await produce(t, "orders", 0, ["a", "b", "c"], { keys: ["k0", null, "k2"] })), 0);
  assert.is(baseOffset(await produce(t, "orders", 0, ["d", "e"])), 3);
  assert.is(baseOffset(await produce(t, "orders", 1, ["x"])), 0);
  assert.is(baseOffset(await produce(t, "orders", 0, ["f"], { keys: ["k5"], isolation: "read-committed" })), 5);
  assert.is(baseOffset(await produce(t, "orders", 1, ["y", "z"], { isolation: "read-committed" })), 1);
  assert.equal(broker.partitionState("orders", 0), { logStartOffset: 0, logEndOffset: 6, highWatermark: 6, isr: [0] });
  assert.equal(broker.partitionState("orders", 1), { logStartOffset: 0, logEndOffset: 3, highWatermark: 3, isr: [0] });
  assert.is(clock.now(), 0, "a single-replica topic acks without any time passing");

  assert.equal(plain(broker.read("orders", 0)), [
    { offset: 0, key: "k0", value: "a" },
    { offset: 1, key: null, value: "b" },
    { offset: 2, key: "k2", value: "c" },
    { offset: 3, key: null, value: "d" },
    { offset: 4, key: null, value: "e" },
    { offset: 5, key: "k5", value: "f" },
  ]);
  assert.equal(plain(broker.read("orders", 1)), [
    { offset: 0, key: null, value: "x" },
    { offset: 1, key: null, value: "y" },
    { offset: 2, key: null, value: "z" },
  ]);
  await t.close();
});

test("fetch returns records with offsets, keys and values, from the middle of a batch and capped by maxRecords", async () => {
  const broker = new EmbeddedBroker({ clock: new VirtualClock() });
  broker.createTopic("t");
  const t = broker.transport();
  await produce(t, "t", 0, ["v0", "v1", "v2"], { keys: ["a", "b", "c"] });
  await produce(t, "t", 0, ["v3", "v4"], { keys: [null, "e"] });
  await produce(t, "t", 0, ["v5"]);

  const all = await fetch(t, "t", 0, 0);
  assert.ok(all.ok);
  if (!all.ok) return;
  assert.equal(plain(all.records).map((r) => r.offset), [0, 1, 2, 3, 4, 5]);
  assert.equal(plain(all.records)[2], { offset: 2, key: "c", value: "v2" });
  assert.is(all.nextOffset, 6);
  assert.is(all.highWatermark, 6);
  assert.is(all.logEndOffset, 6);

  // From inside the first batch, across the batch boundary, stopped by maxRecords.
  const middle = await fetch(t, "t", 0, 1, { maxRecords: 3 });
  assert.ok(middle.ok);
  if (!middle.ok) return;
  assert.equal(plain(middle.records), [
    { offset: 1, key: "b", value: "v1" },
    { offset: 2, key: "c", value: "v2" },
    { offset: 3, key: null, value: "v3" },
  ]);
  assert.is(middle.nextOffset, 4);

  // Continuing from nextOffset reads the rest exactly once.
  const rest = await fetch(t, "t", 0, middle.nextOffset, { maxRecords: 100 });
  assert.ok(rest.ok);
  if (!rest.ok) return;
  assert.equal(plain(rest.records).map((r) => r.value), ["v4", "v5"]);
  assert.is(rest.nextOffset, 6);

  // At and past the end: nothing, and nextOffset stays where it was asked.
  for (const offset of [6, 99]) {
    const empty = await fetch(t, "t", 0, offset);
    assert.ok(empty.ok);
    if (!empty.ok) return;
    assert.equal(empty.records, []);
    assert.is(empty.nextOffset, offset);
    assert.is(empty.logEndOffset, 6);
  }
  const none = await fetch(t, "t", 0, 2, { maxRecords: 0 });
  assert.ok(none.ok && none.records.length === 0 && none.nextOffset === 2);

  // broker.read agrees with fetch.
  assert.equal(plain(broker.read("t", 0, { offset: 4, maxRecords: 1 })), [{ offset: 4, key: "e", value: "v4" }]);
  assert.equal(plain(broker.read("t", 0, { offset: 5 })), [{ offset: 5, key: null, value: "v5" }]);
  await t.close();
});

test("metadata reports the partition count", async () => {
  const broker = new EmbeddedBroker({ clock: new VirtualClock() });
  broker.createTopic("three", { partitions: 3 });
  broker.createTopic("one");
  const t = broker.transport();
  assert.equal(await t.request({ api: "metadata", topic: "three" }, { timeoutMs: 100 }), {
    ok: true,
    topic: "three",
    partitions: 3,
  });
  assert.equal(await t.request({ api: "metadata", topic: "one" }, { timeoutMs: 100 }), {
    ok: true,
    topic: "one",
    partitions: 1,
  });
  assert.equal(broker.topics().sort(), ["one", "three"]);
  await t.close();
});

test("property: any sequence of batches reads back as one contiguous log, from any offset", async () => {
  const batches = fc.array(fc.array(fc.string({ maxLength: 4 }), { maxLength: 5 }), { maxLength: 25 });
  const reads = fc.array(fc.record({ offset: fc.integer({ min: 0, max: 80 }), max: fc.integer({ min: 0, max: 30 }) }), {
    maxLength: 10,
  });
  await fc.assert(
    fc.asyncProperty(batches, reads, async (batchValues, readAt) => {
      const broker = new EmbeddedBroker({ clock: new VirtualClock() });
      broker.createTopic("p");
      const t = broker.transport();
      const model: Plain[] = [];
      for (const [b, values] of batchValues.entries()) {
        const keys = values.map((_, i) => (i % 2 === 0 ? `${b}.${i}` : null));
        const base = baseOffset(await produce(t, "p", 0, values, { keys }));
        assert.is(base, model.length, "base offset is the log end before the batch");
        values.forEach((value, i) => model.push({ offset: base + i, key: keys[i]!, value }));
      }
      assert.is(broker.partitionState("p", 0).logEndOffset, model.length);
      for (const { offset, max } of readAt) {
        const expected = model.slice(offset, offset + max);
        assert.equal(plain(broker.read("p", 0, { offset, maxRecords: max })), expected);
        const answer = await fetch(t, "p", 0, offset, { maxRecords: max });
        assert.ok(answer.ok);
        if (!answer.ok) return;
        assert.equal(plain(answer.records), expected);
        assert.is(answer.nextOffset, expected.length > 0 ? offset + expected.length : offset);
      }
      await t.close();
    }),
    { numRuns: 150 },
  );
});

// ---- replication and isolation -------------------------------------------------------

test("read-uncommitted acks at once; read-committed only once the replicas have copied (replicaLagMs)", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("r", { replicationFactor: 3, replicaLagMs: 50 });
  const t = broker.transport();

  const [uncommitted, uncommittedAt] = await timed(clock, produce(t, "r", 0, ["u"]));
  assert.is(baseOffset(uncommitted), 0);
  assert.is(uncommittedAt, 0);
  assert.equal(
    broker.partitionState("r", 0),
    { logStartOffset: 0, logEndOffset: 1, highWatermark: 0, isr: [0, 1, 2] },
    "HW lags LEO",
  );

  const committed = timed(clock, produce(t, "r", 0, ["c"], { isolation: "read-committed" }));
  const [answer, ackedAt] = await committed;
  assert.is(baseOffset(answer), 1);
  assert.ok(ackedAt >= 50, `read-committed acked at ${ackedAt}, before the replicas copied`);
  assert.is(ackedAt, 50);
  assert.equal(broker.partitionState("r", 0), { logStartOffset: 0, logEndOffset: 2, highWatermark: 2, isr: [0, 1, 2] });
  await t.close();
});

test("the high watermark follows the slowest in-sync replica", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("r", { replicationFactor: 3, replicaLagMs: 50 });
  const partition = broker.partition("r", 0);
  const t = broker.transport();

  await produce(t, "r", 0, ["a", "b"]);
  assert.equal(partition.state, { logStartOffset: 0, logEndOffset: 2, highWatermark: 0, isr: [0, 1, 2] });
  await until(clock, 49);
  assert.is(partition.highWatermark, 0);
  await until(clock, 50);
  assert.is(partition.highWatermark, 2);

  // A slower follower holds the HW back on its own.
  partition.follower(2)!.send({ type: "SET_LAG", lagMs: 200 });
  await produce(t, "r", 0, ["c"]);
  await until(clock, 100);
  assert.is(partition.follower(1)!.getSnapshot().context.leo, 3);
  assert.is(partition.follower(2)!.getSnapshot().context.leo, 2);
  assert.is(partition.highWatermark, 2);
  await until(clock, 250);
  assert.is(partition.highWatermark, 3);
  assert.equal(partition.state.isr, [0, 1, 2]);
  await t.close();
});

test("read-committed fetch stops at the HW, read-uncommitted fetch sees the whole log", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("r", { replicationFactor: 2, replicaLagMs: 50 });
  const t = broker.transport();
  await produce(t, "r", 0, ["a", "b", "c"]);

  const committed = await fetch(t, "r", 0, 0, { isolation: "read-committed" });
  const uncommitted = await fetch(t, "r", 0, 0, { isolation: "read-uncommitted" });
  assert.ok(committed.ok && uncommitted.ok);
  if (!committed.ok || !uncommitted.ok) return;
  assert.equal(committed.records, []);
  assert.is(committed.nextOffset, 0);
  assert.is(committed.highWatermark, 0);
  assert.is(committed.logEndOffset, 3);
  assert.equal(plain(uncommitted.records).map((r) => r.value), ["a", "b", "c"]);
  assert.is(uncommitted.nextOffset, 3);
  assert.is(uncommitted.highWatermark, 0);
  assert.equal(broker.read("r", 0), [], "broker.read defaults to read-committed");
  assert.is(broker.read("r", 0, { isolation: "read-uncommitted" }).length, 3);

  await until(clock, 50);
  const later = await fetch(t, "r", 0, 1, { isolation: "read-committed" });
  assert.ok(later.ok);
  if (!later.ok) return;
  assert.equal(plain(later.records).map((r) => r.value), ["b", "c"]);
  assert.is(later.highWatermark, 3);
  await t.close();
});

// A follower's lag counts from when it last held everything; an idle follower holds
// everything, so a quiet spell must not make the next append drop it from the ISR (and so
// acknowledge a read-committed write that only the leader has).
test("an idle but healthy follower is not dropped from the ISR by the next append", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock, replicaLagTimeMaxMs: 100 });
  broker.createTopic("r", { replicationFactor: 3, replicaLagMs: 50 });
  const t = broker.transport();
  await until(clock, 1000); // idle for longer than replicaLagTimeMaxMs

  const pending = timed(clock, produce(t, "r", 0, ["late"], { isolation: "read-committed" }));
  await until(clock, 1001);
  assert.equal(broker.partitionState("r", 0).isr, [0, 1, 2], "healthy followers must stay in the ISR");
  assert.is(broker.partitionState("r", 0).highWatermark, 0, "HW must wait for the followers");
  const [answer, ackedAt] = await pending;
  assert.is(baseOffset(answer), 0);
  assert.ok(ackedAt >= 1050, `read-committed acked at ${ackedAt}, before the replicas copied (append at 1000, lag 50)`);
  await t.close();
});

test("a stopped follower holds read-committed acks until it leaves the ISR; resume() brings it back", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock, replicaLagTimeMaxMs: 200 });
  broker.createTopic("r", { replicationFactor: 3, replicaLagMs: 50 });
  const partition = broker.partition("r", 0);
  const t = broker.transport();

  partition.follower(1)!.send({ type: "STOP" });
  assert.is(partition.follower(1)!.getSnapshot().value, "stopped");
  const pending = timed(clock, produce(t, "r", 0, ["a", "b"], { isolation: "read-committed" }));
  let settled = false;
  void pending.then(() => (settled = true));

  await until(clock, 100);
  // Follower 2 has copied, follower 1 has not: the ack is still held.
  assert.is(partition.follower(2)!.getSnapshot().context.leo, 2);
  assert.is(partition.follower(1)!.getSnapshot().context.leo, 0);
  assert.equal(partition.state, { logStartOffset: 0, logEndOffset: 2, highWatermark: 0, isr: [0, 1, 2] });
  assert.not.ok(settled, "the ack must wait for the stopped in-sync follower");
  await until(clock, 199);
  assert.not.ok(settled);
  assert.equal(partition.state.isr, [0, 1, 2]);

  const [answer, ackedAt] = await pending;
  assert.is(baseOffset(answer), 0);
  assert.is(ackedAt, 200, "released when the follower is dropped, replicaLagTimeMaxMs after the append");
  assert.equal(broker.partitionState("r", 0), { logStartOffset: 0, logEndOffset: 2, highWatermark: 2, isr: [0, 2] });

  assert.is(partition.follower(1)!.getSnapshot().context.leo, 0, "a stopped follower copies nothing");

  // Resumed, it catches up after its lag and only then rejoins the ISR.
  partition.resume(1);
  assert.is(partition.follower(1)!.getSnapshot().value, "following");
  await until(clock, 249);
  assert.equal(partition.state.isr, [0, 2], "not back before it has caught up");
  await until(clock, 250);
  assert.is(partition.follower(1)!.getSnapshot().context.leo, 2);
  assert.equal(partition.state, { logStartOffset: 0, logEndOffset: 2, highWatermark: 2, isr: [0, 1, 2] });
  await t.close();
});

test("with fewer in-sync replicas than minInsyncReplicas, read-committed produce answers NOT_ENOUGH_REPLICAS", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock, replicaLagTimeMaxMs: 100 });
  broker.createTopic("r", { replicationFactor: 2, replicaLagMs: 10, minInsyncReplicas: 2 });
  const partition = broker.partition("r", 0);
  const t = broker.transport();

  partition.follower(1)!.send({ type: "STOP" });
  assert.is(baseOffset(await produce(t, "r", 0, ["a"])), 0);
  await until(clock, 100);
  assert.equal(partition.state.isr, [0]);

  const refused = await produce(t, "r", 0, ["b"], { isolation: "read-committed" });
  const wire = wireError(refused);
  assert.is(wire.code, "NOT_ENOUGH_REPLICAS");
  const error = errorFromWire(wire);
  assert.instance(error, NotEnoughReplicasError);
  assert.ok(error.retriable);
  assert.is(partition.state.logEndOffset, 1, "a refused write is not appended");

  // Read-uncommitted needs no replicas.
  assert.is(baseOffset(await produce(t, "r", 0, ["c"])), 1);

  partition.resume(1);
  await until(clock, 110);
  assert.equal(partition.state.isr, [0, 1]);
  const [ok, okAt] = await timed(clock, produce(t, "r", 0, ["d"], { isolation: "read-committed" }));
  assert.is(baseOffset(ok), 2);
  assert.is(okAt, 120);
  await t.close();
});

// A write accepted while the ISR was large enough must not be confirmed after the ISR shrank
// below minInsyncReplicas: it would live on the leader alone although two copies were
// promised. Kafka answers NOT_ENOUGH_REPLICAS_AFTER_APPEND here.
test("a held read-committed ack is not confirmed once the ISR has shrunk below minInsyncReplicas", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock, replicaLagTimeMaxMs: 100 });
  broker.createTopic("r", { replicationFactor: 2, replicaLagMs: 10, minInsyncReplicas: 2 });
  const partition = broker.partition("r", 0);
  const t = broker.transport();

  partition.follower(1)!.send({ type: "STOP" });
  const [answer, at] = await timed(clock, produce(t, "r", 0, ["a"], { isolation: "read-committed", timeoutMs: 1000 }));
  assert.equal(partition.state.isr, [0]);
  assert.ok(at >= 100);
  const wire = wireError(answer);
  assert.is(wire.code, "NOT_ENOUGH_REPLICAS");
  assert.instance(errorFromWire(wire), NotEnoughReplicasError);
  await t.close();
});

test("a read-committed ack not confirmed within timeoutMs answers REQUEST_TIMED_OUT and keeps the data", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("r", { replicationFactor: 2, replicaLagMs: 1000 });
  const t = broker.transport();

  const [answer, at] = await timed(
    clock,
    produce(t, "r", 0, ["a", "b"], { isolation: "read-committed", timeoutMs: 100, transportTimeoutMs: 5000 }),
  );
  assert.is(at, 100);
  const wire = wireError(answer);
  assert.is(wire.code, "REQUEST_TIMED_OUT");
  assert.is(wire.timeoutMs, 100);
  const error = errorFromWire(wire);
  assert.instance(error, RequestTimedOutError);
  assert.is((error as RequestTimedOutError).timeoutMs, 100);
  assert.ok(error.retriable);

  // No rollback: the records are in the log, and become committed once replicated.
  assert.equal(broker.partitionState("r", 0), { logStartOffset: 0, logEndOffset: 2, highWatermark: 0, isr: [0, 1] });
  assert.equal(plain(broker.read("r", 0, { isolation: "read-uncommitted" })).map((r) => r.value), ["a", "b"]);
  await until(clock, 1000);
  assert.equal(broker.partitionState("r", 0), { logStartOffset: 0, logEndOffset: 2, highWatermark: 2, isr: [0, 1] });
  assert.equal(plain(broker.read("r", 0)).map((r) => r.value), ["a", "b"]);
  // The next write lands after them.
  assert.is(baseOffset(await produce(t, "r", 0, ["c"])), 2);

  // With the same deadline on the transport, the transport gives up first: a rejection.
  const lost = produce(t, "r", 0, ["d"], { isolation: "read-committed", timeoutMs: 100, transportTimeoutMs: 100 });
  try {
    await lost;
    assert.unreachable("expected a RequestTimedOutError rejection");
  } catch (e) {
    assert.instance(e, RequestTimedOutError);
  }
  assert.is(broker.partitionState("r", 0).logEndOffset, 4);
  await t.close();
});

// ---- bad input -----------------------------------------------------------------------

test("unknown topic: produce, fetch and metadata answer TOPIC_UNKNOWN; producer() and read() throw", async () => {
  const broker = new EmbeddedBroker({ clock: new VirtualClock() });
  broker.createTopic("known");
  const t = broker.transport();
  const answers = [
    await produce(t, "missing", 0, ["a"]),
    await produce(t, "missing", 0, ["a"], { isolation: "read-committed" }),
    await fetch(t, "missing", 0, 0),
    await t.request({ api: "metadata", topic: "missing" }, { timeoutMs: 100 }),
  ];
  for (const answer of answers) {
    const wire = wireError(answer);
    assert.is(wire.code, "TOPIC_UNKNOWN");
    assert.is(wire.topic, "missing");
    const error = errorFromWire(wire);
    assert.instance(error, UnknownTopicError);
    assert.is((error as UnknownTopicError).topic, "missing");
    assert.not.ok(error.retriable);
  }
  throwsTyped(
    () => broker.producer("missing"),
    UnknownTopicError,
    "TOPIC_UNKNOWN",
    (e) => assert.is(e.topic, "missing"),
  );
  throwsTyped(() => broker.producer("bad name"), InvalidTopicError, "TOPIC_INVALID");
  throwsTyped(() => broker.read("missing", 0), UnknownTopicError, "TOPIC_UNKNOWN");
  throwsTyped(() => broker.partitionState("missing", 0), UnknownTopicError, "TOPIC_UNKNOWN");
  await t.close();
});

test("invalid topic names are refused with InvalidTopicError", () => {
  const broker = new EmbeddedBroker({ clock: new VirtualClock() });
  const bad = ["", "a".repeat(250), "with space", "slash/ed", "ümlaut", "colon:x", "star*", ".", "..", "tab\t"];
  for (const name of bad) {
    throwsTyped(() => broker.createTopic(name), InvalidTopicError, "TOPIC_INVALID", (e) => assert.is(e.topic, name));
  }
  throwsTyped(() => broker.createTopic(42 as unknown as string), InvalidTopicError, "TOPIC_INVALID");
  assert.equal(broker.topics(), []);
  for (const name of ["a".repeat(249), "a.b_c-D9", "...", "_", "-"]) broker.createTopic(name);
  assert.is(broker.topics().length, 5);
  // A wire TOPIC_INVALID rebuilds into the same class.
  const rebuilt = errorFromWire({ code: "TOPIC_INVALID", message: "x", topic: "a b" });
  assert.instance(rebuilt, InvalidTopicError);
  assert.is((rebuilt as InvalidTopicError).topic, "a b");
});

test("unknown partition answers PARTITION_UNKNOWN naming topic and partition", async () => {
  const broker = new EmbeddedBroker({ clock: new VirtualClock() });
  broker.createTopic("two", { partitions: 2 });
  const t = broker.transport();
  for (const partition of [2, -1, 7]) {
    for (const answer of [await produce(t, "two", partition, ["a"]), await fetch(t, "two", partition, 0)]) {
      const wire = wireError(answer);
      assert.is(wire.code, "PARTITION_UNKNOWN");
      const error = errorFromWire(wire);
      assert.instance(error, UnknownPartitionError);
      assert.is((error as UnknownPartitionError).topic, "two");
      assert.is((error as UnknownPartitionError).partition, partition);
    }
  }
  throwsTyped(
    () => broker.read("two", 2),
    UnknownPartitionError,
    "PARTITION_UNKNOWN",
    (e) => assert.is(e.partition, 2),
  );
  throwsTyped(() => broker.partition("two", 5), UnknownPartitionError, "PARTITION_UNKNOWN");
  assert.is(broker.partitionState("two", 0).logEndOffset, 0);
  await t.close();
});

test("oversized records and batches are refused whole, with sizes, and nothing is appended", async () => {
  const broker = new EmbeddedBroker({ clock: new VirtualClock(), maxRecordBytes: 10, maxBatchBytes: 20 });
  assert.is(broker.maxRecordBytes, 10);
  broker.createTopic("s");
  const t = broker.transport();

  // Key and value count together: 4 + 7 = 11 > 10.
  const record = wireError(await produce(t, "s", 0, ["ok", "1234567"], { keys: [null, "kkkk"] }));
  assert.is(record.code, "RECORD_TOO_LARGE");
  const recordError = errorFromWire(record);
  assert.instance(recordError, RecordTooLargeError);
  assert.is((recordError as RecordTooLargeError).size, 11);
  assert.is((recordError as RecordTooLargeError).maxSize, 10);
  assert.is(broker.partitionState("s", 0).logEndOffset, 0, "the valid record of the batch is not appended either");

  // Exactly at the limit is fine.
  assert.is(baseOffset(await produce(t, "s", 0, ["123456"], { keys: ["kkkk"] })), 0);

  // Each record fits, the batch does not: 3 * 8 = 24 > 20.
  const batch = wireError(
    await produce(t, "s", 0, ["12345678", "12345678", "12345678"], { isolation: "read-committed" }),
  );
  assert.is(batch.code, "BATCH_TOO_LARGE");
  const batchError = errorFromWire(batch);
  assert.instance(batchError, BatchTooLargeError);
  assert.is((batchError as BatchTooLargeError).size, 24);
  assert.is((batchError as BatchTooLargeError).maxSize, 20);
  assert.not.ok(batchError.retriable);
  assert.is(broker.partitionState("s", 0).logEndOffset, 1);
  assert.is(
    baseOffset(await produce(t, "s", 0, ["1234567890", "1234567890"])),
    1,
    "a batch exactly at the limit is fine",
  );
  await t.close();
});

test("createTopic twice throws TopicExistsError", () => {
  const broker = new EmbeddedBroker({ clock: new VirtualClock() });
  broker.createTopic("dup", { partitions: 2 });
  throwsTyped(() => broker.createTopic("dup"), TopicExistsError, "TOPIC_EXISTS", (e) => assert.is(e.topic, "dup"));
  throwsTyped(() => broker.createTopic("dup", { partitions: 5 }), TopicExistsError, "TOPIC_EXISTS");
  assert.is(broker.topics().length, 1);
  const rebuilt = errorFromWire({ code: "TOPIC_EXISTS", message: "x", topic: "dup" });
  assert.instance(rebuilt, TopicExistsError);
  assert.is((rebuilt as TopicExistsError).topic, "dup");
});

test("invalid TopicConfig values throw ConfigError naming the field, and create nothing", () => {
  const broker = new EmbeddedBroker({ clock: new VirtualClock() });
  const cases: [TopicConfig, string][] = [
    [{ partitions: 0 }, "topic.partitions"],
    [{ partitions: 1.5 }, "topic.partitions"],
    [{ partitions: 10_001 }, "topic.partitions"],
    [{ partitions: "2" as unknown as number }, "topic.partitions"],
    [{ replicationFactor: 0 }, "topic.replicationFactor"],
    [{ replicationFactor: 17 }, "topic.replicationFactor"],
    [{ replicaLagMs: -1 }, "topic.replicaLagMs"],
    [{ replicaLagMs: Number.NaN }, "topic.replicaLagMs"],
    [{ replicaLagMs: Infinity }, "topic.replicaLagMs"],
    [{ minInsyncReplicas: 0 }, "topic.minInsyncReplicas"],
    [{ replicationFactor: 3, minInsyncReplicas: 4 }, "topic.minInsyncReplicas"],
    [{ minInsyncReplicas: 2 }, "topic.minInsyncReplicas"],
  ];
  for (const [config, field] of cases) throwsConfig(() => broker.createTopic("cfg", config), field);
  assert.equal(broker.topics(), []);
  broker.createTopic("wide", { partitions: 10_000 });
  broker.createTopic("deep", { replicationFactor: 16, replicaLagMs: 0, minInsyncReplicas: 16 });
  assert.equal(broker.topics(), ["wide", "deep"]);
  assert.equal(broker.partitionState("deep", 0).isr.length, 16);
});

test("invalid BrokerOptions values throw ConfigError naming the field", () => {
  const cases: [BrokerOptions, string][] = [
    [{ maxRecordBytes: 0 }, "broker.maxRecordBytes"],
    [{ maxRecordBytes: 1.5 }, "broker.maxRecordBytes"],
    [{ maxBatchBytes: -1 }, "broker.maxBatchBytes"],
    [{ maxBatchBytes: Infinity }, "broker.maxBatchBytes"],
    [{ replicaLagTimeMaxMs: 0 }, "broker.replicaLagTimeMaxMs"],
    [{ replicaLagTimeMaxMs: Number.NaN }, "broker.replicaLagTimeMaxMs"],
  ];
  for (const [options, field] of cases) {
    throwsConfig(() => new EmbeddedBroker({ clock: new VirtualClock(), ...options }), field);
  }
  const broker = new EmbeddedBroker({
    clock: new VirtualClock(),
    maxRecordBytes: 1,
    maxBatchBytes: 1,
    replicaLagTimeMaxMs: 1,
  });
  assert.is(broker.maxRecordBytes, 1);
  assert.is(new EmbeddedBroker().maxRecordBytes, 1024 * 1024, "default 1 MiB");
});

test("an unknown request api answers REQUEST_INVALID", async () => {
  const broker = new EmbeddedBroker({ clock: new VirtualClock() });
  const answer = await broker.handle({ api: "delete" } as never);
  const wire = wireError(answer as { ok: boolean; error?: WireError });
  assert.is(wire.code, "REQUEST_INVALID");
  assert.instance(errorFromWire(wire), AcktorError);
});

// ---- the in-process transport --------------------------------------------------------

test("in-process transport: close() rejects outstanding requests with TransportClosedError and refuses new ones", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("r", { replicationFactor: 2, replicaLagMs: 100 });
  const t = broker.transport();
  const other = broker.transport();

  const outstanding = produce(t, "r", 0, ["held"], { isolation: "read-committed" });
  const outcome = outstanding.then(
    () => "resolved",
    (e: unknown) => e,
  );
  await t.close();
  const error = await outcome;
  assert.instance(error, TransportClosedError);
  assert.is((error as TransportClosedError).code, "TRANSPORT_CLOSED");
  assert.not.ok((error as TransportClosedError).retriable);
  assert.is(clock.now(), 0, "rejected at close, not at a timeout");

  for (
    const request of [
      () => produce(t, "r", 0, ["new"]),
      () => fetch(t, "r", 0, 0),
      () => t.request({ api: "metadata", topic: "r" }, { timeoutMs: 10 }),
    ]
  ) {
    try {
      await request();
      assert.unreachable("a closed transport must refuse requests");
    } catch (e) {
      assert.instance(e, TransportClosedError);
    }
  }
  assert.is(
    broker.partitionState("r", 0).logEndOffset,
    1,
    "the write that reached the broker stays; nothing after close",
  );

  // The broker's late answer goes nowhere, and another transport is unaffected.
  await until(clock, 100);
  assert.is(broker.partitionState("r", 0).highWatermark, 1);
  assert.is(baseOffset(await produce(other, "r", 0, ["other"])), 1);
  await other.close();
  await t.close(); // closing twice is harmless
});

test("in-process transport: a request with no answer in time rejects with RequestTimedOutError", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("r", { replicationFactor: 2, replicaLagMs: 500 });
  const t = broker.transport();
  const [outcome, at] = await timed(
    clock,
    produce(t, "r", 0, ["a"], { isolation: "read-committed", timeoutMs: 1000, transportTimeoutMs: 30 }).then(
      () => "resolved",
      (e: unknown) => e,
    ),
  );
  assert.instance(outcome, RequestTimedOutError);
  assert.is((outcome as RequestTimedOutError).timeoutMs, 30);
  assert.is(at, 30);
  await t.close();
});

test("listen(): serves Kafka where node:net loads; in a browser it rejects with UnsupportedError", {
  deadlineMs: 10_000,
}, async () => {
  const broker = new EmbeddedBroker();
  const inBrowser = typeof (globalThis as { document?: unknown }).document !== "undefined";
  const outcome = await broker.listen({ port: 0, log: () => {} }).then(
    async (server) => {
      await server.close();
      return server.address.port;
    },
    (error: unknown) => error,
  );
  if (inBrowser) {
    assert.instance(outcome, UnsupportedError);
    assert.match((outcome as Error).message, /node:net/);
  } else {
    assert.type(outcome, "number", String(outcome));
  }
});

test.run();
