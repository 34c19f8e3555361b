/**
 * Writes Kafka's primitive types into a growable byte array: the mirror of {@link Reader}.
 * Values are range-checked, since a DataView would silently wrap an out-of-range number into
 * a different, valid-looking one on the wire.
 *
 * @module
 */
import { KafkaEncodeError } from "./protocol-error.ts";

const TWO_32 = 0x1_0000_0000;
const TWO_63 = 2 ** 63;
/** Shared, like the reader's decoder: one encoder serves every string. */
const utf8 = new TextEncoder();

/** Writes Kafka's primitive types, growing its buffer (doubling) as needed. */
export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  /** Starts with `initialSize` bytes of room (256 by default). */
  constructor(initialSize = 256) {
    this.buf = new Uint8Array(Math.max(1, initialSize));
    this.view = new DataView(this.buf.buffer);
  }

  /** How many bytes have been written. */
  get position(): number {
    return this.pos;
  }

  int8(value: number): void {
    if (((value << 24) >> 24) !== value) throw outOfRange("int8", value);
    this.room(1);
    this.view.setInt8(this.pos++, value);
  }

  int16(value: number): void {
    if (((value << 16) >> 16) !== value) throw outOfRange("int16", value);
    this.room(2);
    this.view.setInt16(this.pos, value);
    this.pos += 2;
  }

  uint16(value: number): void {
    if ((value & 0xffff) !== value) throw outOfRange("uint16", value);
    this.room(2);
    this.view.setUint16(this.pos, value);
    this.pos += 2;
  }

  int32(value: number): void {
    if ((value | 0) !== value) throw outOfRange("int32", value);
    this.room(4);
    this.view.setInt32(this.pos, value);
    this.pos += 4;
  }

  uint32(value: number): void {
    if (value >>> 0 !== value) throw outOfRange("uint32", value);
    this.room(4);
    this.view.setUint32(this.pos, value);
    this.pos += 4;
  }

  /**
   * An int64 from an integer number. Numbers at or past ±2^63 (where a rounded
   * Long.MAX_VALUE lands) are written as Long.MAX_VALUE / Long.MIN_VALUE.
   */
  int64(value: number): void {
    if (!Number.isInteger(value)) throw outOfRange("int64", value);
    this.room(8);
    if (value >= TWO_63) {
      this.view.setUint32(this.pos, 0x7fffffff);
      this.view.setUint32(this.pos + 4, 0xffffffff);
    } else {
      const clamped = value < -TWO_63 ? -TWO_63 : value;
      const high = Math.floor(clamped / TWO_32);
      this.view.setInt32(this.pos, high);
      this.view.setUint32(this.pos + 4, clamped - high * TWO_32);
    }
    this.pos += 8;
  }

  float64(value: number): void {
    if (typeof value !== "number") throw outOfRange("float64", value);
    this.room(8);
    this.view.setFloat64(this.pos, value);
    this.pos += 8;
  }

  bool(value: boolean): void {
    if (typeof value !== "boolean") throw outOfRange("bool", value);
    this.room(1);
    this.buf[this.pos++] = value ? 1 : 0;
  }

  /** A UUID: exactly 16 bytes. */
  uuid(value: Uint8Array): void {
    if (!(value instanceof Uint8Array) || value.length !== 16) throw new KafkaEncodeError("a uuid must be 16 bytes");
    this.raw(value);
  }

  /** Kafka's UNSIGNED_VARINT of a uint32. */
  uvarint(value: number): void {
    if (value >>> 0 !== value) throw outOfRange("unsigned varint", value);
    this.room(5);
    const buf = this.buf;
    while (value >= 0x80) {
      buf[this.pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[this.pos++] = value;
  }

  /** Kafka's VARINT: a zigzag-encoded int32. */
  varint(value: number): void {
    if ((value | 0) !== value) throw outOfRange("varint", value);
    this.uvarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  /** Kafka's VARLONG: a zigzag-encoded int64 (exact within ±2^53). */
  varlong(value: number): void {
    if (!Number.isInteger(value) || Math.abs(value) > TWO_63) throw outOfRange("varlong", value);
    // Zigzag is 2m + sign; built from m and the sign apart, since 2m - 1 may not be a float.
    const sign = value < 0 ? 1 : 0;
    let magnitude = sign ? -value - 1 : value;
    let low7 = (magnitude % 64) * 2 + sign;
    magnitude = Math.floor(magnitude / 64);
    this.room(10);
    const buf = this.buf;
    while (magnitude > 0) {
      buf[this.pos++] = low7 | 0x80;
      low7 = magnitude % 128;
      magnitude = Math.floor(magnitude / 128);
    }
    buf[this.pos++] = low7;
  }

  /** A string with an int16 length, or -1 for null. */
  string(value: string | null): void {
    if (value === null) return this.int16(-1);
    if (typeof value !== "string") throw outOfRange("string", value);
    const length = utf8Length(value);
    if (length > 0x7fff) throw new KafkaEncodeError(`a string of ${length} bytes is too long for an int16 length`);
    this.int16(length);
    this.utf8(value, length);
  }

  /** A string with an unsigned-varint length + 1, or 0 for null. */
  compactString(value: string | null): void {
    if (value === null) return this.uvarint(0);
    if (typeof value !== "string") throw outOfRange("string", value);
    const length = utf8Length(value);
    this.uvarint(length + 1);
    this.utf8(value, length);
  }

  /** Bytes with an int32 length, or -1 for null. */
  bytes(value: Uint8Array | null): void {
    if (value === null) return this.int32(-1);
    this.int32(value.length);
    this.raw(value);
  }

  /** Bytes with an unsigned-varint length + 1, or 0 for null. */
  compactBytes(value: Uint8Array | null): void {
    if (value === null) return this.uvarint(0);
    this.uvarint(value.length + 1);
    this.raw(value);
  }

  /** An array's int32 element count, or -1 for a null array. */
  arrayLength(length: number | null): void {
    this.int32(length === null ? -1 : length);
  }

  /** An array's element count as unsigned varint count + 1, or 0 for a null array. */
  compactArrayLength(length: number | null): void {
    this.uvarint(length === null ? 0 : length + 1);
  }

  /** Bytes as they are, no length. */
  raw(value: Uint8Array): void {
    if (!(value instanceof Uint8Array)) throw new KafkaEncodeError("bytes must be a Uint8Array");
    this.room(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** Leaves room for an int32 written later with {@link patchInt32} (a size prefix); returns its position. */
  reserveInt32(): number {
    this.room(4);
    const at = this.pos;
    this.pos += 4;
    return at;
  }

  /** Writes an int32 at a position returned by {@link reserveInt32}. */
  patchInt32(at: number, value: number): void {
    if ((value | 0) !== value) throw outOfRange("int32", value);
    this.view.setInt32(at, value);
  }

  /**
   * Inserts an unsigned varint at an earlier position, moving what follows it: a tagged
   * field's size, known only once its value is written.
   */
  insertUvarint(at: number, value: number): void {
    const end = this.pos;
    this.pos = at;
    const scratch = new Writer(5);
    scratch.uvarint(value);
    const prefix = scratch.finish();
    this.room(end - at + prefix.length);
    this.buf.copyWithin(at + prefix.length, at, end);
    this.buf.set(prefix, at);
    this.pos = end + prefix.length;
  }

  /** The bytes written so far: a view of the buffer, valid until the next write. */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Writes a string's UTF-8 form, `length` bytes long (as {@link utf8Length} measured). */
  private utf8(value: string, length: number): void {
    this.room(length);
    if (length === value.length) {
      // All ASCII: a plain copy beats an encodeInto call for the short names Kafka is full of.
      const buf = this.buf;
      for (let i = 0; i < length; i++) buf[this.pos + i] = value.charCodeAt(i);
    } else {
      utf8.encodeInto(value, this.buf.subarray(this.pos, this.pos + length));
    }
    this.pos += length;
  }

  /** Makes room for `n` more bytes. */
  private room(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }
}

/** The UTF-8 length of a string, as TextEncoder would encode it (a lone surrogate becomes U+FFFD, 3 bytes). */
export function utf8Length(value: string): number {
  let length = value.length;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) length += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length += 2; // two UTF-16 units, four bytes
        i++;
      } else length += 2;
    } else length += 2;
  }
  return length;
}

function outOfRange(type: string, value: unknown): KafkaEncodeError {
  return new KafkaEncodeError(`${typeof value === "number" ? value : typeof value} is not a valid ${type}`);
}
