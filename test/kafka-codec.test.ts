/**
 * The Kafka wire codec: every primitive at its edges, a message checked against bytes worked
 * out by hand from Kafka's protocol rules (not only encode-then-decode), tagged fields, and
 * hostile input: every truncation, random corruption and absurd declared lengths fail with a
 * KafkaProtocolError and nothing else. Small inline tables stand in for the real API tables.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { field, struct, structs } from "../src/kafka/codec/schema.ts";
import type { Field } from "../src/kafka/codec/schema.ts";
import { Reader } from "../src/kafka/codec/reader.ts";
import { utf8Length, Writer } from "../src/kafka/codec/writer.ts";
import { decodeMessage, encodeMessage } from "../src/kafka/codec/message-codec.ts";
import { KafkaEncodeError, KafkaProtocolError } from "../src/kafka/codec/protocol-error.ts";
import {
  decodeRequestHeader,
  decodeResponseHeader,
  peekApiKeyAndVersion,
  peekCorrelationId,
  requestHeaderVersion,
  responseHeaderVersion,
  writeRequestHeader,
  writeResponseHeader,
} from "../src/kafka/codec/headers.ts";

const hex = (bytes: Uint8Array): string => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
const fromHex = (s: string): Uint8Array => Uint8Array.from(s.split(/\s+/).filter(Boolean), (b) => parseInt(b, 16));

/** Writes with `write`, reads back with `read`; returns the bytes, checking every byte was consumed. */
function roundTrip<T>(value: T, write: (w: Writer, v: T) => void, read: (r: Reader) => T): Uint8Array {
  const w = new Writer(1);
  write(w, value);
  const bytes = w.finish();
  const r = new Reader(bytes);
  assert.equal(read(r), value, `round trip of ${String(value)}`);
  assert.is(r.remaining, 0, `all bytes of ${String(value)} read`);
  return bytes.slice();
}

/** Asserts `run` throws a KafkaProtocolError (and no other error type), returning it. */
function rejects(run: () => unknown, what: string): KafkaProtocolError {
  try {
    run();
  } catch (e) {
    if (e instanceof KafkaProtocolError) {
      assert.is(e.code, "REQUEST_INVALID");
      return e;
    }
    throw new Error(`${what}: threw ${String(e)} instead of a KafkaProtocolError`);
  }
  throw new Error(`${what}: did not throw`);
}

const encode = (fields: readonly Field[], version: number, flexible: boolean, value: Record<string, unknown>) => {
  const w = new Writer();
  encodeMessage(fields, version, flexible, value, w);
  return w.finish().slice();
};
const decode = (fields: readonly Field[], version: number, flexible: boolean, bytes: Uint8Array) => {
  const r = new Reader(bytes);
  const value = decodeMessage(fields, version, flexible, r);
  assert.is(r.remaining, 0, "the whole message was read");
  return value;
};

test("fixed-size integers, floats and bools round-trip at their edges", () => {
  for (const v of [0, -1, 1, 127, -128]) roundTrip(v, (w, x) => w.int8(x), (r) => r.int8());
  for (const v of [0, -1, 32767, -32768]) roundTrip(v, (w, x) => w.int16(x), (r) => r.int16());
  for (const v of [0, 1, 65535]) roundTrip(v, (w, x) => w.uint16(x), (r) => r.uint16());
  for (const v of [0, -1, 2 ** 31 - 1, -(2 ** 31)]) roundTrip(v, (w, x) => w.int32(x), (r) => r.int32());
  for (const v of [0, 2 ** 32 - 1]) roundTrip(v, (w, x) => w.uint32(x), (r) => r.uint32());
  for (const v of [0, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1), -(2 ** 53)]) {
    roundTrip(v, (w, x) => w.int64(x), (r) => r.int64());
  }
  for (const v of [0, -0.5, 1e300, Number.MIN_VALUE]) roundTrip(v, (w, x) => w.float64(x), (r) => r.float64());
  for (const v of [true, false]) roundTrip(v, (w, x) => w.bool(x), (r) => r.bool());
  assert.is(hex(roundTrip(-1, (w, x) => w.int64(x), (r) => r.int64())), "ff ff ff ff ff ff ff ff");
  assert.is(hex(roundTrip(2 ** 32 + 5, (w, x) => w.int64(x), (r) => r.int64())), "00 00 00 01 00 00 00 05");
  // Long.MAX_VALUE reads as 2^63 (the nearest number) and writes back as Long.MAX_VALUE.
  const max = fromHex("7f ff ff ff ff ff ff ff");
  const w = new Writer();
  w.int64(new Reader(max).int64());
  assert.is(hex(w.finish()), hex(max));
});

