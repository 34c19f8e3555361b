import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { murmur2, toPositive } from "../src/producer/murmur2.ts";
import {
  createPartitioner,
  keyedPartition,
  type Partitioner,
  roundRobinPartitioner,
  stickyPartitioner,
} from "../src/producer/partitioner.ts";
import { ConfigError } from "../src/errors.ts";

const utf8 = new TextEncoder();
const bytes = (s: string): Uint8Array => utf8.encode(s);

// apache/kafka clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java,
// UtilsTest.testMurmur2. All inputs are ASCII, so String.getBytes() equals UTF-8.
const KAFKA_VECTORS: ReadonlyArray<readonly [Uint8Array, number]> = [
  [bytes("21"), -973932308],
  [bytes("foobar"), -790332482],
  [bytes("a-little-bit-long-string"), -985981536],
  [bytes("a-little-bit-longer-string"), -1486304829],
  [bytes("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971],
  [new Uint8Array([0x61, 0x62, 0x63]), 479470107],
];

// tulios/kafkajs src/producer/partitioners/defaultJava/murmur2.spec.js ("Generated with
// src/producer/partitioners/defaultJava/Test.java", a copy of Kafka's Utils.murmur2). That is
// the Java-compatible hash KafkaJS v2 made its default partitioner. Not the vectors in
// KafkaJS's pre-v2 `default/murmur2.spec.js` (now `legacy`): that hash is not Kafka's
// (e.g. "0" -> 272173970 there) and keys placed by it do not match the Java client.
const KAFKAJS_JAVA_VECTORS: ReadonlyArray<readonly [string, number]> = [
  ["0", 971027396],
  ["1", -1993445489],
  ["128", -326012175],
  ["2187", -1508407203],
  ["16384", -325739742],
  ["78125", -1654490814],
  ["279936", 1462227128],
  ["823543", -2014198330],
  ["2097152", 607668903],
  ["4782969", -1182699775],
  ["10000000", -1830336757],
  ["19487171", -1603849305],
  ["35831808", -857013643],
  ["62748517", -1167431028],
  ["105413504", -381294639],
  ["170859375", -1658323481],
  ["100:48069", 1009543857],
];

test("murmur2 matches Kafka's UtilsTest.testMurmur2 vectors", () => {
  for (const [input, expected] of KAFKA_VECTORS) {
    assert.is(murmur2(input), expected, `murmur2(${JSON.stringify(new TextDecoder().decode(input))})`);
  }
});

test("murmur2 matches KafkaJS's Java-compatible vectors", () => {
  for (const [key, expected] of KAFKAJS_JAVA_VECTORS) {
    assert.is(murmur2(bytes(key)), expected, `murmur2(${JSON.stringify(key)})`);
  }
});

test("murmur2 stays a signed 32-bit int for every tail length", () => {
  // The vectors above already cover tails 0 ("lkjh…", 48 bytes), 1 ("1"), 2 ("21") and 3
  // ("abc"); all-0xff keys push every shift into the sign bit, where JS would otherwise
  // leave a double or an unsigned value.
  for (let len = 0; len <= 9; len++) {
    const h = murmur2(new Uint8Array(len).fill(0xff));
    assert.ok(Number.isInteger(h) && h >= -0x80000000 && h <= 0x7fffffff, `len ${len}: ${h}`);
    assert.is(h, h | 0);
  }
});

test("murmur2 reads a view's bytes, not its whole backing buffer", () => {
  // Keys are often subarrays of a larger serialization buffer.
  const buf = bytes("xxfoobaryy");
  assert.is(murmur2(buf.subarray(2, 8)), -790332482);
});

test("toPositive clears only the sign bit, like Kafka's Utils.toPositive", () => {
  assert.is(toPositive(0), 0);
  assert.is(toPositive(5), 5);
  assert.is(toPositive(-1), 0x7fffffff);
  assert.is(toPositive(-0x80000000), 0);
  assert.is(toPositive(-973932308), -973932308 & 0x7fffffff);
  assert.is(toPositive(0x7fffffff), 0x7fffffff);
});

// KafkaJS's partitioner tests assert no fixed key -> partition table; its rule
// (src/producer/partitioners/default/partitioner.js) is toPositive(murmur2(key)) % n, as in
// Kafka's DefaultPartitioner / BuiltInPartitioner. So the expected partitions here come from
// the published hashes above through that rule, for several partition counts.
test("keyed records land where Kafka's default partitioner puts them", () => {
  const strategies: Partitioner[] = [stickyPartitioner(), roundRobinPartitioner()];
  for (const [key, hash] of KAFKAJS_JAVA_VECTORS) {
    for (const n of [1, 2, 3, 6, 10, 12, 50, 100]) {
      const expected = toPositive(hash) % n;
      for (const p of strategies) assert.is(p.partition(bytes(key), n), expected, `${key} over ${n}`);
    }
  }
  // A few spelled out, so a regression in the shared rule shows a concrete number.
  assert.is(keyedPartition(bytes("foobar"), 3), 0);
  assert.is(keyedPartition(bytes("foobar"), 10), 6);
  assert.is(keyedPartition(bytes("21"), 16), 12);
  assert.is(keyedPartition(bytes("0"), 5), 1);
  assert.is(keyedPartition(bytes("100:48069"), 10), 7);
});

test("keyed placement is in range and stable for any key (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 10_000 }), (key, n) => {
      const sticky = stickyPartitioner();
      const rr = roundRobinPartitioner();
      const p = sticky.partition(key, n);
      if (!(Number.isInteger(p) && p >= 0 && p < n)) return false;
      // Keyless traffic and full batches in between must not move a key.
      sticky.partition(null, n);
      sticky.onBatchFull?.(sticky.partition(null, n));
      rr.partition(null, n);
      return (
        sticky.partition(key, n) === p &&
        rr.partition(key, n) === p &&
        keyedPartition(new Uint8Array(key), n) === p
      );
    }),
    { numRuns: 2_000 },
  );
});

