/**
 * The transactions of one partition, as read-committed readers need them: which are open
 * here and from which offset, which have ended but are not yet replicated (so still
 * unstable), and the index of aborted ones. Together they give the last stable offset (LSO).
 *
 * @module
 */
import { AbortedIndex } from "./log.ts";
import type { ControlType } from "./log.ts";

/** A transaction whose marker is written but not yet replicated: still unstable, as in Kafka. */
interface EndedTxn {
  readonly firstOffset: number;
  readonly markerOffset: number;
}

/** Open, unstable and aborted transactions of one partition. */
export class PartitionTransactions {
  /** Open transactions: producer id → offset of the transaction's first record here. */
  readonly #open = new Map<number, number>();
  /** Ended transactions whose marker the HW does not cover yet, in marker order. */
  #ended: EndedTxn[] = [];
  /** Aborted transactions, indexed for read-committed reads. */
  readonly aborted: AbortedIndex = new AbortedIndex();

  /** Whether `producerId` has a transaction open here. */
  isOpen(producerId: number): boolean {
    return this.#open.has(producerId);
  }

  /** How many transactions are open here. */
  get openCount(): number {
    return this.#open.size;
  }

  /** A transactional batch was appended at `baseOffset`: the producer's first one here opens its transaction. */
  onAppend(producerId: number, baseOffset: number): void {
    if (!this.#open.has(producerId)) this.#open.set(producerId, baseOffset);
  }

  /**
   * `producerId`'s marker was written at `markerOffset`. Its transaction (if one is open here)
   * stays unstable until the HW covers the marker; an aborted one goes into the index.
   */
  onMarker(producerId: number, control: ControlType, markerOffset: number): void {
    const firstOffset = this.#open.get(producerId);
    if (firstOffset === undefined) return;
    this.#open.delete(producerId);
    this.#ended.push({ firstOffset, markerOffset });
    if (control === "abort") this.aborted.add({ producerId, firstOffset, lastOffset: markerOffset });
  }

  /** The HW moved to `hw`: transactions whose marker it covers are decided on every in-sync replica. */
  onHighWatermark(hw: number): void {
    let stable = 0;
    while (stable < this.#ended.length && this.#ended[stable]!.markerOffset < hw) stable++;
    if (stable > 0) this.#ended = this.#ended.slice(stable);
  }

  /** The first offset of the earliest transaction open or unstable here, or `hw` when there is none. */
  lastStableOffset(hw: number): number {
    let lso = hw;
    for (const first of this.#open.values()) if (first < lso) lso = first;
    // Ended transactions are in marker order, not first-offset order.
    for (const txn of this.#ended) if (txn.firstOffset < lso) lso = txn.firstOffset;
    return lso;
  }
}