test("varints: unsigned, zigzag int32 and zigzag int64 at their byte boundaries", () => {
  const uvarint = (v: number) => hex(roundTrip(v, (w, x) => w.uvarint(x), (r) => r.uvarint()));
  assert.is(uvarint(0), "00");
  assert.is(uvarint(127), "7f");
  assert.is(uvarint(128), "80 01");
  assert.is(uvarint(16383), "ff 7f");
  assert.is(uvarint(16384), "80 80 01");
  assert.is(uvarint(2 ** 32 - 1), "ff ff ff ff 0f");
  const varint = (v: number) => hex(roundTrip(v, (w, x) => w.varint(x), (r) => r.varint()));
  assert.is(varint(0), "00");
  assert.is(varint(-1), "01");
  assert.is(varint(1), "02");
  assert.is(varint(63), "7e");
  assert.is(varint(-64), "7f");
  assert.is(varint(64), "80 01");
  assert.is(varint(-65), "81 01");
  assert.is(varint(2 ** 31 - 1), "fe ff ff ff 0f");
  assert.is(varint(-(2 ** 31)), "ff ff ff ff 0f");
  const varlong = (v: number) => hex(roundTrip(v, (w, x) => w.varlong(x), (r) => r.varlong()));
  assert.is(varlong(0), "00");
  assert.is(varlong(-1), "01");
  assert.is(varlong(64), "80 01");
  assert.is(varlong(-65), "81 01");
  assert.is(varlong(2 ** 31), "80 80 80 80 10");
  assert.is(varlong(-(2 ** 31) - 1), "81 80 80 80 10");
  assert.is(varlong(2 ** 53 - 1), "fe ff ff ff ff ff ff 1f");
  assert.is(varlong(-(2 ** 53)), "ff ff ff ff ff ff ff 1f");
  // Long.MIN_VALUE (zigzag 2^64 - 1, ten bytes) keeps its sign though its magnitude rounds.
  assert.is(new Reader(fromHex("ff ff ff ff ff ff ff ff ff 01")).varlong(), -(2 ** 63));
  rejects(() => new Reader(fromHex("80 80 80 80 80 01")).uvarint(), "6-byte varint");
  rejects(() => new Reader(fromHex("80 80 80 80 80 80 80 80 80 80 01")).varlong(), "11-byte varlong");
});

test("strings and bytes, compact and not, empty, multi-byte and null", () => {
  for (const s of ["", "a", "héllo", "日本語", "😀 emoji", "x".repeat(300)]) {
    assert.is(utf8Length(s), new TextEncoder().encode(s).length, `utf8Length(${s})`);
    roundTrip(s, (w, x) => w.string(x), (r) => r.string());
    roundTrip(s, (w, x) => w.compactString(x), (r) => r.compactString());
  }
  assert.is(hex(roundTrip("é", (w, x) => w.string(x), (r) => r.string())), "00 02 c3 a9");
  assert.is(hex(roundTrip("é", (w, x) => w.compactString(x), (r) => r.compactString())), "03 c3 a9");
  assert.is(hex(roundTrip<string | null>(null, (w, x) => w.string(x), (r) => r.string(true))), "ff ff");
  assert.is(hex(roundTrip<string | null>(null, (w, x) => w.compactString(x), (r) => r.compactString(true))), "00");
  assert.is(hex(roundTrip("", (w, x) => w.compactString(x), (r) => r.compactString())), "01");
  const bytes = (v: Uint8Array | null, compact: boolean) => {
    const w = new Writer();
    if (compact) w.compactBytes(v);
    else w.bytes(v);
    const r = new Reader(w.finish());
    assert.equal(compact ? r.compactBytes(true) : r.bytes(true), v);
    return hex(w.finish());
  };
  assert.is(bytes(null, false), "ff ff ff ff");
  assert.is(bytes(null, true), "00");
  assert.is(bytes(new Uint8Array(0), false), "00 00 00 00");
  assert.is(bytes(new Uint8Array(0), true), "01");
  assert.is(bytes(Uint8Array.of(1, 255), true), "03 01 ff");
  const arrays = new Writer();
  arrays.arrayLength(null);
  arrays.compactArrayLength(null);
  arrays.compactArrayLength(0);
  assert.is(hex(arrays.finish()), "ff ff ff ff 00 01");
  const r = new Reader(arrays.finish());
  assert.equal([r.arrayLength(true), r.compactArrayLength(true), r.compactArrayLength(true)], [-1, -1, 0]);
  rejects(() => new Reader(fromHex("ff ff")).string(), "null for a non-nullable string");
  rejects(() => new Reader(fromHex("ff fe")).string(true), "length -2");
  rejects(() => new Reader(fromHex("00")).compactBytes(), "null for non-nullable bytes");
  rejects(() => new Reader(fromHex("00 02 c3 28")).string(), "invalid UTF-8");
  rejects(() => new Reader(fromHex("03 ff fe")).compactString(), "invalid UTF-8, compact");
});

