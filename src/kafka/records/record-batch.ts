/**
 * Decodes Kafka record batches (format v2, magic 2): the `records` field of a Produce
 * request, one or more batches back to back. Keys and values are views into the request's
 * bytes (or into the decompressed records), never copies.
 *
 * @module
 */
import type { RecordColumns, RecordHeaders } from "../../transport/protocol.ts";
import { decompress, NO_COMPRESSION, type ZipFunction } from "./compression.ts";
import { crc32c } from "./crc32c.ts";
import { CorruptRecordError } from "./records-error.ts";
import { Cursor } from "./varint.ts";

/** Bytes before a batch's `batchLength` ends: baseOffset (8) and batchLength (4). */
export const BATCH_LOG_OVERHEAD = 12;
/** Bytes of a batch header, from baseOffset to the record count inclusive. */
export const BATCH_HEADER_SIZE = 61;
/** Where, from the batch start, the CRC-covered region starts (the attributes). */
export const CRC_START = 21;
/** The least a record takes: length, attributes, timestamp delta, offset delta, key and value lengths, header count. */
const MIN_RECORD_SIZE = 7;

/** Attribute bits of a v2 batch. */
export const COMPRESSION_MASK = 0x07;
export const TIMESTAMP_TYPE_FLAG = 0x08;
export const TRANSACTIONAL_FLAG = 0x10;
export const CONTROL_FLAG = 0x20;

const TWO_32 = 4294967296;
const EMPTY: Uint8Array = new Uint8Array(0);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** One decoded batch: its header fields and its records as columns. */
export interface DecodedBatch {
  readonly baseOffset: number;
  readonly partitionLeaderEpoch: number;
  /** The raw attribute bits. */
  readonly attributes: number;
  /** The codec, attribute bits 0-2: 0 none, 1 gzip (the only ones that decode). */
  readonly compression: number;
  readonly transactional: boolean;
  readonly control: boolean;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  /** -1 for a plain (non-idempotent) producer. */
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  /** Records in the batch: the header's count, checked against the records decoded. */
  readonly count: number;
  /**
   * The records. A record's null value becomes an empty `Uint8Array` (acktor has no
   * tombstones); a header's null value becomes an empty one too. When a record repeats a
   * header name, the last value wins (Kafka allows repeats; acktor's headers are a map).
   * Timestamps are the batch's base timestamp plus each record's delta, or the batch's
   * `maxTimestamp` for every record when the batch has LogAppendTime (attribute bit 3), as
   * Kafka reads them.
   */
  readonly columns: RecordColumns & { readonly timestamps: readonly number[] };
  /**
   * Each record's offset delta, or null when they are 0, 1, 2, … in order (as every
   * producer writes them; a compacted log's batches have gaps).
   */
  readonly offsetDeltas: Int32Array | null;
}

/** Options of {@link decodeBatches}. */
export interface DecodeOptions {
  /** The most bytes one compressed batch may decompress to; default 64 MiB. */
  readonly maxDecompressedBytes?: number;
  /** Inflates a gzip records section; default `node:zlib`'s `gunzipSync` where the runtime has it. */
  readonly gunzip?: ZipFunction;
  /**
   * Decode keys and values into one packed buffer (`columns.packed`, with empty `keys` and
   * `values`), the layout the broker's log keeps without copying, rather than a view each.
   */
  readonly packed?: boolean;
}

const DEFAULT_MAX_DECOMPRESSED = 64 * 1024 * 1024;

/**
 * Decodes every batch in `bytes`. Empty bytes hold no batch (an empty list). Throws
 * {@link CorruptRecordError} for a batch that is not a well-formed v2 batch (wrong magic,
 * CRC-32C mismatch, truncation, lengths or counts that disagree) and
 * {@link UnsupportedCompressionError} for snappy, lz4 or zstd.
 */
