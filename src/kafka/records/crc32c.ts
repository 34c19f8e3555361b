/**
 * CRC-32C (Castagnoli), the checksum of Kafka's record batch v2. Every produced batch is
 * checked, so it is table-driven with slicing-by-8 over 32-bit words: eight 256-entry tables
 * let one step consume 8 bytes with independent lookups, and reading the bytes as two words
 * (an `Int32Array` view of the aligned middle of the range) halves the loads. Measured on
 * V8, about twice the speed of slicing-by-16 over single bytes.
 *
 * @module
 */

/** The reflected Castagnoli polynomial. */
const POLY = 0x82f63b78;

/** `TABLES[k * 256 + b]`: the CRC of byte `b` followed by `k` zero bytes. */
const TABLES = buildTables();

/** Word reads assume the platform's byte order is little-endian (all common hosts); else bytes. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function buildTables(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[b] = c;
  }
  for (let k = 1; k < 8; k++) {
    for (let b = 0; b < 256; b++) {
      const prev = t[(k - 1) * 256 + b]!;
      t[k * 256 + b] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
}

/**
 * The CRC-32C of `bytes[start .. end)` as an unsigned 32-bit number, continuing from
 * `crc` (the CRC of whatever came before; 0 to start fresh).
 */
export function crc32c(bytes: Uint8Array, start = 0, end: number = bytes.length, crc = 0): number {
  const t = TABLES;
  let c = ~crc;
  let i = start;
  if (LITTLE_ENDIAN && end - start >= 64) {
    // Bytes up to a 4-byte boundary of the underlying buffer, then whole 8-byte steps.
    for (; ((bytes.byteOffset + i) & 3) !== 0; i++) c = (c >>> 8) ^ t[(c ^ bytes[i]!) & 0xff]!;
    const steps = (end - i) >>> 3;
    const words = new Int32Array(bytes.buffer, bytes.byteOffset + i, steps * 2);
    for (let w = 0; w < words.length; w += 2) {
      const a = c ^ words[w]!;
      const b = words[w + 1]!;
      c = t[1792 + (a & 0xff)]! ^ t[1536 + ((a >>> 8) & 0xff)]! ^ t[1280 + ((a >>> 16) & 0xff)]! ^
        t[1024 + (a >>> 24)]! ^ t[768 + (b & 0xff)]! ^ t[512 + ((b >>> 8) & 0xff)]! ^
        t[256 + ((b >>> 16) & 0xff)]! ^ t[b >>> 24]!;
    }
    i += steps * 8;
  }
  for (; i < end; i++) c = (c >>> 8) ^ t[(c ^ bytes[i]!) & 0xff]!;
  return ~c >>> 0;
}
