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

  /** Moves reading to `offset`; failure counts belong to the old position and are dropped. */
  seek(offset: number): void {
    this.position = offset;
    this.processed = offset;
    this.failures.clear();
    this.seeks++;
  }
}
