/**
 * Latency samples and percentiles. Samples are per batch (hundreds per run), so a plain
 * sorted copy is exact and cheap; no histogram bucketing error to explain.
 *
 * @module
 */

/** A growable list of millisecond samples. */
export class Samples {
  #values: number[] = [];

  add(ms: number): void {
    this.#values.push(ms);
  }

  get count(): number {
    return this.#values.length;
  }

  /**
   * The `p`-th percentile (0 < p <= 100) by the nearest-rank method: the smallest sample
   * with at least p% of the samples at or below it, so it is always a value that was
   * actually observed. NaN when there are no samples.
   */
  percentile(p: number): number {
    const n = this.#values.length;
    if (n === 0) return Number.NaN;
    const sorted = Float64Array.from(this.#values).sort();
    const rank = Math.max(1, Math.ceil((p / 100) * n));
    return sorted[rank - 1]!;
  }
}
