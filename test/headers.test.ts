/**
 * Record headers and timestamps on the embedded broker: `send(key, value, { headers,
 * timestamp })` through the log, every reading style, a dead letter and a transactional
 * consume-transform-produce stage; what `send()` refuses (typed, naming the field, nothing
 * sent); and what headers add to a record's size.
 */
import { linked, test, until } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import {
  type ConsumedRecord,
  EmbeddedBroker,
  exactlyOnce,
  InvalidRecordError,
  type RecordHeaders,
  RecordTooLargeError,
  VirtualClock,
} from "../src/index.ts";
import { errorFromWire } from "../src/errors.ts";
import type { ProduceResponse } from "../src/transport/protocol.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
/** Every byte value, and bytes that are neither UTF-8 nor single-line text. */
const BINARY = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
/** Where the virtual clock starts: a plausible epoch time, so default timestamps look like real ones. */
const START = 1_700_000_000_000;

/** Headers as plain strings (binary as byte lists), for readable comparisons. */
const plain = (headers: RecordHeaders): Record<string, string | number[]> =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, k === "bin" ? [...v] : dec(v)]));

/** A broker on a virtual clock with topic `in` (2 partitions) holding three records: with headers, without, keyless. */
async function filled() {
  const clock = new VirtualClock(START);
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("in", { partitions: 2 });
  broker.createTopic("dlq", { partitions: 1 });
  broker.createTopic("out", { partitions: 1 });
  const producer = broker.producer("in");
  try {
    // Keyed to one partition, so offsets give the order.
    await producer.send("k", "with", { headers: { trace: "abc-1", bin: BINARY, empty: "" }, timestamp: 42 });
    await producer.send("k", "without");
    await producer.send("k", "stamped", { timestamp: 1_600_000_000_000 });
    await producer.flush();
  } finally {
    await producer.close();
  }
  const partition = [0, 1].find((p) => broker.read("in", p).length > 0)!;
  return { clock, broker, partition };
}

/** What every reading style must see of the three records. */
function checkThree(records: readonly ConsumedRecord[]): void {
  const byValue = new Map(records.map((r) => [dec(r.value), r]));
  const withHeaders = byValue.get("with")!;
  assert.equal(plain(withHeaders.headers), { trace: "abc-1", bin: [...BINARY], empty: "" });
  assert.is(withHeaders.timestamp, 42);
  assert.equal(byValue.get("without")!.headers, {}, "a record without headers has {}");
  assert.is(byValue.get("without")!.timestamp, START, "default: the producer clock's time at send()");
  assert.is(byValue.get("stamped")!.timestamp, 1_600_000_000_000);
  assert.equal(records.map((r) => dec(r.key!)), ["k", "k", "k"]);
}

test("headers and timestamps go through the log: broker.read and a fetch give them back, byte for byte", async () => {
  const { broker, partition } = await filled();
  const read = broker.read("in", partition);
  assert.equal(read.map((r) => dec(r.value)), ["with", "without", "stamped"]);
  assert.equal(plain(read[0]!.headers), { trace: "abc-1", bin: [...BINARY], empty: "" });
  assert.ok(Object.isFrozen(read[0]!.headers), "readers get frozen headers");
  assert.equal([...read[0]!.headers.bin!], [...BINARY]);
  assert.equal(read.map((r) => r.timestamp), [42, START, 1_600_000_000_000]);
  const transport = broker.transport();
  try {
    const answer = await transport.request(
      { api: "fetch", topic: "in", partition, offset: 1, maxRecords: 10, isolation: "read-committed" },
      { timeoutMs: 1_000 },
    );
    assert.ok(answer.ok);
    assert.equal(answer.records.map((r) => [r.offset, r.headers, r.timestamp]), [
      [1, {}, START],
      [2, {}, 1_600_000_000_000],
    ]);
  } finally {
    await transport.close();
  }
});

