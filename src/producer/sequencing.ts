import type { Batch } from "./batch.ts";

/** Batches per producer and partition whose metadata the broker keeps for deduplication. */
export const DEDUP_WINDOW = 5;

/**
 * Exactly-once bookkeeping for one partition: the sequence numbers its batches carry, and
 * which batches are still unresolved, in sequence order.
 *
 * The broker appends a batch only if its first sequence follows the last one it appended, so
 * order is decided by the broker; this class keeps retries from wasting attempts against
 * that rule. A retried batch goes only when it is the oldest unresolved one (its turn), and
 * no new batch is dispatched while a retry is pending, as Kafka's client does.
 */
export class PartitionSequence {
  /** The epoch this partition's batches are written under (idempotent producers bump it per partition). */
  epoch: number;
  #next = 0;
  /** Dispatched and not yet settled, oldest sequence first. */
  readonly #unresolved: Batch[] = [];
  /** The dispatch number of each unresolved batch, in step with `#unresolved`. */
  readonly #ordinals: number[] = [];
  #dispatched = 0;
  /** Unresolved batches that have failed an attempt and wait to retry. */
  readonly #retrying = new Set<Batch>();
  /** Requests awaiting an answer. */
  outstanding = 0;
  /** Whether the partition is moving to a new epoch: nothing is sent meanwhile. */
  #bump: "none" | "waiting" | "asking" = "none";

  constructor(epoch: number) {
    this.epoch = epoch;
  }

  /**
   * Whether a new batch may be dispatched now. Besides waiting out retries and epoch bumps,
   * a batch may not go more than {@link DEDUP_WINDOW} batches past the oldest unresolved one:
   * later batches can be acked while that one's ack is lost, and its retry must still find
   * itself among the broker's remembered batches to get its original offsets back.
   */
  get open(): boolean {
    if (this.#retrying.size > 0 || this.#bump !== "none") return false;
    const oldest = this.#ordinals[0];
    return oldest === undefined || this.#dispatched - oldest < DEDUP_WINDOW;
  }

  get bumping(): boolean {
    return this.#bump !== "none";
  }

  /** Asks to move to a new epoch once nothing is outstanding. */
  requestBump(): void {
    if (this.#bump === "none") this.#bump = "waiting";
  }

  /**
   * True once, when a requested bump may start: nothing is outstanding, so no answer from
   * the old epoch can still arrive. The caller then gets the new epoch and calls {@link rebase}.
   */
  takeBump(): boolean {
    if (this.#bump !== "waiting" || this.outstanding > 0) return false;
    this.#bump = "asking";
    return true;
  }

  /** Gives a batch its sequence numbers at its first dispatch; retries keep them. */
  assign(batch: Batch): void {
    batch.baseSequence = this.#next;
    this.#next += batch.values.length;
    this.#unresolved.push(batch);
    this.#ordinals.push(this.#dispatched++);
  }

  /** Whether `batch` may be (re)sent now: it is the oldest unresolved batch. */
  isTurn(batch: Batch): boolean {
    return this.#bump === "none" && this.#unresolved[0] === batch;
  }

  /** Whether `batch` holds the oldest unresolved sequence. */
  isHead(batch: Batch): boolean {
    return this.#unresolved[0] === batch;
  }

  retrying(batch: Batch): void {
    this.#retrying.add(batch);
  }

  /** Dispatched and not yet settled, oldest sequence first. */
  get unresolved(): readonly Batch[] {
    return this.#unresolved;
  }

  /** Forgets a settled batch. */
  resolve(batch: Batch): void {
    const i = this.#unresolved.indexOf(batch);
    if (i >= 0) {
      this.#unresolved.splice(i, 1);
      this.#ordinals.splice(i, 1);
    }
    this.#retrying.delete(batch);
  }

  /**
   * Moves to a new epoch: sequences restart at 0 and the unresolved batches are renumbered in
   * order. Only safe once nothing is outstanding, and when the oldest unresolved batch was
   * refused for a gap: the broker appends in order, so none of these batches was appended.
   */
  rebase(epoch: number): void {
    this.epoch = epoch;
    this.#next = 0;
    for (const batch of this.#unresolved) {
      batch.baseSequence = this.#next;
      this.#next += batch.values.length;
    }
    this.#bump = "none";
  }
}