test("uuids, subarray views, skip, and a writer that grows from one byte", () => {
  const id = Uint8Array.from({ length: 16 }, (_, i) => i * 16 + 1);
  const w = new Writer(1);
  const size = w.reserveInt32();
  w.uuid(id);
  for (let i = 0; i < 1000; i++) w.int32(i);
  w.patchInt32(size, w.position - 4);
  const framed = new Uint8Array(w.position + 3);
  framed.set(w.finish(), 3);
  const r = new Reader(framed.subarray(3));
  assert.is(r.int32(), 16 + 4000);
  const uuid = r.uuid();
  assert.equal([...uuid], [...id]);
  framed[7] = 0; // the uuid read is a copy, not a view
  assert.is(uuid[0], 1);
  r.skip(4 * 999);
  assert.is(r.int32(), 999);
  rejects(() => r.skip(1), "skip past the end");
  rejects(() => r.int8(), "int8 at the end");
});

test("the writer refuses values that do not fit, naming the field", () => {
  const w = new Writer();
  for (const bad of [() => w.int8(128), () => w.int16(-32769), () => w.int32(2 ** 31), () => w.int32(1.5)]) {
    assert.throws(bad, (e: unknown) => e instanceof KafkaEncodeError && e.code === "INTERNAL");
  }
  assert.throws(() => w.string("x".repeat(40_000)), (e: unknown) => e instanceof KafkaEncodeError);
  const fields = [structs("topics", "0+", [field("name", "string", "0+")])];
  assert.throws(
    () => encodeMessage(fields, 0, false, { topics: [{ name: null }] }, w),
    (e: unknown) => e instanceof KafkaEncodeError && /field topics\.name: null/.test(e.message),
  );
  assert.throws(
    () => encodeMessage([field("n", "int32", "0+")], 0, false, { n: "7" }, w),
    (e: unknown) => e instanceof KafkaEncodeError && /field n/.test(e.message),
  );
});

/** A small table: int16, string, []int32, a field from v1, an array of structs, and a tagged field from v2. */
const TOPIC = [field("topic", "string", "0+"), field("p", "int32", "0+")];
const SAMPLE = [
  field("id", "int16", "0+"),
  field("name", "string", "0+", { nullable: "1+" }),
  field("parts", "[]int32", "0+"),
  field("extra", "int32", "1+", { default: -1 }),
  structs("topics", "0+", TOPIC),
  field("note", "string", "2+", { tag: 0, nullable: "2+" }),
];
const VALUE = { id: 7, name: "ab", parts: [1, 2], extra: 5, topics: [{ topic: "t", p: 1 }], note: "hi" };

// v0, not flexible: id int16 | name int16 length + UTF-8 | parts int32 count + int32s |
// (extra is not in v0) | topics int32 count, each: topic int16 length + "t", p int32 | (no tags).
const V0 = "00 07  00 02 61 62  00 00 00 02 00 00 00 01 00 00 00 02  00 00 00 01 00 01 74 00 00 00 01";
// v2, flexible: lengths and counts are unsigned varints of n + 1; each struct and the message
// end with tagged fields: the topic's empty section (00), then the message's one field: count 1,
// tag 0, size 3, value compact "hi" (03 68 69).
const V2 = "00 07  03 61 62  03 00 00 00 01 00 00 00 02  00 00 00 05  02 02 74 00 00 00 01 00  01 00 03 03 68 69";