test("a real clock stamps epoch milliseconds; a produce request without timestamps gets the broker's append time", async () => {
  const broker = new EmbeddedBroker();
  broker.createTopic("t", { partitions: 1 });
  const producer = broker.producer("t");
  const transport = broker.transport();
  try {
    const before = Date.now();
    await producer.send(null, "now");
    await producer.flush();
    const answer = await transport.request(
      {
        api: "produce",
        topic: "t",
        partition: 0,
        isolation: "read-uncommitted",
        timeoutMs: 1_000,
        keys: [null],
        values: [enc("old")],
      },
      { timeoutMs: 1_000 },
    );
    assert.ok(answer.ok);
    const [sent, bare] = broker.read("t", 0);
    assert.ok(sent!.timestamp >= before && sent!.timestamp <= Date.now(), `epoch ms, got ${sent!.timestamp}`);
    assert.ok(bare!.timestamp >= before && bare!.timestamp <= Date.now() && Number.isInteger(bare!.timestamp));
  } finally {
    await producer.close();
    await transport.close();
  }
});

test("run, runBatches, records$ and for-await all hand out headers and timestamps", async () => {
  const { clock, broker } = await filled();
  const styles: Record<string, ConsumedRecord[]> = { run: [], runBatches: [], records$: [], forAwait: [] };
  for (const style of Object.keys(styles)) {
    const seen = styles[style]!;
    const c = broker.consumer("in", { groupId: `g-${style}`, pollIntervalMs: 10 });
    const stop = new AbortController();
    try {
      if (style === "run") {
        const running = c.run((r) => void seen.push(r), { signal: linked(stop) });
        await until(clock, () => seen.length === 3, "run to see three records");
        stop.abort();
        await running;
      } else if (style === "runBatches") {
        const running = c.runBatches((b) => void seen.push(...b.records), { signal: linked(stop) });
        await until(clock, () => seen.length === 3, "runBatches to see three records");
        stop.abort();
        await running;
      } else if (style === "records$") {
        const sub = c.records$.subscribe((r) => {
          seen.push(r);
          r.ack();
        });
        try {
          await until(clock, () => seen.length === 3, "records$ to see three records");
        } finally {
          sub.unsubscribe();
        }
      } else {
        for await (const r of c) {
          seen.push(r);
          if (seen.length === 3) break;
        }
      }
      checkThree(seen);
    } finally {
      stop.abort();
      await c.close();
    }
  }
});

test("a dead letter keeps the record's headers and timestamp", async () => {
  const { clock, broker } = await filled();
  const c = broker.consumer("in", { groupId: "g", pollIntervalMs: 10, maxDeliveries: 2, deadLetterTopic: "dlq" });
  const stop = new AbortController();
  const handled: string[] = [];
  try {
    const running = c.run((r) => {
      if (dec(r.value) === "with") throw new Error("poison");
      handled.push(dec(r.value));
    }, { signal: linked(stop) });
    await until(clock, () => handled.length === 2 && broker.read("dlq", 0).length === 1, "the dead letter");
    stop.abort();
    await running;
    const [letter] = broker.read("dlq", 0);
    assert.is(dec(letter!.value), "with");
    assert.is(dec(letter!.key!), "k");
    assert.equal(plain(letter!.headers), { trace: "abc-1", bin: [...BINARY], empty: "" });
    assert.is(letter!.timestamp, 42);
  } finally {
    stop.abort();
    await c.close();
  }
});

