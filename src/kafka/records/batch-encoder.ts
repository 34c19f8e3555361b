/**
 * Encodes Kafka record batches (format v2, magic 2), for Fetch responses. A batch is sized
 * exactly first ({@link planBatch}), then written into one buffer ({@link writeBatch}), so
 * many batches can share one allocation ({@link encodeBatches}); the CRC-32C is computed over
 * the written region.
 *
 * @module
 */
import type { PackedRecords, RecordColumns, RecordHeaders } from "../../transport/protocol.ts";
import { compress, NO_COMPRESSION, type ZipFunction } from "./compression.ts";
import { crc32c } from "./crc32c.ts";
import { BATCH_HEADER_SIZE, BATCH_LOG_OVERHEAD, CONTROL_FLAG, CRC_START, TRANSACTIONAL_FLAG } from "./record-batch.ts";
import { unsignedVarintSize, varintSize, writeUnsignedVarint, zigzag32, zigzag64 } from "./varint.ts";

const TWO_32 = 4294967296;
const utf8 = new TextEncoder();

/**
 * Records packed as the broker's log keeps them ({@link PackedRecords}), with their headers
 * and timestamps. Encoding from this shape copies straight out of `data`, without a view per
 * key and value.
 */
export interface PackedBatchRecords extends PackedRecords {
  readonly headers?: readonly (RecordHeaders | null)[] | null | undefined;
  readonly timestamps?: readonly number[] | null | undefined;
}

/** One batch to encode. */
export interface BatchInput {
  /** The offset of the batch's first record (offset delta 0). */
  readonly baseOffset: number;
  readonly records: RecordColumns | PackedBatchRecords;
  /** Record `i` has offset `baseOffset + offsetDeltas[i]` (offsets may have gaps); default `i`. */
  readonly offsetDeltas?: ArrayLike<number> | null;
  /** The timestamp of every record when `records.timestamps` is absent (e.g. the broker's append time). */
  readonly timestamp?: number;
  /** -1 (the default) for a plain producer. */
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly transactional?: boolean;
  readonly partitionLeaderEpoch?: number;
  /** 0 (none, the default) or 1 (gzip). */
  readonly compression?: 0 | 1;
  /** Compresses the records section for gzip; default `node:zlib`'s `gzipSync` where the runtime has it. */
  readonly gzip?: ZipFunction;
}

/** A control marker: the commit or abort of `producerId`'s transaction, one record at `baseOffset`. */
export interface ControlBatchInput {
  readonly baseOffset: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly commit: boolean;
  readonly timestamp: number;
  /** The transaction coordinator's epoch, carried in the marker's value; default 0. */
  readonly coordinatorEpoch?: number;
  readonly partitionLeaderEpoch?: number;
}

/** A batch sized and ready to write: {@link writeBatch} writes exactly `size` bytes. */
export interface BatchPlan {
  readonly size: number;
  /** @internal What the writer needs; opaque to callers. */
  readonly state: PlanState;
}

interface PlanState {
  readonly input: BatchInput;
  readonly attributes: number;
  readonly count: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly lastOffsetDelta: number;
  /** Each record's body size (after its length varint). */
  readonly bodySizes: Int32Array;
  /** The records section, already compressed; null when uncompressed (written in place). */
  readonly compressed: Uint8Array | null;
  readonly src: RecordSource;
}

/**
 * Sizes a batch. Throws `RangeError` for a timestamp or offset delta that is not an integer
 * within range.
 */
export function planBatch(input: BatchInput): BatchPlan {
  return plan(input, input.transactional ? TRANSACTIONAL_FLAG : 0);
}

