/**
 * Fixtures for the Kafka record batch tests: batches written by hand from the format, a
 * sample with every feature, and ways to damage a batch (CRC rewritten) and to check that the
 * decoder calls the damage a {@link CorruptRecordError}.
 */
import * as assert from "uvu/assert";
import { gzipSync } from "node:zlib";
import { crc32c } from "../../src/kafka/records/crc32c.ts";
import { decodeBatches, type DecodedBatch, type DecodeOptions } from "../../src/kafka/records/record-batch.ts";
import type { BatchInput, PackedBatchRecords as PackedRecords } from "../../src/kafka/records/batch-encoder.ts";
import { CorruptRecordError } from "../../src/kafka/records/records-error.ts";
import type { RecordColumns } from "../../src/transport/protocol.ts";

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
export const T0 = 1_700_000_000_000;

/** A batch input whose records are columns, as the round-trip tests compare them. */
export type ColumnsInput = BatchInput & { readonly records: RecordColumns };

/** Rewrites a batch's CRC after the test changed the bytes it covers. */
export function fixCrc(batch: Uint8Array, at = 0): Uint8Array {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const end = at + 12 + view.getInt32(at + 8);
  view.setUint32(at + 17, crc32c(batch, at + 21, end));
  return batch;
}

/** Decoding must throw a CorruptRecordError (not any other error); returns its message. */
export function corrupt(bytes: Uint8Array, what: string): string {
  return corruptWith(bytes, {}, what);
}

export function corruptWith(bytes: Uint8Array, options: DecodeOptions, what = "decoding"): string {
  try {
    decodeBatches(bytes, options);
  } catch (error) {
    if (!(error instanceof CorruptRecordError)) throw new Error(`${what}: expected CorruptRecordError, got ${error}`);
    assert.is(error.code, "RECORD_INVALID");
    return error.message;
  }
  throw new Error(`${what}: decoded without error`);
}

export const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/**
 * Written from the format, not by the encoder: base offset 5, leader epoch 3, transactional,
 * producer 7 epoch 2 sequence 10, two records. Record 0: key "k", value "v1", no headers.
 * Record 1: timestamp +5, offset delta 1, null key, value "x", header h = "y".
 */
export function handBuilt(): Uint8Array {
  const bytes = Uint8Array.from([
    ...[0, 0, 0, 0, 0, 0, 0, 5], // baseOffset
    ...[0, 0, 0, 71], // batchLength: 49 header bytes after it + 22 record bytes
    ...[0, 0, 0, 3], // partitionLeaderEpoch
    2, // magic
    ...[0, 0, 0, 0], // crc, filled in below
    ...[0x00, 0x10], // attributes: transactional, no compression, CreateTime
    ...[0, 0, 0, 1], // lastOffsetDelta
    ...[0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00], // baseTimestamp 1_700_000_000_000
    ...[0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x05], // maxTimestamp +5
    ...[0, 0, 0, 0, 0, 0, 0, 7], // producerId
    ...[0, 2], // producerEpoch
    ...[0, 0, 0, 10], // baseSequence
    ...[0, 0, 0, 2], // records count
    // record 0: length 9, attributes, tsDelta 0, offsetDelta 0, key len 1 "k", value len 2 "v1", 0 headers
    ...[0x12, 0x00, 0x00, 0x00, 0x02, 0x6b, 0x04, 0x76, 0x31, 0x00],
    // record 1: length 11, attributes, tsDelta 5, offsetDelta 1, null key, value len 1 "x", 1 header: "h" = "y"
    ...[0x16, 0x00, 0x0a, 0x02, 0x01, 0x02, 0x78, 0x02, 0x02, 0x68, 0x02, 0x79],
  ]);
  assert.is(bytes.length, 12 + 71);
  return fixCrc(bytes);
}

export const sample = (): ColumnsInput => ({
  baseOffset: 1_000_000_007,
  records: {
    keys: [enc("a"), null, new Uint8Array(0), enc("ключ")],
    values: [enc("one"), enc("two"), new Uint8Array(0), new Uint8Array(300).fill(9)],
    headers: [{ trace: enc("t-1"), "content-type": enc("json") }, null, { "ü-name": new Uint8Array(0) }, null],
    timestamps: [T0 + 10, T0, T0 + 2 ** 35, T0 - 2 ** 40],
  },
  offsetDeltas: [0, 3, 4, 90_000],
  producerId: 2 ** 40 + 3,
  producerEpoch: 12,
  baseSequence: 2_000_000_000,
  transactional: true,
  partitionLeaderEpoch: 17,
});

export function assertSame(b: DecodedBatch, input: ColumnsInput): void {
  const r = input.records;
  assert.is(b.baseOffset, input.baseOffset);
  assert.is(b.count, r.values.length);
  assert.equal(b.columns.keys.map((k) => k === null ? null : [...k]), r.keys.map((k) => k === null ? null : [...k]));
  assert.equal(b.columns.values.map((v) => [...v]), r.values.map((v) => [...v]));
  assert.equal(b.columns.timestamps, r.timestamps);
  const plain = (h: Readonly<Record<string, Uint8Array>> | null | undefined) =>
    h ? Object.fromEntries(Object.entries(h).map(([k, v]) => [k, [...v]])) : null;
  if (r.headers) assert.equal(b.columns.headers!.map(plain), r.headers.map(plain));
  else assert.is(b.columns.headers, null);
}

/** Packs columns as the broker's log does: keys and values back to back in one buffer, with bounds. */
export function pack(r: RecordColumns): PackedRecords {
  const count = r.values.length;
  const bounds = new Uint32Array(2 * count + 1);
  const nullKeys = new Uint8Array(count);
  const parts: number[] = [];
  for (let i = 0; i < count; i++) {
    const key = r.keys[i] ?? null;
    if (key === null) nullKeys[i] = 1;
    else parts.push(...key);
    bounds[2 * i + 1] = parts.length;
    parts.push(...r.values[i]!);
    bounds[2 * i + 2] = parts.length;
  }
  return { count, data: Uint8Array.from(parts), bounds, nullKeys, headers: r.headers, timestamps: r.timestamps };
}

/** Turns an uncompressed batch into a gzip one as a client would: the records section compressed, lengths and CRC redone. */
export function gzipped(plain: Uint8Array): Uint8Array {
  const records = gzipSync(plain.subarray(61));
  const out = new Uint8Array(61 + records.length);
  out.set(plain.subarray(0, 61));
  out.set(records, 61);
  const v = view(out);
  v.setInt32(8, out.length - 12);
  v.setInt16(21, v.getInt16(21) | 1);
  return fixCrc(out);
}

/** A small seeded PRNG (mulberry32), so a failing case can be replayed. */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
