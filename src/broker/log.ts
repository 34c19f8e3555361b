import { EMPTY_HEADERS } from "../transport/headers.ts";
import type { FetchedRecord, PackedRecords, RecordColumns, RecordHeaders } from "../transport/protocol.ts";

/** The decision a control marker records for one producer's transaction. */
export type ControlType = "commit" | "abort";

/** A transaction that was aborted in one partition: its records span `firstOffset` to its marker at `lastOffset`. */
export interface AbortedTxn {
  readonly producerId: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
}

/**
 * One appended batch, or one control marker. Every chunk has every field, so reads stay
 * monomorphic.
 *
 * Keys and values are copied into one buffer per batch rather than kept as the sender's
 * arrays. Why: a retained 100-byte record held as its own `Uint8Array` (and its own buffer)
 * cost about 2.4× its bytes in RSS, so retention by bytes did not bound memory; packed, a
 * record costs its bytes plus 8 bytes of bounds, and reads hand out views into the buffer.
 */
export interface LogBatch {
  readonly base: number;
  /** One past the chunk's last offset. A control marker takes one offset and holds no record. */
  readonly end: number;
  /** Records in the chunk (0 for a control marker). */
  readonly count: number;
  /** Every record's key bytes then value bytes, record after record. */
  readonly data: Uint8Array;
  /** Record `i`'s key is `data[bounds[2i] .. bounds[2i+1])`, its value `data[bounds[2i+1] .. bounds[2i+2])`. */
  readonly bounds: Uint32Array;
  /** Which records have a null key (not an empty one); null when none has. */
  readonly nullKeys: Uint8Array | null;
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
  /** Key and value bytes of its records, for retention by size. */
  readonly bytes: number;
}

/** Sizes of a log's internal structures, for inspection and memory bounds. */
export interface LogStats {
  readonly chunks: number;
  readonly bytes: number;
  readonly logStartOffset: number;
}

/** Answers whether a transactional batch belongs to an aborted transaction. */
export interface AbortedLookup {
  /** Whether `producerId`'s record at `offset` is part of a transaction that was aborted. */
  has(producerId: number, offset: number): boolean;
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

const EMPTY_BYTES = new Uint8Array(0);
/** About what a batch adds on the wire to its key and value bytes (Kafka's 61-byte header, and more). */
const BATCH_OVERHEAD_BYTES = 70;
const EMPTY_BOUNDS = new Uint32Array(1);

/** Copies records given as arrays into one buffer, the layout the log keeps. */
function pack(keys: readonly (Uint8Array | null)[], values: readonly Uint8Array[]): PackedRecords {
  const count = values.length;
  const bounds = new Uint32Array(2 * count + 1);
  let bytes = 0;
  let nullKeys: Uint8Array | null = null;
  for (let i = 0; i < count; i++) {
    const key = keys[i] ?? null;
    if (key === null) (nullKeys ??= new Uint8Array(count))[i] = 1;
    else bytes += key.length;
    bounds[2 * i + 1] = bytes;
    bytes += values[i]!.length;
    bounds[2 * i + 2] = bytes;
  }
  const data = new Uint8Array(bytes);
  for (let i = 0; i < count; i++) {
    const key = keys[i];
    if (key) data.set(key, bounds[2 * i]!);
    data.set(values[i]!, bounds[2 * i + 1]!);
  }
  return { count, data, bounds, nullKeys };
}

/**
 * A partition's append-only log. It stores whole batches, so an append is O(1) whatever the
 * batch size, and reads find their starting batch by binary search.
 */
export class PartitionLog {
  /** Live chunks are `#chunks[#head ..]`: retention moves `#head` and compacts now and then. */
  #chunks: LogBatch[] = [];
  #head = 0;
  #end = 0;
  #start = 0;
  #bytes = 0;

  /** The offset the next record will get. */
  get endOffset(): number {
    return this.#end;
  }

  /** The first offset still held: everything before it was deleted by retention. */
  get startOffset(): number {
    return this.#start;
  }

  /** Key and value bytes of the records held. */
  get sizeBytes(): number {
    return this.#bytes;
  }

