/**
 * Where a consumer stands in one partition it owns. Three offsets, because the three
 * strategies differ exactly in how far apart they let them drift:
 * `committed <= processed <= position`.
 *
 * @module
 */

/** One owned partition's read and commit state. */
export class Cursor {
  readonly partition: number;
  /** The next offset to fetch. */
  position: number;
  /** The offset after the last record handled: what an after-processing commit stores. */
  processed: number;
  /** The group's committed offset as this member last stored or read it. */
  committed: number;
  /** Failed deliveries per offset, kept until that record is handled or dead-lettered. */
  readonly failures = new Map<number, number>();
  /** Bumped by `seek()`, so a batch in progress knows its position was moved under it. */
  seeks = 0;
  /**
   * `records$`: the records handed out past `processed`, in offset order, each with the
   * offset after it. Acks advance `processed` over the acknowledged prefix only, so a record
   * never acknowledged holds the commit back and is read again.
   */
  readonly #awaitingAck: { readonly after: number; acked: boolean }[] = [];

  constructor(partition: number, start: number) {
    this.partition = partition;
    this.position = start;
    this.processed = start;
    this.committed = start;
  }

  /** Deliveries of the record at `offset` so far, the coming one included. */
  deliveries(offset: number): number {
    return (this.failures.get(offset) ?? 0) + 1;
  }

  /** Moves reading to `offset`; failure counts and records awaiting acks belong to the old position and are dropped. */
  seek(offset: number): void {
    this.position = offset;
    this.processed = offset;
    this.failures.clear();
    this.#awaitingAck.length = 0;
    this.seeks++;
  }

  /** `records$` hands out a record that ends before `after`; the returned function acknowledges it. */
  handedOut(after: number): () => void {
    const entry = { after, acked: false };
    this.#awaitingAck.push(entry);
    return () => {
      entry.acked = true;
      // An entry handed back (or sought past) is no longer queued: its ack moves nothing.
      while (this.#awaitingAck[0]?.acked) this.processed = this.#awaitingAck.shift()!.after;
    };
  }

  /** The `records$` reader stopped: what it did not acknowledge is read again. */
  handBack(): void {
    this.#awaitingAck.length = 0;
    this.position = this.processed;
  }
}
