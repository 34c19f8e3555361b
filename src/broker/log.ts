import { EMPTY_HEADERS } from "../transport/headers.ts";
import type { Bytes, FetchedRecord, RecordColumns, RecordHeaders } from "../transport/protocol.ts";

/** The decision a control marker records for one producer's transaction. */
export type ControlType = "commit" | "abort";

/** A transaction that was aborted in one partition: its records span `firstOffset` to its marker at `lastOffset`. */
export interface AbortedTxn {
  readonly producerId: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
}

/**
 * One appended batch, or one control marker. The arrays are shared with the sender, which
 * never mutates a sent batch. Every chunk has every field, so reads stay monomorphic.
 */
interface Chunk {
  readonly base: number;
  /** One past the chunk's last offset. A control marker takes one offset and holds no record. */
  readonly end: number;
  readonly keys: readonly (Bytes | null)[];
  readonly values: readonly Bytes[];
  /** Null when no record of the batch has headers. */
  readonly headers: readonly (RecordHeaders | null)[] | null;
  /** Null when the batch came without timestamps: its records then have {@link appendedAt}. */
  readonly timestamps: readonly number[] | null;
  /** When the batch was appended (ms since the epoch, or the clock's time): the timestamp of records sent without one. */
  readonly appendedAt: number;
  /** The writing producer, or -1 for a plain (non-idempotent) batch. */
  readonly producerId: number;
  readonly transactional: boolean;
  readonly control: ControlType | null;
}

/** What a read returns: the records, and where the reader continues. */
export interface LogRead {
  readonly records: FetchedRecord[];
  /**
   * One past the last offset the read got through. It moves past control markers and
   * filtered records too, so a reader that only sees gaps still advances.
   */
  readonly nextOffset: number;
}

const NONE: readonly never[] = [];

/**
 * A partition's append-only log. It stores whole batches, so an append is O(1) whatever the
 * batch size, and reads find their starting batch by binary search.
 */
export class PartitionLog {
  #chunks: Chunk[] = [];
  #end = 0;

  /** The offset the next record will get. */
  get endOffset(): number {
    return this.#end;
  }

  /**
   * Appends a batch and returns the offset of its first record. `producerId` is -1 for a
   * plain batch; `appendedAt` stamps records that came without a timestamp.
   */
  append(records: RecordColumns, appendedAt: number, producerId = -1, transactional = false): number {
    const base = this.#end;
    const { keys, values } = records;
    this.#end += values.length;
    this.#chunks.push({
      base,
      end: this.#end,
      keys,
      values,
      headers: records.headers ?? null,
      timestamps: records.timestamps ?? null,
      appendedAt,
      producerId,
      transactional,
      control: null,
    });
    return base;
  }

  /** Appends a control marker, which ends `producerId`'s transaction here; returns its offset. */
  appendMarker(producerId: number, control: ControlType): number {
    const base = this.#end++;
    this.#chunks.push({
      base,
      end: this.#end,
      keys: NONE,
      values: NONE,
      headers: null,
      timestamps: null,
      appendedAt: 0,
      producerId,
      transactional: true,
      control,
    });
    return base;
  }

  /**
   * Records from `offset` (inclusive) to `upTo` (exclusive), at most `max` of them. Control
   * markers are never returned; nor are the records of transactions in `aborted` (which
   * read-uncommitted readers pass as null, to see them).
   */
  read(offset: number, upTo: number, max: number, aborted: readonly AbortedTxn[] | null): LogRead {
    const records: FetchedRecord[] = [];
    const end = Math.min(upTo, this.#end);
    let o = Math.max(0, offset);
    for (let c = this.#chunkIndex(o); o < end && records.length < max && c < this.#chunks.length; c++) {
      const chunk = this.#chunks[c]!;
      if (chunk.end <= o) continue;
      if (chunk.control !== null || (aborted !== null && chunk.transactional && isAborted(aborted, chunk))) {
        o = Math.min(chunk.end, end);
        continue;
      }
      for (let i = o - chunk.base; i < chunk.values.length && o < end && records.length < max; i++, o++) {
        records.push({
          offset: o,
          key: chunk.keys[i] ?? null,
          value: chunk.values[i]!,
          headers: chunk.headers?.[i] ?? EMPTY_HEADERS,
          timestamp: chunk.timestamps?.[i] ?? chunk.appendedAt,
        });
      }
    }
    return { records, nextOffset: Math.max(o, offset) };
  }

  #chunkIndex(offset: number): number {
    let lo = 0;
    let hi = this.#chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.#chunks[mid]!.base <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** A producer has one transaction open at a time, so ranges of one producer never overlap. */
function isAborted(aborted: readonly AbortedTxn[], chunk: Chunk): boolean {
  for (const txn of aborted) {
    if (txn.producerId === chunk.producerId && txn.firstOffset <= chunk.base && chunk.base <= txn.lastOffset) {
      return true;
    }
  }
  return false;
}