function plan(input: BatchInput, flags: number): BatchPlan {
  const src = source(input.records);
  const { headers, timestamps, count } = src;
  const deltas = input.offsetDeltas ?? null;
  const fallback = input.timestamp ?? -1;
  const baseTimestamp = count === 0 ? fallback : timestamps?.[0] ?? fallback;
  let maxTimestamp = baseTimestamp;
  const bodySizes = new Int32Array(count);
  let recordsSize = 0;
  for (let i = 0; i < count; i++) {
    const ts = timestamps?.[i] ?? fallback;
    if (ts > maxTimestamp) maxTimestamp = ts;
    const tsDelta = ts - baseTimestamp;
    if (!Number.isSafeInteger(tsDelta)) throw new RangeError(`record ${i}: timestamp ${ts} is not an integer`);
    const offsetDelta = deltas === null ? i : deltas[i]!;
    if ((offsetDelta | 0) !== offsetDelta) {
      throw new RangeError(`record ${i}: offset delta ${offsetDelta} is not an int32`);
    }
    const kl = src.keyLength(i);
    const vl = src.valueLength(i);
    let body = 1 + unsignedVarintSize(zigzag64(tsDelta)) + varintSize(offsetDelta) +
      (kl < 0 ? 1 : varintSize(kl) + kl) + varintSize(vl) + vl;
    const h = headers?.[i] ?? null;
    body += h === null ? 1 : headersSize(h);
    bodySizes[i] = body;
    recordsSize += varintSize(body) + body;
  }
  const lastOffsetDelta = count === 0 ? 0 : deltas === null ? count - 1 : deltas[count - 1]!;
  const codec = input.compression ?? NO_COMPRESSION;
  let compressed: Uint8Array | null = null;
  if (codec !== NO_COMPRESSION) {
    const plain = new Uint8Array(recordsSize);
    writeRecords(plain, 0, input, src, bodySizes, baseTimestamp);
    compressed = compress(codec, plain, input.gzip);
    recordsSize = compressed.length;
  }
  return {
    size: BATCH_HEADER_SIZE + recordsSize,
    state: {
      input,
      attributes: flags | codec,
      count,
      baseTimestamp,
      maxTimestamp,
      lastOffsetDelta,
      bodySizes,
      compressed,
      src,
    },
  };
}

/** Writes a planned batch into `target` at `at` (which must have `plan.size` bytes free); returns where it ends. */
export function writeBatch(plan: BatchPlan, target: Uint8Array, at: number): number {
  const s = plan.state;
  const input = s.input;
  const end = at + plan.size;
  if (end > target.length) {
    throw new RangeError(`batch of ${plan.size} bytes does not fit at ${at} of ${target.length}`);
  }
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  setInt64(view, at, input.baseOffset);
  view.setInt32(at + 8, plan.size - BATCH_LOG_OVERHEAD);
  view.setInt32(at + 12, input.partitionLeaderEpoch ?? 0);
  view.setInt8(at + 16, 2);
  view.setInt16(at + 21, s.attributes);
  view.setInt32(at + 23, s.lastOffsetDelta);
  setInt64(view, at + 27, s.baseTimestamp);
  setInt64(view, at + 35, s.maxTimestamp);
  setInt64(view, at + 43, input.producerId ?? -1);
  view.setInt16(at + 51, input.producerEpoch ?? -1);
  view.setInt32(at + 53, input.baseSequence ?? -1);
  view.setInt32(at + 57, s.count);
  if (s.compressed !== null) target.set(s.compressed, at + BATCH_HEADER_SIZE);
  else writeRecords(target, at + BATCH_HEADER_SIZE, input, s.src, s.bodySizes, s.baseTimestamp);
  view.setUint32(at + 17, crc32c(target, at + CRC_START, end));
  return end;
}

/** Encodes one batch into a buffer of exactly its size. */
export function encodeBatch(input: BatchInput): Uint8Array {
  const p = planBatch(input);
  const out = new Uint8Array(p.size);
  writeBatch(p, out, 0);
  return out;
}

/** Encodes batches back to back into one buffer (a Fetch response's records field). */
export function encodeBatches(inputs: readonly BatchInput[]): Uint8Array {
  return writePlans(inputs.map(planBatch));
}

/** Writes planned batches (data and control alike) back to back into one buffer of their exact size. */
export function writePlans(plans: readonly BatchPlan[]): Uint8Array {
  let size = 0;
  for (const p of plans) size += p.size;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of plans) at = writeBatch(p, out, at);
  return out;
}