export function decodeBatches(bytes: Uint8Array, options: DecodeOptions = {}): DecodedBatch[] {
  const limits = {
    max: options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED,
    gunzip: options.gunzip,
    packed: options.packed === true,
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const batches: DecodedBatch[] = [];
  for (let at = 0; at < bytes.length;) {
    const batch = decodeBatchAt(bytes, view, at, limits);
    batches.push(batch.decoded);
    at = batch.end;
  }
  return batches;
}

function decodeBatchAt(
  bytes: Uint8Array,
  view: DataView,
  at: number,
  limits: { readonly max: number; readonly gunzip: ZipFunction | undefined; readonly packed: boolean },
): { decoded: DecodedBatch; end: number } {
  const corrupt = (problem: string) => new CorruptRecordError(at, problem);
  const available = bytes.length - at;
  if (available < 17) throw corrupt(`truncated: ${available} bytes, too few for a batch header`);
  const magic = view.getInt8(at + 16);
  if (magic !== 2) throw corrupt(`magic ${magic} is not supported: only record batch v2 (magic 2)`);
  const batchLength = view.getInt32(at + 8);
  if (batchLength < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD) {
    throw corrupt(`batchLength ${batchLength} is less than a batch header's ${BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD}`);
  }
  const end = at + BATCH_LOG_OVERHEAD + batchLength;
  if (end > bytes.length) {
    throw corrupt(`truncated: batchLength says ${batchLength} bytes follow, only ${available - 12} do`);
  }
  const crc = view.getUint32(at + 17);
  const computed = crc32c(bytes, at + CRC_START, end);
  if (crc !== computed) throw corrupt(`CRC-32C ${hex(crc)} does not match the computed ${hex(computed)}`);

  const attributes = view.getInt16(at + 21);
  const compression = attributes & COMPRESSION_MASK;
  const count = view.getInt32(at + 57);
  if (count < 0) throw corrupt(`negative record count ${count}`);
  const baseTimestamp = int64(view, at + 27);
  const maxTimestamp = int64(view, at + 35);
  const logAppendTime = (attributes & TIMESTAMP_TYPE_FLAG) !== 0;

  let cursor: Cursor;
  let recordsEnd: number;
  if (compression === NO_COMPRESSION) {
    cursor = new Cursor(bytes, at + BATCH_HEADER_SIZE, at);
    recordsEnd = end;
  } else {
    const plain = decompress(compression, bytes.subarray(at + BATCH_HEADER_SIZE, end), at, limits.max, limits.gunzip);
    cursor = new Cursor(plain, 0, at);
    recordsEnd = plain.length;
  }
  if (count > (recordsEnd - cursor.pos) / MIN_RECORD_SIZE) {
    throw corrupt(`record count ${count} cannot fit in ${recordsEnd - cursor.pos} bytes of records`);
  }
  const sink = limits.packed ? new PackedSink(count, recordsEnd - cursor.pos) : new ViewSink();
  const records = readRecords(
    cursor,
    recordsEnd,
    count,
    logAppendTime ? maxTimestamp : baseTimestamp,
    logAppendTime,
    sink,
  );
  return {
    decoded: {
      baseOffset: int64(view, at),
      partitionLeaderEpoch: view.getInt32(at + 12),
      attributes,
      compression,
      transactional: (attributes & TRANSACTIONAL_FLAG) !== 0,
      control: (attributes & CONTROL_FLAG) !== 0,
      lastOffsetDelta: view.getInt32(at + 23),
      baseTimestamp,
      maxTimestamp,
      producerId: int64(view, at + 43),
      producerEpoch: view.getInt16(at + 51),
      baseSequence: view.getInt32(at + 53),
      count,
      columns: records.columns,
      offsetDeltas: records.offsetDeltas,
    },
    end,
  };
}

/**
 * Reads `count` records from the cursor, which must end exactly at `end`. With
 * `fixedTimestamp` every record gets `timeBase` (LogAppendTime); otherwise `timeBase` plus
 * its delta.
 */
function readRecords(
  c: Cursor,
  end: number,
  count: number,
  timeBase: number,
  fixedTimestamp: boolean,
  sink: RecordSink,
) {
  const timestamps: number[] = [];
  let headers: (RecordHeaders | null)[] | null = null;
  let offsetDeltas: Int32Array | null = null;
  for (let i = 0; i < count; i++) {
    const start = c.pos;
    if (start >= end) throw recordError(c, i, `is missing: the records end after ${i} of ${count}`);
    const length = c.varint();
    const bodyStart = c.pos;
    const recordEnd = bodyStart + length;
    if (length < 0 || recordEnd > end) {
      throw recordError(c, i, `has length ${length}, which does not fit in the ${end - c.pos} bytes left`);
    }
    c.pos++; // record attributes: unused in v2
    const timestampDelta = c.varlong();
    const offsetDelta = c.varint();
    if (offsetDelta !== i && offsetDeltas === null) offsetDeltas = Int32Array.from({ length: count }, (_, j) => j);
    if (offsetDeltas !== null) offsetDeltas[i] = offsetDelta;
    const keyLength = c.varint();
    if (keyLength < -1) throw recordError(c, i, `has key length ${keyLength}`);
    if (c.pos + keyLength > recordEnd) throw recordError(c, i, `has a key of ${keyLength} bytes, past its end`);
    sink.key(i, c, keyLength);
    const valueLength = c.varint();
    if (valueLength < -1) throw recordError(c, i, `has value length ${valueLength}`);
    if (c.pos + valueLength > recordEnd) throw recordError(c, i, `has a value of ${valueLength} bytes, past its end`);
    sink.value(i, c, valueLength);
    const headerCount = c.varint();
    if (headerCount !== 0) {
      if (headerCount < 0) throw recordError(c, i, `has header count ${headerCount}`);
      headers ??= new Array<RecordHeaders | null>(count).fill(null);
      headers[i] = readHeaders(c, recordEnd, headerCount, i);
    }
    if (c.pos !== recordEnd) {
      throw recordError(c, i, `has length ${length}, but its fields take ${c.pos - bodyStart}`);
    }
    timestamps.push(fixedTimestamp ? timeBase : timeBase + timestampDelta);
  }
  if (c.pos !== end) throw new CorruptRecordError(c.batchAt, `${end - c.pos} bytes follow its ${count} records`);
  return { columns: { ...sink.columns(), headers, timestamps }, offsetDeltas };
}

/**
 * Where {@link readRecords} puts each record's key and value (length -1: null; the cursor is
 * at its first byte, and the caller checked that it fits in the record).
 */
interface RecordSink {
  key(i: number, c: Cursor, length: number): void;
  value(i: number, c: Cursor, length: number): void;
  columns(): Pick<RecordColumns, "keys" | "values" | "packed">;
}

/** Keys and values as views into the request's bytes. */
class ViewSink implements RecordSink {
  readonly #keys: (Uint8Array | null)[] = [];
  readonly #values: Uint8Array[] = [];
  key(_i: number, c: Cursor, length: number): void {
    this.#keys.push(length < 0 ? null : view(c, length));
  }
  value(_i: number, c: Cursor, length: number): void {
    this.#values.push(length < 0 ? EMPTY : view(c, length));
  }
  columns() {
    return { keys: this.#keys, values: this.#values };
  }
}

/**
 * Keys and values copied into one buffer as the broker's log keeps them, which the log then
 * adopts: one copy of the bytes instead of a view object per key and value and a second copy
 * in the log. Sized from the records section, which holds every key and value byte and more.
 */
class PackedSink implements RecordSink {
  readonly #count: number;
  readonly #data: Uint8Array;
  readonly #bounds: Uint32Array;
  #nullKeys: Uint8Array | null = null;
  #at = 0;
  constructor(count: number, capacity: number) {
    this.#count = count;
    this.#data = new Uint8Array(Math.max(0, capacity));
    this.#bounds = new Uint32Array(2 * count + 1);
  }
  key(i: number, c: Cursor, length: number): void {
    if (length < 0) (this.#nullKeys ??= new Uint8Array(this.#count))[i] = 1;
    else this.#copy(c, length);
    this.#bounds[2 * i + 1] = this.#at;
  }
  value(i: number, c: Cursor, length: number): void {
    if (length > 0) this.#copy(c, length);
    this.#bounds[2 * i + 2] = this.#at;
  }
  #copy(c: Cursor, length: number): void {
    const from = c.buf;
    const to = this.#data;
    const start = c.pos;
    // Short runs by hand: cheaper than making a view to hand to set().
    if (length <= 128) {
      for (let j = 0; j < length; j++) to[this.#at + j] = from[start + j]!;
    } else {
      to.set(from.subarray(start, start + length), this.#at);
    }
    this.#at += length;
    c.pos = start + length;
  }
  columns() {
    const packed = {
      count: this.#count,
      data: this.#data.subarray(0, this.#at),
      bounds: this.#bounds,
      nullKeys: this.#nullKeys,
    };
    return { keys: [], values: [], packed };
  }
}

function view(c: Cursor, n: number): Uint8Array {
  const at = c.pos;
  c.pos = at + n;
  return new Uint8Array(c.buf.buffer, c.buf.byteOffset + at, n);
}

function readHeaders(c: Cursor, recordEnd: number, n: number, record: number): RecordHeaders {
  const out: Record<string, Uint8Array> = {};
  for (let h = 0; h < n; h++) {
    // Each header takes at least two bytes, so a count too large runs past the record here.
    if (c.pos >= recordEnd) throw recordError(c, record, `has ${n} headers, but only ${h} fit in it`);
    const nameLength = c.varint();
    if (nameLength < 0 || c.pos + nameLength > recordEnd) {
      throw recordError(c, record, `has header name length ${nameLength}, past its end`);
    }
    const name = utf8Name(c, c.pos, c.pos += nameLength, record);
    const valueLength = c.varint();
    let value = EMPTY;
    // A copy, not a view: the broker's log keeps header objects as they are, and a view
    // would pin the whole request frame in memory for as long as the record is retained.
    if (valueLength >= 0) value = take(c, valueLength, recordEnd, record, "header value").slice();
    else if (valueLength !== -1) throw recordError(c, record, `has header value length ${valueLength}`);
    // defineProperty, so that a header named "__proto__" is a header, not a prototype.
    if (name === "__proto__") Object.defineProperty(out, name, { value, enumerable: true, writable: true });
    else out[name] = value;
  }
  if (c.pos > recordEnd) throw recordError(c, record, "has headers that run past its end");
  return Object.freeze(out);
}

/** Header names are mostly short ASCII: decode those without TextDecoder's call overhead. */
function utf8Name(c: Cursor, from: number, to: number, record: number): string {
  const buf = c.buf;
  if (to - from <= 32) {
    let s = "";
    for (let i = from; i < to; i++) {
      const b = buf[i]!;
      if (b >= 0x80) return decodeUtf8(c, from, to, record);
      s += String.fromCharCode(b);
    }
    return s;
  }
  return decodeUtf8(c, from, to, record);
}

function decodeUtf8(c: Cursor, from: number, to: number, record: number): string {
  try {
    return utf8.decode(c.buf.subarray(from, to));
  } catch {
    throw recordError(c, record, "has a header name that is not UTF-8");
  }
}

/**
 * The next `n` bytes as a view, checked to end by `limit` (the record's end). A view made
 * on the underlying buffer rather than by `subarray`: cheaper on V8, and a plain
 * `Uint8Array` even when the request's bytes are a Node `Buffer`.
 */
function take(c: Cursor, n: number, limit: number, record: number, what: string): Uint8Array {
  const at = c.pos;
  if (at + n > limit) throw recordError(c, record, `has a ${what} of ${n} bytes, past its end`);
  c.pos = at + n;
  return new Uint8Array(c.buf.buffer, c.buf.byteOffset + at, n);
}

function recordError(c: Cursor, i: number, problem: string): CorruptRecordError {
  return new CorruptRecordError(c.batchAt, `record ${i} ${problem}`);
}

/** A signed big-endian int64 as a number (exact within ±2^53). */
export function int64(view: DataView, at: number): number {
  return view.getInt32(at) * TWO_32 + view.getUint32(at + 4);
}

/** `n` as 0x-prefixed hex, 8 digits. */
export function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

/** What a control record's key says: Kafka's control type 0 is abort, 1 commit. */
export type ControlRecordType = "abort" | "commit";

/**
 * Reads a control batch's record key (version int16, type int16). Throws
 * {@link CorruptRecordError} (naming `batchAt`) for a key of another shape or type.
 */
export function controlRecordType(key: Uint8Array | null, batchAt = 0): ControlRecordType {
  if (key === null || key.length < 4) {
    throw new CorruptRecordError(batchAt, "control record key is shorter than 4 bytes");
  }
  const type = (key[2]! << 8) | key[3]!;
  if (type === 0) return "abort";
  if (type === 1) return "commit";
  throw new CorruptRecordError(batchAt, `control record type ${type} is neither abort (0) nor commit (1)`);
}
