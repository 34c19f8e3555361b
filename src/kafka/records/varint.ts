/**
 * Kafka's zigzag varints (protobuf's encoding) as record batches use them: varint for 32-bit
 * fields, varlong for the timestamp delta. Values are JavaScript numbers, so a varlong is
 * exact up to 2^53.
 *
 * Reads are not bounds-checked one by one: a read past the end of the bytes yields zeros and
 * still advances `pos`, and the record decoder checks once per record that `pos` landed
 * exactly on the record's end. That keeps the hot loop free of per-byte branches.
 *
 * @module
 */
import { CorruptRecordError } from "./records-error.ts";

const TWO_32 = 4294967296;

/** A read position in `buf`; `batchAt` names the batch in errors. */
export class Cursor {
  pos: number;
  constructor(readonly buf: Uint8Array, pos: number, readonly batchAt: number) {
    this.pos = pos;
  }

  /** A zigzag varint (at most 5 bytes), as a signed 32-bit number. */
  varint(): number {
    const buf = this.buf;
    let b = buf[this.pos++]!;
    // Continuation tests are `b & 0x80` rather than `b >= 0x80`, so that a read past the end
    // (undefined) ends the varint instead of running on.
    if ((b & 0x80) === 0) return (b >>> 1) ^ -(b & 1);
    let u = b & 0x7f;
    b = buf[this.pos++]!;
    u |= (b & 0x7f) << 7;
    if (b & 0x80) {
      b = buf[this.pos++]!;
      u |= (b & 0x7f) << 14;
      if (b & 0x80) {
        b = buf[this.pos++]!;
        u |= (b & 0x7f) << 21;
        if (b & 0x80) {
          b = buf[this.pos++]!;
          if (b & 0x80) throw this.#tooLong("varint", 5);
          u |= b << 28;
        }
      }
    }
    return (u >>> 1) ^ -(u & 1);
  }

  /** A zigzag varlong (at most 10 bytes), as a number (exact within ±2^53). */
  varlong(): number {
    const buf = this.buf;
    const first = buf[this.pos]!;
    if ((first & 0x80) === 0) {
      this.pos++;
      return (first >>> 1) ^ -(first & 1);
    }
    let u = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = buf[this.pos++]!;
      u += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      scale *= 128;
    }
    throw this.#tooLong("varlong", 10);
  }

  #tooLong(what: string, max: number): CorruptRecordError {
    return new CorruptRecordError(this.batchAt, `a ${what} at byte ${this.pos - max} is longer than ${max} bytes`);
  }
}

/** Zigzag-encodes a signed 32-bit value. */
export function zigzag32(v: number): number {
  return ((v << 1) ^ (v >> 31)) >>> 0;
}

/** Bytes the unsigned (already zigzagged) varint `u` takes; `u` may exceed 2^32 (a varlong). */
export function unsignedVarintSize(u: number): number {
  if (u < 0x80) return 1;
  if (u < 0x4000) return 2;
  if (u < 0x200000) return 3;
  if (u < 0x10000000) return 4;
  let n = 5;
  for (let rest = Math.floor(u / 0x800000000); rest > 0; rest = Math.floor(rest / 128)) n++;
  return n;
}

/** Bytes the zigzag varint of signed 32-bit `v` takes. */
export function varintSize(v: number): number {
  return unsignedVarintSize(zigzag32(v));
}

/** Zigzag-encodes a signed integer-valued number of up to 64 bits (exact within ±2^53). */
export function zigzag64(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

/** Writes unsigned varint `u` (zigzagged already; may exceed 2^32) at `pos`; returns the position after it. */
export function writeUnsignedVarint(buf: Uint8Array, pos: number, u: number): number {
  while (u >= TWO_32) {
    buf[pos++] = (u % 128) | 0x80;
    u = Math.floor(u / 128);
  }
  while (u >= 0x80) {
    buf[pos++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[pos++] = u;
  return pos;
}
