/**
 * A group member's commits and heartbeats go one at a time, in order, so an older commit
 * never lands after a newer one, and a heartbeat never sees a half-stored commit.
 *
 * @module
 */

/** Runs async work one piece at a time, in the order it was queued. */
export class SerialLane {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `work` after every piece queued before it; a failed piece does not stop the lane. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work);
    this.#tail = result.catch(() => {});
    return result;
  }
}