test("transactional consume-transform-produce: tx.send forwards headers and timestamp into the committed output", async () => {
  const { clock, broker } = await filled();
  const out = broker.producer("out", { deliverySemantic: exactlyOnce({ transactionalId: "fwd" }) });
  const c = broker.consumer("in", { groupId: "g", pollIntervalMs: 10, commit: "transactional", producer: out });
  const stop = new AbortController();
  try {
    const running = c.run(async (r, { tx }) => {
      await tx!.send(r.key, `out-${dec(r.value)}`, {
        headers: { ...r.headers, hop: "1" },
        timestamp: r.timestamp,
      });
    }, { signal: linked(stop) });
    await until(clock, () => broker.read("out", 0).length === 3, "three committed outputs");
    stop.abort();
    await running;
    const output = broker.read("out", 0);
    assert.equal(output.map((r) => dec(r.value)), ["out-with", "out-without", "out-stamped"]);
    assert.equal(plain(output[0]!.headers), { trace: "abc-1", bin: [...BINARY], empty: "", hop: "1" });
    assert.equal(output.map((r) => r.timestamp), [42, START, 1_600_000_000_000]);
    assert.equal(plain(output[1]!.headers), { hop: "1" });
  } finally {
    stop.abort();
    await c.close();
    await out.close();
  }
});

test("send() refuses bad headers, timestamps and options with InvalidRecordError naming the field; nothing is sent", async () => {
  const broker = new EmbeddedBroker({ clock: new VirtualClock(START) });
  broker.createTopic("t", { partitions: 1 });
  const producer = broker.producer("t");
  const cases: [string, unknown, string, RegExp][] = [
    ["headers: an array", { headers: [["a", "b"]] }, "headers", /plain object/],
    ["headers: a string", { headers: "a=b" }, "headers", /plain object/],
    ["headers: a Map", { headers: new Map([["a", "b"]]) }, "headers", /plain object.*Map/],
    ["a number value", { headers: { a: 1 } }, "headers", /header "a": expected a Uint8Array or a string, got 1/],
    ["a null value", { headers: { a: null } }, "headers", /header "a".*null/],
    ["an array value", { headers: { a: [1] } }, "headers", /header "a".*an array/],
    ["an empty name", { headers: { "": "x" } }, "headers", /header name ""/],
    ["a name with a colon", { headers: { "a:b": "x" } }, "headers", /header name "a:b"/],
    ["a name with a space", { headers: { "a b": "x" } }, "headers", /header name "a b"/],
    ["a non-ASCII name", { headers: { "é": "x" } }, "headers", /printable ASCII/],
    ["a reserved Acktor- name", { headers: { "Acktor-Key": "x" } }, "headers", /reserved/],
    ["a reserved Nats- name, any case", { headers: { "nats-msg-id": "x" } }, "headers", /reserved/],
    ["a negative timestamp", { timestamp: -1 }, "timestamp", /non-negative integer.*got -1/],
    ["a fractional timestamp", { timestamp: 1.5 }, "timestamp", /got 1.5/],
    ["NaN", { timestamp: Number.NaN }, "timestamp", /got NaN/],
    ["Infinity", { timestamp: Infinity }, "timestamp", /got Infinity/],
    ["a string timestamp", { timestamp: "1" }, "timestamp", /got "1"/],
    ["a Date", { timestamp: new Date() }, "timestamp", /got Date/],
    ["beyond 2^53", { timestamp: 2 ** 53 }, "timestamp", /non-negative integer/],
    ["a misspelt option", { timestmap: 1 }, "options", /unknown option "timestmap"/],
    ["options not an object", 7, "options", /expected an object/],
  ];
  try {
    for (const [what, options, field, message] of cases) {
      const error = await producer.send("k", "v", options as never).then(() => null, (e: unknown) => e);
      assert.instance(error, InvalidRecordError, what);
      assert.is((error as InvalidRecordError).field, field, what);
      assert.is((error as InvalidRecordError).code, "RECORD_INVALID", what);
      assert.match((error as Error).message, message, what);
    }
    await producer.flush();
    assert.is(producer.stats.accepted, 0, "nothing accepted");
    assert.equal(broker.read("t", 0, { isolation: "read-uncommitted" }), [], "nothing sent");
    // An empty headers object, __proto__ as a name and undefined options are all fine.
    const ok = await producer.send("k", "v", { headers: JSON.parse('{"__proto__":"p"}'), timestamp: 0 });
    await producer.send("k", "v2", { headers: {} });
    await producer.send("k", "v3", undefined);
    await producer.flush();
    assert.is((await ok.wait()).offset, 0);
    const [first, second] = broker.read("t", 0);
    assert.equal(Object.keys(first!.headers), ["__proto__"]);
    assert.is(dec(first!.headers["__proto__"]!), "p");
    assert.is(Object.getPrototypeOf(first!.headers), Object.prototype, "a header, not the prototype");
    assert.is(first!.timestamp, 0);
    assert.equal(second!.headers, {});
  } finally {
    await producer.close();
  }
});