  get stats(): LogStats {
    return { chunks: this.#chunks.length - this.#head, bytes: this.#bytes, logStartOffset: this.#start };
  }

  /** Whether retention would delete the oldest chunk, were nothing unstable: O(1). */
  retentionDue(retentionBytes: number, retentionMs: number, now: number): boolean {
    const oldest = this.#chunks[this.#head];
    if (oldest === undefined) return false;
    return (retentionBytes >= 0 && this.#bytes > retentionBytes) ||
      (retentionMs >= 0 && oldest.appendedAt < now - retentionMs);
  }

  /**
   * Deletes whole chunks from the front, as Kafka deletes whole segments, and moves the log
   * start. A chunk goes only if it ends at or before `limit` (the caller passes the last
   * stable offset, so nothing a read-committed reader cannot see yet is ever deleted), and
   * only while the log is over `retentionBytes` (-1: no size limit) or the chunk was appended
   * before `now - retentionMs` (-1: no time limit). Time counts from the broker's append, not
   * from the records' own timestamps (Kafka uses a segment's largest timestamp): a producer
   * stamping old or future times neither deletes nor pins records. Returns how many chunks
   * were deleted.
   */
  retain(limit: number, retentionBytes: number, retentionMs: number, now: number): number {
    if (!this.retentionDue(retentionBytes, retentionMs, now)) return 0;
    let deleted = 0;
    while (this.#head < this.#chunks.length) {
      const chunk = this.#chunks[this.#head]!;
      if (chunk.end > limit) break;
      const overSize = retentionBytes >= 0 && this.#bytes > retentionBytes;
      const expired = retentionMs >= 0 && chunk.appendedAt < now - retentionMs;
      if (!overSize && !expired) break;
      this.#bytes -= chunk.bytes;
      this.#start = chunk.end;
      this.#chunks[this.#head++] = undefined as unknown as LogBatch;
      deleted++;
    }
    // Compact once the dead prefix is half the array: amortised O(1) per deleted chunk.
    if (this.#head > 32 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
    return deleted;
  }

  /**
   * Appends a batch and returns the offset of its first record. `producerId` is -1 for a
   * plain batch; `appendedAt` stamps records that came without a timestamp.
   */
  append(records: RecordColumns, appendedAt: number, producerId = -1, transactional = false): number {
    const packed = records.packed ?? pack(records.keys, records.values);
    const base = this.#end;
    this.#end += packed.count;
    const bytes = packed.bounds[2 * packed.count]!;
    this.#bytes += bytes;
    this.#chunks.push({
      base,
      end: this.#end,
      count: packed.count,
      // A packed batch may come in a buffer sized before its records were read, a little
      // larger than its bytes: a view of them, rather than a copy of every byte.
      data: packed.data.length === bytes ? packed.data : packed.data.subarray(0, bytes),
      bounds: packed.bounds,
      nullKeys: packed.nullKeys,
      headers: records.headers ?? null,
      timestamps: records.timestamps ?? null,
      appendedAt,
      producerId,
      transactional,
      control: null,
      bytes,
    });
    return base;
  }

  /** Appends a control marker, which ends `producerId`'s transaction here; returns its offset. */
  appendMarker(producerId: number, control: ControlType, appendedAt = 0): number {
    const base = this.#end++;
    this.#chunks.push({
      base,
      end: this.#end,
      count: 0,
      data: EMPTY_BYTES,
      bounds: EMPTY_BOUNDS,
      nullKeys: null,
      headers: null,
      timestamps: null,
      appendedAt,
      producerId,
      transactional: true,
      control,
      bytes: 0,
    });
    return base;
  }