/** Plans a control batch (see {@link encodeControlBatch}), to write among others with {@link writeBatch}. */
export function planControlBatch(input: ControlBatchInput): BatchPlan {
  const key = new Uint8Array([0, 0, 0, input.commit ? 1 : 0]);
  const value = new Uint8Array(6);
  new DataView(value.buffer).setInt32(2, input.coordinatorEpoch ?? 0);
  return plan({
    baseOffset: input.baseOffset,
    records: { keys: [key], values: [value], timestamps: [input.timestamp] },
    producerId: input.producerId,
    producerEpoch: input.producerEpoch,
    baseSequence: -1,
    partitionLeaderEpoch: input.partitionLeaderEpoch ?? 0,
  }, TRANSACTIONAL_FLAG | CONTROL_FLAG);
}

/**
 * Encodes a transaction marker as Kafka writes it: a transactional control batch of one
 * record whose key is version 0 and type (0 abort, 1 commit), and whose value is version 0
 * and the coordinator epoch.
 */
export function encodeControlBatch(input: ControlBatchInput): Uint8Array {
  const p = planControlBatch(input);
  const out = new Uint8Array(p.size);
  writeBatch(p, out, 0);
  return out;
}

function writeRecords(
  buf: Uint8Array,
  pos: number,
  input: BatchInput,
  src: RecordSource,
  sizes: Int32Array,
  base: number,
): number {
  const { headers, timestamps } = src;
  const deltas = input.offsetDeltas ?? null;
  const fallback = input.timestamp ?? -1;
  for (let i = 0; i < sizes.length; i++) {
    pos = writeUnsignedVarint(buf, pos, zigzag32(sizes[i]!));
    buf[pos++] = 0;
    pos = writeUnsignedVarint(buf, pos, zigzag64((timestamps?.[i] ?? fallback) - base));
    pos = writeUnsignedVarint(buf, pos, zigzag32(deltas === null ? i : deltas[i]!));
    if (src.keyLength(i) < 0) buf[pos++] = 1; // zigzag(-1)
    else pos = src.writeKey(i, buf, pos);
    pos = src.writeValue(i, buf, pos);
    const h = headers?.[i] ?? null;
    if (h === null) buf[pos++] = 0;
    else pos = writeHeaders(buf, pos, h);
  }
  return pos;
}

function writeBytes(buf: Uint8Array, pos: number, bytes: Uint8Array): number {
  pos = writeUnsignedVarint(buf, pos, zigzag32(bytes.length));
  buf.set(bytes, pos);
  return pos + bytes.length;
}

/**
 * Either record shape behind one interface: key and value lengths (-1 for a null key) and
 * writers of a length-prefixed key or value, so the sizing and writing loops exist once.
 */
interface RecordSource {
  readonly count: number;
  readonly headers: readonly (RecordHeaders | null)[] | null | undefined;
  readonly timestamps: readonly number[] | null | undefined;
  keyLength(i: number): number;
  valueLength(i: number): number;
  writeKey(i: number, buf: Uint8Array, pos: number): number;
  writeValue(i: number, buf: Uint8Array, pos: number): number;
}

function source(records: RecordColumns | PackedBatchRecords): RecordSource {
  if ("bounds" in records) return new PackedSource(records);
  // Columns that carry their records packed (as the Kafka server decodes them) have empty arrays.
  if (records.packed !== undefined) return new PackedSource({ ...records.packed, ...pick(records) });
  return new ColumnSource(records);
}

function pick(records: RecordColumns): Pick<PackedBatchRecords, "headers" | "timestamps"> {
  return { headers: records.headers, timestamps: records.timestamps };
}