test("a message encodes to hand-computed bytes at a non-flexible and a flexible version", () => {
  assert.is(hex(encode(SAMPLE, 0, false, VALUE)), hex(fromHex(V0)));
  assert.is(hex(encode(SAMPLE, 2, true, VALUE)), hex(fromHex(V2)));
  assert.equal(decode(SAMPLE, 2, true, fromHex(V2)), VALUE);
  // At v0, extra and note are absent: their defaults (note is nullable where it exists, so
  // absent it is null, as Kafka's "default": "null" reads).
  assert.equal(decode(SAMPLE, 0, false, fromHex(V0)), { ...VALUE, extra: -1, note: null });
  // Missing fields encode as defaults; null where nullable.
  assert.is(
    hex(encode(SAMPLE, 1, false, { name: null })),
    hex(fromHex("00 00  ff ff  00 00 00 00  ff ff ff ff  00 00 00 00")),
  );
  assert.equal(decode(SAMPLE, 1, false, fromHex("00 00 ff ff 00 00 00 00 ff ff ff ff 00 00 00 00")), {
    id: 0,
    name: null,
    parts: [],
    extra: -1,
    topics: [],
    note: null,
  });
});

test("nullable structs and arrays carry Kafka's null markers", () => {
  const fields = [
    struct("owner", "0+", [field("n", "int8", "0+")], { nullable: "1+" }),
    field("ids", "[]int32", "0+", { nullable: "0+" }),
    field("records", "records", "0+", { nullable: "0+" }),
  ];
  assert.is(hex(encode(fields, 1, true, { owner: null, ids: null, records: null })), "ff 00 00 00");
  assert.is(
    hex(encode(fields, 1, false, { owner: { n: 3 }, ids: [9], records: Uint8Array.of(5) })),
    "01 03 00 00 00 01 00 00 00 09 00 00 00 01 05",
  );
  assert.is(hex(encode(fields, 0, true, { owner: { n: 3 } })), "03 00 00 00 00"); // v0: not nullable, no marker
  assert.equal(decode(fields, 1, true, fromHex("ff 00 00 00")), { owner: null, ids: null, records: null });
  const full = decode(fields, 1, true, fromHex("01 03 00 02 00 00 00 09 02 05 00"));
  assert.equal(full, { owner: { n: 3 }, ids: [9], records: Uint8Array.of(5) });
  // A struct absent in this version decodes as a struct of defaults.
  assert.equal(decode([struct("s", "3+", [field("a", "int32", "3+")])], 0, false, new Uint8Array(0)), { s: { a: 0 } });
});

test("tagged fields: unknown tags skipped, defaults left off, written by ascending tag", () => {
  const fields = [
    field("a", "int8", "0+"),
    field("late", "int32", "0+", { tag: 7, default: -1 }),
    field("early", "string", "0+", { tag: 2 }),
  ];
  assert.is(hex(encode(fields, 0, true, { a: 1, late: -1, early: "" })), "01 00");
  assert.is(
    hex(encode(fields, 0, true, { a: 1, late: 4, early: "z" })),
    hex(fromHex("01 02  02 02 02 7a  07 04 00 00 00 04")),
  );
  assert.is(hex(encode(fields, 0, false, { a: 1, late: 4, early: "z" })), "01"); // no tags outside flexible versions
  // Tags 5 (2 bytes) and 40 (0 bytes) are unknown here: skipped; tag 7 is read.
  assert.equal(decode(fields, 0, true, fromHex("01 03  05 02 aa bb  07 04 00 00 00 09  28 00")), {
    a: 1,
    late: 9,
    early: "",
  });
  const e = rejects(() => decode(fields, 0, true, fromHex("01 01 07 05 00 00 00 09 00")), "wrong tagged size");
  assert.match(e.message, /tagged field 7 declares 5 bytes but holds 4/);
});

test("every truncation of a valid message throws a KafkaProtocolError", () => {
  const fields = [
    ...SAMPLE,
    field("blob", "bytes", "0+"),
    field("when", "int64", "0+"),
    field("records", "records", "0+", { nullable: "0+" }),
    field("uid", "uuid", "1+"),
  ];
  const value = {
    ...VALUE,
    blob: Uint8Array.of(1, 2, 3),
    when: 2 ** 40,
    records: Uint8Array.of(9, 9),
    uid: new Uint8Array(16),
  };
  for (const [version, flexible] of [[0, false], [1, false], [2, true]] as const) {
    const bytes = encode(fields, version, flexible, value);
    for (let cut = 0; cut < bytes.length; cut++) {
      rejects(
        () => decodeMessage(fields, version, flexible, new Reader(bytes.subarray(0, cut))),
        `v${version} cut at ${cut}`,
      );
    }
  }
});

