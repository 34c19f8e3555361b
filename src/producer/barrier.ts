import { type BatchError, batchError, type DeliveryFailedError, UndeliveredRecordsError } from "../errors.ts";
import type { Batch } from "./batch.ts";

interface Entry {
  /** Failures are numbered in the order they happen. */
  readonly seq: number;
  readonly batch: Batch;
  readonly error: BatchError;
}

/**
 * Every batch failure since the previous barrier, for `flush()` and `close()` to report.
 *
 * A barrier reports each failure recorded between the end of the last barrier that had
 * finished when it started and its own end: a failure just before the call counts as much as
 * one during it, and having been seen through `wait()` or `outcomes$` changes nothing.
 * Overlapping barriers each report what falls in their own span, so a failure is never
 * reported by none of them. A transaction's end settles its own writes (commit reports
 * their failure, abort discards them), so those are {@link forget}-ten.
 */
export class FailureLedger {
  #entries: Entry[] = [];
  #next = 0;
  /** Failures numbered below this were reported by a finished barrier. */
  #reported = 0;
  /** Where each running barrier started. */
  readonly #running = new Set<{ readonly from: number }>();

  /** `batch` failed with `error`. */
  record(batch: Batch, error: DeliveryFailedError): void {
    this.#entries.push({ seq: this.#next++, batch, error: batchError(error) });
  }

  /** The failures of these batches were reported or discarded elsewhere. */
  forget(batches: readonly Batch[]): void {
    const gone = new Set(batches);
    this.#entries = this.#entries.filter((e) => !gone.has(e.batch));
  }

  /**
   * Runs `settle` (which waits for the barrier's batches) and throws
   * {@link UndeliveredRecordsError} if any batch failed in the barrier's span.
   */
  async barrier(settle: () => Promise<void>): Promise<void> {
    const span = { from: this.#reported };
    this.#running.add(span);
    let failed: Entry[];
    try {
      await settle();
    } finally {
      this.#running.delete(span);
      failed = this.#entries.filter((e) => e.seq >= span.from);
      this.#reported = Math.max(this.#reported, this.#next);
      this.#trim();
    }
    if (failed.length > 0) {
      throw new UndeliveredRecordsError(
        failed.map((e) => e.error),
        failed.reduce((n, e) => n + e.batch.values.length, 0),
      );
    }
  }

  /** Keeps only what a barrier may still report. */
  #trim(): void {
    let keep = this.#reported;
    for (const span of this.#running) keep = Math.min(keep, span.from);
    if (this.#entries.length > 0 && this.#entries[0]!.seq < keep) {
      this.#entries = this.#entries.filter((e) => e.seq >= keep);
    }
  }
}
