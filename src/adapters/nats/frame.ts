/**
 * Batch framing: one acktor batch in one NATS message, so one PubAck covers every record in
 * it. The frame is versioned so a later acktor can still read what an earlier one wrote.
 *
 * Layout (big-endian), version 1:
 *
 *     "AK" u8 version=1 u8 flags=0 | u32 count | i32 baseSequence (-1: none)
 *     count × ( i32 keyLength (-1: null key) | key | u32 valueLength | value | u16 headerCount=0 )
 *
 * Record `i` carries sequence `baseSequence + i`. Records have no headers in acktor yet; the
 * count is there (always 0) so a version that adds them stays readable by this layout.
 *
 * @module
 */
import type { Bytes } from "../../transport/protocol.ts";

const MAGIC_A = 0x41;
const MAGIC_K = 0x4b;
const VERSION = 1;
const HEADER_BYTES = 12;

/** The records of one frame. */
export interface Frame {
  readonly baseSequence: number;
  readonly keys: (Bytes | null)[];
  readonly values: Bytes[];
}

/** Encodes a batch into one frame. */
export function encodeFrame(keys: readonly (Bytes | null)[], values: readonly Bytes[], baseSequence = -1): Uint8Array {
  let size = HEADER_BYTES;
  for (let i = 0; i < values.length; i++) size += 4 + (keys[i]?.length ?? 0) + 4 + values[i]!.length + 2;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = MAGIC_A;
  out[1] = MAGIC_K;
  out[2] = VERSION;
  out[3] = 0;
  view.setUint32(4, values.length);
  view.setInt32(8, baseSequence);
  let at = HEADER_BYTES;
  for (let i = 0; i < values.length; i++) {
    const key = keys[i] ?? null;
    view.setInt32(at, key === null ? -1 : key.length);
    at += 4;
    if (key !== null) {
      out.set(key, at);
      at += key.length;
    }
    const value = values[i]!;
    view.setUint32(at, value.length);
    at += 4;
    out.set(value, at);
    at += value.length;
    view.setUint16(at, 0);
    at += 2;
  }
  return out;
}

/** Decodes a frame; throws a `RangeError` naming the problem for anything that is not a valid version-1 frame. */
export function decodeFrame(data: Uint8Array): Frame {
  if (data.length < HEADER_BYTES || data[0] !== MAGIC_A || data[1] !== MAGIC_K) {
    throw new RangeError("not an acktor batch frame");
  }
  if (data[2] !== VERSION) {
    throw new RangeError(
      `acktor batch frame version ${data[2]} is not supported (this acktor reads version ${VERSION})`,
    );
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const count = view.getUint32(4);
  const baseSequence = view.getInt32(8);
  const keys: (Bytes | null)[] = new Array(count);
  const values: Bytes[] = new Array(count);
  let at = HEADER_BYTES;
  const take = (n: number): Bytes => {
    if (at + n > data.length) throw new RangeError("truncated acktor batch frame");
    const bytes = data.subarray(at, at + n);
    at += n;
    return bytes;
  };
  for (let i = 0; i < count; i++) {
    const keyLength = view.getInt32(take(4).byteOffset - data.byteOffset);
    keys[i] = keyLength < 0 ? null : take(keyLength);
    const valueLength = view.getUint32(take(4).byteOffset - data.byteOffset);
    values[i] = take(valueLength);
    const headers = view.getUint16(take(2).byteOffset - data.byteOffset);
    if (headers !== 0) throw new RangeError("acktor batch frame: record headers are not supported in version 1");
  }
  return { baseSequence, keys, values };
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