test("sticky: keyless records stay on one partition until its batch fills", () => {
  const p = stickyPartitioner();
  const first = p.partition(null, 5);
  for (let i = 0; i < 100; i++) assert.is(p.partition(null, 5), first);
  // Another partition filling up (keyed traffic) is not a reason to move.
  p.onBatchFull?.((first + 2) % 5);
  assert.is(p.partition(null, 5), first);
  p.onBatchFull?.(first);
  const second = p.partition(null, 5);
  assert.is.not(second, first);
  assert.is(second, (first + 1) % 5);
  for (let i = 0; i < 100; i++) assert.is(p.partition(null, 5), second);
});

test("sticky: over many batches every partition gets the same number of batches", () => {
  const n = 7;
  const batchSize = 16;
  const batches = n * 50;
  const p = stickyPartitioner();
  const records = new Array<number>(n).fill(0);
  const started = new Array<number>(n).fill(0);
  for (let b = 0; b < batches; b++) {
    let partition = -1;
    for (let r = 0; r < batchSize; r++) {
      const got = p.partition(null, n);
      if (partition === -1) partition = got;
      assert.is(got, partition, "a batch never spans partitions");
      records[got] = (records[got] ?? 0) + 1;
    }
    started[partition] = (started[partition] ?? 0) + 1;
    p.onBatchFull?.(partition);
  }
  assert.equal(started, new Array<number>(n).fill(batches / n));
  assert.equal(records, new Array<number>(n).fill((batches / n) * batchSize));
});

test("sticky: is deterministic across instances", () => {
  const run = (): number[] => {
    const p = stickyPartitioner();
    const out: number[] = [];
    for (let i = 0; i < 40; i++) {
      const got = p.partition(null, 4);
      out.push(got);
      if (i % 3 === 2) p.onBatchFull?.(got);
    }
    return out;
  };
  assert.equal(run(), run());
});

test("sticky: stays in range when the partition count changes", () => {
  const p = stickyPartitioner();
  for (let i = 0; i < 5; i++) p.onBatchFull?.(p.partition(null, 6));
  assert.is(p.partition(null, 6), 5);
  const shrunk = p.partition(null, 3);
  assert.ok(shrunk >= 0 && shrunk < 3);
  p.onBatchFull?.(shrunk);
  assert.is(p.partition(null, 3), (shrunk + 1) % 3);
  assert.is(p.partition(null, 1), 0);
});

test("round-robin: keyless records cycle one record at a time", () => {
  const p = roundRobinPartitioner();
  const seen: number[] = [];
  for (let i = 0; i < 9; i++) seen.push(p.partition(null, 3));
  assert.equal(seen, [0, 1, 2, 0, 1, 2, 0, 1, 2]);
  // Keyed records in between do not advance the rotation.
  p.partition(bytes("foobar"), 3);
  assert.is(p.partition(null, 3), 0);
  assert.is(p.partition(null, 1), 0);
  assert.is(p.partition(null, 1), 0);
});

test("round-robin: stays in range when the partition count changes", () => {
  const p = roundRobinPartitioner();
  for (let i = 0; i < 5; i++) p.partition(null, 8);
  const got = p.partition(null, 4);
  assert.ok(got >= 0 && got < 4);
  assert.is(p.partition(null, 4), (got + 1) % 4);
});

test("a bad partition count is rejected instead of yielding NaN", () => {
  for (const make of [stickyPartitioner, roundRobinPartitioner]) {
    const p = make();
    for (const n of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 31]) {
      assert.throws(() => p.partition(null, n), RangeError);
      assert.throws(() => p.partition(bytes("k"), n), RangeError);
    }
  }
});

test("createPartitioner resolves names and passes custom objects through", () => {
  const sticky = createPartitioner("sticky");
  sticky.partition(null, 4);
  assert.is(sticky.partition(null, 4), 0, "sticky stays");
  assert.ok(typeof sticky.onBatchFull === "function");

  const rr = createPartitioner("round-robin");
  assert.equal([rr.partition(null, 4), rr.partition(null, 4)], [0, 1]);

  assert.is.not(createPartitioner("sticky"), sticky, "each call gets its own state");

  const custom: Partitioner = { partition: () => 2 };
  assert.is(createPartitioner(custom), custom);

  for (const bad of ["random", "", null, 42, {}] as unknown[]) {
    assert.throws(
      () => createPartitioner(bad as Partitioner),
      (e: unknown) => e instanceof ConfigError && e.field === "partitioner",
    );
  }
});

test.run();
