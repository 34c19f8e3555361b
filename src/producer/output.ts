import { defer, from, map, type Observable } from "rxjs";
import type { Batch } from "./batch.ts";
import { offsetOf, type RecordMetadata, type RecordOutcome, recordOutcome } from "./outcome.ts";

/**
 * The handle `send()` returns for one accepted record. It is two fields; the promise and the
 * stream below are made only when asked for.
 */
export class ProduceOutput {
  /** @internal */
  readonly batch: Batch;
  /** @internal */
  readonly index: number;

  constructor(batch: Batch, index: number) {
    this.batch = batch;
    this.index = index;
  }

  get topic(): string {
    return this.batch.topic;
  }

  get partition(): number {
    return this.batch.partition;
  }

  /**
   * Resolves to where the record landed once the broker has acknowledged it, or rejects with
   * the `BatchError` that ended its batch: `ProducerFencedError` itself for a fenced producer,
   * else a `DeliveryFailedError`. Under at-most-once it waits for the reply to the single
   * attempt, and rejects (reason `at-most-once`) if that reply is an error or never comes.
   */
  wait(): Promise<RecordMetadata> {
    const { batch, index } = this;
    return batch.whenConfirmed().then((confirmation) => {
      if ("error" in confirmation) throw confirmation.error;
      return {
        topic: batch.topic,
        partition: batch.partition,
        offset: offsetOf(confirmation.baseOffset, index, batch.offsets),
      };
    });
  }

  /** Emits the record's one outcome when its batch settles, then completes. */
  get outcome$(): Observable<RecordOutcome> {
    const { batch, index } = this;
    return defer(() => from(batch.whenSettled())).pipe(map(() => recordOutcome(batch, index)));
  }
}
