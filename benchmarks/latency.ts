/**
 * Per-batch ack latency, measured without adding work per record.
 *
 * Two intervals are recorded for every batch that gets an ack, both ending at the moment the
 * producer learns of the ack:
 *
 * - **enqueue→ack**: from when the send loop first sees a `ProduceOutput` belonging to a new
 *   batch (right after `await send()` returns for the batch's first record) to the ack. This
 *   is what a user feels: the oldest record of a batch waits this long to be confirmed,
 *   including time spent filling the batch, queued behind `maxInFlight` and retried.
 * - **dispatch→ack**: from the producer's `dispatched` report for the batch (it left the
 *   queue for the transport) to the ack: the wire/broker round trip plus any retries.
 *
 * "The ack" is, for at-least-once, the batch's `delivered` report on `batches$`. For
 * at-most-once the producer's own end report (`sent-unconfirmed`) fires when the request is
 * written, before any reply, so it would measure nothing; there the ack is the resolution of
 * `wait()` on the batch's first record, which settles when the broker's single reply
 * arrives (`wait()` is per batch under the hood, so which record of the batch is asked does
 * not matter). Batches that never get a positive ack (at-most-once requests that were
 * dropped, at-least-once batches that failed) have no latency sample; they are counted in
 * `unacked` and show up as lost records instead.
 *
 * The send loop pays one reference comparison per record (`output.batch !== current`) to
 * notice new batches; everything else here runs a couple of times per batch (~1,300 records).
 *
 * @module
 */
import type { BatchReport, ProduceOutput } from "../src/index.ts";
import { Samples } from "./stats.ts";

export class AckTracker {
  readonly enqueueToAck = new Samples();
  readonly dispatchToAck = new Samples();
  /** Batches seen by the send loop. */
  batches = 0;
  /** Batches that ended without a positive ack. */
  unacked = 0;
  readonly #awaitAck: boolean;
  // Indexed by batch id, which the producer hands out densely from 0.
  readonly #openedAt: number[] = [];
  readonly #dispatchedAt: number[] = [];
  readonly #replies: Promise<void>[] = [];

  /** `awaitAck` is false for at-most-once, whose acks are taken from `wait()`. */
  constructor(awaitAck: boolean) {
    this.#awaitAck = awaitAck;
  }

  /** Called by the send loop whenever the batch of the output it got differs from the last one. */
  opened(output: ProduceOutput): void {
    const id = output.batch.id;
    // The loop can come back to a batch it has seen: the sticky partitioner moves on when a
    // batch fills, but the record that overflowed it opens a new batch on the old partition,
    // which the loop meets again only when the partitioner cycles back. Its first sighting
    // is when its first record went in.
    if (this.#openedAt[id] !== undefined) return;
    this.#openedAt[id] = performance.now();
    this.batches++;
    if (!this.#awaitAck) {
      this.#replies.push(
        output.wait().then(
          () => this.#acked(id),
          () => {
            this.unacked++;
          },
        ),
      );
    }
  }

  /** Subscriber to `producer.batches$`. */
  report(report: BatchReport): void {
    switch (report.type) {
      case "dispatched":
        this.#dispatchedAt[report.batchId] = performance.now();
        break;
      case "delivered":
        this.#acked(report.batchId);
        break;
      case "failed":
        this.unacked++;
        break;
        // `retry` only extends the interval; `sent-unconfirmed` is handled through wait().
    }
  }

  /** Waits for every at-most-once reply (or its timeout), outside the timed region. */
  async settled(): Promise<void> {
    await Promise.all(this.#replies);
  }

  #acked(id: number): void {
    const now = performance.now();
    const opened = this.#openedAt[id];
    const dispatched = this.#dispatchedAt[id];
    if (opened !== undefined) this.enqueueToAck.add(now - opened);
    if (dispatched !== undefined) this.dispatchToAck.add(now - dispatched);
  }
}