test("headers count toward the record size: maxRequestSize on the producer, maxRecordBytes on the broker", async () => {
  const broker = new EmbeddedBroker({ maxRecordBytes: 100 });
  broker.createTopic("t", { partitions: 1 });
  const producer = broker.producer("t", { maxRequestSize: 50, batchSize: 50 });
  const transport = broker.transport();
  try {
    // key 1 + value 10 + name "h" 1 + value 38 = 50: fits; one more byte does not.
    await producer.send("k", "0123456789", { headers: { h: "x".repeat(38) } });
    const error = await producer.send("k", "0123456789", { headers: { h: "x".repeat(39) } }).catch((e: unknown) => e);
    assert.instance(error, RecordTooLargeError);
    assert.is((error as RecordTooLargeError).size, 51);
    // Multi-byte names count in UTF-8 bytes on the broker (a raw request: the producer refuses such names).
    const big: RecordHeaders = { ["é".repeat(20)]: new Uint8Array(61) }; // 40 + 61 = 101
    const answer: ProduceResponse = await transport.request({
      api: "produce",
      topic: "t",
      partition: 0,
      isolation: "read-uncommitted",
      timeoutMs: 1_000,
      keys: [null],
      values: [new Uint8Array(0)],
      headers: [big],
      timestamps: [1],
    }, { timeoutMs: 1_000 });
    assert.ok(!answer.ok);
    const refused = errorFromWire(answer.error);
    assert.instance(refused, RecordTooLargeError);
    assert.is((refused as RecordTooLargeError).size, 101);
    // A headers column that does not match the records is the sender's bug.
    const skewed = await transport.request({
      api: "produce",
      topic: "t",
      partition: 0,
      isolation: "read-uncommitted",
      timeoutMs: 1_000,
      keys: [null, null],
      values: [enc("a"), enc("b")],
      headers: [null],
    }, { timeoutMs: 1_000 });
    assert.ok(!skewed.ok && skewed.error.code === "REQUEST_INVALID" && /headers/.test(skewed.error.message));
    await producer.flush();
    assert.is(broker.read("t", 0).length, 1);
  } finally {
    await producer.close();
    await transport.close();
  }
});

test("producer outcomes carry the record's headers and timestamp, for re-sending it as it was", async () => {
  const broker = new EmbeddedBroker({ clock: new VirtualClock(START) });
  broker.createTopic("t", { partitions: 1 });
  const producer = broker.producer("t");
  const outcomes: { headers: RecordHeaders; timestamp: number }[] = [];
  const sub = producer.outcomes$.subscribe((o) => outcomes.push(o));
  try {
    // Headers first appear mid-batch: the records before them have none.
    await producer.send(null, "a");
    await producer.send(null, "b", { headers: { h: "1" }, timestamp: 7 });
    await producer.send(null, "c");
    await producer.flush();
    assert.equal(outcomes.map((o) => [plain(o.headers), o.timestamp]), [[{}, START], [{ h: "1" }, 7], [{}, START]]);
    assert.equal(broker.read("t", 0).map((r) => [plain(r.headers), r.timestamp]), [[{}, START], [{ h: "1" }, 7], [
      {},
      START,
    ]]);
  } finally {
    sub.unsubscribe();
    await producer.close();
  }
});

test.run();
