/**
 * A cursor over one Kafka frame that reads Kafka's primitive types. Every read checks the
 * frame's end first, so bytes from a client can never make it read out of bounds, allocate
 * by a declared length, or fail with anything but a {@link KafkaProtocolError}.
 *
 * @module
 */
import { KafkaProtocolError } from "./protocol-error.ts";

const TWO_32 = 0x1_0000_0000;
/** Shared: creating a TextDecoder per string would cost more than decoding most of them. */
const utf8 = new TextDecoder("utf-8", { fatal: true });
/** Strings up to this many bytes are tried as ASCII by hand: cheaper than a TextDecoder call. */
const SHORT_STRING = 32;

/** Reads Kafka's primitive types from a byte array, advancing a position. */
export class Reader {
  private readonly data: Uint8Array;
  private readonly view: DataView;
  private pos: number;

  /** Reads `bytes` from its start (a subarray is read from its own start, not its buffer's). */
  constructor(bytes: Uint8Array) {
    this.data = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }

  /** The offset of the next byte to read. */
  get position(): number {
    return this.pos;
  }

  /** How many bytes are left to read. */
  get remaining(): number {
    return this.data.length - this.pos;
  }

  /** Advances past `n` bytes. */
  skip(n: number): void {
    this.need(n, "skipped field");
    this.pos += n;
  }

  int8(): number {
    this.need(1, "int8");
    return this.view.getInt8(this.pos++);
  }

  int16(): number {
    this.need(2, "int16");
    const value = this.view.getInt16(this.pos);
    this.pos += 2;
    return value;
  }

  uint16(): number {
    this.need(2, "uint16");
    const value = this.view.getUint16(this.pos);
    this.pos += 2;
    return value;
  }

  int32(): number {
    this.need(4, "int32");
    const value = this.view.getInt32(this.pos);
    this.pos += 4;
    return value;
  }

  uint32(): number {
    this.need(4, "uint32");
    const value = this.view.getUint32(this.pos);
    this.pos += 4;
    return value;
  }

  /**
   * An int64 as a JS number: exact within ±2^53, rounded beyond (Kafka's Long.MAX_VALUE
   * sentinel reads as 2^63, which {@link Writer.int64} writes back as Long.MAX_VALUE).
   */
  int64(): number {
    this.need(8, "int64");
    const high = this.view.getInt32(this.pos);
    const low = this.view.getUint32(this.pos + 4);
    this.pos += 8;
    return high * TWO_32 + low;
  }

  float64(): number {
    this.need(8, "float64");
    const value = this.view.getFloat64(this.pos);
    this.pos += 8;
    return value;
  }

  /** Any non-zero byte is true, as in Kafka. */
  bool(): boolean {
    this.need(1, "bool");
    return this.data[this.pos++] !== 0;
  }

  /** A UUID's 16 bytes, copied so the result outlives the frame. */
  uuid(): Uint8Array {
    this.need(16, "uuid");
    const value = this.data.slice(this.pos, this.pos + 16);
    this.pos += 16;
    return value;
  }