class ColumnSource implements RecordSource {
  readonly count: number;
  readonly headers: readonly (RecordHeaders | null)[] | null | undefined;
  readonly timestamps: readonly number[] | undefined;
  readonly #keys: readonly (Uint8Array | null)[];
  readonly #values: readonly Uint8Array[];
  constructor(records: RecordColumns) {
    this.count = records.values.length;
    this.headers = records.headers;
    this.timestamps = records.timestamps;
    this.#keys = records.keys;
    this.#values = records.values;
  }
  keyLength(i: number): number {
    return this.#keys[i]?.length ?? -1;
  }
  valueLength(i: number): number {
    return this.#values[i]!.length;
  }
  writeKey(i: number, buf: Uint8Array, pos: number): number {
    return writeBytes(buf, pos, this.#keys[i]!);
  }
  writeValue(i: number, buf: Uint8Array, pos: number): number {
    return writeBytes(buf, pos, this.#values[i]!);
  }
}

class PackedSource implements RecordSource {
  readonly count: number;
  readonly headers: readonly (RecordHeaders | null)[] | null | undefined;
  readonly timestamps: readonly number[] | null | undefined;
  readonly #data: Uint8Array;
  readonly #bounds: Uint32Array;
  readonly #nullKeys: Uint8Array | null;
  constructor(records: PackedBatchRecords) {
    this.count = records.count;
    this.headers = records.headers;
    this.timestamps = records.timestamps;
    this.#data = records.data;
    this.#bounds = records.bounds;
    this.#nullKeys = records.nullKeys;
  }
  keyLength(i: number): number {
    return this.#nullKeys !== null && this.#nullKeys[i] === 1 ? -1 : this.#bounds[2 * i + 1]! - this.#bounds[2 * i]!;
  }
  valueLength(i: number): number {
    return this.#bounds[2 * i + 2]! - this.#bounds[2 * i + 1]!;
  }
  writeKey(i: number, buf: Uint8Array, pos: number): number {
    return writeRange(buf, pos, this.#data, this.#bounds[2 * i]!, this.#bounds[2 * i + 1]!);
  }
  writeValue(i: number, buf: Uint8Array, pos: number): number {
    return writeRange(buf, pos, this.#data, this.#bounds[2 * i + 1]!, this.#bounds[2 * i + 2]!);
  }
}

/** Below this many bytes a plain loop copies faster than making a view to `set()` from. */
const SMALL_COPY = 128;

/** Writes `data[from .. to)` with its varint length. */
function writeRange(buf: Uint8Array, pos: number, data: Uint8Array, from: number, to: number): number {
  const n = to - from;
  pos = writeUnsignedVarint(buf, pos, zigzag32(n));
  if (n <= SMALL_COPY) { for (let j = 0; j < n; j++) buf[pos + j] = data[from + j]!; }
  else buf.set(data.subarray(from, to), pos);
  return pos + n;
}

function headersSize(h: RecordHeaders): number {
  const names = Object.keys(h);
  let size = varintSize(names.length);
  for (const name of names) {
    const n = utf8Length(name);
    const v = h[name]!.length;
    size += varintSize(n) + n + varintSize(v) + v;
  }
  return size;
}

function writeHeaders(buf: Uint8Array, pos: number, h: RecordHeaders): number {
  const names = Object.keys(h);
  pos = writeUnsignedVarint(buf, pos, zigzag32(names.length));
  for (const name of names) {
    const n = utf8Length(name);
    pos = writeUnsignedVarint(buf, pos, zigzag32(n));
    if (n === name.length) {
      for (let i = 0; i < n; i++) buf[pos + i] = name.charCodeAt(i);
    } else utf8.encodeInto(name, buf.subarray(pos, pos + n));
    pos = writeBytes(buf, pos + n, h[name]!);
  }
  return pos;
}

/** UTF-8 bytes of `s` (a lone surrogate counts as U+FFFD's three, as TextEncoder writes it). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // a pair: 4 bytes for 2 code units
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}

/** Writes `v` as a big-endian int64 (exact within ±2^53). */
function setInt64(view: DataView, at: number, v: number): void {
  view.setInt32(at, Math.floor(v / TWO_32));
  view.setUint32(at + 4, v >>> 0);
}
