/**
 * Batch framing: one acktor batch in one NATS message, so one PubAck covers every record in
 * it. The frame is versioned so a later acktor can still read what an earlier one wrote:
 * this one writes version 2 and reads versions 1 and 2.
 *
 * Layout (big-endian):
 *
 *     "AK" u8 version u8 flags=0 | u32 count | i32 baseSequence (-1: none)
 *     version 2, per record:
 *       i32 keyLength (-1: null key) | key | u32 valueLength | value | f64 timestamp (-1: none)
 *       | u16 headerCount | headerCount × ( u16 nameLength | name (UTF-8) | u32 valueLength | value )
 *     version 1, per record:
 *       i32 keyLength (-1: null key) | key | u32 valueLength | value | u16 headerCount=0
 *
 * Record `i` carries sequence `baseSequence + i`. A timestamp is a float64 because it holds
 * every integer up to 2^53 exactly and needs no BigInt; version 1 had none (readers take the
 * message's stored time), and its header count was always 0.
 *
 * @module
 */
import { EMPTY_HEADERS, put, utf8Length } from "../../transport/headers.ts";
import type { Bytes, RecordColumns, RecordHeaders } from "../../transport/protocol.ts";

const MAGIC_A = 0x41;
const MAGIC_K = 0x4b;
const VERSION = 2;
const HEADER_BYTES = 12;
const utf8 = new TextEncoder();
const text = new TextDecoder();

/** The records of one frame. */
export interface Frame {
  readonly baseSequence: number;
  readonly keys: (Bytes | null)[];
  readonly values: Bytes[];
  readonly headers: RecordHeaders[];
  /** -1 where the record has none (every record of a version-1 frame). */
  readonly timestamps: number[];
}

/** Encodes a batch into one version-2 frame. */
export function encodeFrame(records: RecordColumns, baseSequence = -1): Uint8Array {
  const { keys, values, headers, timestamps } = records;
  let size = HEADER_BYTES;
  for (let i = 0; i < values.length; i++) {
    size += 4 + (keys[i]?.length ?? 0) + 4 + values[i]!.length + 8 + 2;
    const h = headers?.[i];
    if (h) { for (const name in h) size += 2 + utf8Length(name) + 4 + h[name]!.length; }
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = MAGIC_A;
  out[1] = MAGIC_K;
  out[2] = VERSION;
  out[3] = 0;
  view.setUint32(4, values.length);
  view.setInt32(8, baseSequence);
  let at = HEADER_BYTES;
  const bytes = (b: Bytes, lengthBytes: 2 | 4): void => {
    if (lengthBytes === 2) view.setUint16(at, b.length);
    else view.setUint32(at, b.length);
    at += lengthBytes;
    out.set(b, at);
    at += b.length;
  };
  for (let i = 0; i < values.length; i++) {
    const key = keys[i] ?? null;
    if (key === null) {
      view.setInt32(at, -1);
      at += 4;
    } else bytes(key, 4);
    bytes(values[i]!, 4);
    view.setFloat64(at, timestamps?.[i] ?? -1);
    at += 8;
    const h = headers?.[i];
    const countAt = at;
    let count = 0;
    at += 2;
    if (h) {
      for (const name in h) {
        bytes(utf8.encode(name), 2);
        bytes(h[name]!, 4);
        count++;
      }
    }
    view.setUint16(countAt, count);
  }
  return out;
}

/** Decodes a frame; throws a `RangeError` naming the problem for anything that is not a valid version-1 or -2 frame. */
export function decodeFrame(data: Uint8Array): Frame {
  if (data.length < HEADER_BYTES || data[0] !== MAGIC_A || data[1] !== MAGIC_K) {
    throw new RangeError("not an acktor batch frame");
  }
  const version = data[2]!;
  if (version !== 1 && version !== 2) {
    throw new RangeError(`acktor batch frame version ${version} is not supported (this acktor reads versions 1 and 2)`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const count = view.getUint32(4);
  const baseSequence = view.getInt32(8);
  const keys: (Bytes | null)[] = new Array(count);
  const values: Bytes[] = new Array(count);
  const headers: RecordHeaders[] = new Array(count);
  const timestamps: number[] = new Array(count);
  let at = 0;
  /** The offset of the next `n` bytes, once they are known to be there. */
  const skip = (n: number): number => {
    if (at + n > data.length) throw new RangeError("truncated acktor batch frame");
    at += n;
    return at - n;
  };
  const take = (n: number): Bytes => data.subarray(skip(n), at);
  at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const keyLength = view.getInt32(skip(4));
    keys[i] = keyLength < 0 ? null : take(keyLength);
    values[i] = take(view.getUint32(skip(4)));
    timestamps[i] = version === 1 ? -1 : view.getFloat64(skip(8));
    const headerCount = view.getUint16(skip(2));
    if (headerCount === 0) {
      headers[i] = EMPTY_HEADERS;
      continue;
    }
    if (version === 1) throw new RangeError("acktor batch frame: record headers are not supported in version 1");
    const h: Record<string, Bytes> = {};
    for (let n = 0; n < headerCount; n++) {
      const name = text.decode(take(view.getUint16(skip(2))));
      put(h, name, take(view.getUint32(skip(4))));
    }
    headers[i] = Object.freeze(h);
  }
  return { baseSequence, keys, values, headers, timestamps };
}

/**
 * Batch-framed offsets pack (stream sequence, index in frame) into one number, so offsets
 * stay ordered and a consumer can resume in the middle of a frame. 2^16 records per frame
 * leave stream sequences up to 2^37, far beyond any stream's life.
 */
export const FRAME_SLOTS = 65_536;

export function frameOffset(sequence: number, index: number): number {
  return sequence * FRAME_SLOTS + index;
}

export function splitFrameOffset(offset: number): { sequence: number; index: number } {
  return { sequence: Math.floor(offset / FRAME_SLOTS), index: offset % FRAME_SLOTS };
}
