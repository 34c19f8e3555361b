import type { Bytes, FetchedRecord } from "../transport/protocol.ts";

/** One appended batch. The arrays are shared with the sender, which never mutates a sent batch. */
interface Chunk {
  readonly base: number;
  readonly keys: readonly (Bytes | null)[];
  readonly values: readonly Bytes[];
}

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

  /** Appends a batch and returns the offset of its first record. */
  append(keys: readonly (Bytes | null)[], values: readonly Bytes[]): number {
    const base = this.#end;
    this.#chunks.push({ base, keys, values });
    this.#end += values.length;
    return base;
  }

  /** Records from `offset` (inclusive) to `upTo` (exclusive), at most `max` of them. */
  read(offset: number, upTo: number, max: number): FetchedRecord[] {
    const out: FetchedRecord[] = [];
    const end = Math.min(upTo, this.#end, offset + max);
    let c = this.#chunkIndex(offset);
    for (let o = Math.max(0, offset); o < end && c < this.#chunks.length; c++) {
      const chunk = this.#chunks[c]!;
      for (let i = o - chunk.base; i < chunk.values.length && o < end; i++, o++) {
        out.push({ offset: o, key: chunk.keys[i] ?? null, value: chunk.values[i]! });
      }
    }
    return out;
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