  /**
   * Records from `offset` (inclusive) to `upTo` (exclusive), at most `max` of them. Control
   * markers are never returned; nor are the records of transactions `aborted` knows (which
   * read-uncommitted readers pass as null, to see them). The caller checks that `offset` is
   * not below {@link startOffset}.
   */
  read(offset: number, upTo: number, max: number, aborted: AbortedLookup | null): LogRead {
    const records: FetchedRecord[] = [];
    const end = Math.min(upTo, this.#end);
    let o = Math.max(this.#start, offset);
    for (let c = this.#chunkIndex(o); o < end && records.length < max && c < this.#chunks.length; c++) {
      const chunk = this.#chunks[c]!;
      if (chunk.end <= o) continue;
      if (
        chunk.control !== null || (aborted !== null && chunk.transactional && aborted.has(chunk.producerId, chunk.base))
      ) {
        o = Math.min(chunk.end, end);
        continue;
      }
      const { data, bounds, nullKeys } = chunk;
      for (let i = o - chunk.base; i < chunk.count && o < end && records.length < max; i++, o++) {
        const at = 2 * i;
        records.push({
          offset: o,
          key: nullKeys !== null && nullKeys[i] === 1 ? null : data.subarray(bounds[at]!, bounds[at + 1]!),
          value: data.subarray(bounds[at + 1]!, bounds[at + 2]!),
          headers: chunk.headers?.[i] ?? EMPTY_HEADERS,
          timestamp: chunk.timestamps?.[i] ?? chunk.appendedAt,
        });
      }
    }
    return { records, nextOffset: Math.max(o, offset) };
  }

  /**
   * The stored batches and control markers holding offsets from `offset` below `upTo`, whole,
   * until their bytes pass `maxBytes` (at least one is returned): Kafka's fetch serves whole
   * batches, and its clients skip the records before the offset they asked for. The batches
   * are the log's own and must not be changed.
   */
  batches(offset: number, upTo: number, maxBytes: number): LogBatch[] {
    const found: LogBatch[] = [];
    const end = Math.min(upTo, this.#end);
    let bytes = 0;
    for (let c = this.#chunkIndex(Math.max(this.#start, offset)); c < this.#chunks.length; c++) {
      const chunk = this.#chunks[c]!;
      // A batch only partly below `upTo` waits: a reader never sees records past the HW or LSO.
      if (chunk.end > end || (found.length > 0 && bytes >= maxBytes)) break;
      if (chunk.end <= offset) continue;
      found.push(chunk);
      bytes += chunk.bytes + BATCH_OVERHEAD_BYTES;
    }
    return found;
  }

  #chunkIndex(offset: number): number {
    let lo = this.#head;
    let hi = this.#chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.#chunks[mid]!.base <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/**
 * The aborted transactions of one partition, indexed so that a read-committed read asks
 * about each transactional batch in O(log n) in the number of aborted transactions: per
 * producer, its aborted ranges ordered by last offset (a producer has one transaction open
 * at a time, so its ranges never overlap and marker order is offset order).
 */
export class AbortedIndex implements AbortedLookup {
  readonly #byProducer = new Map<number, AbortedTxn[]>();
  /** Every aborted transaction in marker order (so by `lastOffset`); live from `#head`. */
  #all: AbortedTxn[] = [];
  #head = 0;

  get size(): number {
    return this.#all.length - this.#head;
  }

  /** Adds a transaction aborted by a marker written after every one added before. */
  add(txn: AbortedTxn): void {
    this.#all.push(txn);
    const list = this.#byProducer.get(txn.producerId);
    if (list === undefined) this.#byProducer.set(txn.producerId, [txn]);
    else list.push(txn);
  }

  has(producerId: number, offset: number): boolean {
    const list = this.#byProducer.get(producerId);
    if (list === undefined) return false;
    const i = firstEndingAtOrAfter(list, offset, 0);
    return i < list.length && list[i]!.firstOffset <= offset;
  }

  /** Whether some aborted transaction ends at or after `offset`: if none, a read from there needs no lookups. */
  anyFrom(offset: number): boolean {
    const all = this.#all;
    return all.length > this.#head && all[all.length - 1]!.lastOffset >= offset;
  }

  /** Forgets transactions that end before `logStart` (Kafka drops them with their segments). */
  truncateBelow(logStart: number): void {
    const all = this.#all;
    const cut = firstEndingAtOrAfter(all, logStart, this.#head);
    if (cut === this.#head) return;
    for (let i = this.#head; i < cut; i++) {
      const producerId = all[i]!.producerId;
      const list = this.#byProducer.get(producerId);
      if (list === undefined) continue;
      const keep = firstEndingAtOrAfter(list, logStart, 0);
      if (keep >= list.length) this.#byProducer.delete(producerId);
      else if (keep > 0) this.#byProducer.set(producerId, list.slice(keep));
    }
    this.#head = cut;
    if (this.#head * 2 >= all.length) {
      this.#all = all.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The aborted transactions held, oldest first (for inspection and tests). */
  list(): AbortedTxn[] {
    return this.#all.slice(this.#head);
  }
}

/** The first index from `lo` whose transaction's `lastOffset` is at or after `offset`. */
function firstEndingAtOrAfter(list: readonly AbortedTxn[], offset: number, lo: number): number {
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.lastOffset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
