/**
 * Kafka record batches v2: CRC-32C against published vectors, a batch written out byte by
 * byte from the format, encode/decode round trips (null keys, headers, timestamps, offset
 * gaps, transactions, control markers), gzip, refused codecs, and that every corruption and
 * every truncation is a {@link CorruptRecordError}. (kafkajs as the oracle:
 * `kafka-records-kafkajs.test.ts`.)
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { gunzipSync, gzipSync } from "node:zlib";
import { crc32c } from "../src/kafka/records/crc32c.ts";
import { controlRecordType, decodeBatches } from "../src/kafka/records/record-batch.ts";
import { encodeBatch, encodeBatches, encodeControlBatch } from "../src/kafka/records/batch-encoder.ts";
import { CorruptRecordError, UnsupportedCompressionError } from "../src/kafka/records/records-error.ts";
import {
  assertSame,
  type ColumnsInput,
  corrupt,
  corruptWith,
  dec,
  enc,
  fixCrc,
  gzipped,
  handBuilt,
  pack,
  prng,
  sample,
  T0,
  view,
} from "./helpers/record-batches.ts";

test("CRC-32C matches the published check values, and continues across chunks", () => {
  assert.is(crc32c(enc("123456789")), 0xe3069283);
  assert.is(crc32c(new Uint8Array(32)), 0x8a9136aa);
  // RFC 3720 B.4: 32 bytes of 0xFF, and 32 ascending bytes.
  assert.is(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.is(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.is(crc32c(new Uint8Array(0)), 0);
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 131 + 7) & 0xff);
  const whole = crc32c(data);
  for (const cut of [0, 1, 15, 16, 17, 500, 999, 1000]) {
    assert.is(crc32c(data, cut, 1000, crc32c(data, 0, cut)), whole, `split at ${cut}`);
  }
  // Past the 16-byte steps: a range that starts unaligned and ends mid-step.
  assert.is(crc32c(data, 3, 40), crc32c(data.slice(3, 40)));
});

test("a batch written byte by byte from the format decodes field by field", () => {
  const [batch, ...rest] = decodeBatches(handBuilt());
  assert.is(rest.length, 0);
  const b = batch!;
  assert.is(b.baseOffset, 5);
  assert.is(b.partitionLeaderEpoch, 3);
  assert.is(b.attributes, 0x10);
  assert.is(b.compression, 0);
  assert.ok(b.transactional);
  assert.not.ok(b.control);
  assert.is(b.lastOffsetDelta, 1);
  assert.is(b.baseTimestamp, T0);
  assert.is(b.maxTimestamp, T0 + 5);
  assert.is(b.producerId, 7);
  assert.is(b.producerEpoch, 2);
  assert.is(b.baseSequence, 10);
  assert.is(b.count, 2);
  assert.is(b.offsetDeltas, null);
  const { keys, values, headers, timestamps } = b.columns;
  assert.is(dec(keys[0]!), "k");
  assert.is(keys[1], null);
  assert.equal(values.map(dec), ["v1", "x"]);
  assert.equal(timestamps, [T0, T0 + 5]);
  assert.is(headers?.[0], null);
  assert.equal(Object.keys(headers![1]!), ["h"]);
  assert.is(dec(headers![1]!.h!), "y");
  assert.ok(Object.isFrozen(headers![1]));
});

test("keys and values are views into the request's bytes, not copies", () => {
  const bytes = handBuilt();
  const b = decodeBatches(bytes)[0]!;
  const value = b.columns.values[0]!;
  assert.is(value.buffer, bytes.buffer);
  bytes[value.byteOffset] = 0x77;
  assert.is(dec(b.columns.values[0]!), "w1");
  // Header values are copies: the log keeps them as they are, and must not pin the frame.
  const withHeader = encodeBatch({
    baseOffset: 0,
    records: { keys: [null], values: [enc("v")], headers: [{ h: enc("x") }] },
  });
  const header = decodeBatches(withHeader)[0]!.columns.headers![0]!.h!;
  assert.is.not(header.buffer, withHeader.buffer);
  assert.is(dec(header), "x");
});

test("a null value and a null header value decode as empty bytes; a repeated header name keeps the last", () => {
  // One record: null key, null value, headers a = null, a = "2", b = "".
  const record = [0x00, 0x00, 0x00, 0x01, 0x01, 0x06, 0x02, 0x61, 0x01, 0x02, 0x61, 0x02, 0x32, 0x02, 0x62, 0x00];
  const bytes = Uint8Array.from([
    ...[0, 0, 0, 0, 0, 0, 0, 0],
    ...[0, 0, 0, 49 + 1 + record.length],
    ...[0, 0, 0, 0],
    2,
    ...[0, 0, 0, 0],
    ...[0, 0],
    ...[0, 0, 0, 0],
    ...[0, 0, 0, 0, 0, 0, 0, 9],
    ...[0, 0, 0, 0, 0, 0, 0, 9],
    ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // producerId -1
    ...[0xff, 0xff],
    ...[0xff, 0xff, 0xff, 0xff],
    ...[0, 0, 0, 1],
    record.length << 1,
    ...record,
  ]);
  const b = decodeBatches(fixCrc(bytes))[0]!;
  assert.is(b.producerId, -1);
  assert.is(b.producerEpoch, -1);
  assert.is(b.baseSequence, -1);
  assert.is(b.columns.keys[0], null);
  assert.is(b.columns.values[0]!.length, 0);
  const h = b.columns.headers![0]!;
  assert.equal(Object.keys(h), ["a", "b"]);
  assert.is(dec(h.a!), "2");
  assert.is(h.b!.length, 0);
  assert.equal(b.columns.timestamps, [9]);
});

test("encode then decode keeps every field: null keys, headers, timestamps, offset gaps, transactions", () => {
  const input = sample();
  const b = decodeBatches(encodeBatch(input))[0]!;
  assertSame(b, input);
  assert.equal([...b.offsetDeltas!], [0, 3, 4, 90_000]);
  assert.is(b.lastOffsetDelta, 90_000);
  assert.is(b.baseTimestamp, T0 + 10);
  assert.is(b.maxTimestamp, T0 + 2 ** 35);
  assert.is(b.producerId, 2 ** 40 + 3);
  assert.is(b.producerEpoch, 12);
  assert.is(b.baseSequence, 2_000_000_000);
  assert.is(b.partitionLeaderEpoch, 17);
  assert.ok(b.transactional);
  assert.not.ok(b.control);
  assert.is(b.attributes, 0x10);
});

test("a plain batch: defaults, consecutive offsets, no headers, one timestamp for records without", () => {
  const bytes = encodeBatch({
    baseOffset: 0,
    records: { keys: [null, null], values: [enc("a"), enc("b")] },
    timestamp: T0,
  });
  const b = decodeBatches(bytes)[0]!;
  assert.is(b.producerId, -1);
  assert.is(b.producerEpoch, -1);
  assert.is(b.baseSequence, -1);
  assert.is(b.partitionLeaderEpoch, 0);
  assert.is(b.attributes, 0);
  assert.is(b.lastOffsetDelta, 1);
  assert.is(b.offsetDeltas, null);
  assert.is(b.columns.headers, null);
  assert.equal(b.columns.timestamps, [T0, T0]);
  assert.is(bytes.length, 61 + 2 * 8);
});

test("batches back to back decode in order; the one-buffer writer matches one-at-a-time encoding", () => {
  const a = sample();
  const b: ColumnsInput = { baseOffset: 3, records: { keys: [enc("z")], values: [enc("y")], timestamps: [T0] } };
  const joined = encodeBatches([a, b, a]);
  const one = encodeBatch(a);
  const two = encodeBatch(b);
  assert.equal([...joined], [...one, ...two, ...one]);
  const out = decodeBatches(joined);
  assert.is(out.length, 3);
  assertSame(out[0]!, a);
  assertSame(out[1]!, b);
  assertSame(out[2]!, a);
  assert.equal(decodeBatches(new Uint8Array(0)), []);
});

test("records packed as the log keeps them encode to the same bytes as columns", () => {
  const input = sample();
  const packed = pack(input.records);
  assert.equal([...encodeBatch({ ...input, records: packed })], [...encodeBatch(input)]);
  assertSame(decodeBatches(encodeBatch({ ...input, records: packed, compression: 1 }))[0]!, input);
  const b = decodeBatches(encodeBatch({ ...input, records: { ...packed, nullKeys: null } }))[0]!;
  // Without nullKeys, record 1's key is the empty range rather than null.
  assert.equal(b.columns.keys[1], new Uint8Array(0));
  assert.equal(b.columns.values.map((v) => [...v]), input.records.values.map((v) => [...v]));
});

test("a control batch: transactional, control, one record whose key says commit or abort", () => {
  for (const commit of [true, false]) {
    const bytes = encodeControlBatch({
      baseOffset: 42,
      producerId: 9,
      producerEpoch: 4,
      commit,
      timestamp: T0,
      coordinatorEpoch: 6,
    });
    const b = decodeBatches(bytes)[0]!;
    assert.ok(b.control);
    assert.ok(b.transactional);
    assert.is(b.attributes, 0x30);
    assert.is(b.baseOffset, 42);
    assert.is(b.producerId, 9);
    assert.is(b.producerEpoch, 4);
    assert.is(b.baseSequence, -1);
    assert.is(b.count, 1);
    assert.is(b.lastOffsetDelta, 0);
    assert.equal(b.columns.timestamps, [T0]);
    assert.equal([...b.columns.keys[0]!], [0, 0, 0, commit ? 1 : 0]);
    assert.equal([...b.columns.values[0]!], [0, 0, 0, 0, 0, 6]);
    assert.is(controlRecordType(b.columns.keys[0]!), commit ? "commit" : "abort");
  }
  assert.throws(
    () => controlRecordType(Uint8Array.from([0, 0, 0, 2])),
    (e: unknown) => e instanceof CorruptRecordError,
  );
  assert.throws(() => controlRecordType(null), (e: unknown) => e instanceof CorruptRecordError);
});

test("LogAppendTime batches give every record the batch's max timestamp, as Kafka reads them", () => {
  const bytes = encodeBatch({
    baseOffset: 0,
    records: { keys: [null, null], values: [enc("a"), enc("b")], timestamps: [5, 7] },
  });
  view(bytes).setInt16(21, 0x08);
  const b = decodeBatches(fixCrc(bytes))[0]!;
  assert.equal(b.columns.timestamps, [7, 7]);
});

test("gzip: a batch whose records section is gzip-compressed decodes, and the encoder's gzip round-trips", () => {
  const input = sample();
  const b = decodeBatches(gzipped(encodeBatch(input)))[0]!;
  assert.is(b.compression, 1);
  assertSame(b, input);
  assert.is(b.columns.values[0]!.constructor, Uint8Array);
  const own = encodeBatch({ ...input, compression: 1 });
  const c = decodeBatches(own)[0]!;
  assert.is(c.compression, 1);
  assert.is(c.attributes, 0x11);
  assertSame(c, input);
});

test("gzip that does not inflate, or inflates past the limit, is a CorruptRecordError", () => {
  const bytes = gzipped(encodeBatch(sample()));
  // The gzip trailer's CRC-32 (of the inflated bytes), then the deflate stream's first block header.
  bytes[bytes.length - 6] = bytes[bytes.length - 6]! ^ 0xff;
  assert.match(corrupt(fixCrc(bytes), "bad gzip trailer"), "gzip records do not decompress");
  const header = gzipped(encodeBatch(sample()));
  header[61] = 0;
  corrupt(fixCrc(header), "not gzip at all");
  const big = gzipped(encodeBatch({ baseOffset: 0, records: { keys: [null], values: [new Uint8Array(100_000)] } }));
  assert.throws(
    () => decodeBatches(big, { maxDecompressedBytes: 10_000 }),
    (e: unknown) => e instanceof CorruptRecordError,
  );
  assert.is(decodeBatches(big)[0]!.columns.values[0]!.length, 100_000);
});

test("gzip functions passed in are the ones used; one that throws is a CorruptRecordError", () => {
  const input = sample();
  let zipped = 0;
  let unzipped = 0;
  const gzip = (b: Uint8Array) => (zipped++, gzipSync(b));
  const gunzip = (b: Uint8Array) => (unzipped++, gunzipSync(b));
  const bytes = encodeBatch({ ...input, compression: 1, gzip });
  assertSame(decodeBatches(bytes, { gunzip })[0]!, input);
  assert.is(zipped, 1);
  assert.is(unzipped, 1);
  const failing = () => {
    throw new Error("no inflate here");
  };
  assert.match(corruptWith(bytes, { gunzip: failing }), "gzip records do not decompress (no inflate here)");
  assert.match(corruptWith(bytes, { gunzip, maxDecompressedBytes: 100 }), "over the 100 allowed");
});

test("snappy, lz4 and zstd batches are refused with UnsupportedCompressionError naming the codec", () => {
  for (const [codec, name] of [[2, "snappy"], [3, "lz4"], [4, "zstd"]] as const) {
    const bytes = encodeBatch(sample());
    view(bytes).setInt16(21, 0x10 | codec);
    try {
      decodeBatches(fixCrc(bytes));
      assert.unreachable("decoded");
    } catch (error) {
      assert.instance(error, UnsupportedCompressionError);
      assert.is((error as UnsupportedCompressionError).code, "UNSUPPORTED");
      assert.is((error as Error).message, `compression codec ${name} (${codec}) is not supported: use none or gzip`);
    }
  }
});

test("a batch with another magic is a CorruptRecordError naming the magic", () => {
  const bytes = encodeBatch(sample());
  bytes[16] = 1;
  assert.match(corrupt(bytes, "magic 1"), "record batch at byte 0: magic 1 is not supported");
  const two = encodeBatches([sample(), sample()]);
  two[two.length / 2 + 16] = 0;
  assert.match(corrupt(two, "second batch magic 0"), `record batch at byte ${two.length / 2}: magic 0`);
});

test("a flipped byte is a CorruptRecordError wherever the CRC or the lengths cover it", () => {
  const good = encodeBatch(sample());
  const crc = view(good).getUint32(17);
  const message = (() => {
    const bytes = good.slice();
    bytes[100] = bytes[100]! ^ 1;
    return corrupt(bytes, "byte 100");
  })();
  assert.is(
    message.startsWith(`record batch at byte 0: CRC-32C 0x${crc.toString(16).padStart(8, "0")} does not match`),
    true,
  );
  for (let i = 0; i < good.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const bytes = good.slice();
      bytes[i] = bytes[i]! ^ bit;
      // baseOffset and partitionLeaderEpoch lie outside Kafka's CRC: a flip there changes them undetected.
      if (i < 8 || (i >= 12 && i < 16)) decodeBatches(bytes);
      else corrupt(bytes, `byte ${i} ^ ${bit}`);
    }
  }
});

test("every truncation is a CorruptRecordError, never another error or a hang", () => {
  const cases = [
    handBuilt(),
    encodeBatch(sample()),
    gzipped(encodeBatch(sample())),
    encodeControlBatch({
      baseOffset: 1,
      producerId: 1,
      producerEpoch: 0,
      commit: true,
      timestamp: T0,
    }),
  ];
  for (const [n, whole] of cases.entries()) {
    for (let cut = 1; cut < whole.length; cut++) corrupt(whole.subarray(0, cut), `case ${n} cut at ${cut}`);
    // Cut inside a second batch: the first still decodes up to it, then the error names the second.
    const two = new Uint8Array(whole.length * 2);
    two.set(whole);
    two.set(whole, whole.length);
    for (let cut = whole.length + 1; cut < two.length; cut++) {
      assert.match(corrupt(two.subarray(0, cut), `case ${n}, two batches cut at ${cut}`), `at byte ${whole.length}:`);
    }
  }
});

test("structural lies under a valid CRC: counts, lengths and varints that disagree", () => {
  const base = () => encodeBatch(sample());
  const withCount = (delta: number) => {
    const bytes = base();
    view(bytes).setInt32(57, 4 + delta);
    return fixCrc(bytes);
  };
  assert.match(corrupt(withCount(1), "count + 1"), "record 4 is missing: the records end after 4 of 5");
  assert.match(corrupt(withCount(-1), "count - 1"), "bytes follow its 3 records");
  assert.match(corrupt(withCount(-5), "count -1"), "negative record count -1");
  assert.match(corrupt(withCount(2 ** 31 - 5), "huge count"), "cannot fit");
  // Record 0's length one too long, then one too short.
  for (const d of [2, -2]) {
    const bytes = base();
    bytes[61] = bytes[61]! + d;
    corrupt(fixCrc(bytes), `record length ${d}`);
  }
  // A batchLength below a header's size.
  const short = base();
  view(short).setInt32(8, 40);
  assert.match(corrupt(short, "short batchLength"), "batchLength 40 is less than");
  // A varint that never ends.
  const endless = base();
  endless.fill(0xff, 61, 75);
  assert.match(corrupt(fixCrc(endless), "endless varint"), "longer than");
});

test("random bytes under a valid CRC decode or fail as CorruptRecordError, nothing else", { seed: 14 }, () => {
  const random = prng(14);
  const good = encodeBatch(sample());
  for (let n = 0; n < 3000; n++) {
    const bytes = good.slice();
    const flips = 1 + Math.floor(random() * 4);
    for (let f = 0; f < flips; f++) bytes[61 + Math.floor(random() * (bytes.length - 61))] = Math.floor(random() * 256);
    try {
      decodeBatches(fixCrc(bytes));
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) throw new Error(`case ${n}: ${error}`);
    }
  }
});

test.run();