test("random corruption of a message fails only with KafkaProtocolError", () => {
  let seed = 1;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const valid = encode(SAMPLE, 2, true, VALUE);
  for (let i = 0; i < 3000; i++) {
    const bytes = valid.slice();
    for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
      bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    }
    try {
      decodeMessage(SAMPLE, 2, true, new Reader(bytes));
    } catch (e) {
      if (!(e instanceof KafkaProtocolError)) throw new Error(`corruption ${hex(bytes)} threw ${String(e)}`);
    }
  }
});

test("huge declared lengths fail at once, naming the field and position", () => {
  const list = [field("a", "int8", "0+"), field("xs", "[]int64", "0+")];
  const e = rejects(() => decodeMessage(list, 0, false, new Reader(fromHex("01 7f ff ff ff 00"))), "2^31-1 elements");
  assert.match(e.message, /array of 2147483647 elements .* in field xs at byte 1/);
  rejects(() => decodeMessage(list, 0, true, new Reader(fromHex("01 ff ff ff ff 0f"))), "compact 2^32-2 elements");
  rejects(() => new Reader(fromHex("7f ff 41")).string(), "string of 32767 bytes");
  rejects(() => new Reader(fromHex("ff ff ff ff 0f")).compactString(), "compact string of 2^32-2 bytes");
  rejects(() => new Reader(fromHex("7f ff ff ff")).bytes(), "bytes of 2^31-1");
  const nested = [structs("ts", "0+", [field("s", "string", "0+")])];
  const deep = rejects(() => decodeMessage(nested, 0, false, new Reader(fromHex("00 00 00 01 46 50"))), "inner string");
  assert.match(
    deep.message,
    /^malformed request: string length 18000 runs past the end of the frame in field ts\.s at byte 4$/,
  );
});

test("request and response headers", () => {
  const w = new Writer();
  writeRequestHeader(w, { apiKey: 0, apiVersion: 9, correlationId: 42, clientId: "c" }, 2);
  const v2 = w.finish().slice();
  // apiKey, apiVersion, correlationId, clientId as an int16-length string even in v2, tags.
  assert.is(hex(v2), "00 00 00 09 00 00 00 2a 00 01 63 00");
  assert.equal(peekApiKeyAndVersion(v2), { apiKey: 0, apiVersion: 9 });
  assert.equal(peekApiKeyAndVersion(fromHex("ff ff 80 00")), { apiKey: -1, apiVersion: -32768 });
  assert.is(peekCorrelationId(v2), 42);
  assert.is(peekCorrelationId(v2.subarray(0, 7)), null);
  rejects(() => peekApiKeyAndVersion(v2.subarray(0, 3)), "3-byte frame");
  const versionFor = (_key: number, version: number) => requestHeaderVersion(version >= 9);
  const withTag = fromHex("00 00 00 09 00 00 00 2a ff ff 01 03 01 ee 55");
  const r = new Reader(withTag);
  assert.equal(decodeRequestHeader(r, versionFor), { apiKey: 0, apiVersion: 9, correlationId: 42, clientId: null });
  assert.is(r.int8(), 0x55, "the body starts after the header's tagged fields");
  const v1 = new Reader(fromHex("00 12 00 02 00 00 00 01 00 00"));
  assert.equal(decodeRequestHeader(v1, versionFor), { apiKey: 18, apiVersion: 2, correlationId: 1, clientId: "" });
  for (let cut = 0; cut < v2.length; cut++) {
    rejects(() => decodeRequestHeader(new Reader(v2.subarray(0, cut)), versionFor), `header cut ${cut}`);
  }
  assert.is(responseHeaderVersion(18, true), 0, "ApiVersions answers with header v0 even when flexible");
  assert.is(responseHeaderVersion(3, true), 1);
  assert.is(responseHeaderVersion(3, false), 0);
  const out = new Writer();
  writeResponseHeader(out, -5, true);
  writeResponseHeader(out, 7, false);
  assert.is(hex(out.finish()), "ff ff ff fb 00 00 00 00 07");
  const back = new Reader(out.finish());
  assert.equal([decodeResponseHeader(back, true), decodeResponseHeader(back, false)], [-5, 7]);
});

test.run();
