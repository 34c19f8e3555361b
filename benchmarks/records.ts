/**
 * Benchmark records and their reconciliation against the broker log.
 *
 * Every record is a 100-byte value whose first 8 bytes hold its sequence number
 * (little-endian uint64), so after a run one pass over the log tells which records arrived,
 * which are missing and which were written more than once, without keeping any per-record
 * bookkeeping on the hot path.
 *
 * @module
 */
import type { EmbeddedBroker, Isolation } from "../src/index.ts";

export const RECORD_BYTES = 100;

/**
 * `n` distinct 100-byte values, built before any timing starts so the measured loop costs
 * only the producer. They are views into one shared ArrayBuffer: 1,000,000 separate
 * `new Uint8Array(100)` would each get their own backing store, which is slow to build and
 * weighs on the GC during the runs. Nothing mutates a value once it is sent (the broker
 * keeps references), and every case writes to its own fresh broker, so all cases share
 * one set.
 */
export function makeRecords(n: number): Uint8Array[] {
  const buffer = new Uint8Array(n * RECORD_BYTES);
  const values = new Array<Uint8Array>(n);
  for (let seq = 0; seq < n; seq++) {
    const offset = seq * RECORD_BYTES;
    const lo = seq >>> 0;
    const hi = Math.floor(seq / 2 ** 32);
    buffer[offset] = lo & 0xff;
    buffer[offset + 1] = (lo >>> 8) & 0xff;
    buffer[offset + 2] = (lo >>> 16) & 0xff;
    buffer[offset + 3] = lo >>> 24;
    buffer[offset + 4] = hi & 0xff;
    buffer[offset + 5] = (hi >>> 8) & 0xff;
    buffer[offset + 6] = (hi >>> 16) & 0xff;
    buffer[offset + 7] = hi >>> 24;
    // The rest is filler, non-zero so a value is never mistaken for a zeroed buffer.
    buffer.fill(0x61 + (seq % 26), offset + 8, offset + RECORD_BYTES);
    values[seq] = buffer.subarray(offset, offset + RECORD_BYTES);
  }
  return values;
}

/** The sequence number written into a value by {@link makeRecords}. */
export function sequenceOf(value: Uint8Array): number {
  const lo = (value[0]! | (value[1]! << 8) | (value[2]! << 16) | (value[3]! << 24)) >>> 0;
  const hi = (value[4]! | (value[5]! << 8) | (value[6]! << 16) | (value[7]! << 24)) >>> 0;
  return hi * 2 ** 32 + lo;
}

/** What the broker log holds, compared with what was sent. */
export interface Reconciliation {
  /** Distinct records (by sequence number) present at least once. */
  delivered: number;
  /** Records sent but absent from the log. */
  lost: number;
  /** Extra copies: a record present k times adds k - 1. */
  duplicated: number;
  /** Records in the log whose sequence number was never sent (should be 0). */
  unknown: number;
}

/**
 * Reads every partition of `topic` and counts each sequence number in [0, n). By default
 * (`read-uncommitted`) it reads to the log end, so nothing written is hidden behind the high
 * watermark; `read-committed` reads what a read-committed consumer would get: up to the last
 * stable offset, without the records of aborted transactions.
 */
export function reconcile(
  broker: EmbeddedBroker,
  topic: string,
  partitions: number,
  n: number,
  isolation: Isolation = "read-uncommitted",
): Reconciliation {
  // Uint16 so even a pathological number of copies of one record is counted right.
  const seen = new Uint16Array(n);
  let duplicated = 0;
  let unknown = 0;
  for (let p = 0; p < partitions; p++) {
    for (const record of broker.read(topic, p, { isolation })) {
      const seq = sequenceOf(record.value);
      if (seq >= n || record.value.length !== RECORD_BYTES) {
        unknown++;
        continue;
      }
      if (seen[seq]! > 0) duplicated++;
      if (seen[seq]! < 0xffff) seen[seq]!++;
    }
  }
  let delivered = 0;
  for (let i = 0; i < n; i++) if (seen[i]! > 0) delivered++;
  return { delivered, lost: n - delivered, duplicated, unknown };
}