  /** Kafka's UNSIGNED_VARINT: 7 bits a byte, least significant first, at most 5 bytes (32 bits). */
  uvarint(): number {
    const data = this.data;
    const start = this.pos;
    let value = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      if (this.pos >= data.length) throw overrun("varint", start);
      const b = data[this.pos++]!;
      value |= (b & 0x7f) << shift;
      if (b < 0x80) return value >>> 0;
    }
    throw new KafkaProtocolError("varint longer than 5 bytes", start);
  }

  /** Kafka's VARINT: a zigzag-encoded int32. */
  varint(): number {
    const raw = this.uvarint();
    return (raw >>> 1) ^ -(raw & 1);
  }

  /**
   * Kafka's VARLONG: a zigzag-encoded int64 of at most 10 bytes, as a number (exact within
   * ±2^53). The sign is the first byte's low bit, so it survives even where the magnitude rounds.
   */
  varlong(): number {
    const data = this.data;
    const start = this.pos;
    if (this.pos >= data.length) throw overrun("varlong", start);
    let b = data[this.pos++]!;
    const negative = (b & 1) === 1;
    let magnitude = (b & 0x7f) >>> 1;
    let scale = 64;
    for (let i = 1; b >= 0x80; i++) {
      if (i === 10) throw new KafkaProtocolError("varlong longer than 10 bytes", start);
      if (this.pos >= data.length) throw overrun("varlong", start);
      b = data[this.pos++]!;
      magnitude += (b & 0x7f) * scale;
      scale *= 128;
    }
    return negative ? -magnitude - 1 : magnitude;
  }

  /** A string with an int16 length; -1 is null, allowed only when `nullable`. */
  string(nullable?: false): string;
  string(nullable: boolean): string | null;
  string(nullable = false): string | null {
    const start = this.pos;
    return this.text(this.int16(), nullable, start);
  }

  /** A string with an unsigned-varint length + 1; 0 is null, allowed only when `nullable`. */
  compactString(nullable?: false): string;
  compactString(nullable: boolean): string | null;
  compactString(nullable = false): string | null {
    const start = this.pos;
    return this.text(this.uvarint() - 1, nullable, start);
  }

  /** Bytes with an int32 length; -1 is null. A view into the frame, not a copy. */
  bytes(nullable?: false): Uint8Array;
  bytes(nullable: boolean): Uint8Array | null;
  bytes(nullable = false): Uint8Array | null {
    const start = this.pos;
    return this.view8(this.int32(), nullable, start);
  }

  /** Bytes with an unsigned-varint length + 1; 0 is null. A view into the frame, not a copy. */
  compactBytes(nullable?: false): Uint8Array;
  compactBytes(nullable: boolean): Uint8Array | null;
  compactBytes(nullable = false): Uint8Array | null {
    const start = this.pos;
    return this.view8(this.uvarint() - 1, nullable, start);
  }

  /**
   * An array's int32 element count (-1 for null), checked against the bytes left so that a
   * declared count can never make the caller allocate more than the frame could hold.
   */
  arrayLength(nullable: boolean): number {
    const start = this.pos;
    return this.count(this.int32(), nullable, start);
  }

  /** An array's element count encoded as unsigned varint count + 1 (0 for null → -1), checked like {@link arrayLength}. */
  compactArrayLength(nullable: boolean): number {
    const start = this.pos;
    return this.count(this.uvarint() - 1, nullable, start);
  }

  private count(length: number, nullable: boolean, start: number): number {
    if (length < 0) {
      if (length === -1 && nullable) return -1;
      throw badLength("array", length, nullable, start);
    }
    if (length > this.remaining) {
      throw new KafkaProtocolError(
        `array of ${length} elements is longer than the ${this.remaining} bytes left`,
        start,
      );
    }
    return length;
  }

  private view8(length: number, nullable: boolean, start: number): Uint8Array | null {
    if (length < 0) {
      if (length === -1 && nullable) return null;
      throw badLength("bytes", length, nullable, start);
    }
    if (length > this.remaining) throw overrun(`bytes length ${length}`, start);
    const value = this.data.subarray(this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  private text(length: number, nullable: boolean, start: number): string | null {
    if (length < 0) {
      if (length === -1 && nullable) return null;
      throw badLength("string", length, nullable, start);
    }
    if (length > this.remaining) throw overrun(`string length ${length}`, start);
    const from = this.pos;
    const to = from + length;
    this.pos = to;
    if (length <= SHORT_STRING) {
      const data = this.data;
      let ascii = "";
      let i = from;
      for (; i < to; i++) {
        const b = data[i]!;
        if (b >= 0x80) break;
        ascii += String.fromCharCode(b);
      }
      if (i === to) return ascii;
    }
    try {
      return utf8.decode(this.data.subarray(from, to));
    } catch {
      throw new KafkaProtocolError(`string of ${length} bytes is not valid UTF-8`, start);
    }
  }

  /** Throws unless `n` more bytes are there. */
  private need(n: number, what: string): void {
    if (this.pos + n > this.data.length) throw overrun(what, this.pos);
  }
}

function overrun(what: string, at: number): KafkaProtocolError {
  return new KafkaProtocolError(`${what} runs past the end of the frame`, at);
}

function badLength(what: string, length: number, nullable: boolean, at: number): KafkaProtocolError {
  const problem = length === -1 && !nullable
    ? `null ${what} where null is not allowed`
    : `negative ${what} length ${length}`;
  return new KafkaProtocolError(problem, at);
}
